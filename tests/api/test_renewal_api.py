"""``/pipes`` and ``/renewal/plans``: roles, paging, plans, exports, comparison, errors."""

from __future__ import annotations

import pytest

from api.conftest import Api
from service.conftest import T0
from waterops.data import demo_network_path
from waterops.io.inp import read_inp
from waterops.planning.synthetic_register import demo_register, synthetic_pipes
from waterops.store.pipe_register_store import PipeRegisterStore

PLAN = {"system": "town", "name": "three years", "budgets_yuan": [3e6, 3e6, 3e6],
        "start_year": 2027, "whole_roads": True, "time_limit_s": 20}


@pytest.fixture()
def town(api: Api) -> Api:
    register = synthetic_pipes(200, seed=4)
    PipeRegisterStore(api.services.accounts.engine).replace_register(
        "town", register.pipes, register.breaks, register.history_years, T0)
    return api


def test_roles(town: Api) -> None:
    for role in ("dispatcher", "service_agent", "field_crew"):
        headers = town.staff(f"u-{role}", role)
        assert town.client.get("/api/v1/pipes?system=town", headers=headers).status_code == 403
        assert town.client.post("/api/v1/renewal/plans", headers=headers,
                                json=PLAN).status_code == 403
    customer = town.customer("cust1")
    assert town.client.get("/api/v1/pipes?system=town", headers=customer).status_code == 403
    assert town.client.get("/api/v1/pipes?system=town").status_code == 401


def test_pipes_plans_exports_and_compare(town: Api) -> None:
    planner = town.staff("planner1", "planner")
    page = town.client.get("/api/v1/pipes?system=town&limit=5&offset=5", headers=planner)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 200 and len(body["items"]) == 5
    assert body["items"][0]["pipe_id"] == "P000005"
    assert town.client.get("/api/v1/pipes?system=nowhere",
                           headers=planner).status_code == 404
    made = town.client.post("/api/v1/renewal/plans", headers=planner, json=PLAN)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["method"] == "mip" and len(plan["years"]) == 3
    assert all(y["cost_yuan"] <= 3e6 + 1e-3 for y in plan["years"])
    assert plan["years"][0]["calendar_year"] == 2027
    greedy = town.client.post("/api/v1/renewal/plans", headers=planner,
                              json={**PLAN, "method": "greedy", "name": "greedy"}).json()
    got = town.client.get(f"/api/v1/renewal/plans/{plan['id']}", headers=planner).json()
    assert got["pipes"] == plan["pipes"]
    csv = town.client.get(f"/api/v1/renewal/plans/{plan['id']}/csv", headers=planner)
    assert csv.status_code == 200 and csv.text.startswith("pipe_id,road_id,year")
    assert len(csv.text.strip().splitlines()) == len(plan["pipes"]) + 1
    compare = town.client.get(
        f"/api/v1/renewal/plans/compare?ids={plan['id']}&ids={greedy['id']}", headers=planner)
    assert compare.status_code == 200, compare.text
    rows = compare.json()
    assert rows[0]["risk_reduction_yuan"] >= rows[1]["risk_reduction_yuan"] - 1e-6
    assert town.client.get("/api/v1/renewal/plans/999", headers=planner).status_code == 404
    # the synthetic pipes are not in the demo network: the GeoJSON says so
    geo = town.client.get(f"/api/v1/renewal/plans/{plan['id']}/geojson", headers=planner)
    assert geo.status_code == 422 and "another system" in geo.json()["detail"]


def test_invalid_plans_are_refused(town: Api) -> None:
    planner = town.staff("planner2", "planner")
    for bad in ({**PLAN, "budgets_yuan": []}, {**PLAN, "budgets_yuan": [1.0] * 6},
                {**PLAN, "discount_rate": 1.0}, {**PLAN, "start_year": 1900},
                {**PLAN, "surprise": 1}):
        answer = town.client.post("/api/v1/renewal/plans", headers=planner, json=bad)
        assert answer.status_code == 422, bad
    answer = town.client.post("/api/v1/renewal/plans", headers=planner,
                              json={**PLAN, "must_do": ["nowhere"]})
    assert answer.status_code == 422
    assert "neither a candidate pipe nor a road" in answer.json()["detail"]


def test_geojson_of_a_demo_plan(api: Api) -> None:
    register = demo_register(read_inp(demo_network_path()), seed=7)
    PipeRegisterStore(api.services.accounts.engine).replace_register(
        "demo", register.pipes, register.breaks, register.history_years, T0)
    admin_plan = api.staff("planner3", "planner")
    made = api.client.post("/api/v1/renewal/plans", headers=admin_plan,
                           json={**PLAN, "system": "demo", "budgets_yuan": [1e7]})
    assert made.status_code == 201, made.text
    plan = made.json()
    geo = api.client.get(f"/api/v1/renewal/plans/{plan['id']}/geojson", headers=admin_plan)
    assert geo.status_code == 200
    features = geo.json()["features"]
    assert {f["properties"]["id"] for f in features} == {p["pipe_id"] for p in plan["pipes"]}
    lon, lat = features[0]["geometry"]["coordinates"][0]
    assert 100 < lon < 125 and 15 < lat < 45
