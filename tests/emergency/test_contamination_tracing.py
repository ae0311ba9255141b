"""Backward source tracing: a tree where one node explains the readings, and the demo network
with a contamination simulated by EPANET itself (the true node must rank among the best)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_network import write_tree

from waterops.data import demo_network_path
from waterops.emergency.contamination import Injection, simulate_spread
from waterops.emergency.tracing import (
    MemberScores,
    SensorReading,
    condense,
    demand_ensemble,
    rank_candidates,
    trace_sources,
)
from waterops.errors import ConfigError, UnknownElementError
from waterops.hydraulics import EpanetEngine
from waterops.io.inp import read_inp
from waterops.model.telemetry import Quantity
from waterops.service.virtual_utility import build_demo_utility


def _readings(path: Path, injection: Injection, sensors: list[str], hours: range,
              horizon_s: int) -> list[SensorReading]:
    with EpanetEngine.open(path) as engine:
        spread = simulate_spread(engine, injection, horizon_s=horizon_s)
    col = {n: i for i, n in enumerate(spread.node_ids)}
    row = {int(t): i for i, t in enumerate(spread.time_s)}
    return [SensorReading(n, h * 3600, float(spread.concentration_mg_l[row[h * 3600], col[n]]))
            for h in hours for n in sensors]


def test_tree_only_the_junction_upstream_of_both_sensors_explains(tmp_path: Path) -> None:
    """S1 and S2 see it, J1 stays clean: only J2 (upstream of both, downstream of J1)
    explains that; it started at 00:30, 2 h before S1 saw 4 mg/L undiluted."""
    path = write_tree(tmp_path)
    readings = _readings(path, Injection("J2", start_s=1800, concentration_mg_l=4.0),
                         ["S1", "S2", "J1"], range(1, 7), horizon_s=6 * 3600)
    assert [r.concentration_mg_l > 1 for r in readings if r.node_id == "S1"] == \
        [False, False, True, True, True, True]
    ranked = trace_sources(path, read_inp(path), readings, threshold_mg_l=0.1, members=3,
                           noise=0.0)
    best = ranked[0]
    assert best.node_id == "J2"
    assert best.consistency == 1.0 and best.members_consistent == 1.0
    assert best.concentration_mg_l == pytest.approx(4.0, rel=0.02)
    # clean at 2 h, seen at 3 h, 2 h downstream: it started between 0 and 1 h
    assert 0 < best.start_s <= 3600
    assert all(c.consistency < 1.0 for c in ranked[1:])  # J3/J4 miss a sensor, J1 is clean
    assert {c.node_id for c in ranked} <= {"J1", "J2", "J3", "J4", "S1", "S2", "R"}


def test_tree_one_sensor_alone_points_to_its_branch(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    readings = _readings(path, Injection("J3", start_s=0, concentration_mg_l=1.0),
                         ["S1", "S2"], range(1, 5), horizon_s=4 * 3600)
    ranked = trace_sources(path, read_inp(path), readings, threshold_mg_l=0.1)
    full = {c.node_id for c in ranked if c.consistency == 1.0}
    assert full == {"J3", "S1"}  # on S1's own branch, below the split at J2


def test_demo_network_true_node_ranks_among_the_best() -> None:
    """A 10 mg/L tracer enters JUNCTION-356 at 01:00; the 56 chlorine and conductivity
    stations read hourly until 07:00; a 3-member demand ensemble (5 % noise)."""
    layout = build_demo_utility()
    sensors = sorted({s.element_id for s in layout.sensors
                      if s.quantity in (Quantity.CONDUCTIVITY, Quantity.CHLORINE)
                      and s.element_kind == "node" and s.element_id})
    path = demo_network_path()
    truth = "JUNCTION-356"
    readings = _readings(path, Injection(truth, start_s=3600, concentration_mg_l=10.0),
                         sensors, range(1, 8), horizon_s=6 * 3600)
    assert sum(r.concentration_mg_l >= 0.05 for r in readings) >= 3
    ranked = trace_sources(path, read_inp(path), readings, threshold_mg_l=0.05, members=3,
                           noise=0.05, seed=1)
    names = [c.node_id for c in ranked]
    assert truth in names[:20]
    mine = ranked[names.index(truth)]
    assert mine.consistency >= 0.9
    best = ranked[0].log_likelihood
    assert mine.log_likelihood >= best - 5.0  # likelihood ratio to the best above 1:150
    assert abs(mine.start_s - 3600) <= 1800
    assert mine.concentration_mg_l == pytest.approx(10.0, rel=0.3)
    assert len(ranked) < 0.2 * len(read_inp(path).junctions)  # most of the city is ruled out


def test_condense_keeps_what_matters() -> None:
    rows = [SensorReading("A", t, c) for t, c in ((0, 0.0), (3600, 0.0), (7200, 2.0),
                                                  (10800, 3.0), (14400, 1.0))]
    rows += [SensorReading("B", t, 0.0) for t in (0, 3600, 7200)]
    kept = condense(rows, 0.5)
    assert [(r.node_id, r.time_s) for r in kept] == [("A", 3600), ("A", 7200), ("A", 14400),
                                                      ("B", 7200)]


def test_ranking_counts_missing_members_as_unexplained() -> None:
    # B fits member 1 best but member 2 does not see it upstream: "no contamination" there
    ranked = rank_candidates([
        MemberScores(-50.0, {"A": (1.0, 0.1, 0, 1.0, -2.0), "B": (1.0, 0.0, 0, 1.0, -1.0)}),
        MemberScores(-40.0, {"A": (1.0, 0.1, 300, 1.0, -3.0)})])
    assert [c.node_id for c in ranked] == ["A", "B"]
    assert ranked[0].log_likelihood == -2.5 and ranked[1].log_likelihood == -20.5
    assert ranked[1].consistency == 0.5 and ranked[0].members_consistent == 1.0


def test_ensemble_members_differ_and_member_zero_is_the_model(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    members = demand_ensemble(path, 4, noise=0.2, zones=[frozenset({"S1"})], seed=3)
    assert members[0].changes == ()
    factors = [m.changes[0].factor for m in members[1:]]  # type: ignore[attr-defined]
    assert len(set(factors)) == 3 and all(0.3 < f < 3 for f in factors)
    with pytest.raises(ConfigError):
        demand_ensemble(path, 0)


def test_bad_tracing_inputs_are_named(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    net = read_inp(path)
    with pytest.raises(ConfigError, match="at least one reading"):
        trace_sources(path, net, [SensorReading("S1", 3600, 0.0)], threshold_mg_l=0.1)
    with pytest.raises(UnknownElementError, match="NOPE"):
        trace_sources(path, net, [SensorReading("NOPE", 3600, 1.0)], threshold_mg_l=0.1)


def test_worker_processes_rank_as_this_process(tmp_path: Path) -> None:
    """The ensemble's members run through run_batch: two worker processes give the same
    ranking as this process (the reduce and its scores cross process boundaries)."""
    path = write_tree(tmp_path)
    readings = _readings(path, Injection("J2", start_s=1800, concentration_mg_l=4.0),
                         ["S1", "S2", "J1"], range(1, 7), horizon_s=6 * 3600)
    here = trace_sources(path, read_inp(path), readings, threshold_mg_l=0.1, members=4,
                         noise=0.1, workers=1)
    pool = trace_sources(path, read_inp(path), readings, threshold_mg_l=0.1, members=4,
                         noise=0.1, workers=2)
    assert pool == here and here[0].node_id == "J2"
