"""``/water-balance``: balances, DMAs, report HTML/PDF; roles; 404 for unknown system/period."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.service.water_balance import (
    BALANCE_FILE_ENV,
    WaterBalanceService,
    configured_balance_file,
)

from .conftest import Api

BASE = "/api/v1/water-balance"
INPUT = """scope,scope_id,system_id,period_start,period_end,system_input_m3,billed_metered_m3,metering_inaccuracy_m3,mains_km,connections,pressure_m,mains_dn75_km,household_metered_m3
system,city,,2026-10-01,2026-10-31,3100000,2400000,60000,500,25000,50,400,1500000
system,city,,2026-11-01,2026-11-30,3000000,2350000,60000,500,25000,50,400,1450000
system,township,,2026-11-01,2026-11-30,90000,70000,,40,900,35,,
dma,DMA-01,city,2026-11-01,2026-11-30,120000,98000,,,,,,
dma,DMA-02,city,2026-11-01,2026-11-30,150000,125000,,,,,,
"""  # noqa: E501


@pytest.fixture
def balance_api(api: Api, tmp_path: Path) -> Api:
    path = tmp_path / "water-balance.csv"
    path.write_text(INPUT, encoding="utf-8")
    api.app.state.water_balance = WaterBalanceService(path)
    return api


def test_system_balances_and_filters(balance_api: Api) -> None:
    planner = balance_api.staff("plan1", "planner")
    answer = balance_api.client.get(BASE, headers=planner)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 3
    assert [(b["scope_id"], b["period"]) for b in page["items"]] == [
        ("city", "2026-10"), ("city", "2026-11"), ("township", "2026-11")]
    nov = page["items"][1]
    # real losses = 3,000,000 - 2,350,000 - 60,000 = 590,000 m³ in 30 days
    assert nov["real_losses"]["m3"] == 590_000
    assert nov["non_revenue_water"]["m3"] == 650_000
    assert nov["iwa"]["ili"] == pytest.approx(590_000_000 / 30 / 1_450_000)
    assert nov["cjj92"]["grade"] == "not met" and nov["cjj92"]["grade_zh"] == "未达标"
    township = page["items"][2]
    assert township["iwa"]["uarl_reliable"] is False and township["warnings"]
    one = balance_api.client.get(BASE, headers=planner,
                                 params={"system": "city", "period": "2026-11"}).json()
    assert one["total"] == 1 and one["items"][0]["system_input"]["m3"] == 3_000_000
    paged = balance_api.client.get(BASE, headers=planner, params={"limit": 1, "offset": 1})
    assert paged.json()["items"][0]["period"] == "2026-11"


def test_dmas(balance_api: Api) -> None:
    dispatcher = balance_api.staff("disp1", "dispatcher")
    answer = balance_api.client.get(f"{BASE}/dmas", headers=dispatcher,
                                    params={"system": "city"})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [b["scope_id"] for b in items] == ["DMA-01", "DMA-02"]
    assert items[0]["water_losses"]["m3"] == 22_000
    assert items[0]["iwa"] is None


def test_reports(balance_api: Api) -> None:
    admin = balance_api.staff("adm2", "administrator")
    html = balance_api.client.get(f"{BASE}/report.html", headers=admin,
                                  params={"system": "city"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "590,000" in html.text and "DMA-02" in html.text and "township" not in html.text
    pdf = balance_api.client.get(f"{BASE}/report.pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


def test_roles_and_errors(balance_api: Api) -> None:
    assert balance_api.client.get(BASE).status_code == 401
    customer = balance_api.customer("cust1")
    assert balance_api.client.get(BASE, headers=customer).status_code == 403
    agent = balance_api.staff("agent1", "service_agent")
    assert balance_api.client.get(f"{BASE}/report.pdf", headers=agent).status_code == 403
    planner = balance_api.staff("plan2", "planner")
    unknown = balance_api.client.get(BASE, headers=planner, params={"system": "atlantis"})
    assert unknown.status_code == 404 and "atlantis" in unknown.json()["detail"]
    assert balance_api.client.get(BASE, headers=planner, params={"period": "1999"}
                                  ).status_code == 404
    assert balance_api.client.get(BASE, headers=planner, params={"period": "<script>"}
                                  ).status_code == 422


def test_missing_or_bad_input_file(api: Api, tmp_path: Path) -> None:
    planner = api.staff("plan3", "planner")
    api.app.state.water_balance = WaterBalanceService(tmp_path / "none.csv")
    answer = api.client.get(BASE, headers=planner)
    assert answer.status_code == 404 and "WATEROPS_BALANCE_FILE" in answer.json()["detail"]
    bad = tmp_path / "bad.csv"
    bad.write_text(INPUT.replace("3000000", "x"), encoding="utf-8")
    api.app.state.water_balance = WaterBalanceService(bad)
    answer = api.client.get(BASE, headers=planner)
    assert answer.status_code == 400 and "bad.csv:3: system_input_m3" in answer.json()["detail"]


def test_configured_file(tmp_path: Path) -> None:
    assert configured_balance_file(tmp_path, {BALANCE_FILE_ENV: "/x/b.toml"}) == Path("/x/b.toml")
    assert configured_balance_file(tmp_path, {}) == tmp_path / "water-balance.csv"
    (tmp_path / "water-balance.toml").write_text("")
    assert configured_balance_file(tmp_path, {}) == tmp_path / "water-balance.toml"


def test_dma_night_flow_from_the_store(api: Api, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from waterops.model.telemetry import Quantity, Sensor, WaterSystem
    from waterops.service.virtual_utility import build_demo_utility
    from waterops.store.telemetry_store import TelemetryStore

    layout = build_demo_utility()
    dma = layout.dmas[1]
    store = TelemetryStore(api.services.accounts.engine)
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor(f"Q-{i.link_id}", "city", Quantity.FLOW) for i in dma.inlets])
    start = datetime(2026, 10, 31, 16, tzinfo=UTC)  # local midnight
    times = np.arange(np.datetime64(start.replace(tzinfo=None), "s"),
                      np.datetime64((start + timedelta(days=2)).replace(tzinfo=None), "s"),
                      np.timedelta64(900, "s"))
    for inlet in dma.inlets:
        store.write_reading_arrays(f"Q-{inlet.link_id}", times,
                                   np.full(len(times), inlet.sign * 2e-3))
    api.app.state.water_balance = WaterBalanceService(tmp_path / "none.csv", telemetry=store,
                                                      layout=build_demo_utility)
    planner = api.staff("plan9", "planner")
    url = f"{BASE}/dmas/{dma.id}/night-flow"
    window = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-03T00:00:00+08:00"}
    answer = api.client.get(url, headers=planner, params=window)
    assert answer.status_code == 200, answer.text
    nights = answer.json()
    assert [n["night"] for n in nights] == ["2026-11-01", "2026-11-02"]
    assert nights[0]["mnf_ls"] == pytest.approx(2.0 * len(dma.inlets))
    assert nights[0]["night_day_factor_h"] == 24.0  # no pressure logger: no modulation
    assert nights[0]["leakage_m3_per_day"] == pytest.approx(
        nights[0]["net_night_flow_ls"] * 86.4)
    assert api.client.get(f"{BASE}/dmas/DMA-99/night-flow", headers=planner,
                          params=window).status_code == 404
    assert api.client.get(url, headers=planner, params={
        "from": "2026-11-01T00:00:00", "to": "2026-11-03T00:00:00+08:00"}).status_code == 422
    agent = api.staff("agent5", "service_agent")
    assert api.client.get(url, headers=agent, params=window).status_code == 403
