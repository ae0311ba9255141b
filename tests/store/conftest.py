"""Fixtures of the store tests, usable by every telemetry test.

``store`` is parametrised over SQLite and PostgreSQL: a test that takes it runs twice, once on
a fresh SQLite file in a temporary directory and once in a fresh PostgreSQL schema (dropped
afterwards). A PostgreSQL server that is down fails the test with a message (never skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from waterops.model.telemetry import Quantity, Sensor, Site, SiteKind, WaterSystem
from waterops.store import TelemetryStore

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}", None
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        yield url, schema


@pytest.fixture()
def store(store_url: tuple[str, str | None]) -> Iterator[TelemetryStore]:
    """An opened, migrated, empty store on SQLite and on PostgreSQL."""
    url, schema = store_url
    opened = TelemetryStore.open(url, schema=schema)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture()
def city_store(store: TelemetryStore) -> TelemetryStore:
    """``store`` holding one water system ``city``, a DMA inlet site and three sensors.

    Sensors: ``P1`` pressure at junction J1 (limits 0-80 m, every 60 s), ``F1`` flow in pipe
    L1, ``CL1`` chlorine at J1.
    """
    store.upsert_systems([WaterSystem("city", "City network", "Net1.inp")])
    store.upsert_sites([Site("dma-1", "city", SiteKind.DMA_INLET, "DMA 1 inlet", 1.0, 2.0)])
    store.upsert_sensors(
        [
            Sensor("P1", "city", Quantity.PRESSURE, "dma-1", "node", "J1", 0.0, 80.0, 60.0,
                   "DMA 1 inlet pressure"),
            Sensor("F1", "city", Quantity.FLOW, "dma-1", "link", "L1", 0.0, 0.5, 60.0),
            Sensor("CL1", "city", Quantity.CHLORINE, None, "node", "J1", 0.0, 4.0, 300.0),
        ]
    )
    return store
