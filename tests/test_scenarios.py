"""What-if changes: each does what it says, names what is wrong, and is undone without a trace."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waterops.errors import ScenarioError
from waterops.hydraulics.batch import report_arrays
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.quality import Chemical
from waterops.hydraulics.results import SimulationResults
from waterops.hydraulics.scenarios import (
    AddControl,
    Change,
    DemandMultiplier,
    DisableControl,
    NodeLeak,
    PipeLeak,
    ProjectUnits,
    PumpOff,
    PumpSpeed,
    Scenario,
    SetLinkStatus,
    SourceQuality,
    TankLevel,
    apply_changes,
)
from waterops.hydraulics.simulate import simulate

G = 9.80665
CHLORINE = Chemical("chlorine", bulk_coeff_per_day=None, wall_coeff_per_day=None)

TINY_INP = """\
[TITLE]
tiny network: a reservoir, a loop and a leaf

[JUNCTIONS]
;ID  Elev  Demand
J1   10    10
J2   10    5
J3   20    0
J4   10    2

[RESERVOIRS]
R    60

[PIPES]
;ID  Node1  Node2  Length  Diameter  Roughness  MinorLoss  Status
P1   R      J1     100     300       130        0          Open
P2   J1     J2     100     200       130        0          Open
P3   J1     J3     400     200       130        0          Open
P4   J3     J2     100     200       130        0          Open
P5   J2     J4     100     100       130        0          Open

[TIMES]
Duration           2:00
Hydraulic Timestep 1:00
Report Timestep    1:00

[OPTIONS]
Units     LPS
Headloss  H-W

[END]
"""


@pytest.fixture()
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.inp"
    path.write_text(TINY_INP)
    return path


@pytest.fixture()
def net1(net1_path: Path) -> Iterator[EpanetEngine]:
    with EpanetEngine.open(net1_path) as engine:
        yield engine


def run_with(engine: EpanetEngine, changes: tuple[Change, ...], **options: object
             ) -> SimulationResults:
    undo = apply_changes(engine, changes)
    try:
        return engine.run(**options)  # type: ignore[arg-type]
    finally:
        undo()


def assert_same_results(a: SimulationResults, b: SimulationResults) -> None:
    assert a.node.keys() == b.node.keys() and a.link.keys() == b.link.keys()
    for name in a.node:
        pd.testing.assert_frame_equal(a.node[name], b.node[name], check_exact=True)
    for name in a.link:
        pd.testing.assert_frame_equal(a.link[name], b.link[name], check_exact=True)


def differs(a: SimulationResults, b: SimulationResults) -> bool:
    return not np.array_equal(a.node["pressure"].to_numpy(), b.node["pressure"].to_numpy())


# ----------------------------------------------------------------- no state leaks


def test_a_then_b_then_a_equals_fresh_runs(net1_path: Path) -> None:
    a = Scenario(net1_path, (
        SetLinkStatus("110", open=False), DemandMultiplier(1.5), TankLevel("2", 35.0),
        NodeLeak("22", area_m2=1e-3), SourceQuality("9", strength_mgL=2.0),
    ))
    b = Scenario(net1_path, (
        PumpSpeed("9", 0.9), DemandMultiplier(0.5, nodes=frozenset({"12", "13"})),
        SourceQuality("11", strength_mgL=3.0, source_type="SETPOINT"),
        AddControl("10", "time", time_s=6 * 3600, open=False), DisableControl(1),
        DemandMultiplier(2.0, pattern="1"),
    ))
    with EpanetEngine.open(net1_path) as engine:
        base_before = engine.run(quality=CHLORINE)
        sequence = []
        for scenario in (a, b, a):
            undo = scenario.apply_to(engine)
            sequence.append(engine.run(quality=CHLORINE))
            undo()
        base_after = engine.run(quality=CHLORINE)
    fresh = {}
    for name, scenario in (("a", a), ("b", b)):
        with EpanetEngine.open(net1_path) as engine:
            undo = scenario.apply_to(engine)
            fresh[name] = engine.run(quality=CHLORINE)
    assert differs(fresh["a"], base_before) and differs(fresh["b"], base_before)
    assert_same_results(sequence[0], fresh["a"])
    assert_same_results(sequence[1], fresh["b"])
    assert_same_results(sequence[2], fresh["a"])
    assert_same_results(base_after, base_before)


def test_simulate_takes_a_scenario(net1_path: Path, net1: EpanetEngine) -> None:
    scenario = Scenario(net1_path, (PumpOff("9"),))
    assert_same_results(simulate(scenario), run_with(net1, scenario.changes))
    assert scenario.name == "pump '9' off"


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (SetLinkStatus("nope", open=False), "nope"),
        (NodeLeak("nope", area_m2=1e-3), "nope"),
        (NodeLeak("9", area_m2=1e-3), "9"),  # a reservoir, not a junction
        (PipeLeak("nope", area_m2=1e-3), "nope"),
        (PipeLeak("9", area_m2=1e-3), "9"),  # the pump
        (DemandMultiplier(2.0, nodes=frozenset({"10", "nope"})), "nope"),
        (DemandMultiplier(2.0, pattern="nope"), "nope"),
        (PumpOff("nope"), "nope"),
        (PumpOff("10"), "10"),  # a pipe, not a pump
        (PumpSpeed("nope", 0.9), "nope"),
        (TankLevel("nope", 30.0), "nope"),
        (TankLevel("10", 30.0), "10"),  # a junction
        (SourceQuality("nope", strength_mgL=1.0), "nope"),
        (AddControl("nope", "time", time_s=0.0, open=False), "nope"),
        (AddControl("10", "below", level_m=30.0, node_id="nope", open=True), "nope"),
        (DisableControl(99), "99"),
    ],
    ids=lambda v: str(v),
)
def test_unknown_or_wrong_element_names_the_change(
    net1: EpanetEngine, change: Change, element: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        change.apply(net1)
    message = str(info.value)
    assert str(change) in message and repr(element).strip("'") in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: NodeLeak("10"),
        lambda: NodeLeak("10", area_m2=1e-3, emitter_coeff=0.1),
        lambda: NodeLeak("10", area_m2=-1.0),
        lambda: PipeLeak("10", area_m2=1e-3, fraction_along=1.0),
        lambda: DemandMultiplier(-1.0),
        lambda: SourceQuality("10", source_type="MASS", strength_mgL=1.0),
        lambda: SourceQuality("10", source_type="BOGUS", strength_mgL=1.0),  # type: ignore[arg-type]
        lambda: AddControl("10", "time", time_s=0.0),
        lambda: AddControl("10", "below", level_m=3.0, open=True),
        lambda: AddControl("10", "time", open=True),
    ],
)
def test_invalid_change_is_refused_when_made(make: object) -> None:
    with pytest.raises(ScenarioError):
        make()  # type: ignore[operator]


def test_tank_level_outside_the_tank_is_refused(net1: EpanetEngine) -> None:
    with pytest.raises(ScenarioError, match=r"outside the tank's range 30\.48\.\.45\.72 m"):
        TankLevel("2", 50.0).apply(net1)


def test_a_failing_change_undoes_the_ones_before(net1: EpanetEngine) -> None:
    base = net1.run()
    with pytest.raises(ScenarioError, match="nope"):
        apply_changes(net1, (DemandMultiplier(2.0), PumpOff("9"), SetLinkStatus("nope", False)))
    assert_same_results(net1.run(), base)


# ----------------------------------------------------------------- each change does its job


def test_closed_link_and_pump_off_stay_shut_against_controls(net1: EpanetEngine) -> None:
    base = net1.run()
    assert (base.link["flowrate"]["9"] > 0).any()  # the pump runs in the base case
    off = run_with(net1, (PumpOff("9"),))
    assert (off.link["flowrate"]["9"] == 0).all()
    assert (off.link["status"]["9"] == 0).all()
    shut = run_with(net1, (SetLinkStatus("9", open=False),))
    assert (shut.link["flowrate"]["9"] == 0).all()
    closed_pipe = run_with(net1, (SetLinkStatus("110", open=False),))
    assert (closed_pipe.link["flowrate"]["110"].abs() < 1e-9).all()
    assert (base.link["flowrate"]["110"].abs() > 1e-6).any()


def test_opening_a_pump_closed_in_the_file_runs_it(net1_path: Path, tmp_path: Path) -> None:
    """A pump CLOSED in [STATUS] has speed 0 in EPANET: opening it must also give it its
    nominal speed (it delivered nothing before this was fixed), and undo gives both back."""
    text = net1_path.read_text().replace("[STATUS]\n", "[STATUS]\n 9 CLOSED\n", 1)
    start, end = text.index("[CONTROLS]"), text.index("[", text.index("[CONTROLS]") + 1)
    path = tmp_path / "closed_pump.inp"
    path.write_text(text[:start] + "[CONTROLS]\n\n" + text[end:])
    with EpanetEngine.open(path) as engine:
        before = engine.run(duration_s=3600)
        assert (before.link["flowrate"]["9"] == 0).all()
        opened = run_with(engine, (SetLinkStatus("9", open=True),), duration_s=3600)
        assert (opened.link["flowrate"]["9"] > 0.05).all()  # Net1's pump: ~0.1 m³/s
        assert (opened.link["status"]["9"] == 1).all()
        assert_same_results(before, engine.run(duration_s=3600))


def test_pump_speed_runs_the_pump_all_along(net1: EpanetEngine) -> None:
    slow = run_with(net1, (PumpSpeed("9", 0.8),))
    full = run_with(net1, (PumpSpeed("9", 1.0),))
    assert (slow.link["status"]["9"] == 1).all() and (full.link["status"]["9"] == 1).all()
    # same tank level at the start: the slower pump delivers less
    assert slow.link["flowrate"]["9"].iloc[0] < 0.9 * full.link["flowrate"]["9"].iloc[0]


def test_demand_multiplier_all_zone_and_pattern(net1: EpanetEngine) -> None:
    base = net1.run(demand_model="DDA").node["demand"]
    junctions = [c for c in base.columns if c not in ("9", "2")]
    doubled = run_with(net1, (DemandMultiplier(2.0),), demand_model="DDA").node["demand"]
    np.testing.assert_allclose(doubled[junctions], 2.0 * base[junctions], rtol=1e-12)
    zone = run_with(net1, (DemandMultiplier(3.0, nodes=frozenset({"12", "13"})),),
                    demand_model="DDA").node["demand"]
    np.testing.assert_allclose(zone[["12", "13"]], 3.0 * base[["12", "13"]], rtol=1e-12)
    others = [j for j in junctions if j not in ("12", "13")]
    np.testing.assert_allclose(zone[others], base[others], rtol=1e-12)
    on_pattern = run_with(net1, (DemandMultiplier(0.5, pattern="1"),),
                          demand_model="DDA").node["demand"]
    np.testing.assert_allclose(on_pattern[junctions], 0.5 * base[junctions], rtol=1e-12)


def test_demand_multiplier_per_pattern_leaves_other_patterns(net3_path: Path) -> None:
    with EpanetEngine.open(net3_path) as net3:
        ph = net3.handle
        # Net3: most demands follow the default pattern 1; junction 15 has pattern 3
        j15 = net3.node_index("15")
        assert tk.getdemandpattern(ph, j15, 1) == tk.getpatternindex(ph, "3")
        base = net3.run(duration_s=3600, demand_model="DDA").node["demand"]
        scaled = run_with(net3, (DemandMultiplier(2.0, pattern="1"),), duration_s=3600,
                          demand_model="DDA").node["demand"]
    np.testing.assert_allclose(scaled["15"], base["15"], rtol=1e-12)
    np.testing.assert_allclose(scaled["101"], 2.0 * base["101"], rtol=1e-12)


def test_tank_level_is_the_starting_level(net1: EpanetEngine) -> None:
    results = run_with(net1, (TankLevel("2", 36.0),))
    assert results.node["pressure"]["2"].iloc[0] == pytest.approx(36.0, abs=1e-9)


@pytest.mark.parametrize("network", ["tiny", "net1"])
def test_node_leak_is_an_orifice(
    network: str, tiny_path: Path, net1_path: Path
) -> None:
    """Leak flow = Cd·A·sqrt(2·g·p) at the solved pressure, in SI and in US-unit files."""
    path, node = (tiny_path, "J3") if network == "tiny" else (net1_path, "22")
    with EpanetEngine.open(path) as engine:
        base = engine.run()
        leak = run_with(engine, (NodeLeak(node, area_m2=1e-3, discharge_coeff=0.6),))
    leak_flow_m3s = leak.node["demand"][node] - base.node["demand"][node]
    pressure_m = leak.node["pressure"][node]
    assert (pressure_m > 1.0).all()
    np.testing.assert_allclose(leak_flow_m3s, 0.6 * 1e-3 * np.sqrt(2 * G * pressure_m),
                               rtol=1e-6)


def test_burst_is_a_full_bore_orifice() -> None:
    burst = NodeLeak.burst("J1", pipe_diameter_m=0.2)
    assert burst.area_m2 == pytest.approx(math.pi * 0.01)


class _RawProject:
    """A bare toolkit project: changes need nothing but the handle."""

    def __init__(self, path: Path, report: Path) -> None:
        self.handle = tk.createproject()
        tk.open(self.handle, str(path), str(report), "")

    def solve(self) -> None:
        tk.settimeparam(self.handle, tk.DURATION, 0)
        tk.solveH(self.handle)

    def node(self, node_id: str, prop: int) -> float:
        return float(tk.getnodevalue(self.handle, tk.getnodeindex(self.handle, node_id), prop))

    def close(self) -> None:
        tk.close(self.handle)
        tk.deleteproject(self.handle)


def test_pipe_leak_splits_the_pipe_into_an_orifice(tiny_path: Path, tmp_path: Path) -> None:
    project = _RawProject(tiny_path, tmp_path / "raw.rpt")
    ph = project.handle
    try:
        project.solve()
        before = {n: project.node(n, tk.PRESSURE) for n in ("J1", "J2", "J3", "J4")}
        counts = (tk.getcount(ph, tk.NODECOUNT), tk.getcount(ph, tk.LINKCOUNT))
        leak = PipeLeak("P3", area_m2=5e-4, fraction_along=0.25)
        undo = leak.apply(project)
        project.solve()
        p3 = tk.getlinkindex(ph, "P3")
        far = tk.getlinkindex(ph, "P3_leak_b")
        assert tk.getlinkvalue(ph, p3, tk.LENGTH) == pytest.approx(100.0)
        assert tk.getlinkvalue(ph, far, tk.LENGTH) == pytest.approx(300.0)
        assert tk.getlinkvalue(ph, far, tk.DIAMETER) == pytest.approx(200.0)
        assert project.node("P3_leak", tk.ELEVATION) == pytest.approx(12.5)  # 10 + 0.25 x 10
        units = ProjectUnits.of(ph)
        pressure_m = project.node("P3_leak", tk.PRESSURE) * units.pressure_m
        flow_m3s = project.node("P3_leak", tk.EMITTERFLOW) * units.flow_m3s
        assert pressure_m > 10.0
        assert flow_m3s == pytest.approx(0.75 * 5e-4 * math.sqrt(2 * G * pressure_m), rel=1e-9)
        # the leak draws water: pressures fall
        assert project.node("J2", tk.PRESSURE) < before["J2"]
        undo()
        assert (tk.getcount(ph, tk.NODECOUNT), tk.getcount(ph, tk.LINKCOUNT)) == counts
        assert tk.getlinkvalue(ph, tk.getlinkindex(ph, "P3"), tk.LENGTH) == pytest.approx(400.0)
        project.solve()
        assert {n: project.node(n, tk.PRESSURE) for n in before} == before
    finally:
        project.close()


def test_pipe_leak_through_the_engine(tiny_path: Path) -> None:
    with EpanetEngine.open(tiny_path) as engine:
        base = engine.run()
        leak = PipeLeak("P3", area_m2=5e-4, fraction_along=0.25)
        undo = leak.apply(engine)
        try:
            leaky = engine.run()
            arrays = report_arrays(engine, ("pressure", "demand"))
        finally:
            undo()
        after = engine.run()
    assert "P3_leak" in leaky.node["pressure"].columns and "P3_leak_b" in leaky.link_type
    assert leaky.node_type["P3_leak"] == "junction"
    pressure_m = leaky.node["pressure"]["P3_leak"]
    np.testing.assert_allclose(leaky.node["demand"]["P3_leak"],
                               0.75 * 5e-4 * np.sqrt(2 * G * pressure_m), rtol=1e-9)
    np.testing.assert_array_equal(arrays.node["pressure"], leaky.node["pressure"].to_numpy())
    assert arrays.node_ids == list(leaky.node["pressure"].columns)
    assert_same_results(after, base)


def test_source_quality_sets_a_booster(net1: EpanetEngine) -> None:
    base = net1.run(quality=CHLORINE)
    boosted = run_with(net1, (SourceQuality("11", strength_mgL=3.0, source_type="SETPOINT"),),
                       quality=CHLORINE)
    assert base.node["quality"]["11"].iloc[-1] < 1.0
    assert boosted.node["quality"]["11"].iloc[-1] == pytest.approx(3.0)
    reservoir = run_with(net1, (SourceQuality("9", strength_mgL=2.0),), quality=CHLORINE)
    assert reservoir.node["quality"]["9"].iloc[-1] == pytest.approx(2.0)


def test_added_control_closes_a_pipe_at_a_time(net1: EpanetEngine) -> None:
    results = run_with(net1, (AddControl("10", "time", time_s=6 * 3600, open=False),))
    flow = results.link["flowrate"]["10"]
    assert (flow[flow.index < 6 * 3600].abs() > 1e-6).all()
    assert (flow[flow.index >= 6 * 3600] == 0).all()
    assert tk.getcount(net1.handle, tk.CONTROLCOUNT) == 2  # removed again


def test_disabled_control_is_enabled_again_by_undo(net1: EpanetEngine) -> None:
    ph = net1.handle
    state = tk.intArray(1)
    undo = DisableControl(2).apply(net1)  # Net1: LINK 9 CLOSED IF NODE 2 ABOVE 140
    tk.getcontrolenabled(ph, 2, state)
    assert state[0] == 0
    # with the closing control off the pump keeps filling the tank past 140 ft
    assert run_with(net1, ()).node["pressure"]["2"].max() > 140 * 0.3048
    undo()
    tk.getcontrolenabled(ph, 2, state)
    assert state[0] == 1


NET1_JUNCTIONS = ("10", "11", "12", "13", "21", "22", "23", "31", "32")
NET1_LINKS = ("10", "11", "12", "21", "22", "31", "110", "111", "112", "113", "121", "122", "9")


def net1_changes() -> st.SearchStrategy[Change]:
    junction = st.sampled_from(NET1_JUNCTIONS)
    return st.one_of(
        st.builds(SetLinkStatus, st.sampled_from(NET1_LINKS), st.booleans()),
        st.builds(NodeLeak, junction, area_m2=st.floats(1e-5, 1e-2)),
        st.builds(DemandMultiplier, st.floats(0.0, 3.0),
                  nodes=st.none() | st.frozensets(junction, min_size=1)),
        st.builds(PumpOff, st.just("9")),
        st.builds(PumpSpeed, st.just("9"), st.floats(0.5, 1.2)),
        st.builds(TankLevel, st.just("2"), st.floats(30.5, 45.7)),  # Net1: 100..150 ft
        st.builds(SourceQuality, junction, strength_mgL=st.floats(0.0, 4.0)),
        st.builds(AddControl, st.sampled_from(NET1_LINKS), st.just("time"),
                  time_s=st.integers(0, 24).map(lambda h: h * 3600.0), open=st.booleans()),
        st.builds(AddControl, st.just("9"), st.sampled_from(["below", "above"]),
                  level_m=st.floats(30.5, 45.7), node_id=st.just("2"),
                  setting=st.floats(0.5, 1.0)),
        st.builds(DisableControl, st.integers(1, 2)),
        st.builds(PipeLeak, st.sampled_from(NET1_LINKS[:-1]), area_m2=st.floats(1e-5, 1e-2),
                  fraction_along=st.floats(0.05, 0.95)),
    )


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(net1_changes(), min_size=1, max_size=5))
def test_any_changes_are_undone_without_a_trace(net1: EpanetEngine, changes: list[Change]) -> None:
    before = net1.run(quality=CHLORINE)
    # a refused change (the same pipe split twice) rolls back what was applied before it
    with contextlib.suppress(ScenarioError):
        run_with(net1, tuple(changes), quality=CHLORINE)
    assert_same_results(net1.run(quality=CHLORINE), before)


def test_level_control_in_metres_on_a_us_network(net1: EpanetEngine) -> None:
    """Net1 is in feet: a level given in m must reach EPANET as feet."""
    base = net1.run().node["pressure"]["2"]
    assert base.max() > 42.0  # the file stops the pump at 140 ft = 42.67 m
    capped = run_with(net1, (
        DisableControl(2),
        AddControl("9", "above", level_m=40.0, node_id="2", open=False),
    )).node["pressure"]["2"]
    assert 39.0 < capped.max() <= 40.0 + 1e-6


def test_emitter_coefficient_equals_the_same_orifice(net1: EpanetEngine) -> None:
    orifice = run_with(net1, (NodeLeak("22", area_m2=1e-3, discharge_coeff=0.6),))
    coeff = 0.6 * 1e-3 * math.sqrt(2 * G)  # m³/s per m^0.5
    emitter = run_with(net1, (NodeLeak("22", emitter_coeff=coeff),))
    np.testing.assert_allclose(emitter.node["demand"], orifice.node["demand"], rtol=1e-12)
