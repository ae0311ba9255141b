"""The connection-application API end to end, on SQLite and PostgreSQL: a customer applies
(2 steps, 1 document), follows the timeline and gets water on; staff advance the stages;
customers are kept apart; errors are problem-details bodies."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .conftest import PDF, Api

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def upload(
    api: Api, headers: dict[str, str], content: bytes = PDF, name: str = "id-card.pdf"
) -> Any:
    return api.client.post(
        "/api/v1/documents", headers=headers, files={"file": (name, content, "application/pdf")}
    )


def apply(api: Api, headers: dict[str, str], **form: Any) -> dict[str, Any]:
    doc = upload(api, headers)
    assert doc.status_code == 201, doc.text
    body = {
        "address": "12 Riverside Road, flat 301",
        "contact_phone": "+86 138 0000 0000",
        "document_id": doc.json()["id"],
        **form,
    }
    answer = api.client.post("/api/v1/connections", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def act(api: Api, headers: dict[str, str], app_id: int, action: str) -> Any:
    return api.client.post(
        f"/api/v1/connections/{app_id}/actions",
        headers=headers,
        json={"action": action, "note": f"{action} done"},
    )


def assert_problem(answer: Any, status: int, detail_part: str = "") -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status and detail_part in body["detail"]
    return body


def test_customer_applies_follows_and_gets_water_on(api: Api) -> None:
    alice = api.customer("alice")
    agent = api.staff("agent1", "service_agent")
    crew = api.staff("crew1", "field_crew")
    app = apply(api, alice, external_works=True)
    assert app["state"] == "application" and app["template"] == "standard"
    app_id = app["id"]

    for headers, action, state in [
        (agent, "accept", "acceptance_survey"),
        (crew, "survey_done", "design_quote"),
        (alice, "accept_quote", "construction"),  # applicant step 2
        (crew, "construction_done", "meter_installation"),
        (crew, "turn_water_on", "water_on"),
    ]:
        api.clock.advance(hours=2)
        answer = act(api, headers, app_id, action)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == state

    timeline = api.client.get(f"/api/v1/connections/{app_id}/timeline", headers=alice).json()
    assert timeline["total"] == 6
    assert [e["state_after"] for e in timeline["items"]] == [
        "application",
        "acceptance_survey",
        "design_quote",
        "construction",
        "meter_installation",
        "water_on",
    ]
    assert timeline["items"][-1]["title"] == "water on"
    mine = api.client.get(f"/api/v1/connections/{app_id}", headers=alice).json()
    assert mine["water_on_at"] is not None and mine["state_title"] == "water on"
    assert len(api.notifier.sent) == 6
    sla = api.client.get(f"/api/v1/connections/{app_id}/sla", headers=alice).json()
    assert sla["end_to_end"]["state"] == "met" and not sla["breached"]
    assert [c["stage"] for c in sla["stages"]] == [
        "application",
        "acceptance_survey",
        "design_quote",
        "construction",
        "meter_installation",
    ]
    # staff actions are audited: agent1 accepted; the crew did the rest
    audit = api.services.accounts.audit_lines(target_kind="connection", target_id=app_id)
    assert [a["actor"] for a in audit] == ["agent1", "crew1", "crew1", "crew1"]


def test_customer_a_cannot_read_or_change_bs_application(api: Api) -> None:
    alice, bob = api.customer("alice"), api.customer("bob")
    app = apply(api, alice)
    app_id, doc_id = app["id"], app["document_id"]
    base = f"/api/v1/connections/{app_id}"
    for path in (
        base,
        f"{base}/timeline",
        f"{base}/sla",
        f"/api/v1/documents/{doc_id}",
        f"/api/v1/documents/{doc_id}/content",
    ):
        assert_problem(api.client.get(path, headers=bob), 404)
    assert_problem(act(api, bob, app_id, "withdraw"), 404)
    assert api.client.get("/api/v1/connections", headers=bob).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    body = {"address": "x", "contact_phone": "+86 138 1", "document_id": doc_id}
    assert_problem(api.client.post("/api/v1/connections", headers=bob, json=body), 404)
    # staff-only routes are forbidden to customers
    assert_problem(act(api, alice, app_id, "accept"), 409, "cannot accept")
    assert_problem(api.client.get("/api/v1/connections/sla-report", headers=bob), 403)
    assert_problem(api.client.get("/api/v1/users", headers=bob), 403)
    still = api.client.get(base, headers=alice).json()
    assert still["state"] == "application"
    assert api.client.get(f"/api/v1/documents/{doc_id}/content", headers=alice).content == PDF


def test_invalid_transition_is_a_409_problem(api: Api) -> None:
    alice = api.customer("alice")
    agent = api.staff("agent1", "service_agent")
    app_id = apply(api, alice)["id"]
    body = assert_problem(
        act(api, agent, app_id, "turn_water_on"),
        409,
        f"connection application {app_id} is application",
    )
    assert body["instance"] == f"/api/v1/connections/{app_id}/actions"
    assert_problem(act(api, agent, app_id, "fly"), 422)


def test_repeated_failed_logins_get_429_with_retry_after(api: Api) -> None:
    api.customer("alice")
    wrong = {"username": "alice", "password": "not-the-password"}
    codes = [api.client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = api.client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "correct horse battery"}
    )
    assert_problem(refused, 429, "too many failed logins")
    assert int(refused.headers["retry-after"]) >= 1
    api.clock.advance(seconds=int(refused.headers["retry-after"]))
    assert (
        api.client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "correct horse battery"}
        ).status_code
        == 200
    )


def test_uploads_oversized_or_disallowed_are_refused(api: Api) -> None:
    alice = api.customer("alice")
    assert_problem(upload(api, alice, EXE, "setup.pdf"), 415, "not a PDF, JPEG or PNG")
    too_big = PDF[:-6] + b" " * (api.services.documents.max_bytes + 1) + b"%%EOF\n"
    assert_problem(upload(api, alice, too_big), 413, "larger than the limit")
    huge = PDF[:-6] + b" " * (api.services.documents.max_bytes + 200_000) + b"%%EOF\n"
    assert_problem(upload(api, alice, huge), 413)  # refused from its Content-Length
    assert not any(api.services.documents.directory.glob("*"))
    ok = upload(api, alice)
    assert ok.status_code == 201 and ok.json()["media_type"] == "application/pdf"
    served = api.client.get(f"/api/v1/documents/{ok.json()['id']}/content", headers=alice)
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["x-content-type-options"] == "nosniff"


def test_authentication_is_required_and_tokens_end_at_logout(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/connections"), 401, "no bearer token")
    assert_problem(
        api.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"}), 401
    )
    alice = api.customer("alice")
    assert api.client.get("/api/v1/auth/me", headers=alice).json()["username"] == "alice"
    assert api.client.post("/api/v1/auth/logout", headers=alice).status_code == 204
    assert_problem(api.client.get("/api/v1/auth/me", headers=alice), 401)


def test_accounts_through_the_api(api: Api) -> None:
    alice = api.customer("alice")
    taken = api.client.post(
        "/api/v1/users/register", json={"username": "alice", "password": "another password"}
    )
    assert_problem(taken, 422, "taken")
    sneaky = api.client.post(
        "/api/v1/users/register",
        json={"username": "mallory", "password": "another password", "role": "administrator"},
    )
    assert_problem(sneaky, 422)
    assert_problem(
        api.client.post(
            "/api/v1/users",
            headers=alice,
            json={"username": "mallory", "password": "another password", "role": "administrator"},
        ),
        403,
    )
    agent = api.staff("agent1", "service_agent")
    page = api.client.get("/api/v1/users?limit=2&offset=1", headers=agent).json()
    assert page["total"] == 3 and [u["username"] for u in page["items"]] == ["root-admin", "agent1"]
    me = api.client.get("/api/v1/auth/me", headers=alice).json()
    assert api.client.get(f"/api/v1/users/{me['id']}", headers=alice).status_code == 200
    assert_problem(api.client.get(f"/api/v1/users/{me['id'] + 1}", headers=alice), 404)


def test_sla_report_lists_late_applications_for_staff(api: Api) -> None:
    alice = api.customer("alice")
    agent = api.staff("agent1", "service_agent")
    app_id = apply(api, alice)["id"]
    assert api.client.get("/api/v1/connections/sla-report", headers=agent).json()["total"] == 0
    api.clock.advance(hours=26)  # Tuesday 11:00 local: one working day to accept has passed
    agent = api.login("agent1")  # the morning's token has expired
    report = api.client.get("/api/v1/connections/sla-report", headers=agent).json()
    assert report["total"] == 1 and report["items"][0]["application_id"] == app_id
    assert report["items"][0]["stages"][0]["status"]["state"] == "breached"


def test_audit_log_and_state_filter(api: Api) -> None:
    alice = api.customer("alice")
    agent = api.staff("agent1", "service_agent")
    first, second = apply(api, alice)["id"], apply(api, alice)["id"]
    assert act(api, agent, second, "accept").status_code == 200
    waiting = api.client.get("/api/v1/connections?state=application", headers=agent).json()
    assert [a["id"] for a in waiting["items"]] == [first] and waiting["total"] == 1
    mine = api.client.get("/api/v1/connections?state=acceptance_survey", headers=alice).json()
    assert [a["id"] for a in mine["items"]] == [second]
    assert_problem(api.client.get("/api/v1/users/audit-log", headers=agent), 403)
    admin = api.login("root-admin")
    trail = api.client.get("/api/v1/users/audit-log?actor=agent1", headers=admin).json()
    assert [(a["action"], a["target_kind"]) for a in trail["items"]] == [
        ("login", "user"),
        ("connection_accept", "connection"),
    ]
    assert trail["items"][1]["before"] == {"state": "application"}
    everything = api.client.get("/api/v1/users/audit-log?limit=1&offset=1", headers=admin).json()
    assert everything["total"] >= 4 and len(everything["items"]) == 1


def test_an_unexpected_error_is_a_500_problem_without_internals(api: Api) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    api.app.add_api_route("/api/v1/broken-for-test", broken)
    # no lifespan (no ``with``): the fixture's client owns the app's start and end
    client = TestClient(api.app, raise_server_exceptions=False)
    answer = client.get("/api/v1/broken-for-test")
    body = assert_problem(answer, 500, "internal error")
    assert "secret" not in answer.text and body["title"] == "Internal Server Error"


def test_control_characters_in_text_are_422_not_a_database_fault(api: Api) -> None:
    # PostgreSQL cannot store NUL in text: without the check this would be a 503
    answer = api.client.post(
        "/api/v1/users/register",
        json={"username": "alice", "password": "correct horse battery", "display_name": "A\x00"},
    )
    assert_problem(answer, 422)
    alice = api.customer("alice")
    doc_id = upload(api, alice).json()["id"]
    for field, value in [("address", "Road\x00 1"), ("park_id", "p\x07")]:
        body = {"address": "1 Road", "contact_phone": "+86 138 1", "document_id": doc_id}
        answer = api.client.post("/api/v1/connections", headers=alice, json={**body, field: value})
        assert_problem(answer, 422)


def test_administrator_deactivates_and_changes_accounts(api: Api) -> None:
    alice = api.customer("alice")
    agent = api.staff("agent1", "service_agent")
    admin = api.login("root-admin")
    ids = {
        u["username"]: u["id"]
        for u in api.client.get("/api/v1/users", headers=admin).json()["items"]
    }
    patch = api.client.patch
    assert_problem(patch(f"/api/v1/users/{ids['agent1']}", headers=alice, json={}), 403)
    promoted = patch(f"/api/v1/users/{ids['agent1']}", headers=admin, json={"role": "planner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "planner"
    across = patch(f"/api/v1/users/{ids['alice']}", headers=admin, json={"role": "dispatcher"})
    assert_problem(across, 422, "other family")
    myself = patch(f"/api/v1/users/{ids['root-admin']}", headers=admin, json={"active": False})
    assert_problem(myself, 422, "own account")
    gone = patch(f"/api/v1/users/{ids['agent1']}", headers=admin, json={"active": False})
    assert gone.status_code == 200 and gone.json()["active"] is False
    # the deactivated account's token and password no longer work
    assert_problem(api.client.get("/api/v1/auth/me", headers=agent), 401)
    login = {"username": "agent1", "password": "correct horse battery"}
    assert_problem(api.client.post("/api/v1/auth/login", json=login), 401)
    trail = api.services.accounts.audit_lines(target_kind="user", target_id=ids["agent1"])
    updates = [(a["before"], a["after"]) for a in trail if a["action"] == "update_user"]
    assert updates == [
        ({"role": "service_agent"}, {"role": "planner"}),
        ({"active": True}, {"active": False}),
    ]
