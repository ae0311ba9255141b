"""Leakage indices: IWA UARL and ILI, and the leakage rate of CJJ 92-2016 with its grade (pure).

IWA (Lambert et al. 1999, "A review of performance indicators for real losses from water
supply systems", AQUA 48(6); Alegre et al. 2006, *Performance Indicators for Water Supply
Services*, 2nd ed., IWA Publishing, indicators Op24-Op29)
----------------------------------------------------------------------------------------
Unavoidable annual real losses, in litres per day::

    UARL = (18 x Lm + 0.8 x Nc + 25 x Lp) x P

with Lm the length of mains [km], Nc the number of service connections, Lp the total length of
private pipe between the property line and the customer meter [km] and P the average operating
pressure [m]. The infrastructure leakage index is ``ILI = CARL / UARL`` with CARL the current
annual real losses (same unit). The formula was derived for systems with more than 5,000
service connections and an average pressure above 25 m (Lambert & McKenzie 2002, "Practical
experience in using the Infrastructure Leakage Index"; later papers lowered the size limit to
3,000); outside that range :attr:`IwaIndices.uarl_reliable` is ``False`` and the ILI is only
indicative (typical for a DMA).

CJJ 92-2016 《城镇供水管网漏损控制及评定标准》 §5 (2018 partial revision)
------------------------------------------------------------------------
* 综合漏损率 (overall loss rate) ``R_WL = (Q_s - Q_a) / Q_s x 100 %`` with Q_s the total
  supply (供水总量) and Q_a the registered users' consumption (注册用户用水量, billed + free);
* 漏损率 (leakage rate) ``R_BL = R_WL - R_n`` with ``R_n = R_1 + R_2 + R_3 + R_4``:

  - ``R_1 = 0.08 x r x 100 %``, r the share of the total supply sold as residential water
    metered to the household (居民抄表到户水量占总供水量比例; 0.08 is the standard's
    居民用户总分表差率, the difference between bulk and household meters);
  - ``R_2 = 0.99 x (A - 0.0693) x 100 %``, A = L / Q_s the pipe length per unit supply
    [km per 10^4 m³ per year], L the length of mains of DN 75 and above [km]; R_2 is held
    within ±3 % (taken as 3 % above 3 % and as -3 % below -3 %);
  - ``R_3``: annual average plant-outlet pressure above 0.35 MPa and up to 0.55 MPa: 0.5 %;
    above 0.55 MPa and up to 0.75 MPa: 1 %; above 0.75 MPa: 2 %; otherwise 0;
  - ``R_4``: 1 % where the greatest frost depth exceeds 1.4 m, otherwise 0;
* grade: 一级 (grade 1) when R_BL <= 10 %, 二级 (grade 2) when R_BL <= 12 %, else not met;
* 产销差率 (NRW ratio) ``R_NR = (Q_s - Q_c) / Q_s x 100 %`` with Q_c the billed volume.

Sources checked: the structure (R_BL = R_WL - R_n, R_n = R_1 + R_2 + R_3 + R_4, the grades of
10 % and 12 %, Q_s and Q_a in 10^4 m³) is that of the partial revision of CJJ 92-2016 in force
since 2019-02-01 (published text of the revised clauses 2.0.18, 2.0.19, 5.1, 5.2); the
coefficients of R_1-R_4 (0.08 r; 0.99 (A - 0.0693) held within ±3 %; the pressure steps; the
1.4 m frost depth) agree with §5.2.3 as quoted in a utility's own implementation of the standard
(found on 2026-12-07). We have not read the printed standard itself: check against it before a
figure goes to a regulator. The tests check the arithmetic against examples computed by hand
from these formulas.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from waterops.errors import BalanceInputError

# --- IWA ---------------------------------------------------------------------------------------

UARL_MAINS_L_PER_KM_DAY_M = 18.0
"""UARL coefficient of mains [L/(km·day·m)] (Lambert et al. 1999)."""
UARL_CONNECTION_L_PER_DAY_M = 0.8
"""UARL coefficient of service connections, main to property line [L/(connection·day·m)]."""
UARL_PRIVATE_L_PER_KM_DAY_M = 25.0
"""UARL coefficient of private pipe, property line to meter [L/(km·day·m)]."""
UARL_MIN_CONNECTIONS = 5000
"""Smallest system for which the UARL formula was derived (Lambert & McKenzie 2002)."""
UARL_MIN_PRESSURE_M = 25.0
"""Lowest average pressure for which the UARL formula was derived [m]."""
LOW_DENSITY_CONNECTIONS_PER_KM = 20.0
"""Below this connection density IWA expresses real losses per km of mains, not per connection."""


def _non_negative(name: str, value: float, where: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise BalanceInputError(where, f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def uarl_l_per_day(mains_km: float, connections: float, private_pipe_km: float,
                   pressure_m: float, *, where: str = "UARL") -> float:
    """Unavoidable annual real losses expressed per day [L/day] (Lambert et al. 1999).

    Parameters
    ----------
    mains_km : length of mains Lm [km]
    connections : number of service connections Nc [-]
    private_pipe_km : private pipe from property line to meter Lp [km] (0 when meters sit at
        the property line)
    pressure_m : average operating pressure P [m]
    """
    lm = _non_negative("mains_km", mains_km, where)
    nc = _non_negative("connections", connections, where)
    lp = _non_negative("private_pipe_km", private_pipe_km, where)
    p = _non_negative("pressure_m", pressure_m, where)
    return (UARL_MAINS_L_PER_KM_DAY_M * lm + UARL_CONNECTION_L_PER_DAY_M * nc
            + UARL_PRIVATE_L_PER_KM_DAY_M * lp) * p


def carl_l_per_day(real_losses_m3: float, period_days: float, *, where: str = "CARL") -> float:
    """Current real losses of a period as a daily rate [L/day] (CARL for a year's data)."""
    days = _non_negative("period_days", period_days, where)
    if days == 0:
        raise BalanceInputError(where, "the period must last more than 0 days")
    return real_losses_m3 * 1000.0 / days


@dataclass(frozen=True)
class IwaIndices:
    """IWA real-loss indicators of one system or DMA and period.

    Attributes
    ----------
    carl_l_d : current real losses [L/day]
    uarl_l_d : unavoidable real losses [L/day]
    ili : infrastructure leakage index CARL/UARL [-]
    real_losses_l_conn_d : real losses per service connection per day [L/(connection·day)]
        (IWA Op24, the indicator for connection density >= 20/km)
    real_losses_m3_km_d : real losses per km of mains per day [m³/(km·day)] (IWA Op24 for
        densities below 20/km)
    connection_density_per_km : service connections per km of mains [1/km]
    uarl_reliable : whether the system is within the range the UARL formula was derived for
    """

    carl_l_d: float
    uarl_l_d: float
    ili: float
    real_losses_l_conn_d: float
    real_losses_m3_km_d: float
    connection_density_per_km: float
    uarl_reliable: bool


def iwa_indices(real_losses_m3: float, period_days: float, mains_km: float, connections: float,
                private_pipe_km: float, pressure_m: float, *, where: str = "ILI") -> IwaIndices:
    """CARL, UARL, ILI and real losses per connection and per km of mains for one period."""
    carl = carl_l_per_day(real_losses_m3, period_days, where=where)
    uarl = uarl_l_per_day(mains_km, connections, private_pipe_km, pressure_m, where=where)
    if uarl <= 0:
        raise BalanceInputError(where, "UARL is 0 (no mains, no connections or no pressure): "
                                       "the ILI is undefined")
    per_conn = carl / connections if connections > 0 else math.nan
    per_km = carl / 1000.0 / mains_km if mains_km > 0 else math.nan
    density = connections / mains_km if mains_km > 0 else math.nan
    reliable = connections >= UARL_MIN_CONNECTIONS and pressure_m >= UARL_MIN_PRESSURE_M
    return IwaIndices(carl, uarl, carl / uarl, per_conn, per_km, density, reliable)


# --- CJJ 92-2016 -------------------------------------------------------------------------------

CJJ92_R1_COEFFICIENT = 0.08
"""R_1 = 0.08 r: allowance for residential water metered to the household (CJJ 92-2016 §5.2.3)."""
CJJ92_R2_COEFFICIENT = 0.99
CJJ92_R2_REFERENCE_KM_PER_1E4M3 = 0.0693
"""R_2 = 0.99 (A - 0.0693), A in km per 10^4 m³ of annual supply (CJJ 92-2016 §5.2.3)."""
CJJ92_R2_CAP = 0.03
"""R_2 is held within ±3 % (CJJ 92-2016 §5.2.3)."""
CJJ92_PRESSURE_STEPS_MPA = ((0.75, 0.02), (0.55, 0.01), (0.35, 0.005))
"""R_3: (outlet pressure above [MPa], correction) from the highest step down."""
CJJ92_FROST_DEPTH_M = 1.4
CJJ92_R4 = 0.01
"""R_4 = 1 % where the greatest frost depth exceeds 1.4 m."""
CJJ92_GRADE1, CJJ92_GRADE2 = 0.10, 0.12
"""Leakage-rate grades of CJJ 92-2016: grade 1 <= 10 %, grade 2 <= 12 %."""


class Cjj92Grade(enum.StrEnum):
    """The grade a leakage rate earns under CJJ 92-2016."""

    GRADE_1 = "grade 1"
    GRADE_2 = "grade 2"
    NOT_MET = "not met"

    @property
    def zh(self) -> str:
        """The grade in Chinese."""
        return {"grade 1": "一级", "grade 2": "二级", "not met": "未达标"}[self.value]


@dataclass(frozen=True)
class Cjj92Rates:
    """CJJ 92-2016 rates of one system and year, as fractions (0.1 = 10 %).

    Attributes
    ----------
    overall_loss_rate : 综合漏损率 R_WL
    r1_household_metering, r2_pipe_length, r3_pressure, r4_frost : corrections R_1..R_4
    correction : R_n = R_1 + R_2 + R_3 + R_4
    leakage_rate : 漏损率 R_BL = R_WL - R_n
    nrw_ratio : 产销差率 R_NR
    pipe_km_per_1e4m3 : A, km of DN75+ mains per 10^4 m³ of supply (scaled to a year)
    grade : grade earned by R_BL
    """

    overall_loss_rate: float
    r1_household_metering: float
    r2_pipe_length: float
    r3_pressure: float
    r4_frost: float
    correction: float
    leakage_rate: float
    nrw_ratio: float
    pipe_km_per_1e4m3: float
    grade: Cjj92Grade


def cjj92_grade(leakage_rate: float) -> Cjj92Grade:
    """The grade of a leakage rate R_BL (fraction)."""
    if leakage_rate <= CJJ92_GRADE1:
        return Cjj92Grade.GRADE_1
    if leakage_rate <= CJJ92_GRADE2:
        return Cjj92Grade.GRADE_2
    return Cjj92Grade.NOT_MET


def cjj92_pressure_correction(outlet_pressure_mpa: float) -> float:
    """R_3 for an annual average plant-outlet pressure [MPa]."""
    for above, correction in CJJ92_PRESSURE_STEPS_MPA:
        if outlet_pressure_mpa > above:
            return correction
    return 0.0


def cjj92_rates(supply_m3: float, registered_m3: float, billed_m3: float, *,
                household_metered_m3: float = 0.0, mains_dn75_km: float | None = None,
                outlet_pressure_mpa: float | None = None, frost_depth_m: float = 0.0,
                period_days: float = 365.0, where: str = "CJJ 92") -> Cjj92Rates:
    """The CJJ 92-2016 overall loss rate, corrections, leakage rate and grade.

    Parameters
    ----------
    supply_m3 : total supply Q_s of the period [m³]
    registered_m3 : registered users' consumption Q_a, billed and free [m³]
    billed_m3 : billed consumption Q_c [m³]
    household_metered_m3 : residential water metered to the household [m³] (R_1)
    mains_dn75_km : mains of DN 75 and above [km] (R_2; ``None``: no correction)
    outlet_pressure_mpa : annual average plant-outlet pressure [MPa] (R_3; ``None``: none)
    frost_depth_m : greatest frost depth of the place [m] (R_4)
    period_days : length of the period [days]; A is computed on the supply scaled to a year,
        since the standard evaluates a year
    """
    qs = _non_negative("supply_m3", supply_m3, where)
    qa = _non_negative("registered_m3", registered_m3, where)
    qc = _non_negative("billed_m3", billed_m3, where)
    household = _non_negative("household_metered_m3", household_metered_m3, where)
    if qs == 0:
        raise BalanceInputError(where, "total supply is 0: the rates are undefined")
    if qc > qa:
        raise BalanceInputError(where, f"billed {qc:g} m³ exceeds registered consumption "
                                       f"{qa:g} m³ (registered = billed + free)")
    if household > qa:
        raise BalanceInputError(where, f"household-metered {household:g} m³ exceeds registered "
                                       f"consumption {qa:g} m³")
    days = _non_negative("period_days", period_days, where)
    overall = (qs - qa) / qs
    r1 = CJJ92_R1_COEFFICIENT * household / qs
    a = math.nan
    r2 = 0.0
    if mains_dn75_km is not None:
        annual_1e4m3 = qs * 365.0 / days / 1e4
        a = _non_negative("mains_dn75_km", mains_dn75_km, where) / annual_1e4m3
        r2 = min(max(CJJ92_R2_COEFFICIENT * (a - CJJ92_R2_REFERENCE_KM_PER_1E4M3),
                     -CJJ92_R2_CAP), CJJ92_R2_CAP)
    r3 = 0.0
    if outlet_pressure_mpa is not None:
        r3 = cjj92_pressure_correction(
            _non_negative("outlet_pressure_mpa", outlet_pressure_mpa, where))
    r4 = CJJ92_R4 if _non_negative("frost_depth_m", frost_depth_m, where) > CJJ92_FROST_DEPTH_M \
        else 0.0
    rn = r1 + r2 + r3 + r4
    leakage = overall - rn
    return Cjj92Rates(overall, r1, r2, r3, r4, rn, leakage, (qs - qc) / qs, a,
                      cjj92_grade(leakage))
