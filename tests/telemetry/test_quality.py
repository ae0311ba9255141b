"""Quality flags: each test as documented, and flags independent of how a series is chunked."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.model.telemetry import QualityFlag, Quantity, Sensor
from waterops.telemetry.quality import (
    DEFAULT_RULES,
    US_PER_S,
    QualityRules,
    context_need,
    context_slice,
    count_flags,
    quality_flags,
    rules_for,
)

T0_US = 1_700_000_000 * US_PER_S
MINUTE_US = 60 * US_PER_S


def _times(n: int, step_s: float = 60.0) -> np.ndarray:
    return T0_US + (np.arange(n) * step_s * US_PER_S).astype(np.int64)


def _noisy_pressure(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # diurnal swing of 8 m around 35 m with 0.2 m sensor noise, 1-minute readings
    return 35.0 + 4.0 * np.sin(np.arange(n) * 2 * np.pi / 1440) + rng.normal(0, 0.2, n)


def _has(flags: np.ndarray, flag: QualityFlag) -> np.ndarray:
    return (flags & np.uint8(flag)) != 0


def test_out_of_range_uses_sensor_limits_then_quantity_defaults() -> None:
    sensor = Sensor("P-1", "city", Quantity.PRESSURE, lower=10.0, upper=60.0)
    values = np.array([9.9, 10.0, 35.0, 60.0, 60.1])
    flags = quality_flags(_times(5), values, rules_for(sensor))
    assert _has(flags, QualityFlag.OUT_OF_RANGE).tolist() == [True, False, False, False, True]

    chlorine = Sensor("CL-1", "city", Quantity.CHLORINE)  # no limits of its own
    flags = quality_flags(_times(3), np.array([-0.01, 0.0, 4.0]), rules_for(chlorine))
    assert _has(flags, QualityFlag.OUT_OF_RANGE).tolist() == [True, False, False]


def test_raw_values_are_never_changed() -> None:
    values = np.array([1.0, 1e9, -5.0, 1.0])
    before = values.copy()
    quality_flags(_times(4), values, rules_for(Sensor("P", "c", Quantity.PRESSURE)))
    assert np.array_equal(values, before)


def test_flatline_flags_a_stuck_pressure_after_four_hours() -> None:
    n = 8 * 60  # 8 h of 1-minute readings
    values = _noisy_pressure(n)
    values[120:] = 33.37  # stuck from 02:00 on
    flags = quality_flags(_times(n), values, rules_for(Sensor("P", "c", Quantity.PRESSURE)))
    stuck = _has(flags, QualityFlag.FLATLINE)
    # the run starts at index 120; 4 h later (index 360) the readings are flagged
    assert not stuck[:360].any()
    assert stuck[360:].all()


def test_flatline_ignores_a_stopped_pump_at_zero_flow_but_not_a_stuck_meter() -> None:
    n = 10 * 60
    rules = rules_for(Sensor("Q", "c", Quantity.FLOW))
    zero = quality_flags(_times(n), np.zeros(n), rules)
    assert not _has(zero, QualityFlag.FLATLINE).any()
    stuck = quality_flags(_times(n), np.full(n, 0.042), rules)
    assert _has(stuck, QualityFlag.FLATLINE)[6 * 60 :].all()
    assert not _has(stuck, QualityFlag.FLATLINE)[: 6 * 60].any()


def test_pump_status_never_flatlines() -> None:
    rules = rules_for(Sensor("S", "c", Quantity.PUMP_STATUS))
    flags = quality_flags(_times(5000), np.ones(5000), rules)
    assert not flags.any()


def test_spike_is_flagged_alone_in_noisy_data() -> None:
    values = _noisy_pressure(600)
    values[300] += 15.0  # a 15 m jump out and back
    flags = quality_flags(_times(600), values, rules_for(Sensor("P", "c", Quantity.PRESSURE)))
    assert np.flatnonzero(_has(flags, QualityFlag.SPIKE)).tolist() == [300]


def test_a_step_flags_only_its_first_reading() -> None:
    values = np.concatenate([_noisy_pressure(200), _noisy_pressure(200, seed=2) + 20.0])
    flags = quality_flags(_times(400), values, rules_for(Sensor("P", "c", Quantity.PRESSURE)))
    assert np.flatnonzero(_has(flags, QualityFlag.SPIKE)).tolist() == [200]


def test_small_wiggle_after_a_perfectly_quiet_spell_is_not_a_spike() -> None:
    values = np.full(30, 40.0)
    values[20] = 40.5  # MAD is zero, but 0.5 m is below the 3 m floor for pressure
    flags = quality_flags(_times(30), values, rules_for(Sensor("P", "c", Quantity.PRESSURE)))
    assert not _has(flags, QualityFlag.SPIKE).any()


def test_gap_flags_the_reading_after_more_than_three_intervals() -> None:
    sensor = Sensor("P", "c", Quantity.PRESSURE, interval_s=60.0)
    times = np.array([0, 60, 120, 300, 541, 600], dtype=np.int64) * US_PER_S + T0_US
    flags = quality_flags(times, np.full(6, 30.0) + np.arange(6), rules_for(sensor))
    # 180 s silence is tolerated (= 3 intervals), 241 s is a gap
    assert _has(flags, QualityFlag.GAP).tolist() == [False, False, False, False, True, False]
    no_interval = rules_for(Sensor("P", "c", Quantity.PRESSURE))
    assert not _has(quality_flags(times, np.arange(6.0) + 30, no_interval), QualityFlag.GAP).any()


def test_batch_order_and_duplicates_of_stored_readings() -> None:
    rules = QualityRules(lower=0.0, interval_s=60.0)
    times = _times(4)
    shuffled = np.array([2, 0, 3, 1])
    flags = quality_flags(times[shuffled], np.array([1.0, 1.0, -1.0, 1.0]), rules)
    assert flags.tolist() == [0, 0, int(QualityFlag.OUT_OF_RANGE), 0]
    # a batch reading at a stored time is judged as the stored reading is
    flags = quality_flags(
        times[1:2], np.array([-5.0]), rules,
        context_times_us=times[:2], context_values=np.array([1.0, 1.0]),
    )
    assert flags.tolist() == [0]


def test_count_flags_names_each_kind() -> None:
    flags = np.array([0, 1, 5, 8, 2], dtype=np.uint8)
    assert count_flags(flags) == {"out_of_range": 2, "flatline": 1, "spike": 1, "gap": 1}


def test_every_quantity_has_rules() -> None:
    assert set(DEFAULT_RULES) == set(Quantity)


@st.composite
def _series(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A series with noise, stuck runs, spikes and silences, 1-minute nominal interval."""
    n = draw(st.integers(1, 600))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    steps_s = np.where(rng.random(n) < 0.03, rng.integers(120, 3 * 3600, n), 60)
    times = T0_US + np.cumsum(steps_s).astype(np.int64) * US_PER_S
    values = 30.0 + rng.normal(0, 0.3, n).round(2)
    for _ in range(draw(st.integers(0, 3))):  # stuck runs of up to 6 h
        start = int(rng.integers(0, n))
        values[start : start + int(rng.integers(1, 360))] = values[start]
    spikes = rng.random(n) < 0.02
    values[spikes] += rng.choice([-20.0, 20.0, 100.0], int(spikes.sum()))
    return times, values


@settings(max_examples=60, deadline=None)
@given(series=_series(), data=st.data())
def test_flags_do_not_depend_on_chunking(
    series: tuple[np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    times, values = series
    n = len(times)
    rules = rules_for(Sensor("P", "c", Quantity.PRESSURE, lower=0.0, upper=80.0, interval_s=60.0))
    one_go = quality_flags(times, values, rules)

    cuts = sorted(data.draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=8)))
    bounds = [0, *[c for c in cuts if c < n], n]
    need = context_need(rules)
    chunked = []
    for lo, hi in itertools.pairwise(bounds):
        # the "store" holds everything before lo; only the needed tail is handed over
        ctx = context_slice(times[:lo], int(times[lo]), int(times[hi - 1]), need)
        chunked.append(
            quality_flags(
                times[lo:hi], values[lo:hi], rules,
                context_times_us=times[:lo][ctx], context_values=values[:lo][ctx],
            )
        )
    assert np.array_equal(np.concatenate(chunked), one_go)


@settings(max_examples=40, deadline=None)
@given(series=_series(), seed=st.integers(0, 1000))
def test_flags_do_not_depend_on_row_order(series: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    times, values = series
    rules = rules_for(Sensor("P", "c", Quantity.PRESSURE, interval_s=60.0))
    perm = np.random.default_rng(seed).permutation(len(times))
    assert np.array_equal(
        quality_flags(times[perm], values[perm], rules), quality_flags(times, values, rules)[perm]
    )
