"""The digital twin: the network model kept in step with what the sensors measure.

Use::

    twin = Twin.from_layout(layout, network_path)          # opens the network once
    state = twin.update(t_s, {"L-WTP1-CLEARWELL": 4.2, ...})  # sensor id -> SI value
    state.pressure_m["JUNCTION-288"], state.dma["multiplier"], state.residuals

Following the virtual utility (:mod:`waterops.service.simulator`), which solves with
pressure-driven demand, give the twin the same demand model and its update interval::

    settings = TwinSettings(pressure_driven=simulator.PDA, interval_s=900)
    twin = Twin.from_layout(layout, settings=settings)
    frame = utility.step()
    state = twin.update(frame.time_s, dict(zip(frame.sensor_ids, frame.values.tolist())))

A lost reading (NaN) counts as dropped out. Do not carry a value forward from an old frame:
the twin keeps the model's own state for a silent sensor, which is better than a stale
measurement.

``t_s`` is utility time [s] on the model clock (0 = the network file's start, so patterns
and clock controls read the right hour); updates come in increasing time, typically every
5 or 15 minutes. ``readings`` maps sensor id to a value in SI, to ``(value, flags)`` with
:class:`~waterops.model.telemetry.QualityFlag` bits, or to a
:class:`~waterops.model.telemetry.Reading`; :func:`readings_from_latest` turns the store's
``TelemetryStore.latest()`` table into that mapping, dropping stale values.

What one update does
--------------------
1. **Advance** the model from the last update to ``t_s`` (EPANET integrates the tanks with
   the last boundary conditions; the run is never restarted from t = 0).
2. **Boundary conditions** from trusted measurements: tank levels (level sensors), reservoir
   water surfaces, pump status and speed, valve closed/active, flow-control valve settings
   from their flow meters (a source's or plant's measured flow). Controls and rules of the
   file that act on a measured link are disabled: the measurement rules. What is not
   measured keeps the model's own state and logic.
3. **Prediction**: solve the period with the DMA demand multipliers of the last update. The
   sensors' *innovation* (measured − predicted) is what a burst shows up in first: more
   inflow at its DMA inlet than the twin expected, less pressure nearby.
4. **Demand estimation** per DMA by mass balance: inflow = Σ sign x inlet flow (metered
   links with their measurement, unmetered boundary links with the predicted flow);
   the measured multiplier ``inflow / pattern demand`` (bounded) is blended into the running
   one by a scalar Kalman filter: its variance grows by ``multiplier_sd_per_hour`` between
   updates (demand drifts), and the measurement's variance is the meters' accuracy summed
   over the inlets, relative to the DMA's demand. So a DMA whose meters carry large through
   flows to a small demand (a main crossing it) trusts one interval's balance less and
   averages over more intervals, while a DMA with one clean inlet follows at once. A DMA
   with a metered inlet missing or distrusted keeps its last multiplier (1.0, the pattern,
   before its first estimate) and grows less certain.
5. **State**: solve again with the new multipliers; pressures, flows, tank levels, water age
   and source shares (a conservative tracer per source, run in step) are the twin's
   state, and the *residual* (measured − modelled) of every pressure, flow and level sensor
   is scored against its history (:class:`~waterops.detection.residuals.ResidualStatistics`).
   Whether EPANET balanced every period of the update is ``hydraulics_converged``, with its
   warnings in ``engine_warnings`` (see :class:`TwinState`): a period it cannot balance does
   not stop the twin, but its state may be meaningless and says so.

At start the network is taken as full of water from the sources supplying it then, in the
proportion of their outflows (exact with one source; otherwise an error that washes out over
the travel time); water age starts at the file's initial age unless ``warmup_s`` runs the
model on its own logic first.

Sensors that drop out (absent from ``readings``) or carry a distrust flag (stuck, out of range,
spike) are not used; the twin keeps running on the rest, and still gives a model value for
them (a virtual sensor). Quantities the hydraulic model does not carry (chlorine, turbidity,
power) are left to other services.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.detection.residuals import ResidualStatistics
from waterops.errors import ConfigError
from waterops.hydraulics import PressureDriven, Trace, WaterAge
from waterops.hydraulics.results import SimulationWarning
from waterops.model.telemetry import QualityFlag, Quantity, Reading, Sensor
from waterops.model.utility import Dma, UtilityLayout
from waterops.service.twin_project import TwinProject, converged

ReadingValue = float | tuple[float, int] | Reading
"""What a reading may be given as: a value in SI, ``(value, flags)`` or a Reading."""

DISTRUSTED = QualityFlag.OUT_OF_RANGE | QualityFlag.FLATLINE | QualityFlag.SPIKE
"""Quality flags that keep a reading out of the twin (a gap alone does not)."""

RESIDUAL_FLOOR = {Quantity.PRESSURE: 0.3, Quantity.LEVEL: 0.05, Quantity.FLOW: 0.002}
"""Smallest residual spread [SI unit] a z-score divides by: about a field sensor's accuracy
(pressure logger ±0.3 m, level ±5 cm, flow meter ±2 L/s on a DMA inlet)."""

MODELLED = (Quantity.PRESSURE, Quantity.FLOW, Quantity.LEVEL)
"""Quantities the twin compares with the model (a flow on a node is its demand)."""
ROLE_QUANTITIES = (*MODELLED, Quantity.PUMP_STATUS, Quantity.PUMP_SPEED, Quantity.VALVE_POSITION)
"""Quantities of the sensors the twin reads."""
NODE_QUANTITIES = (Quantity.PRESSURE, Quantity.LEVEL)
"""Quantities measured at a node when a sensor does not say its element kind."""


@dataclass(frozen=True)
class TwinSettings:
    """How the twin runs.

    Parameters
    ----------
    interval_s : expected time between updates [s]; the solver's longest step
    multiplier_sd_per_hour : how much a DMA's true demand multiplier may change in an
        hour (standard deviation) [1/h^0.5 scale: the variance grows linearly in time]
    initial_multiplier_sd : uncertainty of the pattern (multiplier 1) before any estimate
    flow_meter_accuracy : standard deviation of a flow meter's reading: absolute [m³/s] and
        relative to the flow [-] (electromagnetic meters: about 0.1 L/s + 0.5 %)
    multiplier_bounds : lowest and highest DMA demand multiplier accepted [1]
    water_age : run water age in step with the hydraulics
    source_shares : run one trace per source (share of each node's water from it)
    warmup_s : before the first update, run the model on its own logic for this long [s]
        so that water age starts near its daily cycle (0 = start from the file's initial
        age, 0 s); source shares start from the supply split at the start (module
        docstring)
    residual_weight : weight of a new residual in the running statistics (see
        :class:`~waterops.detection.residuals.ResidualStatistics`)
    pressure_driven : solve with pressure-driven demand (as the virtual utility does:
        ``waterops.service.simulator.PDA``), or ``None`` for the network file's model
    """

    interval_s: int = 300
    multiplier_sd_per_hour: float = 0.15
    initial_multiplier_sd: float = 0.3
    flow_meter_accuracy: tuple[float, float] = (1e-4, 0.005)
    multiplier_bounds: tuple[float, float] = (0.1, 5.0)
    water_age: bool = True
    source_shares: bool = True
    warmup_s: int = 0
    residual_weight: float = 0.1
    pressure_driven: PressureDriven | None = None

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ConfigError(f"twin interval must be > 0 s, not {self.interval_s}")
        if self.multiplier_sd_per_hour <= 0 or self.initial_multiplier_sd <= 0:
            raise ConfigError(
                "twin multiplier uncertainties must be > 0, not "
                f"{self.multiplier_sd_per_hour} per hour and {self.initial_multiplier_sd}"
            )
        if min(self.flow_meter_accuracy) < 0:
            raise ConfigError(f"flow meter accuracy must be >= 0: {self.flow_meter_accuracy}")
        low, high = self.multiplier_bounds
        if not 0.0 <= low < high:
            raise ConfigError(f"multiplier bounds must be 0 <= low < high, not {low}, {high}")
        if self.warmup_s < 0:
            raise ConfigError(f"twin warm-up must be >= 0 s, not {self.warmup_s}")


@dataclass(frozen=True)
class TwinState:
    """The twin's picture of the network at one time (SI units).

    Attributes
    ----------
    time_s : utility time [s]
    pressure_m, head_m : per node [m]
    demand_m3s : per node [m³/s] (junction demand as modelled; tanks: net inflow)
    flow_m3s : per link [m³/s], + from its start node to its end node
    tank_level_m : per tank [m above bottom]
    water_age_s : per node [s], or ``None`` when water age is off
    source_share : node x source id, fraction of the node's water from that source [0-1],
        or ``None`` when source shares are off
    dma : per DMA: ``multiplier`` (in use), ``raw_multiplier`` (this update's mass balance),
        ``multiplier_sd`` (its standard deviation), ``inflow_m3s`` (measured mass balance),
        ``pattern_demand_m3s``, ``estimated``
        (whether this update had all its inlet meters)
    residuals : per sensor (pressure, flow, level): ``quantity``, ``element_id``,
        ``measured`` (NaN when missing), ``trusted``, ``predicted`` and ``innovation``
        (before this update's estimates), ``model`` and ``residual`` (the twin's state),
        ``bias``, ``rms`` and ``z`` (innovation scored against the sensor's history)
    released_controls : controls and rules of the file that the twin disabled because
        measurements set their links
    hydraulics_converged : whether EPANET balanced every period it solved for this update
        (from the last update's time to ``time_s``: tank integration, prediction and
        state). ``False``: at least one period was unbalanced, or balanced only with its
        link statuses frozen after the trials ran out; the heads and flows of this state,
        and so its residuals and DMA estimates, may be meaningless. Look at
        ``engine_warnings`` and at the boundary conditions (a measured tank level or valve
        that the network cannot meet, a pump set beyond its curve, an unmodelled leak)
    engine_warnings : what EPANET warned about during this update, once each, first
        first (``kind``: ``"unbalanced"``, ``"unstable"``, ``"negative_pressure"``,
        ``"disconnected"``, ``"pump_beyond_curve"``, ``"valve"``, ``"other"``; ``time_s``:
        utility time [s] of the solve that warned)
    unconverged_updates : consecutive updates, this one included, whose hydraulics did not
        converge (0 when this one converged)
    """

    time_s: int
    pressure_m: pd.Series
    head_m: pd.Series
    demand_m3s: pd.Series
    flow_m3s: pd.Series
    tank_level_m: pd.Series
    water_age_s: pd.Series | None
    source_share: pd.DataFrame | None
    dma: pd.DataFrame
    residuals: pd.DataFrame
    released_controls: tuple[str, ...] = ()
    hydraulics_converged: bool = True
    engine_warnings: tuple[SimulationWarning, ...] = ()
    unconverged_updates: int = 0

    @property
    def warning_kinds(self) -> tuple[str, ...]:
        """The kinds of :attr:`engine_warnings`, each once, first first."""
        return tuple(dict.fromkeys(w.kind for w in self.engine_warnings))


@dataclass
class _DmaBalance:
    """A DMA's junctions and every link across its boundary, as toolkit indices."""

    dma: Dma
    junctions: list[int]
    boundary: list[tuple[int, int]]  # (link index, sign: +1 when positive flow enters)
    metered: dict[int, str]  # link index -> flow sensor id
    multiplier: float = 1.0
    variance: float = 0.0
    raw: float = math.nan
    inflow_m3s: float = math.nan
    pattern_m3s: float = math.nan
    estimated: bool = False


@dataclass
class _Roles:
    """What each sensor does in the twin."""

    tank_level: dict[str, int] = field(default_factory=dict)
    reservoir_head: dict[str, int] = field(default_factory=dict)
    pump_status: dict[str, int] = field(default_factory=dict)
    pump_speed: dict[str, int] = field(default_factory=dict)
    valve_position: dict[str, int] = field(default_factory=dict)
    valve_flow: dict[str, int] = field(default_factory=dict)


def readings_from_latest(
    latest: pd.DataFrame, now: datetime, max_age_s: float
) -> dict[str, tuple[float, int]]:
    """Readings for :meth:`Twin.update` from ``TelemetryStore.latest()``.

    Readings older than ``max_age_s`` [s] before ``now`` count as dropped out.
    """
    times = pd.to_datetime(latest["time"], utc=True)
    fresh = (pd.Timestamp(now) - times).dt.total_seconds() <= max_age_s
    rows = latest[fresh.to_numpy()]
    return {
        str(s): (float(v), int(f))
        for s, v, f in zip(rows["sensor_id"], rows["value"], rows["flags"], strict=True)
    }


class Twin:
    """A digital twin of one network, following its sensors (see the module docstring).

    Parameters
    ----------
    network_path : EPANET input file of the network
    sensors : the utility's sensors (those of other networks or unknown elements are ignored
        only if their ``element_id`` is ``None``; an unknown element is an error)
    dmas : the DMAs whose demand multipliers the twin estimates (junction sets must not
        overlap)
    source_nodes : source node ids (reservoirs) to trace for source shares
    settings : see :class:`TwinSettings`
    """

    def __init__(
        self,
        network_path: str | Path,
        sensors: Sequence[Sensor],
        dmas: Sequence[Dma] = (),
        source_nodes: Sequence[str] = (),
        settings: TwinSettings | None = None,
    ) -> None:
        self.settings = settings or TwinSettings()
        self.sensors = {s.id: s for s in sensors if s.element_id is not None}
        self.source_nodes = tuple(source_nodes)
        quality: list[WaterAge | Trace | None] = [
            WaterAge() if self.settings.water_age else None
        ]
        if self.settings.source_shares:
            quality += [Trace(node) for node in self.source_nodes]
        self._projects: list[TwinProject] = []
        try:
            for k, spec in enumerate(quality):  # tracers solve the main project's hydraulics:
                self._projects.append(  # only the main one reads EPANET's warnings
                    TwinProject(network_path, spec, self.settings.pressure_driven,
                                read_warnings=k == 0)
                )
            main = self._projects[0]
            self._node_ids = pd.Index(main.node_ids, name="node", dtype=object)
            self._link_ids = pd.Index(main.link_ids, name="link", dtype=object)
            self._tanks = [
                i for i in range(main.n_junctions + 1, len(main.node_ids) + 1)
                if tk.getnodetype(main.engine.handle, i) == tk.TANK
            ]
            self._roles = self._sensor_roles()
            self._compared = self._compared_sensors()
            self._dmas: list[_DmaBalance] = []
            for dma in dmas:
                self._dmas.append(self._dma_balance(dma))
        except BaseException:
            self.close()
            raise
        self._stats = ResidualStatistics(self.settings.residual_weight)
        self._released: tuple[str, ...] = ()
        self._valve_settings: dict[int, float] = {}
        self._state: TwinState | None = None
        self._unconverged = 0

    @classmethod
    def from_layout(
        cls,
        layout: UtilityLayout,
        network_path: str | Path | None = None,
        settings: TwinSettings | None = None,
    ) -> Twin:
        """A twin of a utility layout's network, with its sensors, DMAs and sources.

        ``network_path`` defaults to the layout's own network file.
        """
        path = network_path if network_path is not None else layout.network_file
        return cls(
            path,
            layout.sensors,
            layout.dmas,
            [source.node for source in layout.sources],
            settings,
        )

    # ------------------------------------------------------------------ set-up
    def _sensor_roles(self) -> _Roles:
        main = self._projects[0]
        engine, ph = main.engine, main.engine.handle
        roles = _Roles()
        for s in self.sensors.values():
            if s.quantity not in ROLE_QUANTITIES:
                continue
            element = str(s.element_id)
            on_node = _on_node(s)
            index = engine.node_index(element) if on_node else engine.link_index(element)
            if on_node:
                if s.quantity == Quantity.LEVEL and index in self._tanks:
                    roles.tank_level[s.id] = index
                elif s.quantity == Quantity.LEVEL and index > main.n_junctions:
                    roles.reservoir_head[s.id] = index
                continue
            if s.quantity == Quantity.PUMP_STATUS:
                roles.pump_status[s.id] = index
            elif s.quantity == Quantity.PUMP_SPEED:
                roles.pump_speed[s.id] = index
            elif s.quantity == Quantity.VALVE_POSITION:
                roles.valve_position[s.id] = index
            elif s.quantity == Quantity.FLOW and tk.getlinktype(ph, index) == tk.FCV:
                roles.valve_flow[s.id] = index
        return roles

    def _dma_balance(self, dma: Dma) -> _DmaBalance:
        """Junction indices and boundary links of a DMA, from the network's topology."""
        main = self._projects[0]
        engine, ph = main.engine, main.engine.handle
        junctions = [engine.node_index(j) for j in dma.junctions]
        inside = set(junctions)
        for other in self._dmas:
            shared = inside.intersection(other.junctions)
            if shared:
                node = main.node_ids[min(shared) - 1]
                raise ConfigError(f"DMAs {other.dma.id} and {dma.id} both hold junction {node}")
        boundary = []
        for link in range(1, len(main.link_ids) + 1):
            start, end = tk.getlinknodes(ph, link)
            if (start in inside) != (end in inside):
                boundary.append((link, 1 if end in inside else -1))
        flow_sensor = {
            s.element_id: s.id
            for s in self.sensors.values()
            if s.quantity == Quantity.FLOW and not _on_node(s)
        }
        signs = dict(boundary)
        metered = {}
        for inlet in dma.inlets:
            index = engine.link_index(inlet.link_id)
            if signs.get(index) != inlet.sign:
                where = "does not cross its boundary" if index not in signs else (
                    f"has sign {inlet.sign}, but its flow direction gives {signs[index]}"
                )
                raise ConfigError(f"DMA {dma.id}: inlet {inlet.link_id} {where}")
            if inlet.link_id not in flow_sensor:
                raise ConfigError(
                    f"DMA {dma.id}: inlet {inlet.link_id} has no flow sensor in the layout"
                )
            metered[index] = flow_sensor[inlet.link_id]
        return _DmaBalance(dma, junctions, boundary, metered)

    # ------------------------------------------------------------------ public
    @property
    def state(self) -> TwinState | None:
        """The state of the last update (``None`` before the first)."""
        return self._state

    def update(self, t_s: float, readings: Mapping[str, ReadingValue]) -> TwinState:
        """Bring the twin to utility time ``t_s`` [s] with the latest readings.

        Raises
        ------
        SimulationError
            when ``t_s`` is before the last update (nothing changed), or when EPANET cannot
            solve the period (the twin is then stuck at that time: close it, open a new one).
        """
        time_s = round(t_s)
        values, trusted = self._normalise(readings)
        if self._state is None:
            self._start(time_s)
        for project in self._projects:
            project.advance_to(time_s)
        main = self._projects[0]
        level_before = self._model_levels(main)
        self._apply_boundaries(values, trusted)
        for project in self._projects:
            project.solve()
        predicted = self._model_values(main)
        predicted.update(level_before)  # what the model had integrated, before the measurement
        self._estimate_demands(main, values, trusted, time_s)
        for project in self._projects:
            project.solve()
            project.finish()
        self._state = self._read_state(time_s, values, trusted, predicted)
        return self._state

    def _engine_warnings(self) -> tuple[bool, tuple[SimulationWarning, ...]]:
        """Whether this update's hydraulics converged, and EPANET's warnings (once each)."""
        found: dict[tuple[str, str | None, str], SimulationWarning] = {}
        for w in self._projects[0].take_warnings():
            found.setdefault((w.kind, w.element, w.message), w)
        return converged(found.values()), tuple(found.values())

    def close(self) -> None:
        """Close the twin's EPANET projects."""
        for project in self._projects:
            project.close()
        self._projects = []

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ steps of an update
    def _normalise(
        self, readings: Mapping[str, ReadingValue]
    ) -> tuple[dict[str, float], dict[str, bool]]:
        values: dict[str, float] = {}
        trusted: dict[str, bool] = {}
        for sensor_id, reading in readings.items():
            if sensor_id not in self.sensors:
                continue
            if isinstance(reading, Reading):
                value, flags = reading.value, int(reading.flags)
            elif isinstance(reading, tuple):
                value, flags = float(reading[0]), int(reading[1])
            else:
                value, flags = float(reading), 0
            values[sensor_id] = value
            trusted[sensor_id] = math.isfinite(value) and not (flags & DISTRUSTED)
        return values, trusted

    def _start(self, time_s: int) -> None:
        start_s = time_s - self.settings.warmup_s
        if start_s < 0:
            raise ConfigError(
                f"twin warm-up of {self.settings.warmup_s} s before t = {time_s} s would start "
                "before the model's time 0"
            )
        measured_links = [
            *self._roles.pump_status.values(), *self._roles.pump_speed.values(),
            *self._roles.valve_position.values(), *self._roles.valve_flow.values(),
        ]
        main, tracers = self._projects[0], self._projects[1:]
        for link in (*self._roles.valve_position.values(), *self._roles.valve_flow.values()):
            self._valve_settings[link] = float(
                tk.getlinkvalue(main.engine.handle, link, tk.INITSETTING)
            )
        main.start(start_s, self.settings.interval_s)
        main.solve()
        main.finish()
        # The network starts full of water from the sources that supply it now, mixed in the
        # proportion of their outflows: exact for one source, and an error that washes out
        # over the travel time otherwise (EPANET would start at 0 %, and the 106 km trunk main
        # alone takes two days to flush).
        supply = np.maximum(-main.node_values("demand"), 0.0)
        sources = [main.engine.node_index(n) for n in self.source_nodes] if tracers else []
        total = float(supply[np.asarray(sources, dtype=int) - 1].sum())
        for index, project in zip(sources, tracers, strict=True):  # none when shares are off
            share = float(supply[index - 1]) / total if total > 0 else 0.0
            project.start(start_s, self.settings.interval_s, share, sources)
        # the warm-up runs on the model's own logic; measurements rule from the first update
        for project in self._projects:
            project.advance_to(time_s)
            self._released = tuple(project.release_links(measured_links))

    def _apply_boundaries(self, values: dict[str, float], trusted: dict[str, bool]) -> None:
        roles = self._roles
        use = {s: v for s, v in values.items() if trusted[s]}
        for project in self._projects:
            ph = project.engine.handle
            for sensor_id, node in roles.tank_level.items():
                if sensor_id in use:
                    project.set_tank_level(node, use[sensor_id])
            for sensor_id, node in roles.reservoir_head.items():
                if sensor_id in use:
                    project.set_reservoir_head(node, use[sensor_id])
            for sensor_id, link in roles.pump_speed.items():
                if sensor_id in use:
                    project.set_pump_speed(link, max(use[sensor_id], 0.0))
            for sensor_id, link in roles.pump_status.items():
                if sensor_id not in use:
                    continue
                running = use[sensor_id] >= 0.5
                if running and tk.getlinkvalue(ph, link, tk.SETTING) <= 0.0:
                    project.set_pump_speed(link, 1.0)  # a pump closed in the file has speed 0
                project.set_link_open(link, running)
            for sensor_id, link in roles.valve_position.items():
                if sensor_id not in use:
                    continue
                if use[sensor_id] < 0.01:
                    project.set_link_open(link, False)
                else:  # a setting makes a closed valve active again
                    tk.setlinkvalue(ph, link, tk.SETTING, self._valve_settings[link])
            for sensor_id, link in roles.valve_flow.items():
                if sensor_id in use:
                    project.set_valve_flow(link, max(use[sensor_id], 0.0))

    def _estimate_demands(
        self, main: TwinProject, values: dict[str, float], trusted: dict[str, bool], time_s: int
    ) -> None:
        settings = self.settings
        low, high = settings.multiplier_bounds
        absolute, relative = settings.flow_meter_accuracy
        hours = 0.0 if self._state is None else (time_s - self._state.time_s) / 3600.0
        flows = main.link_values("flow")
        consumer_demand = main.node_values("consumer_demand")
        for balance in self._dmas:
            if self._state is None:
                balance.variance = settings.initial_multiplier_sd**2
            balance.variance += settings.multiplier_sd_per_hour**2 * hours
            readings = [balance.metered[link] for link in balance.metered]
            complete = all(trusted.get(s, False) for s in readings) and bool(readings)
            balance.estimated = complete
            balance.pattern_m3s = float(
                consumer_demand[np.asarray(balance.junctions) - 1].sum() / balance.multiplier
            )
            if not complete:
                balance.raw = balance.inflow_m3s = math.nan
                continue
            inflow = meter_variance = 0.0
            for link, sign in balance.boundary:
                sensor_id = balance.metered.get(link)
                if sensor_id is None:
                    inflow += sign * float(flows[link - 1])
                    continue
                inflow += sign * values[sensor_id]
                meter_variance += (absolute + relative * abs(values[sensor_id])) ** 2
            balance.inflow_m3s = inflow
            if balance.pattern_m3s <= 1e-9:
                balance.raw = math.nan
                continue
            balance.raw = min(max(inflow / balance.pattern_m3s, low), high)
            measured_variance = meter_variance / balance.pattern_m3s**2
            total_variance = balance.variance + measured_variance
            gain = balance.variance / total_variance if total_variance > 0 else 1.0
            new = balance.multiplier + gain * (balance.raw - balance.multiplier)
            balance.variance *= 1.0 - gain
            if abs(new - balance.multiplier) > 1e-9:
                balance.multiplier = new
                for project in self._projects:
                    project.scale_demands(balance.junctions, new)

    # ------------------------------------------------------------------ reading the model
    def _model_levels(self, project: TwinProject) -> dict[str, float]:
        """Level [m] of each tank with a level sensor, by sensor id, as the model has it."""
        nodes = list(self._roles.tank_level.values())
        return dict(zip(self._roles.tank_level, project.tank_levels(nodes).tolist(), strict=True))

    def _compared_sensors(self) -> dict[str, tuple[list[str], npt.NDArray[np.intp]]]:
        """Sensors compared with the model, by the model vector they read: ids and 0-based
        positions (a tank level is the tank's pressure: EPANET's head above its bottom)."""
        engine = self._projects[0].engine
        groups: dict[str, tuple[list[str], list[int]]] = {
            "pressure": ([], []), "demand": ([], []), "flow": ([], []),
        }
        for s in self.sensors.values():
            element = str(s.element_id)
            if s.quantity == Quantity.PRESSURE or s.id in self._roles.tank_level:
                key, pos = "pressure", engine.node_index(element) - 1
            elif s.quantity == Quantity.FLOW and _on_node(s):  # a customer meter: demand
                key, pos = "demand", engine.node_index(element) - 1
            elif s.quantity == Quantity.FLOW:
                key, pos = "flow", engine.link_index(element) - 1
            else:
                continue
            groups[key][0].append(s.id)
            groups[key][1].append(pos)
        return {k: (ids, np.asarray(pos, dtype=np.intp)) for k, (ids, pos) in groups.items()}

    def _model_values(self, project: TwinProject) -> dict[str, float]:
        """The model's value at each compared sensor, as solved now."""
        out: dict[str, float] = {}
        for key, (ids, positions) in self._compared.items():
            vector = project.link_values("flow") if key == "flow" else project.node_values(key)
            out.update(zip(ids, vector[positions].tolist(), strict=True))
        return out

    def _read_state(
        self,
        time_s: int,
        values: dict[str, float],
        trusted: dict[str, bool],
        predicted: dict[str, float],
    ) -> TwinState:
        main = self._projects[0]
        pressure = main.node_values("pressure")
        head = main.node_values("head")
        model = self._model_values(main)
        tank_ids = [main.node_ids[i - 1] for i in self._tanks]
        tank_level = pd.Series(
            main.tank_levels(self._tanks), index=pd.Index(tank_ids, name="node"), name="level_m"
        )
        age = None
        if self.settings.water_age:
            age = pd.Series(main.node_values("quality"), index=self._node_ids, name="age_s")
        shares = None
        if self.settings.source_shares and self.source_nodes:
            shares = pd.DataFrame(
                {
                    node: project.node_values("quality")
                    for node, project in zip(self.source_nodes, self._projects[1:], strict=True)
                },
                index=self._node_ids,
            )
        is_converged, engine_warnings = self._engine_warnings()
        self._unconverged = 0 if is_converged else self._unconverged + 1
        return TwinState(
            time_s=time_s,
            pressure_m=pd.Series(pressure, index=self._node_ids, name="pressure_m"),
            head_m=pd.Series(head, index=self._node_ids, name="head_m"),
            demand_m3s=pd.Series(main.node_values("demand"), index=self._node_ids,
                                 name="demand_m3s"),
            flow_m3s=pd.Series(main.link_values("flow"), index=self._link_ids, name="flow_m3s"),
            tank_level_m=tank_level,
            water_age_s=age,
            source_share=shares,
            dma=self._dma_table(),
            residuals=self._residual_table(values, trusted, predicted, model),
            released_controls=self._released,
            hydraulics_converged=is_converged,
            engine_warnings=engine_warnings,
            unconverged_updates=self._unconverged,
        )

    def _dma_table(self) -> pd.DataFrame:
        rows = [
            (b.dma.id, b.multiplier, math.sqrt(b.variance), b.raw, b.inflow_m3s, b.pattern_m3s,
             b.estimated)
            for b in self._dmas
        ]
        columns = ["dma_id", "multiplier", "multiplier_sd", "raw_multiplier", "inflow_m3s",
                   "pattern_demand_m3s", "estimated"]
        return pd.DataFrame(rows, columns=columns).set_index("dma_id")

    def _residual_table(
        self,
        values: dict[str, float],
        trusted: dict[str, bool],
        predicted: dict[str, float],
        model: dict[str, float],
    ) -> pd.DataFrame:
        ids = list(model)
        measured = np.array([values.get(s, math.nan) for s in ids])
        use = np.array([trusted.get(s, False) for s in ids], dtype=bool)
        pred = np.array([predicted[s] for s in ids])
        now = np.array([model[s] for s in ids])
        innovation = np.where(use, measured - pred, np.nan)
        floors = {
            s: max(RESIDUAL_FLOOR[self.sensors[s].quantity], 0.02 * abs(now[i]))
            if self.sensors[s].quantity == Quantity.FLOW
            else RESIDUAL_FLOOR[self.sensors[s].quantity]
            for i, s in enumerate(ids)
        }
        scores = self._stats.update(dict(zip(ids, innovation.tolist(), strict=True)), floors)
        table = pd.DataFrame(
            {
                "quantity": [str(self.sensors[s].quantity) for s in ids],
                "element_id": [self.sensors[s].element_id for s in ids],
                "measured": measured,
                "trusted": use,
                "predicted": pred,
                "innovation": innovation,
                "model": now,
                "residual": np.where(use, measured - now, np.nan),
            },
            index=pd.Index(ids, name="sensor_id"),
        )
        return table.join(scores[["bias", "rms", "z"]])


def _on_node(sensor: Sensor) -> bool:
    """Whether a sensor measures a node (else a link)."""
    if sensor.element_kind in ("node", "link"):
        return sensor.element_kind == "node"
    return sensor.quantity in NODE_QUANTITIES
