"""The EPANET adapter: opening, ids, repeated runs, restored options, errors and warnings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import pytest

from problem_networks import TROUBLED, UNSOLVABLE
from waterops.errors import (
    ConfigError,
    NetworkFileError,
    ScenarioError,
    SimulationError,
    UnknownElementError,
)
from waterops.hydraulics import (
    Engine,
    EpanetEngine,
    PressureDriven,
    ScenarioLike,
    WaterAge,
    simulate,
)

NETWORKS = Path(__file__).parent / "networks"

BAD_FILE = """\
[TITLE]
a junction with a word for a demand, a pipe to nowhere
[JUNCTIONS]
J1  50  2.0
J2  45  abc
[RESERVOIRS]
R1  100
[PIPES]
P1  R1  J1  1000  300  100  0  Open
P2  J1  J3  500   200  100  0  Open
[END]
"""

# a 1e-12 mm pipe: EPANET cannot solve it (error 110, ill-conditioned at J1)
def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_file_is_a_network_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.inp"
    with pytest.raises(NetworkFileError) as err:
        EpanetEngine.open(missing)
    assert err.value.path == str(missing)
    assert "not found" in err.value.reason


def test_a_folder_is_not_a_network_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError) as err:
        EpanetEngine.open(tmp_path)
    assert "not found" in err.value.reason


def test_a_removed_scratch_folder_is_made_again(net1_path: Path) -> None:
    """Report files go to one scratch folder per process, not checked before every open: when
    a temp cleaner removed it, EPANET's 'cannot open report file' makes it again."""
    import shutil

    from waterops.hydraulics.epanet import scratch_dir

    shutil.rmtree(scratch_dir())
    results = simulate(net1_path, duration_s=3600)
    assert len(results.time_s) == 2 and scratch_dir(check=False).is_dir()


def test_runs_do_not_share_mutable_labels(net1_path: Path) -> None:
    """Column and time labels are remembered by content, but each run gets its own Index
    objects: renaming one result's axis leaves the next result alone."""
    first = simulate(net1_path, duration_s=3600)
    first.node["pressure"].columns.name = "renamed"
    first.node["pressure"].index.name = "renamed"
    second = simulate(net1_path, duration_s=3600)
    assert second.node["pressure"].columns.name == "node"
    assert second.node["pressure"].index.name == "time_s"
    assert list(second.node["pressure"].columns) == list(first.node["pressure"].columns)


def test_invalid_file_names_line_and_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.inp", BAD_FILE)
    with pytest.raises(NetworkFileError) as err:
        EpanetEngine.open(path)
    assert err.value.line == 5  # "J2  45  abc"
    assert "illegal numeric value" in err.value.reason
    assert "1 more" in err.value.reason  # the undefined node J3 as well
    assert str(err.value).startswith(f"{path}:5: ")


def test_ids_follow_toolkit_order_and_unknown_ids_are_typed(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        assert isinstance(engine, Engine)
        assert engine.node_ids[0] == "10" and engine.node_index("10") == 1
        for i, node_id in enumerate(engine.node_ids, start=1):
            assert tk.getnodeid(engine.handle, i) == node_id
            assert engine.node_index(node_id) == i
        assert engine.link_index(engine.link_ids[-1]) == len(engine.link_ids)
        assert engine.flow_units == "GPM"
        with pytest.raises(UnknownElementError) as err:
            engine.node_index("no-such-node")
        assert isinstance(err.value, KeyError) and isinstance(err.value, ScenarioError)
        assert "no-such-node" in str(err.value)
        with pytest.raises(KeyError):
            engine.link_index("nope")


def test_element_types_are_the_toolkits(net3_path: Path) -> None:
    results = simulate(net3_path, duration_s=0)
    with EpanetEngine.open(net3_path) as engine:
        ph = engine.handle
        nodes = [tk.getnodetype(ph, i) for i in range(1, len(engine.node_ids) + 1)]
        links = [tk.getlinktype(ph, i) for i in range(1, len(engine.link_ids) + 1)]
    names = {tk.JUNCTION: "junction", tk.RESERVOIR: "reservoir", tk.TANK: "tank"}
    assert list(results.node_type) == [names[c] for c in nodes]
    assert results.node_type.value_counts().to_dict() == {"junction": 92, "tank": 3, "reservoir": 2}
    assert (results.link_type == "pump").sum() == links.count(tk.PUMP) == 2
    assert len(results.time_s) == 1


def _options(engine: EpanetEngine) -> tuple[object, ...]:
    ph = engine.handle
    return (
        tuple(
            tk.gettimeparam(ph, p)
            for p in (tk.DURATION, tk.HYDSTEP, tk.QUALSTEP, tk.REPORTSTEP, tk.REPORTSTART)
        ),
        tuple(tk.getqualinfo(ph)),
        tuple(tk.getdemandmodel(ph)),
        tk.getoption(ph, tk.PRESS_UNITS),
        tk.getlinkvalue(ph, 1, tk.KBULK),
    )


def test_repeated_runs_are_identical_and_options_restored(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        before = _options(engine)
        first = engine.run()
        short = engine.run(
            duration_s=7200,
            hydraulic_step_s=600,
            report_step_s=900,
            quality=WaterAge(),
            demand_model=PressureDriven(0.0, 30.0, 0.5),
        )
        assert list(short.time_s) == list(range(0, 7201, 900))
        assert _options(engine) == before
        engine.run(duration_s=3600)  # the duration alone is saved and restored
        assert _options(engine) == before
        again = engine.run()
    for table in ("pressure", "head", "demand"):
        assert first.node[table].equals(again.node[table])
    assert first.link["flowrate"].equals(again.link["flowrate"])


def test_changes_through_the_handle_are_simulated(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        base = engine.run(duration_s=3600)
        pipe = engine.link_index("10")  # the main from the pump towards the network
        tk.setlinkvalue(engine.handle, pipe, tk.INITSTATUS, tk.CLOSED)
        closed = engine.run(duration_s=3600)
    assert base.link["flowrate"]["10"].abs().min() > 1e-3
    assert closed.link["flowrate"]["10"].abs().max() < 1e-9
    assert closed.link["status"]["10"].eq(0).all()


def test_duration_and_step_give_report_times(net1_path: Path) -> None:
    results = simulate(net1_path, duration_s=3 * 3600, hydraulic_step_s=900)
    assert list(results.time_s) == [0, 3600, 7200, 10800]


def test_progress_reaches_the_duration(net1_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    simulate(net1_path, duration_s=5 * 3600, progress=lambda t, d: seen.append((t, d)))
    assert seen and seen[-1] == (5 * 3600, 5 * 3600)
    assert [t for t, _ in seen] == sorted(t for t, _ in seen)


def test_unsolvable_system_is_a_simulation_error(tmp_path: Path) -> None:
    path = write(tmp_path, "unsolvable.inp", UNSOLVABLE)
    with pytest.raises(SimulationError) as err:
        simulate(path)
    assert err.value.code == 110
    assert err.value.path == str(path)
    assert "ill-conditioned at node J1 (line 2)" in str(err.value)


def test_warnings_name_elements(tmp_path: Path) -> None:
    results = simulate(write(tmp_path, "troubled.inp", TROUBLED))
    kinds = {(w.kind, w.element) for w in results.warnings}
    assert ("disconnected", "J3") in kinds
    assert ("pump_beyond_curve", "PU1") in kinds
    assert ("negative_pressure", "J1") in kinds
    low = results.lowest_pressure()
    assert low is not None and low.pressure_m < 0 and low.node_id in ("J1", "J3")


def test_lowest_pressure_is_the_minimum_over_junctions(net3_path: Path) -> None:
    results = simulate(net3_path, duration_s=24 * 3600)
    low = results.lowest_pressure()
    junctions = results.node["pressure"][results.junction_ids]
    assert low is not None
    assert low.pressure_m == junctions.to_numpy().min()
    assert junctions.loc[low.time_s, low.node_id] == low.pressure_m
    assert "Lake" not in results.junction_ids and results.node_type["Lake"] == "reservoir"


def test_pressure_driven_delivers_less_where_pressure_is_low(net1_path: Path) -> None:
    # required pressure 80 m is above what most of Net1 sees at peak
    dda = simulate(net1_path, duration_s=24 * 3600, demand_model="DDA")
    pda = simulate(
        net1_path,
        duration_s=24 * 3600,
        demand_model=PressureDriven(minimum_pressure_m=0.0, required_pressure_m=80.0),
    )
    junctions = dda.junction_ids
    pressure = pda.node["pressure"][junctions].to_numpy()
    delivered = pda.node["demand"][junctions].to_numpy()
    wanted = dda.node["demand"][junctions].to_numpy()
    short = (pressure < 80.0 - 1e-6) & (wanted > 0)
    full = (pressure >= 80.0) & (wanted > 0)
    assert short.sum() > 10 and full.sum() > 0
    assert (delivered[short] < wanted[short]).all()
    np.testing.assert_allclose(delivered[full], wanted[full], rtol=1e-6)


class CloseLink:
    """A minimal scenario: close one link for the run."""

    def __init__(self, base: Path, link_id: str) -> None:
        self.base = base
        self.link_id = link_id
        self.undone = False

    def apply_to(self, engine: Engine) -> Callable[[], None]:
        index = engine.link_index(self.link_id)
        old = tk.getlinkvalue(engine.handle, index, tk.INITSTATUS)
        tk.setlinkvalue(engine.handle, index, tk.INITSTATUS, tk.CLOSED)

        def undo() -> None:
            tk.setlinkvalue(engine.handle, index, tk.INITSTATUS, old)
            self.undone = True

        return undo


def test_simulate_runs_a_scenario_and_undoes_it(net1_path: Path) -> None:
    scenario = CloseLink(net1_path, "10")
    assert isinstance(scenario, ScenarioLike)
    results = simulate(scenario, duration_s=3600)
    assert scenario.undone
    assert results.link["flowrate"]["10"].abs().max() < 1e-9


def test_report_start_and_odd_steps(net1_path: Path, tmp_path: Path) -> None:
    text = net1_path.read_text()
    text = text.replace(" Report Start       \t0:00", " Report Start       \t2:00")
    text = text.replace(" Report Timestep    \t1:00", " Report Timestep    \t2:00")
    assert "Report Start       \t2:00" in text and "Report Timestep    \t2:00" in text
    path = tmp_path / "late_reports.inp"
    path.write_text(text)
    results = simulate(path, duration_s=12 * 3600, hydraulic_step_s=10 * 60)
    assert list(results.time_s) == [7200, 14400, 21600, 28800, 36000, 43200]
    # the same 10-min hydraulics reported hourly from 0 h: the 2-hourly rows are among them
    hourly = simulate(net1_path, duration_s=12 * 3600, hydraulic_step_s=10 * 60)
    np.testing.assert_allclose(
        results.node["pressure"].to_numpy(),
        hourly.node["pressure"].loc[results.time_s].to_numpy(),
        rtol=0,
        atol=1e-9,
    )


def test_engine_runs_again_after_a_failed_run(tmp_path: Path) -> None:
    with EpanetEngine.open(write(tmp_path, "unsolvable.inp", UNSOLVABLE)) as engine:
        with pytest.raises(SimulationError) as err:
            engine.run(quality=WaterAge(), duration_s=3600)
        assert err.value.code == 110 and "t = 0 s" in str(err.value)
        assert tk.getqualinfo(engine.handle)[0] == tk.NONE  # the file's quality type is back
        pipe = engine.link_index("P1")
        tk.setlinkvalue(engine.handle, pipe, tk.DIAMETER, 300.0)  # [mm]: a real main
        fixed = engine.run(quality=WaterAge(), duration_s=3600)
    assert (fixed.node["pressure"][["J1", "J2"]] > 0).all().all()
    assert list(fixed.time_s) == [0, 3600]


def test_demand_model_names(net1_path: Path) -> None:
    lower = simulate(net1_path, duration_s=3600, demand_model="pda")
    upper = simulate(net1_path, duration_s=3600, demand_model="PDA")
    assert lower.node["demand"].equals(upper.node["demand"])
    with pytest.raises(ConfigError, match="unknown demand model 'XDA'"):
        simulate(net1_path, duration_s=3600, demand_model="XDA")


def test_getter_buffers_pass_from_closed_engines_to_new_ones() -> None:
    """A closed engine's getter buffers serve the next engine of the same size; two engines
    open at once never share one, and each reads its own values."""
    from waterops.hydraulics import epanet as adapter

    adapter._SPARE_VECTORS.clear()
    net1, net3 = NETWORKS / "Net1.inp", NETWORKS / "Net3.inp"
    with EpanetEngine.open(net1) as first, EpanetEngine.open(net1) as second:
        given = [first._node_buf, first._link_buf, second._node_buf, second._link_buf]
        assert len({id(buffer) for buffer in given}) == 4
        a, b = first.run(duration_s=7200), second.run(duration_s=7200)
    assert sorted(map(id, adapter._SPARE_VECTORS[11])) == sorted([id(given[0]), id(given[2])])
    assert sorted(map(id, adapter._SPARE_VECTORS[13])) == sorted([id(given[1]), id(given[3])])
    with EpanetEngine.open(net1) as third:
        assert any(third._node_buf is buffer for buffer in (given[0], given[2]))
        assert any(third._link_buf is buffer for buffer in (given[1], given[3]))
        c = third.run(duration_s=7200)
    with EpanetEngine.open(net3) as other:  # another size: none of Net1's buffers
        assert all(other._node_buf is not buffer for buffer in given)
        assert other._node_buf.size == len(other.node_ids) == 97
        other.run(duration_s=7200)
    for table in ("pressure", "head", "demand"):
        np.testing.assert_array_equal(a.node[table].to_numpy(), b.node[table].to_numpy())
        np.testing.assert_array_equal(a.node[table].to_numpy(), c.node[table].to_numpy())
    for spare in adapter._SPARE_VECTORS.values():
        assert len(spare) <= 4


def test_restore_undoes_in_reverse_and_makes_every_call() -> None:
    """The option restore after a run: reverse order, every call made even when one fails,
    and the first failure raised."""
    from waterops.hydraulics.epanet import _Restore

    made: list[str] = []

    def fail(name: str) -> None:
        made.append(name)
        raise RuntimeError(name)

    with pytest.raises(RuntimeError, match="third"), _Restore() as restore:
        restore.callback(made.append, "first")
        restore.callback(fail, "second")
        restore.callback(fail, "third")
        restore.callback(made.append, "fourth")
    assert made == ["fourth", "third", "second", "first"]


def test_labels_are_shared_but_a_renamed_index_is_not_handed_out_again() -> None:
    """Runs of one network share their (immutable) label indexes, as pandas shares an Index
    between frames; one renamed in place by a caller is not given to later results."""
    net1 = NETWORKS / "Net1.inp"
    first, second = simulate(net1, duration_s=3600), simulate(net1, duration_s=3600)
    assert first.node["pressure"].columns is second.node["head"].columns
    first.node["pressure"].columns.name = "junction"  # in place, on the shared index
    first.time_s.name = "t"
    third = simulate(net1, duration_s=3600)
    assert third.node["pressure"].columns.name == "node"
    assert third.link["flowrate"].columns.name == "link"
    assert third.time_s.name == "time_s"
    assert list(third.node["pressure"].columns) == list(first.node["pressure"].columns)


def test_negative_pressure_warnings_name_first_time_and_lowest_value() -> None:
    """Per junction with a negative pressure at some report time: the first such time and the
    lowest value; tanks and reservoirs (after the junctions) and NaN are not warned about."""
    from waterops.hydraulics.epanet import _negative_pressures

    rng = np.random.default_rng(7)
    times = [0, 3600, 7200, 10800]
    pressure = rng.uniform(1.0, 50.0, size=(4, 6))
    pressure[2, 1], pressure[3, 1] = -0.5, -2.0  # junction B: first at 7200 s, lowest -2
    pressure[0, 3] = -0.01  # junction D: first at 0 s
    pressure[1, 2] = np.nan  # junction C: never negative
    pressure[:, 4:] = -1.0  # a tank and a reservoir: not junctions
    found = _negative_pressures(pressure, times, ["A", "B", "C", "D", "T", "R"], 4)
    assert [(w.element, w.time_s) for w in found] == [("B", 7200), ("D", 0)]
    assert "lowest -2.00 m" in found[0].message and "lowest -0.01 m" in found[1].message
    assert _negative_pressures(np.abs(pressure[:, :4]), times, ["A", "B", "C", "D"], 4) == []
    assert _negative_pressures(pressure[:, 4:], times, ["T", "R"], 0) == []
