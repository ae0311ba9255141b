"""The operations centre's views of issues 9 and 10 in a real browser over the demo network:
work orders (from an alarm to closed, a crew sees only its own, SLA breach badges), the trunk
main, emergencies (a contamination spread drawn on the map, the do-not-drink draft, sources),
treatment dose ranges, planning (water balance, a renewal plan made, drawn, compared and
exported). Each view shows only for the roles the API lets use it; axe-core on each; both
languages have every key of the views (and the page's work-order table equals the model's)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from waterops.model.accounts import Role
from waterops.model.alarms import Cause
from waterops.model.work_orders import STAFF_ABILITIES, WorkOrderKind
from waterops.planning.synthetic_register import demo_register
from waterops.service.renewal import RenewalService
from waterops.service.water_balance import WaterBalanceService
from waterops.service.work_orders import WorkOrderDraft, WorkOrderService
from waterops.store.pipe_register_store import PipeRegisterStore
from waterops.web.app import STATIC_DIR
from web.conftest import REPO, WebServer, check_accessibility
from web.ops_support import open_ops, raise_alarm, serve_network

MORE_JS = [STATIC_DIR / "js" / "ops" / f"{name}.js"
           for name in ("workorders", "trunkmain", "emergency", "treatment", "planning")]
VIEWS = ("workorders", "trunkmain", "emergency", "treatment", "planning")
NAV = {"workorders": "Field work", "trunkmain": "Trunk main", "emergency": "Emergencies",
       "treatment": "Treatment", "planning": "Planning"}
SEES = {  # role: the new views it sees (the API refuses the others)
    Role.DISPATCHER: set(VIEWS),
    Role.WATER_QUALITY_ENGINEER: {"workorders", "trunkmain", "emergency", "treatment"},
    Role.SERVICE_AGENT: {"workorders", "trunkmain"},
    Role.FIELD_CREW: {"workorders", "trunkmain"},
    Role.PLANNER: {"workorders", "trunkmain", "planning"},
    Role.ADMINISTRATOR: set(VIEWS),
}
AXE_EXCLUDE = [".modebar-container"]  # Plotly's own icon buttons (they have titles)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The demo network served, with the example water balance and the demo pipe register."""
    with serve_network(tmp_path_factory.mktemp("ops-more")) as served:
        app = served.app
        app.state.water_balance = WaterBalanceService(REPO / "docs/examples/water-balance.csv")
        renewal = RenewalService(PipeRegisterStore(served.services.accounts.engine))
        renewal.import_register(None, "demo", demo_register(app.state.live.network))
        app.state.renewal = renewal
        yield served


def user_of(server: WebServer, username: str) -> Any:
    found = server.services.accounts.credentials(username)
    assert found is not None
    return found[0]


# ------------------------------------------------------------------ roles


def test_each_role_sees_only_the_views_it_may_use(page: Any, server: WebServer) -> None:
    for role, sees in SEES.items():
        open_ops(page, server, role, view="trunkmain")
        nav = page.get_by_role("navigation", name="Views of the operations centre")
        for view, name in NAV.items():
            assert nav.get_by_role("link", name=name).is_visible() is (view in sees), (role, view)
        page.locator("#tm-safe-days").wait_for()  # every staff role reads the trunk main
        for view in set(VIEWS) - sees:  # (the views it sees render in the tests below)
            page.evaluate(f"location.hash = '#{view}'")
            page.get_by_role("heading", name="Not allowed").wait_for()
            assert page.locator(f"#view-{view}").is_hidden()
            page.evaluate("location.hash = '#trunkmain'")
            page.locator("#view-trunkmain").wait_for()
        if role is Role.DISPATCHER:  # the water balance without the renewal plans
            page.evaluate("location.hash = '#planning'")
            page.locator("#wb-system-rows tr").first.wait_for()
            assert page.locator("#plan-form").count() == 0
        # what the page hides the API refuses
        status = page.evaluate("""async () => (await fetch('/api/v1/contamination/spread', {
            method: 'POST', headers: {'Content-Type': 'application/json', Authorization:
            'Bearer ' + sessionStorage.getItem('waterops.token')},
            body: JSON.stringify({node_id: 'NO-NODE', concentration_mg_l: 1})})).status""")
        assert (status == 403) is ("emergency" not in sees), (role, status)
        page.evaluate("sessionStorage.clear()")


# ------------------------------------------------------------------ work orders


def test_a_work_order_goes_from_an_alarm_to_closed(page: Any, server: WebServer) -> None:
    crew_name, _ = server.user(Role.FIELD_CREW)
    crew = user_of(server, crew_name)
    other_name, _ = server.user(Role.FIELD_CREW)
    other = user_of(server, other_name)
    # an order of another crew, reported two days ago: overdue, and not the first crew's
    field_work = WorkOrderService(server.services.accounts.engine)
    server.app.state.field_work = field_work
    dispatcher = user_of(server, server.user(Role.DISPATCHER)[0])
    late = field_work.create(dispatcher, WorkOrderDraft(
        kind=WorkOrderKind.LEAK, title="old leak", reported_at=datetime.now(UTC)
        - timedelta(days=2)))
    field_work.assign(dispatcher, late.id, other.id, "crew B")
    alarm_id = raise_alarm(server, "P-WO-1")

    open_ops(page, server, Role.DISPATCHER, view="workorders")
    overdue = page.locator(f"#wo-rows tr[data-order='{late.id}']")
    overdue.wait_for()
    assert overdue.get_attribute("data-breached") == "true"
    assert overdue.locator(".wo-breach").inner_text() == "Overdue"
    # only overdue orders: the filter
    view = page.locator("#view-workorders")
    view.get_by_label("Service pledge").select_option("true")
    page.wait_for_function("[...document.querySelectorAll('#wo-rows tr')].every("
                           "r => r.dataset.breached === 'true')")
    view.get_by_label("Service pledge").select_option("")
    # a new order from the open alarm
    page.get_by_label("Open alarm").select_option(str(alarm_id))
    page.get_by_label("Title (optional)").fill("Burst at P-WO-1")
    page.get_by_role("button", name="Create work order").click()
    row = page.locator("#wo-rows tr:has-text('Burst at P-WO-1')")
    row.wait_for()
    order_id = int(row.get_attribute("data-order") or 0)
    stored = field_work.get(dispatcher, order_id)
    assert ("alarm", alarm_id) in [(k.value, t) for k, t in stored.links]
    # assign to the crew
    row.get_by_role("button", name=f"Assign work order {order_id}").click()
    # the crews of the orders seen are suggested (crew B of the overdue order)
    assert row.locator(f"datalist option[value='{other.id}']").inner_text() == "crew B"
    row.get_by_label("Field crew account id").fill(str(crew.id))
    row.get_by_label("Crew name").fill("crew A")
    row.locator("form button[type=submit]").click()
    page.locator(f"#wo-rows tr[data-order='{order_id}'][data-state='assigned']").wait_for()
    page.evaluate("sessionStorage.clear()")

    # the crew sees its own order only, and reports from the field
    open_ops(page, server, Role.FIELD_CREW, view="workorders")
    page.evaluate("sessionStorage.clear()")  # forget the new crew account: log in as crew A
    page.goto(f"{server.base_url}/static/i18n/common.en.json")
    page.evaluate("""async ([username, password]) => {
        const r = await fetch('/api/v1/auth/login', {method: 'POST', headers:
            {'Content-Type': 'application/json'}, body: JSON.stringify({username, password})});
        const a = await r.json();
        sessionStorage.setItem('waterops.token', a.access_token);
        sessionStorage.setItem('waterops.user', JSON.stringify(a.user));
        localStorage.setItem('waterops.lang', 'en'); }""", [crew_name, "demo-password-1"])
    page.goto(f"{server.base_url}/ops#workorders")
    mine = page.locator(f"#wo-rows tr[data-order='{order_id}']")
    mine.wait_for()
    assert page.locator("#wo-rows tr").count() == 1  # not the other crew's overdue order
    assert page.locator("#wo-create").count() == 0  # a crew does not open orders
    assert mine.get_by_role("button", name=re.compile("^Assign")).count() == 0
    mine.get_by_role("button", name=f"Depart work order {order_id}").click()
    page.locator(f"#wo-rows tr[data-order='{order_id}'][data-state='en_route']").wait_for()
    mine.get_by_role("button", name=f"Arrive work order {order_id}").click()
    page.locator(f"#wo-rows tr[data-order='{order_id}'][data-state='on_site']").wait_for()
    mine.get_by_role("button", name=f"Repaired work order {order_id}").click()
    mine.get_by_label("Cause").select_option("pipe_burst")
    mine.get_by_label(re.compile("^Materials")).fill("DN300 clamp; 1; pcs\nDI pipe; 6; m")
    mine.locator("form button[type=submit]").click()
    page.locator(f"#wo-rows tr[data-order='{order_id}'][data-state='repaired']").wait_for()
    assert mine.get_by_role("button", name=re.compile("^Close")).count() == 0  # dispatch only
    page.evaluate("sessionStorage.clear()")

    # the dispatcher closes it with the cause found
    open_ops(page, server, Role.DISPATCHER, view="workorders")
    done = page.locator(f"#wo-rows tr[data-order='{order_id}']")
    done.get_by_role("button", name=f"Close work order {order_id}").click()
    done.get_by_label("Note").fill("clamp fitted")
    done.locator("form button[type=submit]").click()
    done.wait_for(state="detached")  # closed orders leave the open list
    page.locator("#view-workorders").get_by_label("Show").select_option("all")
    page.locator(f"#wo-rows tr[data-order='{order_id}'][data-state='closed']").wait_for()
    closed = field_work.get(dispatcher, order_id)
    assert closed.state.value == "closed" and closed.cause == "pipe_burst"
    assert [(m.name, m.quantity, m.unit) for m in closed.materials] == [
        ("DN300 clamp", 1.0, "pcs"), ("DI pipe", 6.0, "m")]
    # its history, from the link
    page.evaluate(f"location.hash = '#workorders/{order_id}'")
    page.locator("#wo-history").get_by_text("clamp fitted").wait_for()


# ------------------------------------------------------------------ emergencies, treatment


def test_a_contamination_spread_is_counted_and_drawn(page: Any, server: WebServer) -> None:
    network = server.app.state.live.network
    node = str(network.junctions.index[len(network.junctions) // 2])
    open_ops(page, server, Role.WATER_QUALITY_ENGINEER, view="emergency")
    page.locator("#sources-table tr[data-source]").first.wait_for()
    layout = server.app.state.live.layout
    assert page.locator("#sources-table tr[data-source]").count() == len(layout.sources)
    # a click on a node of the map takes it as the injection point
    page.wait_for_function("document.querySelector('#cont-map').dataset.state === 'drawn'")
    clicked = page.evaluate("""() => {
        const div = document.getElementById('cont-map');
        const id = div.data.find(t => t.meta && t.meta.role === 'nodes').customdata[7];
        div.emit('plotly_click', {points: [{customdata: id}]});
        return id; }""")
    assert page.get_by_label("Node id").input_value() == clicked
    page.get_by_label("Node id").fill(node)
    page.get_by_label("Concentration (mg/L)").fill("10")
    # the page's own answer from the API, to compare what it shows with
    with page.expect_response(re.compile(r"/api/v1/contamination/spread$"),
                              timeout=60_000) as response:
        page.get_by_role("button", name="Compute the spread").click()
    answer = response.value.json()
    summary = page.locator("#cont-summary")
    summary.wait_for(timeout=60_000)
    reached = int(summary.get_attribute("data-reached") or -1)
    assert reached == answer["nodes_reached"] > 0
    counts = [int(page.locator(f"#cont-exposure tr[data-within='{h}'] .n-nodes").inner_text())
              for h in ("1", "6", "24")]
    assert counts == [e["nodes"] for e in answer["exposure"]]
    # drawn: every reached node listed once on the map, the injection point marked
    page.wait_for_function("document.querySelector('#cont-map').dataset.state === 'drawn' && "
                           "document.querySelector('#cont-map').dataset.reachedDrawn !== '0'")
    drawn = page.evaluate("""() => document.getElementById('cont-map').data
        .filter(t => (t.name || '').startsWith('arrival-')).flatMap(t => t.customdata)""")
    assert sorted(drawn) == sorted(n["node_id"] for n in answer["nodes"])
    assert page.evaluate("document.getElementById('cont-map').data"
                         ".find(t => t.name === 'injection').customdata") == [node]
    # the do-not-drink draft of the area
    page.get_by_role("button", name="Draft the do-not-drink notice").click()
    page.locator("#dnd-subject").wait_for(timeout=60_000)
    assert "Draft only" in page.locator("#dnd-draft").inner_text()
    # tracing from a quality sensor's readings: the candidates the API ranks, best first
    midnight = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT00:00:00+08:00")
    page.get_by_label(re.compile("^Sensor readings")).fill(
        f"CL-JUNCTION-1582, {midnight.replace('T00', 'T01')}, 0\n"
        f"CL-JUNCTION-1582, {midnight.replace('T00', 'T03')}, 2")
    page.get_by_label("Demand scenarios").fill("2")
    with page.expect_response(re.compile(r"/contamination/trace$"), timeout=60_000) as traced:
        page.get_by_role("button", name="Trace").click()
    candidates = traced.value.json()["candidates"]
    page.locator("#trace-result tbody tr").first.wait_for()
    assert candidates and page.locator("#trace-result tbody tr").count() == len(candidates)
    first = page.locator("#trace-result tbody tr").first.locator("td").first.inner_text()
    assert first == candidates[0]["node_id"]
    # an unknown node is named, nothing drawn
    page.get_by_label("Node id").fill("NO-SUCH-NODE")
    page.get_by_role("button", name="Compute the spread").click()
    page.locator("#cont-error").wait_for()
    assert "NO-SUCH-NODE" in page.locator("#cont-error").inner_text()
    check_accessibility(page, exclude=AXE_EXCLUDE)


def test_treatment_gives_dose_ranges(page: Any, server: WebServer) -> None:
    open_ops(page, server, Role.WATER_QUALITY_ENGINEER, view="treatment")
    page.locator("#drift-none, #drift-flags, #drift-error").first.wait_for()
    page.get_by_label("Raw turbidity (NTU)").fill("40")
    page.get_by_role("button", name="Recommend doses").click()
    coagulant = page.locator("#dose-coagulant")
    coagulant.wait_for()
    low, high = float(coagulant.get_attribute("data-low") or 0), float(
        coagulant.get_attribute("data-high") or 0)
    assert 0 < low < high
    assert "mg/L" in coagulant.inner_text()
    check_accessibility(page, exclude=AXE_EXCLUDE)


# ------------------------------------------------------------------ planning


def test_a_renewal_plan_is_made_drawn_compared_and_exported(page: Any, server: WebServer,
                                                            tmp_path: Path) -> None:
    open_ops(page, server, Role.PLANNER, view="planning")
    # the water balance of the example input: the city and its DMAs
    page.locator("#wb-system-rows tr[data-scope='city']").first.wait_for()
    assert page.locator("#wb-dma-rows tr").count() >= 2
    with page.expect_download() as report:
        page.get_by_role("button", name="Report (HTML)").click()
    report_path = tmp_path / "report.html"
    report.value.save_as(report_path)
    assert "<html" in report_path.read_text("utf-8").lower()

    plans = []
    for name, budgets in (("lean", "200, 200"), ("rich", "800, 800")):
        page.get_by_label("Plan name").fill(name)
        page.get_by_label(re.compile("^Budget per year")).fill(budgets)
        page.get_by_label("Method").select_option("greedy")
        page.get_by_role("button", name="Make the plan").click()
        page.locator(f"#plan-rows tr:has-text('{name}')").wait_for(timeout=60_000)
        shown = page.locator("#plan-shown")
        plans.append(int(page.locator(f"#plan-rows tr:has-text('{name}')")
                         .get_attribute("data-plan") or 0))
        page.wait_for_function(f"document.querySelector('#plan-map').dataset.plan === "
                               f"'{plans[-1]}'")
        assert shown.get_attribute("data-plan") == str(plans[-1])
    lean, rich = plans
    stored = server.app.state.renewal.plan(None, rich)
    assert len(stored.pipes) > 0
    # drawn: the plan's pipes coloured by year on the map
    assert int(page.locator("#plan-map").get_attribute("data-plan-links") or 0) == len(
        stored.pipes)
    by_year = page.evaluate("""() => document.getElementById('plan-map').data.slice(1)
        .map(t => t.x.filter(v => v === null).length)""")
    assert sum(by_year) == len(stored.pipes)
    # side by side
    for plan_id in plans:
        page.get_by_label(f"Compare plan {plan_id}").check()
    page.get_by_role("button", name="Compare the ticked plans").click()
    table = page.locator("#plan-compare-table")
    table.wait_for()
    assert table.locator("thead th[data-plan]").count() == 2
    assert "Budget" in table.inner_text()
    # exports: CSV with the plan's pipes, GeoJSON with a line per pipe
    with page.expect_download() as got:
        page.get_by_role("button", name=f"Export plan {rich} as CSV").click()
    got.value.save_as(tmp_path / "plan.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "plan.csv").read_text("utf-8"))))
    assert sorted(r["pipe_id"] for r in rows) == sorted(stored.pipes["pipe_id"].astype(str))
    with page.expect_download() as got:
        page.get_by_role("button", name=f"Export plan {rich} as GeoJSON").click()
    got.value.save_as(tmp_path / "plan.geojson")
    geo = json.loads((tmp_path / "plan.geojson").read_text("utf-8"))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == len(stored.pipes)
    assert lean != rich
    check_accessibility(page, exclude=AXE_EXCLUDE)


def test_the_other_views_pass_axe_core(page: Any, server: WebServer) -> None:
    raise_alarm(server, "P-AXE-MORE")
    open_ops(page, server, Role.ADMINISTRATOR, view="workorders")
    for view, ready in (("workorders", "#wo-rows[data-count]"), ("trunkmain", "#tm-facts"),
                        ("emergency", "#sources-table"), ("treatment", "#drift-result > *"),
                        ("planning", "#wb-system-rows")):
        page.evaluate(f"location.hash = '#{view}'")
        page.locator(ready).first.wait_for(state="attached")
        check_accessibility(page, exclude=AXE_EXCLUDE)


def test_the_views_render_in_chinese(page: Any, server: WebServer) -> None:
    open_ops(page, server, Role.ADMINISTRATOR, lang="zh-CN", view="trunkmain")
    page.locator("#tm-safe-days").wait_for()
    nav = page.get_by_role("navigation", name="调度中心视图")
    for name in ("现场工单", "输水干管", "应急", "水厂工艺", "规划"):
        assert nav.get_by_role("link", name=name).is_visible()
    assert page.get_by_text("安全运行天数").first.is_visible()
    for view, ready in (("workorders", "#wo-rows[data-count]"), ("emergency", "#sources-table"),
                        ("treatment", "#drift-result > *"), ("planning", "#wb-system-rows")):
        page.evaluate(f"location.hash = '#{view}'")
        page.locator(ready).first.wait_for(state="attached")
        assert "ops." not in page.locator(f"#view-{view}").inner_text(), view


# ------------------------------------------------------------------ texts and tables (no browser)


def more_bundle(lang: str) -> dict[str, str]:
    return dict(json.loads((STATIC_DIR / "i18n" / f"ops-more.{lang}.json").read_text("utf-8")))


def keys_of_the_views() -> tuple[set[str], set[str]]:
    """Literal keys of the new views' scripts and the prefixes they build keys from."""
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in MORE_JS:
        text = path.read_text("utf-8")
        for key in re.findall(r'"((?:ops|common)\.[a-z_A-Z0-9.]*)"', text):
            (prefixes if key.endswith(".") else used).add(key)
    used |= {f"ops.nav.{v}" for v in VIEWS}
    return used, prefixes


BUILT = {  # prefix: the values the scripts append (from the API's enums)
    "ops.wo.kind.": [k.value for k in WorkOrderKind],
    "ops.wo.state.": ["created", "assigned", "en_route", "on_site", "repaired", "closed",
                      "cancelled"],
    "ops.wo.action.": ["assign", "depart", "arrive", "repair", "close", "cancel"],
    "ops.wo.priority.": ["emergency", "urgent", "routine"],
    "ops.em.level.": ["normal", "warning", "alarm"],
    "ops.tr.state.": ["beyond", "approaching", "trending"],
    "ops.pl.method.": ["mip", "greedy"],
    "ops.pl.grade.": ["grade_1", "grade_2", "not_met"],
    "ops.pl.cmp.": ["method", "years", "budget", "cost", "length", "pipes", "roads", "risk",
                    "failures", "gap"],
    "ops.cause.": [c.value for c in Cause], "ops.q.": ["flow", "pressure"],  # H2's bundle
}


@pytest.mark.parametrize("lang", ("en", "zh-CN"))
def test_every_key_of_the_views_exists(lang: str) -> None:
    messages: dict[str, str] = {}
    for name in ("common", "ops", "ops-more"):
        messages |= json.loads((STATIC_DIR / "i18n" / f"{name}.{lang}.json").read_text("utf-8"))
    used, prefixes = keys_of_the_views()
    assert prefixes <= set(BUILT), prefixes - set(BUILT)
    needed = used | {p + v for p in prefixes for v in BUILT[p]}
    assert len(needed) > 200
    missing = sorted(k for k in needed if not messages.get(k, "").strip())
    assert missing == [], f"missing in {lang}: {missing}"


def test_the_bundles_match_and_are_translated() -> None:
    en, zh = more_bundle("en"), more_bundle("zh-CN")
    assert set(en) == set(zh)
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key]))
    assert [k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{4}", en[k])] == []
    used, prefixes = keys_of_the_views()
    built = {p + v for p in prefixes for v in BUILT[p]}
    assert set(en) - used - built == set(), "keys no view uses"


def test_the_pages_work_order_table_equals_the_models() -> None:
    text = (STATIC_DIR / "js/ops/workorders.js").read_text("utf-8")
    found = re.search(r"export const ABILITIES = (\{.+?\});\n", text, re.S)
    assert found
    body = re.sub(r"(?m)^(\s*)(\w+):", r'\1"\2":', found.group(1))
    table = json.loads(re.sub(r",(\s*[}\]])", r"\1", body))
    assert {role: sorted(abilities) for role, abilities in table.items()} == {
        role.value: sorted(a.value for a in abilities)
        for role, abilities in STAFF_ABILITIES.items()}


def test_a_trunk_main_failure_is_recorded_and_restarts_the_count(page: Any,
                                                                 server: WebServer) -> None:
    open_ops(page, server, Role.DISPATCHER, view="trunkmain")
    safe = page.locator("#tm-facts")
    safe.wait_for()
    assert int(safe.get_attribute("data-safe-days") or -1) > 0
    yesterday = datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)  # China time
    page.get_by_label("Occurred (China time)").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Description").fill("joint leak at km 42")
    page.get_by_label("Pipe id (optional)").fill("TM-001")
    page.get_by_role("button", name="Record a failure").click()
    page.locator("#tm-failure-rows tr:has-text('joint leak at km 42')").wait_for()
    page.wait_for_function("document.querySelector('#tm-facts').dataset.safeDays === '1'")
    status = server.app.state.trunk_main.status(user_of(server, server.user(Role.PLANNER)[0]))
    assert status.safe_days == 1 and status.last_failure is not None
    assert status.last_failure.link_id == "TM-001"
    # a planner reads it but has no form
    page.evaluate("sessionStorage.clear()")
    open_ops(page, server, Role.PLANNER, view="trunkmain")
    page.locator("#tm-facts").wait_for()
    assert page.locator("#tm-record").count() == 0
