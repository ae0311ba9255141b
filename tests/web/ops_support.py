"""Servers of the operations-centre browser tests.

* :func:`serve_network` — the web application with the demo utility's layout and network
  (a :class:`~waterops.service.live.Live` without simulator or twin): the map, elements,
  alarms and the stream work; the twin's routes answer 409. Cheap: no simulation runs.
* :func:`serve_demo` — the live demo (:class:`waterops.cli.demo_web.DemoRun`: simulator,
  alarm feed, twin) at a high speed, for the few tests that need incidents to be detected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from waterops.cli.demo_web import DemoRun
from waterops.io.inp import read_inp
from waterops.model.alarms import AlarmSignal, Severity
from waterops.service.alarms import AlarmService
from waterops.service.live import Live
from waterops.service.simulator import SimulatorConfig
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore
from waterops.store.telemetry_store import TelemetryStore
from waterops.web.app import create_app
from web.conftest import ServerThread, WebServer, make_settings

_LAYOUT: Any = None


def demo_layout() -> Any:
    """The demo utility's layout (built once per test process: about 4 s)."""
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = build_demo_utility()
    return _LAYOUT


@contextmanager
def serve_network(folder: Path) -> Iterator[WebServer]:
    """The web app over the demo network with a :class:`Live` holding no simulator."""
    layout = demo_layout()
    live = Live(layout, read_inp(layout.network_file))
    app = create_app(make_settings(folder), live=live)
    # the sensor registry of the utility, as the demo's simulator writes it at start
    store = TelemetryStore(app.state.services.accounts.engine)
    store.upsert_systems(layout.systems)
    store.upsert_sites(layout.sites)
    store.upsert_sensors(layout.sensors)
    with ServerThread(app) as base_url:
        yield WebServer(base_url, app)


@contextmanager
def serve_demo(folder: Path, *, speed: float = 1800.0) -> Iterator[WebServer]:
    """The live demo (simulator, alarm feed, twin every 15 simulated minutes) at ``speed``
    times real time, served with the operations centre; no random incidents."""
    settings = make_settings(folder)
    start = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).replace(
        hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    run = DemoRun(settings, demo_layout(), SimulatorConfig(seed=11, start=start,
                                                           random_incidents_per_day=0.0,
                                                           tracer=False), speed)
    app = run.start()
    run.start_simulator()
    try:
        with ServerThread(app) as base_url:
            yield WebServer(base_url, app)
    finally:
        run.close()


def alarm_service(server: WebServer) -> AlarmService:
    """An alarm service on the server's database and event bus (what a detector would use)."""
    return AlarmService(AlarmStore(server.services.accounts.engine), server.app.state.live.bus)


def raise_alarm(server: WebServer, source: str, *, kind: str = "low_pressure",
                value: float = 9.5, message: str = "Low pressure") -> int:
    """Raise an alarm as a detector would; answers its id."""
    alarm = alarm_service(server).report(AlarmSignal(
        kind=kind, source=source, condition="pressure>=14", active=True,
        time=datetime.now(UTC) - timedelta(seconds=1), severity=Severity.MAJOR,
        group_key=f"test:{source}", value=value, unit="m", message=f"{message} at {source}",
        message_zh=f"{source} 压力低", diagnosis="test diagnosis: pressure below 14 m"))
    assert alarm is not None
    return alarm.id


def open_ops(page: Any, server: WebServer, role: str, *, lang: str = "en",
             view: str = "map") -> str:
    """Open /ops#``view`` logged in as a new account of ``role`` (the log-in form itself is
    tested in test_login_pages.py: here the token is fetched by the page's own origin and
    kept where the log-in page keeps it); answers the user name."""
    username, password = server.user(role)
    page.goto(f"{server.base_url}/static/i18n/common.en.json")
    page.evaluate("""async ([username, password, lang]) => {
        const r = await fetch('/api/v1/auth/login', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({username, password})});
        const answer = await r.json();
        sessionStorage.setItem('waterops.token', answer.access_token);
        sessionStorage.setItem('waterops.user', JSON.stringify(answer.user));
        localStorage.setItem('waterops.lang', lang);
    }""", [username, password, lang])
    page.goto(f"{server.base_url}/ops?lang={lang}#{view}")
    page.wait_for_function("document.querySelector('#kpi-tiles').dataset.state !== 'loading'")
    return username
