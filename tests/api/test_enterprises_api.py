"""``/enterprises``, ``/tariffs``, ``/metrics`` over HTTP on SQLite and PostgreSQL: an account
manager records visits and problems and produces advice; enterprise customers are kept apart;
a refused move is a 409 problem; bills and the CSV export; schema fuzzing gives no 5xx."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore

from .conftest import PASSWORD, Api

E = "/api/v1/enterprises"
WEEK_START = datetime(2026, 9, 20, 16, 0, tzinfo=UTC)  # 2026-09-21 00:00 Beijing time
WEEK_END = WEEK_START + timedelta(days=7)
EXAMPLES_PER_OPERATION = 8


def user_id(api: Api, username: str) -> int:
    found = api.services.accounts.credentials(username)
    assert found is not None
    return found[0].id


def register(api: Api, agent: dict[str, str], account: str, customer: str | None,
             **extra: Any) -> dict[str, Any]:
    body = {"account_id": account, "name": f"Plant {account}", "industry": "electronics",
            "park_id": "P1", "manager_id": user_id(api, "agent1"), **extra}
    if customer is not None:
        body["customer_user_id"] = user_id(api, customer)
    answer = api.client.post(E, headers=agent, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def leaking_meter(api: Api, sensor_id: str) -> None:
    store = TelemetryStore(api.services.accounts.engine)
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor(sensor_id, "city", Quantity.FLOW, interval_s=900.0)])
    times = np.arange(np.datetime64(WEEK_START.replace(tzinfo=None), "s"),
                      np.datetime64(WEEK_END.replace(tzinfo=None), "s"), np.timedelta64(900, "s"))
    local_hour = ((times.astype("int64") // 3600) + 8) % 24
    day = (local_hour >= 6) & (local_hour < 22)
    store.write_reading_arrays(sensor_id, times, np.where(day, 3.0e-3, 0.1e-3) + 1.0e-3)


def test_manager_records_visits_and_customers_are_kept_apart(api: Api) -> None:
    cust_a = api.customer("custA", "enterprise_customer")
    cust_b = api.customer("custB", "enterprise_customer")
    agent = api.staff("agent1", "service_agent")
    ent_a = register(api, agent, "EA", "custA")
    ent_b = register(api, agent, "EB", "custB")

    visit = api.client.post(f"{E}/{ent_a['id']}/visits", headers=agent, json={
        "visited_on": "2026-09-28", "topics": ["water saving", "阶梯水价"],
        "problems": [{"title": "low pressure in workshop 3"}]})
    assert visit.status_code == 201, visit.text
    problem = visit.json()["problems"][0]
    assert problem["state"] == "open" and problem["allowed_actions"][0] == "start"

    refused = api.client.post(f"{E}/problems/{problem['id']}/actions", headers=agent,
                              json={"action": "verify"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cannot verify" in refused.json()["detail"]
    for action in ("start", "rectify"):
        moved = api.client.post(f"{E}/problems/{problem['id']}/actions", headers=agent,
                                json={"action": action})
        assert moved.status_code == 200, moved.text
    closed = api.client.post(f"{E}/problems/{problem['id']}/actions", headers=agent,
                             json={"action": "verify", "satisfaction": 5}).json()
    assert closed["state"] == "closed" and closed["satisfaction"] == 5

    # A sees their own enterprise, visits and problems; B sees none of them
    assert api.client.get(E, headers=cust_a).json()["total"] == 1
    assert api.client.get(f"{E}/{ent_a['id']}/visits", headers=cust_a).json()["total"] == 1
    history = api.client.get(f"{E}/problems/{problem['id']}", headers=cust_a).json()
    assert [h["action"] for h in history["history"]] == ["raise", "start", "rectify", "verify"]
    for path in (f"{E}/{ent_a['id']}", f"{E}/{ent_a['id']}/visits", f"{E}/{ent_a['id']}/problems",
                 f"{E}/problems/{problem['id']}", f"{E}/{ent_a['id']}/consumption",
                 f"{E}/{ent_a['id']}/advice"):
        answer = api.client.get(path, headers=cust_b)
        assert answer.status_code == 404, (path, answer.text)
    assert api.client.get(f"{E}/{ent_b['id']}", headers=cust_b).status_code == 200
    # customers neither record visits nor read rates; B cannot rate A's problem
    assert api.client.post(f"{E}/{ent_b['id']}/visits", headers=cust_b, json={
        "visited_on": "2026-09-28", "topics": ["x"]}).status_code == 403
    assert api.client.get(f"{E}/rates", headers=cust_a).status_code == 403
    assert api.client.post(f"{E}/problems/{problem['id']}/rating", headers=cust_b,
                           json={"score": 1}).status_code == 404
    rates = api.client.get(f"{E}/rates", headers=agent, params={"park_id": "P1"}).json()
    assert rates["rectification_rate"] == 1.0 and rates["satisfaction_rate"] == 1.0
    assert api.client.get(E).status_code == 401
    patched = api.client.patch(f"{E}/{ent_a['id']}", headers=agent,
                               json={"tariff_name": "non-household-flat", "employees": 80})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["tariff_name"], patched.json()["employees"]) == (
        "non-household-flat", 80)
    assert api.client.patch(f"{E}/{ent_a['id']}", headers=cust_a,
                            json={"employees": 1}).status_code == 403
    assert api.client.patch(f"{E}/{ent_a['id']}", headers=agent,
                            json={"tariff_name": "nope"}).status_code == 422


def test_advice_from_a_leaking_meter(api: Api) -> None:
    cust = api.customer("custA", "enterprise_customer")
    agent = api.staff("agent1", "service_agent")
    leaking_meter(api, "D-EA")
    ent = register(api, agent, "EA", "custA", meter_sensor_ids=["D-EA"], employees=100,
                   tariff_name="non-household-flat")
    window = {"start": WEEK_START.isoformat(), "end": WEEK_END.isoformat()}
    answer = api.client.get(f"{E}/{ent['id']}/advice", headers=cust, params=window)
    assert answer.status_code == 200, answer.text
    advice = answer.json()
    assert advice["consumption"]["leak_hint"] is True
    assert advice["consumption"]["night_flow_m3s"] == 1.1e-3
    leak = advice["items"][0]
    assert leak["kind"] == "leak" and "possible leak" in leak["reasoning"]
    assert abs(leak["yuan_per_year"] - 1.1e-3 * 86400 * 365 * 5.5) < 1.0
    # the facts for other languages: a stable message key and its figures, SI and L/s
    assert leak["message"] == "leak_repair"
    assert leak["figures"]["excess_night_flow_m3s"] == pytest.approx(1.1e-3)
    assert leak["figures"]["excess_night_flow_ls"] == pytest.approx(1.1)
    assert leak["figures"]["volume_m3_per_year"] == pytest.approx(1.1e-3 * 86400 * 365)
    hint = advice["consumption"]
    assert hint["leak_message"] == "night_flow_leak"
    assert hint["leak_figures"]["night_flow_ls"] == pytest.approx(1.1)
    assert hint["leak_figures"]["night_ratio"] == pytest.approx(hint["night_ratio"])
    reuse, shifting = advice["items"][1:]
    assert reuse["message"] == "reuse" and reuse["figures"]["reuse_share"] == 0.1
    assert reuse["figures"]["volume_m3_per_year"] == pytest.approx(reuse["volume_m3_per_year"])
    assert (shifting["message"], shifting["figures"]) == (
        "shifting_no_quota", {"tariff": "non-household-flat"})
    naive = api.client.get(f"{E}/{ent['id']}/consumption", headers=cust,
                           params={"start": "2026-09-21T00:00:00", "end": "2026-09-28T00:00:00"})
    assert naive.status_code == 422
    api.clock.set(WEEK_END + timedelta(days=30))
    cust = api.login("custA")  # the old token has expired by then
    empty = api.client.get(f"{E}/{ent['id']}/consumption", headers=cust)  # last 7 days: none
    assert empty.status_code == 422 and "no meter readings" in empty.json()["detail"]


def test_tariff_bill_for_anyone_logged_in(api: Api) -> None:
    household = api.customer("house1")
    answer = api.client.post("/api/v1/tariffs/bill", headers=household, json={"volume_m3": 25})
    assert answer.status_code == 200, answer.text
    bill = answer.json()
    assert bill["tariff"] == "household-monthly" and bill["total_yuan"] == 102.75
    assert [line["label"] for line in bill["lines"]][:3] == ["tier 1", "tier 2", "tier 3"]
    quota = api.client.post("/api/v1/tariffs/bill", headers=household, json={
        "volume_m3": 6000, "customer_class": "non_household"}).json()
    assert quota["total_yuan"] == 34750.0
    # each line says what it is, for a client to word it in its language
    assert [(x["kind"], x["tier"], x["code"]) for x in bill["lines"]] == [
        ("tier", 1, None), ("tier", 2, None), ("tier", 3, None),
        ("charge", None, "water_resource_fee"), ("charge", None, "sewage_charge")]
    assert [(x["kind"], x["factor"]) for x in quota["lines"]][:3] == [
        ("water", None), ("surcharge", 0.5), ("charge", None)]
    unknown = api.client.post("/api/v1/tariffs/bill", headers=household,
                              json={"volume_m3": 1, "tariff": "nope"})
    assert unknown.status_code == 422 and "no tariff 'nope'" in unknown.json()["detail"]
    assert api.client.post("/api/v1/tariffs/bill", json={"volume_m3": 1}).status_code == 401
    tariffs = api.client.get("/api/v1/tariffs", headers=household).json()
    assert {t["name"]: t["guideline_ratio_ok"] for t in tariffs}["household-monthly"] is True
    flat = next(t for t in tariffs if t["name"] == "non-household-flat")
    assert flat["charge_codes"] == {"water-resource fee": "water_resource_fee",
                                    "sewage charge": "sewage_charge"}


def test_metrics_for_staff_as_json_and_csv(api: Api) -> None:
    agent = api.staff("agent1", "service_agent")
    cust = api.customer("custA", "enterprise_customer")
    ent = register(api, agent, "EA", "custA")
    api.client.post(f"{E}/{ent['id']}/problems", headers=agent, json={"title": "leak"})
    as_json = api.client.get("/api/v1/metrics", headers=agent).json()
    rows = {(r["metric"], r["key"]): r["value"] for r in as_json["rows"]}
    assert rows[("enterprise_problems_raised", "")] == 1
    assert rows[("enterprise_rectification_rate", "")] == 0.0
    exported = api.client.get("/api/v1/metrics/export.csv", headers=agent)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == len(as_json["rows"])
    assert api.client.get("/api/v1/metrics", headers=cust).status_code == 403
    assert api.client.get("/api/v1/metrics/export.csv", headers=cust).status_code == 403


def test_fuzzing_the_enterprise_tariff_and_metrics_routes_gives_no_server_error(api: Api) -> None:
    api.customer("fuzz.customer", "enterprise_customer")
    agent = api.staff("agent1", "service_agent")
    api.staff("fuzz.dispatcher", "dispatcher")
    leaking_meter(api, "D-EA")
    ent = register(api, agent, "EA", "fuzz.customer", meter_sensor_ids=["D-EA"])
    api.client.post(f"{E}/{ent['id']}/problems", headers=agent, json={"title": "leak"})

    def bearer(username: str) -> dict[str, str]:
        token = api.services.auth.login(username, PASSWORD, "fuzz-setup").token
        return {"Authorization": f"Bearer {token}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    mine = ("/api/v1/enterprises", "/api/v1/tariffs", "/api/v1/metrics")
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [o for o in operations if o.path.startswith(mine)]
    assert len(operations) == 18
    tokens = [bearer("fuzz.customer"), bearer("agent1"), bearer("fuzz.dispatcher")]
    for operation in operations:
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                for token in tokens:
                    response = case.call(headers={**token, **dict(case.headers or {})})
                    where = f"{case.method} {case.formatted_path}"
                    assert response.status_code < 500, (where, response.text)
                    if response.status_code >= 400:
                        assert response.headers["content-type"] == ["application/problem+json"], (
                            where, response.text)

            call()
