"""The portal's other views in a real browser: registration of a new customer, what each role
sees, outage notices for my address only, the enterprise view (consumption chart, leak hint,
savings advice, tariff, visits, problems and their rating), tariffs with the bill calculator,
both languages with complete bundles, and axe-core on every view."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from waterops.model.accounts import Role
from waterops.model.complaints import ComplaintCategory, ComplaintState
from waterops.model.connections import ConnectionAction, ConnectionState, TemplateName
from waterops.model.enterprises import ProblemState
from waterops.model.notices import NoticeKind
from waterops.model.tariffs import BillingPeriod, CustomerClass, demo_tariff_book
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.model.workdays import SlaState
from waterops.service.enterprise_service import AdviceMessage
from waterops.store.notices_store import Contact, NoticesStore
from waterops.store.telemetry_store import TelemetryStore
from waterops.web.app import STATIC_DIR
from web.conftest import WebServer, check_accessibility, expect_focus
from web.portal_world import portal_login, staff

RAW_KEY = re.compile(r"\b(portal|state|template|category|complaint_state|problem_state|notice|"
                     r"advice|sla|action)\.[a-z_]+")


def no_raw_keys(page: Any) -> None:
    """Every text on the page is translated (a missing key would show as itself)."""
    text = page.locator("body").inner_text()
    assert not RAW_KEY.search(text), RAW_KEY.search(text)


# ---------------------------------------------------------------- registration and roles

def test_a_visitor_registers_as_an_enterprise_and_is_logged_in(page: Any,
                                                               web_server: WebServer) -> None:
    page.goto(f"{web_server.base_url}/?lang=en")
    page.get_by_role("link", name="New customer? Register").click()
    page.get_by_role("heading", name="Open a customer account").wait_for()
    assert page.locator("#portal-nav").is_hidden()
    check_accessibility(page)
    page.get_by_label("Enterprise customer").check()
    page.get_by_label("User name").fill("jin-tai-plastics")
    page.get_by_label("Name", exact=True).fill("Jintai Plastics")
    page.get_by_label("E-mail").fill("water@jintai.example")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("different")
    page.get_by_role("button", name="Open the account").click()
    assert page.locator("#reg-password-error").inner_text() == "At least 10 characters."
    assert page.locator("#reg-password2-error").inner_text() == "The two passwords differ."
    expect_focus(page, "id", "reg-password")
    page.get_by_label("Password", exact=True).fill("a long password 1")
    page.get_by_label("Password again").fill("a long password 1")
    page.get_by_role("button", name="Open the account").click()
    page.wait_for_url(re.compile(r"/portal#applications$"))
    page.locator("#no-applications").wait_for()
    assert page.locator("#who").inner_text() == "Jintai Plastics (Enterprise customer)"
    assert page.get_by_role("link", name="My enterprise").is_visible()
    found = web_server.services.accounts.credentials("jin-tai-plastics")
    assert found is not None and found[0].role == Role.ENTERPRISE_CUSTOMER

    # the same name again is refused with the API's reason
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"{web_server.base_url}/portal#register")
    page.get_by_label("User name").fill("jin-tai-plastics")
    page.get_by_label("Password", exact=True).fill("another password")
    page.get_by_label("Password again").fill("another password")
    page.get_by_role("button", name="Open the account").click()
    page.get_by_role("alert").filter(has_text="jin-tai-plastics").wait_for()
    assert "#register" in page.url and page.evaluate("sessionStorage.length") == 0


def test_the_portal_needs_a_log_in_except_to_register(page: Any, web_server: WebServer) -> None:
    page.goto(f"{web_server.base_url}/portal#complaints")
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("heading", name="Log in").wait_for()


# ---------------------------------------------------------------- notices

def test_notices_for_my_address_only(page: Any, web_server: WebServer) -> None:
    household = portal_login(page, web_server)
    NoticesStore(web_server.services.accounts.engine).upsert_contacts([
        Contact("H002873", "PR03-HIGHZONE", household.user_id, "h002873@example.org",
                "13900000001")])
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    with staff(web_server, Role.DISPATCHER) as dispatcher:
        issued = dispatcher.post("/notices", json={
            "kind": "planned", "area": "Jinhua Road", "reason": "main replacement",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(),
            "nodes": ["PR03-HIGHZONE"]})
        assert issued.status_code == 201, issued.text
    page.get_by_role("link", name="Outage notices").click()
    notice = page.locator("#notices-list li")
    notice.first.wait_for()
    assert notice.count() == 1
    text = notice.inner_text()
    assert "Jinhua Road · planned works" in text and "Reason: main replacement" in text
    assert page.locator("#my-accounts").inner_text() == "Your customer accounts: H002873"
    check_accessibility(page)
    page.goto(f"{web_server.base_url}/portal?lang=zh-CN#notices")
    page.get_by_role("heading", name="我所在地址的停水通知").wait_for()
    assert "计划停水" in page.locator("#notices-list").inner_text()
    assert "原因：main replacement" in page.locator("#notices-list").inner_text()  # 全角冒号
    assert "停水" in page.locator("#notices-list li p").nth(2).inner_text()
    no_raw_keys(page)
    check_accessibility(page)

    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    portal_login(page, web_server)  # a neighbour without a linked account
    page.get_by_role("link", name="Outage notices").click()
    page.locator("#no-notices").wait_for()
    assert "No customer account is linked" in page.locator("#my-accounts").inner_text()


# ---------------------------------------------------------------- enterprise

def leaking_meter(web_server: WebServer, sensor_id: str) -> None:
    """Quarter-hourly flow of the last 8 days: 4 L/s by day, 1.1 L/s at night (a leak)."""
    store = TelemetryStore(web_server.services.accounts.engine)
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor(sensor_id, "city", Quantity.FLOW, interval_s=900.0)])
    end = np.datetime64(datetime.now(UTC).replace(tzinfo=None, minute=0, second=0,
                                                  microsecond=0), "s")
    times = np.arange(end - np.timedelta64(8, "D"), end, np.timedelta64(900, "s"))
    local_hour = ((times.astype("int64") // 3600) + 8) % 24
    day = (local_hour >= 6) & (local_hour < 22)
    store.write_reading_arrays(sensor_id, times, np.where(day, 3.0e-3, 0.1e-3) + 1.0e-3)


def test_the_enterprise_view(page: Any, web_server: WebServer) -> None:
    customer = portal_login(page, web_server, Role.ENTERPRISE_CUSTOMER)
    leaking_meter(web_server, "D-EWEB")
    with staff(web_server, Role.SERVICE_AGENT) as agent:
        manager = agent.get("/auth/me").json()["id"]
        ent = agent.post("/enterprises", json={
            "account_id": "EWEB", "name": "Jintai Plastics", "industry": "plastics",
            "park_id": "P1", "manager_id": manager, "customer_user_id": customer.user_id,
            "meter_sensor_ids": ["D-EWEB"], "employees": 120,
            "tariff_name": "non-household-flat"})
        assert ent.status_code == 201, ent.text
        visit = agent.post(f"/enterprises/{ent.json()['id']}/visits", json={
            "visited_on": datetime.now(UTC).date().isoformat(),
            "topics": ["water saving", "阶梯水价"], "notes": "checked the cooling tower",
            "problems": [{"title": "low pressure in workshop 3"}, {"title": "meter fogged"}]})
        assert visit.status_code == 201, visit.text
        first = visit.json()["problems"][0]["id"]
        for action in ("start", "rectify", "verify"):
            moved = agent.post(f"/enterprises/problems/{first}/actions", json={"action": action})
            assert moved.status_code == 200, moved.text

    page.get_by_role("link", name="My enterprise").click()
    page.get_by_role("heading", name="My enterprise · Jintai Plastics").wait_for()
    chart = page.locator("#consumption-chart")
    chart.locator(".main-svg").first.wait_for()  # plotly.js drew it
    assert chart.get_attribute("role") == "img"
    bars = page.evaluate("document.getElementById('consumption-chart').data[0].y.length")
    assert bars == page.locator("#consumption-table tbody tr").count() >= 7
    assert page.locator("#night-flow").inner_text() == "1.1 L/s"
    assert page.locator("#leak-hint").is_visible()
    advice = page.locator("#advice")
    assert "Repair the leak" in advice.inner_text()
    assert ("Possible leak: the night flow 02:00–04:00 of 1.1 L/s" in
            advice.locator(".advice-item[data-kind=leak]").inner_text())
    assert re.search(r"Together: [\d,]+ yuan a year", advice.inner_text())
    assert page.locator("table.tariff[data-tariff=non-household-flat]").is_visible()
    visits = page.locator("#visits").inner_text()
    assert "water saving, 阶梯水价" in visits and "checked the cooling tower" in visits
    rows = page.locator("#problems-table tbody tr")
    assert rows.count() == 2
    assert "Closed" in rows.nth(0).inner_text() and "Open" in rows.nth(1).inner_text()
    rows.nth(0).locator("summary").click()  # the problem's progress
    assert rows.nth(0).locator("ol.timeline li strong").all_inner_texts() == [
        "Open", "Being worked on", "Rectified", "Closed"]
    check_accessibility(page)
    no_raw_keys(page)

    # the customer rates the closed problem; the open one cannot be rated yet
    assert rows.nth(1).get_by_role("button", name="Rate").count() == 0
    page.get_by_label("Your rating of: low pressure in workshop 3").select_option("4")
    rows.nth(0).get_by_role("button", name="Rate").click()
    rows.nth(0).get_by_text("4 / 5").wait_for()
    with staff(web_server, Role.SERVICE_AGENT) as agent:
        rated = agent.get(f"/enterprises/problems/{first}").json()
    assert rated["problem"]["satisfaction"] == 4

    # in Chinese
    page.goto(f"{web_server.base_url}/portal?lang=zh-CN#enterprise")
    page.get_by_role("heading", name="我的企业 · Jintai Plastics").wait_for()
    page.locator("#consumption-chart .main-svg").first.wait_for()
    assert "修复漏水" in page.locator("#advice").inner_text()
    # the sentences are the portal's, in the utility's words, with the API's figures
    leak = page.locator(".advice-item[data-kind=leak]").inner_text()
    assert "疑似漏损：夜间最小流量（02:00–04:00）1.1 L/s" in leak
    assert "全年 8760 小时漏失 34,690 立方米" in leak  # 1.1 L/s × 31 536 000 s
    assert page.locator("#leak-hint").inner_text().startswith(
        "疑似漏损： 夜间最小流量（02:00–04:00）1.1 L/s")
    assert "不实行超定额累进加价" in page.locator(".advice-item[data-kind=shifting]").inner_text()
    # headings with the language's colon; the tariff's name and its fees in the bundle's words
    assert page.locator(".advice-item[data-kind=leak] strong").inner_text().startswith(
        "修复漏水：每年可节省")
    assert "按非居民用水（单一水价）计" in page.locator("#advice").inner_text()
    flat = page.locator("table.tariff[data-tariff=non-household-flat] caption")
    assert flat.inner_text() == "非居民用水（单一水价） · 非居民 · 按月"
    assert page.locator("#advice ul.charges li").all_inner_texts() == [
        "水资源费：0.6 元/立方米", "污水处理费：1.4 元/立方米"]
    # a tariff or charge the bundles do not know keeps the tariff book's words
    words = page.evaluate("""import('/static/js/portal/notices.js').then((m) => [
        m.tariffName('industrial-2030'),
        m.tariffTable({name: 'industrial-2030', customer_class: 'non_household',
                       period: 'month', kind: 'single price', tiers: [], quota_m3: null,
                       base_price_yuan_m3: 4, charges: {'sewage charge': 1.4, 'drought levy': 0.2},
                       charge_codes: {'sewage charge': 'sewage_charge',
                                      'drought levy': 'drought_levy'}})])""")
    assert words[0] == "industrial-2030"
    assert "<li>污水处理费：1.4 元/立方米</li><li>drought levy：0.2 元/立方米</li>" in words[1]
    no_raw_keys(page)
    check_accessibility(page)


def test_an_enterprise_without_a_linked_account_is_told_so(page: Any,
                                                           web_server: WebServer) -> None:
    portal_login(page, web_server, Role.ENTERPRISE_CUSTOMER)
    page.get_by_role("link", name="My enterprise").click()
    page.locator("#no-enterprise").wait_for()
    assert "your account manager links it" in page.locator("#no-enterprise").inner_text()
    assert "Jintai" not in page.content()  # another customer's enterprise (test above)
    # an enterprise may apply in the industrial-park process, which needs the park
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Enterprise in an industrial park").check()
    page.get_by_label("Address of the connection").fill("Plot 7, Hi-Tech Park")
    page.get_by_label("Contact phone").fill("0571 8888 0000")
    page.get_by_role("button", name="Next: the document").click()
    assert page.locator("#park-id-error").inner_text() == "Please fill this in."
    expect_focus(page, "id", "park-id")
    page.get_by_label("Industrial park", exact=True).fill("P1")
    page.get_by_role("button", name="Next: the document").click()
    page.locator("#step-2").wait_for()
    assert "Enterprise in an industrial park" in page.locator("#apply-summary").inner_text()


# ---------------------------------------------------------------- a household

def test_a_household_menu_tariffs_bill_and_ended_session(page: Any,
                                                        web_server: WebServer) -> None:
    portal_login(page, web_server, Role.HOUSEHOLD_CUSTOMER)
    # a household sees no enterprise part
    links = page.locator("#portal-nav a:visible").all_inner_texts()
    assert links == ["My applications", "New application", "Complaints and repairs",
                     "Outage notices", "Tariffs"]
    page.get_by_role("link", name="New application").click()
    page.locator("#apply-form").wait_for()
    assert page.get_by_label("Enterprise in an industrial park").count() == 0
    page.goto(f"{web_server.base_url}/portal#enterprise")
    page.locator("#enterprise-only").wait_for()
    assert page.locator("#enterprise-only").inner_text() == (
        "This part is for enterprise customers.")

    page.get_by_role("link", name="Tariffs").click()
    table = page.locator("table.tariff[data-tariff=household-monthly]")
    table.wait_for()
    assert table.locator("tbody tr").all_inner_texts()[0].split("\t") == [
        "Tier 1", "0 – 15 m³", "2"]
    page.get_by_label("Volume in the billing period [m³]").fill("lots")
    page.get_by_role("button", name="Work out the bill").click()
    assert page.locator("#bill-volume-error").inner_text() == "A volume of 0 m³ or more."
    page.get_by_label("Volume in the billing period [m³]").fill("25")
    page.get_by_role("button", name="Work out the bill").click()
    page.locator("#bill-total").wait_for()
    assert page.locator("#bill-total").inner_text() == "102.75"  # as the API's worked example
    assert page.locator("#bill-lines tbody tr td:first-child").all_inner_texts() == [
        "Tier 1", "Tier 2", "Tier 3", "Water-resource fee", "Sewage charge"]
    check_accessibility(page)

    # an ended session goes back to the log-in page
    page.evaluate("sessionStorage.setItem('waterops.token', 'no-longer-valid')")
    page.get_by_role("link", name="Outage notices").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.evaluate("sessionStorage.length") == 0


# ---------------------------------------------------------------- languages

def test_the_portal_bundles_have_every_key_in_both_languages() -> None:
    bundles = {lang: json.loads((STATIC_DIR / "i18n" / f"portal.{lang}.json")
                                .read_text(encoding="utf-8")) for lang in ("en", "zh-CN")}
    common = {lang: json.loads((STATIC_DIR / "i18n" / f"common.{lang}.json")
                               .read_text(encoding="utf-8")) for lang in ("en", "zh-CN")}
    assert set(bundles["en"]) == set(bundles["zh-CN"])
    for lang, bundle in bundles.items():
        assert all(isinstance(v, str) and v.strip() for v in bundle.values()), lang
    cjk = re.compile(r"[\u4e00-\u9fff]")
    untranslated = [k for k, v in bundles["zh-CN"].items() if not cjk.search(v)]
    assert untranslated == [], untranslated
    # placeholders match between the languages
    for key, text in bundles["en"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(
            re.findall(r"\{(\w+)\}", bundles["zh-CN"][key])), key

    # every key the portal's code names literally …
    sources = [STATIC_DIR / "portal.html", *sorted((STATIC_DIR / "js" / "portal").glob("*.js"))]
    code = "\n".join(Path(p).read_text(encoding="utf-8") for p in sources)
    literal = set(re.findall(r"[\"'`]((?:portal|state|template|category|complaint_state|"
                             r"problem_state|notice|advice|sla|action|common|login|error|nav|"
                             r"role|app)\.[a-z0-9_.]*[a-z0-9_])[\"'`]", code))
    # … and every key it builds from a value of the API's enumerations
    built = {f"state.{s}" for s in ConnectionState} | {f"action.{a}" for a in ConnectionAction}
    built |= {"action.submit"} | {f"sla.{s}" for s in SlaState}
    built |= {f"template.{n}" for n in TemplateName} | {f"template.{n}.text" for n in TemplateName}
    built |= {f"category.{c}" for c in ComplaintCategory}
    built |= {f"complaint_state.{s}" for s in ComplaintState}
    built |= {f"problem_state.{s}" for s in ProblemState} | {f"notice.{k}" for k in NoticeKind}
    built |= {f"portal.tariffs.class.{c}" for c in CustomerClass}
    built |= {f"portal.tariffs.period.{p}" for p in BillingPeriod}
    built |= {f"portal.score.{s}" for s in range(1, 6)}
    built |= {f"portal.stage.{s}" for s in ("done", "current", "todo", "skipped")}
    built |= {f"portal.where.{w}" for w in ("mine", "account", "node", "point")}
    built |= {f"advice.{k}" for k in ("leak", "reuse", "shifting")}
    built |= {f"advice.text.{m}" for m in AdviceMessage}
    book = demo_tariff_book()  # the demo book's tariffs and charges have words of their own
    built |= {f"portal.tariffs.name.{n}" for n in book.tariffs}
    built |= {f"portal.tariffs.charge.{c.code}" for x in book.tariffs.values() for c in x.charges}
    for lang in ("en", "zh-CN"):
        known = set(bundles[lang]) | set(common[lang])
        missing = sorted((literal | built) - known)
        assert missing == [], (lang, missing)
    assert len(literal) > 150


def test_every_view_in_chinese_is_translated_and_accessible(page: Any,
                                                            web_server: WebServer) -> None:
    portal_login(page, web_server, Role.ENTERPRISE_CUSTOMER, lang="zh-CN")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    for link, heading in (("我的报装", "我的用水报装"), ("新装申请", "申请用水报装"),
                          ("投诉与报修", "投诉与报修"), ("停水通知", "我所在地址的停水通知"),
                          ("水价", "水价"), ("我的企业", "我的企业")):
        page.locator("#portal-nav").get_by_role("link", name=link, exact=True).click()
        page.locator("#view h2").filter(has_text=heading).first.wait_for()
        assert page.locator("#portal-nav a[aria-current=page]").inner_text() == link
        no_raw_keys(page)
        check_accessibility(page)
    # the language button switches to English and keeps the view
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="My enterprise").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
