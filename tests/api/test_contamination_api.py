"""The contamination and source API on SQLite and PostgreSQL: roles, a spread on the demo
network, a do-not-drink notice drafted by the quality engineer and issued by a dispatcher,
tracing from sensor readings, source status; bad input answers 4xx naming the fault."""

from __future__ import annotations

from datetime import timedelta

from waterops.model.telemetry import Reading
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.telemetry_store import TelemetryStore

from .conftest import T0, Api

URL = "/api/v1/contamination"
SPREAD = {"node_id": "JUNCTION-356", "start_s": 3600, "concentration_mg_l": 10.0,
          "horizon_h": 2}


def test_spread_roles_and_input(api: Api) -> None:
    engineer = api.staff("qe.li", "water_quality_engineer")
    agent = api.staff("agent.he", "service_agent")
    customer = api.customer("alice")
    for who in (agent, customer):
        assert api.client.post(f"{URL}/spread", headers=who, json=SPREAD).status_code == 403
    both = {**SPREAD, "mass_rate_mg_s": 5.0}
    answer = api.client.post(f"{URL}/spread", headers=engineer, json=both)
    assert answer.status_code == 422 and "exactly one" in answer.text
    unknown = api.client.post(f"{URL}/spread", headers=engineer,
                              json={**SPREAD, "node_id": "NOPE"})
    assert unknown.status_code == 422 and "unknown node 'NOPE'" in unknown.json()["detail"]
    assert "/" not in unknown.json()["detail"]  # the network file by name, not its server path

    answer = api.client.post(f"{URL}/spread", headers=engineer, json=SPREAD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [e["within_h"] for e in body["exposure"]] == [1.0]  # a 2 h horizon: the 1 h window
    assert body["nodes"][0]["node_id"] == "JUNCTION-356"
    assert body["nodes_reached"] == len(body["area"]["nodes"]) > 1
    assert body["flushing"] and body["flushing"][0]["flow_ls"] == 10.0


def test_do_not_drink_notice(api: Api) -> None:
    engineer = api.staff("qe.li", "water_quality_engineer")
    dispatcher = api.staff("disp.zhou", "dispatcher")
    draft = api.client.post(f"{URL}/do-not-drink", headers=engineer,
                            json={"spread": SPREAD})
    assert draft.status_code == 200, draft.text
    assert draft.json()["notice_id"] is None and "请勿饮用" in draft.json()["body_zh"]
    refused = api.client.post(f"{URL}/do-not-drink", headers=engineer,
                              json={"spread": SPREAD, "issue": True})
    assert refused.status_code == 403
    issued = api.client.post(f"{URL}/do-not-drink", headers=dispatcher,
                             json={"spread": SPREAD, "issue": True})
    assert issued.status_code == 200, issued.text
    notice_id = issued.json()["notice_id"]
    notice = api.client.get(f"/api/v1/notices/{notice_id}", headers=dispatcher)
    assert notice.status_code == 200 and notice.json()["subject"].startswith("Do not drink")
    actions = [line["action"] for line in api.services.accounts.audit_lines(actor="qe.li")]
    assert "draft_do_not_drink_notice" in actions


def test_trace_and_sources(api: Api) -> None:
    dispatcher = api.staff("disp.zhou", "dispatcher")
    midnight = T0.replace(hour=16, minute=0) - timedelta(days=1)  # 00:00 Beijing time
    readings = [{"sensor_id": "CL-JUNCTION-1582", "at": (midnight + timedelta(hours=h))
                 .isoformat(), "concentration_mg_l": c} for h, c in ((1, 0.0), (3, 2.0))]
    answer = api.client.post(f"{URL}/trace", headers=dispatcher,
                             json={"readings": readings, "members": 1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["readings_used"] == 2 and body["candidates"]
    assert body["candidates"][0]["consistency"] == 1.0
    bad = api.client.post(f"{URL}/trace", headers=dispatcher, json={
        "readings": [{**readings[0], "sensor_id": "NOPE"}], "members": 1})
    assert bad.status_code == 422 and "NOPE" in bad.json()["detail"]
    too_many = api.client.post(f"{URL}/trace", headers=dispatcher,
                               json={"readings": readings, "members": 500})
    assert too_many.status_code == 422

    status = api.client.post("/api/v1/sources/status", headers=dispatcher,
                             json={"readings": {"SRC-RIVER": {"ammonia_n": 1.5}}})
    assert status.status_code == 200, status.text
    levels = {s["source_id"]: s["level"] for s in status.json()}
    assert levels == {"SRC-SHUIKU": "normal", "SRC-RIVER": "alarm"}
    layout = build_demo_utility()  # the intake analysers report into the store
    telemetry = TelemetryStore(api.services.accounts.engine)
    telemetry.upsert_systems(layout.systems)
    telemetry.upsert_sites(layout.sites)
    telemetry.upsert_sensors(layout.sensors)
    telemetry.write_readings([Reading("TU-RES-SHUIKU", T0, 60.0)])
    for bad, named in (({"lead": 0.01}, "no limits for parameter 'lead'"),
                       ({"ph": "NaN"}, "ph: reading nan is not a number")):
        refused = api.client.post("/api/v1/sources/status", headers=dispatcher,
                                  json={"readings": {"SRC-RIVER": bad}})
        assert refused.status_code == 422 and named in refused.json()["detail"], refused.text
    status = api.client.post("/api/v1/sources/status", headers=dispatcher, json={})
    shuiku = next(s for s in status.json() if s["source_id"] == "SRC-SHUIKU")
    assert shuiku["level"] == "warning" and shuiku["findings"][0]["value"] == 60.0
    unknown = api.client.post("/api/v1/sources/switch-plan", headers=dispatcher,
                              json={"failed_source_id": "SRC-LAKE"})
    assert unknown.status_code == 422 and "unknown source" in unknown.json()["detail"]
    agent = api.staff("agent.he", "service_agent")
    assert api.client.post("/api/v1/sources/status", headers=agent,
                           json={}).status_code == 403
