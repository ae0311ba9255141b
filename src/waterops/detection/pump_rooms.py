"""Low pressure in secondary-supply pump rooms (二次供水泵房), with an automatic diagnosis (pure).

A high-rise community is fed by a pump room: city water fills a building tank through the
feed, and a booster set lifts it to the flats. When the building's pressure falls below its
minimum, a service agent must tell the caller *why* within minutes. The detector watches the
building-side pressure and, when it is low, explains it from the room's own data:

- **booster fault** (增压泵故障): no pump running (status 0, speed 0) or the pumps deliver
  nothing (flow ≈ 0) while the tank holds water;
- **building tank empty** (水箱缺水): the tank level is below its low mark although the city
  feed pressure is normal (a stuck float valve, a closed feed, demand above refill);
- **upstream network low** (市政管网压力低): the city pressure at the feed is low, and the
  network loggers nearby are low too, so the network is at fault, not the building (a tank
  that emptied because the city could not refill it is this case too);
- **local** (楼内局部): pumps running, tank and feed normal: the fault is in the building
  (riser valve, pressure-reducing valve, a burst inside).

The minimum is **0.14 MPa ≈ 14.3 m**, the figure Chinese utilities hold the end of the
network to. Source, as far as it could be checked here: the industry standard 城镇供水服务
(CJ/T 316-2009, in force 2010-06-01), §6.2: "供水水压应符合 CJJ 58-2007 第 3.1.3 条要求，供水
管网末梢压力不应低于 14 米 (0.14 MPa)，管网压力合格率不应低于 97 %" (quoted by secondary
sources; a service-standard text on jianbiaoku.com words it "城镇公共供水管网末梢压力不得低于
0.14 MPa … 合格率不得低于 97 %", citing the same CJJ 58 clause). The primary texts of CJ/T 316
and CJJ 58 were not at hand, so the figure stays *verify* and is a setting
(:class:`PumpRoomSettings`). GB 50013-2018 §3.0.10 gives the design counterpart (service head
10 m for one storey, 12 m for two, 4 m more per further storey). Applied here at the
building side of a pump room, it is the utility's own service promise, not a design rule.

The low-pressure state uses :class:`~waterops.detection.thresholds.LimitMonitor`
(hysteresis and minimum duration), so a pump changeover of a few seconds raises nothing.
:class:`PumpRoomMonitor` works online (readings as they come); :func:`pump_room_events`
runs a table through a fresh monitor, so batch and online agree by construction.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from waterops.detection.thresholds import Limit, LimitMonitor, Side
from waterops.model.alarms import Evidence
from waterops.model.telemetry import Quantity, Sensor
from waterops.model.utility import UtilityLayout
from waterops.units import to_si

MIN_SERVICE_PRESSURE_M = to_si(0.14, "MPa")
"""Minimum pressure at the customer's connection, 0.14 MPa as head of water [m] (≈ 14.28)."""
PRESSURE_CLAUSE = "0.14 MPa 管网末梢压力 (CJ/T 316-2009 §6.2 citing CJJ 58-2007 §3.1.3; verify)"


class Diagnosis(enum.StrEnum):
    """Why a pump room's building pressure is low."""

    BOOSTER_FAULT = "booster_fault"
    TANK_EMPTY = "building_tank_empty"
    UPSTREAM_LOW = "upstream_network_low"
    LOCAL = "local_fault"


@dataclass(frozen=True, slots=True)
class PumpRoomSensors:
    """The sensors of one pump room (ids as in the telemetry store).

    Attributes
    ----------
    room_id : the pump room (``"PR03"``)
    building_pressure : pressure on the building side (high zone / critical tap) [m]
    inlet_pressure : city pressure at the feed [m], if measured
    tank_level : building tank level [m], if measured
    pump_status : booster status sensors (1 running, 0 stopped)
    pump_flow : booster flow meters [m³/s]
    pump_speed : booster speeds relative to nominal [-] (variable-speed drives)
    neighbour_pressures : network pressure loggers near the feed [m] (same DMA), used to
        tell a low network from a fault on the room's own connection
    """

    room_id: str
    building_pressure: str
    inlet_pressure: str | None = None
    tank_level: str | None = None
    pump_status: tuple[str, ...] = ()
    pump_flow: tuple[str, ...] = ()
    neighbour_pressures: tuple[str, ...] = ()
    pump_speed: tuple[str, ...] = ()

    @property
    def all_sensors(self) -> tuple[str, ...]:
        """Every sensor the monitor reads."""
        optional = tuple(s for s in (self.inlet_pressure, self.tank_level) if s)
        return (self.building_pressure, *optional, *self.pump_status, *self.pump_flow,
                *self.pump_speed, *self.neighbour_pressures)


@dataclass(frozen=True, slots=True)
class PumpRoomSettings:
    """Tuning of the pump-room detector.

    Attributes
    ----------
    min_pressure_m : minimum building pressure [m] (0.14 MPa)
    deadband_m : the alarm clears once the pressure is this much above the minimum [m]
    min_duration_s : low for this long before an alarm [s] (rides through a pump changeover)
    tank_low_m : tank level below which the tank counts as empty [m] (near the booster's
        dry-run cut-out)
    inlet_low_m : city feed pressure below which the network counts as low [m]
    pumping_flow_m3s : booster flow below which a pump delivers nothing [m³/s] (0.5 L/s:
        well above a magnetic flow meter's zero noise, well below a booster's duty flow)
    running_speed : relative speed below which a variable-speed pump counts as stopped [-]
    timezone : the utility's clock, for the sentences read to customers
    """

    min_pressure_m: float = MIN_SERVICE_PRESSURE_M
    deadband_m: float = 1.0
    min_duration_s: float = 300.0
    tank_low_m: float = 0.5
    inlet_low_m: float = MIN_SERVICE_PRESSURE_M
    pumping_flow_m3s: float = 5e-4
    running_speed: float = 0.05
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class PumpRoomEvent:
    """A pump room's low-pressure alarm raised, re-diagnosed, or cleared.

    Attributes
    ----------
    room_id : the pump room
    active : True when raised or re-diagnosed, False when the pressure is back
    time : time of the reading that produced the event (UTC)
    started_at : first low reading of this excursion (UTC)
    pressure_m : building pressure at ``time`` [m]
    diagnosis : why (for a cleared event, the last diagnosis)
    evidence : the readings the diagnosis rests on
    message, message_zh : a sentence a service agent can read to a customer
    """

    room_id: str
    active: bool
    time: datetime
    started_at: datetime
    pressure_m: float
    diagnosis: Diagnosis
    evidence: tuple[Evidence, ...]
    message: str
    message_zh: str


def room_number(room_id: str) -> str:
    """The number people use for a room (``"PR03"`` -> ``"3"``), else the id itself."""
    digits = re.findall(r"\d+", room_id)
    return str(int(digits[-1])) if digits else room_id


def customer_messages(room_id: str, diagnosis: Diagnosis, since: datetime,
                      timezone: str = "Asia/Shanghai") -> tuple[str, str]:
    """(English, zh-CN) sentences for a service agent, with the local clock time ``since``."""
    n = room_number(room_id)
    hhmm = since.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    if diagnosis is Diagnosis.BOOSTER_FAULT:
        return (f"Booster of pump room {n} stopped at {hhmm}; repair under way",
                f"{n}号泵房增压泵{hhmm}停机，抢修中")
    if diagnosis is Diagnosis.TANK_EMPTY:
        return (f"The water tank of pump room {n} ran low at {hhmm}; its inflow is being "
                f"checked, pressure stays low until it refills",
                f"{n}号泵房水箱{hhmm}水位过低，正在检查进水，水箱补满前水压偏低")
    if diagnosis is Diagnosis.UPSTREAM_LOW:
        return (f"City mains pressure feeding pump room {n} has been low since {hhmm}; "
                f"network dispatch is on it",
                f"{n}号泵房进水市政管网压力{hhmm}起偏低，供水调度正在处理")
    return (f"Pressure in the building served by pump room {n} has been low since {hhmm}; "
            f"pumps, tank and city feed are normal, a technician is on the way",
            f"{n}号泵房供水楼栋{hhmm}起水压偏低，泵组、水箱和市政进水正常，已派人现场检查")


class PumpRoomMonitor:
    """Online low-pressure detection and diagnosis of one pump room.

    Parameters
    ----------
    sensors : the room's sensors
    settings : thresholds and clock
    """

    def __init__(self, sensors: PumpRoomSensors,
                 settings: PumpRoomSettings | None = None) -> None:
        self.sensors = sensors
        self.settings = settings or PumpRoomSettings()
        s = self.settings
        self._limit = LimitMonitor(Limit("pressure", s.min_pressure_m, Side.LOWER, "m",
                                         s.deadband_m, s.min_duration_s, PRESSURE_CLAUSE))
        self._latest: dict[str, tuple[datetime, float]] = {}
        self._pumping: bool | None = None
        self._stopped_at: datetime | None = None
        self._change_since: datetime | None = None  # first reading of an unconfirmed change
        self._diagnosis: Diagnosis | None = None
        self._started_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the room's low-pressure alarm is raised."""
        return self._limit.active

    def step(self, time: datetime, readings: Mapping[str, float]) -> PumpRoomEvent | None:
        """Take the readings of one instant (sensor id -> value; others are ignored).

        Parameters
        ----------
        time : time of the readings (timezone-aware); must not go backwards
        readings : latest values [SI units]; NaN or missing = no reading

        Returns
        -------
        An event when the alarm is raised, its diagnosis changes, or it clears; else None.
        """
        for sensor_id in self.sensors.all_sensors:
            value = readings.get(sensor_id)
            if value is not None and not math.isnan(value):
                self._latest[sensor_id] = (time, float(value))
        self._track_pumps(time)
        pressure = readings.get(self.sensors.building_pressure, math.nan)
        change = self._limit.step(time.timestamp(), math.nan if pressure is None else pressure)
        if change is not None and change.cleared_s is None:  # raised now
            self._started_at = datetime.fromtimestamp(change.started_s, UTC)
            diagnosis, evidence = self.diagnose(time)
            self._diagnosis = diagnosis
            return self._event(True, time, float(pressure), diagnosis, evidence)
        if change is not None:  # cleared now
            last = self._diagnosis or Diagnosis.LOCAL
            self._diagnosis = None
            return self._event(False, time, float(pressure), last, ())
        if self._limit.active:
            diagnosis, evidence = self.diagnose(time)
            if diagnosis is not self._diagnosis:
                self._diagnosis = diagnosis
                return self._event(True, time, self._value(self.sensors.building_pressure),
                                   diagnosis, evidence)
        return None

    def diagnose(self, time: datetime) -> tuple[Diagnosis, tuple[Evidence, ...]]:
        """Why the pressure is low, from the latest readings, with the evidence."""
        s, room = self.settings, self.sensors
        tank = self._value(room.tank_level)
        network_low, network_evidence = self._network_low()
        if not math.isnan(tank) and tank < s.tank_low_m:
            tank_ev = self._evidence(room.tank_level, "level", "m",
                                     f"below the low mark {s.tank_low_m:g} m")
            if network_low:
                return Diagnosis.UPSTREAM_LOW, (*network_evidence, *tank_ev)
            inlet_ev = self._evidence(room.inlet_pressure, "pressure", "m", "city feed normal")
            return Diagnosis.TANK_EMPTY, (*tank_ev, *inlet_ev)
        if self._pumping is False:
            return Diagnosis.BOOSTER_FAULT, self._pump_evidence()
        if network_low:
            return Diagnosis.UPSTREAM_LOW, network_evidence
        evidence = (*self._evidence(room.building_pressure, "pressure", "m",
                                    f"below {s.min_pressure_m:.1f} m"),
                    *self._pump_evidence(), *self._evidence(room.tank_level, "level", "m"),
                    *self._evidence(room.inlet_pressure, "pressure", "m"))
        return Diagnosis.LOCAL, evidence

    # -- helpers -------------------------------------------------------------------------------

    def _value(self, sensor_id: str | None) -> float:
        if sensor_id is None or sensor_id not in self._latest:
            return math.nan
        return self._latest[sensor_id][1]

    def _evidence(self, sensor_id: str | None, quantity: str, unit: str,
                  note: str = "") -> tuple[Evidence, ...]:
        if sensor_id is None or sensor_id not in self._latest:
            return ()
        at, value = self._latest[sensor_id]
        return (Evidence(sensor_id, quantity, value, unit, at.astimezone(UTC), note),)

    def _track_pumps(self, time: datetime) -> None:
        room = self.sensors
        statuses = [self._value(p) for p in room.pump_status]
        flows = [self._value(p) for p in room.pump_flow]
        speeds = [self._value(p) for p in room.pump_speed]
        known_status = [v for v in statuses if not math.isnan(v)]
        known_flow = [v for v in flows if not math.isnan(v)]
        known_speed = [v for v in speeds if not math.isnan(v)]
        if not known_status and not known_flow and not known_speed:
            return
        running = any(v >= 0.5 for v in known_status) if known_status else True
        if known_speed:
            running = running and any(v >= self.settings.running_speed for v in known_speed)
        delivering = any(v > self.settings.pumping_flow_m3s for v in known_flow) \
            if known_flow else True
        pumping = running and delivering
        if pumping == self._pumping:
            self._change_since = None
            return
        # a change counts once two readings in a row show it (one noisy flow reading is not
        # a pump starting); the stop time is that of the first of them
        if self._change_since is None:
            self._change_since = time
            if self._pumping is not None:
                return
        if not pumping:
            self._stopped_at = self._change_since
        self._pumping = pumping
        self._change_since = None

    def _pump_evidence(self) -> tuple[Evidence, ...]:
        room = self.sensors
        out: list[Evidence] = []
        for sensor_id in room.pump_status:
            out += self._evidence(sensor_id, "pump_status", "1",
                                  "stopped" if self._value(sensor_id) < 0.5 else "running")
        for sensor_id in room.pump_flow:
            out += self._evidence(sensor_id, "flow", "m3/s")
        for sensor_id in room.pump_speed:
            out += self._evidence(sensor_id, "pump_speed", "1")
        return tuple(out)

    def _network_low(self) -> tuple[bool, tuple[Evidence, ...]]:
        """City feed low, confirmed by the nearby network loggers when there are any."""
        room, s = self.sensors, self.settings
        inlet = self._value(room.inlet_pressure)
        if math.isnan(inlet) or inlet >= s.inlet_low_m:
            return False, ()
        evidence = list(self._evidence(room.inlet_pressure, "pressure", "m",
                                       f"city feed below {s.inlet_low_m:.1f} m"))
        neighbours = [(n, self._value(n)) for n in room.neighbour_pressures]
        known = [(n, v) for n, v in neighbours if not math.isnan(v)]
        low = [n for n, v in known if v < s.inlet_low_m]
        for n in low:
            evidence += self._evidence(n, "pressure", "m", "network logger low too")
        # the room's own connection (service pipe, feed valve) if the network around is fine
        confirmed = not known or 2 * len(low) >= len(known)
        return confirmed, tuple(evidence)

    def _event(self, active: bool, time: datetime, pressure_m: float, diagnosis: Diagnosis,
               evidence: tuple[Evidence, ...]) -> PumpRoomEvent:
        started = self._started_at or time
        since = started
        if diagnosis is Diagnosis.BOOSTER_FAULT and self._stopped_at is not None:
            since = self._stopped_at
        message, message_zh = customer_messages(self.sensors.room_id, diagnosis, since,
                                                self.settings.timezone)
        return PumpRoomEvent(self.sensors.room_id, active, time.astimezone(UTC),
                             started.astimezone(UTC), pressure_m, diagnosis, evidence,
                             message, message_zh)


def pump_room_events(readings: pd.DataFrame, sensors: PumpRoomSensors,
                     settings: PumpRoomSettings | None = None) -> list[PumpRoomEvent]:
    """Run a table of readings through a fresh :class:`PumpRoomMonitor` (batch form).

    Parameters
    ----------
    readings : time-indexed (timezone-aware), one column per sensor id [SI units]; NaN = gap
    sensors, settings : as for the monitor
    """
    monitor = PumpRoomMonitor(sensors, settings)
    events = []
    columns = [str(c) for c in readings.columns if c in set(sensors.all_sensors)]
    values = readings[columns].to_numpy(dtype=float)
    for time, row in zip(readings.index, values, strict=True):
        event = monitor.step(pd.Timestamp(time).to_pydatetime(),
                             dict(zip(columns, row.tolist(), strict=True)))
        if event is not None:
            events.append(event)
    return events


def pump_room_sensors(layout: UtilityLayout) -> list[PumpRoomSensors]:
    """The sensors of each pump room of a utility that has a building pressure sensor.

    Building pressure: a pressure sensor on the room's served node; feed: pressure at its city
    node; tank: level of its building tank; boosters: status and flow of its duty and standby
    pumps; neighbours: the pressure loggers of the DMA the feed is in (inlet, critical point).
    """
    def find(quantity: Quantity, element: str) -> Sensor | None:
        return next((s for s in layout.sensors
                     if s.quantity is quantity and s.element_id == element), None)

    def ids(quantity: Quantity, elements: tuple[str, ...]) -> tuple[str, ...]:
        found = (find(quantity, e) for e in elements)
        return tuple(s.id for s in found if s is not None)

    rooms = []
    for room in layout.pump_rooms:
        building = find(Quantity.PRESSURE, room.served_node)
        if building is None:
            continue
        inlet = find(Quantity.PRESSURE, room.city_node)
        tank = find(Quantity.LEVEL, room.building_tank)
        pumps = (*room.duty_pumps, *room.standby_pumps)
        dma = layout.dma_of(room.city_node)
        near = () if dma is None else ids(Quantity.PRESSURE,
                                          (dma.pressure_node, dma.critical_node))
        rooms.append(PumpRoomSensors(
            room.id, building.id, None if inlet is None else inlet.id,
            None if tank is None else tank.id, ids(Quantity.PUMP_STATUS, pumps),
            ids(Quantity.FLOW, pumps),
            tuple(n for n in near if inlet is None or n != inlet.id),
            ids(Quantity.PUMP_SPEED, pumps),
        ))
    return rooms
