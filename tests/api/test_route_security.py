"""A security and API-contract sweep over every HTTP route of the web application.

The routes are enumerated from the application itself (the routers of
:data:`waterops.api.app.ROUTER_MODULES`, cross-checked with the OpenAPI document, and the
top-level routes of the pages), so a route added tomorrow is covered without editing this file:

* without a bearer token every API route answers 401 (problem details), except the reviewed
  :data:`PUBLIC_API` allow-list; every top-level (non-API) route is in :data:`PUBLIC_PAGES`;
* with a household customer's token every staff route answers 403 or 404; the customer-facing
  routes (:data:`CUSTOMER_ROUTES`) may answer 2xx or 4xx, but never another customer's records
  (a marker written into customer B's records never appears in an answer to customer A, and
  B's record ids answer 404);
* every error answer is ``application/problem+json`` with ``type``, ``title``, ``status`` and
  ``detail``; no answer is a 5xx;
* a NUL character in any string parameter or body field is a 4xx on SQLite and PostgreSQL
  (PostgreSQL refuses NUL in text: unchecked, it was a 503);
* a sample of state-changing staff routes each writes one ``audit_log`` line, and every
  state-changing route is classified (sampled here, audited and tested in its part's tests, or
  exempt with a reason).

One application over SQLite per module (cheap argon2 parameters); the whole module runs in a few
seconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from service.conftest import T0, ListNotifier, ManualClock
from waterops.api.app import API_PREFIX, ROUTER_MODULES
from waterops.config import Settings
from waterops.store.accounts_store import AccountsStore
from waterops.web.app import create_app

from .conftest import PASSWORD, Api, build
from .test_connections_api import apply

PROBLEM = "application/problem+json"
MARKER = "Bmarker7f3a"
"""Written into customer B's records; must never appear in an answer to customer A."""

PUBLIC_API: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "log-in: how a token is obtained",
    ("POST", "/api/v1/users/register"): "customers register themselves (customer roles only)",
}
"""API routes that answer without a token, each with the reason it may."""

PUBLIC_PAGES: dict[str, str] = {
    "/openapi.json": "the API description (issue 8: OpenAPI docs); no data",
    "/docs": "Swagger UI over /openapi.json, served offline; no data",
    "/docs-assets": "Swagger UI's static files",
    "/static": "static assets of the pages (HTML, JS, CSS); data comes through the API",
    "/static/vendor/plotly.min.js": "the installed plotly.js",
    "/static/vendor/plotly-gl2d.min.js": "plotly.js's gl2d bundle the operations centre loads",
    "/": "log-in page",
    "/ops": "operations-centre page shell; reads everything through the API with a token",
    "/ops/": "redirect to /ops",
    "/portal": "customer-portal page shell; reads everything through the API with a token",
    "/portal/": "redirect to /portal",
}
"""Top-level (non-API) routes: pages and documentation, all public, each with a reason."""

CUSTOMER_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/me"),
        ("POST", "/api/v1/users/register"),
        ("POST", "/api/v1/connections"),
        ("GET", "/api/v1/connections"),
        ("GET", "/api/v1/connections/{application_id}"),
        ("POST", "/api/v1/connections/{application_id}/actions"),
        ("GET", "/api/v1/connections/{application_id}/timeline"),
        ("GET", "/api/v1/connections/{application_id}/sla"),
        ("POST", "/api/v1/documents"),
        ("GET", "/api/v1/documents/{document_id}"),
        ("GET", "/api/v1/documents/{document_id}/content"),
        ("POST", "/api/v1/complaints"),
        ("GET", "/api/v1/complaints"),
        ("GET", "/api/v1/complaints/{complaint_id}"),
        ("POST", "/api/v1/complaints/{complaint_id}/survey"),
        ("GET", "/api/v1/complaints/{complaint_id}/history"),
        ("POST", "/api/v1/notices/contacts"),
        ("GET", "/api/v1/notices/contacts/mine"),
        ("GET", "/api/v1/notices"),
        ("GET", "/api/v1/notices/{notice_id}"),
        ("GET", "/api/v1/tariffs"),
        ("POST", "/api/v1/tariffs/bill"),
        ("GET", "/api/v1/enterprises"),
        ("GET", "/api/v1/enterprises/{enterprise_id}"),
        ("GET", "/api/v1/enterprises/{enterprise_id}/consumption"),
        ("GET", "/api/v1/enterprises/{enterprise_id}/advice"),
        ("GET", "/api/v1/enterprises/{enterprise_id}/problems"),
        ("POST", "/api/v1/enterprises/{enterprise_id}/problems"),
        ("GET", "/api/v1/enterprises/problems/{problem_id}"),
        ("POST", "/api/v1/enterprises/problems/{problem_id}/rating"),
    }
)
"""Routes a customer may use (on their own records); every other route is staff-only."""

STAFF_ONLY_STREAM = {("GET", "/api/v1/stream")}
"""Server-sent events: never called with a staff token here (the answer does not end)."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, e.g. /api/v1/connections/{application_id}
    module: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_operations() -> list[Operation]:
    """Every (method, path) of the routers the application mounts."""
    found: list[Operation] = []
    for name in ROUTER_MODULES:
        if importlib.util.find_spec(name) is None:
            continue  # named by a colleague whose module is not written yet
        for route in importlib.import_module(name).router.routes:
            if not isinstance(route, APIRoute):  # a websocket or a mount: review it by hand
                UNREVIEWED.append(f"{name}: {route!r}")
                continue
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                found.append(Operation(method, API_PREFIX + route.path, name))
    return found


UNREVIEWED: list[str] = []
OPERATIONS = api_operations()


@dataclass
class World:
    api: Api
    alice: dict[str, str]  # household customer A
    bob_ids: dict[str, int]  # customer B's records: path parameter -> id


def fill(path: str, values: dict[str, int | str]) -> str:
    """``path`` with its parameters replaced by ``values`` (default 1)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("route-security")
    accounts = AccountsStore.open(f"sqlite:///{folder / 'web.db'}")
    clock, notifier = ManualClock(T0), ListNotifier()
    services = build(accounts, folder, clock, notifier)
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'web.db'}",
        mqtt_url=None,
        dask_address=None,
    )
    app: FastAPI = create_app(settings, services=services)
    with TestClient(app) as client:
        api = Api(client, app, services, clock, notifier)
        bob = api.customer("bob-customer")
        application = apply(api, bob, address=f"3 {MARKER} Lane")
        complaint = client.post(
            "/api/v1/complaints",
            headers=bob,
            json={"category": "low_pressure", "description": MARKER},
        )
        assert complaint.status_code == 201, complaint.text
        bob_ids = {
            "application_id": application["id"],
            "document_id": application["document_id"],
            "complaint_id": complaint.json()["id"],
        }
        alice = api.customer("alice-customer")
        yield World(api, alice, bob_ids)


def assert_problem(answer: Any, where: str) -> None:
    assert answer.headers.get("content-type") == PROBLEM, (
        where,
        answer.status_code,
        answer.headers,
        answer.text[:300],
    )
    body = answer.json()
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, (where, f"problem body lacks {missing}", body)
    assert body["status"] == answer.status_code, (where, body)


def call(
    client: TestClient,
    op: Operation,
    headers: dict[str, str] | None,
    values: dict[str, int | str] | None = None,
    *,
    valid: bool = False,
) -> Any:
    """Call ``op``; with ``valid``, with the required query parameters and a JSON body built
    from the OpenAPI document (so a check reached after validation is reached)."""
    if not valid:
        return client.request(op.method, fill(op.path, values or {}), headers=headers or {})
    document = OPENAPI_CACHE.setdefault("doc", client.app.openapi())  # type: ignore[attr-defined]
    spec = document["paths"][op.path][op.method.lower()]
    components = document.get("components", {}).get("schemas", {})
    query = {
        p["name"]: example(p["schema"], components)
        for p in spec.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    content = spec.get("requestBody", {}).get("content", {})
    body = (
        example(content["application/json"]["schema"], components)
        if "application/json" in content
        else None
    )
    if op.key in BODY_RULES:
        body = {**(body or {}), **BODY_RULES[op.key]}
    return client.request(
        op.method, fill(op.path, values or {}), headers=headers or {}, params=query, json=body
    )


OPENAPI_CACHE: dict[str, Any] = {}

_SPREAD = {"node_id": "x", "concentration_mg_l": 1.0}
BODY_RULES: dict[tuple[str, str], dict[str, Any]] = {
    # a rule across fields the OpenAPI schema cannot say: one of concentration or mass rate
    ("POST", "/api/v1/contamination/spread"): _SPREAD,
    ("POST", "/api/v1/contamination/do-not-drink"): {"spread": _SPREAD},
}
"""Fields added to the schema's simplest body where a model validator asks for more."""


def example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The simplest value ``schema`` accepts: required properties only, first enum member,
    the lower bounds of numbers and lengths, T0 for date-times."""
    if "$ref" in schema:
        return example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return example(options[0], components) if options else None
    if "allOf" in schema:
        return example(schema["allOf"][0], components)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: example(properties[name], components) for name in schema.get("required", [])}
    if kind == "array":
        return [
            example(schema.get("items", {}), components) for _ in range(schema.get("minItems", 0))
        ]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + (1 if "exclusiveMinimum" in schema or low == 0 else 0)
        value = min(value, schema.get("maximum", value))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "string":
        if schema.get("format") == "date-time":
            return T0.isoformat()
        if schema.get("format") == "date":
            return T0.date().isoformat()
        return "x" * max(1, schema.get("minLength", 1))
    return None


def test_every_route_is_enumerated_and_in_the_openapi_document(world: World) -> None:
    app = world.api.app
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    enumerated = {op.key for op in OPERATIONS}
    assert documented - enumerated == set(), "documented routes not found in the routers"
    hidden = enumerated - documented
    assert hidden <= STAFF_ONLY_STREAM, f"routes hidden from the OpenAPI document: {hidden}"
    assert not UNREVIEWED, f"routes this sweep cannot call: {UNREVIEWED}"
    assert len(OPERATIONS) >= 90
    assert not set(PUBLIC_API) - enumerated, "allow-list names a route that does not exist"
    assert not CUSTOMER_ROUTES - enumerated, "customer list names a route that does not exist"
    top_level = {r.path for r in app.routes if isinstance(r, Route | Mount)}
    unreviewed = top_level - set(PUBLIC_PAGES)
    assert not unreviewed, f"top-level routes not reviewed as public pages: {unreviewed}"


def test_every_api_route_needs_a_token(world: World) -> None:
    failures = []
    for op in OPERATIONS:
        answer = call(world.api.client, op, None)
        where = str(op)
        if op.key in PUBLIC_API:
            if answer.status_code >= 500:
                failures.append(f"{where}: {answer.status_code} {answer.text[:200]}")
            continue
        if answer.status_code != 401:
            failures.append(f"{where}: {answer.status_code} without a token, not 401")
            continue
        try:
            assert_problem(answer, where)
            assert answer.headers.get("www-authenticate") == "Bearer", "no WWW-Authenticate"
        except AssertionError as exc:
            failures.append(f"{where}: {exc}")
    assert not failures, "routes answering without a token:\n" + "\n".join(failures)


def test_a_bad_token_is_401_everywhere(world: World) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    failures = [
        f"{op}: {answer.status_code}"
        for op in OPERATIONS
        if op.key not in PUBLIC_API
        if (answer := call(world.api.client, op, bad)).status_code != 401
    ]
    assert not failures, "routes not refusing a forged token:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ["household_customer", "enterprise_customer"])
def test_a_customer_is_refused_every_staff_route(world: World, role: str) -> None:
    customer = world.alice
    if role == "enterprise_customer":
        customer = world.api.customer("carol-enterprise", role)
    failures = []
    for op in OPERATIONS:
        if op.key in CUSTOMER_ROUTES or op.key in PUBLIC_API:
            continue
        answer = call(world.api.client, op, customer, world.bob_ids)
        if answer.status_code == 422:  # validated before the role check: try a valid request
            answer = call(world.api.client, op, customer, world.bob_ids, valid=True)
        where = f"{op} ({op.module}, {role})"
        if answer.status_code not in (403, 404):
            failures.append(f"{where}: {answer.status_code} for a customer {answer.text[:160]}")
            continue
        try:
            assert_problem(answer, where)
        except AssertionError as exc:
            failures.append(f"{where}: {exc}")
    assert not failures, "staff routes open to a customer:\n" + "\n".join(failures)


def test_a_customer_never_sees_another_customers_records(world: World) -> None:
    failures = []
    for op in OPERATIONS:
        if op.key not in CUSTOMER_ROUTES:
            continue
        # a fresh token per call: the logout route revokes the one it is given
        token = world.api.services.auth.login("alice-customer", PASSWORD, "sweep").token
        answer = call(
            world.api.client, op, {"Authorization": f"Bearer {token}"}, world.bob_ids, valid=True
        )
        where = str(op)
        if answer.status_code >= 500:
            failures.append(f"{where}: {answer.status_code} {answer.text[:200]}")
        elif MARKER in answer.text:
            failures.append(f"{where}: {answer.status_code} shows customer B's record")
        elif any("{" + name + "}" in op.path for name in world.bob_ids) and (
            op.method == "GET" and answer.status_code not in (403, 404)
        ):
            failures.append(f"{where}: {answer.status_code} on customer B's record id")
        elif answer.status_code >= 400:
            try:
                assert_problem(answer, where)
            except AssertionError as exc:
                failures.append(f"{where}: {exc}")
    assert not failures, "customer routes leaking or failing:\n" + "\n".join(failures)


CHANGES = ("POST", "PUT", "PATCH", "DELETE")


AUDIT_EXEMPT: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "opens a session; the service writes its own line for staff",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session; changes no record",
    ("POST", "/api/v1/users/register"): "a customer registering themselves (no staff actor)",
    ("POST", "/api/v1/notices/contacts"): "a customer's own contact details",
    ("POST", "/api/v1/complaints/{complaint_id}/survey"): "the customer's satisfaction score",
    ("POST", "/api/v1/enterprises/problems/{problem_id}/rating"): "the customer's rating",
    ("POST", "/api/v1/telemetry/readings"): "readings are data from gateways and SCADA, not an "
    "operator action; each batch is kept with its source and sender (docs/telemetry.md)",
    ("POST", "/api/v1/tariffs/bill"): "a computation (POST for its body); stores nothing",
    ("POST", "/api/v1/treatment/recommendation"): "a dose computation; stores nothing",
    ("POST", "/api/v1/sources/status"): "a computation over readings; stores nothing",
    ("POST", "/api/v1/sources/switch-plan"): "a simulation of a switch; stores nothing",
    ("POST", "/api/v1/contamination/spread"): "a simulation; stores nothing",
    ("POST", "/api/v1/contamination/trace"): "a simulation; stores nothing",
    ("POST", "/api/v1/isolation/plan"): "a plan computed for a reader; stores nothing",
    ("POST", "/api/v1/isolation/plan/map"): "the same plan as GeoJSON; stores nothing",
    ("POST", "/api/v1/scenarios/close"): "a what-if simulation; stores nothing",
}
"""State-changing methods that write no audit line, each with the reason."""

AUDIT_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/users"): {
        "username": "sweep-dispatcher",
        "password": PASSWORD,
        "role": "dispatcher",
    },
    ("PATCH", "/api/v1/users/{user_id}"): {"role": "planner"},
    ("POST", "/api/v1/work-orders/{order_id}/actions"): {"action": "cancel", "note": "sweep"},
    ("POST", "/api/v1/work-orders/{order_id}/links"): {"kind": "complaint", "target_id": 1},
    ("POST", "/api/v1/work-orders/from-record"): {"complaint_id": 1, "title": "sweep"},
    ("POST", "/api/v1/enterprises/problems/{problem_id}/actions"): {"action": "start"},
    ("POST", "/api/v1/notices"): {
        "kind": "planned",
        "area": "Jinhua Road",
        "reason": "main replacement",
        "starts_at": (T0 + timedelta(hours=30)).isoformat(),
        "ends_at": (T0 + timedelta(hours=34)).isoformat(),
        "nodes": ["PR03-HIGHZONE"],
    },
    ("POST", "/api/v1/complaints/{complaint_id}/actions"): {
        "action": "log_callback",
        "note": "crew on the way",
    },
}
"""Bodies that make a sampled route do something (the schema's simplest body would not)."""

AUDIT_MUST_REACH = frozenset(
    {
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/{user_id}"),
        ("POST", "/api/v1/connections/{application_id}/actions"),
        ("POST", "/api/v1/complaints/{complaint_id}/actions"),
        ("POST", "/api/v1/enterprises"),
        ("PATCH", "/api/v1/enterprises/{enterprise_id}"),
        ("POST", "/api/v1/enterprises/{enterprise_id}/visits"),
        ("POST", "/api/v1/enterprises/{enterprise_id}/problems"),
        ("POST", "/api/v1/work-orders"),
        ("POST", "/api/v1/work-orders/{order_id}/actions"),
        ("POST", "/api/v1/work-orders/{order_id}/links"),
        ("POST", "/api/v1/trunk-main/failures"),
        ("POST", "/api/v1/work-orders/from-record"),
        ("POST", "/api/v1/enterprises/problems/{problem_id}/actions"),
        ("POST", "/api/v1/notices"),
    }
)
"""The sample that must succeed here (and so be checked: 15 routes); the others are checked when the
simplest valid request succeeds (alarms, incidents and notices need a running twin or a network
and are audited in their own tests: test_operations_api, test_notices_api)."""


def test_staff_changes_write_the_audit_log(world: World) -> None:
    api = world.api
    api.staff("sweep-admin", "administrator")
    values: dict[str, int | str] = dict(world.bob_ids)
    mutating = [op for op in OPERATIONS if op.method in CHANGES]
    # collections first: an id a POST answers fills the {parameter} of the routes below it
    mutating.sort(key=lambda op: (op.path.count("{"), op.key in AUDIT_BODIES, op.path))
    failures, reached = [], set()
    for op in mutating:
        token = api.services.auth.login("sweep-admin", PASSWORD, "sweep").token
        before = api.services.accounts.audit_page(limit=1)[1]
        answer = call_with(api.client, op, {"Authorization": f"Bearer {token}"}, values)
        written = api.services.accounts.audit_page(limit=1)[1] - before
        where = f"{op}: {answer.status_code}"
        if answer.status_code >= 500:
            failures.append(f"{where} {answer.text[:200]}")
        if not 200 <= answer.status_code < 300:
            if written:
                failures.append(f"{where} refused but wrote {written} audit lines")
            continue
        reached.add(op.key)
        if op.key in AUDIT_EXEMPT:
            continue
        if written < 1:
            failures.append(f"{where} changed state without an audit line")
        new_id = answer.json().get("id") if "json" in answer.headers["content-type"] else None
        if isinstance(new_id, int) and "{" not in op.path:
            for other in OPERATIONS:
                found = re.match(re.escape(op.path) + r"/\{(\w+)\}", other.path)
                if found:
                    values.setdefault(found.group(1), new_id)
    missing = AUDIT_MUST_REACH - reached
    assert not missing, f"sampled routes that did not succeed: {sorted(missing)}"
    assert not failures, "audit problems:\n" + "\n".join(failures)


def call_with(
    client: TestClient, op: Operation, headers: dict[str, str], values: dict[str, int | str]
) -> Any:
    if op.key in AUDIT_BODIES:
        return client.request(
            op.method, fill(op.path, values), headers=headers, json=AUDIT_BODIES[op.key]
        )
    return call(client, op, headers, values, valid=True)


NUL = "a\x00b"
NUL_BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    # a free-form body (docs/telemetry.md): one reading, a batch, a batch with its sensor
    ("POST", "/api/v1/telemetry/readings"): [
        {"sensor": NUL, "time": "2026-11-23T10:00:00Z", "value": 3.2, "unit": "bar"},
        {"readings": [{"sensor": NUL, "time": "2026-11-23T10:00:00Z", "value": 1.0}]},
        {"sensor": "P-1", "unit": NUL, "readings": [{"time": "2026-11-23T10:00:00Z", "value": 1}]},
    ],
}
"""NUL cases of bodies whose OpenAPI schema is free-form."""


def with_nul(value: Any, schema: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """Variants of a JSON body with a NUL in one string field each (nested objects and the
    first item of arrays included)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if not isinstance(value, dict):
        return []
    variants = []
    for name, spec in schema.get("properties", {}).items():
        kinds = json_types(spec, components)
        if "string" in kinds:
            variants.append({**value, name: NUL})
        elif "array" in kinds and "string" in json_types(spec.get("items", {}), components):
            variants.append({**value, name: [NUL]})
        elif "array" in kinds and "object" in json_types(spec.get("items", {}), components):
            item = example(spec["items"], components)
            variants += [{**value, name: [v]} for v in with_nul(item, spec["items"], components)]
        elif "object" in kinds and isinstance(value.get(name), dict):
            inner = (
                spec
                if "$ref" in spec
                else next((o for o in spec.get("anyOf", []) if "$ref" in o), spec)
            )
            variants += [{**value, name: v} for v in with_nul(value[name], inner, components)]
    return variants


def json_types(spec: dict[str, Any], components: dict[str, Any]) -> set[str]:
    if "$ref" in spec:
        target = components[spec["$ref"].rsplit("/", 1)[1]]
        return {"string"} if "enum" in target else json_types(target, components) | {"object"}
    found = {spec["type"]} if isinstance(spec.get("type"), str) else set()
    for option in spec.get("anyOf", []) + spec.get("oneOf", []):
        found |= json_types(option, components)
    return found


def test_a_nul_character_anywhere_is_a_4xx_not_a_database_fault(api: Api) -> None:
    """PostgreSQL refuses NUL in text (a 503 if it reaches the database): every string path or
    query parameter and every top-level string field of a body, one at a time, on both
    backends, by an administrator (who passes every role check)."""
    api.staff("nul-admin", "administrator")
    client = api.client
    document = api.app.openapi()
    components = document.get("components", {}).get("schemas", {})
    token = api.services.auth.login("nul-admin", PASSWORD, "nul-sweep").token
    failures = []
    for op in OPERATIONS:
        if op.key in STAFF_ONLY_STREAM:
            continue
        spec = document["paths"][op.path][op.method.lower()]
        query = {
            p["name"]: example(p["schema"], components)
            for p in spec.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        content = spec.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        body = example(schema, components) if schema else None
        if op.key in BODY_RULES:
            body = {**(body or {}), **BODY_RULES[op.key]}
        trials: list[tuple[str, dict[str, Any], Any]] = []
        for p in spec.get("parameters", []):
            kinds = json_types(p["schema"], components)
            if p["in"] == "query" and "array" in kinds:  # ?sensor=a&sensor=b
                trials.append((fill(op.path, {}), {**query, p["name"]: [NUL]}, body))
            if "string" not in kinds:
                continue
            if p["in"] == "path":
                path = op.path.replace("{" + p["name"] + "}", "a%00b")
                trials.append((fill(path, {}), query, body))
            elif p["in"] == "query":
                trials.append((fill(op.path, {}), {**query, p["name"]: NUL}, body))
        trials += [(fill(op.path, {}), query, b) for b in NUL_BODIES.get(op.key, [])]
        if schema:
            trials += [(fill(op.path, {}), query, v) for v in with_nul(body, schema, components)]
        for url, params, json_body in trials:
            answer = client.request(
                op.method,
                url,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {token}"},
            )
            if answer.status_code >= 500:
                failures.append(
                    f"{op} params={params} body={json_body}: {answer.status_code} "
                    f"{answer.text[:200]}"
                )
    assert not failures, "NUL characters reaching the database:\n" + "\n".join(failures)


def test_unknown_routes_and_methods_are_problem_details(world: World) -> None:
    client = world.api.client
    missing = client.get("/api/v1/no-such-route", headers=world.alice)
    assert missing.status_code == 404
    assert_problem(missing, "GET /api/v1/no-such-route")
    wrong = client.delete("/api/v1/auth/me", headers=world.alice)
    assert wrong.status_code == 405
    assert_problem(wrong, "DELETE /api/v1/auth/me")


@pytest.mark.parametrize(
    "url", ["/static/../pyproject.toml", "/static/%2e%2e/app.py", "/static/", "/ops/x"]
)
def test_pages_serve_no_files_outside_their_folder(world: World, url: str) -> None:
    answer = world.api.client.get(url)
    assert answer.status_code == 404, (url, answer.text[:200])
    assert_problem(answer, url)
