"""Schema fuzzing of ``/water-balance`` and ``/treatment`` with tokens that may use them:
no server error, every 4xx a problem-details body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from waterops.service.treatment import TreatmentService
from waterops.service.water_balance import WaterBalanceService

from .conftest import PASSWORD, Api
from .test_water_balance_api import INPUT

EXAMPLES_PER_OPERATION = 4


def test_no_server_error(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "water-balance.csv"
    path.write_text(INPUT, encoding="utf-8")
    api.app.state.water_balance = WaterBalanceService(path)
    api.app.state.treatment = TreatmentService(None)
    api.staff("admin2", "administrator")  # may use both parts (roles: the API tests)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [r.ok() for r in schema.get_all_operations()
                  if r.ok().path.startswith(("/api/v1/water-balance", "/api/v1/treatment"))]
    assert len(operations) == 8
    for operation in operations:
        tokens = [{"Authorization": "Bearer " + api.services.auth.login(
            name, PASSWORD, "fuzz-setup").token} for name in ("admin2",)]
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                for token in tokens:  # noqa: B023
                    response = case.call(headers={**token, **dict(case.headers or {})})
                    where = f"{case.method} {case.formatted_path}"
                    assert response.status_code < 500, (where, response.text)
                    if response.status_code >= 400:
                        assert response.headers["content-type"] == [
                            "application/problem+json"], (where, response.text)

            call()
