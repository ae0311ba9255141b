"""The bundled demo city network: size, sources, trunk main, coordinates, and a sane 7-day run.

Everything here talks to the real EPANET 2.3 toolkit (owa-epanet) on the shipped file.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import epanet.toolkit as tk
import networkx as nx
import numpy as np
import numpy.typing as npt
import pytest

from waterops.data import DEMO_NETWORK_CRS, demo_network_path

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "tools" / "build_demo_network.py"
DAY_S = 86400
PEAK_MIN_PRESSURE_M = 14.0  # ≈ 0.14 MPa, the usual end-of-network service pressure
# Net6 (the base) has one booster pump that runs past the end of its curve; nothing else may warn.
KNOWN_BASE_WARNING = "WARNING: Pump PUMP-3867 open but exceeds maximum flow"
MATERIAL_TAG = re.compile(r"^(DI|CI|GS|PE|PCCP|STEEL)-(19[6-9]\d|20[0-2]\d)$")
RIVER_PUMPS = ("PS-RIVER-P1", "PS-RIVER-P2")

# The toolkit also emits a bare Python warning when EPANET warns; the tests read the report file,
# which names each warning, instead.
pytestmark = pytest.mark.filterwarnings("ignore:WARNING:Warning")


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[object]:
    """The demo network opened in a fresh toolkit project (report file in a temp dir)."""
    ph = tk.createproject()
    tk.open(ph, str(demo_network_path()), str(tmp_path / "demo.rpt"), "")
    yield ph
    tk.close(ph)
    tk.deleteproject(ph)


def _node_ids(ph: object) -> list[str]:
    return [tk.getnodeid(ph, i) for i in range(1, tk.getcount(ph, tk.NODECOUNT) + 1)]


def _link_ids(ph: object) -> list[str]:
    return [tk.getlinkid(ph, i) for i in range(1, tk.getcount(ph, tk.LINKCOUNT) + 1)]


def _section(text: str, name: str) -> list[str]:
    """Data lines (no comments, no blanks) of one [SECTION] of an .inp text."""
    match = re.search(rf"^\[{name}\]\s*$(.*?)^\[", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no [{name}] section"
    return [line for line in match.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith(";")]


def _read(getter: object, ph: object, prop: int, size: int) -> npt.NDArray[np.float64]:
    buffer = tk.doubleArray(size)
    getter(ph, prop, buffer)  # type: ignore[operator]
    return np.fromiter((buffer[i] for i in range(size)), dtype=float, count=size)


@dataclass
class Run:
    """Hourly results of an extended-period run of the demo network."""

    node_ids: list[str]
    link_ids: list[str]
    node_types: npt.NDArray[np.int_]
    times_s: npt.NDArray[np.int_]
    pressure_m: npt.NDArray[np.float64]  # time × node; the level [m] at tanks
    demand_lps: npt.NDArray[np.float64]
    flow_lps: npt.NDArray[np.float64]  # time × link
    min_level_m: dict[str, float]
    max_level_m: dict[str, float]
    warnings: list[str]


def _run(inp: Path, report: Path, duration_s: int | None,
         set_up: Callable[[object], None] | None = None) -> Run:
    """Solve the hydraulics with the raw toolkit at the file's hydraulic step; hourly values."""
    ph = tk.createproject()
    tk.open(ph, str(inp), str(report), "")
    try:
        if duration_s is not None:
            tk.settimeparam(ph, tk.DURATION, duration_s)
        if set_up is not None:
            set_up(ph)
        nodes, links = _node_ids(ph), _link_ids(ph)
        types = np.array([tk.getnodetype(ph, i) for i in range(1, len(nodes) + 1)])
        tanks = [i for i, t in enumerate(types, start=1) if t == tk.TANK]
        times, pressure, demand, flow = [], [], [], []
        tk.openH(ph)
        tk.initH(ph, 0)
        while True:
            t = tk.runH(ph)
            if t % 3600 == 0:
                times.append(t)
                pressure.append(_read(tk.getnodevalues, ph, tk.PRESSURE, len(nodes)))
                demand.append(_read(tk.getnodevalues, ph, tk.DEMAND, len(nodes)))
                flow.append(_read(tk.getlinkvalues, ph, tk.FLOW, len(links)))
            if tk.nextH(ph) <= 0:
                break
        tk.closeH(ph)
        min_level = {nodes[i - 1]: tk.getnodevalue(ph, i, tk.MINLEVEL) for i in tanks}
        max_level = {nodes[i - 1]: tk.getnodevalue(ph, i, tk.MAXLEVEL) for i in tanks}
    finally:
        tk.close(ph)
        tk.deleteproject(ph)
    warnings = [re.sub(r" at .*", "", line.strip())
                for line in report.read_text(errors="replace").splitlines() if "WARNING" in line]
    return Run(nodes, links, types, np.array(times), np.array(pressure), np.array(demand),
               np.array(flow), min_level, max_level, warnings)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Seven days of the demo network as shipped."""
    return _run(demo_network_path(), tmp_path_factory.mktemp("week") / "week.rpt", 7 * DAY_S)


def test_accessor_points_at_the_packaged_file() -> None:
    path = demo_network_path()
    assert path.name == "demo_city.inp"
    assert path.parent.name == "networks"
    assert path.read_text().startswith("[TITLE]")
    assert DEMO_NETWORK_CRS in path.read_text()[:2000]  # stated in the [TITLE]


def test_size_sources_tanks_and_pumps(project: object) -> None:
    ph = project
    types = [tk.getnodetype(ph, i) for i in range(1, tk.getcount(ph, tk.NODECOUNT) + 1)]
    link_types = [tk.getlinktype(ph, i) for i in range(1, tk.getcount(ph, tk.LINKCOUNT) + 1)]
    assert len(types) >= 3000
    assert types.count(tk.TANK) >= 30
    assert types.count(tk.RESERVOIR) >= 2
    assert link_types.count(tk.PUMP) >= 60
    assert tk.getflowunits(ph) == tk.LPS
    assert {"RES-SHUIKU", "RES-RIVER", "WTP1-CLEARWELL"} <= set(_node_ids(ph))


def test_trunk_main_is_one_106_km_chain_from_the_reservoir_to_the_plant(project: object) -> None:
    ph = project
    trunk = [i for i, name in enumerate(_link_ids(ph), start=1) if name.startswith("TM-")]
    length_m = sum(tk.getlinkvalue(ph, i, tk.LENGTH) for i in trunk)
    assert length_m == pytest.approx(106_000.0, abs=1_000.0)
    chain = nx.Graph()
    for i in trunk:
        a, b = tk.getlinknodes(ph, i)
        chain.add_edge(tk.getnodeid(ph, a), tk.getnodeid(ph, b), index=i)
    path = nx.shortest_path(chain, "RES-SHUIKU", "WTP1-INLET")
    assert len(path) - 1 == len(trunk)  # one unbranched chain through every segment
    diameters_mm = {tk.getlinkvalue(ph, i, tk.DIAMETER) for i in trunk}
    assert diameters_mm == {1600.0, 1400.0}
    # Node spacing equals pipe length along the route (straight 2 km segments).
    for a, b, data in chain.edges(data=True):
        xa, ya = tk.getcoord(ph, tk.getnodeindex(ph, a))
        xb, yb = tk.getcoord(ph, tk.getnodeindex(ph, b))
        assert math.hypot(xb - xa, yb - ya) == pytest.approx(
            tk.getlinkvalue(ph, data["index"], tk.LENGTH), rel=1e-3)


def test_every_node_has_coordinates_in_the_gauss_kruger_zone(project: object) -> None:
    ph = project
    coords = np.array([tk.getcoord(ph, i) for i in range(1, tk.getcount(ph, tk.NODECOUNT) + 1)])
    # EPSG:4547 (CM 114°E, false easting 500 km): easting within ±1.5° of the meridian, and a
    # northing of central China (30°N-34°N).
    assert np.all((coords[:, 0] > 350_000) & (coords[:, 0] < 650_000))
    assert np.all((coords[:, 1] > 3_320_000) & (coords[:, 1] < 3_770_000))
    # Coordinates are metres: city pipes' node distance is of the order of their length.
    ratios = []
    for i in range(1, tk.getcount(ph, tk.LINKCOUNT) + 1):
        if tk.getlinkid(ph, i).startswith("LINK-"):
            a, b = tk.getlinknodes(ph, i)
            distance = math.dist(tk.getcoord(ph, a), tk.getcoord(ph, b))
            if distance > 0:
                ratios.append(tk.getlinkvalue(ph, i, tk.LENGTH) / distance)
    assert 0.8 < float(np.median(ratios)) < 1.25


def test_every_node_is_connected(project: object) -> None:
    ph = project
    graph = nx.Graph()
    graph.add_nodes_from(range(1, tk.getcount(ph, tk.NODECOUNT) + 1))
    graph.add_edges_from(tk.getlinknodes(ph, i)
                         for i in range(1, tk.getcount(ph, tk.LINKCOUNT) + 1))
    assert nx.number_connected_components(graph) == 1


def test_backup_river_pumps_are_off_and_no_control_starts_them(project: object) -> None:
    ph = project
    river = {tk.getlinkindex(ph, name) for name in RIVER_PUMPS}
    for index in river:
        assert tk.getlinkvalue(ph, index, tk.INITSTATUS) == 0
    for c in range(1, tk.getcount(ph, tk.CONTROLCOUNT) + 1):
        assert tk.getcontrol(ph, c)[1] not in river
    for r in range(1, tk.getcount(ph, tk.RULECOUNT) + 1):
        _, n_then, n_else, _ = tk.getrule(ph, r)
        actions = [tk.getthenaction(ph, r, a)[0] for a in range(1, n_then + 1)]
        actions += [tk.getelseaction(ph, r, a)[0] for a in range(1, n_else + 1)]
        assert river.isdisjoint(actions)


def test_pipes_carry_synthetic_material_tags() -> None:
    text = demo_network_path().read_text()
    pipes = {line.split()[0] for line in _section(text, "PIPES")}
    link_tags = {parts[1]: parts[2] for parts in map(str.split, _section(text, "TAGS"))
                 if len(parts) == 3 and parts[0] == "LINK"}
    assert pipes <= link_tags.keys()
    assert all(MATERIAL_TAG.match(link_tags[p]) for p in pipes)
    materials = {link_tags[p].split("-")[0] for p in pipes}
    assert materials == {"DI", "CI", "GS", "PE", "PCCP", "STEEL"}


def test_residential_pattern_has_morning_and_evening_peaks(project: object) -> None:
    ph = project
    index = tk.getpatternindex(ph, "PAT-RESIDENTIAL")
    hourly = [tk.getpatternvalue(ph, index, h) for h in range(1, 25)]
    assert np.mean(hourly) == pytest.approx(1.0, abs=1e-3)
    assert int(np.argmin(hourly)) in (2, 3, 4)
    assert int(np.argmax(hourly[:12])) in (7, 8)
    assert int(np.argmax(hourly[12:])) + 12 in (18, 19, 20)


def test_the_file_runs_its_own_24_hours_cleanly(tmp_path: Path) -> None:
    run = _run(demo_network_path(), tmp_path / "day.rpt", None)
    assert run.times_s[-1] == DAY_S
    assert set(run.warnings) <= {KNOWN_BASE_WARNING}


def test_seven_days_solve_without_warnings_beyond_the_base_network(week: Run) -> None:
    assert week.times_s[-1] == 7 * DAY_S
    assert len(week.times_s) == 7 * 24 + 1
    assert set(week.warnings) <= {KNOWN_BASE_WARNING}


def test_pressures_at_peak_hour_serve_the_city(week: Run) -> None:
    junctions = week.node_types == tk.JUNCTION
    consumers = junctions & (week.demand_lps.max(axis=0) > 0)
    total = week.demand_lps[:, junctions].sum(axis=1)
    peak = int(np.argmax(total))
    assert (week.times_s[peak] % DAY_S) // 3600 in (7, 8, 18, 19, 20)
    at_peak = week.pressure_m[peak, consumers]
    assert np.mean(at_peak >= PEAK_MIN_PRESSURE_M) >= 0.97
    assert week.pressure_m[:, junctions].min() >= 0.0  # never a negative pressure
    assert week.pressure_m[:, junctions].max() < 250.0


def test_tanks_neither_run_empty_nor_overfill_over_seven_days(week: Run) -> None:
    tanks = [i for i, t in enumerate(week.node_types) if t == tk.TANK]
    for i in tanks:
        name = week.node_ids[i]
        level = week.pressure_m[:, i]
        assert level.min() > week.min_level_m[name] + 0.1, f"{name} runs empty"
        assert level.max() <= week.max_level_m[name] + 1e-6, f"{name} overfills"


def test_plant_is_fed_by_the_trunk_main_and_the_river_stays_off(week: Run) -> None:
    flow = dict(zip(week.link_ids, week.flow_lps.T, strict=True))
    assert flow["TM-053"].min() > 500.0
    assert np.abs(flow["PS-RIVER-P1"]).max() < 1e-3
    assert np.abs(flow["PS-RIVER-P2"]).max() < 1e-3
    # Over the week the plant produces what the city uses (within the clear-water buffer).
    demand = week.demand_lps[:, week.node_types == tk.JUNCTION].sum(axis=1)
    assert flow["TM-053"].mean() == pytest.approx(demand.mean(), rel=0.05)


def test_trunk_main_falls_from_the_dam_and_stays_pressurised(week: Run, project: object) -> None:
    chain = [f"TMJ-{k:03d}" for k in range(1, 53)]
    index = [week.node_ids.index(name) for name in chain]
    pressure = week.pressure_m[:, index]
    assert pressure.min() > 10.0  # no sub-atmospheric stretch on the gravity main
    assert pressure.max() < 100.0  # within a PCCP/DI main's working pressure (1.0 MPa)
    ground_m = [tk.getnodevalue(project, tk.getnodeindex(project, n), tk.ELEVATION) for n in chain]
    slope_m_per_segment = np.polyfit(np.arange(len(chain)), ground_m, 1)[0]
    assert slope_m_per_segment < -1.0  # ~65 m of fall over 106 km
    assert ground_m[0] > ground_m[-1] + 50.0


def test_river_intake_can_replace_the_trunk_main(tmp_path: Path) -> None:
    """Emergency: the trunk main is shut, both river pumps are started (status and speed)."""
    def emergency(ph: object) -> None:
        tk.setlinkvalue(ph, tk.getlinkindex(ph, "TM-053"), tk.INITSTATUS, 0)
        for name in RIVER_PUMPS:
            tk.setlinkvalue(ph, tk.getlinkindex(ph, name), tk.INITSTATUS, 1)
            tk.setlinkvalue(ph, tk.getlinkindex(ph, name), tk.INITSETTING, 1.0)

    run = _run(demo_network_path(), tmp_path / "river.rpt", 2 * DAY_S, emergency)
    flow = dict(zip(run.link_ids, run.flow_lps.T, strict=True))
    assert np.abs(flow["TM-053"]).max() < 1e-3
    assert (flow["PS-RIVER-P1"] + flow["PS-RIVER-P2"]).min() > 500.0
    clearwell = run.node_ids.index("WTP1-CLEARWELL")
    assert run.pressure_m[:, clearwell].min() > run.min_level_m["WTP1-CLEARWELL"] + 0.1
    assert set(run.warnings) <= {KNOWN_BASE_WARNING}


def test_chlorine_leaves_the_plant_at_the_set_point_and_only_decays(project: object) -> None:
    ph = project
    tk.settimeparam(ph, tk.DURATION, 2 * DAY_S)
    tk.solveH(ph)
    tk.openQ(ph)
    tk.initQ(ph, 0)
    n = tk.getcount(ph, tk.NODECOUNT)
    outlet = tk.getnodeindex(ph, "JUNCTION-0")  # the high-lift pumps' discharge
    highest, at_outlet = 0.0, []
    while True:
        t = tk.runQ(ph)
        if t % 3600 == 0:
            quality = _read(tk.getnodevalues, ph, tk.QUALITY, n)
            highest = max(highest, float(quality.max()))
            assert quality.min() >= 0.0
            at_outlet.append(quality[outlet - 1])
        if tk.nextQ(ph) <= 0:
            break
    tk.closeQ(ph)
    assert highest <= 1.0 + 1e-6
    assert np.allclose(at_outlet[1:], 1.0, atol=0.02)


def test_build_script_rewrites_the_identical_file(tmp_path: Path) -> None:
    out = tmp_path / "demo_city.inp"
    subprocess.run([sys.executable, str(BUILD_SCRIPT), "--output", str(out)],
                   check=True, cwd=tmp_path, capture_output=True)
    assert out.read_bytes() == demo_network_path().read_bytes()
