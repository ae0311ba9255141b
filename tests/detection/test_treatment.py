"""Dose models recover the synthetic plant's practice, their intervals hold on held-back data,
and outlet drift is flagged against the GB 5749-2022 limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.detection.treatment import (
    DoseAdvisor,
    RawWater,
    coagulant_jar_test_mg_l,
    fit_dose_model,
    outlet_drift_flags,
    ozone_practice_mg_l,
    synthetic_plant_history,
    validate_dose_model,
)
from waterops.errors import QualityDataError


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return synthetic_plant_history(days=730, seed=11)


def test_coagulant_model_recovers_the_jar_test_law(history: pd.DataFrame) -> None:
    model = fit_dose_model(history, "coagulant_mg_l")
    intercept, ln_turb, temp, codmn, _ammonia = model.coefficients
    # ln 6 - 0.4 ln 10 + 0.012 x 15 - 0.09 x 3 = 0.781
    assert intercept == pytest.approx(0.781, abs=0.08)
    assert ln_turb == pytest.approx(0.4, abs=0.02)
    assert temp == pytest.approx(-0.012, abs=0.002)
    assert codmn == pytest.approx(0.09, abs=0.02)
    assert model.sigma == pytest.approx(0.10, rel=0.1)


@pytest.mark.parametrize("target", ["coagulant_mg_l", "ozone_mg_l"])
def test_held_back_coverage_and_error(history: pd.DataFrame, target: str) -> None:
    v = validate_dose_model(history, target, test_fraction=0.25, level=0.9)
    assert v.n_test == pytest.approx(0.25 * len(history), abs=1)
    assert 0.85 <= v.coverage <= 0.95
    assert v.mape < 0.10
    assert v.mae_mg_l < 0.75 * v.baseline_mae_mg_l  # better than "always the median"


def test_recommendation_brackets_the_practice(history: pd.DataFrame) -> None:
    advisor = DoseAdvisor.fit(history)
    raw = RawWater(turbidity_ntu=40, temperature_c=8, ammonia_mg_l=0.4, codmn_mg_l=4.0)
    rec = advisor.recommend(raw, level=0.9)
    practice = float(coagulant_jar_test_mg_l(np.array(40.0), np.array(8.0), np.array(4.0)))
    assert rec.coagulant.low_mg_l < practice < rec.coagulant.high_mg_l
    assert rec.coagulant.dose_mg_l == pytest.approx(practice, rel=0.05)
    ozone = float(ozone_practice_mg_l(np.array(4.0), np.array(0.4)))
    assert rec.ozone.low_mg_l < ozone < rec.ozone.high_mg_l
    assert rec.outside_training == ()
    wider = advisor.recommend(raw, level=0.99)
    assert wider.coagulant.high_mg_l > rec.coagulant.high_mg_l
    storm = advisor.recommend(RawWater(3000, 8, 0.4, 4.0))
    assert storm.outside_training == ("turbidity_ntu",)


def test_bad_data_is_named(history: pd.DataFrame) -> None:
    with pytest.raises(QualityDataError, match="turbidity_ntu must be within"):
        RawWater(turbidity_ntu=-1, temperature_c=8, ammonia_mg_l=0.4, codmn_mg_l=4.0)
    broken = history.copy()
    broken.iloc[5, broken.columns.get_loc("ozone_mg_l")] = 99.0
    with pytest.raises(QualityDataError, match=r"ozone_mg_l = 99\.0 at 2024-12-02"):
        fit_dose_model(broken, "ozone_mg_l")
    with pytest.raises(QualityDataError, match="missing column"):
        fit_dose_model(history.drop(columns="codmn_mg_l"), "ozone_mg_l")
    with pytest.raises(QualityDataError, match="needs at least"):
        fit_dose_model(history.iloc[:8], "ozone_mg_l")


def outlet(days: int = 10, turbidity_slope: float = 0.0, chlorine: float = 0.8,
           seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-11-20", periods=days * 24, freq="h", tz="UTC")
    t = np.arange(len(index)) / 24
    return pd.DataFrame({"turbidity": 0.15 + turbidity_slope * t + rng.normal(0, 0.02, len(t)),
                         "free_chlorine": chlorine + rng.normal(0, 0.03, len(t)),
                         "ph": 7.4 + rng.normal(0, 0.05, len(t))}, index=index)


def test_steady_outlet_raises_nothing() -> None:
    assert outlet_drift_flags(outlet()) == []


def test_rising_turbidity_is_trending_then_approaching() -> None:
    # 0.03 NTU/day: after 10 days the last week's mean is ~0.37 NTU, 1 NTU in ~ 2-3 weeks
    flags = outlet_drift_flags(outlet(turbidity_slope=0.03), horizon_days=30)
    assert [(f.quantity, f.state) for f in flags] == [("turbidity", "trending")]
    assert flags[0].slope_per_day == pytest.approx(0.03, rel=0.1)
    assert flags[0].days_to_limit == pytest.approx((1 - flags[0].level) / 0.03, rel=0.15)
    assert "GB 5749-2022" in flags[0].limit.clause
    assert outlet_drift_flags(outlet(turbidity_slope=0.03), horizon_days=7) == []
    flags = outlet_drift_flags(outlet(days=20, turbidity_slope=0.03))
    assert [(f.quantity, f.state) for f in flags] == [("turbidity", "approaching")]


def test_low_chlorine_at_outlet() -> None:
    flags = outlet_drift_flags(outlet(chlorine=0.35))
    assert [(f.quantity, f.state, f.limit.bound) for f in flags] == [
        ("free_chlorine", "approaching", 0.3)]
    flags = outlet_drift_flags(outlet(chlorine=0.25))
    assert [(f.quantity, f.state) for f in flags] == [("free_chlorine", "beyond")]


def test_outlet_needs_aware_times() -> None:
    with pytest.raises(QualityDataError, match="timezone-aware"):
        outlet_drift_flags(outlet().tz_localize(None))
