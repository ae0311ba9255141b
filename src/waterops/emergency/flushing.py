"""Hydrant flushing plan and do-not-drink area after a contamination.

The demo network has no hydrant layer, so one is defined deterministically from the network
(:func:`hydrant_layer`, an assumption to replace with the utility's GIS layer when it exists):
a hydrant stands at a junction on a main of DN100 or more, the junctions taken in id order,
none within ``spacing_m`` of pipe length of another. 120 m is the largest spacing of outdoor
fire hydrants in GB 50974-2014 (消防给水及消火栓系统技术规范) §7.2.5 (*verify the clause*).

Plan (:func:`flushing_plan`): the contaminated pipes (an end node reached above the
threshold) are each given to the hydrant nearest their downstream end (the end reached later;
pipe length, within the area), so clean water pushes the pipe's contents out through it;
hydrants are opened upstream first (the order in which the contamination reached
them), each long enough to draw ``pipe_volumes`` times the volume of its pipes (3 volumes is
a common rule for flushing mains, AWWA M-series practice: *configurable assumption*) at
``hydrant_flow_m3s`` (10 L/s: the low end of the 10-15 L/s an outdoor hydrant gives in
GB 50974-2014 §7.2.5, *configurable*). With no hydrant in the area, the contaminated junctions
at the far (last reached) ends of the area serve as flushing points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from waterops.emergency.contamination import SpreadResult
from waterops.errors import ConfigError
from waterops.model.network import Network
from waterops.model.utility import Customer, CustomerKind, UtilityLayout

HYDRANT_MIN_DIAMETER_M = 0.1
"""Smallest main a hydrant stands on (DN100) [m]."""
HYDRANT_SPACING_M = 120.0
"""Largest spacing of outdoor hydrants [m], GB 50974-2014 §7.2.5 (*verify*)."""
HYDRANT_FLOW_M3S = 0.010
"""Flow drawn from one hydrant while flushing [m³/s] (10 L/s, GB 50974-2014 §7.2.5 gives
10-15 L/s per outdoor hydrant; *configurable*)."""
PIPE_VOLUMES = 3.0
"""Volumes of each contaminated pipe to draw off [-] (*configurable assumption*)."""


@dataclass(frozen=True)
class Hydrant:
    """A flushing hydrant at a junction, on its largest pipe."""

    id: str
    node_id: str
    pipe_id: str
    diameter_m: float


@dataclass(frozen=True)
class FlushingStep:
    """One hydrant of the plan, in the order they are opened.

    Attributes
    ----------
    order : 1 = first
    hydrant_id, node_id : where
    pipes : contaminated pipes this hydrant draws off
    volume_m3 : volume to draw [m³] (``pipe_volumes`` x the pipes' volume)
    flow_m3s : flow drawn [m³/s]
    duration_s : how long to keep it open [s]
    reached_after_s : when the contamination reached the node, after the injection [s]
    """

    order: int
    hydrant_id: str
    node_id: str
    pipes: tuple[str, ...]
    volume_m3: float
    flow_m3s: float
    duration_s: float
    reached_after_s: float


@dataclass(frozen=True)
class DoNotDrinkArea:
    """Nodes and customers whose water went above the threshold within the horizon."""

    threshold_mg_l: float
    nodes: tuple[str, ...]
    accounts: tuple[str, ...]
    households: int
    enterprises: int
    dmas: tuple[str, ...]


def _graph(net: Network) -> nx.MultiGraph:
    graph = nx.MultiGraph()  # parallel pipes between two nodes are kept apart
    for pipe_id, row in net.pipes.iterrows():
        graph.add_edge(str(row["node1"]), str(row["node2"]), id=str(pipe_id),
                       length=float(row["length_m"]), diameter=float(row["diameter_m"]))
    return graph


def hydrant_layer(net: Network, *, spacing_m: float = HYDRANT_SPACING_M,
                  min_diameter_m: float = HYDRANT_MIN_DIAMETER_M) -> list[Hydrant]:
    """The deterministic hydrant layer of a network (see the module docstring)."""
    if spacing_m <= 0:
        raise ConfigError(f"hydrant spacing must be > 0 m, not {spacing_m}")
    graph = _graph(net)
    covered: set[str] = set()
    out: list[Hydrant] = []
    for node in sorted(str(n) for n in net.junctions.index):
        if node in covered or node not in graph:
            continue
        edges = [(d["diameter"], d["id"]) for _, _, d in graph.edges(node, data=True)]
        diameter, pipe = max(edges)
        if diameter < min_diameter_m:
            continue
        out.append(Hydrant(f"HYD-{len(out) + 1:04d}", node, pipe, diameter))
        near = nx.single_source_dijkstra_path_length(graph, node, cutoff=spacing_m,
                                                     weight="length")
        covered.update(n for n, d in near.items() if d < spacing_m)
    return out


def do_not_drink_area(spread: SpreadResult, layout: UtilityLayout | Sequence[Customer],
                      threshold_mg_l: float | None = None) -> DoNotDrinkArea:
    """Nodes whose peak reached ``threshold_mg_l`` (default the spread's) and their
    customers; with a layout, the DMAs they lie in."""
    threshold = spread.threshold_mg_l if threshold_mg_l is None else threshold_mg_l
    if not threshold > 0:
        raise ConfigError(f"the do-not-drink threshold must be > 0 mg/L, not {threshold}")
    hit = np.flatnonzero(spread.peak_mg_l >= threshold)
    nodes = tuple(spread.node_ids[i] for i in hit)
    node_set = set(nodes)
    customers = layout.customers if isinstance(layout, UtilityLayout) else layout
    mine = [c for c in customers if c.node in node_set]
    households = sum(c.kind is CustomerKind.HOUSEHOLD for c in mine)
    dmas: tuple[str, ...] = ()
    if isinstance(layout, UtilityLayout):
        dmas = tuple(d.id for d in layout.dmas if node_set.intersection(d.junctions))
    return DoNotDrinkArea(threshold, nodes, tuple(c.account_id for c in mine), households,
                          len(mine) - households, dmas)


def flushing_plan(net: Network, spread: SpreadResult, hydrants: Sequence[Hydrant], *,
                  pipe_volumes: float = PIPE_VOLUMES,
                  hydrant_flow_m3s: float = HYDRANT_FLOW_M3S) -> list[FlushingStep]:
    """Hydrants to open, upstream first, and how long (see the module docstring)."""
    if pipe_volumes <= 0 or hydrant_flow_m3s <= 0:
        raise ConfigError("pipe volumes and hydrant flow must be > 0")
    arrival = dict(zip(spread.node_ids, spread.first_arrival_s, strict=True))
    reached = {n for n, t in arrival.items() if not math.isnan(t)}
    graph = _graph(net)
    area = graph.subgraph(n for n in graph if n in reached)
    pipes = [(u, v, d) for u, v, d in graph.edges(data=True) if u in reached or v in reached]
    if not pipes:
        return []
    points = {h.node_id: h.id for h in hydrants if h.node_id in reached}
    if not points:  # no hydrant inside: flush at the far ends of the area
        ends = [n for n in area if area.degree(n) <= 1 and n in net.junctions.index]
        ends = sorted(ends or [n for n in area if n in net.junctions.index],
                      key=lambda n: (-arrival[n], n))
        points = {n: f"END-{n}" for n in ends}
    nearest = _nearest_point(area, points)
    assigned: dict[str, list[tuple[str, float]]] = {p: [] for p in points}
    for u, v, d in pipes:
        # flushed towards its downstream end: the end the contamination reached later
        ends = sorted((n for n in (u, v) if n in reached), key=lambda n: -arrival[n])
        owner = next((nearest[n] for n in ends if n in nearest), None)
        if owner is None:  # not connected to a flushing point inside the area
            owner = min(points, key=lambda p: (arrival[p], p))
        volume = math.pi * d["diameter"] ** 2 / 4.0 * d["length"]
        assigned[owner].append((d["id"], volume))
    steps: list[FlushingStep] = []
    for node in sorted((p for p in points if assigned[p]), key=lambda p: (arrival[p], p)):
        volume = pipe_volumes * sum(v for _, v in assigned[node])
        steps.append(FlushingStep(len(steps) + 1, points[node], node,
                                  tuple(sorted(p for p, _ in assigned[node])), volume,
                                  hydrant_flow_m3s, volume / hydrant_flow_m3s,
                                  float(arrival[node])))
    return steps


def _nearest_point(area: nx.MultiGraph, points: dict[str, str]) -> dict[str, str]:
    """For each node of the area, the flushing point nearest along pipes (within the area)."""
    sources = [p for p in points if p in area]
    if not sources:
        return {}
    _, paths = nx.multi_source_dijkstra(area, sources, weight="length")
    return {node: path[0] for node, path in paths.items()}
