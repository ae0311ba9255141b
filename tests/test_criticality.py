"""Pipe criticality: hand-checkable figures on a tiny network, the same on any runner, Net3."""

from __future__ import annotations

from pathlib import Path

import epanet.toolkit as tk
import pandas as pd
import pytest

from waterops.errors import ScenarioError
from waterops.hydraulics.batch import run_batch
from waterops.hydraulics.criticality import (
    COLUMNS,
    Criticality,
    build_reduce,
    criticality,
    report_weights_s,
)
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.scenarios import (
    NodeLeak,
    PressureDrivenDemand,
    Scenario,
    SetLinkStatus,
)

# R (head 60 m) feeds J1; a loop J1-J2-J3; a leaf J4 hangs off J2 through P5 and valve V1.
# Demands: J1 10 L/s, J2 5 L/s, J4 2 L/s: 17 L/s in all, constant (no pattern).
TINY_INP = """\
[TITLE]
tiny criticality network

[JUNCTIONS]
;ID  Elev  Demand
J1   10    10
J2   10    5
J3   10    0
J5   10    0
J4   10    2

[RESERVOIRS]
R    60

[PIPES]
;ID  Node1  Node2  Length  Diameter  Roughness  MinorLoss  Status
P1   R      J1     100     300       130        0          Open
P2   J1     J2     100     200       130        0          Open
P3   J1     J3     100     200       130        0          Open
P4   J3     J2     100     200       130        0          Open
P5   J2     J5     100     100       130        0          Open

[VALVES]
;ID  Node1  Node2  Diameter  Type  Setting  MinorLoss
V1   J5     J4     100       TCV   0        0

[TIMES]
Duration           {duration}
Hydraulic Timestep 1:00
Report Timestep    1:00

[OPTIONS]
Units     LPS
Headloss  H-W

[END]
"""
LEAF_DEMAND_M3S = 2e-3
TOTAL_DEMAND_M3S = 17e-3


def tiny(tmp_path: Path, duration: str = "2:00") -> Path:
    path = tmp_path / "tiny.inp"
    path.write_text(TINY_INP.format(duration=duration))
    return path


def test_hand_checked_figures(tmp_path: Path) -> None:
    table = criticality(tiny(tmp_path)).set_index("link")
    assert list(table.reset_index().columns) == list(COLUMNS)
    assert list(table.index) == ["P1", "P2", "P3", "P4", "P5"]  # pipes only, by default
    # 2 h run, report times 0, 1, 2 h: the first two stand for an hour each
    leaf = table.loc["P5"]
    assert leaf.unsupplied_m3 == pytest.approx(LEAF_DEMAND_M3S * 7200, rel=1e-4)  # 14.4 m³
    assert leaf.unsupplied_pct == pytest.approx(100 * 2 / 17, rel=1e-4)
    assert leaf.nodes_below_threshold == 2  # J5 and J4, cut off
    assert leaf.worst_node in ("J4", "J5") and leaf.worst_pressure_m < 1e-3
    main = table.loc["P1"]  # the only main from the reservoir
    assert main.unsupplied_m3 == pytest.approx(TOTAL_DEMAND_M3S * 7200, rel=1e-4)
    assert main.unsupplied_pct == pytest.approx(100.0, rel=1e-4)
    assert main.nodes_below_threshold == 5
    for looped in ("P2", "P3", "P4"):  # the loop carries the water the other way round
        assert table.loc[looped].unsupplied_m3 == pytest.approx(0.0, abs=1e-9)
        assert table.loc[looped].nodes_below_threshold == 0
        assert table.loc[looped].worst_pressure_m > 45.0
    assert table["error"].isna().all()
    base = table.attrs["base"]
    assert base["unsupplied_m3"] == pytest.approx(0.0, abs=1e-9)
    assert base["nodes_below_threshold"] == 0
    assert table.attrs["duration_s"] == 7200 and table.attrs["threshold_m"] == 14.0


def test_threshold_duration_and_valves(tmp_path: Path) -> None:
    path = tiny(tmp_path)
    table = criticality(path, threshold_m=49.9, duration_s=3600, include_valves=True)
    table = table.set_index("link")
    assert "V1" in table.index
    assert table.loc["V1"].unsupplied_m3 == pytest.approx(LEAF_DEMAND_M3S * 3600, rel=1e-4)
    # at 49.9 m the far junctions of the base network are already short of pressure
    assert table.attrs["base"]["nodes_below_threshold"] > 0
    assert table.loc["P2"].nodes_below_threshold > 0


def test_steady_state_file_runs_24_hours(tmp_path: Path) -> None:
    table = criticality(tiny(tmp_path, duration="0"), links=["P5"]).set_index("link")
    assert table.attrs["duration_s"] == 24 * 3600
    assert table.loc["P5"].unsupplied_m3 == pytest.approx(LEAF_DEMAND_M3S * 24 * 3600, rel=1e-4)


def test_two_workers_give_the_same_table(tmp_path: Path) -> None:
    path = tiny(tmp_path)
    pd.testing.assert_frame_equal(criticality(path, workers=2), criticality(path, workers=1))


def test_unknown_link_or_bad_threshold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="P-99"):
        criticality(tiny(tmp_path), links=["P5", "P-99"])
    with pytest.raises(ScenarioError, match="threshold"):
        criticality(tiny(tmp_path), threshold_m=0.0)
    with pytest.raises(ScenarioError, match="duration"):
        criticality(tiny(tmp_path), duration_s=-3600)


def test_report_weights() -> None:
    assert list(report_weights_s([0, 3600, 7200])) == [3600.0, 3600.0, 0.0]
    assert list(report_weights_s([0])) == [1.0]


def test_net3_every_pipe(net3_path: Path) -> None:
    table = criticality(net3_path).set_index("link")
    assert len(table) == 117 and table["error"].isna().all()
    assert table.attrs["base"]["unsupplied_m3"] == pytest.approx(0.0, abs=1e-6)
    # pipe 60 carries all the water of the lake source's pump station
    assert table["unsupplied_m3"].idxmax() in ("60", "329")
    assert (table["unsupplied_pct"] >= 0).all() and (table["unsupplied_pct"] <= 100).all()
    # most pipes of a looped network can be closed without any shortfall
    assert (table["unsupplied_m3"] < 1.0).sum() > 50


def test_closing_an_active_valve_is_undone(tmp_path: Path) -> None:
    with EpanetEngine.open(tiny(tmp_path)) as engine:
        base = engine.run()
        undo = SetLinkStatus("V1", open=False).apply(engine)
        closed = engine.run()
        undo()
        again = engine.run()
    assert (closed.link["flowrate"]["V1"] == 0).all()
    assert (base.link["flowrate"]["V1"] > 0).all()
    pd.testing.assert_frame_equal(again.link["flowrate"], base.link["flowrate"], check_exact=True)
    pd.testing.assert_frame_equal(again.node["pressure"], base.node["pressure"], check_exact=True)


def test_leak_outflow_is_not_demand(tmp_path: Path) -> None:
    path = tiny(tmp_path)
    with EpanetEngine.open(path) as engine:
        reduce = build_reduce(engine, threshold_m=14.0)
    leaky = Scenario(path, (NodeLeak("J1", area_m2=2e-3), SetLinkStatus("P5", open=False)))
    [result] = run_batch(path, [leaky], reduce=reduce, setup=(PressureDrivenDemand(0.0, 14.0),))
    assert isinstance(result, Criticality)
    assert result.unsupplied_m3 == pytest.approx(LEAF_DEMAND_M3S * 7200, rel=1e-4)
    assert result.unsupplied_pct == pytest.approx(100 * 2 / 17, rel=1e-4)


def test_only_mains_wider_than_a_diameter(tmp_path: Path, net3_path: Path) -> None:
    table = criticality(tiny(tmp_path), min_diameter_m=0.2, include_valves=True)
    assert list(table["link"]) == ["P1", "P2", "P3", "P4"]  # P5 and V1 are DN100
    # Net3 is in US units: diameters in inches; 12 in = 0.3048 m
    with EpanetEngine.open(net3_path) as net3:
        ph = net3.handle
        wide = [link for i, link in enumerate(net3.link_ids, start=1)
                if tk.getlinktype(ph, i) in (tk.PIPE, tk.CVPIPE)
                and tk.getlinkvalue(ph, i, tk.DIAMETER) >= 12.0]
    mains = criticality(net3_path, min_diameter_m=0.3048, duration_s=3600)
    assert 0 < len(wide) < 117 and list(mains["link"]) == wide
