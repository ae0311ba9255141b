"""Round trip .inp -> Network -> .inp simulates as the original (raw EPANET toolkit on both)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_io_inp_sim import (
    NETWORKS,
    US,
    large_network,
    m3s_per_flow_unit,
    m_per_pressure_unit,
    simulate,
)
from waterops.io.inp import read_inp, write_inp

PRESSURE_TOL_M = 1e-3
FLOW_TOL_M3S = 1e-6
QUALITY_TOL = 1e-6  # mg/L, h or % as the file says; identical inputs give identical results

CASES = [
    pytest.param(NETWORKS / "Net1.inp", False, id="Net1"),
    pytest.param(NETWORKS / "Net2.inp", True, id="Net2"),
    pytest.param(NETWORKS / "Net3.inp", True, id="Net3"),
    pytest.param(large_network(), False, id="large", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("source", "with_quality"), CASES)
def test_round_trip_in_same_units_simulates_identically(
    source: Path, with_quality: bool, tmp_path: Path
) -> None:
    net = read_inp(source)
    copy = tmp_path / "copy.inp"
    write_inp(net, copy)

    original = simulate(source, quality=with_quality)
    rewritten = simulate(copy, quality=with_quality)

    assert rewritten.node_ids == original.node_ids
    assert rewritten.link_ids == original.link_ids
    assert rewritten.times_s == original.times_s
    assert len(original.times_s) > 1
    scale = m_per_pressure_unit(net.flow_units)
    dp = np.abs(original.pressure - rewritten.pressure).max() * scale
    dq = np.abs(original.flow - rewritten.flow).max() * m3s_per_flow_unit(
        net.flow_units, net.flow_units)
    assert dp <= PRESSURE_TOL_M, f"pressure differs by {dp} m"
    assert dq <= FLOW_TOL_M3S, f"flow differs by {dq} m³/s"
    if with_quality:
        assert original.quality.shape == rewritten.quality.shape
        assert np.abs(original.quality).max() > 0  # the file really has a quality model
        dc = np.abs(original.quality - rewritten.quality).max()
        assert dc <= QUALITY_TOL, f"quality differs by {dc}"


def _other_units(source: Path) -> list[str]:
    flow_units = read_inp(source).flow_units
    return ["LPS", "CMH"] if flow_units in US else ["CMH", "GPM"]


@pytest.mark.parametrize(("source", "with_quality"), CASES)
def test_written_in_other_flow_units_simulates_identically(
    source: Path, with_quality: bool, tmp_path: Path
) -> None:
    net = read_inp(source)
    original = simulate(source, quality=with_quality)
    for units in _other_units(source):
        copy = tmp_path / f"copy-{units}.inp"
        write_inp(net, copy, flow_units=units)
        assert f"UNITS {units}" in copy.read_text()
        rewritten = simulate(copy, quality=with_quality)

        p0 = original.pressure * m_per_pressure_unit(net.flow_units)
        p1 = rewritten.pressure * m_per_pressure_unit(units)
        q0 = original.flow * m3s_per_flow_unit(net.flow_units, net.flow_units)
        q1 = rewritten.flow * m3s_per_flow_unit(units, net.flow_units)
        dp = np.abs(p0 - p1).max()
        dq = np.abs(q0 - q1).max()
        assert dp <= PRESSURE_TOL_M, f"{units}: pressure differs by {dp} m"
        assert dq <= FLOW_TOL_M3S, f"{units}: flow differs by {dq} m³/s"
        if with_quality:
            # Flows agree to ~1e-8 m³/s, not bit for bit; a sharp source front (Net2's
            # fluoride steps) then passes a node a moment earlier or later: allow 0.2 % of
            # the largest concentration (seen: 1.3e-3 mg/L in Net2, 8e-4 % in Net3).
            dc = np.abs(original.quality - rewritten.quality).max()
            limit = 2e-3 * np.abs(original.quality).max()
            assert dc <= limit, f"{units}: quality differs by {dc} (limit {limit})"


def test_reading_the_written_file_gives_the_same_model(tmp_path: Path) -> None:
    net = read_inp(NETWORKS / "Net3.inp")
    write_inp(net, tmp_path / "a.inp")
    again = read_inp(tmp_path / "a.inp")
    for name in ("junctions", "reservoirs", "tanks", "pipes", "pumps", "valves",
                 "coordinates", "vertices", "labels", "tags", "sources", "mixing"):
        a, b = getattr(net, name), getattr(again, name)
        assert list(a.index) == list(b.index), name
        np.testing.assert_array_equal(a.select_dtypes("number").to_numpy(),
                                      b.select_dtypes("number").to_numpy(), err_msg=name)
    assert again.controls == net.controls
    assert again.options == net.options
    assert again.times == net.times
    assert list(again.patterns) == list(net.patterns)
    for pid, values in net.patterns.items():
        np.testing.assert_array_equal(again.patterns[pid], values)
    for cid, curve in net.curves.items():
        assert again.curves[cid].kind == curve.kind
        np.testing.assert_allclose(again.curves[cid].points, curve.points, rtol=1e-15)


def test_us_pump_power_written_in_si_runs_the_same_pump(tmp_path: Path) -> None:
    """EPANET 2.3 reads POWER of SI files with an extra 1/0.7457: the writer follows it."""
    text = (NETWORKS / "Net1.inp").read_text()
    assert text.count("HEAD 1\t") == 1
    text = text.replace("HEAD 1\t", "POWER 60\t")
    us_file = tmp_path / "power.inp"
    us_file.write_text(text)
    net = read_inp(us_file)
    assert net.pumps.at["9", "power_kw"] == pytest.approx(60 * 0.7457)
    si_file = tmp_path / "power-lps.inp"
    write_inp(net, si_file, flow_units="LPS")
    original, rewritten = simulate(us_file), simulate(si_file)
    pump = original.link_ids.index("9")
    q_us = original.flow[:, pump] * m3s_per_flow_unit("GPM", "GPM")
    q_si = rewritten.flow[:, pump] * m3s_per_flow_unit("LPS", "GPM")
    assert np.abs(q_us).max() > 0.01
    np.testing.assert_allclose(q_si, q_us, atol=FLOW_TOL_M3S)


@pytest.mark.parametrize("name", ["Net1.inp", "Net2.inp", "Net3.inp"])
def test_files_saved_by_epanet_itself_read_and_round_trip(name: str, tmp_path: Path) -> None:
    """EPANET 2.3 writes [LEAKAGE] and curve types ("1 0 104 GENERIC"): both are read."""
    import epanet.toolkit as tk

    saved = tmp_path / "saved.inp"
    ph = tk.createproject()
    tk.open(ph, str(NETWORKS / name), str(tmp_path / "saved.rpt"), "")
    tk.saveinpfile(ph, str(saved))
    tk.close(ph)
    tk.deleteproject(ph)
    assert "[LEAKAGE]" in saved.read_text()
    net = read_inp(saved)
    copy = tmp_path / "copy.inp"
    write_inp(net, copy)
    original, rewritten = simulate(saved, quality=True), simulate(copy, quality=True)
    np.testing.assert_array_equal(rewritten.pressure, original.pressure)
    np.testing.assert_array_equal(rewritten.flow, original.flow)
    np.testing.assert_array_equal(rewritten.quality, original.quality)
