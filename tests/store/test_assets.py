"""Water systems, sites and sensors: stored, read back, updated in place, on both databases."""

from __future__ import annotations

import pytest

from waterops.errors import StoreError, UnknownSensorError
from waterops.model.telemetry import Quantity, Sensor, Site, SiteKind, WaterSystem
from waterops.store import TelemetryStore


def test_sensors_read_back_as_stored(city_store: TelemetryStore) -> None:
    p1 = city_store.get_sensor("P1")
    assert p1 == Sensor(
        "P1", "city", Quantity.PRESSURE, "dma-1", "node", "J1", 0.0, 80.0, 60.0,
        "DMA 1 inlet pressure",
    )
    assert p1.unit == "m"
    assert [s.id for s in city_store.sensors()] == ["CL1", "F1", "P1"]
    assert [s.id for s in city_store.sensors("city")] == ["CL1", "F1", "P1"]
    assert city_store.sensors("rural") == []


def test_systems_and_sites_read_back(city_store: TelemetryStore) -> None:
    assert city_store.systems() == [WaterSystem("city", "City network", "Net1.inp")]
    site = Site("dma-1", "city", SiteKind.DMA_INLET, "DMA 1 inlet", 1.0, 2.0)
    assert city_store.sites() == [site]


def test_several_systems_in_one_installation(city_store: TelemetryStore) -> None:
    city_store.upsert_systems([WaterSystem("town-a", "Township A rural system")])
    city_store.upsert_sites([Site("pr-7", "town-a", SiteKind.PUMP_ROOM, "Block 7 pump room")])
    city_store.upsert_sensors([Sensor("PR7-LT", "town-a", Quantity.LEVEL, "pr-7")])
    assert [s.id for s in city_store.sensors("town-a")] == ["PR7-LT"]
    assert [s.id for s in city_store.sites("town-a")] == ["pr-7"]
    assert len(city_store.sensors()) == 4


def test_upsert_updates_in_place_and_keeps_readings(city_store: TelemetryStore) -> None:
    from datetime import UTC, datetime

    from waterops.model.telemetry import Reading

    t = datetime(2026, 3, 1, tzinfo=UTC)
    city_store.write_readings([Reading("P1", t, 30.0)])
    city_store.upsert_sensors(
        [Sensor("P1", "city", Quantity.PRESSURE, upper=100.0, attributes={"make": "Endress"})]
    )
    p1 = city_store.get_sensor("P1")
    assert p1.upper == 100.0 and p1.site_id is None
    assert p1.attributes == {"make": "Endress"}
    assert len(city_store.sensors()) == 3
    assert city_store.readings("P1")["value"].tolist() == [30.0]


def test_unknown_sensor_is_named(store: TelemetryStore) -> None:
    with pytest.raises(UnknownSensorError, match="'nope'"):
        store.get_sensor("nope")


def test_site_of_unknown_system_is_refused(store: TelemetryStore) -> None:
    with pytest.raises(StoreError, match="unknown water system"):
        store.upsert_sites([Site("s", "nowhere", SiteKind.TANK, "Tank")])
    assert store.sites() == []


def test_sensor_of_unknown_site_is_refused(city_store: TelemetryStore) -> None:
    with pytest.raises(StoreError, match="site"):
        city_store.upsert_sensors([Sensor("X", "city", Quantity.FLOW, site_id="no-such-site")])
    with pytest.raises(UnknownSensorError):
        city_store.get_sensor("X")
