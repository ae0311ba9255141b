"""Schemas of ``/network``: summary, compact map, one element (SI units)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SourcePublic(BaseModel):
    """A source node (reservoir) and its role in the utility."""

    node_id: str
    source_id: str | None = Field(description="the utility's source id, when a layout is known")
    kind: str = Field(description="reservoir or river")
    backup: bool
    head_m: float | None = Field(description="fixed head [m]")


class NetworkSummaryPublic(BaseModel):
    """Counts and sizes of the network."""

    name: str
    crs: str | None = Field(description="coordinate reference system of x, y (e.g. EPSG:4547)")
    counts: dict[str, int]
    pipe_length_km: float
    sources: list[SourcePublic]
    tanks: list[str]
    pumps: list[str]
    dmas: int
    pump_rooms: int
    sensors: int
    customers: int


class MarkerPublic(BaseModel):
    """A sensor, pump room, source or the plant, drawn at its network element."""

    id: str
    kind: str = Field(description="sensor, pump_room, source or plant")
    element_id: str
    x: float | None
    y: float | None
    label: str
    quantity: str | None = Field(description="what a sensor measures (null for others)")


class NetworkMapPublic(BaseModel):
    """The whole network as parallel arrays: ``node_*`` aligned with ``node_ids``, ``link_*``
    with ``link_ids`` (the same order as ``/twin/nodes`` and ``/twin/links``)."""

    crs: str | None
    node_ids: list[str]
    node_x: list[float | None]
    node_y: list[float | None]
    node_kind: list[str] = Field(description="junction, reservoir or tank")
    link_ids: list[str]
    link_kind: list[str] = Field(description="pipe, pump or valve")
    link_from: list[str]
    link_to: list[str]
    link_vertices: list[list[list[float]]] = Field(
        description="interior points [[x, y], ...] of each link (often empty)")
    link_diameter_m: list[float | None]
    link_length_m: list[float | None] = Field(description="pipes only (null for pumps, valves)")
    markers: list[MarkerPublic]


class ElementPublic(BaseModel):
    """One node or link with its properties (SI), sensors, DMA and the twin's values."""

    id: str
    element: str = Field(description="node or link")
    kind: str = Field(description="junction, reservoir, tank, pipe, pump or valve")
    properties: dict[str, Any]
    sensors: list[str]
    dma: str | None
    twin: dict[str, float | None] | None = Field(
        description="latest twin values (pressure_m, head_m, demand_m3s, water_age_s; "
        "flow_m3s, velocity_ms), null when no twin runs")
