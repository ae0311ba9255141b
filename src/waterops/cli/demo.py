"""``waterops demo``: the virtual demo utility, live; ``waterops demo generate``: a data set.

``waterops demo`` builds the demo utility on the bundled network, starts the simulator
(a day per minute by default) publishing into the telemetry store (SQLite in the data dir, or
``WATEROPS_DATABASE_URL``; through the MQTT broker and the project's MQTT ingest when
``WATEROPS_MQTT_URL`` or ``--mqtt`` is given), follows it with the digital twin, and serves
the operations centre (web pages and API, :mod:`waterops.cli.demo_web`) at
http://127.0.0.1:8000 (``--port``, ``--host``) until Ctrl-C (or ``--for`` of simulated time);
``--no-web`` shows a live console status instead. The ground truth of the incidents
is written to ``<data dir>/demo/incidents.csv`` when it stops.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from waterops.cli.demo_web import DemoRun, serve_demo
from waterops.config import load_settings
from waterops.errors import ConfigError
from waterops.model.alarms import OPEN_STATES
from waterops.model.utility import IncidentType, UtilityLayout
from waterops.service.alarm_feed import AlarmFeed
from waterops.service.alarms import AlarmService
from waterops.service.incidents import IncidentRequest, parse_incident_spec
from waterops.service.simulator import (
    LOCAL_TZ,
    PDA,
    MqttPublisher,
    Publisher,
    SensorFrame,
    SimulatorConfig,
    StorePublisher,
    UtilityStatus,
    VirtualUtility,
    generate_dataset,
)
from waterops.service.twin import Twin, TwinSettings, TwinState
from waterops.service.twin_project import NOT_CONVERGED
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore
from waterops.telemetry.mqtt_ingest import MqttIngest, parse_broker_url
from waterops.units import parse_duration_s

DEMO_SESSION_EXPIRY_S = 3600
"""How long the broker keeps the demo ingest's session after the demo stops [s]."""
INGEST_WAIT_S = 30.0
"""How long the demo waits for the broker and, at the end, for the ingest to catch up [s]."""
TWIN_EVERY_S = 900
"""The twin follows the utility every 15 min of simulated time."""

INCIDENT_TYPES = ", ".join(t.value for t in IncidentType)

demo_app = typer.Typer(
    help="The virtual demo utility: live (no subcommand) or a labelled data set (generate).",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _requests(specs: list[str]) -> list[IncidentRequest]:
    return [parse_incident_spec(spec) for spec in specs]


def _start_for(speed: float) -> datetime:
    """Local midnight far enough back that an hour of the demo stays in the past (the MQTT
    ingest refuses readings more than a day ahead of the wall clock), at most 30 days."""
    days_back = min(30, max(1, math.ceil(speed * 3600 / 86_400)))
    today = datetime.now(UTC).astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    return today - timedelta(days=days_back)


def _status_table(status: UtilityStatus, twin: TwinState | None, speed: float) -> Table:
    local = status.time.astimezone(LOCAL_TZ)
    table = Table(title=f"Demo utility - {local:%Y-%m-%d %H:%M} (Asia/Shanghai), {speed:g}x",
                  show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("delivered to customers", f"{status.delivered_m3:,.0f} m³ "
                  f"(now {status.demand_m3s * 1000:,.0f} L/s)")
    table.add_row("lowest customer pressure",
                  f"{status.lowest_pressure_m:.1f} m at {status.lowest_pressure_node}")
    table.add_row("clear-water tank", f"{status.clearwell_level_m:.2f} m")
    table.add_row("city tanks", f"{status.tank_fill * 100:.0f} % full on average")
    table.add_row("sources", ", ".join(f"{k} {max(v, 0.0) * 1000:,.0f} L/s"
                                       for k, v in status.source_flows_m3s.items()))
    table.add_row("readings sent", f"{status.readings_sent:,}")
    incidents = status.open_incidents
    table.add_row("open incidents", "none" if not incidents else "; ".join(
        f"{i.id} {i.type.value} at {i.element}" for i in incidents[:4])
        + (f" (+{len(incidents) - 4})" if len(incidents) > 4 else ""))
    if twin is not None:
        health = _twin_health(twin)
        if health is not None:
            table.add_row("twin: hydraulics", f"[bold red]{health}[/]")
        mult = twin.dma["multiplier"]
        table.add_row("twin: DMA demand multipliers",
                      f"{mult.min():.2f}-{mult.max():.2f} (highest {mult.idxmax()})")
        z = twin.residuals["z"].abs().dropna() if "z" in twin.residuals else None
        if z is not None and len(z):
            table.add_row("twin: largest residual", f"|z| {z.max():.1f} at {z.idxmax()}")
    return table


def _twin_health(twin: TwinState) -> str | None:
    """``"NOT CONVERGED (unbalanced)"`` when the twin's hydraulics did not converge at this
    update (with the warning kinds that say so, and how many updates in a row), else None."""
    if twin.hydraulics_converged:
        return None
    why = ", ".join(k for k in twin.warning_kinds if k in NOT_CONVERGED)
    if twin.unconverged_updates > 1:
        why += ("; " if why else "") + f"{twin.unconverged_updates} updates in a row"
    return "NOT CONVERGED" + (f" ({why})" if why else "")


def _status_line(status: UtilityStatus, twin: TwinState | None = None) -> str:
    local = status.time.astimezone(LOCAL_TZ)
    line = (f"{local:%Y-%m-%d %H:%M} delivered {status.delivered_m3:,.0f} m³, lowest "
            f"{status.lowest_pressure_m:.1f} m at {status.lowest_pressure_node}, clear-water "
            f"tank {status.clearwell_level_m:.2f} m, {len(status.open_incidents)} open "
            f"incidents, {status.readings_sent:,} readings")
    if twin is not None:
        health = _twin_health(twin)
        parts = [] if health is None else [health]
        mult = twin.dma.get("multiplier")
        if mult is not None and len(mult):
            parts.append(f"DMA multipliers {mult.min():.2f}-{mult.max():.2f}")
        if parts:
            line += "; twin: " + ", ".join(parts)
    return line


class _Twinned:
    """Feeds each frame to the twin every :data:`TWIN_EVERY_S` of simulated time."""

    def __init__(self, twin: Twin | None, feed: AlarmFeed | None = None) -> None:
        self.twin = twin
        self.feed = feed
        self.state: TwinState | None = None

    def __call__(self, frame: SensorFrame) -> None:
        # Only this frame's readings: a sensor that dropped out must look missing to the twin
        # (it then keeps its own state), not frozen at its last value.
        if self.twin is not None and frame.time_s % TWIN_EVERY_S == 0:
            current = {s: float(v) for s, v in zip(frame.sensor_ids, frame.values.tolist(),
                                                   strict=True) if v == v}
            self.state = self.twin.update(frame.time_s, current)
            if self.feed is not None:  # bursts: the twin's innovations at DMA inlets, loggers
                self.feed.observe_twin(frame.time, self.state)


@demo_app.callback(invoke_without_command=True)
def demo_command(
    ctx: typer.Context,
    speed: float = typer.Option(1440.0, "--speed", help="Simulated seconds per second "
                                "(1440 = a day per minute)."),
    seed: int = typer.Option(7, "--seed", help="Seed of demand, noise and random incidents."),
    incident: list[str] = typer.Option([], "--incident", help="Inject TYPE:ELEMENT[:SIZE] at "
                                       "the start, e.g. pipe_burst:JUNCTION-75:0.003 "
                                       f"(repeat). Types: {INCIDENT_TYPES}."),
    random_per_day: float = typer.Option(1.0, "--incidents-per-day",
                                         help="Random incidents per simulated day."),
    run_for: str | None = typer.Option(None, "--for", help="Stop after this simulated "
                                       "duration (e.g. 6h); default: until Ctrl-C."),
    mqtt_url: str | None = typer.Option(None, "--mqtt", help="Publish through this broker "
                                        "(default: WATEROPS_MQTT_URL; none: in process)."),
    twin: bool = typer.Option(True, "--twin/--no-twin", help="Follow with the digital twin."),
    web: bool = typer.Option(True, "--web/--no-web", help="Serve the operations centre "
                             "(default) or show the console status only."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the web server listens on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port of the web "
                             "server."),
) -> None:
    """Run the demo utility live: simulator, store, twin and the operations centre at
    http://127.0.0.1:8000 (--no-web: console only), until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    if speed <= 0:
        raise ConfigError(f"--speed must be > 0, not {speed:g}")
    duration_s = parse_duration_s(run_for) if run_for is not None else None
    requests = _requests(incident)
    settings = load_settings()
    broker = mqtt_url or settings.mqtt_url
    if broker is not None:
        parse_broker_url(broker)  # a bad URL fails before anything is opened
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = settings.data_dir / "demo"
    truth_dir.mkdir(exist_ok=True)
    layout = build_demo_utility()
    config = SimulatorConfig(seed=seed, start=_start_for(speed),
                             random_incidents_per_day=random_per_day)
    if web:
        run = DemoRun(settings, layout, config, speed, requests, duration_s, twin, broker,
                      truth_dir / "incidents.csv")
        serve_demo(run, host, port, typer.echo)
        return
    console = Console()
    with TelemetryStore.open(settings.database_url) as store:
        publisher: Publisher = StorePublisher(store)
        ingest: MqttIngest | None = None
        stop = threading.Event()
        threads: list[threading.Thread] = []
        if broker is not None:
            publisher = MqttPublisher(broker, store=store)
            # the broker keeps a session's unacknowledged messages for its client id: one id
            # per database, so a demo never receives readings meant for another database
            digest = hashlib.sha1(settings.database_url.encode()).hexdigest()[:10]
            ingest = MqttIngest(parse_broker_url(broker), store,
                                client_id=f"waterops-demo-ingest-{digest}",
                                session_expiry_s=DEMO_SESSION_EXPIRY_S)
            ingest.start()
            if not ingest.connected.wait(INGEST_WAIT_S):
                raise ConfigError(f"the MQTT broker {broker} did not answer in {INGEST_WAIT_S:g} s")
            time.sleep(0.5)  # let the broker take the subscription before the first reading
            threads.append(threading.Thread(target=ingest.run, args=(stop,), daemon=True))
            threads[-1].start()
        try:
            sent = _run_live(console, layout, config, publisher, requests, speed=speed,
                      duration_s=duration_s, with_twin=twin, stop=stop,
                      store=store, broker=broker,
                      truth_dir=truth_dir)
            if ingest is not None:
                _drain(ingest, sent, console)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            if ingest is not None:
                ingest.stop()


def _run_live(
    console: Console, layout: UtilityLayout, config: SimulatorConfig, publisher: Publisher,
    requests: list[IncidentRequest], *, speed: float, duration_s: int | None, with_twin: bool,
    stop: threading.Event, store: TelemetryStore, broker: str | None, truth_dir: Path,
) -> int:
    """Run the utility until stopped or Ctrl-C; returns how many readings it sent.

    The alarm feed rides along as a second output of the simulator: GB 5749 limits, pump-room
    low pressure with its diagnosis, and bursts from the twin's residuals become alarms in the
    store (``waterops alarms list`` in another terminal).
    """
    truth = truth_dir / "incidents.csv"
    store_url = store.engine.url.render_as_string()
    feed = AlarmFeed(AlarmService(AlarmStore(store.engine)))
    with VirtualUtility(layout, config, [publisher, feed]) as sim:
        for request in requests:
            sim.inject(request)
        via = f"MQTT {broker} -> ingest -> " if broker else "in process -> "
        console.print(f"[bold]waterops demo[/]: {layout.name}, {len(layout.dmas)} DMAs, "
                      f"{len(layout.sensors)} sensors, {len(layout.customers):,} customers")
        console.print(f"Readings: {via}{store_url}")
        console.print(f"Ground truth (incidents): {truth} (written when the demo stops)")
        console.print("Look at it: waterops alarms list | waterops telemetry latest | "
                      "waterops telemetry query P-JUNCTION-288 --from ... --to ...   "
                      "(Ctrl-C stops)")
        settings = TwinSettings(interval_s=TWIN_EVERY_S, pressure_driven=PDA)
        twin = Twin.from_layout(layout, settings=settings) if with_twin else None
        follow = _Twinned(twin, feed if twin is not None else None)
        try:
            if console.is_terminal:
                with Live(console=console, refresh_per_second=4) as live:
                    def show(frame: SensorFrame) -> None:
                        follow(frame)
                        live.update(_status_table(sim.status(), follow.state, speed))
                    sim.run_paced(speed, stop, duration_s=duration_s, on_frame=show)
            else:
                def log(frame: SensorFrame) -> None:
                    follow(frame)
                    if frame.time_s % 3600 == 0:
                        console.print(_status_line(sim.status(), follow.state),
                                      soft_wrap=True)
                sim.run_paced(speed, stop, duration_s=duration_s, on_frame=log)
        except KeyboardInterrupt:
            console.print("stopped (Ctrl-C)")
        finally:
            if twin is not None:
                twin.close()
            sim.write_incidents_csv(truth)
        console.print(_status_line(sim.status()), soft_wrap=True)
        console.print(f"{len(sim.book.incidents)} incidents recorded in {truth}")
        open_alarms = feed.service.alarms(OPEN_STATES)
        console.print(f"{len(open_alarms)} alarms open (waterops alarms list)")
        return sim.readings_sent


def _drain(ingest: MqttIngest, sent: int, console: Console) -> None:
    """Wait until the MQTT ingest has taken every reading sent (or :data:`INGEST_WAIT_S`)."""
    deadline = time.monotonic() + INGEST_WAIT_S
    while ingest.counters.received < sent and time.monotonic() < deadline:
        time.sleep(0.1)
    counters = ingest.counters
    console.print(f"MQTT ingest: {counters.received:,} readings received, {counters.stored:,} "
                  f"stored, {counters.rejected:,} rejected")


@demo_app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Directory for the data set (created)."),
    days: float = typer.Option(30.0, "--days", help="Simulated days."),
    seed: int = typer.Option(7, "--seed", help="Seed: the same seed gives the same files."),
    random_per_day: float = typer.Option(1.0, "--incidents-per-day",
                                         help="Random incidents per simulated day."),
    incident: list[str] = typer.Option([], "--incident", help="Also inject TYPE:ELEMENT[:SIZE] "
                                       "at the start (repeat)."),
) -> None:
    """Write a labelled data set: SCADA CSVs (one column per sensor) and incidents.csv."""
    if not (days > 0 and math.isfinite(days)):
        raise ConfigError(f"--days must be > 0, not {days:g}")
    layout = build_demo_utility()
    config = SimulatorConfig(seed=seed, random_incidents_per_day=random_per_day)
    def progress(time_s: int, end_s: int) -> None:
        if time_s % 86_400 == 0 and time_s:
            typer.echo(f"simulated day {time_s // 86_400} of {math.ceil(end_s / 86_400)}",
                       err=True)

    files = generate_dataset(out, days=days, layout=layout, config=config,
                             requests=_requests(incident), progress=progress)
    for path in files:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add ``demo`` (live) and ``demo generate`` to ``app``."""
    app.add_typer(demo_app, name="demo")
