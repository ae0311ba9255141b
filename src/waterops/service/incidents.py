"""Incidents of the virtual utility: injected on request or at random, recorded as ground truth.

An incident request names a type, an element and optionally a size and a duration; the
simulator turns it into changes of the running EPANET model (through
:class:`~waterops.hydraulics.stepper.NetworkStepper`) or of a sensor's readings, and the
:class:`IncidentBook` keeps the ground-truth :class:`~waterops.model.utility.Incident`.

- ``pipe_burst`` at a junction; size = orifice area [m²] (default 0.002, Ø 50 mm); an emitter
  Q = Cd·A·√(2·g·p).
- ``background_leak`` at a junction; size = growth of the orifice area [m²/day] (default
  1e-4); the emitter grows at every step.
- ``pump_trip`` of a pump: closed, its controls held off until the end.
- ``booster_failure`` of a pump room (``PR01``): duty and standby boosters closed.
- ``prv_failure`` of a PRV: stuck fully open.
- ``contamination`` at a junction or reservoir; size = tracer [mg/L] (default 50), a
  set-point source of the tracer.
- ``chlorine_loss`` at the plant (``WTP1``); size = the chlorine dose left [mg/L] (default 0).
- ``sensor_stuck`` of a sensor: the reading freezes.
- ``sensor_drift`` of a sensor; size = drift [unit/day] (default 1).
- ``source_outage`` of the main source: its main closed; the backup intake starts after
  ``backup_after_s`` (parameter, default 1,800 s; ``never`` leaves the clear-water tank to
  drain) and stops when the source is back.

The tracer runs in a second EPANET project stepped in lock-step with the first (EPANET carries
one quality species per project; the first carries chlorine). It is what conductivity
analysers see: + tracer / 0.65 uS/cm, the usual ratio of dissolved solids to conductivity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from waterops.errors import IncidentError, UnknownElementError
from waterops.hydraulics.stepper import NetworkStepper
from waterops.model.network import Network
from waterops.model.utility import Incident, IncidentType, UtilityLayout, WaterSource

G_MS2 = 9.80665
DISCHARGE_COEFF = 0.6
"""Discharge coefficient of a sharp-edged break [-]."""
DEFAULT_SIZE: dict[IncidentType, float] = {
    IncidentType.PIPE_BURST: 0.002,
    IncidentType.BACKGROUND_LEAK: 1e-4,
    IncidentType.PUMP_TRIP: 1.0,
    IncidentType.BOOSTER_FAILURE: 1.0,
    IncidentType.PRV_FAILURE: 1.0,
    IncidentType.CONTAMINATION: 50.0,
    IncidentType.CHLORINE_LOSS: 0.0,
    IncidentType.SENSOR_STUCK: 1.0,
    IncidentType.SENSOR_DRIFT: 1.0,
    IncidentType.SOURCE_OUTAGE: 1.0,
}
DEFAULT_BACKUP_AFTER_S = 1800
"""How long operators take to start the backup intake after a source outage [s]."""
PLANT_CHLORINE_MG_L = 1.0
"""Normal chlorine set-point at the plant outlet [mg/L] (the demo network's [SOURCES])."""


@dataclass(frozen=True, slots=True)
class IncidentRequest:
    """What to inject: type, element, size (``None``: the type's default) and duration
    (``None``: until ended). ``parameters`` are type-specific (``backup_after_s``)."""

    type: IncidentType
    element: str
    size: float | None = None
    duration_s: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def parse_incident_spec(text: str) -> IncidentRequest:
    """Read ``TYPE:ELEMENT[:SIZE]`` (e.g. ``pipe_burst:JUNCTION-288:0.003``).

    Raises
    ------
    IncidentError
        for an unknown type, a missing element or a size that is not a number >= 0.
    """
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1]:
        raise IncidentError(f"incident {text!r}: write TYPE:ELEMENT[:SIZE]")
    try:
        kind = IncidentType(parts[0].strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in IncidentType)
        raise IncidentError(f"incident {text!r}: unknown type {parts[0]!r} ({known})") from None
    size = None
    if len(parts) == 3:
        try:
            size = float(parts[2])
        except ValueError:
            raise IncidentError(f"incident {text!r}: size {parts[2]!r} is not a number") from None
        if not (math.isfinite(size) and size >= 0):
            raise IncidentError(f"incident {text!r}: size must be a number >= 0")
    return IncidentRequest(kind, parts[1].strip(), size)


@dataclass(slots=True)
class Models:
    """The running models an incident acts on: ``main`` (hydraulics and chlorine) and the
    optional ``tracer`` project (same hydraulics, a conservative tracer)."""

    main: NetworkStepper
    tracer: NetworkStepper | None = None

    @property
    def hydraulic(self) -> list[NetworkStepper]:
        """Every project: hydraulic changes go to all, so their hydraulics stay equal."""
        return [self.main] if self.tracer is None else [self.main, self.tracer]


class ActiveIncident:
    """An incident under way: changes the models at its start, at each step and at its end."""

    def __init__(self, incident: Incident, layout: UtilityLayout, net: Network) -> None:
        self.incident = incident
        self.layout = layout
        self.net = net
        self._before: dict[str, float] = {}
        self.stuck_value: float | None = None
        self.started = False

    @property
    def type(self) -> IncidentType:
        return self.incident.type

    def start(self, models: Models) -> None:
        """Make the change (hydraulic and quality incidents)."""
        self.started = True
        kind, element, size = self.type, self.incident.element, self.incident.size
        if kind is IncidentType.PIPE_BURST:
            self._add_emitter(models, size)
        elif kind is IncidentType.BACKGROUND_LEAK:
            self._add_emitter(models, 0.0)
        elif kind is IncidentType.PUMP_TRIP:
            for m in models.hydraulic:
                m.set_link_status(element, open_=False)
        elif kind is IncidentType.BOOSTER_FAILURE:
            room = self.layout.pump_room(element)
            for m in models.hydraulic:
                for pump in (*room.duty_pumps, *room.standby_pumps):
                    m.set_link_status(pump, open_=False)
        elif kind is IncidentType.PRV_FAILURE:
            for m in models.hydraulic:
                m.set_link_status(element, open_=True)
        elif kind is IncidentType.CONTAMINATION and models.tracer is not None:
            models.tracer.set_source_quality(element, size, source_type="setpoint")
        elif kind is IncidentType.CHLORINE_LOSS:
            clearwell = self.layout.plant.clearwell
            self._before["dose"] = models.main.source_quality(clearwell)
            models.main.set_source_quality(clearwell, size, source_type="setpoint")
        elif kind is IncidentType.SOURCE_OUTAGE:
            source = _source_of(self.layout, element)
            for m in models.hydraulic:
                for link in source.outlet_links:
                    m.set_link_status(link, open_=False)

    def step(self, models: Models, time_s: int) -> None:
        """Changes that go on while the incident lasts (a leak grows, the backup starts)."""
        elapsed_s = time_s - self.incident.start_s
        if self.type is IncidentType.BACKGROUND_LEAK:
            area_m2 = self.incident.size * elapsed_s / 86_400.0
            coeff = DISCHARGE_COEFF * area_m2 * math.sqrt(2 * G_MS2)
            for m in models.hydraulic:
                m.set_emitter(self.incident.element, self._before["emitter"] + coeff)
        elif self.type is IncidentType.SOURCE_OUTAGE and "backup_started" not in self._before:
            after = self.incident.parameters.get("backup_after_s", str(DEFAULT_BACKUP_AFTER_S))
            if after != "never" and elapsed_s >= int(after):
                for source in self.layout.sources:
                    if source.backup:
                        for m in models.hydraulic:
                            for pump in source.pumps:
                                m.set_link_status(pump, open_=True)
                self._before["backup_started"] = float(time_s)

    def end(self, models: Models) -> None:
        """Undo the change (a repair; the main source back, and the backup intake stopped)."""
        kind, element = self.type, self.incident.element
        if kind in (IncidentType.PIPE_BURST, IncidentType.BACKGROUND_LEAK):
            for m in models.hydraulic:
                m.set_emitter(element, self._before["emitter"])
        elif kind is IncidentType.PUMP_TRIP:
            for m in models.hydraulic:
                m.set_link_status(element, open_=True)
                m.release_link(element)
        elif kind is IncidentType.BOOSTER_FAILURE:
            room = self.layout.pump_room(element)
            for m in models.hydraulic:
                for pump in room.duty_pumps:
                    m.set_link_status(pump, open_=True)
                for pump in (*room.duty_pumps, *room.standby_pumps):
                    m.release_link(pump)
        elif kind is IncidentType.PRV_FAILURE:
            setting_m = float(self.net.valves["setting"].astype(float)[element])
            for m in models.hydraulic:
                m.release_link(element)
                m.set_link_setting(element, setting_m)  # an active PRV again
        elif kind is IncidentType.CONTAMINATION and models.tracer is not None:
            models.tracer.set_source_quality(element, 0.0, source_type="setpoint")
        elif kind is IncidentType.CHLORINE_LOSS:
            models.main.set_source_quality(self.layout.plant.clearwell, self._before["dose"],
                                           source_type="setpoint")
        elif kind is IncidentType.SOURCE_OUTAGE:
            source = _source_of(self.layout, element)
            for m in models.hydraulic:
                for link in source.outlet_links:
                    m.set_link_status(link, open_=True)
                    m.release_link(link)
            if "backup_started" in self._before:
                for backup in self.layout.sources:
                    if backup.backup:
                        for m in models.hydraulic:
                            for pump in backup.pumps:
                                m.set_link_status(pump, open_=False)

    def distort(self, value: float, time_s: int) -> float:
        """A faulty sensor's reading given what it would read when sound."""
        if self.type is IncidentType.SENSOR_STUCK:
            if self.stuck_value is None:
                self.stuck_value = value
            return self.stuck_value
        if self.type is IncidentType.SENSOR_DRIFT:
            return value + self.incident.size * (time_s - self.incident.start_s) / 86_400.0
        return value

    def _add_emitter(self, models: Models, area_m2: float) -> None:
        self._before["emitter"] = models.main.emitter_coeff(self.incident.element)
        coeff = DISCHARGE_COEFF * area_m2 * math.sqrt(2 * G_MS2)
        for m in models.hydraulic:
            m.set_emitter(self.incident.element, self._before["emitter"] + coeff)


def _source_of(layout: UtilityLayout, element: str) -> WaterSource:
    for source in layout.sources:
        if element in (source.id, source.node):
            return source
    raise IncidentError(f"no source {element!r}")


def check_request(request: IncidentRequest, layout: UtilityLayout, net: Network) -> None:
    """Refuse a request whose element does not fit its type (naming both).

    Raises
    ------
    IncidentError
        e.g. a burst on a pump, a trip of a pipe, an unknown sensor.
    """
    kind, element = request.type, request.element
    sensors = {s.id for s in layout.sensors}
    prvs = set(layout.prvs)
    fits = {
        IncidentType.PIPE_BURST: element in net.junctions.index,
        IncidentType.BACKGROUND_LEAK: element in net.junctions.index,
        IncidentType.PUMP_TRIP: element in net.pumps.index,
        IncidentType.BOOSTER_FAILURE: element in {r.id for r in layout.pump_rooms},
        IncidentType.PRV_FAILURE: element in prvs,
        IncidentType.CONTAMINATION: element in net.junctions.index
        or element in net.reservoirs.index,
        IncidentType.CHLORINE_LOSS: element in (layout.plant.id, layout.plant.clearwell),
        IncidentType.SENSOR_STUCK: element in sensors,
        IncidentType.SENSOR_DRIFT: element in sensors,
        IncidentType.SOURCE_OUTAGE: any(element in (s.id, s.node) for s in layout.sources
                                        if not s.backup),
    }[kind]
    if not fits:
        wanted = {
            IncidentType.PIPE_BURST: "a junction", IncidentType.BACKGROUND_LEAK: "a junction",
            IncidentType.PUMP_TRIP: "a pump",
            IncidentType.BOOSTER_FAILURE: "a pump room ("
            + ", ".join(r.id for r in layout.pump_rooms) + ")",
            IncidentType.PRV_FAILURE: "a PRV (" + ", ".join(layout.prvs) + ")",
            IncidentType.CONTAMINATION: "a junction or reservoir",
            IncidentType.CHLORINE_LOSS: f"the plant {layout.plant.id}",
            IncidentType.SENSOR_STUCK: "a sensor id", IncidentType.SENSOR_DRIFT: "a sensor id",
            IncidentType.SOURCE_OUTAGE: "a main source ("
            + ", ".join(s.node for s in layout.sources if not s.backup) + ")",
        }[kind]
        raise IncidentError(f"{kind.value} at {element!r}: the element must be {wanted}")
    after = request.parameters.get("backup_after_s")
    if after is not None and after != "never" and not after.isdigit():
        raise IncidentError(f"{kind.value}: backup_after_s must be seconds or 'never'")


class IncidentBook:
    """The ground truth: every incident with its start, end and size, in order of start."""

    def __init__(self) -> None:
        self._records: list[Incident] = []

    def open(self, request: IncidentRequest, start_s: int) -> Incident:
        """Record a new incident starting at ``start_s`` [s]."""
        size = DEFAULT_SIZE[request.type] if request.size is None else float(request.size)
        end_s = None if request.duration_s is None else start_s + int(request.duration_s)
        incident = Incident(f"INC-{len(self._records) + 1:04d}", request.type, request.element,
                            start_s, end_s, size, dict(request.parameters))
        self._records.append(incident)
        return incident

    def close(self, incident_id: str, end_s: int) -> Incident:
        """Record the end of an incident (``UnknownElementError`` for an unknown id)."""
        for i, incident in enumerate(self._records):
            if incident.id == incident_id:
                self._records[i] = replace(incident, end_s=end_s)
                return self._records[i]
        raise UnknownElementError("incident", incident_id)

    @property
    def incidents(self) -> list[Incident]:
        """All incidents so far, in order of start."""
        return list(self._records)

    def csv_text(self, start: datetime, until_s: int | None = None) -> str:
        """``incidents.csv``: one row per incident, times as ISO 8601 UTC and as seconds.

        Columns: id, type, element, start, end, start_s, end_s, size, size_unit, parameters
        (JSON). ``end`` is empty for an incident still under way (at ``until_s`` [s], the end
        of the data, when given).
        """
        lines = ["id,type,element,start,end,start_s,end_s,size,size_unit,parameters"]
        for inc in self._records:
            if until_s is not None and inc.end_s is not None and inc.end_s > until_s:
                inc = replace(inc, end_s=None)
            begin = (start + timedelta(seconds=inc.start_s)).isoformat()
            end = "" if inc.end_s is None else (start + timedelta(seconds=inc.end_s)).isoformat()
            end_s = "" if inc.end_s is None else str(inc.end_s)
            params = json.dumps(inc.parameters, sort_keys=True).replace('"', '""')
            lines.append(f"{inc.id},{inc.type.value},{inc.element},{begin},{end},"
                         f"{inc.start_s},{end_s},{inc.size:g},{inc.size_unit},\"{params}\"")
        return "\n".join(lines) + "\n"


class RandomIncidents:
    """Random incidents at ``rate_per_day`` on average (a Poisson process), seeded.

    Types are drawn with utility-like weights (bursts and sensor faults common, source outages
    rare); elements from what each type fits; durations 2-12 h (leaks 3-10 days).
    """

    WEIGHTS: ClassVar[dict[IncidentType, float]] = {
        IncidentType.PIPE_BURST: 3.0, IncidentType.BACKGROUND_LEAK: 2.0,
        IncidentType.PUMP_TRIP: 1.0, IncidentType.BOOSTER_FAILURE: 1.0,
        IncidentType.PRV_FAILURE: 0.5, IncidentType.CONTAMINATION: 0.3,
        IncidentType.CHLORINE_LOSS: 0.5, IncidentType.SENSOR_STUCK: 1.5,
        IncidentType.SENSOR_DRIFT: 1.5, IncidentType.SOURCE_OUTAGE: 0.2,
    }

    def __init__(self, layout: UtilityLayout, net: Network, rate_per_day: float,
                 rng: np.random.Generator) -> None:
        self.rate_per_day = rate_per_day
        self.rng = rng
        self.layout = layout
        demand = net.junctions["base_demand_m3s"].astype(float)
        self.junctions = sorted(str(j) for j in demand.index[demand > 0]
                                if str(j).startswith("JUNCTION-"))
        self.boosters = sorted(p for p in net.pumps.index if str(p).startswith("PUMP-")
                               and p not in layout.plant.high_lift_pumps)
        self.sensors = sorted(s.id for s in layout.sensors
                              if s.quantity.value in ("pressure", "flow", "level", "chlorine"))
        self.types = list(self.WEIGHTS)
        weights = np.array(list(self.WEIGHTS.values()))
        self.p = weights / weights.sum()

    def draw(self, step_s: int) -> list[IncidentRequest]:
        """The incidents starting in the next ``step_s`` [s] (usually none)."""
        count = int(self.rng.poisson(self.rate_per_day * step_s / 86_400.0))
        return [self._one() for _ in range(count)]

    def _one(self) -> IncidentRequest:
        rng = self.rng
        kind = self.types[int(rng.choice(len(self.types), p=self.p))]
        hours = int(rng.integers(2, 13))
        duration_s = hours * 3600
        size: float | None = None
        element: str
        if kind in (IncidentType.PIPE_BURST, IncidentType.CONTAMINATION):
            element = self._pick(self.junctions)
            size = (round(float(rng.uniform(0.0005, 0.004)), 5)
                    if kind is IncidentType.PIPE_BURST else round(float(rng.uniform(5, 100)), 1))
        elif kind is IncidentType.BACKGROUND_LEAK:
            element = self._pick(self.junctions)
            size = round(float(rng.uniform(2e-5, 2e-4)), 6)
            duration_s = int(rng.integers(3, 11)) * 86_400
        elif kind is IncidentType.PUMP_TRIP:
            element = self._pick(self.boosters)
        elif kind is IncidentType.BOOSTER_FAILURE:
            element = self._pick([r.id for r in self.layout.pump_rooms])
        elif kind is IncidentType.PRV_FAILURE:
            element = self._pick(list(self.layout.prvs))
        elif kind is IncidentType.CHLORINE_LOSS:
            element, size = self.layout.plant.id, round(float(rng.uniform(0.0, 0.3)), 2)
        elif kind is IncidentType.SOURCE_OUTAGE:
            element = next(s.node for s in self.layout.sources if not s.backup)
        else:
            element = self._pick(self.sensors)
            if kind is IncidentType.SENSOR_DRIFT:
                size = round(float(rng.uniform(0.2, 2.0)), 2)
        return IncidentRequest(kind, element, size, duration_s)

    def _pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]
