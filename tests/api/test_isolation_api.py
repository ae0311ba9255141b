"""``/isolation`` and ``/scenarios/close`` over the demo utility, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import Api

PLAN = "/api/v1/isolation/plan"
CLOSE = "/api/v1/scenarios/close"


def test_plan_for_a_burst_with_an_unintended_isolation(api: Api) -> None:
    dispatcher = api.staff("disp1", "dispatcher")
    answer = api.client.post(PLAN, headers=dispatcher, json={"pipe_id": "LINK-2429"})
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["target_id"] == "LINK-2429" and "LINK-2429" in plan["segment_links"]
    assert len(plan["valves_to_close"]) >= 1
    assert len(plan["unintended_nodes"]) >= 30  # a branch fed only through this segment
    assert plan["customer_count"] == sum(plan["customers_by_kind"].values()) > 0
    assert plan["supply_lost_m3d"] == pytest.approx(plan["supply_lost_ls"] * 86.4)
    assert plan["hydraulics"] is None and plan["failed_valves"] == []
    # the first valve seizes: the plan reaches past it and shuts more
    seized = plan["valves_to_close"][0]["valve_id"]
    wider = api.client.post(PLAN, headers=dispatcher,
                            json={"pipe_id": "LINK-2429", "failed_valves": [seized]}).json()
    assert wider["failed_valves"] == [seized]
    assert seized not in {v["valve_id"] for v in wider["valves_to_close"]}
    assert len(wider["segment_links"]) > len(plan["segment_links"])
    assert api.client.post(PLAN, headers=dispatcher, json={
        "pipe_id": "LINK-2429", "failed_valves": ["V-NONE"]}).status_code == 422
    # a planner may look too
    planner = api.staff("plan1", "planner")
    assert api.client.post(PLAN, headers=planner, json={"node_id": "JUNCTION-75"}
                           ).status_code == 200


def test_plan_with_hydraulics_and_the_close_scenario(api: Api) -> None:
    dispatcher = api.staff("disp2", "dispatcher")
    answer = api.client.post(PLAN, headers=dispatcher,
                             json={"pipe_id": "LINK-79", "with_hydraulics": True})
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["segment_nodes"] == ["JUNCTION-75"]
    assert plan["hydraulics"]["unsupplied_m3d"] == pytest.approx(plan["supply_lost_m3d"],
                                                                 rel=0.05)
    assert "JUNCTION-75" in plan["hydraulics"]["newly_low_nodes"]
    closed = api.client.post(CLOSE, headers=dispatcher, json={"link_ids": ["LINK-79"]})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["cut_off_nodes"] == ["JUNCTION-75"]
    assert body["customer_count"] == plan["customer_count"]
    assert body["hydraulics"]["pressure_drop_m"]["JUNCTION-75"] > 5.0
    assert body["hydraulics"]["lowest_pressures"][0]["node_id"] == "JUNCTION-75"


def test_roles_and_bad_requests(api: Api) -> None:
    customer = api.customer("cust1")
    agent = api.staff("agent1", "service_agent")
    for headers, status in ((customer, 403), (agent, 403), ({}, 401)):
        assert api.client.post(PLAN, headers=headers, json={"pipe_id": "LINK-79"}
                               ).status_code == status
        assert api.client.post(CLOSE, headers=headers, json={"link_ids": ["LINK-79"]}
                               ).status_code == status
    dispatcher = api.staff("disp3", "dispatcher")
    unknown = api.client.post(PLAN, headers=dispatcher, json={"pipe_id": "NO-SUCH-PIPE"})
    assert unknown.status_code == 422 and "NO-SUCH-PIPE" in unknown.json()["detail"]
    both = api.client.post(PLAN, headers=dispatcher,
                           json={"pipe_id": "LINK-79", "node_id": "JUNCTION-75"})
    assert both.status_code == 422
    bad_link = api.client.post(CLOSE, headers=dispatcher, json={"link_ids": ["NOPE"]})
    assert bad_link.status_code == 422 and "NOPE" in bad_link.json()["detail"]
    assert api.client.post(CLOSE, headers=dispatcher, json={"link_ids": []}).status_code == 422


def test_notice_draft_and_issue(api: Api) -> None:
    dispatcher = api.staff("disp4", "dispatcher")
    url = f"{PLAN}/LINK-2429/notice"
    draft = api.client.post(url, headers=dispatcher, json={})
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["kind"] == "unplanned" and body["problems"] == []
    assert body["notice_id"] is None and len(body["nodes"]) >= 30
    assert "LINK-2429" in body["reason"] and body["customer_count"] > 0
    lines = api.services.accounts.audit_lines(actor="disp4", target_kind="segment")
    assert [line["action"] for line in lines] == ["draft_outage_notice"]
    # a planned stop two hours ahead breaks the 24 h rule: the draft says which
    soon = (api.clock() + timedelta(hours=2)).isoformat()
    late = api.client.post(url, headers=dispatcher, json={"kind": "planned", "starts_at": soon})
    assert late.status_code == 200 and "24 h" in late.json()["problems"][0]
    # without times, a planned draft starts as early as the rules allow
    planned = api.client.post(url, headers=dispatcher, json={"kind": "planned"}).json()
    assert planned["problems"] == []
    # issued: stored as a notice of the notice service
    issued = api.client.post(url, headers=dispatcher, json={"issue": True})
    assert issued.status_code == 200, issued.text
    notice_id = issued.json()["notice_id"]
    notice = api.client.get(f"/api/v1/notices/{notice_id}", headers=dispatcher).json()
    assert notice["node_count"] == len(body["nodes"]) and notice["target_count"] > 0
    # a planner drafts but may not issue
    planner = api.staff("plan2", "planner")
    assert api.client.post(url, headers=planner, json={}).status_code == 200
    assert api.client.post(url, headers=planner, json={"issue": True}).status_code == 403


def test_plan_on_the_map(api: Api) -> None:
    dispatcher = api.staff("disp5", "dispatcher")
    answer = api.client.post(f"{PLAN}/map", headers=dispatcher,
                             json={"pipe_id": "LINK-2429", "failed_valves": []})
    assert answer.status_code == 200, answer.text
    geo = answer.json()
    assert geo["type"] == "FeatureCollection"
    assert geo["coordinate_system"]["source_crs"] == "EPSG:4547"
    roles: dict[str, set[str]] = {}
    for feature in geo["features"]:
        roles.setdefault(feature["properties"]["role"], set()).add(feature["id"])
        lon, lat = (feature["geometry"]["coordinates"] if feature["geometry"]["type"] == "Point"
                    else feature["geometry"]["coordinates"][0])
        assert 113.0 < lon < 115.5 and 31.0 < lat < 33.0  # the demo city, in WGS84
    plan = api.client.post(PLAN, headers=dispatcher, json={"pipe_id": "LINK-2429"}).json()
    assert roles["close"] == {f"valve/{v['valve_id']}" for v in plan["valves_to_close"]}
    assert "link/LINK-2429" in roles["segment"]
    assert {f"node/{n}" for n in plan["unintended_nodes"]} <= roles["unintended"]
    customer = api.customer("cust9")
    assert api.client.post(f"{PLAN}/map", headers=customer,
                           json={"pipe_id": "LINK-2429"}).status_code == 403
