"""Residual statistics per sensor (waterops.detection.residuals): pure numbers in, numbers out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.detection.residuals import (
    ResidualStatistics,
    rolling_bias,
    rolling_rms,
    rolling_zscore,
)


def test_a_jump_scores_against_the_history_before_it() -> None:
    stats = ResidualStatistics(weight=0.1)
    rng = np.random.default_rng(3)
    for r in rng.normal(0.0, 0.2, 200):  # a pressure logger with ±0.2 m noise
        stats.update({"P-1": float(r)}, {"P-1": 0.01})
    scores = stats.update({"P-1": -3.0}, {"P-1": 0.01})  # a burst nearby: 3 m lower
    row = scores.loc["P-1"]
    assert row["count"] == 200
    assert abs(row["bias"]) < 0.1
    assert 0.1 < row["rms"] < 0.3
    assert row["z"] < -10


def test_the_floor_keeps_a_perfect_model_from_inflating_scores() -> None:
    stats = ResidualStatistics()
    for _ in range(10):
        stats.update({"Q-1": 0.0}, {"Q-1": 0.002})
    z = stats.update({"Q-1": 0.001}, {"Q-1": 0.002}).loc["Q-1", "z"]
    assert z == pytest.approx(0.5)


def test_a_missing_residual_scores_nan_and_changes_nothing() -> None:
    stats = ResidualStatistics(weight=0.5)
    stats.update({"L-1": 1.0}, {})
    stats.update({"L-1": 3.0}, {})
    before = stats.update({"L-1": float("nan")}, {"L-1": 0.1}).loc["L-1"]
    after = stats.update({"L-1": float("nan")}, {"L-1": 0.1}).loc["L-1"]
    assert np.isnan(before["z"])
    assert before["bias"] == after["bias"] == pytest.approx(2.0)
    assert before["count"] == after["count"] == 2


def test_weight_is_checked() -> None:
    with pytest.raises(ValueError, match="weight"):
        ResidualStatistics(weight=0.0)


@settings(deadline=None, max_examples=50)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=60), st.floats(0.01, 1.0))
def test_running_bias_equals_the_exponentially_weighted_mean(
    values: list[float], weight: float
) -> None:
    stats = ResidualStatistics(weight=weight)
    for v in values:
        stats.update({"S": v}, {})
    bias = stats.update({"S": float("nan")}, {}).loc["S", "bias"]
    expected = pd.Series(values).ewm(alpha=weight, adjust=False).mean().iloc[-1]
    assert bias == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_rolling_statistics_of_a_history() -> None:
    history = pd.DataFrame({"P-1": [0.0, 1.0, -1.0, 0.0, 5.0], "P-2": [1.0] * 5})
    bias = rolling_bias(history, 3)
    rms = rolling_rms(history, 3)
    assert bias["P-1"].tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0, 4 / 3])
    assert rms["P-1"].iloc[3] == pytest.approx(np.sqrt(2 / 3))
    assert rms["P-2"].tolist() == pytest.approx([1.0] * 5)
    z = rolling_zscore(history, 3, floor=0.1)
    past = np.array([1.0, -1.0, 0.0])
    assert z["P-1"].iloc[4] == pytest.approx((5.0 - past.mean()) / past.std())
    assert np.isnan(z["P-1"].iloc[0])
    assert z["P-2"].iloc[4] == 0.0  # constant: spread 0, floored, no deviation
    per_sensor = rolling_zscore(history, 3, floor=pd.Series({"P-1": 10.0, "P-2": 1.0}))
    assert per_sensor["P-1"].iloc[4] == pytest.approx((5.0 - past.mean()) / 10.0)
