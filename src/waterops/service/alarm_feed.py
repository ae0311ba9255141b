"""Alarms from the live utility: readings (and twin residuals) in, alarms raised and cleared.

:class:`AlarmFeed` runs the online detectors on what the sensors report, interval by
interval, and hands what they see to the :class:`~waterops.service.alarms.AlarmService`:

- **water-quality limits** (GB 5749-2022 presets of :mod:`waterops.detection.thresholds`,
  with hysteresis and 5 min persistence): free chlorine and turbidity at the plant outlet
  (出厂水 limits, critical) and free chlorine at the DMA inlet stations (管网水 limits, major);
- **pump-room low pressure** with its diagnosis (:mod:`waterops.detection.pump_rooms`): the
  building pressure below 0.14 MPa, explained as booster fault, empty tank, low network or
  local, with the sentence for the service agent (a room whose city feed is low joins its
  DMA's incident: the network is at fault, not the building);
- **bursts** from the digital twin's innovations (:meth:`AlarmFeed.observe_twin`): a DMA
  that takes clearly more water than the twin predicted *and* whose pressure loggers fall
  far below it (the signature of a burst in that DMA; one of the two alone is a meter or a
  logger). Alarms of one DMA group into one incident. An update whose hydraulics did not
  converge is not searched (its innovations are meaningless); several in a row raise a
  ``twin_not_converged`` alarm, cleared by the next converged update;
- **leaks** from the online leak monitor of :mod:`waterops.detection.leaks` when one is given
  (:class:`~waterops.detection.leaks.OnlineLeakMonitor`, fitted on leak-free training data):
  each leak it raises becomes an alarm on its pipe;
- **trunk-main bursts and transients** (:mod:`waterops.detection.trunk_main`) when the
  main is given (:func:`waterops.service.trunk_main.trunk_main_config`).

The feed is a :class:`~waterops.service.simulator.Publisher`, so the virtual utility drives
it like any ingest path::

    feed = AlarmFeed(AlarmService(AlarmStore(store.engine)))
    with VirtualUtility(layout, config, [StorePublisher(store), feed]) as sim: ...

and, where a twin follows the utility, ``feed.observe_twin(frame.time, state)`` after each
``twin.update``. For a real utility call :meth:`AlarmFeed.observe` with each interval's
readings (sensor id -> SI value), or run it as a worker beside the ingest: :func:`catch_up`
reads what the telemetry store received since last time (``waterops alarms watch``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from waterops.detection.leaks import LeakAlarm, OnlineLeakMonitor
from waterops.detection.pump_rooms import (
    Diagnosis,
    PumpRoomEvent,
    PumpRoomMonitor,
    PumpRoomSettings,
    pump_room_sensors,
)
from waterops.detection.thresholds import (
    DEFAULT_MIN_DURATION_S,
    LimitAlarm,
    LimitMonitor,
    SamplingPoint,
    Side,
    gb5749_limits,
    with_persistence,
)
from waterops.detection.trunk_main import TrunkMainMonitor
from waterops.model.alarms import Alarm, AlarmSignal, Evidence, Severity
from waterops.model.telemetry import QualityFlag, Quantity, Sensor, SiteKind
from waterops.model.utility import UtilityLayout
from waterops.service.alarms import AlarmService
from waterops.service.simulator import SensorFrame
from waterops.service.trunk_main import TrunkMainConfig
from waterops.service.trunk_main import signals_of as trunk_main_signals
from waterops.service.twin import Twin, TwinState
from waterops.service.twin_project import NOT_CONVERGED
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore

QUALITY_NAMES = {Quantity.CHLORINE: "free_chlorine", Quantity.TURBIDITY: "turbidity",
                 Quantity.PH: "ph"}
"""The GB 5749 quantity each analyser measures."""
QUANTITY_ZH = {"free_chlorine": "余氯", "turbidity": "浑浊度", "ph": "pH"}
DISTRUSTED = int(QualityFlag.OUT_OF_RANGE | QualityFlag.FLATLINE | QualityFlag.SPIKE)
"""Quality flags that keep a stored reading away from the detectors (a gap flag does not)."""


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """Tuning of the alarm feed.

    Attributes
    ----------
    pump_rooms : settings of the pump-room detector
    quality_min_duration_s : persistence of a water-quality limit breach [s]
    burst_min_inflow_m3s : a DMA's inflow above the twin's prediction by at least this
        [m³/s] (10 L/s: above the usual interval-to-interval demand noise of a DMA)
    burst_pressure_z : … together with a pressure logger of the DMA this many spreads below
        the twin's prediction [-]
    burst_min_drop_m : … and at least this far below it [m]
    twin_warmup_updates : twin updates ignored after the twin starts: its DMA multipliers
        start at the pattern and its residual statistics are empty, so its first
        innovations show how the day differs from the pattern, not a burst
    twin_unconverged_updates : consecutive twin updates whose hydraulics did not converge
        that raise a ``twin_not_converged`` alarm (one alone is a transient)
    """

    pump_rooms: PumpRoomSettings = field(default_factory=PumpRoomSettings)
    quality_min_duration_s: float = DEFAULT_MIN_DURATION_S
    burst_min_inflow_m3s: float = 0.010
    burst_pressure_z: float = -5.0
    burst_min_drop_m: float = 2.0
    twin_warmup_updates: int = 4
    twin_unconverged_updates: int = 3


@dataclass
class _QualityWatch:
    sensor: Sensor
    monitor: LimitMonitor
    severity: Severity
    group_key: str
    point: SamplingPoint


class AlarmFeed:
    """Online detectors of one utility, reporting to an alarm service.

    Parameters
    ----------
    service : where alarms go
    settings : thresholds of the detectors
    leak_monitor : an online leak monitor (fitted) and the ids of the flow sensors it reads,
        in its order; its pressure sensors are ``leak_monitor.reference.sensor_ids``
    trunk_main : the raw-water trunk main whose meters the burst/transient detector watches
    """

    def __init__(self, service: AlarmService, settings: FeedSettings | None = None, *,
                 leak_monitor: tuple[OnlineLeakMonitor, list[str]] | None = None,
                 trunk_main: TrunkMainConfig | None = None) -> None:
        self.service = service
        self.settings = settings or FeedSettings()
        self.leak_monitor = leak_monitor
        self.trunk_main = trunk_main
        self._trunk_monitor = (None if trunk_main is None else
                               TrunkMainMonitor(trunk_main.meters, trunk_main.settings))
        self.layout: UtilityLayout | None = None
        self._quality: dict[str, list[_QualityWatch]] = {}
        self._rooms: list[PumpRoomMonitor] = []
        self._room_dma: dict[str, str] = {}  # pump room -> DMA of its city feed
        self._latest: dict[str, float] = {}
        self._twin_updates = 0
        self._twin_alarm_raised = False
        self.signals_sent = 0

    # -- Publisher protocol ------------------------------------------------------------------

    def prepare(self, layout: UtilityLayout) -> None:
        """Set the detectors up for ``layout``'s sensors (called once, before any frame)."""
        self.layout = layout
        self._quality = {}
        for sensor in layout.sensors:
            watch = self._quality_watches(layout, sensor)
            if watch:
                self._quality[sensor.id] = watch
        self._rooms = [PumpRoomMonitor(room, self.settings.pump_rooms)
                       for room in pump_room_sensors(layout)]
        self._room_dma = {}
        for room in layout.pump_rooms:
            dma = layout.dma_of(room.city_node)
            if dma is not None:
                self._room_dma[room.id] = dma.id

    def publish(self, frame: SensorFrame) -> None:
        """Run the detectors on one frame of the virtual utility."""
        self.observe(frame.time, dict(zip(frame.sensor_ids, frame.values.tolist(), strict=True)))

    def close(self) -> None:
        """Nothing buffered: every alarm is committed when reported."""

    @property
    def sensor_ids(self) -> tuple[str, ...]:
        """The sensors the detectors read (known after :meth:`prepare`), sorted."""
        ids = set(self._quality)
        for room in self._rooms:
            ids.update(room.sensors.all_sensors)
        if self.leak_monitor is not None:
            ids.update(self.leak_monitor[0].reference.sensor_ids)
            ids.update(self.leak_monitor[1])
        if self.trunk_main is not None:
            ids.update(self.trunk_main.meters.sensor_ids)
        return tuple(sorted(ids))

    # -- inputs --------------------------------------------------------------------------------

    def observe_table(self, table: pd.DataFrame) -> list[Alarm]:
        """Each row of a table (UTC time index x sensor id, SI values, NaN = none) in time
        order, as :meth:`observe`; returns every alarm touched."""
        touched: list[Alarm] = []
        columns = [str(c) for c in table.columns]
        values = table.to_numpy(dtype=float)
        for time, row in zip(table.index, values, strict=True):
            touched += self.observe(pd.Timestamp(time).to_pydatetime(),
                                    dict(zip(columns, row.tolist(), strict=True)))
        return touched

    def observe(self, time: datetime, readings: Mapping[str, float]) -> list[Alarm]:
        """Take one interval's readings (sensor id -> SI value; NaN = lost); returns the alarms
        raised, updated or cleared."""
        if self.layout is None:
            raise RuntimeError("AlarmFeed.prepare(layout) must be called before observe()")
        time = time.astimezone(UTC)
        for sensor_id, value in readings.items():
            if value == value:
                self._latest[sensor_id] = float(value)
        signals: list[AlarmSignal] = []
        t_s = time.timestamp()
        for sensor_id, watches in self._quality.items():
            reading = readings.get(sensor_id)
            if reading is None:
                continue
            for watch in watches:
                change = watch.monitor.step(t_s, float(reading))
                if change is not None:
                    signals.append(self._quality_signal(watch, change, time, float(reading)))
        for room in self._rooms:
            event = room.step(time, readings)
            if event is not None:
                signals.append(_room_signal(event, self.settings.pump_rooms.min_pressure_m,
                                            self._room_dma.get(event.room_id)))
        if self.leak_monitor is not None:
            leak = self._leak_step(time)
            if leak is not None:
                signals.append(_leak_signal(leak))
        if self._trunk_monitor is not None and self.trunk_main is not None:
            for trunk_event in self._trunk_monitor.step(time, readings):
                signals += trunk_main_signals(trunk_event, self.trunk_main)
        return self._report(signals)

    def observe_twin(self, time: datetime, state: TwinState) -> list[Alarm]:
        """Look for bursts in the twin's innovations of one update, and at whether its
        hydraulics converged; returns the alarms."""
        if self.layout is None:
            raise RuntimeError("AlarmFeed.prepare(layout) must be called before observe_twin()")
        time = time.astimezone(UTC)
        s = self.settings
        self._twin_updates += 1
        signals = self._twin_health(time, state)
        if self._twin_updates <= s.twin_warmup_updates or not state.hydraulics_converged:
            return self._report(signals)
        table = state.residuals
        for dma in self.layout.dmas:
            inlet_ids = [f"Q-{i.link_id}" for i in dma.inlets]
            if not all(i in table.index for i in inlet_ids):
                continue
            signs = np.array([i.sign for i in dma.inlets], dtype=float)
            extra_m3s = float(np.nansum(signs * table.loc[inlet_ids, "innovation"].to_numpy()))
            if not extra_m3s >= s.burst_min_inflow_m3s:
                continue
            loggers = [f"P-{n}" for n in (dma.pressure_node, dma.critical_node)
                       if f"P-{n}" in table.index]
            low = table.loc[loggers]
            low = low[(low["z"] <= s.burst_pressure_z) & (low["innovation"] <= -s.burst_min_drop_m)]
            if low.empty:
                continue
            signals.append(_burst_signal(dma.id, time, extra_m3s, low))
        return self._report(signals)

    # -- helpers -------------------------------------------------------------------------------

    def _twin_health(self, time: datetime, state: TwinState) -> list[AlarmSignal]:
        """A ``twin_not_converged`` signal while the twin has not converged for
        :attr:`FeedSettings.twin_unconverged_updates` updates in a row; its end at the next
        converged update."""
        if state.unconverged_updates >= max(self.settings.twin_unconverged_updates, 1):
            self._twin_alarm_raised = True
            return [_twin_signal(time, state, self.settings.twin_unconverged_updates, True)]
        if self._twin_alarm_raised and state.hydraulics_converged:
            self._twin_alarm_raised = False
            return [_twin_signal(time, state, self.settings.twin_unconverged_updates, False)]
        return []

    def _report(self, signals: list[AlarmSignal]) -> list[Alarm]:
        self.signals_sent += len(signals)
        return self.service.report_many(signals)

    def _quality_watches(self, layout: UtilityLayout, sensor: Sensor) -> list[_QualityWatch]:
        name = QUALITY_NAMES.get(sensor.quantity)
        kind = _site_kind(layout, sensor.site_id)
        if name is None or kind not in (SiteKind.TREATMENT_PLANT, SiteKind.DMA_INLET):
            return []  # tanks and monitoring points: not compliance sampling points here
        point = SamplingPoint.PLANT_OUTLET if kind is SiteKind.TREATMENT_PLANT \
            else SamplingPoint.NETWORK
        limits = with_persistence(gb5749_limits(point), self.settings.quality_min_duration_s)
        severity = Severity.CRITICAL if point is SamplingPoint.PLANT_OUTLET else Severity.MAJOR
        site = sensor.site_id or sensor.id
        group = f"dma:{site.removeprefix('dma-')}" if kind is SiteKind.DMA_INLET \
            else f"plant:{site.removeprefix('plant-')}"
        return [_QualityWatch(sensor, LimitMonitor(limit), severity, group, point)
                for limit in limits if limit.quantity == name]

    def _quality_signal(self, watch: _QualityWatch, change: LimitAlarm, time: datetime,
                        value: float) -> AlarmSignal:
        limit, sensor = change.limit, watch.sensor
        place = sensor.name or sensor.id
        zh = QUANTITY_ZH.get(limit.quantity, limit.quantity)
        if change.cleared_s is None:
            message = (f"{limit.quantity.replace('_', ' ')} at {place} is {value:.2f} "
                       f"{limit.unit}, beyond the GB 5749-2022 limit {limit.name}; "
                       f"the water-quality team is checking")
            message_zh = (f"{place}{zh}{value:.2f} {limit.unit}，超出GB 5749-2022限值"
                          f"（{limit.name}），水质人员正在核查")
        else:
            message = message_zh = ""
        evidence = (Evidence(sensor.id, limit.quantity, value, limit.unit, time, limit.clause),)
        return AlarmSignal(
            "water_quality_limit", sensor.id, limit.name, change.cleared_s is None, time,
            watch.severity, watch.group_key, value, limit.unit, message, message_zh,
            None, evidence, worse_when_lower=limit.side is Side.LOWER,
        )

    def _leak_step(self, time: datetime) -> LeakAlarm | None:
        assert self.leak_monitor is not None
        monitor, flow_ids = self.leak_monitor
        pressures = np.array([self._latest.get(s, math.nan)
                              for s in monitor.reference.sensor_ids])
        flows = np.array([self._latest.get(s, math.nan) for s in flow_ids])
        return monitor.update(pd.Timestamp(time), pressures, flows)


def _site_kind(layout: UtilityLayout, site_id: str | None) -> SiteKind | None:
    for site in layout.sites:
        if site.id == site_id:
            return site.kind
    return None


def _room_signal(event: PumpRoomEvent, min_pressure_m: float,
                 dma_id: str | None) -> AlarmSignal:
    # a room whose city feed is low suffers the network's fault: it joins the incident of
    # its DMA (a burst there, say), not one of its own
    group = f"pump_room:{event.room_id}"
    if event.diagnosis is Diagnosis.UPSTREAM_LOW and dma_id is not None:
        group = f"dma:{dma_id}"
    return AlarmSignal(
        "pump_room_low_pressure", event.room_id, f"pressure>={min_pressure_m:.1f}",
        event.active, event.time, Severity.MAJOR, group,
        event.pressure_m, "m", event.message if event.active else "",
        event.message_zh if event.active else "", event.diagnosis.value, event.evidence,
    )


def _burst_signal(dma_id: str, time: datetime, extra_m3s: float,
                  low: pd.DataFrame) -> AlarmSignal:
    evidence = tuple(
        Evidence(str(sensor_id), "pressure", float(row["measured"]), "m", time,
                 f"{row['innovation']:.1f} m below the twin (z {row['z']:.1f})")
        for sensor_id, row in low.iterrows()
    )
    litres = extra_m3s * 1000.0
    return AlarmSignal(
        "burst", dma_id, "inflow_and_pressure_vs_twin", True, time, Severity.MAJOR,
        f"dma:{dma_id}", extra_m3s, "m3/s",
        f"Suspected burst in {dma_id}: {litres:.0f} L/s more inflow than expected and "
        f"pressure falling; a crew is being sent to find it",
        f"{dma_id}片区疑似爆管：进水量比预计多{litres:.0f}升/秒，压力下降，正在派人查找",
        "pipe_burst", evidence, worse_when_lower=False,
    )


def _twin_signal(time: datetime, state: TwinState, limit: int, active: bool) -> AlarmSignal:
    n = state.unconverged_updates
    # why it did not first
    kinds = ", ".join(sorted(state.warning_kinds, key=lambda k: k not in NOT_CONVERGED)
                      ) or "no warning"
    message = message_zh = ""
    if active:
        message = (f"The digital twin's hydraulics have not converged for {n} updates "
                   f"({kinds}): its pressures, flows and burst detection cannot be trusted; "
                   "an engineer is checking what feeds it")
        message_zh = (f"数字孪生水力计算已连续{n}次未收敛（{kinds}），其压力、流量和爆管检测"
                      "不可信，工程师正在检查输入数据")
    return AlarmSignal(
        "twin_not_converged", "twin", f"converged within {limit} updates", active, time,
        Severity.MINOR, "twin", float(n), "1", message, message_zh, None, (),
        worse_when_lower=False,
    )


def _leak_signal(leak: LeakAlarm) -> AlarmSignal:
    time = leak.detected_at.to_pydatetime().astimezone(UTC)
    return AlarmSignal(
        "leak", leak.pipe_id, "pressure_residual_signature", True, time, Severity.MINOR,
        f"pipe:{leak.pipe_id}", leak.score, "1",
        f"Leak suspected near pipe {leak.pipe_id}; a leak-detection survey is planned",
        f"管道{leak.pipe_id}附近疑似漏水，已安排检漏", "leak", (), worse_when_lower=False,
    )


def stored_readings(telemetry: TelemetryStore, sensor_ids: Iterable[str],
                    since: datetime | None, until: datetime) -> pd.DataFrame:
    """Stored readings of ``sensor_ids`` in [since, until) as a time x sensor table [SI].

    Readings the telemetry quality check flagged out of range, flat line or spike are left
    out (NaN): a faulty instrument must not raise or clear an alarm (a reading after a gap
    is kept). Sensors the store does
    not know yet are skipped.
    """
    known = {s.id for s in telemetry.sensors()}
    columns: dict[str, pd.Series] = {}
    for sensor_id in sensor_ids:
        if sensor_id not in known:
            continue
        rows = telemetry.readings(sensor_id, since, until)
        good = (rows["flags"].to_numpy() & DISTRUSTED) == 0
        columns[sensor_id] = pd.Series(rows["value"].to_numpy()[good],
                                       index=pd.DatetimeIndex(rows["time"])[good])
    if not columns:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    return pd.DataFrame(columns).sort_index()


class TwinFollower:
    """The digital twin following stored readings, its innovations handed to the feed.

    As the live demo does: every ``every_s`` of utility time the twin is updated with the
    latest value of every sensor, and :meth:`AlarmFeed.observe_twin` looks for bursts. Utility
    time is counted from the local midnight of the first update's day (the network's
    patterns start at 00:00 local time).

    Parameters
    ----------
    twin : an open twin of the feed's utility (closed by the caller)
    every_s : twin update interval [s]
    timezone : the utility's clock
    """

    def __init__(self, twin: Twin, every_s: int = 900, timezone: str = "Asia/Shanghai") -> None:
        self.twin = twin
        self.every_s = every_s
        self.zone = ZoneInfo(timezone)
        self.epoch: datetime | None = None
        self.latest: dict[str, float] = {}

    def follow(self, feed: AlarmFeed, table: pd.DataFrame) -> list[Alarm]:
        """Take a table of readings (UTC time x sensor id) in time order; returns alarms."""
        touched: list[Alarm] = []
        columns = [str(c) for c in table.columns]
        for time, row in zip(table.index, table.to_numpy(dtype=float), strict=True):
            when = pd.Timestamp(time).to_pydatetime()
            self.latest.update({c: v for c, v in zip(columns, row.tolist(), strict=True)
                                if v == v})
            if self.epoch is None:
                local = when.astimezone(self.zone)
                self.epoch = local.replace(hour=0, minute=0, second=0, microsecond=0)
            t_s = (when - self.epoch).total_seconds()
            if t_s % self.every_s == 0:
                touched += feed.observe_twin(when, self.twin.update(t_s, self.latest))
        return touched


def catch_up(feed: AlarmFeed, telemetry: TelemetryStore, alarms: AlarmStore,
             until: datetime | None = None,
             follower: TwinFollower | None = None) -> tuple[int, list[Alarm]]:
    """Run the feed over the readings stored since its watermark (an alarm worker beside the
    ingest); returns (instants observed, alarms touched).

    The watermark (``store_state``) moves to ``until`` (default: just after the newest
    reading of the feed's sensors), so the next call takes only newer readings. Readings that
    arrive later with older times are not seen: run it a few intervals behind live ingest.
    With a ``follower``, the twin follows every sensor of the utility too (bursts).
    """
    since = alarms.feed_mark()
    if until is None:
        latest = telemetry.latest(list(feed.sensor_ids))
        if latest.empty:
            return 0, []
        until = latest["time"].max().to_pydatetime() + timedelta(microseconds=1)
    if since is not None and until <= since:
        return 0, []
    table = stored_readings(telemetry, feed.sensor_ids, since, until)
    touched = feed.observe_table(table)
    if follower is not None and feed.layout is not None:
        everything = stored_readings(telemetry, [s.id for s in feed.layout.sensors], since,
                                     until)
        touched += follower.follow(feed, everything)
    alarms.set_feed_mark(until)
    return len(table), touched
