"""SI values read by waterops agree with WNTR's reader (an independent implementation)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import wntr  # dev dependency (./dev test installs it)

from test_io_inp_sim import NETWORKS, large_network
from waterops.io.inp import read_inp


@pytest.mark.parametrize("path", [
    pytest.param(NETWORKS / "Net1.inp", id="Net1"),
    pytest.param(NETWORKS / "Net2.inp", id="Net2"),
    pytest.param(NETWORKS / "Net3.inp", id="Net3"),
    pytest.param(large_network(), id="large", marks=pytest.mark.slow),
])
def test_si_values_match_wntr(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wn = wntr.network.WaterNetworkModel(str(path))
    net = read_inp(path)

    junctions = net.junctions
    ids = list(wn.junction_name_list)
    assert list(junctions.index) == ids
    np.testing.assert_allclose(junctions["elevation_m"],
                               [wn.get_node(j).elevation for j in ids], rtol=1e-12)
    np.testing.assert_allclose(
        junctions["base_demand_m3s"],
        [wn.get_node(j).demand_timeseries_list[0].base_value
         if wn.get_node(j).demand_timeseries_list else 0.0 for j in ids],
        rtol=1e-9, atol=1e-15)

    pipes = net.pipes
    pids = list(wn.pipe_name_list)
    assert list(pipes.index) == pids
    for column, attribute in (("length_m", "length"), ("diameter_m", "diameter"),
                              ("roughness", "roughness"), ("minor_loss", "minor_loss")):
        np.testing.assert_allclose(pipes[column],
                                   [getattr(wn.get_link(p), attribute) for p in pids],
                                   rtol=1e-12, err_msg=column)

    for tid in wn.tank_name_list:
        tank = wn.get_node(tid)
        row = net.tanks.loc[tid]
        assert row["elevation_m"] == pytest.approx(tank.elevation, rel=1e-12)
        assert row["init_level_m"] == pytest.approx(tank.init_level, rel=1e-12)
        assert row["max_level_m"] == pytest.approx(tank.max_level, rel=1e-12)
        assert row["diameter_m"] == pytest.approx(tank.diameter, rel=1e-12)

    for rid in wn.reservoir_name_list:
        assert net.reservoirs.at[rid, "head_m"] == pytest.approx(
            wn.get_node(rid).base_head, rel=1e-12)

    for cid in wn.curve_name_list:
        curve = wn.get_curve(cid)
        if curve.curve_type == "HEAD":
            np.testing.assert_allclose(net.curves[cid].points, np.asarray(curve.points),
                                       rtol=1e-9, err_msg=cid)

    for vid in wn.valve_name_list:
        valve = wn.get_link(vid)
        if valve.valve_type in ("PRV", "PSV", "PBV", "FCV"):
            # WNTR converts psi with the exact 0.70307 m/psi; waterops with EPANET's
            # 0.3048/0.4333 = 0.70344 m/psi (what EPANET simulates): 5e-4 apart
            assert net.valves.at[vid, "setting"] == pytest.approx(valve.initial_setting,
                                                                   rel=1e-3)
