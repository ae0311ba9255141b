"""Schema fuzzing of the API with the tokens of the utility's staff: no server error.

Every operation of the OpenAPI document (from the ASGI app) is called with generated parameters
and bodies, valid (positive) and invalid (negative), with the tokens of an administrator, a
dispatcher, a water-quality engineer, a planner and a field crew member, against a database
holding a customer's application and its document, on SQLite and PostgreSQL. The customer's
and the service agent's tokens are fuzzed by ``test_connections_fuzz.py``.

What each role may use is not listed here: a role answered 403 on a valid request of an
operation (its role may not use it) is not called again on that operation, so the examples go
to the roles that reach the route's work. The test asserts that every staff-only operation was
reached by at least one of these roles and that each role reached operations beyond the public
ones. Invariants: no 5xx; every 4xx is an RFC 9457 problem-details body
(``application/problem+json`` with ``type``, ``title``, ``status`` equal to the HTTP status and
``detail``). Routes that need the demo's live twin or simulator answer 409 here (no live system
runs in this app), which is allowed.

Operations whose work touches no storage beyond authenticating the caller (the tariff book,
the hydraulic analyses of isolation, contamination and source switching, the network read from
its file, the twin that answers 409 without a live system: :data:`SQLITE_ONLY`) are fuzzed on
SQLite only: on PostgreSQL they would repeat the same computation. Every other operation, all
that read or write the store, is fuzzed on both.

Coverage when written: 103 operations; the administrator got past 403 on 102 (not
``POST /connections``: customers apply), the dispatcher on 82, the planner on 69, the
water-quality engineer on 63, the field crew on 56. The network routes read the demo network's
file (as ``WATEROPS_NETWORK`` names it), so they are fuzzed past their 409.

Cost (2-core machine, ``pytest --durations=10 tests/api/test_staff_fuzz.py``): 3 positive and
3 negative examples per operation; 25-32 s on SQLite and 26-31 s on PostgreSQL (51-62 s in all,
depending on what else runs). The customer's fuzzing runs 12 examples: more here would multiply
by five roles.

The generated ``Authorization`` header of the document's bearer scheme is switched off
(``with_security_parameters``): schemathesis would otherwise send an empty ``Bearer`` or, in
negative mode, drop the header, and the request would stop at 401 before any staff route.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Any

from schemathesis import GenerationMode

from waterops.data import demo_network_path
from waterops.model.accounts import ROLE_PERMISSIONS, Role

from .conftest import Api
from .fuzzing import api_operations, bearer, fuzz
from .test_connections_api import apply

EXAMPLES_PER_OPERATION = 3
"""Examples per operation and generation mode."""

STAFF = {
    "root-admin": "administrator",
    "fuzz-dispatcher": "dispatcher",
    "fuzz-quality": "water_quality_engineer",
    "fuzz-planner": "planner",
    "fuzz-crew": "field_crew",
}
"""User names of the fuzzed staff and their roles."""

CUSTOMER_ONLY = {
    permission.value
    for permission in ROLE_PERMISSIONS[Role.HOUSEHOLD_CUSTOMER]
    - ROLE_PERMISSIONS[Role.ADMINISTRATOR]
}
"""Permissions of customers that no staff role holds (applying for a connection …)."""

SQLITE_ONLY = {
    "GET /api/v1/tariffs", "POST /api/v1/tariffs/bill",
    "POST /api/v1/sources/switch-plan",
    "POST /api/v1/contamination/spread", "POST /api/v1/contamination/trace",
    "POST /api/v1/isolation/plan", "POST /api/v1/isolation/plan/map",
    "POST /api/v1/scenarios/close",
    "GET /api/v1/network", "GET /api/v1/network/map", "GET /api/v1/network/elements/{element_id}",
    "GET /api/v1/twin/state", "GET /api/v1/twin/nodes", "GET /api/v1/twin/links",
}
"""Operations that compute without the store (beyond authentication): fuzzed on SQLite only."""

PUBLIC_OR_OWN = {"/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/me",
                 "/api/v1/users/register", "/api/v1/users/{user_id}"}
"""Operations every account may use (not a sign that a role reaches its staff routes)."""


def assert_problem(response: Any, where: str) -> None:
    """``response`` is an RFC 9457 problem-details body of its own status."""
    # schemathesis' response keeps every header as a list of values
    assert response.headers["content-type"] == ["application/problem+json"], (
        where, response.text)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), (where, body)
    assert body["status"] == response.status_code, (where, body)
    assert isinstance(body["detail"], str) and body["detail"], (where, body)


def test_no_server_error_for_staff(api: Api) -> None:
    # the network routes read the demo network's file: past their 409 "no network configured"
    api.app.state.settings = replace(api.app.state.settings, network_file=demo_network_path())
    apply(api, api.customer("alice"))
    for username, role in STAFF.items():
        if role != "administrator":  # the fixture creates root-admin with the first staff
            api.staff(username, role)

    operations = api_operations(api)
    reached: dict[str, set[str]] = defaultdict(set)  # role -> operations it got past 403 on
    refused_admin: dict[str, str] = {}  # operation -> what its 403 said the admin may not do

    on_postgresql = api.services.accounts.engine.dialect.name == "postgresql"
    for operation in operations:
        name = f"{operation.method.upper()} {operation.path}"
        if on_postgresql and name in SQLITE_ONLY:
            continue
        tokens = {username: bearer(api, username) for username in STAFF}
        denied: set[str] = set()

        # positive mode first: a 403 on a valid request means the role may not use it
        def check(case: Any, mode: GenerationMode) -> None:
            for username, token in tokens.items():  # noqa: B023
                if username in denied:  # noqa: B023
                    continue
                response = case.call(headers={**dict(case.headers or {}), **token})
                where = f"{STAFF[username]}: {case.method} {case.formatted_path}"
                assert response.status_code < 500, (where, response.text)
                if response.status_code >= 400:
                    assert_problem(response, where)
                if response.status_code == 403 and mode is GenerationMode.POSITIVE:
                    denied.add(username)  # noqa: B023
                    if STAFF[username] == "administrator":
                        refused = re.search(r"may not (\S+)", response.json()["detail"])
                        refused_admin[name] = refused.group(1) if refused else ""  # noqa: B023
                elif response.status_code != 403:
                    reached[STAFF[username]].add(name)  # noqa: B023

        fuzz(operation, EXAMPLES_PER_OPERATION, check)

    names = {f"{op.method.upper()} {op.path}" for op in operations}
    assert names >= SQLITE_ONLY  # a renamed route must leave this list too
    # an operation no staff role got past 403 on must be one for customers only
    for name in names - set().union(*reached.values()) - (SQLITE_ONLY if on_postgresql else set()):
        assert refused_admin.get(name) in CUSTOMER_ONLY, (name, refused_admin.get(name))
    own = {f"{method} {path}" for path in PUBLIC_OR_OWN for method in ("GET", "POST", "PATCH")}
    for role in STAFF.values():
        assert len(reached[role] - own) >= 10, (role, sorted(reached[role]))
