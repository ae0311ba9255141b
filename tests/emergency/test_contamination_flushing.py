"""Hydrant layer, flushing plan and do-not-drink area, on the tree network and the demo."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tree_network import ONE_HOUR_10LPS_M, write_tree

from waterops.data import demo_network_path
from waterops.emergency.contamination import Injection, simulate_spread
from waterops.emergency.flushing import (
    Hydrant,
    do_not_drink_area,
    flushing_plan,
    hydrant_layer,
)
from waterops.errors import ConfigError
from waterops.hydraulics import EpanetEngine
from waterops.io.inp import read_inp
from waterops.model.utility import Customer, CustomerKind
from waterops.service.virtual_utility import build_demo_utility

AREA = math.pi * 0.2**2 / 4


def test_hydrant_layer_respects_spacing_and_diameter(tmp_path: Path) -> None:
    net = read_inp(write_tree(tmp_path))
    # every tree pipe is > 1 km long: each junction gets a hydrant at 120 m spacing
    assert [h.node_id for h in hydrant_layer(net)] == ["J1", "J2", "J3", "J4", "S1", "S2"]
    # a 3 km spacing keeps J1 and drops J2 (2.3 km away) and the rest within 3 km of it
    wide = [h.node_id for h in hydrant_layer(net, spacing_m=3000)]
    assert wide[0] == "J1" and "J2" not in wide
    assert hydrant_layer(net, min_diameter_m=0.3) == []  # all mains are DN200
    with pytest.raises(ConfigError):
        hydrant_layer(net, spacing_m=0)


def test_flushing_plan_upstream_first_with_three_pipe_volumes(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    net = read_inp(path)
    with EpanetEngine.open(path) as engine:
        spread = simulate_spread(engine, Injection("J3", start_s=0, concentration_mg_l=1.0),
                                 horizon_s=6 * 3600)
    hydrants = [Hydrant("H-J3", "J3", "P5", 0.2), Hydrant("H-S1", "S1", "P5", 0.2),
                Hydrant("H-J1", "J1", "P1", 0.2)]
    plan = flushing_plan(net, spread, hydrants)
    # P3 (J2-J3) is reached at J3 only: flushed at H-J3; P5 (J3-S1) is flushed towards its
    # downstream end S1; J1 is clean: its hydrant stays shut; J3 is opened first (upstream)
    assert [(s.hydrant_id, s.pipes) for s in plan] == [("H-J3", ("P3",)), ("H-S1", ("P5",))]
    volume = AREA * ONE_HOUR_10LPS_M * 3  # 3 volumes of one 1,145.9 m DN200 pipe
    assert [s.volume_m3 for s in plan] == [pytest.approx(volume)] * 2
    assert plan[0].duration_s == pytest.approx(volume / 0.010)  # at 10 L/s: 6 h
    assert plan[0].reached_after_s < plan[1].reached_after_s


def test_flushing_without_hydrants_uses_the_far_ends(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    net = read_inp(path)
    with EpanetEngine.open(path) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=0, concentration_mg_l=1.0),
                                 horizon_s=6 * 3600)
    plan = flushing_plan(net, spread, [])
    assert {s.node_id for s in plan} == {"S1", "S2"}  # the dead ends, reached last
    pipes = {p for s in plan for p in s.pipes}
    assert pipes == {"P2", "P3", "P4", "P5", "P6"}  # P2 touches J2; P1 stays clean


def test_do_not_drink_area_lists_customers_above_threshold(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    customers = [Customer("H1", CustomerKind.HOUSEHOLD, "h", "S1", "M1", 1.0),
                 Customer("E1", CustomerKind.ENTERPRISE, "e", "S2", "M2", 1.0),
                 Customer("H2", CustomerKind.HOUSEHOLD, "h", "J1", "M3", 1.0)]
    with EpanetEngine.open(path) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=0, mass_rate_mg_s=10.0),
                                 horizon_s=6 * 3600)  # 0.5 mg/L downstream of J2
    area = do_not_drink_area(spread, customers)
    assert set(area.nodes) == {"J2", "J3", "J4", "S1", "S2"}
    assert (area.accounts, area.households, area.enterprises) == (("H1", "E1"), 1, 1)
    assert do_not_drink_area(spread, customers, threshold_mg_l=0.6).nodes == ()


def test_demo_plan_covers_the_area_in_order() -> None:
    net = read_inp(demo_network_path())
    layout = build_demo_utility()
    with EpanetEngine.open(demo_network_path()) as engine:
        spread = simulate_spread(engine, Injection("JUNCTION-356", start_s=3600,
                                                   duration_s=3 * 3600,
                                                   concentration_mg_l=10.0),
                                 horizon_s=6 * 3600)
    area = do_not_drink_area(spread, layout)
    assert 50 < len(area.nodes) < 1000 and area.households > 0 and area.dmas
    plan = flushing_plan(net, spread, hydrant_layer(net))
    arrivals = [s.reached_after_s for s in plan]
    assert arrivals == sorted(arrivals)
    assert {s.node_id for s in plan} <= set(area.nodes)
    flushed = {p for s in plan for p in s.pipes}
    touching = {str(p) for p, row in net.pipes.iterrows()
                if row["node1"] in area.nodes or row["node2"] in area.nodes}
    assert flushed == touching
