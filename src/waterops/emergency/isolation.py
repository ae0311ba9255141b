"""Valve isolation (关阀停水): segments, and the plan for isolating a burst pipe or a node.

A *segment* is what a crew can shut off with valves: the nodes and links still connected
once the network is cut at every isolation valve of the valve layer
(:mod:`waterops.model.valve_layer`). The method is the one of Walski (1993), Jun & Loganathan
(2007) and WNTR's ``valve_segments``: a graph whose vertices are the nodes *and* the links,
with an edge between a link and each of its end nodes unless a valve sits there; its
connected components are the segments. A link with valves at both ends is a segment of its
own (no node); a node with valves on all its links is one too.

To isolate a pipe (or a node), the crew closes the valves on the boundary of its segment:
each valve whose link and node lie in different segments, one of them this one. What loses
water is the segment itself and every other segment that the closure cuts off from all
sources (reservoirs and tanks): the *unintended isolations* (Jun & Loganathan's "unintended
isolation"), found on the segment graph (segments joined by valves). The plan counts the
customers and the critical users at these nodes and the demand lost (their base demand).

Everything here is graph work on tables computed once per network (:class:`Isolator`): a plan
takes a fraction of a millisecond on the 3,473-node demo network. The hydraulic effect of the
closure (who is starved of pressure elsewhere) is a second, optional step
(:mod:`waterops.emergency.closure`).

Assumptions: every link counts, whatever its initial status (standby pumps and closed links
can be opened by operators); tanks count as sources (they feed for hours, which covers a
repair of most mains; a long outage behind a tank would need the hydraulic step).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from waterops.errors import UnknownElementError
from waterops.model.network import Network
from waterops.model.utility import CriticalUser, Customer
from waterops.model.valve_layer import IsolationValve, ValveLayer

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Segments:
    """The segments of a network under a valve layer.

    Attributes
    ----------
    node_segment : node id -> segment number
    link_segment : link id -> segment number
    nodes : segment number -> its node ids (network order)
    links : segment number -> its link ids (network order)
    boundary : segment number -> the valves on its boundary (layer order)
    neighbours : segment number -> the segments across its boundary valves
    source_segments : the segments holding a reservoir or a tank
    internal_valves : valves whose two sides are in one segment (a loop goes around them)
    """

    node_segment: dict[str, int]
    link_segment: dict[str, int]
    nodes: tuple[tuple[str, ...], ...]
    links: tuple[tuple[str, ...], ...]
    boundary: tuple[tuple[IsolationValve, ...], ...]
    neighbours: tuple[frozenset[int], ...]
    source_segments: frozenset[int]
    internal_valves: tuple[IsolationValve, ...]

    def __len__(self) -> int:
        return len(self.nodes)


def find_segments(net: Network, layer: ValveLayer) -> Segments:
    """Cut ``net`` at every valve of ``layer``; its segments (numbered in network order).

    Raises
    ------
    NetworkModelError
        when a valve names a link the network lacks or a node not at its link's end.
    """
    layer.check_against(net)
    node_ids = net.node_ids()
    links = net.link_table()
    link_ids = [str(i) for i in links.index]
    n, m = len(node_ids), len(link_ids)
    node_pos = {node: i for i, node in enumerate(node_ids)}
    valved = {(v.link_id, v.node_id) for v in layer}
    rows: list[int] = []
    cols: list[int] = []
    for j, (link, n1, n2) in enumerate(zip(link_ids, links["node1"], links["node2"],
                                           strict=True)):
        for end in {str(n1), str(n2)}:
            if (link, end) not in valved:
                rows.append(n + j)
                cols.append(node_pos[end])
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + m, n + m)).tocsr()
    _, raw = connected_components(graph, directed=False)
    # renumber by first appearance: nodes in network order, then links
    first: dict[int, int] = {}
    labels = np.array([first.setdefault(int(r), len(first)) for r in raw], dtype=np.int64)
    count = len(first)
    seg_nodes: list[list[str]] = [[] for _ in range(count)]
    seg_links: list[list[str]] = [[] for _ in range(count)]
    for i, node in enumerate(node_ids):
        seg_nodes[labels[i]].append(node)
    for j, link in enumerate(link_ids):
        seg_links[labels[n + j]].append(link)
    node_segment = {node: int(labels[i]) for i, node in enumerate(node_ids)}
    link_segment = {link: int(labels[n + j]) for j, link in enumerate(link_ids)}
    boundary: list[list[IsolationValve]] = [[] for _ in range(count)]
    neighbours: list[set[int]] = [set() for _ in range(count)]
    internal: list[IsolationValve] = []
    for valve in layer:
        a, b = link_segment[valve.link_id], node_segment[valve.node_id]
        if a == b:
            internal.append(valve)
            continue
        boundary[a].append(valve)
        boundary[b].append(valve)
        neighbours[a].add(b)
        neighbours[b].add(a)
    sources = {node_segment[s] for s in (*net.reservoirs.index, *net.tanks.index)}
    return Segments(
        node_segment=node_segment,
        link_segment=link_segment,
        nodes=tuple(tuple(s) for s in seg_nodes),
        links=tuple(tuple(s) for s in seg_links),
        boundary=tuple(tuple(b) for b in boundary),
        neighbours=tuple(frozenset(s) for s in neighbours),
        source_segments=frozenset(sources),
        internal_valves=tuple(internal),
    )


def supplied_segments(segments: Segments, closed: Iterable[int] = ()) -> set[int]:
    """The segments connected to a source segment when the ``closed`` segments are shut."""
    shut = set(closed)
    reached = {s for s in segments.source_segments if s not in shut}
    queue = deque(reached)
    while queue:
        s = queue.popleft()
        for t in segments.neighbours[s]:
            if t not in reached and t not in shut:
                reached.add(t)
                queue.append(t)
    return reached


@dataclass(frozen=True)
class IsolationPlan:
    """How to isolate one pipe or node, and what it costs.

    Attributes
    ----------
    target_kind, target_id : ``"link"`` or ``"node"``, and its id
    segment : the number of the target's segment
    valves_to_close : the valves on the boundary of the shut segments (close all of them)
    links_to_close : the links those valves sit on, with the segment's own links: what a
        hydraulic model of the closure closes
    isolated_nodes, isolated_links : the shut segments (the target's alone unless a valve
        fails)
    unintended_nodes, unintended_links : what the closure cuts off from every source beside
        the segment (network order)
    customers : account ids of the customers at nodes that lose water (each once)
    customers_by_kind : number of those customers of each kind
    critical_users : the critical users at nodes that lose water
    demand_lost_m3s : base demand of the junctions that lose water [m³/s]
    failed_valves : the valves assumed not to close (layer order)
    segments : the segments shut: the target's, and those joined through failed valves
    """

    target_kind: str
    target_id: str
    segment: int
    valves_to_close: tuple[IsolationValve, ...]
    links_to_close: tuple[str, ...]
    isolated_nodes: tuple[str, ...]
    isolated_links: tuple[str, ...]
    unintended_nodes: tuple[str, ...]
    unintended_links: tuple[str, ...]
    customers: tuple[str, ...]
    customers_by_kind: dict[str, int]
    critical_users: tuple[CriticalUser, ...]
    demand_lost_m3s: float
    failed_valves: tuple[str, ...] = ()
    segments: tuple[int, ...] = ()

    @property
    def nodes_without_water(self) -> tuple[str, ...]:
        """Every node that loses water: the segment's, then the unintended ones."""
        return self.isolated_nodes + self.unintended_nodes

    @property
    def demand_lost_m3d(self) -> float:
        """:attr:`demand_lost_m3s` in m³/d."""
        return self.demand_lost_m3s * SECONDS_PER_DAY

    @property
    def demand_lost_ls(self) -> float:
        """:attr:`demand_lost_m3s` in L/s."""
        return self.demand_lost_m3s * 1000.0


@dataclass(eq=False)
class Isolator:
    """Isolation plans over one network and valve layer; segments computed once.

    Parameters
    ----------
    net : the network
    layer : its isolation valves
    customers : customer accounts attached to nodes (a utility layout's)
    critical_users : hospitals, schools … attached to nodes
    """

    net: Network
    layer: ValveLayer
    customers: tuple[Customer, ...] = ()
    critical_users: tuple[CriticalUser, ...] = ()
    segments: Segments = field(init=False)
    _base_supplied: frozenset[int] = field(init=False)
    _fed_full: frozenset[str] = field(init=False)
    _demand: dict[str, float] = field(init=False)
    _customers_at: dict[str, list[Customer]] = field(init=False)
    _critical_at: dict[str, list[CriticalUser]] = field(init=False)
    _order: dict[str, int] = field(init=False)
    _valve_ids: frozenset[str] = field(init=False)
    _cut_segments: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self.segments = find_segments(self.net, self.layer)
        self._base_supplied = frozenset(supplied_segments(self.segments))
        # a node outside every supplied segment is fed by nothing even with all valves open
        self._fed_full = frozenset(node for s in self._base_supplied
                                   for node in self.segments.nodes[s])
        demand = self.net.junctions["base_demand_m3s"].astype(float).fillna(0.0).to_dict()
        extra = self.net.demands
        if len(extra):
            more = extra.groupby("node")["base_demand_m3s"].sum()
            for node, value in more.items():
                demand[str(node)] = demand.get(str(node), 0.0) + float(value)
        self._demand = {str(k): float(v) for k, v in demand.items()}
        self._customers_at = {}
        for customer in self.customers:
            self._customers_at.setdefault(customer.node, []).append(customer)
        self._critical_at = {}
        for user in self.critical_users:
            self._critical_at.setdefault(user.node, []).append(user)
        self._order = {node: i for i, node in enumerate(self.net.node_ids())}
        self._valve_ids = frozenset(v.valve_id for v in self.layer)
        # shutting a segment that is no articulation point of the segment graph, and holds no
        # source, leaves every other segment as connected to a source as before: its plans
        # need no walk over the whole graph
        graph = nx.Graph()
        graph.add_nodes_from(range(len(self.segments)))
        graph.add_edges_from((s, t) for s, ts in enumerate(self.segments.neighbours) for t in ts)
        self._cut_segments = frozenset(nx.articulation_points(graph))

    def plan_for_link(self, link_id: str, failed_valves: Iterable[str] = ()) -> IsolationPlan:
        """The plan isolating link ``link_id`` (a burst pipe); ``failed_valves`` are valve ids
        that will not close (seized, buried): the plan then reaches past them.

        Raises
        ------
        UnknownElementError
            if the network has no such link, or the layer no such valve.
        """
        segment = self.segments.link_segment.get(link_id)
        if segment is None:
            raise UnknownElementError("link", link_id)
        return self._plan("link", link_id, segment, failed_valves)

    def plan_for_node(self, node_id: str, failed_valves: Iterable[str] = ()) -> IsolationPlan:
        """The plan isolating node ``node_id`` (a leaking fitting, a hydrant); see
        :meth:`plan_for_link` for ``failed_valves``.

        Raises
        ------
        UnknownElementError
            if the network has no such node, or the layer no such valve.
        """
        segment = self.segments.node_segment.get(node_id)
        if segment is None:
            raise UnknownElementError("node", node_id)
        return self._plan("node", node_id, segment, failed_valves)

    def cut_off_by(self, link_ids: Iterable[str]) -> tuple[str, ...]:
        """Nodes that closing ``link_ids`` (links, not valves) cuts off from every source,
        and that a source reaches in the full network (network order).

        Raises
        ------
        UnknownElementError
            for an unknown link.
        """
        closed = set(link_ids)
        links = self.net.link_table()
        for link in closed:
            if link not in links.index:
                raise UnknownElementError("link", link)
        node_ids = self.net.node_ids()
        pos = {node: i for i, node in enumerate(node_ids)}
        keep = ~links.index.isin(list(closed))
        a = links["node1"][keep].map(pos).to_numpy(dtype=np.int64)
        b = links["node2"][keep].map(pos).to_numpy(dtype=np.int64)
        n = len(node_ids)
        graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
        _, after = connected_components(graph, directed=False)
        sources = [pos[s] for s in (*self.net.reservoirs.index, *self.net.tanks.index)]
        fed_after = set(after[sources].tolist())
        return tuple(node for i, node in enumerate(node_ids)
                     if int(after[i]) not in fed_after and node in self._fed_full)

    def customers_at(self, nodes: Iterable[str]) -> list[Customer]:
        """The customers attached to ``nodes`` (each once, in the order of the nodes)."""
        seen: dict[str, Customer] = {}
        for node in nodes:
            for customer in self._customers_at.get(node, ()):
                seen.setdefault(customer.account_id, customer)
        return list(seen.values())

    def critical_users_at(self, nodes: Iterable[str]) -> list[CriticalUser]:
        """The critical users attached to ``nodes``."""
        return [u for node in dict.fromkeys(nodes) for u in self._critical_at.get(node, ())]

    def demand_of(self, nodes: Iterable[str]) -> float:
        """Base demand of ``nodes`` [m³/s] (every demand category; non-junctions count 0)."""
        return sum(self._demand.get(node, 0.0) for node in set(nodes))

    def _region(self, segment: int, failed: frozenset[str]) -> list[int]:
        """The segments shut when the valves in ``failed`` do not close: a failed valve on
        the boundary joins the segment beyond it, whose own valves must close instead."""
        segs = self.segments
        region = {segment}
        queue = [segment]
        while queue:
            s = queue.pop()
            for valve in segs.boundary[s]:
                if valve.valve_id not in failed:
                    continue
                a, b = segs.link_segment[valve.link_id], segs.node_segment[valve.node_id]
                other = b if a == s else a
                if other not in region:
                    region.add(other)
                    queue.append(other)
        return sorted(region)

    def _plan(self, kind: str, target: str, segment: int,
              failed_valves: Iterable[str] = ()) -> IsolationPlan:
        failed = frozenset(failed_valves)
        unknown = sorted(failed - self._valve_ids)
        if unknown:
            raise UnknownElementError("valve", unknown[0])
        segs = self.segments
        region = self._region(segment, failed) if failed else [segment]
        inside = set(region)
        if len(region) == 1 and segment not in self._cut_segments \
                and segment not in segs.source_segments:
            lost: list[int] = []
        else:
            after = supplied_segments(segs, region)
            lost = sorted(self._base_supplied - after - inside)
        order = self._order.__getitem__
        unintended_nodes = sorted((n for s in lost for n in segs.nodes[s]), key=order)
        unintended_links = [link for s in lost for link in segs.links[s]]
        valves = tuple(dict.fromkeys(
            v for s in region for v in segs.boundary[s]
            if not (segs.link_segment[v.link_id] in inside
                    and segs.node_segment[v.node_id] in inside)))
        isolated_nodes = sorted((n for s in region for n in segs.nodes[s]), key=order)
        isolated_links = [link for s in region for link in segs.links[s]]
        to_close = tuple(dict.fromkeys([*isolated_links, *(v.link_id for v in valves)]))
        dry = [*isolated_nodes, *unintended_nodes]
        customers = self.customers_at(dry)
        kinds = Counter(str(c.kind) for c in customers)
        return IsolationPlan(
            target_kind=kind,
            target_id=target,
            segment=segment,
            valves_to_close=valves,
            links_to_close=to_close,
            isolated_nodes=tuple(isolated_nodes),
            isolated_links=tuple(isolated_links),
            unintended_nodes=tuple(unintended_nodes),
            unintended_links=tuple(unintended_links),
            customers=tuple(c.account_id for c in customers),
            customers_by_kind=dict(sorted(kinds.items())),
            critical_users=tuple(self.critical_users_at(dry)),
            demand_lost_m3s=self.demand_of(dry),
            failed_valves=tuple(v for v in (vv.valve_id for vv in self.layer) if v in failed),
            segments=tuple(region),
        )
