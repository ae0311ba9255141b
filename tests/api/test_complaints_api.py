"""The complaint API end to end on SQLite and PostgreSQL: a customer reports low pressure at a
pump room whose booster tripped and gets the diagnosis and a callback due in 2 minutes; an
agent takes a phone complaint, logs the callback and closes; the customer rates the service;
customers are kept apart; a refused move is a 409 problem; schema fuzzing gives no 5xx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from complaints_world import write_booster_trip
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.telemetry_store import TelemetryStore

from .conftest import PASSWORD, T0, Api

URL = "/api/v1/complaints"


def file(api: Api, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = api.client.post(URL, headers=headers,
                             json={"category": "low_pressure", **body})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_booster_trip_diagnosed_callback_logged_closed_and_rated(api: Api) -> None:
    layout = build_demo_utility()
    telemetry = TelemetryStore(api.services.accounts.engine)
    telemetry.upsert_systems(layout.systems)
    telemetry.upsert_sites(layout.sites)
    telemetry.upsert_sensors(layout.sensors)
    write_booster_trip(telemetry, layout, "PR04", T0 - timedelta(minutes=12), T0)
    customer = api.customer("zhang.san")
    agent = api.staff("agent.li", "service_agent")

    c = file(api, customer, node_id="PR04-HIGHZONE", description="no pressure, floor 25")
    # 00:48 UTC is 08:48 in Beijing
    assert c["diagnosis"].startswith("Booster of pump room 4 stopped at 08:48")
    assert c["diagnosis_zh"].startswith("4号泵房增压泵08:48停机")
    assert c["state"] == "replied" and c["pump_room_id"] == "PR04"
    assert c["callback_due_at"].startswith("2026-09-28T01:02:00")
    assert c["allowed_actions"] == ["log_callback", "escalate", "merge"]
    assert "call you back by 09:02" in api.notifier.sent[-1].body

    due = api.client.get(f"{URL}/callbacks", headers=agent).json()["items"]
    assert due == [{"complaint_id": c["id"], "due_at": c["callback_due_at"], "overdue": False}]
    assert api.client.get(f"{URL}/callbacks", headers=customer).status_code == 403
    api.clock.advance(seconds=70)
    done = api.client.post(f"{URL}/{c['id']}/actions", headers=agent,
                           json={"action": "log_callback", "note": "crew on the way"})
    assert done.status_code == 200, done.text
    assert done.json()["time_to_callback_s"] == 70.0
    refused = api.client.post(f"{URL}/{c['id']}/survey", headers=customer, json={"score": 5})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    closed = api.client.post(f"{URL}/{c['id']}/actions", headers=agent, json={"action": "close"})
    assert closed.json()["state"] == "closed"
    again = api.client.post(f"{URL}/{c['id']}/actions", headers=agent, json={"action": "close"})
    assert again.status_code == 409
    assert "cannot close it; it allows reopen" in again.json()["detail"]
    rated = api.client.post(f"{URL}/{c['id']}/survey", headers=customer,
                            json={"score": 5, "comment": "fast"})
    assert rated.json()["satisfaction_score"] == 5
    history = api.client.get(f"{URL}/{c['id']}/history", headers=customer).json()
    assert [e["action"] for e in history["items"]] == [
        "submit", "diagnose", "reply", "log_callback", "close"]


def test_phone_complaint_by_agent_and_customers_kept_apart(api: Api) -> None:
    alice = api.customer("alice")
    bob = api.customer("bob")
    agent = api.staff("agent.wu", "service_agent")
    alice_id = api.services.accounts.credentials("alice")[0].id  # type: ignore[index]
    phoned = file(api, agent, channel="phone", category="no_water", node_id="JUNCTION-534",
                  customer_id=alice_id, contact_phone="+86 139 0000 0000")
    assert phoned["customer_id"] == alice_id and phoned["channel"] == "phone"
    mine = api.client.get(URL, headers=alice).json()
    assert [c["id"] for c in mine["items"]] == [phoned["id"]]
    assert api.client.get(URL, headers=bob).json()["total"] == 0
    for path in (f"{URL}/{phoned['id']}", f"{URL}/{phoned['id']}/history"):
        assert api.client.get(path, headers=bob).status_code == 404
    moved = api.client.post(f"{URL}/{phoned['id']}/actions", headers=bob,
                            json={"action": "reopen"})
    assert moved.status_code == 404
    # a customer cannot pose as an agent on the phone, nor file for someone else
    assert api.client.post(URL, headers=bob, json={"category": "leak", "channel": "phone"}
                           ).status_code == 422
    assert api.client.post(URL, headers=bob, json={"category": "leak",
                                                  "customer_id": alice_id}).status_code == 403
    assert api.client.get(f"{URL}/{phoned['id']}/group", headers=alice).status_code == 403
    group = api.client.get(f"{URL}/{phoned['id']}/group", headers=agent).json()
    assert group == {"lead_id": phoned["id"], "complaint_ids": [phoned["id"]]}
    assert api.client.get(URL).status_code == 401


def test_repeated_complaints_join_one_group_over_the_api(api: Api) -> None:
    a, b = api.customer("resident.a"), api.customer("resident.b")
    first = file(api, a, node_id="JUNCTION-1")
    second = file(api, b, node_id="JUNCTION-1")
    assert second["state"] == "merged" and second["group_lead_id"] == first["id"]


def test_fuzzing_the_complaint_routes_gives_no_server_error(api: Api) -> None:
    file(api, api.customer("fuzz.customer"), node_id="JUNCTION-1")
    api.staff("fuzz.agent", "service_agent")
    api.staff("fuzz.dispatcher", "dispatcher")

    def bearer(username: str) -> dict[str, str]:
        token = api.services.auth.login(username, PASSWORD, "fuzz-setup").token
        return {"Authorization": f"Bearer {token}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [o for o in operations
            if o.path.startswith(("/api/v1/complaints", "/api/v1/notices"))]
    assert len(mine) == 14
    tokens = [bearer("fuzz.customer"), bearer("fuzz.agent"), bearer("fuzz.dispatcher")]
    for operation in mine:
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=8, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                for token in tokens:
                    response = case.call(headers={**token, **dict(case.headers or {})})
                    where = f"{case.method} {case.formatted_path}"
                    assert response.status_code < 500, (where, response.text)
                    if response.status_code >= 400:
                        assert response.headers["content-type"] == [
                            "application/problem+json"], (where, response.headers)

            call()
