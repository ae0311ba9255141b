"""Connectivity of a network: components, islands without a source, dead ends (pure, no I/O).

Every link counts, whatever its initial status: this is the layout of the pipes in the
ground. An *island* is a connected group of nodes with no reservoir and no tank, so nothing
can feed it; a *dead end* is a junction linked to a single other node (water stands there).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from waterops.model.network import Network


@dataclass(frozen=True)
class Connectivity:
    """What :func:`check_connectivity` finds.

    Parameters
    ----------
    components : groups of connected node ids, largest first
    islands : the components with no reservoir and no tank, largest first
    dead_ends : junctions linked to exactly one other node, in the network's order
    isolated : nodes with no link at all, in the network's order
    """

    components: list[list[str]]
    islands: list[list[str]]
    dead_ends: list[str]
    isolated: list[str]

    @property
    def is_connected(self) -> bool:
        """True when all nodes form one component."""
        return len(self.components) <= 1


def network_graph(net: Network) -> nx.MultiGraph:
    """Undirected multigraph: one vertex per node, one edge per link (key = link id)."""
    graph = nx.MultiGraph()
    graph.add_nodes_from(net.node_ids())
    links = net.link_table()
    graph.add_edges_from(zip(links["node1"].tolist(), links["node2"].tolist(),
                             links.index.tolist(), strict=True))
    return graph


def check_connectivity(net: Network) -> Connectivity:
    """Components, islands (no reservoir or tank), dead ends and isolated nodes of ``net``."""
    graph = network_graph(net)
    order = {node: i for i, node in enumerate(net.node_ids())}
    components = sorted(
        (sorted(c, key=order.__getitem__) for c in nx.connected_components(graph)),
        key=lambda c: (-len(c), order[c[0]]),
    )
    sources = set(net.reservoirs.index) | set(net.tanks.index)
    islands = [c for c in components if not sources.intersection(c)]
    neighbours = {node: len(graph[node]) for node in graph.nodes}  # parallel links count once
    dead_ends = [j for j in net.junctions.index if neighbours[j] == 1]
    isolated = [n for n in net.node_ids() if neighbours[n] == 0]
    return Connectivity(components, islands, dead_ends, isolated)
