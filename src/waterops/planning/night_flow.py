"""Minimum night flow (MNF) analysis of a DMA: the daily leakage a night's inflow implies (pure).

The method (UK Water Industry "Managing Leakage" reports, 1994, Report E and F; IWA Water Loss
Task Force, Farley & Trow 2003, *Losses in Water Distribution Networks*, ch. 7)::

    net night flow (NNF)       = MNF - legitimate night use
    legitimate night use       = households x household night use
                                 + non-households x non-household night use
                                 + exceptional night users (metered, given in m³/s)
    daily leakage [m³/day]     = NNF x night-day factor (NDF) [h] x 3600
    NDF [h]                    = Σ over the day (P(t) / P_mnf) ** N1 x Δt [h]

NDF (the "hour-day factor") carries the leakage at the pressure of the minimum night hour
through the day with the FAVAD power law (May 1994; Thornton & Lambert 2005): leakage varies
as pressure ** N1, N1 = 0.5 for rigid pipes with fixed-area holes, 1.5 for flexible pipes,
1.0 for a large mixed system. Pressure is read at the DMA's average zone point (AZP); without
a pressure series the NDF is 24 h (no pressure modulation).

The night-use allowances default to the typical figures quoted from the Managing Leakage
reports: 1.7 L/property/h for households and 8 L/property/h for non-households (*to verify
against Report E*; measure your own with night-use studies where possible).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from waterops.errors import BalanceInputError, ConfigError

HOUSEHOLD_NIGHT_USE_L_H = 1.7
"""Typical household night use [L/(property·h)] (UK Managing Leakage, Report E; verify)."""
NON_HOUSEHOLD_NIGHT_USE_L_H = 8.0
"""Typical non-household night use [L/(property·h)] (UK Managing Leakage, Report E; verify)."""


@dataclass(frozen=True)
class NightFlowAnalysis:
    """Settings of the MNF analysis.

    Attributes
    ----------
    night_start_hour, night_end_hour : local clock hours searched for the minimum [h]
    averaging_s : the inflow is averaged over bins of this length before the minimum [s]
    timezone : the utility's clock (nights are local)
    household_l_h : household night use [L/(property·h)]
    non_household_l_h : non-household night use [L/(property·h)]
    exceptional_m3s : metered night use of exceptional users (factories, hospitals) [m³/s]
    n1 : FAVAD leakage exponent N1 [-]
    min_day_coverage : share of a day's pressure bins needed for its NDF [-]
    """

    night_start_hour: int = 0
    night_end_hour: int = 5
    averaging_s: int = 3600
    timezone: str = "Asia/Shanghai"
    household_l_h: float = HOUSEHOLD_NIGHT_USE_L_H
    non_household_l_h: float = NON_HOUSEHOLD_NIGHT_USE_L_H
    exceptional_m3s: float = 0.0
    n1: float = 1.0
    min_day_coverage: float = 0.9

    def __post_init__(self) -> None:
        if not 0 <= self.night_start_hour < self.night_end_hour <= 24:
            raise ConfigError("night flow: night hours must satisfy 0 <= start < end <= 24")
        if self.averaging_s <= 0 or 86_400 % self.averaging_s:
            raise ConfigError(f"night flow: averaging_s must divide a day, "
                              f"got {self.averaging_s}")
        if min(self.household_l_h, self.non_household_l_h, self.exceptional_m3s) < 0:
            raise ConfigError("night flow: night-use allowances must be >= 0")
        if not 0 < self.n1 <= 3:
            raise ConfigError(f"night flow: N1 must be in (0, 3], got {self.n1}")


def legitimate_night_use_m3s(households: int, non_households: int,
                             analysis: NightFlowAnalysis) -> float:
    """Legitimate night use of a DMA [m³/s]."""
    if households < 0 or non_households < 0:
        raise ConfigError("night flow: property counts must be >= 0")
    litres_per_h = households * analysis.household_l_h + non_households * \
        analysis.non_household_l_h
    return litres_per_h / 1000.0 / 3600.0 + analysis.exceptional_m3s


def _binned(series: pd.Series, analysis: NightFlowAnalysis, what: str) -> pd.Series:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise BalanceInputError(what, "needs a timezone-aware DatetimeIndex (UTC)")
    local = series.astype(float).tz_convert(analysis.timezone)
    return local.resample(f"{analysis.averaging_s}s").mean().dropna()


def night_flow_analysis(inflow_m3s: pd.Series, *, households: int, non_households: int = 0,
                        pressure_m: pd.Series | None = None,
                        analysis: NightFlowAnalysis | None = None) -> pd.DataFrame:
    """MNF, net night flow and daily leakage of a DMA, one row per local night.

    Parameters
    ----------
    inflow_m3s : net DMA inflow (inlets minus outlets) [m³/s], aware UTC index
    households, non_households : properties served [-]
    pressure_m : pressure at the average zone point [m], aware UTC index (optional)
    analysis : settings (default :class:`NightFlowAnalysis`)

    Returns
    -------
    DataFrame indexed by the local date of the night, columns ``mnf_time`` (UTC),
    ``mnf_m3s``, ``legitimate_night_use_m3s``, ``net_night_flow_m3s``, ``pressure_at_mnf_m``,
    ``night_day_factor_h``, ``leakage_m3_per_day`` and ``leakage_l_per_property_h`` (NNF
    per property).
    """
    analysis = analysis or NightFlowAnalysis()
    flow = _binned(inflow_m3s, analysis, "inflow_m3s")
    legit = legitimate_night_use_m3s(households, non_households, analysis)
    hours = pd.DatetimeIndex(flow.index).hour
    night = flow[(hours >= analysis.night_start_hour) & (hours < analysis.night_end_hour)]
    if night.empty:
        return pd.DataFrame(columns=_COLUMNS).rename_axis("night")
    night_dates = pd.DatetimeIndex(night.index).date
    mnf_times = night.groupby(night_dates).idxmin()
    pressure = _binned(pressure_m, analysis, "pressure_m") if pressure_m is not None else None
    by_day: dict[object, pd.Series] = {}
    if pressure is not None:  # one grouping, not one scan of the series per night
        by_day = dict(iter(pressure.groupby(pd.DatetimeIndex(pressure.index).date)))
    rows = []
    for day, when in mnf_times.items():
        mnf = float(night[when])
        nnf = max(mnf - legit, 0.0)
        p_mnf, ndf = _night_day_factor(pressure, by_day.get(day), when, analysis)
        properties = households + non_households
        rows.append({
            "night": day,
            "mnf_time": pd.Timestamp(when).tz_convert("UTC"),
            "mnf_m3s": mnf,
            "legitimate_night_use_m3s": legit,
            "net_night_flow_m3s": nnf,
            "pressure_at_mnf_m": p_mnf,
            "night_day_factor_h": ndf,
            "leakage_m3_per_day": nnf * ndf * 3600.0,
            "leakage_l_per_property_h": (nnf * 3.6e6 / properties if properties
                                         else np.nan),
        })
    return pd.DataFrame(rows, columns=["night", *_COLUMNS]).set_index("night")


_COLUMNS = ["mnf_time", "mnf_m3s", "legitimate_night_use_m3s", "net_night_flow_m3s",
            "pressure_at_mnf_m", "night_day_factor_h", "leakage_m3_per_day",
            "leakage_l_per_property_h"]


def _night_day_factor(pressure: pd.Series | None, of_day: pd.Series | None, when: object,
                      analysis: NightFlowAnalysis) -> tuple[float, float]:
    """(pressure at the MNF bin [m], NDF [h]) for the local day holding the night."""
    if pressure is None:
        return np.nan, 24.0
    p_mnf = pressure.get(when)
    if p_mnf is None or not np.isfinite(p_mnf) or p_mnf <= 0 or of_day is None:
        return np.nan, np.nan
    bins_per_day = 86_400 // analysis.averaging_s
    if len(of_day) < analysis.min_day_coverage * bins_per_day:
        return float(p_mnf), np.nan
    ratio = np.clip(of_day.to_numpy(), 0.0, None) / float(p_mnf)
    # mean over the bins seen, scaled to 24 h, so a few missing bins do not shorten the day
    return float(p_mnf), float(np.mean(ratio ** analysis.n1) * 24.0)


def night_day_factor_h(pressure_m: pd.Series | np.ndarray, pressure_at_mnf_m: float,
                       n1: float = 1.0) -> float:
    """NDF [h] of a day of equally spaced pressures: ``24 x mean((P / P_mnf) ** N1)``."""
    values = np.asarray(pressure_m, dtype=float)
    if values.size == 0 or pressure_at_mnf_m <= 0:
        raise BalanceInputError("pressure_m", "needs pressures and a positive P_mnf")
    return float(np.mean((values / pressure_at_mnf_m) ** n1) * 24.0)
