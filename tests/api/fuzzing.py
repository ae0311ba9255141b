"""What the schema-fuzzing tests share: the operations of the API's OpenAPI document, fresh
tokens, and one operation driven through schemathesis' Hypothesis strategies in both
generation modes.

(schemathesis' pytest plugin does not run under pytest 9 yet, so the strategies are driven
directly.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import PASSWORD, Api


def bearer(api: Api, username: str) -> dict[str, str]:
    """A fresh token of ``username`` as an Authorization header (fresh per operation: the
    logout operation revokes the ones it is given), minted from an address the fuzzed login
    attempts do not slow down."""
    token = api.services.auth.login(username, PASSWORD, "fuzz-setup").token
    return {"Authorization": f"Bearer {token}"}


def api_operations(api: Api) -> list[Any]:
    """Every operation of the application's OpenAPI document.

    schemathesis' own Authorization header of the document's bearer scheme is switched off
    (``with_security_parameters``): it sent an empty ``Bearer`` (or, in negative mode, none)
    that replaced the tests' tokens, and most requests stopped at 401.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    return operations


def fuzz(operation: Any, examples: int, check: Callable[[Any, GenerationMode], None]) -> None:
    """Call ``check(case, mode)`` on up to ``examples`` generated cases of ``operation`` in
    each generation mode, positive first. An operation without parameters or body has no
    invalid input: its negative mode is skipped."""
    for mode in GenerationMode:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:  # run at once below, inside this iteration
            check(case, mode)  # noqa: B023

        try:
            call()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE
