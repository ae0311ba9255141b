"""The virtual utility running: EPANET stepped in real time or faster, with noisy sensors.

:class:`VirtualUtility` steps the demo network (a
:class:`~waterops.hydraulics.stepper.NetworkStepper`, never re-run from t = 0) every
``step_s`` of simulated time and produces, at each step, a :class:`SensorFrame`: what every
sensor due at that instant reports. Around the physics:

- **demand**: the network file's diurnal patterns, times a per-DMA multiplier and a per-node
  multiplier, each an AR(1) process (correlation time 3 h and 1 h), seeded;
- **sensor noise** (Gaussian, per quantity: :data:`NOISE`), a slow **drift** of every sensor
  (a random walk of :data:`DRIFT_PER_DAY` per √day), **drop-outs** (single readings lost with
  probability ``dropout_probability``; whole sensors offline for 1-6 h at
  ``outage_rate_per_day``); pressure transducers cannot read below -10 m (vacuum);
- **incidents** (:mod:`waterops.service.incidents`), injected with :meth:`VirtualUtility.inject`
  or at random (``random_incidents_per_day``), recorded as ground truth;
- **publishing** through a :class:`Publisher`: :class:`StorePublisher` (in process, into the
  telemetry store: the default), :class:`MqttPublisher` (batches on ``waterops/{system}/batch``
  at QoS 1, the ingest path of real devices) or :class:`FrameRecorder` (kept in memory, for
  data sets and tests).

Simulated time 0 is the local midnight at ``start`` (the network's patterns begin at 00:00);
reading times are ``start + time_s``, timezone-aware UTC. Everything random comes from one
seeded generator: the same seed and the same requests give the same readings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from waterops.errors import ConfigError, IncidentError
from waterops.hydraulics import Chemical, EpanetEngine, PressureDriven
from waterops.hydraulics.stepper import NetworkStepper
from waterops.io.inp import read_inp
from waterops.model.telemetry import Quantity, Reading, Sensor
from waterops.model.utility import Incident, UtilityLayout
from waterops.service.incidents import (
    ActiveIncident,
    IncidentBook,
    IncidentRequest,
    Models,
    RandomIncidents,
    check_request,
)
from waterops.service.virtual_utility import CONDUCTIVITY_BASE_US_CM
from waterops.store import TelemetryStore
from waterops.telemetry.mqtt_ingest import parse_broker_url
from waterops.telemetry.payloads import batch_topic, format_batch

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_START = datetime(2026, 1, 1, tzinfo=LOCAL_TZ)
"""Local midnight the simulated clock starts at, unless told otherwise."""
TDS_PER_US_CM = 0.65
"""Dissolved solids [mg/L] per uS/cm of conductivity (the usual ratio for fresh water)."""
DMA_NOISE_TAU_S = 3 * 3600.0
NODE_NOISE_TAU_S = 3600.0
"""Correlation times of the AR(1) demand multipliers per area and per node [s]."""
NOISE: dict[Quantity, tuple[float, float]] = {
    # (absolute [SI unit], relative [-]) standard deviations of one reading
    Quantity.PRESSURE: (0.05, 0.0),
    Quantity.FLOW: (1e-4, 0.005),
    Quantity.LEVEL: (0.005, 0.0),
    Quantity.CHLORINE: (0.01, 0.0),
    Quantity.TURBIDITY: (0.005, 0.03),
    Quantity.CONDUCTIVITY: (1.5, 0.0),
    Quantity.PUMP_STATUS: (0.0, 0.0),
}
DRIFT_PER_DAY: dict[Quantity, float] = {
    # standard deviation of a sensor's drift after one day [SI unit]
    Quantity.PRESSURE: 0.01, Quantity.FLOW: 2e-5, Quantity.LEVEL: 0.001,
    Quantity.CHLORINE: 0.002, Quantity.TURBIDITY: 0.001, Quantity.CONDUCTIVITY: 0.3,
}
NON_NEGATIVE = frozenset({Quantity.LEVEL, Quantity.CHLORINE, Quantity.TURBIDITY,
                          Quantity.CONDUCTIVITY})
"""Quantities whose instruments never read below zero."""
PRESSURE_FLOOR_M = -10.0
"""Lowest pressure a gauge reads [m]: a pipe cannot hold a deeper vacuum."""
PDA = PressureDriven(minimum_pressure_m=0.0, required_pressure_m=10.0, exponent=0.5)
"""Customers get less water below 10 m and none at 0 m (realistic outages and failures)."""


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Settings of a virtual utility run.

    Attributes
    ----------
    seed : seed of every random draw
    step_s : simulation step [s] (every sensor reports at multiples of its own interval)
    start : local date whose midnight is simulated time 0
    dma_demand_noise : standard deviation of the per-DMA demand multiplier [-]
    node_demand_noise : standard deviation of the per-node demand multiplier [-]
    dropout_probability : chance that one reading is lost [-]
    outage_rate_per_day : chance per sensor and day of going offline for 1-6 h [1/day]
    random_incidents_per_day : mean number of random incidents per day [1/day]
    initial_chlorine_mg_l : chlorine in the pipes and tanks at time 0 [mg/L] (the network
        file starts them empty, which would take days of warm-up to look like a running
        utility); ``None`` keeps the file's
    tracer : step a second project carrying a contamination tracer
    sensor_noise : add noise and drift (off: readings are the model's values)
    """

    seed: int = 7
    step_s: int = 300
    start: datetime = DEFAULT_START
    dma_demand_noise: float = 0.04
    node_demand_noise: float = 0.05
    dropout_probability: float = 0.002
    outage_rate_per_day: float = 0.02
    random_incidents_per_day: float = 0.0
    initial_chlorine_mg_l: float | None = 0.6
    tracer: bool = True
    sensor_noise: bool = True

    def __post_init__(self) -> None:
        if self.step_s <= 0 or 3600 % self.step_s:
            raise ConfigError(f"simulator step must divide one hour, not {self.step_s} s")
        if self.start.tzinfo is None:
            raise ConfigError("simulator start must be timezone-aware")

    @property
    def epoch(self) -> datetime:
        """Simulated time 0: local midnight of ``start``, in UTC."""
        local = self.start.astimezone(LOCAL_TZ)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SensorFrame:
    """What the sensors due at one instant report.

    ``values`` holds NaN for a reading that was lost; ``truth`` the model's value at the
    sensor before noise, drift and faults (ground truth for detection tests).
    """

    time: datetime
    time_s: int
    sensor_ids: tuple[str, ...]
    values: npt.NDArray[np.float64]
    truth: npt.NDArray[np.float64]

    def readings(self) -> list[Reading]:
        """The readings that arrived (lost ones left out)."""
        return [Reading(s, self.time, float(v))
                for s, v in zip(self.sensor_ids, self.values.tolist(), strict=True)
                if v == v]


@dataclass(frozen=True, slots=True)
class UtilityStatus:
    """Key figures of the running utility, for a console or a dashboard."""

    time: datetime
    time_s: int
    delivered_m3: float
    demand_m3s: float
    lowest_pressure_m: float
    lowest_pressure_node: str
    clearwell_level_m: float
    source_flows_m3s: dict[str, float]
    tank_fill: float
    open_incidents: list[Incident]
    readings_sent: int


class Publisher(Protocol):
    """Where readings go (the telemetry ingest paths)."""

    def prepare(self, layout: UtilityLayout) -> None:
        """Register systems, sites and sensors before the first frame."""

    def publish(self, frame: SensorFrame) -> None:
        """Send one frame's readings."""

    def close(self) -> None:
        """Flush and release."""


class StorePublisher:
    """In process: readings straight into the telemetry store (SQLite or PostgreSQL)."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store

    def prepare(self, layout: UtilityLayout) -> None:
        self.store.upsert_systems(layout.systems)
        self.store.upsert_sites(layout.sites)
        self.store.upsert_sensors(layout.sensors)

    def publish(self, frame: SensorFrame) -> None:
        arrived = ~np.isnan(frame.values)
        if arrived.any():
            ids = np.asarray(frame.sensor_ids, dtype=object)[arrived]
            times = np.full(int(arrived.sum()), np.datetime64(frame.time.replace(tzinfo=None),
                                                               "us"))
            self.store.write_reading_arrays(ids, times, frame.values[arrived])

    def close(self) -> None:
        """Nothing buffered: every frame is committed when published."""


class MqttPublisher:
    """Through the broker: one batch per water system and frame on ``waterops/{system}/batch``
    at QoS 1 (no retain), as gateways of real devices publish (``docs/telemetry.md``).

    Sensors must be registered in the store the ingest writes to: :meth:`prepare` does it
    when given that store.
    """

    def __init__(self, broker_url: str, *, store: TelemetryStore | None = None,
                 client_id: str = "waterops-virtual-utility") -> None:
        address = parse_broker_url(broker_url)
        self.store = store
        self._systems: dict[str, str] = {}
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                   client_id=client_id)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set()
        try:
            self._client.connect(address.host, address.port)
        except OSError as exc:
            raise ConfigError(f"cannot reach the MQTT broker {broker_url}: {exc}") from None
        self._client.loop_start()

    def prepare(self, layout: UtilityLayout) -> None:
        self._systems = {s.id: s.system_id for s in layout.sensors}
        if self.store is not None:
            StorePublisher(self.store).prepare(layout)

    def publish(self, frame: SensorFrame) -> None:
        by_system: dict[str, list[Reading]] = {}
        for reading in frame.readings():
            by_system.setdefault(self._systems[reading.sensor_id], []).append(reading)
        for system_id, readings in sorted(by_system.items()):
            info = self._client.publish(batch_topic(system_id), format_batch(readings), qos=1)
            info.wait_for_publish(timeout=10.0)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@dataclass
class FrameRecorder:
    """Keeps every frame (for data sets and tests)."""

    frames: list[SensorFrame] = field(default_factory=list)

    def prepare(self, layout: UtilityLayout) -> None:
        """Nothing to register."""

    def publish(self, frame: SensorFrame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        """Nothing to release."""


class _Gather:
    """Where each sensor's true value comes from: (model array, position) per sensor."""

    def __init__(self, sensors: Sequence[Sensor], engine: EpanetEngine,
                 turbidity_slots: dict[str, int]) -> None:
        self.groups: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}
        rows: dict[str, list[tuple[int, int]]] = {}
        for row, s in enumerate(sensors):
            element = s.element_id or ""
            q = s.quantity
            if q is Quantity.FLOW and s.element_kind == "node":
                key, pos = "demand", engine.node_index(element) - 1
            elif q is Quantity.FLOW:
                key, pos = "flow", engine.link_index(element) - 1
            elif q is Quantity.PUMP_STATUS:
                key, pos = "status", engine.link_index(element) - 1
            elif q in (Quantity.PRESSURE, Quantity.LEVEL):
                key, pos = "pressure", engine.node_index(element) - 1  # a tank's is its level
            elif q is Quantity.CHLORINE:
                key, pos = "chlorine", engine.node_index(element) - 1
            elif q is Quantity.CONDUCTIVITY:
                key, pos = "tracer", engine.node_index(element) - 1
            elif q is Quantity.TURBIDITY and element in turbidity_slots:
                key, pos = "turbidity", turbidity_slots[element]
            else:
                raise ConfigError(f"the simulator cannot produce {q.value} for sensor {s.id}")
            rows.setdefault(key, []).append((row, pos))
        for key, pairs in rows.items():
            arr = np.array(pairs, dtype=np.intp)
            self.groups[key] = (arr[:, 0], arr[:, 1])


class VirtualUtility:
    """The demo utility running on EPANET: step it, inject incidents, read its sensors.

    Parameters
    ----------
    layout : the utility (see :func:`waterops.service.virtual_utility.build_demo_utility`)
    config : seeds, noise, step, start, random incidents
    publishers : where each frame goes (none: frames are only returned by :meth:`step`)
    """

    def __init__(self, layout: UtilityLayout, config: SimulatorConfig | None = None,
                 publishers: Sequence[Publisher] = ()) -> None:
        self.layout = layout
        self.config = config or SimulatorConfig()
        self.publishers = list(publishers)
        self.rng = np.random.default_rng(self.config.seed)
        self.net = read_inp(layout.network_file)
        self.book = IncidentBook()
        self._active: dict[str, ActiveIncident] = {}
        self._pending: list[IncidentRequest] = []
        self._engines: list[EpanetEngine] = []
        self._steppers: list[NetworkStepper] = []  # closed before their engines
        self._closed = False
        try:
            self._open_models()
            self._prepare_demands()
            self._prepare_sensors()
        except BaseException:
            self.close()
            raise
        self.random = RandomIncidents(layout, self.net, self.config.random_incidents_per_day,
                                      np.random.default_rng(self.config.seed + 1))
        self.delivered_m3 = 0.0
        self.readings_sent = 0
        for publisher in self.publishers:
            publisher.prepare(layout)

    # ---------------------------------------------------------------- set-up
    def _open_models(self) -> None:
        step = self.config.step_s
        main_engine = EpanetEngine.open(self.layout.network_file)
        self._engines.append(main_engine)
        self.engine = main_engine
        main = NetworkStepper(main_engine, step_s=step, quality="file", pressure_driven=PDA,
                              initial_quality=self.config.initial_chlorine_mg_l)
        self._steppers.append(main)
        tracer = None
        if self.config.tracer:
            tracer_engine = EpanetEngine.open(self.layout.network_file)
            self._engines.append(tracer_engine)
            tracer = NetworkStepper(tracer_engine, step_s=step, pressure_driven=PDA,
                                    quality=Chemical("tracer", 0.0, 0.0))
            self._steppers.append(tracer)
            tracer.set_source_quality(self.layout.plant.clearwell, 0.0, source_type="setpoint")
        self.models = Models(main, tracer)

    def _prepare_demands(self) -> None:
        main = self.models.main
        junction_ids = list(self.net.junctions.index)
        positions = main.node_indices(junction_ids)
        base = main.base_demands_m3s(positions)
        served = base > 0
        self._demand_pos = positions[served]  # customers' nodes: their demand is delivered water
        self._base_m3s = base[served]
        served_ids = [j for j, keep in zip(junction_ids, served.tolist(), strict=True) if keep]
        dma_no = {j: k for k, dma in enumerate(self.layout.dmas) for j in dma.junctions}
        # nodes outside every DMA (township, pump-room high zones) share one more multiplier
        self._dma_of_node = np.array([dma_no.get(j, len(self.layout.dmas)) for j in served_ids])
        self._dma_mult = np.zeros(len(self.layout.dmas) + 1)
        self._node_mult = np.zeros(len(served_ids))

    def _prepare_sensors(self) -> None:
        sensors = list(self.layout.sensors)
        self.sensors = sensors
        self.sensor_ids = np.array([s.id for s in sensors], dtype=object)
        self._row_of = {s.id: i for i, s in enumerate(sensors)}
        # turbidity is not a model quantity: a slow random process per place (plant outlet,
        # main source, backup source), see _turbidity_values
        slots = {self.layout.plant.clearwell: 0}
        slots.update({s.node: 2 if s.backup else 1 for s in self.layout.sources})
        self._gather = _Gather(sensors, self.engine, slots)
        self._interval_s = np.array([int(s.interval_s or self.config.step_s) for s in sensors])
        noise = [NOISE.get(s.quantity, (0.0, 0.0)) for s in sensors]
        self._noise_abs = np.array([n[0] for n in noise])
        self._noise_rel = np.array([n[1] for n in noise])
        self._drift_sd = np.array([DRIFT_PER_DAY.get(s.quantity, 0.0) for s in sensors])
        self._drift = np.zeros(len(sensors))
        self._offline_until = np.full(len(sensors), -1)
        self._is_pressure = np.array([s.quantity is Quantity.PRESSURE for s in sensors])
        self._non_negative = np.array([s.quantity in NON_NEGATIVE for s in sensors])
        self._turbidity = np.array([0.0, 0.0, 0.0])  # AR parts: plant outlet, reservoir, river

    # ---------------------------------------------------------------- time
    @property
    def time_s(self) -> int:
        """Simulated time reached [s] (-1 before the first step)."""
        t = self.models.main.time_s
        return -1 if t is None else t

    @property
    def epoch(self) -> datetime:
        """UTC time of simulated time 0."""
        return self.config.epoch

    def clock(self, time_s: int) -> datetime:
        """UTC time of simulated time ``time_s``."""
        return self.epoch + timedelta(seconds=time_s)

    # ---------------------------------------------------------------- incidents
    def inject(self, request: IncidentRequest) -> Incident:
        """Start an incident at the next step; returns its ground-truth record.

        Raises
        ------
        IncidentError
            when the element does not fit the incident's type, or has an incident already.
        """
        check_request(request, self.layout, self.net)
        busy = [a.incident.id for a in self._active.values()
                if a.incident.element == request.element]
        if busy:
            # two changes of one element would undo each other (a burst on a leaking node)
            raise IncidentError(f"{request.type.value} at {request.element!r}: incident "
                                f"{busy[0]} is under way there; end it first")
        start_s = self.time_s + self.config.step_s if self.time_s >= 0 else 0
        incident = self.book.open(request, start_s)
        self._active[incident.id] = ActiveIncident(incident, self.layout, self.net)
        return incident

    def end_incident(self, incident_id: str) -> Incident:
        """End an incident at the next step (a repair)."""
        if incident_id not in self._active:
            raise IncidentError(f"no incident {incident_id!r} under way")
        end_s = max(self.time_s + self.config.step_s, self._active[incident_id].incident.start_s)
        record = self.book.close(incident_id, end_s)
        self._active[incident_id].incident = record
        return record

    @property
    def open_incidents(self) -> list[Incident]:
        """Incidents under way now."""
        return [a.incident for a in self._active.values() if a.incident.active_at(self.time_s)]

    def _apply_incidents(self, time_s: int) -> None:
        """Start, continue and end incidents for the solve at ``time_s``."""
        for request in self.random.draw(self.config.step_s) if time_s > 0 else []:
            try:
                self.inject(request)
            except IncidentError:  # a random pick that does not fit: skip it
                continue
        for key, active in list(self._active.items()):
            inc = active.incident
            if not active.started and inc.start_s <= time_s:
                active.start(self.models)
            if inc.end_s is not None and inc.end_s <= time_s:
                if active.started:
                    active.end(self.models)
                del self._active[key]
                continue
            if active.started:
                active.step(self.models, time_s)

    # ---------------------------------------------------------------- stepping
    def _update_demands(self) -> None:
        cfg, rng = self.config, self.rng
        for mult, sd, tau_s in ((self._dma_mult, cfg.dma_demand_noise, DMA_NOISE_TAU_S),
                                (self._node_mult, cfg.node_demand_noise, NODE_NOISE_TAU_S)):
            phi = float(np.exp(-cfg.step_s / tau_s))
            mult *= phi
            mult += sd * np.sqrt(1 - phi**2) * rng.standard_normal(len(mult))
        factor = np.clip((1 + self._dma_mult[self._dma_of_node]) * (1 + self._node_mult), 0, None)
        demand = self._base_m3s * factor
        for model in self.models.hydraulic:
            model.set_base_demands(self._demand_pos, demand)

    def step(self) -> SensorFrame:
        """Advance one step and return (and publish) what the sensors report."""
        target = 0 if self.time_s < 0 else self.time_s + self.config.step_s
        # changes made now act on the solve at `target` (the stepper's semantics)
        self._apply_incidents(target)
        self._update_demands()
        for model in self.models.hydraulic:
            model.advance_to(target)
        frame = self._frame(target)
        self._account(frame)
        for publisher in self.publishers:
            publisher.publish(frame)
        self.readings_sent += int((~np.isnan(frame.values)).sum())
        return frame

    def run_for(self, duration_s: int,
                on_frame: Callable[[SensorFrame], None] | None = None) -> None:
        """Run ``duration_s`` [s] of simulated time as fast as possible."""
        end = max(self.time_s, 0) + duration_s
        while self.time_s < end:
            frame = self.step()
            if on_frame is not None:
                on_frame(frame)

    def run_paced(self, speed: float, stop: threading.Event, *,
                  duration_s: int | None = None,
                  on_frame: Callable[[SensorFrame], None] | None = None) -> None:
        """Run at ``speed`` x real time (1440: a day per minute) until ``stop`` is set or
        ``duration_s`` [s] of simulated time have passed."""
        if speed <= 0:
            raise ConfigError(f"speed must be > 0, not {speed}")
        begin_wall = time.monotonic()
        begin_sim = max(self.time_s, 0)
        while not stop.is_set():
            if duration_s is not None and self.time_s >= begin_sim + duration_s:
                break
            frame = self.step()
            if on_frame is not None:
                on_frame(frame)
            due = begin_wall + (frame.time_s - begin_sim) / speed
            stop.wait(max(0.0, due - time.monotonic()))

    # ---------------------------------------------------------------- sensors
    def _true_values(self) -> npt.NDArray[np.float64]:
        main, tracer = self.models.main, self.models.tracer
        sources: dict[str, Callable[[], npt.NDArray[np.float64]]] = {
            "pressure": lambda: main.node_values("pressure"),
            "demand": lambda: main.node_values("demand"),
            "flow": lambda: main.link_values("flow"),
            "status": lambda: (main.link_values("status") > 0).astype(float),
            "chlorine": lambda: main.node_values("quality"),
            "tracer": lambda: CONDUCTIVITY_BASE_US_CM + (
                tracer.node_values("quality") / TDS_PER_US_CM if tracer is not None
                else np.zeros(len(self.engine.node_ids))),
            "turbidity": self._turbidity_values,
        }
        truth = np.empty(len(self.sensors))
        for key, (rows, positions) in self._gather.groups.items():
            truth[rows] = sources[key]()[positions]
        return truth

    def _turbidity_values(self) -> npt.NDArray[np.float64]:
        phi = float(np.exp(-self.config.step_s / (6 * 3600.0)))
        self._turbidity *= phi
        self._turbidity += np.sqrt(1 - phi**2) * self.rng.standard_normal(3) * [0.02, 0.5, 4.0]
        base = np.array([0.12, 2.5, 18.0])  # plant outlet, main (reservoir), backup (river) [NTU]
        values: npt.NDArray[np.float64] = np.clip(base + self._turbidity, 0.01, None)
        return values

    def _frame(self, time_s: int) -> SensorFrame:
        truth = self._true_values()
        due = time_s % self._interval_s == 0
        values = truth.copy()
        if self.config.sensor_noise:
            cfg, rng = self.config, self.rng
            n = len(values)
            self._drift += self._drift_sd * np.sqrt(cfg.step_s / 86_400.0) * rng.standard_normal(n)
            sd = self._noise_abs + self._noise_rel * np.abs(truth)
            values = truth + self._drift + sd * rng.standard_normal(n)
            went_offline = rng.random(n) < cfg.outage_rate_per_day * cfg.step_s / 86_400.0
            hours = rng.integers(1, 7, n)
            self._offline_until = np.where(went_offline & (self._offline_until < time_s),
                                           time_s + hours * 3600, self._offline_until)
            lost = (rng.random(n) < cfg.dropout_probability) | (self._offline_until > time_s)
            values[lost] = np.nan
        values[self._is_pressure] = np.maximum(values[self._is_pressure], PRESSURE_FLOOR_M)
        # analysers and level probes do not report below zero
        values[self._non_negative] = np.maximum(values[self._non_negative], 0.0)
        for active in self._active.values():
            row = self._row_of.get(active.incident.element)
            if row is not None and active.incident.active_at(time_s) and values[row] == values[row]:
                values[row] = active.distort(float(values[row]), time_s)
        return SensorFrame(self.clock(time_s), time_s, tuple(self.sensor_ids[due]),
                           values[due], truth[due])

    def _account(self, frame: SensorFrame) -> None:
        # what the customers got (EPANET's consumer demand): leak and emitter outflow at their
        # nodes is water lost, not delivered, and must not be billed in the NRW estimate
        demand = self.models.main.node_values("consumer_demand")[self._demand_pos]
        self.delivered_m3 += float(np.clip(demand, 0, None).sum()) * (
            self.config.step_s if frame.time_s > 0 else 0)

    # ---------------------------------------------------------------- status
    def status(self) -> UtilityStatus:
        """Key figures now: delivered volume, lowest customer pressure, tanks, sources."""
        main = self.models.main
        pressure = main.node_values("pressure")
        demand = main.node_values("demand")
        customers = self._demand_pos
        low = int(customers[int(np.argmin(pressure[customers]))])
        flows = main.link_values("flow")
        source_flows = {
            s.node: float(flows[self.engine.link_index(s.outlet_links[0]) - 1])
            for s in self.layout.sources
        }
        tanks = self.net.tanks
        city_tanks = [t for t in tanks.index if str(t).startswith("TANK-")]
        pos = main.node_indices(city_tanks)
        span = (tanks.loc[city_tanks, "max_level_m"].astype(float)
                - tanks.loc[city_tanks, "min_level_m"].astype(float)).to_numpy()
        fill = (pressure[pos] - tanks.loc[city_tanks, "min_level_m"].astype(float).to_numpy())
        clearwell = self.engine.node_index(self.layout.plant.clearwell) - 1
        return UtilityStatus(
            time=self.clock(self.time_s), time_s=self.time_s, delivered_m3=self.delivered_m3,
            demand_m3s=float(np.clip(demand[customers], 0, None).sum()),
            lowest_pressure_m=float(pressure[low]),
            lowest_pressure_node=self.engine.node_ids[low],
            clearwell_level_m=float(pressure[clearwell]), source_flows_m3s=source_flows,
            tank_fill=float(np.mean(np.clip(fill / span, 0, 1))),
            open_incidents=self.open_incidents, readings_sent=self.readings_sent,
        )

    def write_incidents_csv(self, path: str | Path) -> None:
        """Write the ground truth so far to ``path`` (written whole, then renamed)."""
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(self.book.csv_text(self.epoch), encoding="utf-8")
        partial.replace(target)

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        """Close publishers and the EPANET projects."""
        if self._closed:
            return
        self._closed = True
        for publisher in self.publishers:
            publisher.close()
        for stepper in self._steppers:
            stepper.close()
        for engine in self._engines:
            engine.close()

    def __enter__(self) -> VirtualUtility:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DATASET_FILES: tuple[tuple[str, Quantity, str | None, str], ...] = (
    # (file, quantity, element kind or None for any, number format)
    ("pressures.csv", Quantity.PRESSURE, None, "%.3f"),
    ("flows.csv", Quantity.FLOW, "link", "%.6f"),
    ("levels.csv", Quantity.LEVEL, None, "%.4f"),
    ("demands.csv", Quantity.FLOW, "node", "%.7f"),
    ("chlorine.csv", Quantity.CHLORINE, None, "%.4f"),
    ("turbidity.csv", Quantity.TURBIDITY, None, "%.3f"),
    ("conductivity.csv", Quantity.CONDUCTIVITY, None, "%.1f"),
    ("pump_status.csv", Quantity.PUMP_STATUS, None, "%.0f"),
)
"""The SCADA files of a data set: ``Timestamp`` and one column per sensor, named by element."""

DATASET_README = """Labelled data set of the waterops demo utility (virtual, seeded).

Files: one CSV per quantity, column Timestamp (local time, ISO 8601 with offset) and one
column per sensor named by its network element id (as the BattLeDIM leak benchmark does).
Empty cells are lost readings. Values in SI: pressure and level in m, flows and demands in
m3/s (demands.csv: hourly automatic meter reads of enterprise customers), chlorine in mg/L,
turbidity in NTU, conductivity in uS/cm, pump status 1 running / 0 stopped.
sensors.csv is the sensor registry (waterops sensors import reads it).
incidents.csv is the ground truth: every incident with its type, element, start, end and size.
"""


def generate_dataset(
    out_dir: str | Path,
    *,
    days: float,
    layout: UtilityLayout,
    config: SimulatorConfig | None = None,
    requests: Sequence[IncidentRequest] = (),
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Simulate ``days`` and write a labelled data set into ``out_dir``; returns the files.

    The same layout, config (seed) and requests give byte-identical files. Files are written
    only after the whole run succeeded, each under a temporary name renamed at the end.
    """
    import pandas as pd  # only the data set writer needs it

    from waterops.telemetry.sensors_io import format_registry_csv

    config = config or SimulatorConfig()
    duration_s = round(days * 86_400 / config.step_s) * config.step_s
    recorder = FrameRecorder()
    with VirtualUtility(layout, config, [recorder]) as sim:
        for request in requests:
            sim.inject(request)
        # rows at 0, step, ... < duration: a day is 288 rows of 5 min, as SCADA exports are
        while sim.time_s + config.step_s < duration_s:
            sim.step()
            if progress is not None:
                progress(sim.time_s, duration_s)
        incidents_text = sim.book.csv_text(sim.epoch, until_s=duration_s)
        epoch = sim.epoch
    by_sensor = {s.id: s for s in layout.sensors}
    texts: dict[str, str] = {}
    for name, quantity, kind, fmt in DATASET_FILES:
        ids = [s.id for s in layout.sensors if s.quantity is quantity
               and (kind is None or s.element_kind == kind)]
        if not ids:
            continue
        interval = max(int(by_sensor[i].interval_s or config.step_s) for i in ids)
        frames = [f for f in recorder.frames if f.time_s % interval == 0]
        table = np.full((len(frames), len(ids)), np.nan)
        for r, frame in enumerate(frames):
            col = {sid: c for c, sid in enumerate(frame.sensor_ids)}
            table[r] = [frame.values[col[i]] if i in col else np.nan for i in ids]
        stamps = [(epoch + timedelta(seconds=f.time_s)).astimezone(LOCAL_TZ).isoformat()
                  for f in frames]
        frame_df = pd.DataFrame(table, columns=[by_sensor[i].element_id for i in ids])
        frame_df.insert(0, "Timestamp", stamps)
        texts[name] = frame_df.to_csv(index=False, float_format=fmt, na_rep="",
                                      lineterminator="\n")
    texts["sensors.csv"] = format_registry_csv(layout.sensors, layout.sites)
    texts["incidents.csv"] = incidents_text
    texts["README.txt"] = DATASET_README
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        partial = out / f".{name}.partial"
        partial.write_text(text, encoding="utf-8")
        written.append(partial)
    final = []
    for partial in written:
        target = partial.with_name(partial.name[1:].removesuffix(".partial"))
        partial.replace(target)
        final.append(target)
    return final
