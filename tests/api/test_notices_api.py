"""The notice API on SQLite and PostgreSQL: a dispatcher issues a notice to the customers of
the nodes named; the lead-time rules answer 422 naming the rule; a customer sees the notices
for their address only; the outbox holds one message per contact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from waterops.store.notices_store import Contact, NoticesStore

from .conftest import T0, Api

URL = "/api/v1/notices"


def body(lead_h: float = 30, hours: float = 4, **extra: Any) -> dict[str, Any]:
    start = T0 + timedelta(hours=lead_h)
    return {"kind": "planned", "area": "Jinhua Road", "reason": "main replacement",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
            "nodes": ["PR03-HIGHZONE"], **extra}


def test_issue_read_and_rules(api: Api) -> None:
    dispatcher = api.staff("disp.zhou", "dispatcher")
    agent = api.staff("agent.he", "service_agent")
    alice, bob = api.customer("alice"), api.customer("bob")
    alice_id = api.services.accounts.credentials("alice")[0].id  # type: ignore[index]
    NoticesStore(api.services.accounts.engine).upsert_contacts([
        Contact("H002873", "PR03-HIGHZONE", alice_id, "alice@example.org", "13900000001")])

    too_late = api.client.post(URL, headers=dispatcher, json=body(lead_h=30, hours=13))
    assert too_late.status_code == 422
    assert "over 12 h: notice at least 48 h ahead" in too_late.json()["detail"]
    assert api.client.post(URL, headers=agent, json=body()).status_code == 403
    naive = body()
    naive["starts_at"] = naive["starts_at"][:19]
    assert api.client.post(URL, headers=dispatcher, json=naive).status_code == 422

    issued = api.client.post(URL, headers=dispatcher, json=body())
    assert issued.status_code == 201, issued.text
    notice = issued.json()
    assert notice["target_count"] == 1 and "停水" in notice["body_zh"]
    messages = api.client.get(f"{URL}/{notice['id']}/messages", headers=dispatcher).json()
    assert sorted(m["channel"] for m in messages["items"]) == ["email", "sms"]
    assert all(m["sent_at"] is None for m in messages["items"])
    assert api.client.get(f"{URL}/{notice['id']}/messages", headers=alice).status_code == 403

    assert [n["id"] for n in api.client.get(URL, headers=alice).json()["items"]] == [
        notice["id"]]
    assert api.client.get(f"{URL}/{notice['id']}", headers=alice).status_code == 200
    assert api.client.get(URL, headers=bob).json()["total"] == 0
    assert api.client.get(f"{URL}/{notice['id']}", headers=bob).status_code == 404
    assert api.client.get(URL, headers=agent).json()["total"] == 1


def test_unplanned_outage_in_a_dma(api: Api) -> None:
    dispatcher = api.staff("disp.zhou", "dispatcher")
    start = T0 - timedelta(minutes=10)
    answer = api.client.post(URL, headers=dispatcher, json={
        "kind": "unplanned", "area": "DMA 4", "reason": "burst main",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
        "dmas": ["DMA-04"]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["node_count"] > 50
    ahead = api.client.post(URL, headers=dispatcher, json={
        **body(), "kind": "unplanned"})
    assert ahead.status_code == 422 and "as the repair starts" in ahead.json()["detail"]


def test_agent_links_an_account_and_the_customer_gets_the_notice(api: Api) -> None:
    dispatcher = api.staff("disp.zhou", "dispatcher")
    agent = api.staff("agent.he", "service_agent")
    carol = api.customer("carol")
    carol_id = api.services.accounts.credentials("carol")[0].id  # type: ignore[index]
    contact = {"account_id": "H002869", "customer_id": carol_id, "phone": "13900000007"}
    assert api.client.post(f"{URL}/contacts", headers=carol, json=contact).status_code == 403
    linked = api.client.post(f"{URL}/contacts", headers=agent, json=contact)
    assert linked.status_code == 201, linked.text
    assert linked.json()["node_id"] == "PR01-HIGHZONE"
    assert api.client.post(f"{URL}/contacts", headers=agent,
                           json={**contact, "account_id": "H999999"}).status_code == 404
    assert api.client.post(f"{URL}/contacts", headers=agent,
                           json={**contact, "customer_id": 999_999}).status_code == 404
    mine = api.client.get(f"{URL}/contacts/mine", headers=carol).json()
    assert [c["account_id"] for c in mine] == ["H002869"]
    issued = api.client.post(URL, headers=dispatcher, json=body(nodes=["PR01-HIGHZONE"]))
    assert issued.status_code == 201
    seen = api.client.get(URL, headers=carol).json()["items"]
    assert [n["id"] for n in seen] == [issued.json()["id"]]
