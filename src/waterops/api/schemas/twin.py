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


class EngineWarningPublic(BaseModel):
    """Something EPANET warned about while the twin solved an update."""

    kind: str = Field(description="unbalanced, unstable, negative_pressure, disconnected, "
                      "pump_beyond_curve, valve or other")
    element: str | None = Field(description="node or link concerned; null: the whole system")
    time_s: int = Field(description="simulated seconds of the solve that warned")
    message: str = Field(description="EPANET's words")


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
    hydraulics_converged: bool = Field(
        description="whether EPANET balanced every period it solved for this update; false: "
        "the state (pressures, flows, residuals, DMA estimates) may be meaningless")
    unconverged_updates: int = Field(
        description="consecutive updates, this one included, that did not converge")
    engine_warnings: list[EngineWarningPublic]


class TwinValuesPublic(BaseModel):
    """One quantity of the twin, aligned with ``/network/map``'s ``node_ids`` or
    ``link_ids`` (null where the twin has no value)."""

    time: datetime
    hydraulics_converged: bool = Field(
        description="whether the twin's hydraulics converged at this state (see /twin/state)")
    quantity: str
    unit: str
    ids: list[str]
    values: list[float | None]
