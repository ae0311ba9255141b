"""``waterops network info`` and ``waterops network geojson`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waterops.cli.main import main

NETWORKS = Path(__file__).parent / "networks"
BAD = NETWORKS / "bad"

ISLAND_NET = """[TITLE]
Two islands and a dead end
[JUNCTIONS]
J1 10 1
J2 10 1
J3 10 1
J4 10 1
J5 10 1
[RESERVOIRS]
R1 50
[PIPES]
P1 R1 J1 1000 300 100
P2 J1 J2 1000 200 100
P3 J2 J3 1000 150 100
P4 J4 J5 1000 150 100
[TAGS]
LINK P1 DI-1998
LINK P2 DI-2005
LINK P3 PE-2010
[OPTIONS]
UNITS LPS
[COORDINATES]
J1 0 0
R1 -10 0
[END]
"""


def test_info_prints_counts_lengths_sources_tanks_pumps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["network", "info", str(NETWORKS / "Net3.inp")]) == 0
    out = capsys.readouterr().out
    assert "EPANET Example Network 3" in out
    for word in ("junctions", "reservoirs", "tanks", "pipes", "pumps", "Sources", "Tanks",
                 "Pumps", "Connectivity", "Pipe length by diameter", "diameter [mm]",
                 "length [km]", "Lake", "River"):
        assert word in out, word
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in out.splitlines() if line.count("│") == 3}
    assert rows["junctions"] == "92"
    assert rows["reservoirs"] == "2"
    assert rows["tanks"] == "3"
    assert rows["pipes"] == "117"
    assert rows["pumps"] == "2"
    assert rows["controls"] == "18"


def test_info_totals_pipe_length_by_diameter_and_material(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "islands.inp"
    net.write_text(ISLAND_NET)
    assert main(["network", "info", str(net)]) == 0
    out = capsys.readouterr().out
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
             if line.startswith("│")]
    assert ["300.0", "1", "1.000"] in cells
    assert ["150.0", "2", "2.000"] in cells
    assert ["total", "4", "4.000"] in cells
    assert ["DI", "2", "2.000"] in cells
    assert ["PE", "1", "1.000"] in cells
    assert ["(untagged)", "1", "1.000"] in cells
    connectivity = out[out.index("Connectivity"):]
    assert "islands (no reservoir or tank)" in connectivity
    assert "1: 2 node(s) from J4" in connectivity
    assert "J3" in connectivity  # dead end
    assert "3: J3, J4, J5" in connectivity


@pytest.mark.parametrize("name", ["unknown_node.inp", "negative_diameter.inp",
                                  "unknown_section.inp"])
def test_info_bad_file_exits_2_with_one_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["network", "info", str(BAD / name)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"waterops: error: {BAD / name}:")
    assert captured.out == ""


def test_info_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", "info", str(tmp_path / "none.inp")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"waterops: error: {tmp_path / 'none.inp'}: file not found"


def test_geojson_writes_file_in_the_files_coordinates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net1.geojson"
    assert main(["network", "geojson", str(NETWORKS / "Net1.inp"), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    assert doc["coordinate_system"]["reprojected_to"] is None
    assert len(doc["features"]) == 11 + 13


def test_geojson_reprojects_with_crs(tmp_path: Path) -> None:
    net = tmp_path / "n.inp"
    net.write_text(ISLAND_NET.replace("J1 0 0", "J1 500000 3500000")
                   .replace("R1 -10 0", "R1 500100 3500000"))
    out = tmp_path / "n.geojson"
    assert main(["network", "geojson", str(net), "-o", str(out), "--crs", "EPSG:4547"]) == 0
    doc = json.loads(out.read_text())
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert 113 < lon < 115 and 31 < lat < 32  # central meridian 114°E of EPSG:4547


def test_geojson_unknown_crs_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "n.geojson"
    code = main(["network", "geojson", str(NETWORKS / "Net1.inp"), "-o", str(out),
                 "--crs", "EPSG:999999"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "EPSG:999999" in err[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
