"""``/work-orders`` and ``/trunk-main`` over HTTP, on SQLite and PostgreSQL: roles (a crew sees
and moves only its own orders, customers are refused), paging and filters, problem details
for refused moves, the SLA clock in the answer, the trunk main's tile and failures."""

from __future__ import annotations

from datetime import timedelta

from .conftest import T0, Api

PROBLEM = "application/problem+json"
BURST = {"kind": "pipe_burst", "title": "Burst on DN80 main, Jiefang Rd",
         "priority": "emergency", "node_id": "JUNCTION-75", "diameter_mm": 80}


def _id(api: Api, username: str) -> int:
    found = api.services.accounts.credentials(username)
    assert found is not None
    return found[0].id


def test_work_orders_over_http(api: Api) -> None:
    c = api.client
    disp = api.staff("disp1", "dispatcher")
    crew_a = api.staff("crew-a", "field_crew")
    crew_b = api.staff("crew-b", "field_crew")
    cust = api.customer("cust1")
    r = c.post("/api/v1/work-orders", headers=disp, json=BURST)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "created" and order["allowed_actions"] == ["assign", "cancel"]
    assert order["sla"]["on_site_remaining_s"] == 45 * 60
    oid = order["id"]
    other = c.post("/api/v1/work-orders", headers=disp, json=BURST).json()["id"]
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=disp,
               json={"action": "assign", "assignee_id": _id(api, "crew-a"), "crew": "Crew 3"})
    assert r.status_code == 200 and r.json()["crew"] == "Crew 3"
    c.post(f"/api/v1/work-orders/{other}/actions", headers=disp,
           json={"action": "assign", "assignee_id": _id(api, "crew-b")})
    # the crew's list holds its own order only; another crew's order is not found
    page = c.get("/api/v1/work-orders", headers=crew_a).json()
    assert page["total"] == 1 and [o["id"] for o in page["items"]] == [oid]
    assert c.get(f"/api/v1/work-orders/{other}", headers=crew_a).status_code == 404
    r = c.post(f"/api/v1/work-orders/{other}/actions", headers=crew_a, json={"action": "depart"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    # customers and crews do not dispatch
    assert c.get("/api/v1/work-orders", headers=cust).status_code == 403
    assert c.post("/api/v1/work-orders", headers=cust, json=BURST).status_code == 403
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=crew_b,
               json={"action": "cancel", "note": "x"})
    assert r.status_code == 403
    # a refused move is a 409 naming the state and what it allows
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=crew_a, json={"action": "repair",
                                                                          "cause": "pipe_burst"})
    assert r.status_code == 409 and "is assigned: cannot repair" in r.json()["detail"]
    api.clock.now = T0 + timedelta(minutes=50)  # 5 minutes late
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=crew_a, json={"action": "arrive"})
    assert r.status_code == 200 and r.json()["sla"]["on_site_breached"] is True
    breached = c.get("/api/v1/work-orders?breached=true", headers=disp).json()
    assert {o["id"] for o in breached["items"]} == {oid, other}
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=crew_a, json={
        "action": "repair", "cause": "pipe_burst",
        "materials": [{"name": "DN80 repair clamp", "quantity": 1, "unit": "pcs"}]})
    assert r.status_code == 200 and r.json()["state"] == "repaired"
    r = c.post(f"/api/v1/work-orders/{oid}/actions", headers=disp, json={"action": "close"})
    assert r.status_code == 200 and r.json()["cause"] == "pipe_burst"
    assert r.json()["materials"] == [{"name": "DN80 repair clamp", "quantity": 1.0,
                                      "unit": "pcs"}]
    hist = c.get(f"/api/v1/work-orders/{oid}/history", headers=disp).json()
    assert [e["action"] for e in hist["items"]] == ["create", "assign", "arrive", "repair",
                                                    "close"]
    closed = c.get("/api/v1/work-orders?state=closed&limit=1", headers=disp).json()
    assert closed["total"] == 1 and closed["limit"] == 1
    # invalid input names the field
    r = c.post("/api/v1/work-orders", headers=disp, json={**BURST, "diameter_mm": -5})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    # control characters (a NUL that PostgreSQL text refuses) are invalid input, not a 503
    r = c.post(f"/api/v1/work-orders/{other}/actions", headers=disp,
               json={"action": "assign", "assignee_id": _id(api, "crew-b"), "crew": "a\x00b"})
    assert r.status_code == 422
    r = c.post(f"/api/v1/work-orders/{other}/actions", headers=disp, json={
        "action": "close", "cause": "leak",
        "materials": [{"name": "clamp\x00", "quantity": 1, "unit": "pcs"}]})
    assert r.status_code == 422
    r = c.post("/api/v1/work-orders/from-record", headers=disp, json={"alarm_id": 999})
    assert r.status_code == 404
    r = c.post("/api/v1/work-orders/from-record", headers=disp, json={"incident_id": 999})
    assert r.status_code == 404
    r = c.post("/api/v1/work-orders/from-record", headers=disp,
               json={"alarm_id": 1, "incident_id": 1})
    assert r.status_code == 422 and "exactly one" in r.json()["detail"]
    audit = c.get("/api/v1/users/audit-log?limit=200", headers=api.login("root-admin")).json()
    actions = {a["action"] for a in audit["items"]}
    assert {"work_order_create", "work_order_assign", "work_order_arrive",
            "work_order_repair", "work_order_close"} <= actions


def test_trunk_main_over_http(api: Api) -> None:
    c = api.client
    disp = api.staff("disp1", "dispatcher")
    crew = api.staff("crew-a", "field_crew")
    cust = api.customer("cust1")
    tile = c.get("/api/v1/trunk-main", headers=crew)
    assert tile.status_code == 200, tile.text
    body = tile.json()
    # commissioned 2026-01-01 local; now 2026-09-28 09:00 local: 270 days
    assert body["main_id"] == "SRC-SHUIKU" and body["safe_operation_days"] == 270
    assert body["last_failure"] is None and body["volume_today_m3"] == 0
    assert {m["sensor_id"] for m in body["meters"]} >= {"Q-TM-001", "Q-TM-053", "P-TMJ-010"}
    assert c.get("/api/v1/trunk-main", headers=cust).status_code == 403
    failure = {"occurred_at": "2026-09-27T23:30:00+08:00", "description": "burst at km 50",
               "link_id": "TM-025"}
    assert c.post("/api/v1/trunk-main/failures", headers=crew, json=failure).status_code == 403
    r = c.post("/api/v1/trunk-main/failures", headers=disp, json=failure)
    assert r.status_code == 201, r.text
    assert c.get("/api/v1/trunk-main", headers=crew).json()["safe_operation_days"] == 1
    r = c.post("/api/v1/trunk-main/failures", headers=disp,
               json={**failure, "occurred_at": "2026-10-30T00:00:00+08:00"})
    assert r.status_code == 422 and "in the future" in r.json()["detail"]
    r = c.post("/api/v1/trunk-main/failures", headers=disp,
               json={**failure, "occurred_at": "2026-09-27T23:30:00"})
    assert r.status_code == 422  # a time without a zone
    listed = c.get("/api/v1/trunk-main/failures", headers=disp).json()
    assert listed["total"] == 1 and listed["items"][0]["recorded_by"] == "disp1"
