"""The raw-water trunk main (输水主干线): safe-operation days, water delivered, failures, and the
burst/transient detector run over the stored readings, raising alarms.

- **Safe-operation days** (安全运行天数): whole local calendar days since the last recorded
  failure, or since commissioning when none is recorded (:func:`safe_operation_days`; the
  operations centre's KPI uses it). Recording a failure (staff with the ability, audited)
  resets the counter to 0 on the day of the failure.
- **Volume delivered** [m³]: the inlet flow meter's readings integrated over time (trapezoids
  between readings; a gap longer than :data:`MAX_GAP_S` is not bridged, and its time is
  reported as not covered). The total since commissioning uses hourly means (the store keeps
  them after raw readings are purged): Σ mean flow x 3,600 s over the hours holding readings.
- **Detector** (:mod:`waterops.detection.trunk_main`): :meth:`TrunkMainService.scan` reads the
  main's meters from the telemetry store and reports bursts and transients to the
  :class:`~waterops.service.alarms.AlarmService` (a burst is an alarm of kind ``burst``, which
  does not clear itself: a crew repairs it and says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from waterops.detection.trunk_main import (
    EventKind,
    TrunkMainEvent,
    TrunkMainMeters,
    TrunkMainSettings,
    trunk_main_events,
)
from waterops.errors import PermissionDeniedError, TrunkMainError
from waterops.model.accounts import User
from waterops.model.alarms import Alarm, AlarmSignal, Severity
from waterops.model.network import Network
from waterops.model.telemetry import Quantity
from waterops.model.utility import UtilityLayout
from waterops.model.work_orders import Ability, can
from waterops.service.alarms import AlarmService
from waterops.service.auth import Clock, utc_now
from waterops.store.telemetry_store import TelemetryStore
from waterops.store.trunk_main_store import TrunkMainFailure, TrunkMainStore

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_GAP_S = 1800.0
"""A gap between two inlet-flow readings longer than this is not integrated across [s]."""
STALE_AFTER_S = 900.0
"""A meter whose latest reading is older than this is reported stale [s] (3 SCADA polls)."""
DEFAULT_COMMISSIONED = datetime(2026, 1, 1, tzinfo=LOCAL_TZ)
"""Commissioning date of the demo utility's trunk main (a setting of a real utility)."""


@dataclass(frozen=True)
class TrunkMainConfig:
    """One trunk main: its meters, length [m] and commissioning time (the counter's start
    when no failure is recorded)."""

    meters: TrunkMainMeters
    name: str
    length_m: float
    commissioned_at: datetime = DEFAULT_COMMISSIONED
    settings: TrunkMainSettings = field(default_factory=TrunkMainSettings)

    @property
    def main_id(self) -> str:
        """The main's id (its source's)."""
        return self.meters.main_id


def trunk_main_config(layout: UtilityLayout, network: Network, *,
                      commissioned_at: datetime = DEFAULT_COMMISSIONED) -> TrunkMainConfig:
    """The main of the utility's first non-backup source with a main: inlet meter on its
    first pipe, outlet meter on its last, every pressure meter on the main's junctions with
    its chainage from the pipe lengths."""
    source = next((s for s in layout.sources if s.main_links and not s.backup), None)
    if source is None:
        raise TrunkMainError(f"the layout {layout.name!r} has no source with a trunk main")
    pipes = network.pipes
    missing = [p for p in source.main_links if p not in pipes.index]
    if missing:
        raise TrunkMainError(f"trunk main {source.id}: pipes {missing[:3]} are not in the network")
    lengths = pipes.loc[list(source.main_links), "length_m"].to_numpy(dtype=float)
    ends = [str(n) for n in pipes.loc[list(source.main_links), "node2"]]
    chain = dict(zip(ends, np.cumsum(lengths).tolist(), strict=True))
    at = float(lengths.sum())
    flows = {s.element_id: s.id for s in layout.sensors
             if s.quantity is Quantity.FLOW and s.element_kind == "link"}
    first, last = source.main_links[0], source.main_links[-1]
    if first not in flows or last not in flows:
        raise TrunkMainError(f"trunk main {source.id}: no flow meter on {first} (inlet) or "
                             f"{last} (outlet) in the layout")
    pressures = tuple(sorted(((s.id, chain[s.element_id or ""]) for s in layout.sensors
                              if s.quantity is Quantity.PRESSURE
                              and (s.element_id or "") in chain), key=lambda sc: sc[1]))
    meters = TrunkMainMeters(source.id, flows[first], flows[last], pressures, at)
    return TrunkMainConfig(meters, f"trunk main from {source.node}", at,
                           commissioned_at=commissioned_at)


def safe_operation_days(store: TrunkMainStore, main_id: str, commissioned_at: datetime,
                        now: datetime, tz: ZoneInfo = LOCAL_TZ) -> int:
    """Safe-operation days of a trunk main at ``now``: local calendar days since the last
    failure recorded at or before ``now``, else since ``commissioned_at`` (never negative).

    Worked example: commissioned 2026-01-01, last failure 2026-03-10 23:30 local, now
    2026-03-12 00:10 local → 2 days (the 11th and the 12th are safe days so far).
    """
    last = store.last_failure(main_id, before=now)
    since = last.occurred_at if last is not None else commissioned_at
    return max(0, (now.astimezone(tz).date() - since.astimezone(tz).date()).days)


@dataclass(frozen=True)
class Volume:
    """Water delivered [m³] over a period, and how much of it the readings cover [s]."""

    volume_m3: float
    covered_s: float
    period_s: float


def integrate_flow(times: pd.Series | pd.DatetimeIndex, flows_m3s: Sequence[float] | np.ndarray,
                   max_gap_s: float = MAX_GAP_S) -> tuple[float, float]:
    """(volume [m³], covered time [s]) of flow readings: trapezoids between consecutive
    finite readings no more than ``max_gap_s`` apart."""
    index = pd.DatetimeIndex(times)
    t = ((index - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float) \
        if len(index) else np.array([])
    q = np.asarray(flows_m3s, dtype=float)
    ok = np.isfinite(q)
    t, q = np.asarray(t)[ok], q[ok]
    if len(t) < 2:
        return 0.0, 0.0
    dt = np.diff(t)
    use = dt <= max_gap_s
    volume = float(np.sum(0.5 * (q[1:] + q[:-1])[use] * dt[use]))
    return volume, float(np.sum(dt[use]))


def delivered_volume(telemetry: TelemetryStore, sensor_id: str, start: datetime,
                     end: datetime) -> Volume:
    """Volume through the flow meter ``sensor_id`` in [start, end) from raw readings."""
    readings = telemetry.readings(sensor_id, start, end)
    volume, covered = integrate_flow(readings["time"], readings["value"].to_numpy())
    return Volume(volume, covered, (end - start).total_seconds())


def delivered_volume_hourly(telemetry: TelemetryStore, sensor_id: str, start: datetime,
                            end: datetime) -> Volume:
    """Volume in [start, end) from hourly means (rollups stand in for purged readings)."""
    hours = telemetry.resample(sensor_id, start, end, 3600)
    if hours.empty:
        return Volume(0.0, 0.0, (end - start).total_seconds())
    means = hours["mean"].to_numpy(dtype=float)
    ok = np.isfinite(means)
    return Volume(float(np.sum(means[ok]) * 3600.0), float(np.sum(ok) * 3600.0),
                  (end - start).total_seconds())


@dataclass(frozen=True)
class MeterStatus:
    """A meter's latest reading (SI value) and whether it is stale."""

    sensor_id: str
    quantity: str
    chainage_m: float | None
    value: float | None
    time: datetime | None
    stale: bool


@dataclass(frozen=True)
class TrunkMainStatus:
    """The trunk main at a glance (the operations centre's tile)."""

    main_id: str
    name: str
    length_m: float
    time: datetime
    safe_days: int
    safe_since: datetime
    last_failure: TrunkMainFailure | None
    volume_today: Volume
    volume_total: Volume
    meters: tuple[MeterStatus, ...]


class TrunkMainService:
    """The trunk main's record and detector over one database.

    Parameters
    ----------
    engine : the store's engine (migrated to head)
    config : the main (see :func:`trunk_main_config`)
    alarms : where detections go (none: :meth:`scan` only returns them)
    clock : now (timezone-aware UTC)
    """

    def __init__(self, engine: sa.Engine, config: TrunkMainConfig,
                 alarms: AlarmService | None = None, clock: Clock = utc_now) -> None:
        self.store = TrunkMainStore(engine)
        self.telemetry = TelemetryStore(engine)
        self.config = config
        self.alarms = alarms
        self.clock = clock

    @staticmethod
    def _require(user: User, ability: Ability) -> None:
        if not user.active or not can(user.role, ability):
            raise PermissionDeniedError(user.username, ability.value, "trunk main")

    def safe_operation_days(self, now: datetime | None = None) -> int:
        """Safe-operation days now (see :func:`safe_operation_days`)."""
        return safe_operation_days(self.store, self.config.main_id,
                                   self.config.commissioned_at, now or self.clock())

    def status(self, user: User) -> TrunkMainStatus:
        """Days, volume today and in total, last failure and meter status."""
        self._require(user, Ability.TRUNK_MAIN_READ)
        now = self.clock()
        cfg = self.config
        last = self.store.last_failure(cfg.main_id, before=now)
        since = last.occurred_at if last is not None else cfg.commissioned_at
        midnight = datetime.combine(now.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ)
        inlet = cfg.meters.inlet_flow
        registered = inlet in {s.id for s in self.telemetry.sensors()}
        start_today = max(midnight, cfg.commissioned_at)
        if registered:  # a store the meters never reported to has delivered nothing yet
            today = delivered_volume(self.telemetry, inlet, start_today, now)
            total = delivered_volume_hourly(self.telemetry, inlet, cfg.commissioned_at, now)
        else:
            today = Volume(0.0, 0.0, (now - start_today).total_seconds())
            total = Volume(0.0, 0.0, (now - cfg.commissioned_at).total_seconds())
        return TrunkMainStatus(cfg.main_id, cfg.name, cfg.length_m, now,
                               self.safe_operation_days(now), since, last, today, total,
                               self._meters(now))

    def _meters(self, now: datetime) -> tuple[MeterStatus, ...]:
        m = self.config.meters
        rows: list[tuple[str, str, float | None]] = [
            (m.inlet_flow, "flow", 0.0), (m.outlet_flow, "flow", self.config.length_m),
            *((s, "pressure", x) for s, x in m.pressures)]
        known = {s.id for s in self.telemetry.sensors()}
        ids = [r[0] for r in rows if r[0] in known]
        latest = self.telemetry.latest(ids) if ids else pd.DataFrame()
        by_id = {} if latest.empty else {str(r["sensor_id"]): r for _, r in latest.iterrows()}
        out = []
        for sensor, quantity, chainage in rows:
            row = by_id.get(sensor)
            if row is None:
                out.append(MeterStatus(sensor, quantity, chainage, None, None, True))
                continue
            at = pd.Timestamp(row["time"]).to_pydatetime()
            value = float(row["value"])
            out.append(MeterStatus(sensor, quantity, chainage,
                                   value if math.isfinite(value) else None, at,
                                   (now - at).total_seconds() > STALE_AFTER_S))
        return tuple(out)

    def record_failure(self, user: User, occurred_at: datetime, *, link_id: str | None = None,
                       description: str = "", work_order_id: int | None = None
                       ) -> TrunkMainFailure:
        """Record a failure (burst, joint failure, forced shutdown): the counter restarts
        from its day. Audited."""
        self._require(user, Ability.TRUNK_MAIN_RECORD)
        now = self.clock()
        if occurred_at.tzinfo is None:
            raise TrunkMainError("the failure time needs a time zone")
        if occurred_at > now:
            raise TrunkMainError(f"a failure at {occurred_at.isoformat()} is in the future")
        if occurred_at < self.config.commissioned_at:
            raise TrunkMainError(f"a failure at {occurred_at.isoformat()} is before the main was "
                                 f"commissioned ({self.config.commissioned_at.isoformat()})")
        if not description.strip():
            raise TrunkMainError("describe the failure (what failed, where)")
        return self.store.record_failure(self.config.main_id, occurred_at, now, user,
                                         link_id=link_id, description=description.strip(),
                                         work_order_id=work_order_id)

    def failures(self, user: User, *, limit: int | None = None,
                 offset: int = 0) -> tuple[list[TrunkMainFailure], int]:
        """The main's recorded failures, latest first."""
        self._require(user, Ability.TRUNK_MAIN_READ)
        return self.store.failures(self.config.main_id, limit=limit, offset=offset)

    # -- detection ---------------------------------------------------------------------------

    def readings_table(self, start: datetime, end: datetime) -> pd.DataFrame:
        """The main's meters in [start, end) as one table (index time, column per sensor);
        a meter the store does not know has no column (it never reported)."""
        series = {}
        known = {s.id for s in self.telemetry.sensors()}
        for sensor in self.config.meters.sensor_ids:
            if sensor not in known:
                continue
            r = self.telemetry.readings(sensor, start, end)
            series[sensor] = pd.Series(r["value"].to_numpy(), index=pd.DatetimeIndex(r["time"]))
        return pd.DataFrame(series).sort_index()

    def scan(self, start: datetime, end: datetime) -> tuple[list[TrunkMainEvent], list[Alarm]]:
        """Run the detector over [start, end) of the stored readings and report what it finds
        to the alarm service (if any); (events, alarms touched)."""
        events = trunk_main_events(self.readings_table(start, end), self.config.meters,
                                   self.config.settings)
        touched: list[Alarm] = []
        if self.alarms is not None:
            for event in events:
                touched += self.alarms.report_many(signals_of(event, self.config))
        return events, touched


def _km(x_m: float) -> str:
    return f"{x_m / 1000:.0f}"


def signals_of(event: TrunkMainEvent, config: TrunkMainConfig) -> list[AlarmSignal]:
    """The alarm signals of a detector event (a transient: raised and ended at once)."""
    group = f"trunk_main:{event.main_id}"
    source = f"trunk_main:{event.main_id}"
    if event.kind is EventKind.BURST:
        where, where_zh = "", ""
        loc = event.location
        if loc is not None:
            where = f" between km {_km(loc.from_m)} and km {_km(loc.to_m)}"
            where_zh = f"（约 {_km(loc.from_m)}–{_km(loc.to_m)} 公里处）"
            if loc.estimate_m is not None:
                where += f" (about km {loc.estimate_m / 1000:.1f})"
        flow = event.flow_m3s or 0.0
        message = (f"Suspected burst on the {config.name}{where}: inlet exceeds outlet by "
                   f"{flow * 1000:.0f} L/s")
        message_zh = f"输水主干线疑似爆管{where_zh}：进出口流量差 {flow * 1000:.0f} L/s"
        severity, diagnosis = Severity.CRITICAL, "trunk_main_burst"
        if event.pressure_confirms is False:
            # the flows disagree but no pressure along the line moved: a flow meter is the
            # likelier culprit; still an alarm (a small burst can hide in the pressures)
            severity, diagnosis = Severity.MAJOR, "flow_meter_discrepancy"
            message = (f"Inlet exceeds outlet of the {config.name} by {flow * 1000:.0f} L/s "
                       "but no pressure meter along it dropped: check the flow meters "
                       "before sending a crew")
            message_zh = (f"输水主干线进出口流量差 {flow * 1000:.0f} L/s，但沿线压力未下降："
                          "请先核查流量计")
        return [AlarmSignal("burst", source, "inlet-outlet imbalance", event.active, event.time,
                            severity, group_key=group, value=flow, unit="m3/s",
                            message=message if event.active else "",
                            message_zh=message_zh if event.active else "",
                            diagnosis=diagnosis, evidence=event.evidence,
                            worse_when_lower=False)]
    swing = event.swing_m or 0.0
    sensor = event.sensor_id or ""
    condition = f"swing>{config.settings.transient_m:g}m"

    def transient(active: bool) -> AlarmSignal:
        return AlarmSignal(
            "pressure_transient", sensor, condition, active, event.time, Severity.MINOR,
            group_key=group, value=abs(swing), unit="m",
            message=f"Pressure transient of {swing:+.1f} m on the {config.name} at {sensor}",
            message_zh=f"输水主干线压力突变 {swing:+.1f} m（{sensor}）",
            evidence=event.evidence if active else (), worse_when_lower=False)

    return [transient(True), transient(False)]
