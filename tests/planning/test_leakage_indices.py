"""UARL/ILI and CJJ 92-2016 rates against examples computed by hand from the formulas."""

from __future__ import annotations

import pytest

from waterops.errors import BalanceInputError
from waterops.planning.leakage_indices import (
    Cjj92Grade,
    carl_l_per_day,
    cjj92_grade,
    cjj92_pressure_correction,
    cjj92_rates,
    iwa_indices,
    uarl_l_per_day,
)


def test_uarl_hand_example() -> None:
    # (18 x 500 + 0.8 x 25,000 + 25 x 0) x 50 = 29,000 x 50 = 1,450,000 L/day
    assert uarl_l_per_day(500, 25_000, 0, 50) == pytest.approx(1_450_000)
    # 10 m of private pipe per connection: Lp = 250 km adds 25 x 250 x 50 = 312,500 L/day
    assert uarl_l_per_day(500, 25_000, 250, 50) == pytest.approx(1_762_500)


def test_uarl_per_connection_matches_lambert_table_value() -> None:
    # density 50 connections/km, meters at the property line, 50 m: (18/50 + 0.8) x 50 = 58
    # L/connection/day, the value of Lambert's UARL table for that density and pressure
    assert uarl_l_per_day(100, 5000, 0, 50) / 5000 == pytest.approx(58.0)


def test_ili_hand_example() -> None:
    # 1,000,000 m³ real losses in 365 days: CARL = 2,739,726 L/day; ILI = 2,739,726/1,450,000
    indices = iwa_indices(1_000_000, 365, 500, 25_000, 0, 50)
    assert indices.carl_l_d == pytest.approx(2_739_726.0, rel=1e-6)
    assert indices.ili == pytest.approx(1.889466, rel=1e-5)
    assert indices.real_losses_l_conn_d == pytest.approx(109.589, rel=1e-5)
    assert indices.real_losses_m3_km_d == pytest.approx(5.479452, rel=1e-6)
    assert indices.connection_density_per_km == 50
    assert indices.uarl_reliable


def test_small_system_is_flagged_indicative() -> None:
    assert not iwa_indices(10_000, 30, 20, 1200, 0, 35).uarl_reliable
    assert not iwa_indices(10_000, 30, 200, 12_000, 0, 20).uarl_reliable


@pytest.mark.parametrize("bad", [dict(mains_km=-1.0), dict(pressure_m=float("nan"))])
def test_uarl_rejects_bad_figures(bad: dict[str, float]) -> None:
    args = dict(mains_km=10.0, connections=100.0, private_pipe_km=0.0, pressure_m=30.0) | bad
    with pytest.raises(BalanceInputError, match=next(iter(bad))):
        uarl_l_per_day(**args)


def test_carl_needs_a_period() -> None:
    with pytest.raises(BalanceInputError, match="more than 0 days"):
        carl_l_per_day(100, 0)


def test_cjj92_hand_example() -> None:
    # Q_s = 10,000 x 10^4 m³/year; Q_a = 8,800 x 10^4; Q_c = 8,500 x 10^4
    # R_WL = 1,200/10,000 = 12 %; r = 4,500/10,000 -> R_1 = 0.08 x 0.45 = 3.6 %
    # A = 800 km / 10,000 = 0.08 -> R_2 = 0.99 x (0.08 - 0.0693) = 1.0593 %
    # 0.40 MPa -> R_3 = 0.5 %; frost 0.3 m -> R_4 = 0
    # R_n = 5.1593 %; R_BL = 6.8407 % -> grade 1; R_NR = 15 %
    rates = cjj92_rates(1e8, 8.8e7, 8.5e7, household_metered_m3=4.5e7, mains_dn75_km=800,
                        outlet_pressure_mpa=0.40, frost_depth_m=0.3)
    assert rates.overall_loss_rate == pytest.approx(0.12)
    assert rates.r1_household_metering == pytest.approx(0.036)
    assert rates.pipe_km_per_1e4m3 == pytest.approx(0.08)
    assert rates.r2_pipe_length == pytest.approx(0.010593)
    assert rates.r3_pressure == 0.005
    assert rates.r4_frost == 0.0
    assert rates.correction == pytest.approx(0.051593)
    assert rates.leakage_rate == pytest.approx(0.068407)
    assert rates.nrw_ratio == pytest.approx(0.15)
    assert rates.grade is Cjj92Grade.GRADE_1
    assert rates.grade.zh == "一级"


def test_cjj92_r2_capped_and_negative_and_frost() -> None:
    capped = cjj92_rates(1e8, 8e7, 8e7, mains_dn75_km=2000)  # A = 0.2 -> 12.9 % -> 3 %
    assert capped.r2_pipe_length == 0.03
    dense = cjj92_rates(1e8, 8e7, 8e7, mains_dn75_km=500)  # A = 0.05 -> -1.9107 %
    assert dense.r2_pipe_length == pytest.approx(-0.019107)
    assert dense.leakage_rate == pytest.approx(0.2 + 0.019107)
    very_dense = cjj92_rates(1e8, 8e7, 8e7, mains_dn75_km=300)  # A = 0.03 -> -3.89 % -> -3 %
    assert very_dense.r2_pipe_length == -0.03
    cold = cjj92_rates(1e8, 8e7, 8e7, frost_depth_m=1.5)
    assert cold.r4_frost == 0.01 and cold.leakage_rate == pytest.approx(0.19)
    assert cjj92_rates(1e8, 8e7, 8e7, frost_depth_m=1.4).r4_frost == 0.0


def test_cjj92_a_month_is_scaled_to_a_year() -> None:
    # a 30-day month of 1e8 x 30/365 m³ has the same A as the year
    month = cjj92_rates(1e8 * 30 / 365, 8e7 * 30 / 365, 8e7 * 30 / 365, mains_dn75_km=800,
                        period_days=30)
    assert month.pipe_km_per_1e4m3 == pytest.approx(0.08)


@pytest.mark.parametrize(("mpa", "r3"), [(0.35, 0.0), (0.36, 0.005), (0.55, 0.005),
                                         (0.56, 0.01), (0.75, 0.01), (0.76, 0.02)])
def test_cjj92_pressure_steps(mpa: float, r3: float) -> None:
    assert cjj92_pressure_correction(mpa) == r3


@pytest.mark.parametrize(("rate", "grade"), [(0.10, Cjj92Grade.GRADE_1),
                                             (0.1001, Cjj92Grade.GRADE_2),
                                             (0.12, Cjj92Grade.GRADE_2),
                                             (0.1201, Cjj92Grade.NOT_MET),
                                             (-0.01, Cjj92Grade.GRADE_1)])
def test_cjj92_grades(rate: float, grade: Cjj92Grade) -> None:
    assert cjj92_grade(rate) is grade


def test_cjj92_rejects_inconsistent_volumes() -> None:
    with pytest.raises(BalanceInputError, match=r"billed .* exceeds registered"):
        cjj92_rates(100, 50, 60)
    with pytest.raises(BalanceInputError, match="total supply is 0"):
        cjj92_rates(0, 0, 0)
