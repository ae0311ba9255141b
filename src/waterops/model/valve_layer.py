"""The isolation-valve layer of a network (pure, no I/O).

EPANET models only the valves that control flow (PRV, FCV …) as links; the gate and butterfly
valves a crew shuts to isolate a burst are not in the model. The usual way to add them is a
*valve layer* (Walski 1993; Jun & Loganathan 2007; WNTR's ``generate_valve_layer``): a table
of rows (valve id, link, node) saying that a valve sits on ``link`` right next to ``node``.
Closing it separates the node from that link; the segments a crew can isolate are the
connected parts of the network once every valve is cut (:mod:`waterops.emergency.isolation`).

:func:`strategic_valve_layer` places valves by the "N-1" rule (Walski's strategic placement,
WNTR's ``placement_type="strategic", n=1``): at every node with N links, a valve on all but
one of them. WNTR leaves out a link chosen at random; here the link left without a valve is
chosen by a fixed rule (the widest, then the smallest id), so the same network always gets
the same layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from waterops.errors import NetworkModelError
from waterops.model.network import Network


@dataclass(frozen=True, slots=True)
class IsolationValve:
    """An isolation valve on link ``link_id`` next to node ``node_id``.

    Closing it cuts the link from the node (the rest of the link stays with its other end).
    """

    valve_id: str
    link_id: str
    node_id: str


@dataclass(frozen=True)
class ValveLayer:
    """The isolation valves of a network, each valve id and each (link, node) place once."""

    valves: tuple[IsolationValve, ...]

    def __post_init__(self) -> None:
        ids: set[str] = set()
        places: set[tuple[str, str]] = set()
        for valve in self.valves:
            if valve.valve_id in ids:
                raise NetworkModelError(f"valve layer: valve id {valve.valve_id!r} twice")
            place = (valve.link_id, valve.node_id)
            if place in places:
                raise NetworkModelError(
                    f"valve layer: two valves on link {valve.link_id!r} at node "
                    f"{valve.node_id!r} (second: {valve.valve_id!r})")
            ids.add(valve.valve_id)
            places.add(place)

    def __len__(self) -> int:
        return len(self.valves)

    def __iter__(self) -> Iterator[IsolationValve]:
        return iter(self.valves)

    def check_against(self, net: Network, where: str = "valve layer") -> None:
        """Raise :class:`NetworkModelError` for a valve on an unknown link, or at a node that
        is not an end of its link."""
        table = net.link_table()
        ends_of = {str(k): (str(a), str(b)) for k, a, b in
                   zip(table.index, table["node1"], table["node2"], strict=True)}
        for valve in self.valves:
            ends = ends_of.get(valve.link_id)
            if ends is None:
                raise NetworkModelError(
                    f"{where}: valve {valve.valve_id!r} is on link {valve.link_id!r}, which the "
                    "network does not have")
            if valve.node_id not in ends:
                raise NetworkModelError(
                    f"{where}: valve {valve.valve_id!r} is at node {valve.node_id!r}, which is "
                    f"not an end of link {valve.link_id!r} ({ends[0]} - {ends[1]})")

    def to_frame(self) -> pd.DataFrame:
        """The layer as a table: index valve_id, columns link, node."""
        return pd.DataFrame(
            {"link": [v.link_id for v in self.valves], "node": [v.node_id for v in self.valves]},
            index=pd.Index([v.valve_id for v in self.valves], name="valve_id", dtype="object"),
        )


def strategic_valve_layer(net: Network, unvalved_per_node: int = 1,
                          prefix: str = "V") -> ValveLayer:
    """Valves by the "N-k" rule: at every node, a valve on all but ``unvalved_per_node`` of
    its links (N-1 by default), the links left without a valve being the widest ones (then the
    smallest ids). Pumps and EPANET valves count as links of 0 m width, so they always get
    their valves (a pump or control-valve station has isolation valves on both sides).

    Parameters
    ----------
    net : the network
    unvalved_per_node : links per node left without a valve (0: N rule, 1: N-1, 2: N-2)
    prefix : start of the valve ids (``V00001`` …, numbered in node order)
    """
    if unvalved_per_node < 0:
        raise NetworkModelError(f"unvalved_per_node must be >= 0, got {unvalved_per_node}")
    links = net.link_table()
    width = pd.Series(0.0, index=links.index)
    if len(net.pipes):
        width.loc[net.pipes.index] = net.pipes["diameter_m"].astype(float).fillna(0.0)
    at_node: dict[str, list[str]] = {}
    for link_id, n1, n2 in zip(links.index, links["node1"], links["node2"], strict=True):
        at_node.setdefault(str(n1), []).append(str(link_id))
        if n2 != n1:
            at_node.setdefault(str(n2), []).append(str(link_id))
    valves: list[IsolationValve] = []
    for node in net.node_ids():
        attached = sorted(at_node.get(node, []), key=lambda link: (-float(width[link]), link))
        for link in sorted(attached[unvalved_per_node:]):
            valves.append(IsolationValve(f"{prefix}{len(valves) + 1:05d}", link, node))
    return ValveLayer(tuple(valves))


def valve_layer_of(rows: Iterable[tuple[str, str, str]]) -> ValveLayer:
    """A layer from (valve id, link id, node id) rows."""
    return ValveLayer(tuple(IsolationValve(v, link, node) for v, link, node in rows))
