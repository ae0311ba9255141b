"""Valve isolation on a small network whose answers are known by inspection
(see isolation_world.py for the drawing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from isolation_world import CRITICAL, CUSTOMERS, DEMANDS_LS, LAYER, VALVES_CSV, write_world

from waterops.emergency.closure import ClosureSimulator
from waterops.emergency.isolation import Isolator, find_segments
from waterops.errors import NetworkFileError, NetworkModelError, ScenarioError, UnknownElementError
from waterops.hydraulics.scenarios import NodeLeak
from waterops.io.inp import read_inp
from waterops.io.valve_layer import parse_valve_layer, read_valve_layer, write_valve_layer
from waterops.model.network import Network
from waterops.model.valve_layer import strategic_valve_layer, valve_layer_of


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Network]:
    inp, _ = write_world(tmp_path_factory.mktemp("isolation"))
    return inp, read_inp(inp)


@pytest.fixture(scope="module")
def isolator(world: tuple[Path, Network]) -> Isolator:
    return Isolator(world[1], LAYER, CUSTOMERS, CRITICAL)


def segment_of(isolator: Isolator, element: str) -> tuple[set[str], set[str]]:
    segs = isolator.segments
    s = segs.link_segment.get(element, segs.node_segment.get(element))
    assert s is not None
    return set(segs.nodes[s]), set(segs.links[s])


def test_segments_are_those_read_off_the_drawing(isolator: Isolator) -> None:
    assert len(isolator.segments) == 6
    assert segment_of(isolator, "R1") == ({"R1", "J1"}, {"P1"})
    assert segment_of(isolator, "P2") == (set(), {"P2"})
    assert segment_of(isolator, "J2") == ({"J2"}, {"P3"})
    assert segment_of(isolator, "J6") == ({"J6"}, {"P6", "P7"})
    assert segment_of(isolator, "J3") == ({"J3"}, {"P4"})
    assert segment_of(isolator, "J5") == ({"J4", "J5"}, {"P5"})
    assert isolator.segments.internal_valves == ()


def test_burst_on_p3_closes_three_valves_and_cuts_off_the_branch(isolator: Isolator) -> None:
    plan = isolator.plan_for_link("P3")
    assert {v.valve_id for v in plan.valves_to_close} == {"V2", "V3", "V6"}
    assert plan.isolated_nodes == ("J2",)
    assert plan.isolated_links == ("P3",)
    # the unintended isolation: J3, J4, J5 are fed only through J2's segment
    assert plan.unintended_nodes == ("J3", "J4", "J5")
    assert set(plan.unintended_links) == {"P4", "P5"}
    assert set(plan.customers) == {"H1", "H2", "E1"}
    assert plan.customers_by_kind == {"enterprise": 1, "household": 2}
    assert [u.id for u in plan.critical_users] == ["HOS-1"]
    want_ls = DEMANDS_LS["J2"] + DEMANDS_LS["J3"] + DEMANDS_LS["J4"] + DEMANDS_LS["J5"]
    assert plan.demand_lost_ls == pytest.approx(want_ls)
    assert plan.demand_lost_m3d == pytest.approx(want_ls / 1000 * 86400)
    assert set(plan.links_to_close) == {"P2", "P3", "P7"}


def test_pipe_between_two_valves_isolates_no_customer(isolator: Isolator) -> None:
    plan = isolator.plan_for_link("P2")
    assert {v.valve_id for v in plan.valves_to_close} == {"V1", "V2"}
    assert plan.isolated_nodes == () and plan.unintended_nodes == ()  # J2 is fed round the loop
    assert plan.customers == () and plan.demand_lost_m3s == 0.0


def test_node_plan_and_dead_end(isolator: Isolator) -> None:
    plan = isolator.plan_for_node("J6")
    assert {v.valve_id for v in plan.valves_to_close} == {"V5", "V6"}
    assert plan.customers == ("H3",) and plan.unintended_nodes == ()
    end = isolator.plan_for_link("P5")
    assert [v.valve_id for v in end.valves_to_close] == ["V4"]
    assert end.isolated_nodes == ("J4", "J5") and end.unintended_nodes == ()
    assert [u.id for u in end.critical_users] == ["HOS-1"]


def test_isolating_the_source_segment_dries_everything(isolator: Isolator) -> None:
    plan = isolator.plan_for_link("P1")
    assert {v.valve_id for v in plan.valves_to_close} == {"V1", "V5"}
    assert plan.unintended_nodes == ("J2", "J3", "J4", "J5", "J6")
    assert plan.demand_lost_ls == pytest.approx(sum(DEMANDS_LS.values()))


def test_unknown_elements_are_named(isolator: Isolator) -> None:
    with pytest.raises(UnknownElementError, match="unknown link 'P9'"):
        isolator.plan_for_link("P9")
    with pytest.raises(UnknownElementError, match="unknown node 'J9'"):
        isolator.plan_for_node("J9")


def test_a_valve_inside_a_loop_is_internal(world: tuple[Path, Network]) -> None:
    # with V1 alone, P2 still reaches J1 round the loop P7-J6-P6: V1 isolates nothing
    segs = find_segments(world[1], valve_layer_of([("V1", "P2", "J1")]))
    assert [v.valve_id for v in segs.internal_valves] == ["V1"]
    assert len(segs) == 1 and segs.boundary == ((),)
    # with V5 too, J1's side is cut from the rest: two segments, both valves on the boundary
    segs = find_segments(world[1], valve_layer_of([("V1", "P2", "J1"), ("V5", "P6", "J1")]))
    assert segs.internal_valves == () and len(segs) == 2


def test_cut_off_by_links(isolator: Isolator) -> None:
    assert isolator.cut_off_by(["P4"]) == ("J4", "J5")
    assert isolator.cut_off_by(["P2"]) == ()
    assert isolator.cut_off_by(["P2", "P7"]) == ("J2", "J3", "J4", "J5")
    with pytest.raises(UnknownElementError):
        isolator.cut_off_by(["nope"])


def test_hydraulics_agree_with_the_graph(world: tuple[Path, Network],
                                         isolator: Isolator) -> None:
    plan = isolator.plan_for_link("P3")
    with ClosureSimulator(world[0]) as sim:
        effect = sim.effect(plan.links_to_close)
        assert effect.unsupplied_m3s == pytest.approx(plan.demand_lost_m3s, rel=1e-3)
        assert set(effect.unsupplied_nodes()) == {"J2", "J3", "J4", "J5"}
        assert set(effect.newly_low) == {"J2", "J3", "J4", "J5"}
        assert effect.lowest(1)[0][1] < 1.0
        assert "J6" not in effect.drops(5.0)  # J6 is fed from J1 directly
        nothing = sim.effect(["P2"])  # the loop carries J2's water: no loss
        assert nothing.unsupplied_m3s == pytest.approx(0.0, abs=1e-7)
        with pytest.raises(ScenarioError, match="P99"):
            sim.effect(["P99"])
        with pytest.raises(ScenarioError):
            sim.effect([])


def test_valve_layer_csv_round_trip_and_errors(world: tuple[Path, Network],
                                               tmp_path: Path) -> None:
    net = world[1]
    assert parse_valve_layer(VALVES_CSV, net) == LAYER
    path = tmp_path / "v.csv"
    write_valve_layer(LAYER, path, comment="test")
    assert read_valve_layer(path, net) == LAYER
    cases = {
        "valve_id,link\nV1,P2\n": (1, "missing column"),
        "valve_id,link,node\nV1,P2,J1\nV1,P3,J3\n": (3, "already on line 2"),
        "valve_id,link,node\nV1,P2,J1\nV2,P2,J1\n": (3, "already on line 2"),
        "# c\nvalve_id,link,node\nV1,P2,J1\nV2,P9,J1\n": (4, "no link 'P9'"),
        "valve_id,link,node\nV1,P2,J5\n": (2, "not an end of link 'P2'"),
        "valve_id,link,node\nV1,,J1\n": (2, "empty link"),
        "valve_id,link,node\nV1,P2\n": (2, "2 values for 3 columns"),
    }
    for text, (line, reason) in cases.items():
        with pytest.raises(NetworkFileError, match=reason) as err:
            parse_valve_layer(text, net, source="v.csv")
        assert err.value.line == line, text
    with pytest.raises(NetworkFileError, match="no such valve-layer file"):
        read_valve_layer(tmp_path / "missing.csv")
    with pytest.raises(NetworkModelError, match="not an end"):
        valve_layer_of([("V1", "P2", "J5")]).check_against(net)


def test_strategic_layer_is_n_minus_1(world: tuple[Path, Network]) -> None:
    net = world[1]
    layer = strategic_valve_layer(net)
    # J1 has P1 (300 mm), P2, P6: P1 is left without a valve; J2 has P2, P3, P7 (all 200 mm):
    # P2 (smallest id) is left; dead ends and the reservoir (one link) get none
    at = {(v.link_id, v.node_id) for v in layer}
    assert {link for link, node in at if node == "J1"} == {"P2", "P6"}
    assert {link for link, node in at if node == "J2"} == {"P3", "P7"}
    assert not {node for _, node in at} & {"R1", "J5"}
    degree = {"J1": 3, "J2": 3, "J3": 2, "J4": 2, "J6": 2}
    assert len(layer) == sum(d - 1 for d in degree.values())
    assert strategic_valve_layer(net) == layer  # deterministic
    assert len(strategic_valve_layer(net, unvalved_per_node=0)) == 14


def test_a_failed_valve_widens_the_isolation(isolator: Isolator) -> None:
    # V3 (P3 at J3) is seized: the crew closes V4 beyond J3 instead
    plan = isolator.plan_for_link("P3", failed_valves=["V3"])
    assert {v.valve_id for v in plan.valves_to_close} == {"V2", "V4", "V6"}
    assert plan.isolated_nodes == ("J2", "J3") and plan.unintended_nodes == ("J4", "J5")
    assert plan.failed_valves == ("V3",) and len(plan.segments) == 2
    # V4 fails while isolating the dead end: J3's segment goes too, closed at V3
    end = isolator.plan_for_link("P5", failed_valves=["V4"])
    assert [v.valve_id for v in end.valves_to_close] == ["V3"]
    assert end.isolated_nodes == ("J3", "J4", "J5") and end.unintended_nodes == ()
    # a failed valve elsewhere changes nothing
    assert isolator.plan_for_link("P5", failed_valves=["V1"]).valves_to_close == \
        isolator.plan_for_link("P5").valves_to_close
    with pytest.raises(UnknownElementError, match="unknown valve 'V99'"):
        isolator.plan_for_link("P3", failed_valves=["V99"])


def test_isolating_a_burst_stops_it(world: tuple[Path, Network], isolator: Isolator) -> None:
    # a 0.002 m² burst at J3 (the demo's default burst size) runs in the base; isolating J3
    # shuts it (J4 and J5 beyond go dry too) and the leak stops
    plan = isolator.plan_for_node("J3")
    with ClosureSimulator(world[0], setup=(NodeLeak("J3", area_m2=0.002),)) as sim:
        effect = sim.effect(plan.links_to_close)
        # the burst lost Cd·A·sqrt(2·g·p) for one second (steady state: volumes are rates)
        assert -effect.emitter_outflow_change_m3 > 0.01
        # closing the dead end leaves the burst running, a little faster (J5's demand gone,
        # pressure at J3 rises)
        beyond = sim.effect(["P5"])
        assert 0.0 < beyond.emitter_outflow_change_m3 < 0.02 * -effect.emitter_outflow_change_m3
    with ClosureSimulator(world[0]) as quiet:
        assert quiet.effect(plan.links_to_close).emitter_outflow_change_m3 == pytest.approx(
            0.0, abs=1e-6)
