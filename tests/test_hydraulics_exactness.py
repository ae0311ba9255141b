"""`simulate` gives EPANET's own numbers: same times and elements, |Δp| ≤ 1e-3 m, |Δq| ≤ 1e-6 m³/s.

The baseline is a plain toolkit loop over the same file (written here, independently of the
adapter): step through hydraulics, read every node and link at each report time, convert with
the factors of EPANET's own manual (psi = 0.4333 x SpGrav per ft of head; 1 US gal =
3.785411784 L).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import pytest

from waterops.hydraulics import EpanetEngine, simulate
from waterops.io.inp import read_inp

TESTS = Path(__file__).parent
WNTR_NET6 = (
    Path(__file__).resolve().parents[1]
    / ".venv/lib/python3.11/site-packages/wntr/library/networks/Net6.inp"
)
DEMO_CITY = Path(__file__).resolve().parents[1] / "src/waterops/data/networks/demo_city.inp"

FT_M = 0.3048
PSI_PER_FT = 0.4333  # EPANET's PSIperFT
M3S_PER = {"GPM": 3.785411784e-3 / 60.0, "LPS": 1e-3, "CMH": 1 / 3600.0}
FLOW_UNIT_NAMES = {tk.GPM: "GPM", tk.LPS: "LPS", tk.CMH: "CMH"}


def large_network() -> Path:
    """The bundled demo city when it exists (≥ 3,000 nodes), else WNTR's Net6 (3,356 nodes)."""
    return DEMO_CITY if DEMO_CITY.exists() else WNTR_NET6


def raw_toolkit_run(path: Path, duration_s: int) -> dict[str, object]:
    """Plain EPANET toolkit loop, values at report times, converted to SI here."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        ph = tk.createproject()
        tk.open(ph, str(path), str(Path(tmp) / "raw.rpt"), "")
        tk.settimeparam(ph, tk.DURATION, duration_s)
        n_nodes, n_links = tk.getcount(ph, tk.NODECOUNT), tk.getcount(ph, tk.LINKCOUNT)
        units = FLOW_UNIT_NAMES[tk.getflowunits(ph)]
        us = units == "GPM"
        gravity = tk.getoption(ph, tk.SP_GRAVITY)
        press_units = tk.getoption(ph, tk.PRESS_UNITS)
        r_start = tk.gettimeparam(ph, tk.REPORTSTART)
        r_step = tk.gettimeparam(ph, tk.REPORTSTEP)
        times, pressure, flow = [], [], []
        warnings.simplefilter("ignore")  # owa-epanet's Python echo of EPANET warnings
        tk.openH(ph)
        tk.initH(ph, tk.NOSAVE)
        while True:
            t = tk.runH(ph)
            if t >= r_start and (t - r_start) % r_step == 0:
                times.append(t)
                nodes, links = range(1, n_nodes + 1), range(1, n_links + 1)
                pressure.append([tk.getnodevalue(ph, i, tk.PRESSURE) for i in nodes])
                flow.append([tk.getlinkvalue(ph, i, tk.FLOW) for i in links])
            if tk.nextH(ph) <= 0:
                break
        tk.closeH(ph)
        node_ids = [tk.getnodeid(ph, i) for i in range(1, n_nodes + 1)]
        link_ids = [tk.getlinkid(ph, i) for i in range(1, n_links + 1)]
        tk.close(ph)
        tk.deleteproject(ph)
    if us:
        assert press_units == tk.PSI
        to_m = FT_M / (PSI_PER_FT * gravity)
    else:
        assert press_units == tk.METERS
        to_m = 1.0
    return {
        "time_s": times,
        "pressure_m": np.array(pressure) * to_m,
        "flow_m3s": np.array(flow) * M3S_PER[units],
        "node_ids": node_ids,
        "link_ids": link_ids,
    }


@pytest.mark.parametrize(
    "path",
    [
        TESTS / "networks/Net1.inp",
        TESTS / "networks/Net2.inp",
        TESTS / "networks/Net3.inp",
        pytest.param(large_network(), marks=pytest.mark.slow, id="large"),
    ],
    ids=lambda p: p.stem if isinstance(p, Path) else str(p),
)
def test_simulate_equals_raw_toolkit(path: Path) -> None:
    duration_s = 24 * 3600
    raw = raw_toolkit_run(path, duration_s)
    results = simulate(path, duration_s=duration_s)
    pressure, flow = results.node["pressure"], results.link["flowrate"]
    assert list(pressure.index) == raw["time_s"]
    assert list(pressure.columns) == raw["node_ids"]
    assert list(flow.columns) == raw["link_ids"]
    assert len(pressure) == 25  # 0 h … 24 h, hourly reports
    assert np.abs(pressure.to_numpy() - raw["pressure_m"]).max() <= 1e-3
    assert np.abs(flow.to_numpy() - raw["flow_m3s"]).max() <= 1e-6


def test_large_network_has_3000_nodes() -> None:
    with EpanetEngine.open(large_network()) as engine:
        assert len(engine.node_ids) >= 3000


@pytest.mark.parametrize("name", ["Net1", "Net3"])
def test_pressure_is_head_minus_elevation(name: str) -> None:
    path = TESTS / f"networks/{name}.inp"
    results = simulate(path, duration_s=6 * 3600)
    with EpanetEngine.open(path) as engine:
        elevation_ft = [
            tk.getnodevalue(engine.handle, i, tk.ELEVATION)
            for i in range(1, len(engine.node_ids) + 1)
        ]
    elevation_m = np.array(elevation_ft) * FT_M
    expected = results.node["head"].to_numpy() - elevation_m
    np.testing.assert_allclose(results.node["pressure"].to_numpy(), expected, rtol=0, atol=1e-9)


SI_NETWORK = """\
[TITLE]
Two junctions fed by a reservoir, SI units, pressure in kPa, denser than water
[JUNCTIONS]
J1  50  2.0
J2  45  3.0
[RESERVOIRS]
R1  100
[PIPES]
P1  R1  J1  1000  300  100  0  Open
P2  J1  J2  500   200  100  0  Open
[OPTIONS]
Units LPS
Pressure KPA
Specific Gravity 1.1
[TIMES]
Duration 2:00
[END]
"""


def test_si_file_in_kpa_gives_metres_of_head(tmp_path: Path) -> None:
    path = tmp_path / "si.inp"
    path.write_text(SI_NETWORK)
    results = simulate(path)
    head, pressure = results.node["head"], results.node["pressure"]
    assert results.flow_units == "LPS"
    np.testing.assert_allclose(pressure["J1"], head["J1"] - 50.0, atol=1e-9)
    np.testing.assert_allclose(pressure["J2"], head["J2"] - 45.0, atol=1e-9)
    # continuity: the reservoir delivers what the junctions draw, 5 L/s
    np.testing.assert_allclose(results.link["flowrate"]["P1"], 5e-3, atol=1e-9)
    np.testing.assert_allclose(results.node["demand"]["R1"], -5e-3, atol=1e-9)


@pytest.mark.parametrize("name", ["Net1", "Net2", "Net3"])
def test_network_model_simulates_like_its_file(name: str) -> None:
    path = TESTS / f"networks/{name}.inp"
    from_file = simulate(path)
    from_model = simulate(read_inp(path))
    assert from_model.source is None and from_file.source == str(path)
    pressure, flow = from_model.node["pressure"], from_model.link["flowrate"]
    assert pressure.index.equals(from_file.time_s)
    assert list(pressure.columns) == list(from_file.node["pressure"].columns)
    assert np.abs(pressure.to_numpy() - from_file.node["pressure"].to_numpy()).max() <= 1e-3
    assert np.abs(flow.to_numpy() - from_file.link["flowrate"].to_numpy()).max() <= 1e-6
