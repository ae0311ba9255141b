"""Connectivity checks: components, islands without a source, dead ends, isolated nodes."""

from __future__ import annotations

from pathlib import Path

from waterops.io.inp import parse_inp, read_inp
from waterops.model.topology import check_connectivity, network_graph

NETWORKS = Path(__file__).parent / "networks"

TEXT = """[JUNCTIONS]
A 0
B 0
C 0
D 0
E 0
F 0
G 0
[RESERVOIRS]
R 50
[TANKS]
T 10 1 0 5 10
[PIPES]
P1 R A 100 100 100
P2 A B 100 100 100
P3 B C 100 100 100
P3b B C 100 100 100
P4 D E 100 100 100
P5 T F 100 100 100
[VALVES]
V1 A T 100 TCV 1
[END]
"""


def test_islands_dead_ends_and_isolated_nodes() -> None:
    conn = check_connectivity(parse_inp(TEXT))
    assert conn.components == [["A", "B", "C", "F", "R", "T"], ["D", "E"], ["G"]]
    assert conn.islands == [["D", "E"], ["G"]]
    # C has two parallel pipes to B but a single neighbour: still a dead end
    assert conn.dead_ends == ["C", "D", "E", "F"]
    assert conn.isolated == ["G"]
    assert not conn.is_connected


def test_graph_keeps_parallel_links() -> None:
    graph = network_graph(parse_inp(TEXT))
    assert graph.number_of_edges("B", "C") == 2
    assert graph.number_of_edges() == 7


def test_example_networks_are_connected() -> None:
    # dead ends counted independently with awk over the [PIPES]/[PUMPS]/[VALVES] sections
    expected = {
        "Net1.inp": set(),
        "Net2.inp": {"1", "10", "30", "34", "36"},
        "Net3.inp": {"131", "15", "166", "167", "203", "219", "225", "231", "243", "253", "35"},
    }
    for name, dead_ends in expected.items():
        conn = check_connectivity(read_inp(NETWORKS / name))
        assert conn.is_connected, name
        assert conn.islands == [], name
        assert set(conn.dead_ends) == dead_ends, name
