"""A utility-like sensor layout for a network model (for simulated utilities and twins).

:func:`sensors_from_network` places sensors where a water utility usually has them:

- **level** at every tank (``L-<tank>``), limits 0 … the tank's maximum level;
- **flow** at every pump (``Q-<pump>``) and in every link leaving a reservoir
  (``Q-<link>``): what a plant or a booster station meters;
- **pump status** of every pump (``S-<pump>``, 1 running, 0 stopped);
- **pressure** at a selection of junctions (``P-<junction>``): the highest and the lowest,
  the ends of the network farthest (along the pipes) from any reservoir or tank - where
  pressure is lowest at peak demand and where complaints come from - and then a spread over
  the area (farthest-point sampling on the map coordinates, so loggers do not cluster);
- **chlorine** at every reservoir, tank and water-quality source node (``CL-<node>``) and at
  the junctions farthest from them (``CL-<junction>``): GB 5749 samples plant outlet,
  network and end-of-network water.

The choice is deterministic (ties broken by element id), so running it twice on the same
network gives the same sensors. Ids may be given a ``prefix`` when several water systems of
one installation share element ids (sensor and site ids are unique per installation).
Each sensor names its element (``element_kind`` ``node`` or ``link``, ``element_id``) and a
site (``reservoir-<id>``, ``tank-<id>``, ``pumpstation-<pump>``, ``mp-<junction>``) placed at
the element's map coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from waterops.model.network import Network
from waterops.model.telemetry import Quantity, Sensor, Site, SiteKind

DEFAULT_INTERVAL_S = 300.0
"""Reporting interval of the simulated sensors [s]: a common SCADA polling period."""


@dataclass(frozen=True, slots=True)
class SensorLayout:
    """How many sensors of each kind :func:`sensors_from_network` places.

    Attributes
    ----------
    pressure_points : pressure loggers [-]; ``None``: about √(junctions), between 3 and 50 -
        a few per district metered area in a utility that has one logger per 10-20 km of main
    chlorine_points : chlorine analysers in the network besides sources and tanks [-]
    interval_s : expected reporting interval of every sensor [s]
    prefix : put before every sensor and site id (e.g. ``"north."``)
    """

    pressure_points: int | None = None
    chlorine_points: int = 3
    interval_s: float = DEFAULT_INTERVAL_S
    prefix: str = ""

    def pressure_count(self, junctions: int) -> int:
        """Number of pressure sensors for a network with ``junctions`` junctions."""
        if self.pressure_points is not None:
            return min(self.pressure_points, junctions)
        return min(junctions, max(3, min(50, round(math.sqrt(junctions)))))


@dataclass(frozen=True, slots=True)
class NetworkSensors:
    """Sites and sensors placed on a network."""

    sites: list[Site]
    sensors: list[Sensor]


def sensors_from_network(
    net: Network, system_id: str, *, layout: SensorLayout | None = None
) -> NetworkSensors:
    """Place a utility-like set of sensors on ``net`` (see the module docstring).

    Parameters
    ----------
    net : the network model
    system_id : the water system the sensors and sites belong to
    layout : how many sensors (default :class:`SensorLayout`)
    """
    layout = layout or SensorLayout()
    placer = _Placer(net, system_id, layout)
    for tank_id in sorted(net.tanks.index):
        site = placer.node_site(tank_id, SiteKind.TANK, "tank")
        placer.add("L", Quantity.LEVEL, "node", tank_id, site, lower=0.0,
                   upper=_float_or_none(net.tanks.at[tank_id, "max_level_m"]),
                   name=f"level of tank {tank_id}")
    for pump_id in sorted(net.pumps.index):
        site = placer.pump_site(pump_id)
        placer.add("Q", Quantity.FLOW, "link", pump_id, site, lower=0.0,
                   name=f"flow of pump {pump_id}")
        placer.add("S", Quantity.PUMP_STATUS, "link", pump_id, site,
                   name=f"status of pump {pump_id}")
    links = net.link_table()
    for reservoir_id in sorted(net.reservoirs.index):
        site = placer.node_site(reservoir_id, SiteKind.RESERVOIR, "reservoir")
        outlets = links[(links["node1"] == reservoir_id) | (links["node2"] == reservoir_id)]
        for link_id in sorted(outlets.index):
            if outlets.at[link_id, "kind"] != "pump":  # a pump is metered already
                placer.add("Q", Quantity.FLOW, "link", str(link_id), site,
                           name=f"outflow of reservoir {reservoir_id}")
        placer.add("CL", Quantity.CHLORINE, "node", reservoir_id, site,
                   name=f"chlorine leaving reservoir {reservoir_id}")
    for tank_id in sorted(net.tanks.index):
        placer.add("CL", Quantity.CHLORINE, "node", tank_id, placer.site_ids[tank_id],
                   name=f"chlorine in tank {tank_id}")
    for node_id in sorted(net.sources.index):  # water-quality sources: dosing / plant outlets
        if node_id in net.junctions.index:
            site = placer.node_site(node_id, SiteKind.MONITORING_POINT, "mp")
            placer.add("CL", Quantity.CHLORINE, "node", node_id, site,
                       name=f"chlorine at source {node_id}")
    for junction_id in pressure_junctions(net, layout.pressure_count(len(net.junctions))):
        site = placer.node_site(junction_id, SiteKind.MONITORING_POINT, "mp")
        placer.add("P", Quantity.PRESSURE, "node", junction_id, site,
                   name=f"pressure at junction {junction_id}")
    for junction_id in far_junctions(net, layout.chlorine_points):
        site = placer.node_site(junction_id, SiteKind.MONITORING_POINT, "mp")
        placer.add("CL", Quantity.CHLORINE, "node", junction_id, site,
                   name=f"chlorine at network end {junction_id}")
    return NetworkSensors(placer.sites, placer.sensors)


class _Placer:
    """Collects sites and sensors, each once, with the layout's id prefix."""

    def __init__(self, net: Network, system_id: str, layout: SensorLayout) -> None:
        self.net = net
        self.system_id = system_id
        self.layout = layout
        self.sites: list[Site] = []
        self.sensors: list[Sensor] = []
        self.site_ids: dict[str, str] = {}  # element id -> site id

    def _xy(self, node_id: str) -> tuple[float | None, float | None]:
        coords = self.net.coordinates
        if node_id in coords.index:
            return _float_or_none(coords.at[node_id, "x"]), _float_or_none(coords.at[node_id, "y"])
        return None, None

    def node_site(self, node_id: str, kind: SiteKind, stem: str) -> str:
        if node_id not in self.site_ids:
            site_id = f"{self.layout.prefix}{stem}-{node_id}"
            x, y = self._xy(node_id)
            label = kind.value.replace("_", " ")
            self.sites.append(Site(site_id, self.system_id, kind, f"{label} {node_id}", x, y))
            self.site_ids[node_id] = site_id
        return self.site_ids[node_id]

    def pump_site(self, pump_id: str) -> str:
        site_id = f"{self.layout.prefix}pumpstation-{pump_id}"
        ends = [self._xy(str(self.net.pumps.at[pump_id, n])) for n in ("node1", "node2")]
        (x1, y1), (x2, y2) = ends
        x = y = None
        if x1 is not None and y1 is not None and x2 is not None and y2 is not None:
            x, y = (x1 + x2) / 2, (y1 + y2) / 2
        self.sites.append(
            Site(site_id, self.system_id, SiteKind.PUMP_STATION, f"pump station {pump_id}", x, y)
        )
        return site_id

    def add(
        self, stem: str, quantity: Quantity, element_kind: str, element_id: str, site_id: str,
        *, lower: float | None = None, upper: float | None = None, name: str = "",
    ) -> None:
        sensor_id = f"{self.layout.prefix}{stem}-{element_id}"
        if any(s.id == sensor_id for s in self.sensors):
            return
        self.sensors.append(
            Sensor(sensor_id, self.system_id, quantity, site_id=site_id,
                   element_kind=element_kind, element_id=element_id, lower=lower, upper=upper,
                   interval_s=self.layout.interval_s, name=name)
        )


def _float_or_none(value: object) -> float | None:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)


def network_graph(net: Network) -> nx.Graph:
    """Undirected graph of the network: pipes weighted by length [m], pumps and valves by 1 m."""
    graph = nx.Graph()
    graph.add_nodes_from(net.node_ids())
    for link_id, row in net.pipes.iterrows():
        length = _float_or_none(row["length_m"]) or 1.0
        graph.add_edge(row["node1"], row["node2"], weight=length, link=link_id)
    for table in (net.pumps, net.valves):
        for link_id, row in table.iterrows():
            graph.add_edge(row["node1"], row["node2"], weight=1.0, link=link_id)
    return graph


def distance_from_sources_m(net: Network) -> dict[str, float]:
    """Pipe distance of every reachable node from the nearest reservoir or tank [m]."""
    sources = [*net.reservoirs.index, *net.tanks.index]
    if not sources:
        return {}
    lengths = nx.multi_source_dijkstra_path_length(network_graph(net), sources, weight="weight")
    return {str(node): float(d) for node, d in lengths.items()}


def far_junctions(net: Network, count: int) -> list[str]:
    """The ``count`` junctions farthest along the pipes from any reservoir or tank."""
    distance = distance_from_sources_m(net)
    reachable = [j for j in net.junctions.index if j in distance]
    reachable.sort(key=lambda j: (-distance[j], j))
    return reachable[:count]


def pressure_junctions(net: Network, count: int) -> list[str]:
    """Junctions for pressure loggers: highest, lowest, network ends, then spread over the map."""
    junctions = net.junctions
    if count <= 0 or junctions.empty:
        return []
    ids = sorted(junctions.index)
    elevation = junctions.loc[ids, "elevation_m"].astype(float)
    chosen: list[str] = []

    def take(junction_id: str) -> None:
        if junction_id not in chosen and len(chosen) < count:
            chosen.append(junction_id)

    take(str(elevation.idxmax()))  # idxmax/idxmin return the first id on ties (ids are sorted)
    take(str(elevation.idxmin()))
    graph = network_graph(net)
    distance = distance_from_sources_m(net)
    dead_ends = [j for j in ids if graph.degree(j) == 1 and j in distance]
    dead_ends.sort(key=lambda j: (-distance[j], j))
    for junction_id in dead_ends[: max(1, count // 3)]:
        take(junction_id)
    for junction_id in far_junctions(net, 1):
        take(junction_id)
    for junction_id in _spread(net, ids, chosen, count - len(chosen)):
        take(junction_id)
    return chosen


def _spread(net: Network, ids: list[str], chosen: list[str], count: int) -> list[str]:
    """Farthest-point sampling: each next junction is the one farthest from all chosen ones."""
    if count <= 0:
        return []
    coords = net.coordinates
    with_xy = [j for j in ids if j in coords.index]
    if len(with_xy) < len(ids):  # no map: spread along the pipe distance from the sources
        distance = distance_from_sources_m(net)
        rest = [j for j in ids if j not in chosen]
        rest.sort(key=lambda j: (distance.get(j, math.inf), j))
        step = max(1, len(rest) // max(count, 1))
        return rest[::step][:count]
    xy = coords.loc[with_xy, ["x", "y"]].to_numpy(dtype=float)
    index = {j: i for i, j in enumerate(with_xy)}
    start = chosen or [with_xy[0]]
    nearest = np.min(
        np.linalg.norm(xy[:, None, :] - xy[[index[j] for j in start]][None, :, :], axis=2), axis=1
    )
    picked: list[str] = []
    for _ in range(count):
        i = int(np.argmax(nearest))  # first maximum: lowest id on ties
        if nearest[i] <= 0.0:
            break
        picked.append(with_xy[i])
        nearest = np.minimum(nearest, np.linalg.norm(xy - xy[i], axis=1))
    return picked
