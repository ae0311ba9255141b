"""Inputs the schema fuzzing found answered with a server error, each pinned here (SQLite and
PostgreSQL): the route must refuse them with a 422 problem-details body naming the field
(``test_connections_fuzz.py``, ``test_staff_fuzz.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store.telemetry_store import TelemetryStore

from .conftest import Api


def assert_problem(answer: Any, status: int, *detail_parts: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["type"], body
    for part in detail_parts:
        assert part in body["detail"], body
    return body


@pytest.mark.parametrize("every", ["INF", "1e400", "1e308d", "1e300", "99999999d"])
def test_series_every_infinite_or_huge_is_a_422_naming_every(api: Api, every: str) -> None:
    # GET /telemetry/series/{id}?every=INF was a 500 (OverflowError: float infinity to int);
    # a finite but huge interval (1e300 s) was a 200 with intervals starting before the window
    telemetry = TelemetryStore(api.services.accounts.engine)
    telemetry.upsert_systems([WaterSystem("city", "City")])
    telemetry.upsert_sensors([Sensor("P-1", "city", Quantity.PRESSURE)])
    staff = api.staff("dispatcher1", "dispatcher")
    params = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "every": every}
    answer = api.client.get("/api/v1/telemetry/series/P-1", headers=staff, params=params)
    assert_problem(answer, 422, "every", every)
    ok = api.client.get("/api/v1/telemetry/series/P-1", headers=staff,
                        params={**params, "every": "1h"})
    assert ok.status_code == 200, ok.text
