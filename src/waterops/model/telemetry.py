"""Telemetry vocabulary: systems, sites, sensors, readings and quality flags (no I/O).

Values inside waterops are SI (see :mod:`waterops.units`): pressure as metres of water head,
flow in m³/s, level in m, concentrations in mg/L. Times are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Quantity(enum.StrEnum):
    """What a sensor measures; each has one SI unit inside waterops (:data:`SI_UNIT`)."""

    PRESSURE = "pressure"
    FLOW = "flow"
    LEVEL = "level"
    CHLORINE = "chlorine"
    TURBIDITY = "turbidity"
    PH = "ph"
    CONDUCTIVITY = "conductivity"
    TEMPERATURE = "temperature"
    PUMP_STATUS = "pump_status"
    PUMP_SPEED = "pump_speed"
    VALVE_POSITION = "valve_position"
    POWER = "power"


SI_UNIT: dict[Quantity, str] = {
    Quantity.PRESSURE: "m",  # metres of water head
    Quantity.FLOW: "m3/s",
    Quantity.LEVEL: "m",
    Quantity.CHLORINE: "mg/L",
    Quantity.TURBIDITY: "NTU",
    Quantity.PH: "1",
    Quantity.CONDUCTIVITY: "uS/cm",
    Quantity.TEMPERATURE: "degC",
    Quantity.PUMP_STATUS: "bool",  # 1 running, 0 stopped
    Quantity.PUMP_SPEED: "1",  # relative speed, 1.0 = nominal
    Quantity.VALVE_POSITION: "1",  # fraction open, 0..1
    Quantity.POWER: "W",
}
"""The unit every stored value of a quantity is in."""


class SiteKind(enum.StrEnum):
    """Kinds of places where sensors sit."""

    SOURCE_INTAKE = "source_intake"
    RESERVOIR = "reservoir"
    TREATMENT_PLANT = "treatment_plant"
    TRUNK_MAIN = "trunk_main"
    TANK = "tank"
    PUMP_STATION = "pump_station"
    DMA_INLET = "dma_inlet"
    PUMP_ROOM = "pump_room"  # secondary supply: building tank + booster set (二次供水泵房)
    MONITORING_POINT = "monitoring_point"


class QualityFlag(enum.IntFlag):
    """Data-quality flags stored beside a reading; the raw value is never changed.

    ``GOOD`` (0) means no flag. Flags combine: ``SPIKE | OUT_OF_RANGE``.
    """

    GOOD = 0
    OUT_OF_RANGE = 1  # outside the sensor's physical/configured limits
    FLATLINE = 2  # value unchanged for longer than the sensor's flatline window (stuck sensor)
    SPIKE = 4  # isolated jump far from its neighbours
    GAP = 8  # the reading follows a gap longer than the expected interval


@dataclass(frozen=True, slots=True)
class WaterSystem:
    """One water system of an installation (a city network, a rural township system)."""

    id: str
    name: str
    network_file: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """A place with sensors. ``x``/``y`` are in the system's map coordinates."""

    id: str
    system_id: str
    kind: SiteKind
    name: str
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True, slots=True)
class Sensor:
    """A sensor with a stable id.

    ``element_id`` is the network node or link it measures (``element_kind`` "node" or
    "link"); ``lower``/``upper`` are plausible limits in SI (for the out-of-range flag);
    ``interval_s`` the expected reporting interval (for the gap flag).
    """

    id: str
    system_id: str
    quantity: Quantity
    site_id: str | None = None
    element_kind: str | None = None
    element_id: str | None = None
    lower: float | None = None
    upper: float | None = None
    interval_s: float | None = None
    name: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        """The SI unit of this sensor's stored values."""
        return SI_UNIT[self.quantity]


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value, already in SI. ``time`` is timezone-aware UTC."""

    sensor_id: str
    time: datetime
    value: float
    flags: QualityFlag = QualityFlag.GOOD
