"""The operations centre (/ops) in a real browser over the demo network (no simulation runs:
the twin's routes answer 409 and the page must say so): the whole network is drawn, each staff
role sees only what it may, alarms arrive live and are worked from the keyboard, details and
accessibility."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from waterops.model.accounts import Role
from web.conftest import WebServer, check_accessibility, expect_focus, log_in
from web.ops_support import open_ops, raise_alarm, serve_network


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with serve_network(tmp_path_factory.mktemp("ops")) as server:
        yield server


def wait_for_map(page: Any, selector: str = "#map") -> dict[str, str]:
    page.wait_for_function(f"document.querySelector('{selector}').dataset.state === 'drawn'",
                           timeout=30_000)
    data: dict[str, str] = page.eval_on_selector(selector, "e => ({...e.dataset})")
    return data


def test_the_map_draws_every_link_of_the_demo_network_and_colours_it(
        page: Any, ops_server: WebServer) -> None:
    live = ops_server.app.state.live
    network_links = len(live.network.pipes) + len(live.network.pumps) + len(live.network.valves)
    open_ops(page, ops_server, Role.DISPATCHER, view="map")
    drawn = wait_for_map(page)
    assert int(drawn["linksTotal"]) == network_links
    assert int(drawn["linksDrawn"]) == network_links
    # every link is in exactly one drawn trace (lines broken by nulls: one null per link)
    in_traces = page.evaluate("""() => document.getElementById('map').data
        .filter(t => t.meta && t.meta.role === 'links')
        .reduce((n, t) => n + t.x.filter(v => v === null).length, 0)""")
    assert in_traces == network_links
    # no twin runs here: the pressure colouring says it is unavailable, pipes are "no value"
    assert "not available" in page.locator("#map-note").inner_text()
    assert page.locator("#legend").get_by_text(f"No value ({network_links})").is_visible()
    # markers: sources, the plant, pump rooms and sensors of the layout
    kinds = page.evaluate("""() => Object.fromEntries(document.getElementById('map').data
        .filter(t => t.meta && t.meta.role === 'markers').map(t => [t.meta.kind, t.x.length]))""")
    layout = live.layout
    assert kinds["source"] == len(layout.sources)
    assert kinds["pump_room"] == len(layout.pump_rooms)
    assert kinds["sensor"] > 0
    # colour by diameter: every pipe is binned (pumps have no diameter), legend in mm
    page.get_by_label("Colour pipes by").select_option("diameter")
    page.wait_for_function("document.querySelector('#map').dataset.colourBy === 'diameter'")
    legend = page.locator("#legend")
    legend.get_by_text("Diameter (mm)").wait_for()
    assert legend.get_by_text(f"No value ({len(live.network.pumps)})").is_visible()
    assert len(re.findall(r"\d+ mm\n", legend.inner_text())) >= 3  # at least three bins


def test_clicking_an_element_or_finding_it_shows_its_details(page: Any,
                                                            ops_server: WebServer) -> None:
    live = ops_server.app.state.live
    pipe = live.network.pipes.index[0] if hasattr(live.network.pipes, "index") else None
    open_ops(page, ops_server, Role.SERVICE_AGENT, view="map")
    wait_for_map(page)
    target = str(pipe) if pipe is not None else "TM-001"
    page.get_by_label("Find element").fill(target)
    page.get_by_role("button", name="Show").click()
    page.locator(f"#details h3[data-element='{target}']").wait_for()
    assert "pipe" in page.locator("#details h3").inner_text()
    page.get_by_label("Find element").fill("NO-SUCH-ELEMENT")
    page.get_by_role("button", name="Show").click()
    page.locator("#details").get_by_text("There is no element NO-SUCH-ELEMENT").wait_for()
    # a click on the map opens the element under the pointer (a node of the drawn network)
    page.evaluate("""() => {
        const div = document.getElementById('map');
        const t = div.data.find(t => t.meta && t.meta.role === 'nodes');
        div.emit('plotly_click', {points: [{customdata: t.customdata[5]}]});
    }""")
    node = page.evaluate("document.getElementById('map').data.find(t => t.meta && "
                         "t.meta.role === 'nodes').customdata[5]")
    page.locator(f"#details h3[data-element='{node}']").wait_for()


ROLES_SEE = [  # role, scenario page, alarm actions
    (Role.DISPATCHER, True, True), (Role.WATER_QUALITY_ENGINEER, False, True),
    (Role.SERVICE_AGENT, False, False), (Role.FIELD_CREW, False, True),
    (Role.PLANNER, True, False), (Role.ADMINISTRATOR, True, True),
]


def test_each_staff_role_sees_only_what_it_may(page: Any, ops_server: WebServer) -> None:
    raise_alarm(ops_server, "P-ROLES-1")
    for role, scenario, acts in ROLES_SEE:
        open_ops(page, ops_server, role, view="alarms")
        nav = page.get_by_role("navigation", name="Views of the operations centre")
        assert nav.get_by_role("link", name="Scenario").is_visible() is scenario, role
        for name in ("Map", "Alarms", "Sensors", "Incidents"):
            assert nav.get_by_role("link", name=name).is_visible(), (role, name)
        row = page.locator("#alarm-rows tr:has-text('P-ROLES-1')")
        row.wait_for()
        assert (row.get_by_role("button", name=re.compile("^Resolve")).count() == 1) is acts
        assert row.get_by_text("View only").is_visible() is not acts, role
        # the address of a view the role may not use says so instead of showing it
        page.evaluate("location.hash = '#scenario'")
        if scenario:
            page.locator("#view-scenario").wait_for()
        else:
            page.get_by_role("heading", name="Not allowed").wait_for()
            assert page.locator("#view-scenario").is_hidden(), role
        # and the API refuses what the page hides
        status = page.evaluate("""async () => (await fetch(
            '/api/v1/alarms/2000000000/acknowledge', {method: 'POST', headers: {
            'Content-Type': 'application/json', Authorization:
            'Bearer ' + sessionStorage.getItem('waterops.token')}, body: '{}'})).status""")
        assert status == (404 if acts else 403), (role, status)
        page.evaluate("sessionStorage.clear()")
    # customers are sent to their portal
    for customer in (Role.HOUSEHOLD_CUSTOMER, Role.ENTERPRISE_CUSTOMER):
        username, password = ops_server.user(customer)
        log_in(page, ops_server.base_url, username, password)
        page.wait_for_url(re.compile(r"/portal$"))
        page.goto(ops_server.base_url + "/ops")
        page.wait_for_url(re.compile(r"/portal$"))
        page.evaluate("sessionStorage.clear()")


def test_a_new_alarm_appears_live_and_is_worked_from_the_keyboard(page: Any,
                                                                  ops_server: WebServer) -> None:
    open_ops(page, ops_server, Role.DISPATCHER, view="map")
    # the navigation from the keyboard: Tab to "Alarms", Enter; aria-current follows
    nav = page.get_by_role("navigation", name="Views of the operations centre")
    nav.get_by_role("link", name="Map").focus()
    page.keyboard.press("Tab")
    expect_focus(page, "textContent", "Alarms")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#alarms$"))
    page.locator(".ops-nav a[data-view='alarms'][aria-current='page']").wait_for()
    assert nav.get_by_role("link", name="Map").get_attribute("aria-current") is None
    assert page.locator("#view-alarms").is_visible() and page.locator("#view-map").is_hidden()
    page.locator("#live-state[data-state='on']").wait_for()
    tile = "Number(document.querySelector('[data-kpi=open_alarms] .kpi-value').textContent)"
    page.wait_for_function(f"!Number.isNaN({tile})")
    open_before = page.evaluate(tile)
    alarm_id = raise_alarm(ops_server, "P-LIVE-1")  # after the page loaded: only the stream
    row = page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}']")
    row.wait_for(timeout=10_000)
    assert "Raised" in row.locator(".state").inner_text()
    # the open-alarms tile follows on the stream's next key figures (every 10 s), no reload
    page.wait_for_function(f"{tile} === {open_before + 1}", timeout=30_000)
    # acknowledge from the keyboard: focus the button, Enter
    row.get_by_role("button", name="Acknowledge P-LIVE-1").focus()
    page.keyboard.press("Enter")
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}'][data-state='acknowledged']").wait_for()
    # assign: the form opens with the focus in it; type, Enter
    row.get_by_role("button", name="Assign P-LIVE-1").focus()
    page.keyboard.press("Enter")
    expect_focus(page, "name", "assignee")
    page.keyboard.press("Control+A")
    page.keyboard.type("crew-7")
    page.keyboard.press("Enter")
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}'][data-state='assigned']").wait_for()
    assert "crew-7" in row.inner_text()
    # resolve with a cause chosen from the keyboard
    row.get_by_role("button", name="Resolve P-LIVE-1").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Cause").select_option("sensor_fault")
    page.get_by_label("Cause").focus()
    page.keyboard.press("Tab")  # the note
    page.keyboard.type("recalibrated")
    page.keyboard.press("Enter")
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}']").wait_for(state="detached")
    page.get_by_label("Show").select_option("all")
    done = page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}'][data-state='resolved']")
    done.wait_for()
    stored = ops_server.app.state.operations.alarm_store.alarm(alarm_id)
    assert stored.state.value == "resolved" and stored.cause.value == "sensor_fault"


def test_the_main_views_pass_axe_core(page: Any, ops_server: WebServer) -> None:
    raise_alarm(ops_server, "P-AXE-1")
    open_ops(page, ops_server, Role.ADMINISTRATOR, view="map")
    wait_for_map(page)
    # Plotly's own mode bar is excluded: third-party icon buttons (they have titles)
    check_accessibility(page, exclude=[".modebar-container"])
    for view, ready in (("alarms", "#alarm-rows tr"), ("sensors", "#sensor-chart .main-svg"),
                        ("incidents", "#incident-body table"),
                        ("scenario", "#scenario-map[data-state='drawn']")):
        page.evaluate(f"location.hash = '#{view}'")
        page.locator(ready).first.wait_for()
        check_accessibility(page, exclude=[".modebar-container"])


def test_the_page_renders_in_chinese(page: Any, ops_server: WebServer) -> None:
    open_ops(page, ops_server, Role.DISPATCHER, lang="zh-CN", view="map")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    nav = page.get_by_role("navigation", name="调度中心视图")
    assert nav.get_by_role("link", name="管网地图").is_visible()
    assert page.get_by_text("输水干管安全运行天数").is_visible()
    # no key is shown raw
    assert "ops." not in page.locator("body").inner_text()
    # a wall screen: bigger type, the map keeps its side panel
    page.set_viewport_size({"width": 2560, "height": 1440})
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "20px"
    columns = page.evaluate("getComputedStyle(document.querySelector('.map-layout'))"
                            ".gridTemplateColumns.split(' ').length")
    assert columns == 2
    # a narrow laptop window: one column, nothing cut off sideways
    page.set_viewport_size({"width": 800, "height": 700})
    assert page.evaluate("getComputedStyle(document.querySelector('.map-layout'))"
                         ".gridTemplateColumns.split(' ').length") == 1
    wide = """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 801 && e.getClientRects().length)
        .map(e => e.tagName + '#' + e.id + '.' + String(e.className)).slice(0, 5)"""
    with contextlib.suppress(Exception):  # Plotly follows the window's size after a moment
        page.wait_for_function(f"({wide})().length === 0", timeout=5_000)
    assert page.evaluate(wide) == []


def dead_end_pipe(network: Any) -> tuple[str, str]:
    """A pipe whose one end is a junction joined to nothing else: closing it cuts that
    junction (and only it) off every source."""
    links = [network.pipes[["node1", "node2"]], network.pumps[["node1", "node2"]],
             network.valves[["node1", "node2"]]]
    degree: dict[str, int] = {}
    for table in links:
        for a, b in table.itertuples(index=False):
            degree[a] = degree.get(a, 0) + 1
            degree[b] = degree.get(b, 0) + 1
    for pipe_id, a, b in network.pipes[["node1", "node2"]].itertuples():
        for leaf in (a, b):
            if degree[leaf] == 1 and leaf in network.junctions.index:
                return str(pipe_id), str(leaf)
    raise AssertionError("the demo network has no dead end")


def test_the_scenario_page_closes_a_pipe_and_shows_who_loses_water(
        page: Any, ops_server: WebServer) -> None:
    pipe, leaf = dead_end_pipe(ops_server.app.state.live.network)
    open_ops(page, ops_server, Role.PLANNER, view="scenario")
    wait_for_map(page, "#scenario-map")
    page.get_by_label(re.compile("^Pipe or valve id")).fill(pipe)
    page.get_by_role("button", name="Close it").click()
    facts = page.locator("#scenario-facts")
    facts.wait_for(timeout=60_000)  # the first closure builds the isolation service
    assert facts.get_attribute("data-lost") == "1"
    assert leaf in page.locator(".node-list").inner_text()
    assert page.locator("#scenario-map").get_attribute("data-closed") == pipe
    drawn = page.evaluate("""() => document.getElementById('scenario-map').data
        .filter(t => t.name === 'lost').flatMap(t => t.customdata)""")
    assert drawn == [leaf]
    # an unknown link is named, nothing is simulated
    page.get_by_label(re.compile("^Pipe or valve id")).fill("NO-SUCH-PIPE")
    page.get_by_role("button", name="Close it").click()
    page.get_by_text("There is no pipe, pump or valve NO-SUCH-PIPE.").wait_for()
