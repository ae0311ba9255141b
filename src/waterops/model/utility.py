"""The layout of a water utility laid over its network model, and incident records (no I/O).

A :class:`UtilityLayout` says what the network's elements *are* to the utility: which
reservoir is the main source and which the backup, where the treatment plant is, which
junctions form each district metered area (DMA) and which links are its metered inlets, the
secondary-supply pump rooms of high-rise communities, the customers (households and
enterprises, with accounts and meters) attached to nodes, and the sensors. The virtual demo
utility builds one (:mod:`waterops.service.virtual_utility`); a real utility would read its
own from its asset registry.

An :class:`Incident` is the ground truth of something that happened to the network or to a
sensor: type, element, start and end [s of simulation time], size and parameters. Detection
methods are scored against these records.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from waterops.model.telemetry import Sensor, Site, WaterSystem


@dataclass(frozen=True, slots=True)
class MeteredInlet:
    """A link crossing a DMA boundary, with a flow meter.

    ``sign`` is +1 when the link's positive flow direction (node 1 -> node 2) enters the DMA,
    -1 when it leaves it: DMA inflow [m³/s] = Σ sign x link flow.
    """

    link_id: str
    sign: int


@dataclass(frozen=True, slots=True)
class Dma:
    """A district metered area (分区计量): junctions and the metered links across its boundary.

    ``pressure_node`` is the junction next to the main inlet where the inlet pressure is
    logged; ``critical_node`` the junction with the lowest pressure at peak demand (the
    "critical point" a utility watches).
    """

    id: str
    system_id: str
    junctions: tuple[str, ...]
    inlets: tuple[MeteredInlet, ...]
    pressure_node: str
    critical_node: str


@dataclass(frozen=True, slots=True)
class PumpRoom:
    """A secondary-supply pump room (二次供水泵房) of a high-rise community.

    ``feed_link`` brings city water into the building tank ``building_tank``; the booster set
    (``duty_pumps`` running, ``standby_pumps`` closed) lifts it to ``served_node``, the
    building's high zone.
    """

    id: str
    city_node: str
    feed_link: str
    building_tank: str
    duty_pumps: tuple[str, ...]
    standby_pumps: tuple[str, ...]
    served_node: str


class SourceKind(enum.StrEnum):
    """Kinds of raw-water source."""

    RESERVOIR = "reservoir"
    RIVER = "river"


@dataclass(frozen=True, slots=True)
class WaterSource:
    """A raw-water source (水源): its network node, the link that meters what it sends (the
    trunk main's first pipe or the intake pumps) and whether it is the backup."""

    id: str
    kind: SourceKind
    node: str
    outlet_links: tuple[str, ...]
    pumps: tuple[str, ...] = ()
    backup: bool = False
    main_links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TreatmentPlant:
    """A water treatment plant: inlet node, production valve, clear-water tank, high-lift
    pumps and its processes (e.g. ``("ozone", "activated carbon")``)."""

    id: str
    inlet_node: str
    production_valve: str
    clearwell: str
    high_lift_pumps: tuple[str, ...]
    processes: tuple[str, ...]


class CustomerKind(enum.StrEnum):
    """Household (居民) or enterprise (非居民) customer."""

    HOUSEHOLD = "household"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer account with its meter, attached to a network node.

    ``share`` is the fraction of the node's demand this account draws [0-1]; ``amr`` says
    whether the meter is read automatically (AMR, hourly) or by hand (monthly).
    """

    account_id: str
    kind: CustomerKind
    name: str
    node: str
    meter_id: str
    share: float
    amr: bool = False


class CriticalUserKind(enum.StrEnum):
    """Users who must be told first and kept supplied (tankers) when their water stops."""

    HOSPITAL = "hospital"
    SCHOOL = "school"


@dataclass(frozen=True, slots=True)
class CriticalUser:
    """A critical user (hospital, school …) supplied from a network node.

    It is a place, not an account: its meters may be among the customers too.
    """

    id: str
    kind: CriticalUserKind
    name: str
    node: str


class IncidentType(enum.StrEnum):
    """What can happen to the virtual utility (and what detection methods look for)."""

    PIPE_BURST = "pipe_burst"
    BACKGROUND_LEAK = "background_leak"
    PUMP_TRIP = "pump_trip"
    BOOSTER_FAILURE = "booster_failure"
    PRV_FAILURE = "prv_failure"
    CONTAMINATION = "contamination"
    CHLORINE_LOSS = "chlorine_loss"
    SENSOR_STUCK = "sensor_stuck"
    SENSOR_DRIFT = "sensor_drift"
    SOURCE_OUTAGE = "source_outage"


INCIDENT_SIZE_UNIT: dict[IncidentType, str] = {
    IncidentType.PIPE_BURST: "m2",  # orifice area of the break
    IncidentType.BACKGROUND_LEAK: "m2/d",  # growth of the leak's orifice area per day
    IncidentType.PUMP_TRIP: "1",  # (always 1: the pump stops)
    IncidentType.BOOSTER_FAILURE: "1",
    IncidentType.PRV_FAILURE: "1",  # the valve sticks fully open
    IncidentType.CONTAMINATION: "mg/L",  # tracer concentration injected
    IncidentType.CHLORINE_LOSS: "mg/L",  # chlorine dose left at the plant outlet
    IncidentType.SENSOR_STUCK: "1",
    IncidentType.SENSOR_DRIFT: "unit/d",  # drift rate in the sensor's SI unit per day
    IncidentType.SOURCE_OUTAGE: "1",
}
"""What :attr:`Incident.size` means for each type (unit)."""


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth of one incident.

    Attributes
    ----------
    id : stable id (``INC-0001``)
    type : what happened
    element : network element (node or link id) or sensor id it happened to
    start_s : simulation time it started [s]
    end_s : simulation time it ended [s], ``None`` while it lasts
    size : its size, in :data:`INCIDENT_SIZE_UNIT` of its type
    parameters : further details (e.g. the pipe a burst is on), as text
    """

    id: str
    type: IncidentType
    element: str
    start_s: int
    end_s: int | None
    size: float
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def size_unit(self) -> str:
        """The unit of :attr:`size`."""
        return INCIDENT_SIZE_UNIT[self.type]

    def active_at(self, time_s: int) -> bool:
        """Whether the incident is under way at ``time_s`` [s]."""
        return self.start_s <= time_s and (self.end_s is None or time_s < self.end_s)


@dataclass(frozen=True, slots=True)
class UtilityLayout:
    """Everything the utility knows about its assets, laid over one network file."""

    name: str
    network_file: str
    crs: str | None
    systems: tuple[WaterSystem, ...]
    sources: tuple[WaterSource, ...]
    plant: TreatmentPlant
    dmas: tuple[Dma, ...]
    pump_rooms: tuple[PumpRoom, ...]
    customers: tuple[Customer, ...]
    sites: tuple[Site, ...]
    sensors: tuple[Sensor, ...]
    prvs: tuple[str, ...] = ()
    township_system_id: str | None = None
    critical_users: tuple[CriticalUser, ...] = ()

    def sensor(self, sensor_id: str) -> Sensor:
        """The sensor with ``sensor_id`` (``KeyError`` if there is none)."""
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def dma_of(self, node_id: str) -> Dma | None:
        """The DMA a junction belongs to, or ``None``."""
        for dma in self.dmas:
            if node_id in dma.junctions:
                return dma
        return None

    def pump_room(self, room_id: str) -> PumpRoom:
        """The pump room with ``room_id`` (``KeyError`` if there is none)."""
        for room in self.pump_rooms:
            if room.id == room_id:
                return room
        raise KeyError(room_id)
