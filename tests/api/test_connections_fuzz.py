"""Schema fuzzing of the API with schemathesis (OpenAPI from the ASGI app): no server error.

Every operation of the OpenAPI document is called with generated parameters and bodies, valid
(positive) and invalid (negative), once with a customer's token and once with a service
agent's, against a database holding an application and its document, on SQLite and
PostgreSQL. Any 4xx must be a problem-details body. Examples are bounded to keep CI fast.

(schemathesis' pytest plugin does not run under pytest 9 yet, so the operations' Hypothesis
strategies are driven directly.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import PASSWORD, Api
from .test_connections_api import apply

EXAMPLES_PER_OPERATION = 12


def test_no_server_error_on_any_operation(api: Api) -> None:
    apply(api, api.customer("alice"))
    api.staff("agent1", "service_agent")

    def bearer(username: str) -> dict[str, str]:
        # fresh tokens per operation (the logout operation revokes the ones it is given),
        # minted from an address the fuzzed login attempts do not slow down
        token = api.services.auth.login(username, PASSWORD, "fuzz-setup").token
        return {"Authorization": f"Bearer {token}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    # no generated Authorization (an empty "Bearer", or none in negative mode): it replaced
    # the tokens below and most requests stopped at 401
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    called: set[str] = set()

    for operation in operations:
        customer, agent = bearer("alice"), bearer("agent1")
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:  # run at once below, inside this iteration
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

            try:
                call()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid input to generate
                assert mode is GenerationMode.NEGATIVE
    assert len(called) == len(operations)
