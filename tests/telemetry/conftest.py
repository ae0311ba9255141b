"""Fixtures of the telemetry tests: a small sensor registry (shared by H6 and H7)."""

from __future__ import annotations

import pytest

# The store fixtures of tests/store (SQLite and PostgreSQL, a fresh database each), shared
# with the telemetry tests. tests/ is on sys.path because pytest puts the directory of the
# root conftest there.
from store.conftest import city_store, store, store_url  # noqa: F401
from waterops.model.telemetry import Quantity, Sensor

SYSTEM = "city"


def sample_sensors() -> dict[str, Sensor]:
    """A few sensors of one system, by id (one of each kind the payload tests need)."""
    sensors = [
        Sensor(
            "P-101",
            SYSTEM,
            Quantity.PRESSURE,
            site_id="dma-7",
            element_kind="node",
            element_id="J-12",
            lower=0.0,
            upper=100.0,
            interval_s=60.0,
        ),
        Sensor(
            "F-201",
            SYSTEM,
            Quantity.FLOW,
            site_id="dma-7",
            element_kind="link",
            element_id="P-3",
            lower=0.0,
            upper=2.0,
            interval_s=60.0,
        ),
        Sensor("L-301", SYSTEM, Quantity.LEVEL, site_id="tank-1", interval_s=300.0),
        Sensor("CL-401", SYSTEM, Quantity.CHLORINE, site_id="plant-1", interval_s=300.0),
        Sensor("PS-501", SYSTEM, Quantity.PUMP_STATUS, site_id="pr-9", interval_s=60.0),
        Sensor("T-601", "township", Quantity.TEMPERATURE, site_id="intake-1"),
    ]
    return {s.id: s for s in sensors}


@pytest.fixture()
def sensors() -> dict[str, Sensor]:
    """The sample sensor registry."""
    return sample_sensors()
