"""Schema fuzzing of the API with schemathesis (OpenAPI from the ASGI app): no server error.

Every operation of the OpenAPI document is called with generated parameters and bodies, valid
(positive) and invalid (negative), once with a customer's token and once with a service
agent's, against a database holding an application and its document, on SQLite and
PostgreSQL. Any 4xx must be a problem-details body. Examples are bounded to keep CI fast.

The operations, tokens and the driving of schemathesis' strategies are in ``fuzzing.py``.
"""

from __future__ import annotations

from typing import Any

from schemathesis import GenerationMode

from .conftest import Api
from .fuzzing import api_operations, bearer, fuzz
from .test_connections_api import apply

EXAMPLES_PER_OPERATION = 12


def test_no_server_error_on_any_operation(api: Api) -> None:
    apply(api, api.customer("alice"))
    api.staff("agent1", "service_agent")
    operations = api_operations(api)
    called: set[str] = set()

    for operation in operations:
        customer, agent = bearer(api, "alice"), bearer(api, "agent1")

        def check(case: Any, mode: GenerationMode) -> None:
            for token in (customer, agent):  # noqa: B023
                headers = {**dict(case.headers or {}), **token}
                response = case.call(headers=headers)
                where = f"{case.method} {case.formatted_path}"
                assert response.status_code < 500, (where, response.text)
                if response.status_code >= 400:
                    # schemathesis' response keeps every header as a list of values
                    assert response.headers["content-type"] == ["application/problem+json"], (
                        where,
                        response.text,
                    )
                called.add(f"{operation.method} {operation.path}")  # noqa: B023

        fuzz(operation, EXAMPLES_PER_OPERATION, check)
    assert len(called) == len(operations)
