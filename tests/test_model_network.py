"""The network model: typed tables, helpers, copies, a network built in code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_io_inp_sim import simulate
from waterops.errors import NetworkModelError
from waterops.io.inp import read_inp, write_inp
from waterops.model.network import TABLE_COLUMNS, Network, build_table
from waterops.model.network_parts import Curve
from waterops.model.network_summary import (
    element_counts,
    pipe_length_by_diameter,
    pipe_length_by_material,
    pipe_material,
)

NETWORKS = Path(__file__).parent / "networks"


def test_empty_network_has_typed_tables() -> None:
    net = Network()
    for name, columns in TABLE_COLUMNS.items():
        table = getattr(net, name)
        assert list(table.columns) == list(columns), name
        assert len(table) == 0
    assert net.flow_units == "LPS"
    assert net.node_ids() == [] and net.link_ids() == []


def test_ids_and_kinds_in_epanet_order() -> None:
    net = read_inp(NETWORKS / "Net1.inp")
    assert net.node_ids()[:2] == ["10", "11"]
    assert net.node_ids()[-2:] == ["9", "2"]
    assert net.node_kind("9") == "reservoir"
    assert net.node_kind("2") == "tank"
    assert net.node_kind("22") == "junction"
    assert net.link_kind("9") == "pump"
    assert net.link_kind("110") == "pipe"
    with pytest.raises(NetworkModelError, match="'nope'"):
        net.node_kind("nope")
    with pytest.raises(NetworkModelError, match="'nope'"):
        net.link_kind("nope")
    links = net.link_table()
    assert list(links.columns) == ["kind", "node1", "node2"]
    assert links.loc["9"].tolist() == ["pump", "9", "10"]


def test_copy_is_independent() -> None:
    net = read_inp(NETWORKS / "Net1.inp")
    twin = net.copy()
    twin.junctions.loc["22", "elevation_m"] = 0.0
    twin.patterns["1"][0] = 99.0
    twin.curves["1"].points[0, 0] = 99.0
    twin.options.demand_multiplier = 3.0
    twin.controls.clear()
    assert net.junctions.at["22", "elevation_m"] != 0.0
    assert net.patterns["1"][0] != 99.0
    assert net.curves["1"].points[0, 0] != 99.0
    assert net.options.demand_multiplier != 3.0
    assert len(net.controls) == 2


def test_network_built_in_code_is_written_in_lps_and_simulates(tmp_path: Path) -> None:
    net = Network(title=["built in code"])
    net.reservoirs = build_table("reservoirs", ["R"], {
        "head_m": [50.0], "head_pattern": [None], "initial_quality": [0.0]})
    net.junctions = build_table("junctions", ["J"], {
        "elevation_m": [10.0], "base_demand_m3s": [0.02], "demand_pattern": [None],
        "demand_category": [None], "emitter_coeff": [0.0], "initial_quality": [0.0]})
    net.pipes = build_table("pipes", ["P"], {
        "node1": ["R"], "node2": ["J"], "length_m": [1000.0], "diameter_m": [0.15],
        "roughness": [100.0], "minor_loss": [0.0], "status": ["OPEN"]})
    path = tmp_path / "code.inp"
    write_inp(net, path)
    assert "UNITS LPS" in path.read_text()
    run = simulate(path)
    q_m3s = run.flow[0, 0] * 1e-3
    assert q_m3s == pytest.approx(0.02, rel=1e-9)
    # Hazen-Williams in SI: hL = 10.667 C^-1.852 d^-4.871 L Q^1.852 [m]
    head_loss_m = 10.667 * 100.0**-1.852 * 0.15**-4.871 * 1000.0 * 0.02**1.852
    junction = run.node_ids.index("J")
    assert run.pressure[0, junction] == pytest.approx(50.0 - 10.0 - head_loss_m, rel=2e-3)


def test_curves_and_patterns_in_si() -> None:
    net = read_inp(NETWORKS / "Net1.inp")  # GPM, ft
    curve = net.curves["1"]
    assert isinstance(curve, Curve) and curve.kind == "HEAD"
    # Net1's pump curve: 1500 gpm at 250 ft
    assert curve.points[0, 0] == pytest.approx(1500 * 3.785411784e-3 / 60)
    assert curve.points[0, 1] == pytest.approx(250 * 0.3048)
    assert isinstance(net.patterns["1"], np.ndarray)
    assert len(net.patterns["1"]) == 12


def test_summaries() -> None:
    net = read_inp(NETWORKS / "Net1.inp")
    counts = element_counts(net)
    assert counts["junctions"] == 9 and counts["pipes"] == 12 and counts["pumps"] == 1
    by_diameter = pipe_length_by_diameter(net)
    assert by_diameter["pipes"].sum() == 12
    assert by_diameter["length_km"].sum() == pytest.approx(net.pipes["length_m"].sum() / 1e3)
    assert 457.2 in by_diameter.index  # 18 in
    by_material = pipe_length_by_material(net)
    assert by_material.index.tolist() == ["(untagged)"]
    assert pipe_material("DI-1998") == "DI"
    assert pipe_material("PCCP_2001") == "PCCP"
    assert pipe_material("IND-PARK") == "IND-PARK"
