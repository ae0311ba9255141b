"""GeoJSON export: points and lines through vertices, SI properties, optional WGS84."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waterops.errors import CoordinateSystemError, NetworkFileError
from waterops.io.geojson import network_to_geojson, write_geojson
from waterops.io.inp import parse_inp, read_inp

NETWORKS = Path(__file__).parent / "networks"

TEXT = """[JUNCTIONS]
J1 10 1
J2 12 2
J3 14 0
[RESERVOIRS]
R1 50
[TANKS]
T1 40 2 0 5 10 0
[PIPES]
P1 R1 J1 1000 300 100
P2 J1 J2 500 200 100
P3 J2 J3 400 150 100
P4 J3 T1 300 150 100
[PUMPS]
PU1 J2 T1 POWER 5
[TAGS]
LINK P2 DI-2001
NODE J1 DMA-1
[OPTIONS]
UNITS LPS
[COORDINATES]
R1 500000 0
J1 500000 1000
J2 500500 1000
T1 501000 2000
[VERTICES]
P2 500100 1100
P2 500200 1100
[END]
"""


def _features(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {f["id"]: f for f in doc["features"]}  # type: ignore[attr-defined]


def test_nodes_are_points_links_lines_through_vertices() -> None:
    doc = network_to_geojson(parse_inp(TEXT))
    features = _features(doc)
    assert features["node/J1"]["geometry"] == {"type": "Point", "coordinates": [500000, 1000]}
    assert features["link/P2"]["geometry"] == {
        "type": "LineString",
        "coordinates": [[500000, 1000], [500100, 1100], [500200, 1100], [500500, 1000]],
    }
    assert features["link/PU1"]["geometry"]["coordinates"] == [[500500, 1000],
                                                                [501000, 2000]]
    # J3 has no coordinates: it and its two pipes are left out, and counted
    assert "node/J3" not in features and "link/P3" not in features
    assert doc["left_out"] == {"nodes": 1, "links": 2}
    assert doc["coordinate_system"]["source_crs"] is None


def test_properties_are_si_with_unit_names_and_tags() -> None:
    props = _features(network_to_geojson(parse_inp(TEXT)))
    j1 = props["node/J1"]["properties"]
    assert j1["kind"] == "junction"
    assert j1["elevation_m"] == 10
    assert j1["base_demand_m3s"] == pytest.approx(1e-3)
    assert j1["tag"] == "DMA-1"
    p2 = props["link/P2"]["properties"]
    assert p2["diameter_m"] == pytest.approx(0.2)
    assert p2["length_m"] == 500
    assert p2["tag"] == "DI-2001"
    assert props["link/PU1"]["properties"]["head_curve"] is None
    assert props["node/T1"]["properties"]["diameter_m"] == 10


def test_reprojection_to_wgs84_lon_lat() -> None:
    doc = network_to_geojson(parse_inp(TEXT), source_crs="EPSG:4547")
    features = _features(doc)
    lon, lat = features["node/R1"]["geometry"]["coordinates"]
    # (500000 E, 0 N) is the central meridian 114°E on the equator in CGCS2000 GK CM 114E
    assert lon == pytest.approx(114.0, abs=1e-9)
    assert lat == pytest.approx(0.0, abs=1e-9)
    lon2, lat2 = features["node/J1"]["geometry"]["coordinates"]
    assert lon2 == pytest.approx(114.0, abs=1e-9)
    assert lat2 == pytest.approx(1000 / 110574.0, rel=1e-2)  # ~1 km north of the equator
    assert doc["coordinate_system"]["reprojected_to"] == "EPSG:4326"


def test_unknown_crs_is_a_typed_error() -> None:
    with pytest.raises(CoordinateSystemError, match="EPSG:999999"):
        network_to_geojson(parse_inp(TEXT), source_crs="EPSG:999999")


def test_write_geojson_is_valid_json_for_a_real_network(tmp_path: Path) -> None:
    net = read_inp(NETWORKS / "Net3.inp")
    out = tmp_path / "net3.geojson"
    write_geojson(net, out)
    doc = json.loads(out.read_text())
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("junction") + kinds.count("reservoir") + kinds.count("tank") == 97
    assert kinds.count("pipe") + kinds.count("pump") == 119
    assert doc["left_out"] == {"nodes": 0, "links": 0}
    assert [p.name for p in tmp_path.iterdir()] == ["net3.geojson"]


def test_write_into_missing_directory_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="cannot write"):
        write_geojson(parse_inp(TEXT), tmp_path / "no" / "such" / "dir.geojson")
