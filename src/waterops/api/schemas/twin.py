"""The digital twin's state at the HTTP edge (SI units)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DmaEstimatePublic(BaseModel):
    """The twin's estimate of one DMA's demand."""

    dma_id: str
    multiplier: float | None = Field(description="demand multiplier in use [1]")
    multiplier_sd: float | None
    inflow_m3s: float | None = Field(description="measured mass balance [m³/s]")
    estimated: bool = Field(description="whether this update had all its inlet meters")


class ResidualPublic(BaseModel):
    """Measured against modelled, for one sensor."""

    sensor_id: str
    quantity: str
    element_id: str | None
    measured: float | None
    model: float | None
    residual: float | None
    z: float | None = Field(description="innovation scored against the sensor's history")


class TwinStatePublic(BaseModel):
    """The twin's latest picture of the network."""

    time: datetime = Field(description="utility time of the state (UTC)")
    time_s: int = Field(description="simulated seconds since the twin's start day")
    dmas: list[DmaEstimatePublic]
    residuals: list[ResidualPublic]
    largest_abs_z: float | None
    source_shares: dict[str, float] = Field(
        description="share of the water delivered now from each source node [0-1]")
    released_controls: list[str]


class TwinValuesPublic(BaseModel):
    """One quantity of the twin, aligned with ``/network/map``'s ``node_ids`` or
    ``link_ids`` (null where the twin has no value)."""

    time: datetime
    quantity: str
    unit: str
    ids: list[str]
    values: list[float | None]
