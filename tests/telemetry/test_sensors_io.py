"""Sensor registry CSV import/export (SQLite and PostgreSQL) and sensors placed on a network."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from waterops.errors import PayloadError
from waterops.io.inp import read_inp
from waterops.model.telemetry import Quantity, SiteKind
from waterops.store import TelemetryStore
from waterops.telemetry.layout import SensorLayout, pressure_junctions, sensors_from_network
from waterops.telemetry.sensors_io import (
    export_sensors_csv,
    import_sensors_csv,
    parse_registry_csv,
    register_network_sensors,
)
from waterops.units import KPA_PER_M_HEAD

REGISTRY = """\
id,system,site,site_kind,site_name,x,y,quantity,unit,lower,upper,element_kind,element_id,interval_s,name,attr.tag
PT-101,city,pr-9,pump_room,PR 9,120.5,80.25,pressure,kPa,0,600,node,J-12,1min,Outlet P,PIT101
FT-7,city,pr-9,pump_room,PR 9,120.5,80.25,flow,L/s,0,50,link,P-3,60,Outlet flow,
CL-1,township,,,,,,chlorine,,0.05,2,,,5min,,
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_registry_csv_converts_limits_and_reads_sites() -> None:
    registry = parse_registry_csv(io.StringIO(REGISTRY), "reg.csv")
    sensors = {s.id: s for s in registry.sensors}
    pt = sensors["PT-101"]
    assert pt.quantity is Quantity.PRESSURE
    assert pt.upper == pytest.approx(600 / KPA_PER_M_HEAD)
    assert (pt.element_kind, pt.element_id, pt.interval_s) == ("node", "J-12", 60.0)
    assert pt.attributes == {"tag": "PIT101"}
    assert sensors["FT-7"].upper == pytest.approx(0.05)
    assert sensors["CL-1"].site_id is None and sensors["CL-1"].interval_s == 300.0
    assert registry.system_ids == ["city", "township"]
    (site,) = registry.sites
    assert (site.id, site.kind, site.name, site.x, site.y) == (
        "pr-9", SiteKind.PUMP_ROOM, "PR 9", 120.5, 80.25
    )


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("id,system,quantity,colour\nA,c,pressure,red\n", "reg.csv:1", "unknown column(s) colour"),
        ("id,system\nA,c\n", "reg.csv:1", "missing column(s) quantity"),
        ("id,system,quantity\nA,c,pressure\nA,c,flow\n", "reg.csv:3", "already on line 2"),
        ("id,system,quantity\nA,c,presure\n", "reg.csv:2: quantity", "unknown quantity"),
        ("id,system,quantity,lower,upper\nA,c,flow,2,1\n", "reg.csv:2: lower", "above upper"),
        ("id,system,quantity,lower\nA,c,flow,low\n", "reg.csv:2: lower", "not a number"),
        ("id,system,quantity,unit\nA,c,flow,kPa\n", "reg.csv:2: unit", "measures pressure"),
        ("id,system,quantity,unit\nA,c,flow,gal/fortnight\n", "reg.csv:2: unit", "unknown unit"),
        ("id,system,quantity,element_kind\nA,c,flow,pipe\n", "reg.csv:2: element_kind", "node"),
        ("id,system,quantity,interval_s\nA,c,flow,often\n", "reg.csv:2: interval_s", "duration"),
        ("id,system,quantity,x\nA,c,flow,3\n", "reg.csv:2: site", "need a site id"),
        ("id,system,quantity,site,site_kind\nA,c,flow,s,shed\n", "reg.csv:2: site_kind",
         "unknown site kind"),
        ("id,system,quantity\n,c,flow\n", "reg.csv:2: id", "empty"),
    ],
)
def test_registry_faults_name_line_and_column(text: str, where: str, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_registry_csv(io.StringIO(text), "reg.csv")
    assert str(info.value).startswith(where)
    assert reason in str(info.value)


def test_import_export_round_trip(store: TelemetryStore, tmp_path: Path) -> None:
    summary = import_sensors_csv(store, _write(tmp_path / "reg.csv", REGISTRY))
    assert (summary.sensors, summary.new_sensors, summary.sites) == (3, 3, 1)
    assert summary.new_systems == ["city", "township"]
    exported = export_sensors_csv(store)
    assert exported.splitlines()[0].startswith("id,system,site,site_kind,site_name,x,y,quantity")
    assert "FT-7,city,pr-9,pump_room,PR 9,120.5,80.25,flow,m3/s,0.0,0.05,link,P-3" in exported

    again = import_sensors_csv(store, _write(tmp_path / "exported.csv", exported))
    assert (again.new_sensors, again.new_systems) == (0, [])
    assert export_sensors_csv(store) == exported  # a fixed point: nothing lost or changed
    assert [s.id for s in store.sensors("township")] == ["CL-1"]


def test_import_needs_known_sites_and_writes_nothing_otherwise(
    store: TelemetryStore, tmp_path: Path
) -> None:
    text = "id,system,quantity,site\nA,c,flow,nowhere\n"
    with pytest.raises(PayloadError, match=r"reg\.csv:2: site: unknown site 'nowhere'"):
        import_sensors_csv(store, _write(tmp_path / "reg.csv", text))
    assert store.sensors() == [] and store.systems() == []


def test_layout_on_net3_is_utility_like_and_deterministic(net3_path: Path) -> None:
    net = read_inp(net3_path)
    placed = sensors_from_network(net, "net3")
    assert placed == sensors_from_network(read_inp(net3_path), "net3")
    by_id = {s.id: s for s in placed.sensors}
    assert len(by_id) == len(placed.sensors)
    for tank in net.tanks.index:
        assert by_id[f"L-{tank}"].quantity is Quantity.LEVEL
        assert by_id[f"L-{tank}"].upper == pytest.approx(net.tanks.at[tank, "max_level_m"])
        assert by_id[f"CL-{tank}"].quantity is Quantity.CHLORINE
    for pump in net.pumps.index:
        assert by_id[f"Q-{pump}"].quantity is Quantity.FLOW
        assert by_id[f"S-{pump}"].quantity is Quantity.PUMP_STATUS
        assert by_id[f"Q-{pump}"].element_kind == "link"
    for reservoir in net.reservoirs.index:
        assert by_id[f"CL-{reservoir}"].element_id == reservoir
    assert "Q-60" in by_id  # the pipe leaving the River reservoir (the Lake leaves by pump 10)
    pressure = [s for s in placed.sensors if s.quantity is Quantity.PRESSURE]
    assert len(pressure) == 10  # about √92 junctions
    elevations = net.junctions["elevation_m"]
    assert f"P-{elevations.idxmax()}" in by_id and f"P-{elevations.idxmin()}" in by_id
    for sensor in placed.sensors:
        ids = net.node_ids() if sensor.element_kind == "node" else net.link_ids()
        assert sensor.element_id in ids
        assert sensor.interval_s == 300.0
    sites = {s.id: s for s in placed.sites}
    assert {s.site_id for s in placed.sensors} <= set(sites)
    assert sites["tank-1"].kind is SiteKind.TANK
    assert (sites["tank-1"].x, sites["tank-1"].y) == tuple(net.coordinates.loc["1", ["x", "y"]])


def test_layout_options_and_prefix(net1_path: Path) -> None:
    net = read_inp(net1_path)
    layout = SensorLayout(pressure_points=5, chlorine_points=0, interval_s=60.0, prefix="n1.")
    placed = sensors_from_network(net, "net1", layout=layout)
    assert sum(s.quantity is Quantity.PRESSURE for s in placed.sensors) == 5
    assert all(s.id.startswith("n1.") for s in placed.sensors)
    assert all(s.id.startswith("n1.") for s in placed.sites)
    assert pressure_junctions(net, 100) == pressure_junctions(net, 9)  # no more than there are
    assert len(pressure_junctions(net, 100)) == len(net.junctions)


def test_register_network_sensors_refuses_id_clashes_between_systems(
    store: TelemetryStore, net1_path: Path
) -> None:
    net = read_inp(net1_path)
    first = register_network_sensors(store, net, "net1", network_file=str(net1_path))
    assert first.new_sensors == first.sensors == len(store.sensors("net1"))
    assert store.systems()[0].network_file == str(net1_path)
    assert register_network_sensors(store, net, "net1").new_sensors == 0  # re-run: updates
    with pytest.raises(PayloadError, match="already belong to system net1; give an id prefix"):
        register_network_sensors(store, net, "copy")
    assert store.sensors("copy") == []
    register_network_sensors(store, net, "copy", layout=SensorLayout(prefix="copy."))
    assert len(store.sensors("copy")) == len(store.sensors("net1"))
