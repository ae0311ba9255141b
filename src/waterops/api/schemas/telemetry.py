"""Sensors and readings at the HTTP edge (values in SI with their unit)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SensorPublic(BaseModel):
    """A registered sensor."""

    id: str
    system_id: str
    quantity: str
    unit: str = Field(description="SI unit of its values")
    site_id: str | None
    element_kind: str | None = Field(description="node or link")
    element_id: str | None
    lower: float | None
    upper: float | None
    interval_s: float | None = Field(description="expected reporting interval [s]")
    name: str


class ReadingPublic(BaseModel):
    """One reading (SI) with its quality flags (0 good; 1 out of range, 2 flatline, 4 spike,
    8 gap)."""

    sensor_id: str
    time: datetime
    value: float | None
    unit: str
    flags: int


class LatestPublic(BaseModel):
    """The latest reading of each sensor asked for (sensors without readings are left out)."""

    items: list[ReadingPublic]


class SeriesPointPublic(BaseModel):
    """One interval of a series: mean, min, max and count of the readings in it."""

    time: datetime = Field(description="interval start (UTC)")
    mean: float | None
    min: float | None
    max: float | None
    count: int


class TwinPointPublic(BaseModel):
    """The twin's modelled value of the sensor at one update."""

    time: datetime
    value: float


class SeriesPublic(BaseModel):
    """A sensor's readings rolled up per interval, and the twin's values if asked."""

    sensor_id: str
    quantity: str
    unit: str
    every_s: int
    points: list[SeriesPointPublic]
    twin: list[TwinPointPublic] | None = Field(
        description="the twin's modelled values in the same window (with_twin=true)")


class IngestPublic(BaseModel):
    """What became of a batch of readings."""

    received: int
    stored: int = Field(description="new readings stored")
    duplicates: int = Field(description="readings already stored (sending again is harmless)")
