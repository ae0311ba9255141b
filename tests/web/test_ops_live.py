"""The operations centre on the running demo (simulator, alarm feed, twin; CPU-heavy, so one
test): the map is coloured by the twin's pressures, an incident started from the page is
detected and arrives live in the alarm list, which the dispatcher acknowledges and resolves;
readings arrive on the open page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from waterops.model.accounts import Role
from web.conftest import WebServer
from web.ops_support import open_ops, serve_demo


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with serve_demo(tmp_path_factory.mktemp("ops-live")) as server:
        yield server


def test_an_injected_incident_appears_live_and_is_acknowledged_and_resolved(
        page: Any, demo_server: WebServer) -> None:
    live = demo_server.app.state.live
    page.set_default_timeout(60_000)
    open_ops(page, demo_server, Role.DISPATCHER, view="alarms")
    page.locator("#live-state[data-state='on']").wait_for()
    # readings stream into the open page
    page.wait_for_function("Object.keys(window.waterops.readings).length > 100")
    before = {a.id for a in demo_server.app.state.operations.alarm_store.alarms()}
    # start a booster failure in pump room PR02 from the incidents page (no reload)
    nav = page.get_by_role("navigation", name="Views of the operations centre")
    nav.get_by_role("link", name="Incidents").click()
    page.get_by_label("Type", exact=True).select_option("booster_failure")
    page.get_by_label("Element id (node, pipe, pump or sensor)").fill("PR02")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("started at PR02").wait_for()
    assert any(i.element == "PR02" for i in live.injected_incidents())
    # back on the alarm list (loaded before the incident): the alarm can only come live
    nav.get_by_role("link", name="Alarms").click()
    row = page.locator("#alarm-rows tr:has-text('PR02')").first
    row.wait_for(timeout=120_000)
    alarm_id = int(row.get_attribute("data-alarm") or 0)
    assert alarm_id not in before
    row.get_by_role("button", name="Acknowledge PR02").click()
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}'][data-state='acknowledged']").wait_for()
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}']").get_by_role(
        "button", name="Resolve PR02").click()
    page.get_by_label("Cause").select_option("booster_fault")
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}'] form").get_by_role(
        "button", name="Resolve").click()
    page.locator(f"#alarm-rows tr[data-alarm='{alarm_id}']").wait_for(state="detached")
    stored = demo_server.app.state.operations.alarm_store.alarm(alarm_id)
    assert stored.state.value == "resolved" and stored.resolved_by.startswith("dispatcher")
    # its incident page: the diagnosis and the customers who would lose water
    assert stored.incident_id is not None and stored.diagnosis
    page.evaluate(f"location.hash = '#incidents/{stored.incident_id}'")
    page.locator(f"h3[data-incident='{stored.incident_id}']").wait_for()
    assert stored.diagnosis in page.locator("#incident-diagnosis").inner_text()
    affected = page.locator("#affected-count")
    affected.wait_for(timeout=120_000)  # the first plan builds the isolation service
    assert int(affected.get_attribute("data-count") or -1) >= 0
    # a sensor's chart: measured against the twin
    sensor = str(live.twin_state.residuals.dropna(subset=["model"]).index[0])
    page.evaluate(f"location.hash = '#sensors/{sensor}'")
    page.locator(f"#sensor-chart[data-sensor='{sensor}']").wait_for()
    chart = page.eval_on_selector("#sensor-chart", "e => ({...e.dataset})")
    assert int(chart["points"]) > 0 and int(chart["twinPoints"]) > 0
    # the map is coloured by the twin's pressures once it has a state
    live_twin = live.twin_state
    assert live_twin is not None
    nav.get_by_role("link", name="Map").click()
    page.wait_for_function("document.querySelector('#map').dataset.state === 'drawn'")
    legend = page.locator("#legend").inner_text()
    assert "MPa" in legend and page.locator("#map-note").inner_text() == ""
    coloured = page.evaluate("""() => document.getElementById('map').data
        .filter(t => t.meta && t.meta.role === 'links' && t.line.color !== '#9aa3ad')
        .reduce((n, t) => n + t.x.filter(v => v === null).length, 0)""")
    assert coloured > 0.9 * len(live.network.pipes)
    # flow: the twin's link flows, in L/s
    page.get_by_label("Colour pipes by").select_option("flow")
    page.wait_for_function("document.querySelector('#map').dataset.colourBy === 'flow'")
    assert "Flow (L/s)" in page.locator("#legend").inner_text()
    coloured = page.evaluate("""() => document.getElementById('map').data
        .filter(t => t.meta && t.meta.role === 'links' && t.line.color !== '#9aa3ad')
        .reduce((n, t) => n + t.x.filter(v => v === null).length, 0)""")
    assert coloured > 0.9 * len(live.network.pipes)
    # chlorine: the twin does not model it, so the measured free chlorine at the chlorine
    # sensors is drawn (in GB 5749-2022 bins, mg/L)
    page.get_by_label("Colour pipes by").select_option("chlorine")
    page.wait_for_function("document.querySelector('#map').dataset.colourBy === 'chlorine'")
    hexagons = page.evaluate("""() => document.getElementById('map').data
        .filter(t => t.meta && t.meta.role === 'chlorine').reduce((n, t) => n + t.x.length, 0)""")
    chlorine_sensors = [s for s in live.layout.sensors if s.quantity.value == "chlorine"
                        and s.element_kind == "node"]
    assert 0 < hexagons <= len(chlorine_sensors)
    assert f"at {hexagons} sensors" in page.locator("#map-note").inner_text()
    assert "0.05 – 0.3 mg/L" in page.locator("#legend").inner_text()
