"""Schema fuzzing of ``/water-balance`` and ``/treatment`` with tokens that may use them:
no server error, every 4xx a problem-details body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemathesis import GenerationMode

from waterops.service.treatment import TreatmentService
from waterops.service.water_balance import WaterBalanceService

from .conftest import Api
from .fuzzing import api_operations, bearer, fuzz
from .test_water_balance_api import INPUT

EXAMPLES_PER_OPERATION = 4


def test_no_server_error(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "water-balance.csv"
    path.write_text(INPUT, encoding="utf-8")
    api.app.state.water_balance = WaterBalanceService(path)
    api.app.state.treatment = TreatmentService(None)
    api.staff("admin2", "administrator")  # may use both parts (roles: the API tests)
    operations = [op for op in api_operations(api)
                  if op.path.startswith(("/api/v1/water-balance", "/api/v1/treatment"))]
    assert len(operations) == 8
    for operation in operations:
        tokens = [bearer(api, name) for name in ("admin2",)]

        def check(case: Any, mode: GenerationMode) -> None:
            for token in tokens:  # noqa: B023
                # the token last: a generated Authorization must not replace it
                response = case.call(headers={**dict(case.headers or {}), **token})
                where = f"{case.method} {case.formatted_path}"
                assert response.status_code < 500, (where, response.text)
                if response.status_code >= 400:
                    assert response.headers["content-type"] == [
                        "application/problem+json"], (where, response.text)

        fuzz(operation, EXAMPLES_PER_OPERATION, check)
