"""``GET /api/v1/stream`` (server-sent events) through a real uvicorn server in a thread, read
by an httpx streaming client: readings of the HTTP ingest, alarm actions, twin states and KPIs
arrive as events; the token may come as ``?token=``."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.conftest import Api
from api.test_operations_api import Demo
from problem_networks import DEMAND_JUMP
from waterops.io.inp import read_inp
from waterops.model.utility import UtilityLayout
from waterops.service.events import EventBus
from waterops.service.incidents import parse_incident_spec
from waterops.service.live import Live
from waterops.service.twin import Twin, TwinSettings
from waterops.service.virtual_utility import build_demo_utility


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    """An app served by uvicorn in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture()
def served(api: Api) -> Iterator[Served]:
    s = Served(api.app)
    yield s
    s.stop()


def events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """The (event, data) pairs of a server-sent event stream."""
    name, data = "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            yield name, json.loads(data)
            name, data = "", ""


class Reader:
    """Reads one stream's events in order."""

    def __init__(self, response: httpx.Response) -> None:
        self.events = events(response)


def read_until(reader: Reader, want: str, check: Any = None,
               timeout_s: float = 20.0) -> tuple[Any, list[str]]:
    """Read events until one named ``want`` (passing ``check``) arrives; also the names seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    for name, data in reader.events:
        seen.append(name)
        if name == want and (check is None or check(data)):
            return data, seen
        assert time.monotonic() < deadline, f"no {want} event in {timeout_s} s: {seen}"
    raise AssertionError(f"stream ended before a {want} event: {seen}")


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_stream_needs_a_staff_token(api: Api, served: Served) -> None:
    customer = api.customer("household1")
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert client.get("/api/v1/stream").status_code == 401
        assert client.get("/api/v1/stream", params={"token": "forged"}).status_code == 401
        answer = client.get("/api/v1/stream", params={"token": token_of(customer)})
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_readings_alarms_and_kpis_arrive_on_the_stream(
    api: Api, layout: UtilityLayout, served: Served,
) -> None:
    demo = Demo(api, layout)
    try:
        demo.sim.inject(parse_incident_spec("booster_failure:PR02"))
        demo.run(1800)
        admin = api.staff("gateway-admin", "administrator")
        dispatcher = api.staff("disp", "dispatcher")
        before = demo.live.bus.subscriber_count
        with httpx.Client(base_url=served.url, timeout=30) as client, client.stream(
            "GET", "/api/v1/stream", params={"token": token_of(dispatcher)},
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = Reader(stream)
            hello, _ = read_until(reader, "hello")
            assert hello["user"] == "disp"
            kpi, _ = read_until(reader, "kpi")  # the first comes at once
            assert kpi["open_alarms"] >= 1

            body = {"readings": [{"sensor": "P-JUNCTION-75",
                                  "time": "2026-11-23T10:00:00+08:00", "value": 31.5}]}
            assert client.post("/api/v1/telemetry/readings", headers=admin,
                               json=body).status_code == 200
            reading, _ = read_until(reader, "reading",
                                    lambda d: "P-JUNCTION-75" in d["sensor_ids"])
            i = reading["sensor_ids"].index("P-JUNCTION-75")
            assert reading["values"][i] == pytest.approx(31.5)
            assert reading["times"][i].startswith("2026-11-23T02:00:00")

            alarm_id = next(a.id for a in demo.feed.service.alarms()  # type: ignore[union-attr]
                            if a.kind == "pump_room_low_pressure")
            assert client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=dispatcher,
                               json={}).status_code == 200
            alarm, _ = read_until(reader, "alarm", lambda d: d["alarm"]["id"] == alarm_id)
            assert alarm["action"] == "acknowledge" and alarm["actor"] == "disp"
            assert alarm["alarm"]["state"] == "acknowledged"

            # the simulator (in process) publishes too: its frames and the twin's new state
            runner = threading.Thread(target=demo.run, args=(900,))
            runner.start()
            twin, names = read_until(reader, "twin")
            runner.join()
            assert twin["time_s"] == 2700
            assert twin["hydraulics_converged"] is True and twin["unconverged_updates"] == 0
            assert "reading" in names
            assert demo.live.bus.subscriber_count == before + 4  # this stream's handlers
        # a client that goes away leaves no handler behind
        deadline = time.monotonic() + 20
        while demo.live.bus.subscriber_count > before:
            assert time.monotonic() < deadline, demo.live.bus.subscriber_count
            time.sleep(0.05)
    finally:
        demo.close()


def test_a_twin_state_that_did_not_converge_says_so_on_the_stream(
    api: Api, layout: UtilityLayout, served: Served, tmp_path: Path,
) -> None:
    live = Live(layout, read_inp(layout.network_file), EventBus())
    api.app.state.live = live
    path = tmp_path / "jump.inp"
    path.write_text(DEMAND_JUMP)  # one trial: the demand jump at 0 s cannot be balanced
    with Twin(path, [], settings=TwinSettings(interval_s=300, source_shares=False)) as twin:
        unbalanced = twin.update(0, {})
        settled = twin.update(1800, {})
    assert not unbalanced.hydraulics_converged and settled.hydraulics_converged
    dispatcher = api.staff("disp", "dispatcher")
    with httpx.Client(base_url=served.url, timeout=30) as client, client.stream(
        "GET", "/api/v1/stream", params={"token": token_of(dispatcher)},
    ) as stream:
        reader = Reader(stream)
        read_until(reader, "hello")
        at = datetime(2026, 11, 23, 2, tzinfo=UTC)
        live.set_twin_state(unbalanced, at)
        live.set_twin_state(settled, at + timedelta(minutes=30))
        first, _ = read_until(reader, "twin")
        assert (first["time_s"], first["hydraulics_converged"]) == (0, False)
        assert first["unconverged_updates"] == 1
        assert first["engine_warning_kinds"] == list(
            dict.fromkeys(w.kind for w in unbalanced.engine_warnings))
        assert {"unbalanced", "unstable"} & set(first["engine_warning_kinds"])
        second, _ = read_until(reader, "twin")
        assert (second["time_s"], second["hydraulics_converged"]) == (1800, True)
        assert second["unconverged_updates"] == 0  # warnings of a converged state may remain
        assert second["engine_warning_kinds"] == list(
            dict.fromkeys(w.kind for w in settled.engine_warnings))
        assert not {"unbalanced", "unstable"} & set(second["engine_warning_kinds"])
