"""The operations API (network, twin, alarms, incidents, telemetry, KPIs) over a real running
demo utility: the simulator steps the bundled network into the database of each backend, the
alarm feed raises alarms, the twin follows; the routes are read over the ASGI app."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from api.conftest import Api
from problem_networks import DEMAND_JUMP
from waterops.config import load_settings
from waterops.io.inp import read_inp
from waterops.model.utility import UtilityLayout
from waterops.service.alarm_feed import AlarmFeed
from waterops.service.alarms import AlarmService
from waterops.service.events import AlarmEvent, Event
from waterops.service.incidents import parse_incident_spec
from waterops.service.live import BusPublisher, Live, ReadingsIngested, run_paced
from waterops.service.simulator import (
    PDA,
    SensorFrame,
    SimulatorConfig,
    StorePublisher,
    VirtualUtility,
)
from waterops.service.trunk_main import DEFAULT_COMMISSIONED, LOCAL_TZ
from waterops.service.twin import Twin, TwinSettings
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore
from waterops.store.telemetry_store import TelemetryStore
from waterops.store.trunk_main_store import TrunkMainStore


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


class Demo:
    """A demo utility run for a while into the API's database, with the twin following."""

    def __init__(self, api: Api, layout: UtilityLayout) -> None:
        engine = api.services.accounts.engine
        self.live_bus_events: list[Event] = []
        self.store = TelemetryStore(engine)
        self.feed: AlarmFeed | None = None
        self.layout = layout
        self.api = api
        from waterops.service.events import EventBus

        bus = EventBus()
        bus.subscribe(Event, self.live_bus_events.append)
        self.feed = AlarmFeed(AlarmService(AlarmStore(engine), bus))
        self.sim = VirtualUtility(layout, SimulatorConfig(seed=5, random_incidents_per_day=0),
                                  [StorePublisher(self.store), self.feed, BusPublisher(bus)])
        self.live = Live(layout, self.sim.net, bus, simulator=self.sim)
        self.live.twin_running = True
        self.twin = Twin.from_layout(layout, settings=TwinSettings(interval_s=900,
                                                                    pressure_driven=PDA))
        api.app.state.live = self.live

    def follow(self, frame: SensorFrame) -> None:
        if frame.time_s % 900 == 0:
            current = {s: float(v) for s, v in zip(frame.sensor_ids, frame.values.tolist(),
                                                   strict=True) if v == v}
            state = self.twin.update(frame.time_s, current)
            assert self.feed is not None
            self.feed.observe_twin(frame.time, state)
            self.live.set_twin_state(state, frame.time)

    def run(self, duration_s: int) -> None:
        import threading

        run_paced(self.live, 1e9, threading.Event(), duration_s=duration_s,
                  on_frame=self.follow)

    def close(self) -> None:
        self.twin.close()
        self.sim.close()


@pytest.fixture()
def demo(api: Api, layout: UtilityLayout) -> Iterator[Demo]:
    d = Demo(api, layout)
    d.sim.inject(parse_incident_spec("booster_failure:PR02"))
    d.run(3600)
    yield d
    d.close()


def problem(answer: object, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert words in body["detail"], body


# -- network -----------------------------------------------------------------------------------

def test_network_summary_map_and_element(api: Api, demo: Demo) -> None:
    staff = api.staff("disp", "dispatcher")
    net = demo.sim.net
    summary = api.client.get("/api/v1/network", headers=staff).json()
    assert summary["counts"]["junctions"] == len(net.junctions)
    assert summary["counts"]["pipes"] == len(net.pipes)
    assert math.isclose(summary["pipe_length_km"], net.pipes["length_m"].sum() / 1e3)
    assert {s["source_id"] for s in summary["sources"]} == {"SRC-SHUIKU", "SRC-RIVER"}
    assert summary["dmas"] == 13 and summary["sensors"] == len(demo.layout.sensors)

    m = api.client.get("/api/v1/network/map", headers=staff).json()
    n_nodes = len(net.junctions) + len(net.reservoirs) + len(net.tanks)
    assert len(m["node_ids"]) == len(m["node_x"]) == len(m["node_kind"]) == n_nodes
    n_links = len(net.pipes) + len(net.pumps) + len(net.valves)
    assert len(m["link_ids"]) == len(m["link_from"]) == len(m["link_diameter_m"]) == n_links
    assert m["crs"] == demo.layout.crs
    i = m["node_ids"].index("JUNCTION-75")
    assert m["node_x"][i] == pytest.approx(float(net.coordinates.at["JUNCTION-75", "x"]))
    k = m["link_ids"].index("TM-001")
    assert m["link_diameter_m"][k] == pytest.approx(float(net.pipes.at["TM-001", "diameter_m"]))
    kinds = {mk["kind"] for mk in m["markers"]}
    assert kinds == {"sensor", "pump_room", "source", "plant"}
    pr02 = next(mk for mk in m["markers"] if mk["id"] == "PR02")
    assert pr02["element_id"] == demo.layout.pump_room("PR02").city_node

    element = api.client.get("/api/v1/network/elements/JUNCTION-75", headers=staff).json()
    assert element["kind"] == "junction" and element["dma"] is not None
    state = demo.live.twin_state
    assert state is not None
    assert element["twin"]["pressure_m"] == pytest.approx(state.pressure_m["JUNCTION-75"])
    problem(api.client.get("/api/v1/network/elements/NOPE-1", headers=staff), 404, "NOPE-1")


def test_operations_routes_are_for_staff_only(api: Api, demo: Demo) -> None:
    customer = api.customer("household1")
    for url in ("/api/v1/network", "/api/v1/network/map", "/api/v1/twin/state",
                "/api/v1/alarms", "/api/v1/telemetry/latest", "/api/v1/kpis"):
        assert api.client.get(url, headers=customer).status_code == 403, url
        assert api.client.get(url).status_code == 401, url


def test_without_a_live_process_the_routes_say_what_is_missing(
    api: Api, tmp_path: Path, net1_path: Path,
) -> None:
    staff = api.staff("disp", "dispatcher")
    problem(api.client.get("/api/v1/twin/state", headers=staff), 409, "no twin is running")
    problem(api.client.get("/api/v1/network", headers=staff), 409, "WATEROPS_NETWORK")
    problem(api.client.post("/api/v1/incidents", headers=staff,
                            json={"type": "pipe_burst", "element": "JUNCTION-75"}), 409,
            "no twin is running")
    api.app.state.settings = load_settings({"WATEROPS_DATA_DIR": str(tmp_path),
                                            "WATEROPS_NETWORK": str(net1_path)})
    summary = api.client.get("/api/v1/network", headers=staff).json()
    assert summary["counts"]["junctions"] == 9 and summary["counts"]["pumps"] == 1


# -- twin --------------------------------------------------------------------------------------

def test_twin_state_and_values_aligned_with_the_map(api: Api, demo: Demo) -> None:
    staff = api.staff("quality", "water_quality_engineer")
    state = demo.live.twin_state
    assert state is not None
    body = api.client.get("/api/v1/twin/state", headers=staff).json()
    assert body["time_s"] == state.time_s == 3600
    assert {d["dma_id"] for d in body["dmas"]} == {d.id for d in demo.layout.dmas}
    assert sum(body["source_shares"].values()) == pytest.approx(1.0, abs=0.02)
    assert body["hydraulics_converged"] is state.hydraulics_converged is True
    assert body["unconverged_updates"] == 0 and body["engine_warnings"] == []
    m = api.client.get("/api/v1/network/map", headers=staff).json()
    nodes = api.client.get("/api/v1/twin/nodes?quantity=pressure", headers=staff).json()
    assert nodes["ids"] == m["node_ids"] and nodes["unit"] == "m"
    assert nodes["hydraulics_converged"] is True
    for node in ("JUNCTION-75", "RES-SHUIKU"):
        assert nodes["values"][m["node_ids"].index(node)] == pytest.approx(state.pressure_m[node])
    links = api.client.get("/api/v1/twin/links?quantity=velocity", headers=staff).json()
    k = m["link_ids"].index("TM-001")
    d = float(demo.sim.net.pipes.at["TM-001", "diameter_m"])
    assert links["values"][k] == pytest.approx(abs(state.flow_m3s["TM-001"]) / (np.pi * d * d / 4))
    problem(api.client.get("/api/v1/twin/nodes?quantity=chlorine", headers=staff), 409,
            "does not model chlorine")
    assert api.client.get("/api/v1/twin/nodes?quantity=colour", headers=staff).status_code == 422


def test_twin_state_says_when_its_hydraulics_did_not_converge(
    api: Api, layout: UtilityLayout, tmp_path: Path
) -> None:
    path = tmp_path / "jump.inp"
    path.write_text(DEMAND_JUMP)  # one trial cannot follow the demand's jump at 1 h
    live = Live(layout, read_inp(path))
    api.app.state.live = live
    staff = api.staff("disp", "dispatcher")
    with Twin(path, [], settings=TwinSettings(source_shares=False)) as twin:
        for t_s in (0, 1800, 3600):
            state = twin.update(t_s, {})
            live.set_twin_state(state, datetime(2026, 12, 7, 8, 0) + timedelta(seconds=t_s))
            body = api.client.get("/api/v1/twin/state", headers=staff).json()
            assert body["time_s"] == t_s
            assert body["hydraulics_converged"] is state.hydraulics_converged
            assert body["unconverged_updates"] == state.unconverged_updates
    assert body["hydraulics_converged"] is False and body["unconverged_updates"] == 1
    unstable = [w for w in body["engine_warnings"] if w["kind"] == "unstable"]
    assert unstable and unstable[0]["time_s"] == 3600 and unstable[0]["element"] is None
    assert "WARNING" in unstable[0]["message"]


# -- alarms and incidents ----------------------------------------------------------------------

def test_alarm_actions_are_checked_audited_and_published(api: Api, demo: Demo) -> None:
    dispatcher = api.staff("disp", "dispatcher")
    planner = api.staff("plan", "planner")
    page = api.client.get("/api/v1/alarms?state=raised", headers=dispatcher).json()
    room = [a for a in page["items"] if a["kind"] == "pump_room_low_pressure"]
    assert room and room[0]["diagnosis"] == "booster_fault", page
    alarm_id = room[0]["id"]
    assert "acknowledge" in room[0]["allowed_actions"]
    url = f"/api/v1/alarms/{alarm_id}"
    assert api.client.post(url + "/acknowledge", headers=planner, json={}).status_code == 403
    seen = len(demo.live_bus_events)
    acked = api.client.post(url + "/acknowledge", headers=dispatcher, json={"note": "on it"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged" and acked.json()["acknowledged_by"] == "disp"
    published = [e for e in demo.live_bus_events[seen:] if isinstance(e, AlarmEvent)]
    assert published and published[0].alarm.id == alarm_id
    problem(api.client.post(url + "/acknowledge", headers=dispatcher, json={}), 409,
            "cannot acknowledge")
    assigned = api.client.post(url + "/assign", headers=dispatcher,
                               json={"assignee": "crew 3"}).json()
    assert assigned["assignee"] == "crew 3" and assigned["state"] == "assigned"
    resolved = api.client.post(url + "/resolve", headers=dispatcher,
                               json={"cause": "booster_fault", "note": "pump replaced"}).json()
    assert resolved["state"] == "resolved"
    assert api.client.post(url + "/resolve", headers=dispatcher,
                           json={"cause": "no_such_cause"}).status_code == 422
    audit = AlarmStore(api.services.accounts.engine).audit("alarm", alarm_id)
    assert [(a.actor, a.action) for a in audit if a.actor == "disp"] == [
        ("disp", "acknowledge"), ("disp", "assign"), ("disp", "resolve")]
    problem(api.client.get("/api/v1/alarms/999999", headers=dispatcher), 404, "999999")
    only_minor = api.client.get("/api/v1/alarms?severity=minor", headers=dispatcher).json()
    assert all(a["severity"] == "minor" for a in only_minor["items"])
    incidents = api.client.get("/api/v1/incidents", headers=dispatcher).json()
    assert any(alarm_id in i["alarm_ids"] for i in incidents["items"])


def test_incidents_are_injected_into_the_running_simulator(api: Api, demo: Demo) -> None:
    dispatcher = api.staff("disp", "dispatcher")
    crew = api.staff("crew", "field_crew")
    body = {"type": "pipe_burst", "element": "JUNCTION-75", "size": 0.003}
    assert api.client.post("/api/v1/incidents", headers=crew, json=body).status_code == 403
    made = api.client.post("/api/v1/incidents", headers=dispatcher, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["element"] == "JUNCTION-75" and made.json()["size_unit"] == "m2"
    problem(api.client.post("/api/v1/incidents", headers=dispatcher, json=body), 422,
            "under way there")
    problem(api.client.post("/api/v1/incidents", headers=dispatcher,
                            json={"type": "pipe_burst", "element": "TANK-1"}), 422, "TANK-1")
    demo.run(600)
    assert any(i.element == "JUNCTION-75" for i in demo.sim.open_incidents)
    listed = api.client.get("/api/v1/incidents/injected", headers=dispatcher).json()
    assert listed["items"][0]["id"] == made.json()["id"] and listed["items"][0]["active"]
    assert listed["total"] == 2  # and the booster failure of the fixture
    audit = api.client.get("/api/v1/users/audit-log", headers=api.login("root-admin")).json()
    assert any(line["action"] == "inject_incident" for line in audit["items"]), audit


# -- telemetry ---------------------------------------------------------------------------------

def test_sensors_latest_and_series_with_the_twin(api: Api, demo: Demo) -> None:
    staff = api.staff("disp", "dispatcher")
    page = api.client.get("/api/v1/telemetry/sensors?quantity=pressure&limit=200",
                          headers=staff).json()
    assert page["total"] == sum(1 for s in demo.layout.sensors if s.quantity == "pressure")
    assert all(s["unit"] == "m" for s in page["items"])
    latest = api.client.get("/api/v1/telemetry/latest", headers=staff).json()["items"]
    stored = demo.store.latest()
    assert len(latest) == len(stored)
    one = api.client.get("/api/v1/telemetry/latest?sensor=Q-TM-001&sensor=P-JUNCTION-75",
                         headers=staff).json()["items"]
    by_id = {r["sensor_id"]: r for r in one}
    row = stored.set_index("sensor_id").loc["Q-TM-001"]
    assert by_id["Q-TM-001"]["value"] == pytest.approx(row["value"])
    assert by_id["Q-TM-001"]["unit"] == "m3/s"
    assert datetime.fromisoformat(by_id["Q-TM-001"]["time"]) == row["time"]

    start = demo.sim.epoch
    end = start + timedelta(hours=1, minutes=1)
    series = api.client.get(
        "/api/v1/telemetry/series/P-JUNCTION-75",
        params={"from": start.isoformat(), "to": end.isoformat(), "every": "15min",
                "with_twin": "true"}, headers=staff).json()
    assert series["unit"] == "m" and len(series["points"]) == 5
    assert sum(p["count"] for p in series["points"]) == len(
        demo.store.readings("P-JUNCTION-75"))
    assert [p["time"][11:16] for p in series["twin"]] == ["16:00", "16:15", "16:30", "16:45",
                                                         "17:00"]
    assert api.client.get("/api/v1/telemetry/series/P-JUNCTION-75", headers=staff, params={
        "from": "2026-01-01T00:00:00", "to": end.isoformat()}).status_code == 422
    problem(api.client.get("/api/v1/telemetry/series/NOPE", headers=staff, params={
        "from": start.isoformat(), "to": end.isoformat()}), 404, "NOPE")


def test_http_batch_ingest_is_all_or_nothing_and_announced(api: Api, demo: Demo) -> None:
    admin = api.staff("gateway-admin", "administrator")
    dispatcher = api.staff("disp", "dispatcher")
    t = "2026-11-23T10:00:00+08:00"
    good = {"sensor": "P-JUNCTION-75", "time": t, "value": 3.2, "unit": "bar"}
    bad = {"sensor": "P-JUNCTION-75", "time": "2026-11-23T10:05:00", "value": 3.1}
    assert api.client.post("/api/v1/telemetry/readings", headers=dispatcher,
                           json={"readings": [good]}).status_code == 403
    before = len(demo.store.readings("P-JUNCTION-75"))
    answer = api.client.post("/api/v1/telemetry/readings", headers=admin,
                             json={"readings": [good, bad]})
    problem(answer, 422, "nothing stored")
    assert "2026-11-23T10:05:00" in answer.json()["detail"]
    assert len(demo.store.readings("P-JUNCTION-75")) == before
    seen = len(demo.live_bus_events)
    ok = api.client.post("/api/v1/telemetry/readings", headers=admin, json={"readings": [good]})
    assert ok.json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert len(demo.store.readings("P-JUNCTION-75")) == before + 1
    events = [e for e in demo.live_bus_events[seen:] if isinstance(e, ReadingsIngested)]
    assert events[0].sensor_ids == ("P-JUNCTION-75",)
    assert events[0].values[0] == pytest.approx(3.2e5 / (998.2 * 9.80665), rel=2e-3)
    again = api.client.post("/api/v1/telemetry/readings", headers=admin, json={"readings": [good]})
    assert again.json()["duplicates"] == 1


# -- KPIs --------------------------------------------------------------------------------------

def test_kpis_from_the_records(api: Api, demo: Demo) -> None:
    staff = api.staff("disp", "dispatcher")
    k = api.client.get("/api/v1/kpis", headers=staff).json()
    open_alarms = [a for a in AlarmStore(api.services.accounts.engine).alarms()
                   if a.state in ("raised", "acknowledged", "assigned")]
    assert k["open_alarms"] == len(open_alarms) >= 1
    # an hour of the trunk main's flow meter: about 1/24 of a city day (~120,000 m³)
    assert 2_000 < k["delivered_total_m3"] < 10_000
    assert k["delivered_today_m3"] == pytest.approx(k["delivered_total_m3"])
    change = demo.live.storage_change_m3()
    assert change != 0.0
    assert k["nrw_input_m3"] == pytest.approx(demo.live.source_input_m3 - change)
    # a booster failure loses no water: what the customers got is what came in, within the
    # model's mass balance (input, storage and delivery summed alike: never below zero)
    assert 0.0 <= k["nrw_percent"] < 2
    assert k["applications_in_progress"] == 0 and k["complaints_today"] == 0
    # no failure recorded: safe days count from the main's commissioning (local days)
    now = datetime.fromisoformat(k["time"]).astimezone(LOCAL_TZ)
    assert k["trunk_main_safe_days"] == (now.date() - DEFAULT_COMMISSIONED.date()).days
    # a recorded failure (not an alarm) resets the counter to its day
    failed = now - timedelta(days=3)
    dispatcher = api.services.auth.authenticate(staff["Authorization"].split()[1])
    main = next(s for s in demo.layout.sources if s.main_links and not s.backup)
    TrunkMainStore(api.services.accounts.engine).record_failure(
        main.id, failed, failed, dispatcher, description="joint failure at km 40")
    api.app.state.operations.kpi_cache = None  # figures are cached for 2 s
    again = api.client.get("/api/v1/kpis", headers=staff).json()
    later = datetime.fromisoformat(again["time"]).astimezone(LOCAL_TZ)
    assert again["trunk_main_safe_days"] == (later.date() - failed.date()).days


def test_kpis_before_the_source_meters_are_registered(api: Api, layout: UtilityLayout) -> None:
    """A live utility whose meters the store has not registered yet: the figures it cannot
    know are null, the others are given (not a server error)."""
    from waterops.io.inp import read_inp
    from waterops.service.events import EventBus

    api.app.state.live = Live(layout, read_inp(layout.network_file), EventBus())
    staff = api.staff("disp-k", "dispatcher")
    answer = api.client.get("/api/v1/kpis", headers=staff)
    assert answer.status_code == 200, answer.text
    k = answer.json()
    assert k["delivered_today_m3"] is None and k["delivered_total_m3"] is None
    assert k["open_alarms"] == 0 and k["trunk_main_safe_days"] >= 0
