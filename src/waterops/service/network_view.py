"""The network as the operations centre draws it: a summary, a compact map, one element's
details, and twin values aligned with the map (SI units).

The map is built once per network (:func:`network_map`, cached by the caller) as parallel
arrays, so the whole 3,473-node demo network goes to a browser in one small JSON document:
node ids, x, y, kind; link ids, kind, end nodes, vertices, diameter and length; markers for
sensors, pump rooms, sources and the plant at their element's position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from waterops.errors import LiveSystemError, RecordNotFoundError
from waterops.model.network import Network
from waterops.model.network_summary import element_counts
from waterops.model.telemetry import Sensor
from waterops.model.utility import UtilityLayout
from waterops.service.twin import TwinState

NODE_QUANTITIES = ("pressure", "head", "demand", "water_age", "chlorine")
LINK_QUANTITIES = ("flow", "velocity")


@dataclass(frozen=True)
class Marker:
    """Something drawn on the map at an element: a sensor, a pump room, a source, the plant."""

    id: str
    kind: str
    element_id: str
    x: float | None
    y: float | None
    label: str = ""
    quantity: str | None = None


@dataclass(frozen=True)
class NetworkMap:
    """The network as parallel arrays (coordinates in the network file's own CRS)."""

    crs: str | None
    node_ids: list[str]
    node_x: list[float | None]
    node_y: list[float | None]
    node_kind: list[str]
    link_ids: list[str]
    link_kind: list[str]
    link_from: list[str]
    link_to: list[str]
    link_vertices: list[list[list[float]]]
    link_diameter_m: list[float | None]
    link_length_m: list[float | None]
    markers: list[Marker] = field(default_factory=list)


@dataclass(frozen=True)
class NetworkSummary:
    """Counts and sizes of a network."""

    name: str
    crs: str | None
    counts: dict[str, int]
    pipe_length_km: float
    sources: list[dict[str, Any]]
    tanks: list[str]
    pumps: list[str]
    dmas: int
    pump_rooms: int
    sensors: int
    customers: int


def _float(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def network_summary(net: Network, layout: UtilityLayout | None, name: str) -> NetworkSummary:
    """Counts, km of pipe, sources (with the layout's roles when known), tanks and pumps."""
    roles = {s.node: s for s in layout.sources} if layout is not None else {}
    sources = []
    for node in net.reservoirs.index:
        role = roles.get(str(node))
        sources.append({"node_id": str(node), "source_id": role.id if role else None,
                        "kind": role.kind.value if role else "reservoir",
                        "backup": bool(role.backup) if role else False,
                        "head_m": _float(net.reservoirs.at[node, "head_m"])})
    return NetworkSummary(
        name=name, crs=layout.crs if layout is not None else None,
        counts=element_counts(net),
        pipe_length_km=float(net.pipes["length_m"].sum()) / 1e3,
        sources=sources, tanks=[str(t) for t in net.tanks.index],
        pumps=[str(p) for p in net.pumps.index],
        dmas=len(layout.dmas) if layout else 0,
        pump_rooms=len(layout.pump_rooms) if layout else 0,
        sensors=len(layout.sensors) if layout else 0,
        customers=len(layout.customers) if layout else 0,
    )


def network_map(net: Network, layout: UtilityLayout | None,
                sensors: list[Sensor] | None = None, crs: str | None = None) -> NetworkMap:
    """The compact map of ``net``; markers from ``layout`` (else from ``sensors`` alone)."""
    xy = net.coordinates
    kinds = ([("junction", net.junctions.index), ("reservoir", net.reservoirs.index),
              ("tank", net.tanks.index)])
    node_ids: list[str] = []
    node_kind: list[str] = []
    for kind, index in kinds:
        node_ids.extend(str(i) for i in index)
        node_kind.extend([kind] * len(index))
    coords = xy.reindex(node_ids)
    node_x = [_float(v) for v in coords["x"].to_numpy(dtype=float)]
    node_y = [_float(v) for v in coords["y"].to_numpy(dtype=float)]
    links = net.link_table()
    vertices: dict[str, list[list[float]]] = {}
    if len(net.vertices):
        for link, x, y in net.vertices[["link", "x", "y"]].itertuples(index=False):
            vertices.setdefault(str(link), []).append([float(x), float(y)])
    diameter = pd.concat([net.pipes["diameter_m"], net.valves["diameter_m"]])
    length = net.pipes["length_m"]
    link_ids = [str(i) for i in links.index]
    position = {n: (x, y) for n, x, y in zip(node_ids, node_x, node_y, strict=True)}
    markers = _markers(layout, sensors or (list(layout.sensors) if layout else []), position,
                       set(link_ids), links)
    return NetworkMap(
        crs=crs if crs is not None else (layout.crs if layout is not None else None),
        node_ids=node_ids, node_x=node_x, node_y=node_y, node_kind=node_kind,
        link_ids=link_ids, link_kind=[str(k) for k in links["kind"]],
        link_from=[str(n) for n in links["node1"]], link_to=[str(n) for n in links["node2"]],
        link_vertices=[vertices.get(i, []) for i in link_ids],
        link_diameter_m=[_float(diameter[i]) if i in diameter.index else None
                         for i in link_ids],
        link_length_m=[_float(length[i]) if i in length.index else None for i in link_ids],
        markers=markers,
    )


def _element_xy(element: str, position: dict[str, tuple[float | None, float | None]],
                links: pd.DataFrame) -> tuple[float | None, float | None]:
    """A node's position, or a link's midpoint between its end nodes."""
    if element in position:
        return position[element]
    if element in links.index:
        (x1, y1) = position.get(str(links.at[element, "node1"]), (None, None))
        (x2, y2) = position.get(str(links.at[element, "node2"]), (None, None))
        if None not in (x1, y1, x2, y2):
            return ((x1 or 0.0) + (x2 or 0.0)) / 2, ((y1 or 0.0) + (y2 or 0.0)) / 2
    return None, None


def _markers(layout: UtilityLayout | None, sensors: list[Sensor],
             position: dict[str, tuple[float | None, float | None]], link_ids: set[str],
             links: pd.DataFrame) -> list[Marker]:
    out: list[Marker] = []
    for s in sensors:
        if s.element_id is None or (s.element_id not in position and s.element_id not in
                                    link_ids):
            continue
        x, y = _element_xy(s.element_id, position, links)
        out.append(Marker(s.id, "sensor", s.element_id, x, y, s.name, s.quantity.value))
    if layout is None:
        return out
    for room in layout.pump_rooms:
        x, y = _element_xy(room.city_node, position, links)
        out.append(Marker(room.id, "pump_room", room.city_node, x, y, room.id))
    for src in layout.sources:
        x, y = _element_xy(src.node, position, links)
        out.append(Marker(src.id, "source", src.node, x, y,
                          f"{src.kind.value}{' (backup)' if src.backup else ''}"))
    plant = layout.plant
    x, y = _element_xy(plant.clearwell, position, links)
    out.append(Marker(plant.id, "plant", plant.clearwell, x, y, ", ".join(plant.processes)))
    return out


def element_details(net: Network, element_id: str, layout: UtilityLayout | None,
                    twin: TwinState | None) -> dict[str, Any]:
    """One node or link: its kind, its row of the network tables (SI), its sensors, its DMA,
    and the twin's latest values for it when a twin runs."""
    node_tables = {"junction": net.junctions, "reservoir": net.reservoirs, "tank": net.tanks}
    link_tables = {"pipe": net.pipes, "pump": net.pumps, "valve": net.valves}
    found = next(((k, t) for k, t in (*node_tables.items(), *link_tables.items())
                  if element_id in t.index), None)
    if found is None:
        raise RecordNotFoundError("network element", element_id)
    kind, table = found
    is_node = kind in node_tables
    row = {k: _plain(v) for k, v in table.loc[element_id].items()}
    if is_node and element_id in net.coordinates.index:
        row["x"] = _float(net.coordinates.at[element_id, "x"])
        row["y"] = _float(net.coordinates.at[element_id, "y"])
    details: dict[str, Any] = {"id": element_id, "element": "node" if is_node else "link",
                               "kind": kind, "properties": row, "sensors": [], "dma": None,
                               "twin": None}
    if layout is not None:
        details["sensors"] = [s.id for s in layout.sensors if s.element_id == element_id]
        dma = layout.dma_of(element_id) if kind == "junction" else None
        details["dma"] = dma.id if dma is not None else None
    if twin is not None:
        details["twin"] = _twin_values(twin, element_id, is_node, net)
    return details


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


def _twin_values(twin: TwinState, element_id: str, is_node: bool,
                 net: Network) -> dict[str, float | None]:
    if is_node:
        out = {"pressure_m": twin.pressure_m.get(element_id), "head_m": twin.head_m.get(element_id),
               "demand_m3s": twin.demand_m3s.get(element_id),
               "water_age_s": None if twin.water_age_s is None
               else twin.water_age_s.get(element_id)}
        if element_id in twin.tank_level_m.index:
            out["tank_level_m"] = twin.tank_level_m.get(element_id)
    else:
        flow = twin.flow_m3s.get(element_id)
        out = {"flow_m3s": flow, "velocity_ms": _velocity(net, element_id, flow)}
    return {k: None if v is None else _float(v) for k, v in out.items()}


def _velocity(net: Network, link_id: str, flow_m3s: float | None) -> float | None:
    if flow_m3s is None:
        return None
    for table in (net.pipes, net.valves):
        if link_id in table.index:
            d = float(table["diameter_m"].to_numpy(dtype=float)[table.index.get_loc(link_id)])
            return abs(flow_m3s) / (math.pi * d * d / 4) if d > 0 else None
    return None


def node_values(twin: TwinState, node_ids: list[str], quantity: str) -> list[float | None]:
    """The twin's ``quantity`` at each of ``node_ids`` (``None`` where it has none).

    Quantities: ``pressure`` [m], ``head`` [m], ``demand`` [m³/s], ``water_age`` [s];
    ``chlorine`` is refused (the twin follows hydraulics and water age, not chlorine).
    """
    if quantity == "chlorine":
        raise LiveSystemError("the twin does not model chlorine (it runs hydraulics, water "
                              "age and source shares); chlorine comes from the sensors: "
                              "GET /telemetry/latest")
    series = {"pressure": twin.pressure_m, "head": twin.head_m, "demand": twin.demand_m3s,
              "water_age": twin.water_age_s}.get(quantity)
    if series is None:
        raise LiveSystemError(f"the twin has no {quantity} (water age is off)"
                              if quantity == "water_age" else f"unknown quantity {quantity!r}")
    return _aligned(series, node_ids)


def link_values(twin: TwinState, net: Network, link_ids: list[str],
                quantity: str) -> list[float | None]:
    """The twin's ``flow`` [m³/s, + from start to end node] or ``velocity`` [m/s, magnitude;
    pipes and valves only] of each of ``link_ids``."""
    flows = _aligned(twin.flow_m3s, link_ids)
    if quantity == "flow":
        return flows
    diameter = pd.concat([net.pipes["diameter_m"], net.valves["diameter_m"]])
    d = diameter.reindex(link_ids).to_numpy(dtype=float)
    q = np.array([np.nan if f is None else f for f in flows], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.abs(q) / (np.pi * d * d / 4)
    return [_float(x) for x in v]


def _aligned(series: pd.Series, ids: list[str]) -> list[float | None]:
    values = series.reindex(ids).to_numpy(dtype=float)
    return [float(v) if math.isfinite(v) else None for v in values]


def source_shares(twin: TwinState) -> dict[str, float]:
    """Each source's share of the water delivered to customers now [0-1]: demand-weighted
    mean of the nodes' shares (empty when the twin runs no source traces)."""
    if twin.source_share is None or twin.source_share.empty:
        return {}
    demand = twin.demand_m3s.clip(lower=0.0)
    shares = twin.source_share.reindex(demand.index).fillna(0.0)
    total = float(demand.sum())
    if total <= 0:
        return {str(c): float("nan") for c in shares.columns}
    return {str(c): float((shares[c] * demand).sum() / total) for c in shares.columns}
