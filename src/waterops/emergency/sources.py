"""Raw-water sources: early-warning thresholds on source quality, and the plan to switch to
the backup source after an outage or a pollution.

Thresholds (:data:`RAW_WATER_LIMITS`) are the class III limits of GB 3838-2002 (地表水环境质量
标准, Table 1), the class a surface source of drinking water must meet; a reading at or above
``warning_fraction`` (80 %, *configurable assumption*) of a limit is an early warning, beyond
the limit an alarm. Turbidity has no limit in GB 3838-2002: its levels are configurable
assumptions of the utility (what its plant can treat).

Switch plan (:func:`switch_plan`), three EPANET runs over ``horizon_s``:

1. before: the share of water from the failed source, as a conservative chemical at 100 % in
   every node and in the failed source, 0 in the other sources (the system as it has been
   fed): nodes fed by other sources fall towards their true share during the run, nodes fed
   by the failed source stay at 100 % (EPANET's TRACE would start every node at 0);
   pressures before from a hydraulic run;
2. after: the failed source's main closed at the plant end, the backup's pumps started at
   nominal speed, TRACE from the backup source starting at 0 %: the share of backup water
   rising in each zone gives the time the switch takes effect there (first time the zone's
   mean share reaches ``share_threshold``, 50 % by default);
3. after, quality: the same scenario with the file's own quality (chlorine in the demo), for
   the residual in each zone after the switch; pressures come from run 2.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import epanet.toolkit as tk
import numpy as np
import pandas as pd

from waterops.emergency.contamination import prepare_chemical_run, quality_loop
from waterops.errors import ConfigError, QualityDataError, ScenarioError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.quality import Chemical, Trace
from waterops.hydraulics.results import SimulationResults
from waterops.hydraulics.scenarios import Change, PumpSpeed, SetLinkStatus, apply_changes
from waterops.model.utility import UtilityLayout, WaterSource

GB3838 = "GB 3838-2002 Table 1, class III"
TURBIDITY_ASSUMPTION = "utility setting (no limit in GB 3838-2002; configurable assumption)"


class AlertLevel(enum.StrEnum):
    """Early-warning level of a source."""

    NORMAL = "normal"
    WARNING = "warning"
    ALARM = "alarm"


_ORDER = {AlertLevel.NORMAL: 0, AlertLevel.WARNING: 1, AlertLevel.ALARM: 2}


@dataclass(frozen=True)
class RawWaterLimit:
    """Limits of one raw-water parameter.

    Attributes
    ----------
    parameter : its name (``"ammonia_n"`` …)
    unit : unit of values (``"mg/L"``, ``"NTU"``, ``"pH"``)
    upper : highest acceptable value, or ``None``
    lower : lowest acceptable value, or ``None``
    source : where the limit comes from
    warning_fraction : share of the way to a limit at which an early warning starts
    """

    parameter: str
    unit: str
    upper: float | None
    lower: float | None
    source: str
    warning_fraction: float = 0.8

    def level(self, value: float) -> AlertLevel:
        """Level of ``value`` against the limits."""
        if not math.isfinite(value):
            raise QualityDataError(self.parameter, f"reading {value!r} is not a number")
        if (self.upper is not None and value > self.upper) or (
                self.lower is not None and value < self.lower):
            return AlertLevel.ALARM
        if self.upper is not None and self.lower is not None:  # a band, like pH
            margin = (1 - self.warning_fraction) * (self.upper - self.lower) / 2
            near = value >= self.upper - margin or value <= self.lower + margin
        elif self.upper is not None:
            near = value >= self.warning_fraction * self.upper
        else:
            assert self.lower is not None
            near = value <= self.lower / self.warning_fraction
        return AlertLevel.WARNING if near else AlertLevel.NORMAL


RAW_WATER_LIMITS: dict[str, RawWaterLimit] = {
    limit.parameter: limit for limit in (
        RawWaterLimit("ammonia_n", "mg/L", 1.0, None, GB3838),  # 氨氮 NH3-N
        RawWaterLimit("codmn", "mg/L", 6.0, None, GB3838),  # 高锰酸盐指数 permanganate index
        RawWaterLimit("ph", "pH", 9.0, 6.0, GB3838),
        RawWaterLimit("dissolved_oxygen", "mg/L", None, 5.0, GB3838),
        RawWaterLimit("total_phosphorus", "mg/L", 0.2, None,
                      GB3838 + " (rivers; 0.05 for lakes and reservoirs)"),
        RawWaterLimit("turbidity", "NTU", 100.0, None, TURBIDITY_ASSUMPTION, 0.5),
    )
}
"""Default early-warning limits of raw-water quality, by parameter."""


@dataclass(frozen=True)
class Finding:
    """One parameter of a source, assessed."""

    parameter: str
    value: float
    unit: str
    level: AlertLevel
    limit: str


@dataclass(frozen=True)
class SourceStatus:
    """A source's early-warning level (the worst of its parameters) and the findings."""

    source_id: str
    level: AlertLevel
    findings: tuple[Finding, ...]


def assess_source(source_id: str, readings: Mapping[str, float],
                  limits: Mapping[str, RawWaterLimit] = RAW_WATER_LIMITS) -> SourceStatus:
    """Assess the latest raw-water readings of a source (parameter -> value).

    Raises
    ------
    QualityDataError
        for a parameter without limits, or a value that is not a number.
    """
    findings = []
    for parameter, value in sorted(readings.items()):
        limit = limits.get(parameter)
        if limit is None:
            raise QualityDataError(f"source {source_id}",
                                   f"no limits for parameter {parameter!r}; "
                                   f"known: {', '.join(sorted(limits))}")
        bounds = " – ".join(f"{b:g}" for b in (limit.lower, limit.upper) if b is not None)
        text = f"{'≥ ' if limit.upper is None else '≤ ' if limit.lower is None else ''}" \
               f"{bounds} {limit.unit} ({limit.source})"
        findings.append(Finding(parameter, float(value), limit.unit, limit.level(value), text))
    level = max((f.level for f in findings), key=_ORDER.__getitem__, default=AlertLevel.NORMAL)
    return SourceStatus(source_id, level, tuple(findings))


@dataclass(frozen=True)
class ZoneSwitch:
    """How one zone (DMA) fares when the source is switched.

    Attributes
    ----------
    zone_id : the DMA
    share_before : mean share of the zone's water from the failed source before [0-1]
    share_after : mean share from the backup at the end of the horizon [0-1]
    changes_source : the zone drew mostly on the failed source and the backup reaches it
    takes_effect_after_s : time from the switch until the zone's mean share of backup water
        reaches the threshold [s]; ``None`` when not within the horizon
    min_pressure_before_m, min_pressure_after_m : lowest junction pressure of the zone [m]
    chlorine_after_mg_l : mean residual of the zone at the end of the horizon [mg/L]
        (``nan`` when the network file has no chemical)
    """

    zone_id: str
    share_before: float
    share_after: float
    changes_source: bool
    takes_effect_after_s: int | None
    min_pressure_before_m: float
    min_pressure_after_m: float
    chlorine_after_mg_l: float


@dataclass(frozen=True)
class SwitchPlan:
    """Start the backup source: what to do, and what it does to each zone."""

    failed_source: str
    backup_source: str
    actions: tuple[str, ...]
    horizon_s: int
    zones: tuple[ZoneSwitch, ...]
    lowest_pressure_after_m: float
    lowest_pressure_node: str
    warnings: tuple[str, ...]


def _source(layout: UtilityLayout, source_id: str) -> WaterSource:
    for s in layout.sources:
        if source_id in (s.id, s.node):
            return s
    known = ", ".join(s.id for s in layout.sources)
    raise ScenarioError(f"unknown source {source_id!r}; the utility's sources: {known}")


def switch_changes(failed: WaterSource, backup: WaterSource) -> tuple[Change, ...]:
    """The scenario of a switch: the failed source's main closed where it reaches the plant
    (its last main link, else its outlet links), the backup's pumps at nominal speed."""
    closed = (failed.main_links[-1],) if failed.main_links else failed.outlet_links
    changes: list[Change] = [SetLinkStatus(link, False) for link in closed]
    # a pump closed in the file has speed 0: opening it needs its speed too
    changes += [PumpSpeed(pump, 1.0) for pump in backup.pumps]
    changes += [SetLinkStatus(link, True) for link in backup.outlet_links
                if link not in backup.pumps]
    return tuple(changes)


def switch_plan(engine: EpanetEngine, layout: UtilityLayout, failed_source_id: str, *,
                backup_source_id: str | None = None, horizon_s: int = 48 * 3600,
                share_threshold: float = 0.5) -> SwitchPlan:
    """The plan to replace ``failed_source_id`` by the backup (see the module docstring).

    Raises
    ------
    ScenarioError
        for an unknown source, a failed source that is the backup, no backup.
    ConfigError
        for a non-positive horizon or a threshold outside (0, 1].
    SimulationError
        when EPANET cannot solve a run.
    """
    if horizon_s <= 0 or not 0 < share_threshold <= 1:
        raise ConfigError("the horizon must be > 0 s and the share threshold in (0, 1]")
    failed = _source(layout, failed_source_id)
    if backup_source_id is None:
        backups = [s for s in layout.sources if s.backup and s.id != failed.id]
        if not backups:
            raise ScenarioError(f"source {failed.id} has no backup source to switch to")
        backup = backups[0]
    else:
        backup = _source(layout, backup_source_id)
    if backup.id == failed.id:
        raise ScenarioError(f"source {failed.id} cannot be its own backup")
    changes = switch_changes(failed, backup)
    shares_before = _shares_before(engine, failed, layout, horizon_s)
    before = engine.run(duration_s=horizon_s)
    undo = apply_changes(engine, changes)
    try:
        after = engine.run(duration_s=horizon_s, quality=Trace(backup.node))
        chlorine = _file_chemical_run(engine, horizon_s)
    finally:
        undo()
    zones = tuple(_zone(d.id, list(d.junctions), shares_before, before, after, chlorine,
                        share_threshold) for d in layout.dmas)
    lowest = after.lowest_pressure()
    actions = tuple(_action(c) for c in changes)
    return SwitchPlan(failed.id, backup.id, actions, horizon_s, zones,
                      lowest.pressure_m if lowest else math.nan,
                      lowest.node_id if lowest else "",
                      tuple(w.message for w in after.warnings if w.kind != "negative_pressure"))


def _action(change: Change) -> str:
    """What an operator does for one change of the switch, in words."""
    if isinstance(change, SetLinkStatus):
        return f"{'open' if change.open else 'close'} {change.link_id}"
    if isinstance(change, PumpSpeed):
        return f"start pump {change.pump_id} (nominal speed)"
    return str(change)  # pragma: no cover - switch_changes makes only the two kinds


def _shares_before(engine: EpanetEngine, failed: WaterSource, layout: UtilityLayout,
                   horizon_s: int) -> pd.DataFrame:
    """Share of water from the failed source at each node, hourly [0-1]: a conservative
    chemical at 1 in every node and in the failed source, 0 in the other sources (EPANET's
    TRACE cannot start from a filled network: it sets every initial quality to 0)."""
    ph = engine.handle
    others = {s.node for s in layout.sources if s.id != failed.id}
    others |= {engine.node_ids[i] for i in range(len(engine.node_ids))
               if tk.getnodetype(ph, i + 1) == tk.RESERVOIR and engine.node_ids[i] != failed.node}
    with ExitStack() as restore:
        old = [tk.getnodevalue(ph, i, tk.INITQUAL) for i in range(1, len(engine.node_ids) + 1)]
        restore.callback(_put_initial_quality, ph, old)
        prepare_chemical_run(restore, engine, 0.0, horizon_s)
        _put_initial_quality(ph, [0.0 if n in others else 1.0 for n in engine.node_ids])
        times, values = quality_loop(engine, horizon_s, 3600)
    return pd.DataFrame(values, index=pd.Index(times, name="time_s"),
                        columns=pd.Index(engine.node_ids, name="node"))


def _put_initial_quality(ph: object, values: Sequence[float]) -> None:
    for i, v in enumerate(values, start=1):
        tk.setnodevalue(ph, i, tk.INITQUAL, v)


def _file_chemical_run(engine: EpanetEngine, horizon_s: int) -> SimulationResults | None:
    """The scenario with the file's own chemical (its sources, coefficients), if it has one."""
    kind, name, units, _ = tk.getqualinfo(engine.handle)
    if kind != tk.CHEM:
        return None
    spec = Chemical(name or "chemical", None, None, units=units or "mg/L")
    return engine.run(duration_s=horizon_s, quality=spec)


def _zone(zone_id: str, junctions: Sequence[str], shares_before: pd.DataFrame,
          before: SimulationResults,
          after: SimulationResults, chlorine: SimulationResults | None,
          share_threshold: float) -> ZoneSwitch:
    share_b = shares_before[junctions].mean(axis=1)
    share_a = after.node["quality"][junctions].mean(axis=1)
    reached = share_a[share_a >= share_threshold]
    last_day = share_b[share_b.index >= share_b.index[-1] - 86_400]
    before_share = float(last_day.mean())
    after_share = float(share_a.iloc[-1])
    cl = math.nan if chlorine is None else \
        float(chlorine.node["quality"][junctions].iloc[-1].mean())
    return ZoneSwitch(
        zone_id, before_share, after_share,
        before_share >= share_threshold and not reached.empty,
        int(reached.index[0]) if not reached.empty else None,
        _min(before.node["pressure"][junctions]), _min(after.node["pressure"][junctions]), cl)


def _min(frame: pd.DataFrame) -> float:
    return float(np.nanmin(frame.to_numpy())) if frame.size else math.nan
