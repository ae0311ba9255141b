"""Property tests: one faulty sensor alone never raises an event; online in chunks == batch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.detection.quality_events import (
    QualityEventDetector,
    detect_quality_events,
    fit_quality_model,
)

COLUMNS = ("chlorine_mg_l", "turbidity_ntu", "conductivity_us_cm", "ph")


def _normal(n: int, start: int = 0) -> pd.DataFrame:
    """Normal water, perfectly predictable (so only the faulty sensor can stand out)."""
    t = np.arange(start, start + n, dtype=float)
    return pd.DataFrame({
        "chlorine_mg_l": 0.6 + 0.05 * np.sin(2 * np.pi * t / 288),
        "turbidity_ntu": 0.15 + 0.02 * np.cos(2 * np.pi * t / 97),
        "conductivity_us_cm": 420 + 5 * np.cos(2 * np.pi * t / 200),
        "ph": 7.6 + 0.02 * np.sin(2 * np.pi * t / 150),
    })


MODEL = fit_quality_model(_normal(800))

readings = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.just(math.nan), st.just(math.inf), st.just(0.0),
)


@st.composite
def faulty_sensor(draw: st.DrawFn) -> tuple[str, list[float], bool]:
    """A sensor that reads garbage, sticks, drifts or steps, for up to 200 rows.

    Returns the column, the values, and whether they add to the true reading (drift, step)
    or replace it (garbage, stuck).
    """
    column = draw(st.sampled_from(COLUMNS))
    kind = draw(st.sampled_from(["garbage", "stuck", "drift", "step"]))
    n = draw(st.integers(min_value=1, max_value=200))
    if kind == "garbage":
        values = draw(st.lists(readings, min_size=n, max_size=n))
    elif kind == "stuck":
        values = [draw(readings)] * n
    elif kind == "drift":
        rate = draw(st.floats(min_value=-10.0, max_value=10.0))
        values = list(rate * np.arange(n))
    else:
        values = [draw(st.floats(min_value=-1e3, max_value=1e3))] * n
    return column, values, kind in ("drift", "step")


@settings(deadline=None, max_examples=100)
@given(fault=faulty_sensor(), offset=st.integers(min_value=0, max_value=150))
def test_one_faulty_sensor_alone_never_raises_an_event(
        fault: tuple[str, list[float], bool], offset: int) -> None:
    column, values, additive = fault
    station = _normal(400, 800)
    rows = station.index[offset:offset + len(values)]
    fault_values = np.asarray(values[:len(rows)], dtype=float)
    if additive:
        fault_values = station.loc[rows, column].to_numpy() + fault_values
    station.loc[rows, column] = fault_values
    flags = detect_quality_events(station, MODEL)
    assert not flags["event"].any()


def test_two_faulty_sensors_together_do_raise_an_event() -> None:
    """The property above is not vacuous: the same faults on two sensors are an event."""
    station = _normal(400, 800)
    station.loc[100:150, ["chlorine_mg_l", "ph"]] = 0.0
    assert detect_quality_events(station, MODEL)["event"].iloc[100:112].any()


@settings(deadline=None, max_examples=40)
@given(cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=4),
       seed=st.integers(min_value=0, max_value=2**16))
def test_online_in_chunks_equals_batch(cuts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    station = _normal(300, 800) * (1 + rng.normal(0, 0.01, (300, len(COLUMNS))))
    station.iloc[rng.integers(0, 300, 20), rng.integers(0, 4)] = math.nan
    start = int(rng.integers(0, 250))
    station.iloc[start:start + 40, :2] *= 0.5
    batch = detect_quality_events(station, MODEL)
    detector = QualityEventDetector(MODEL)
    values = station.to_numpy()
    online = []
    bounds = sorted({0, 300, *cuts})
    for a, b in itertools.pairwise(bounds):
        online += [detector.step(values[i]) for i in range(a, b)]
    assert [e for e, _ in online] == batch["event"].tolist()
    assert [p for _, p in online] == batch["score"].tolist()
