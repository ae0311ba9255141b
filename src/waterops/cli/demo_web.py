"""``waterops demo`` with the operations centre: the simulator and the twin in a background
thread, the web application on uvicorn in this process, until Ctrl-C (or ``--for``).

The simulator publishes each frame into the store (in process, or through the MQTT broker
and the ingest), into the alarm feed, and onto the event bus (:class:`BusPublisher`), so the
live stream of every open page shows readings, alarms and twin states as they happen.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from waterops.config import Settings
from waterops.errors import ConfigError
from waterops.model.accounts import Role
from waterops.model.enterprises import Enterprise
from waterops.model.utility import UtilityLayout
from waterops.service.alarm_feed import AlarmFeed
from waterops.service.alarms import AlarmService
from waterops.service.demo_enterprise import ensure_demo_enterprise
from waterops.service.events import EventBus
from waterops.service.incidents import IncidentRequest
from waterops.service.live import (
    BusPublisher,
    Live,
    NotifyingStore,
    ensure_demo_accounts,
    run_paced,
)
from waterops.service.simulator import (
    PDA,
    MqttPublisher,
    Publisher,
    SensorFrame,
    SimulatorConfig,
    StorePublisher,
    VirtualUtility,
)
from waterops.service.twin import Twin, TwinSettings
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore
from waterops.telemetry.mqtt_ingest import MqttIngest, parse_broker_url

log = logging.getLogger(__name__)

TWIN_EVERY_S = 900
"""The twin follows the utility every 15 min of simulated time."""
DEMO_SESSION_EXPIRY_S = 3600
INGEST_WAIT_S = 30.0


def web_app(settings: Settings, live: Live) -> FastAPI:
    """The web application (pages and API) over ``live``; the API alone until the pages
    exist."""
    try:
        from waterops.web.app import create_app
    except ImportError:  # pragma: no cover - the pages are being written
        from waterops.api.app import create_app as create_api_app

        return create_api_app(settings, live=live)
    app: FastAPI = create_app(settings, live=live)
    return app


@dataclass
class DemoRun:
    """The live demo: simulator, twin, alarm feed, ingest (MQTT) and the web application.

    :meth:`start` opens everything and starts the simulator thread; :meth:`close` stops and
    releases it all (the ground truth is written to ``truth_file``).
    """

    settings: Settings
    layout: UtilityLayout
    config: SimulatorConfig
    speed: float
    requests: list[IncidentRequest] = field(default_factory=list)
    duration_s: int | None = None
    with_twin: bool = True
    broker: str | None = None
    truth_file: Path | None = None
    bus: EventBus = field(default_factory=EventBus)
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def start(self) -> FastAPI:
        """Open the store, the simulator and the twin; build the app (stepping starts with
        :meth:`start_simulator`)."""
        self.store = TelemetryStore.open(self.settings.database_url)
        self._threads: list[threading.Thread] = []
        self.ingest: MqttIngest | None = None
        try:
            publishers = self._publishers()
            self.feed = AlarmFeed(AlarmService(AlarmStore(self.store.engine), self.bus))
            self.sim = VirtualUtility(self.layout, self.config, [*publishers, self.feed])
            for request in self.requests:
                self.sim.inject(request)
            self.live = Live(self.layout, self.sim.net, self.bus, simulator=self.sim)
            self.live.twin_running = self.with_twin
            self.twin = (Twin.from_layout(self.layout, settings=TwinSettings(
                interval_s=TWIN_EVERY_S, pressure_driven=PDA)) if self.with_twin else None)
            self.app = web_app(self.settings, self.live)
        except BaseException:
            self.close()
            raise
        return self.app

    def start_simulator(self) -> None:
        """Start stepping the utility in a background thread."""
        runner = threading.Thread(target=self._run, name="waterops-demo-simulator", daemon=True)
        self._threads.append(runner)
        runner.start()

    def demo_accounts(self) -> list[tuple[str, Role, str]]:
        """Create (or renew) the demo accounts; their passwords, drawn now."""
        return ensure_demo_accounts(self.app.state.services.auth)

    def demo_enterprise(self) -> Enterprise:
        """Register (or find) the demo enterprise customer's enterprise, with its meter's
        history (after :meth:`demo_accounts`)."""
        return ensure_demo_enterprise(self.app.state.services.auth, self.layout)

    def _publishers(self) -> list[Publisher]:
        if self.broker is None:
            return [StorePublisher(self.store), BusPublisher(self.bus)]
        digest = hashlib.sha1(self.settings.database_url.encode()).hexdigest()[:10]
        self.ingest = MqttIngest(parse_broker_url(self.broker),
                                 NotifyingStore(self.store, self.bus, "mqtt"),
                                 client_id=f"waterops-demo-ingest-{digest}",
                                 session_expiry_s=DEMO_SESSION_EXPIRY_S)
        self.ingest.start()
        if not self.ingest.connected.wait(INGEST_WAIT_S):
            raise ConfigError(f"the MQTT broker {self.broker} did not answer in "
                              f"{INGEST_WAIT_S:g} s")
        time.sleep(0.5)  # let the broker take the subscription before the first reading
        thread = threading.Thread(target=self.ingest.run, args=(self.stop,), daemon=True)
        self._threads.append(thread)
        thread.start()
        return [MqttPublisher(self.broker, store=self.store)]

    def _follow(self, frame: SensorFrame) -> None:
        # only this frame's readings: a sensor that dropped out must look missing to the twin
        if self.twin is None or frame.time_s % TWIN_EVERY_S:
            return
        current = {s: float(v) for s, v in zip(frame.sensor_ids, frame.values.tolist(),
                                               strict=True) if v == v}
        state = self.twin.update(frame.time_s, current)
        self.feed.observe_twin(frame.time, state)
        self.live.set_twin_state(state, frame.time)

    def _run(self) -> None:
        try:
            run_paced(self.live, self.speed, self.stop, duration_s=self.duration_s,
                      on_frame=self._follow)
        except Exception:
            log.exception("the demo simulator stopped on an error")
        finally:
            self.finished.set()

    def close(self) -> None:
        """Stop the simulator and the ingest; write the ground truth; release everything."""
        self.stop.set()
        for thread in getattr(self, "_threads", []):
            thread.join(timeout=30)
        sim: VirtualUtility | None = getattr(self, "sim", None)
        twin: Any = getattr(self, "twin", None)
        if twin is not None:
            twin.close()
        if sim is not None:
            if self.truth_file is not None:
                sim.write_incidents_csv(self.truth_file)
            sim.close()
        if getattr(self, "ingest", None) is not None:
            self.ingest.stop()  # type: ignore[union-attr]
        if getattr(self, "store", None) is not None:
            self.store.close()


def serve_demo(run: DemoRun, host: str, port: int, echo: Any) -> None:
    """Start ``run``, print the address and the demo accounts, serve until Ctrl-C (or until
    the simulator has run ``--for``), then close everything."""
    import uvicorn

    app = run.start()
    try:
        accounts = run.demo_accounts()
        enterprise = run.demo_enterprise()
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                               lifespan="on"))

        def simulate_while_serving() -> None:
            # the demo's clock starts when the pages can be opened
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            run.start_simulator()
            run.finished.wait()
            server.should_exit = True

        threading.Thread(target=simulate_while_serving, daemon=True).start()
        echo(f"waterops demo: {run.layout.name}, {len(run.layout.dmas)} DMAs, "
             f"{len(run.layout.sensors)} sensors, {len(run.layout.customers):,} customers, "
             f"{run.speed:g}x real time")
        echo(f"Operations centre: http://{host}:{port}/   API: http://{host}:{port}/api/v1   "
             f"docs: http://{host}:{port}/docs")
        echo("Demo accounts (passwords drawn for this run; demo only, never for production):")
        for username, role, password in accounts:
            echo(f"  {role.value:<22} {username:<16} {password}")
        echo(f"The enterprise customer's enterprise: {enterprise.account_id} {enterprise.name} "
             f"({enterprise.industry}, park {enterprise.park_id}, meter "
             f"{', '.join(enterprise.meter_sensor_ids)})")
        echo("Ctrl-C stops.")
        server.run()
    finally:
        run.close()
        echo(f"stopped; {len(run.sim.book.incidents) if hasattr(run, 'sim') else 0} incidents "
             f"recorded in {run.truth_file}")
