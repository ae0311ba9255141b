"""MNF analysis on a synthetic DMA whose leakage follows pressure (N1 = 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.errors import BalanceInputError, ConfigError
from waterops.planning.night_flow import (
    NightFlowAnalysis,
    legitimate_night_use_m3s,
    night_day_factor_h,
    night_flow_analysis,
)

HOUSEHOLDS, NON_HOUSEHOLDS = 2000, 50
LEGIT_M3S = (2000 * 1.7 + 50 * 8.0) / 3.6e6  # 3,800 L/h
LEAK_AT_50M = 0.005  # m³/s at the night pressure of 50 m


def synthetic_dma(days: int = 3) -> tuple[pd.Series, pd.Series]:
    """15-min inflow and AZP pressure, constant within each local hour.

    Pressure 40 + 10 cos(2π (h - 3)/24) m peaks at 50 m at 03:00; leakage is proportional to
    pressure; consumption is the legitimate night use at 03:00 and rises away from it.
    """
    local = pd.date_range("2026-11-01", periods=days * 96, freq="15min", tz="Asia/Shanghai")
    hour = local.hour.to_numpy()
    phase = 2 * np.pi * (hour - 3) / 24
    pressure = 40 + 10 * np.cos(phase)
    consumption = LEGIT_M3S + 0.02 * (1 - np.cos(phase)) / 2
    leakage = LEAK_AT_50M * pressure / 50
    index = local.tz_convert("UTC")
    return pd.Series(consumption + leakage, index), pd.Series(pressure, index)


def test_leakage_recovered_from_night_flow() -> None:
    inflow, pressure = synthetic_dma()
    result = night_flow_analysis(inflow, households=HOUSEHOLDS, non_households=NON_HOUSEHOLDS,
                                 pressure_m=pressure)
    assert len(result) == 3
    night = result.iloc[0]
    assert night["mnf_time"] == pd.Timestamp("2026-11-01 03:00", tz="Asia/Shanghai")
    assert night["mnf_m3s"] == pytest.approx(LEGIT_M3S + LEAK_AT_50M)
    assert night["legitimate_night_use_m3s"] == pytest.approx(LEGIT_M3S)
    assert night["net_night_flow_m3s"] == pytest.approx(LEAK_AT_50M)
    assert night["pressure_at_mnf_m"] == pytest.approx(50)
    # Σ_h (40 + 10 cos)/50 over 24 hours = 960/50 = 19.2 h
    assert night["night_day_factor_h"] == pytest.approx(19.2)
    assert night["leakage_m3_per_day"] == pytest.approx(LEAK_AT_50M * 19.2 * 3600)
    # the same as the leakage put in, integrated over the day
    assert night["leakage_m3_per_day"] == pytest.approx(345.6)


def test_without_pressure_ndf_is_24_h() -> None:
    inflow, _ = synthetic_dma(1)
    result = night_flow_analysis(inflow, households=HOUSEHOLDS, non_households=NON_HOUSEHOLDS)
    assert result.iloc[0]["night_day_factor_h"] == 24.0
    assert result.iloc[0]["leakage_m3_per_day"] == pytest.approx(LEAK_AT_50M * 86_400)


def test_incomplete_pressure_day_gives_no_ndf() -> None:
    inflow, pressure = synthetic_dma(1)
    result = night_flow_analysis(inflow, households=HOUSEHOLDS, pressure_m=pressure.iloc[:40])
    assert np.isnan(result.iloc[0]["night_day_factor_h"])


def test_n1_changes_ndf() -> None:
    values = 40 + 10 * np.cos(2 * np.pi * (np.arange(24) - 3) / 24)
    assert night_day_factor_h(values, 50, n1=1.0) == pytest.approx(19.2)
    assert night_day_factor_h(values, 50, n1=0.5) == pytest.approx(
        np.sum(np.sqrt(values / 50)))
    assert night_day_factor_h(np.full(24, 30.0), 30) == pytest.approx(24)


def test_legitimate_use_and_settings() -> None:
    assert legitimate_night_use_m3s(1000, 0, NightFlowAnalysis()) == pytest.approx(1.7 / 3600)
    with pytest.raises(ConfigError, match="night hours"):
        NightFlowAnalysis(night_start_hour=5, night_end_hour=2)
    with pytest.raises(ConfigError, match="N1"):
        NightFlowAnalysis(n1=0)
    with pytest.raises(BalanceInputError, match="timezone-aware"):
        night_flow_analysis(pd.Series([1.0], pd.date_range("2026-01-01", periods=1)),
                            households=1)
