"""The IWA/AWWA water balance of a system or DMA for a period, with 95 % confidence limits (pure).

The balance (Alegre et al. 2000/2006, *Performance Indicators for Water Supply Services*,
IWA Publishing, the "standard water balance"; AWWA Manual M36, *Water Audits and Loss
Control Programs*, 4th ed. 2016)::

    system input volume (SIV) = authorised consumption + water losses
    authorised consumption    = billed metered + billed unmetered
                                + unbilled metered + unbilled unmetered
    water losses              = SIV - authorised consumption
    apparent losses           = unauthorised consumption + customer metering inaccuracies
                                (+ systematic data-handling errors, AWWA M36)
    real losses               = water losses - apparent losses
    revenue water             = billed authorised consumption
    non-revenue water (NRW)   = SIV - billed authorised consumption

Real losses are what is left, so every input's error ends up in them. Each input carries its
accuracy as a ± fraction at 95 % confidence; the variance method of AWWA M36 (after Lambert's
"variance analysis", used in the AWWA Free Water Audit Software) turns it into a standard
deviation ``sigma = accuracy x volume / 1.96``, adds variances along the sums and differences
above (inputs independent) and reports ``±1.96 sigma`` on each derived component.

The IWA real-loss indices (UARL, ILI) and the CJJ 92-2016 rates and grade are computed from
the same inputs when the infrastructure figures are given (:mod:`.leakage_indices`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date

import pandas as pd

from waterops.errors import BalanceInputError
from waterops.planning.leakage_indices import Cjj92Rates, IwaIndices, cjj92_rates, iwa_indices

Z95 = 1.96
"""Standard normal quantile of a two-sided 95 % confidence interval."""


@dataclass(frozen=True)
class Volume:
    """A volume with its accuracy.

    Attributes
    ----------
    m3 : the volume [m³]
    accuracy : half-width of its 95 % confidence interval as a fraction of it (0.02 = ±2 %)
    """

    m3: float
    accuracy: float = 0.0

    @property
    def variance_m6(self) -> float:
        """Variance of the volume [m⁶]: ``(accuracy x m3 / 1.96)²``."""
        return (self.accuracy * self.m3 / Z95) ** 2


DEFAULT_ACCURACY: dict[str, float] = {
    "system_input": 0.02,
    "billed_metered": 0.05,
    "billed_unmetered": 0.10,
    "unbilled_metered": 0.05,
    "unbilled_unmetered": 0.30,
    "unauthorised": 0.30,
    "metering_inaccuracy": 0.30,
    "data_handling_errors": 0.30,
}
"""Accuracy (± at 95 %) used when an input gives none: bulk meters ±2 %, customer meters ±5 %,
estimates ±10-30 %. Our defaults, in the range AWWA M36 suggests for such data; give the
utility's own figures where known."""

VOLUME_FIELDS = tuple(DEFAULT_ACCURACY)
"""The volumes of a balance input, in the order of the IWA table."""


@dataclass(frozen=True)
class Infrastructure:
    """Figures of the system or DMA for the indices (all optional).

    Attributes
    ----------
    mains_km : length of mains Lm [km] (UARL)
    connections : service connections Nc [-] (UARL)
    private_pipe_km : private pipe, property line to meter Lp [km] (UARL)
    pressure_m : average operating pressure [m] (UARL)
    mains_dn75_km : mains of DN 75 and above [km] (CJJ 92 R_2)
    household_metered_m3 : residential water metered to the household [m³] (CJJ 92 R_1)
    outlet_pressure_mpa : average plant-outlet pressure [MPa] (CJJ 92 R_3)
    frost_depth_m : greatest frost depth [m] (CJJ 92 R_4)
    """

    mains_km: float | None = None
    connections: float | None = None
    private_pipe_km: float | None = None
    pressure_m: float | None = None
    mains_dn75_km: float | None = None
    household_metered_m3: float | None = None
    outlet_pressure_mpa: float | None = None
    frost_depth_m: float | None = None


@dataclass(frozen=True)
class BalanceInput:
    """What the balance of one system or DMA for one period is built from.

    Attributes
    ----------
    scope : ``"system"`` or ``"dma"``
    scope_id : the system's or DMA's id
    system_id : the system it belongs to (itself for a system)
    period_start, period_end : first and last day of the period (both included)
    system_input … data_handling_errors : the volumes of :data:`VOLUME_FIELDS`
    infrastructure : figures for the indices
    source : where the input came from (file and line), for messages
    """

    scope: str
    scope_id: str
    system_id: str
    period_start: date
    period_end: date
    system_input: Volume
    billed_metered: Volume
    billed_unmetered: Volume = Volume(0.0)
    unbilled_metered: Volume = Volume(0.0)
    unbilled_unmetered: Volume = Volume(0.0)
    unauthorised: Volume = Volume(0.0)
    metering_inaccuracy: Volume = Volume(0.0)
    data_handling_errors: Volume = Volume(0.0)
    infrastructure: Infrastructure = field(default_factory=Infrastructure)
    source: str = "balance input"

    def __post_init__(self) -> None:
        if self.scope not in ("system", "dma"):
            raise BalanceInputError(self.source, f"scope must be 'system' or 'dma', "
                                                 f"got {self.scope!r}")
        if not self.scope_id:
            raise BalanceInputError(self.source, "scope_id is empty")
        if self.period_end < self.period_start:
            raise BalanceInputError(self.source, f"period_end {self.period_end} is before "
                                                 f"period_start {self.period_start}")
        for name in VOLUME_FIELDS:
            volume: Volume = getattr(self, name)
            if not math.isfinite(volume.m3) or volume.m3 < 0:
                raise BalanceInputError(self.source, f"{name}_m3 must be >= 0, "
                                                     f"got {volume.m3!r}")
            if not math.isfinite(volume.accuracy) or not 0 <= volume.accuracy < 1:
                raise BalanceInputError(self.source, f"{name}_accuracy_pct must be in "
                                                     f"[0, 100), got {100 * volume.accuracy!r}")
        if self.system_input.m3 == 0:
            raise BalanceInputError(self.source, "system_input_m3 is 0: nothing to balance")

    @property
    def period_days(self) -> int:
        """Days in the period (both ends included)."""
        return (self.period_end - self.period_start).days + 1

    @property
    def period(self) -> str:
        """The period's label: ``2026`` for a calendar year, ``2026-11`` for a calendar month,
        else ``START/END``."""
        return period_label(self.period_start, self.period_end)


def period_label(start: date, end: date) -> str:
    """``YYYY`` for a calendar year, ``YYYY-MM`` for a calendar month, else ``START/END``."""
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return f"{start.year:04d}"
    next_month = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if start.day == 1 and (next_month - end).days == 1:
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.isoformat()}/{end.isoformat()}"


@dataclass(frozen=True)
class Component:
    """A component of the balance with its uncertainty.

    Attributes
    ----------
    m3 : volume [m³]
    ci95_m3 : half-width of the 95 % confidence interval [m³]
    """

    m3: float
    ci95_m3: float

    @property
    def ci95_fraction(self) -> float:
        """The half-width as a fraction of the volume (NaN for a zero volume)."""
        return self.ci95_m3 / abs(self.m3) if self.m3 else math.nan

    @property
    def variance_m6(self) -> float:
        """Variance [m⁶]."""
        return (self.ci95_m3 / Z95) ** 2


def _sum(*parts: tuple[float, Component | Volume]) -> Component:
    """Σ sign x part, variances added (independent inputs)."""
    m3 = sum(sign * part.m3 for sign, part in parts)
    variance = sum(part.variance_m6 for _, part in parts)
    return Component(m3, Z95 * math.sqrt(variance))


@dataclass(frozen=True)
class WaterBalance:
    """The IWA water balance of one system or DMA and period, with indices.

    Components are :class:`Component` (m³ and 95 % half-width). ``iwa`` and ``cjj92`` are
    ``None`` when the infrastructure figures they need are missing. ``warnings`` name data
    that look wrong (negative real losses, an indicative ILI) without stopping the balance.
    """

    input: BalanceInput
    system_input: Component
    billed_authorised: Component
    unbilled_authorised: Component
    authorised: Component
    water_losses: Component
    apparent_losses: Component
    real_losses: Component
    non_revenue_water: Component
    iwa: IwaIndices | None
    cjj92: Cjj92Rates | None
    warnings: tuple[str, ...]

    @property
    def nrw_ratio(self) -> float:
        """NRW as a share of the system input (产销差率) [-]."""
        return self.non_revenue_water.m3 / self.system_input.m3

    @property
    def real_loss_ratio(self) -> float:
        """Real losses as a share of the system input [-]."""
        return self.real_losses.m3 / self.system_input.m3


def compute_water_balance(inp: BalanceInput) -> WaterBalance:
    """The water balance of ``inp`` with variance-method 95 % limits and the indices."""
    siv = _sum((1, inp.system_input))
    billed = _sum((1, inp.billed_metered), (1, inp.billed_unmetered))
    unbilled = _sum((1, inp.unbilled_metered), (1, inp.unbilled_unmetered))
    authorised = _sum((1, inp.billed_metered), (1, inp.billed_unmetered),
                      (1, inp.unbilled_metered), (1, inp.unbilled_unmetered))
    losses = _sum((1, inp.system_input), (-1, inp.billed_metered), (-1, inp.billed_unmetered),
                  (-1, inp.unbilled_metered), (-1, inp.unbilled_unmetered))
    apparent = _sum((1, inp.unauthorised), (1, inp.metering_inaccuracy),
                    (1, inp.data_handling_errors))
    real = _sum((1, losses), (-1, apparent))  # independent inputs: variances add
    nrw = _sum((1, inp.system_input), (-1, inp.billed_metered), (-1, inp.billed_unmetered))
    warnings: list[str] = []
    if losses.m3 < 0:
        warnings.append(f"authorised consumption exceeds the system input by "
                        f"{-losses.m3:,.0f} m³: check the input meters and billing periods")
    if real.m3 < 0:
        warnings.append(f"real losses are negative ({real.m3:,.0f} m³): apparent losses are "
                        f"overestimated or the system input is under-read")
    elif real.m3 < real.ci95_m3:
        warnings.append("real losses are smaller than their 95 % uncertainty: improve the "
                        "input data before acting on them")
    iwa = _iwa(inp, real, warnings)
    cjj = _cjj92(inp, authorised, billed)
    return WaterBalance(inp, siv, billed, unbilled, authorised, losses, apparent, real, nrw,
                        iwa, cjj, tuple(warnings))


def _iwa(inp: BalanceInput, real: Component, warnings: list[str]) -> IwaIndices | None:
    infra = inp.infrastructure
    if infra.mains_km is None or infra.connections is None or infra.pressure_m is None:
        return None
    indices = iwa_indices(real.m3, inp.period_days, infra.mains_km, infra.connections,
                          infra.private_pipe_km or 0.0, infra.pressure_m, where=inp.source)
    if not indices.uarl_reliable:
        warnings.append(f"ILI is indicative only: the UARL formula is derived for systems of "
                        f">= 5,000 connections and >= 25 m average pressure "
                        f"({infra.connections:,.0f} connections, {infra.pressure_m:.0f} m)")
    return indices


def _cjj92(inp: BalanceInput, authorised: Component, billed: Component) -> Cjj92Rates:
    infra = inp.infrastructure
    return cjj92_rates(inp.system_input.m3, authorised.m3, billed.m3,
                       household_metered_m3=infra.household_metered_m3 or 0.0,
                       mains_dn75_km=infra.mains_dn75_km,
                       outlet_pressure_mpa=infra.outlet_pressure_mpa,
                       frost_depth_m=infra.frost_depth_m or 0.0,
                       period_days=inp.period_days, where=inp.source)


COMPONENTS = ("system_input", "authorised", "billed_authorised", "unbilled_authorised",
              "water_losses", "apparent_losses", "real_losses", "non_revenue_water")
"""The components of :class:`WaterBalance`, in the order of the IWA table."""


def balance_row(balance: WaterBalance) -> dict[str, object]:
    """One flat row: scope, period, every component with its ±95 %, ratios and indices."""
    inp = balance.input
    row: dict[str, object] = {
        "scope": inp.scope, "scope_id": inp.scope_id, "system_id": inp.system_id,
        "period": inp.period, "period_start": inp.period_start, "period_end": inp.period_end,
        "period_days": inp.period_days,
    }
    for name in COMPONENTS:
        component: Component = getattr(balance, name)
        row[f"{name}_m3"] = component.m3
        row[f"{name}_ci95_m3"] = component.ci95_m3
    row["nrw_ratio"] = balance.nrw_ratio
    row["real_loss_ratio"] = balance.real_loss_ratio
    iwa = balance.iwa
    for f in fields(IwaIndices):
        row[f.name] = getattr(iwa, f.name) if iwa is not None else math.nan
    cjj = balance.cjj92
    if cjj is not None:
        for f in fields(Cjj92Rates):
            value = getattr(cjj, f.name)
            row[f"cjj92_{f.name}"] = value.value if f.name == "grade" else value
    row["warnings"] = "; ".join(balance.warnings)
    return row


def balance_table(balances: list[WaterBalance]) -> pd.DataFrame:
    """The balances as a table, one row each (see :func:`balance_row`), sorted by scope,
    id and period start."""
    table = pd.DataFrame([balance_row(b) for b in balances])
    if table.empty:
        return table
    order = {"system": 0, "dma": 1}
    table["_order"] = table["scope"].map(order)
    table = table.sort_values(["_order", "scope_id", "period_start"]).drop(columns="_order")
    return table.reset_index(drop=True)
