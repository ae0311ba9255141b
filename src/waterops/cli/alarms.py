"""`waterops alarms …`: alarms of the operations centre, in the store named by
``WATEROPS_DATABASE_URL``.

- ``alarms list [--state live|open|all|STATE]``: a table, newest first (default: live, i.e.
  not resolved or closed)
- ``alarms show ID``: one alarm with its diagnosis, evidence, customer sentences and history
- ``alarms ack ID --by NAME``, ``alarms assign ID --to CREW --by NAME``,
  ``alarms resolve ID --cause CODE --by NAME [--note TEXT]``: operator actions, each written
  to the audit trail
- ``alarms incidents [--state open|resolved|all]``: incidents and their alarms
- ``alarms resolve-incident ID --cause CODE --by NAME [--note TEXT]``: an incident and all
  its open alarms at once
- ``alarms watch [--every S] [--once]``: the alarm worker: runs the detectors of the demo
  utility's layout (and the trunk main's burst/transient detector) over the readings the
  store receives (e.g. from ``waterops demo`` in
  another terminal), raising and clearing alarms, until Ctrl-C

Times are shown in local time (``--tz``, default Asia/Shanghai); the store keeps UTC.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from waterops.errors import AlarmError, ConfigError
from waterops.io.inp import read_inp
from waterops.model.alarms import (
    LIVE_STATES,
    OPEN_STATES,
    Alarm,
    AlarmState,
    Cause,
    IncidentState,
)
from waterops.service.alarm_feed import AlarmFeed, TwinFollower, catch_up
from waterops.service.alarms import AlarmService
from waterops.service.simulator import PDA
from waterops.service.trunk_main import trunk_main_config
from waterops.service.twin import Twin, TwinSettings
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore

alarms_app = typer.Typer(
    name="alarms", help="Alarms: list, show, acknowledge, assign, resolve; incidents.",
    no_args_is_help=True,
)

TWIN_EVERY_S = 900
"""Twin update interval of the alarm worker [s] (as the live demo)."""
TZ_OPTION = typer.Option("Asia/Shanghai", "--tz", help="Time zone times are shown in.")


@contextmanager
def _service() -> Iterator[AlarmService]:
    store = AlarmStore.open()
    try:
        yield AlarmService(store)
    finally:
        store.close()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name!r} is not a known time zone (e.g. Asia/Shanghai)") from None


def _states(text: str) -> frozenset[AlarmState] | None:
    key = text.strip().lower()
    if key == "all":
        return None
    if key == "live":
        return LIVE_STATES
    if key == "open":
        return OPEN_STATES
    try:
        return frozenset({AlarmState(key)})
    except ValueError:
        known = ", ".join(["live", "open", "all", *(s.value for s in AlarmState)])
        raise AlarmError(f"--state {text!r} is not a state; use one of: {known}") from None


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    return "-" if when is None else when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _value(alarm: Alarm) -> str:
    return "-" if alarm.value is None else f"{alarm.value:.3g} {alarm.unit}".strip()


@alarms_app.command("list")
def list_command(
    state: str = typer.Option("live", "--state", help="live (default), open, all, or one "
                              "state: raised, acknowledged, assigned, cleared, resolved, closed."),
    tz: str = TZ_OPTION,
) -> None:
    """List alarms, newest first."""
    zone, states = _zone(tz), _states(state)
    with _service() as service:
        alarms = service.alarms(states)
    if not alarms:
        typer.echo(f"no {state} alarms")
        return
    typer.echo(f"{'id':>5}  {'raised':16}  {'severity':8}  {'state':12}  {'kind':22}  "
               f"{'source':18}  {'value':>12}  diagnosis / assignee")
    for a in alarms:
        who = f" -> {a.assignee}" if a.assignee else ""
        typer.echo(f"{a.id:>5}  {_local(a.raised_at, zone):16}  {a.severity.value:8}  "
                   f"{a.state.value:12}  {a.kind:22}  {a.source:18}  {_value(a):>12}  "
                   f"{a.diagnosis or '-'}{who}")


@alarms_app.command("show")
def show_command(alarm_id: int = typer.Argument(..., help="Alarm id."),
                 tz: str = TZ_OPTION) -> None:
    """One alarm: what, where, diagnosis with its evidence, what to tell customers, history."""
    zone = _zone(tz)
    with _service() as service:
        a = service.alarm(alarm_id)
        history = service.store.history(alarm_id)
    typer.echo(f"alarm {a.id}: {a.kind} on {a.source} ({a.condition})")
    typer.echo(f"  severity   {a.severity.value}: {a.severity.meaning}")
    typer.echo(f"  state      {a.state.value}; raised {_local(a.raised_at, zone)}, "
               f"updated {_local(a.updated_at, zone)}, seen {a.count} time(s)")
    worst = "-" if a.worst_value is None else f"{a.worst_value:.3g} {a.unit}"
    typer.echo(f"  value      {_value(a)} (worst {worst})")
    typer.echo(f"  incident   {a.incident_id if a.incident_id is not None else '-'} "
               f"({a.group_key})")
    typer.echo(f"  diagnosis  {a.diagnosis or '-'}")
    for e in a.evidence:
        note = f" - {e.note}" if e.note else ""
        unit = "" if e.unit in ("", "1") else f" {e.unit}"  # a status has no unit to show
        typer.echo(f"    {e.sensor_id}: {e.value:.4g}{unit} at {_local(e.time, zone)}{note}")
    if a.message or a.message_zh:
        typer.echo(f"  customers  {a.message}")
        typer.echo(f"             {a.message_zh}")
    if a.acknowledged_by or a.assignee or a.cause:
        typer.echo(f"  handled    acknowledged by {a.acknowledged_by or '-'}, assigned to "
                   f"{a.assignee or '-'}, cause {a.cause.value if a.cause else '-'}"
                   + (f" ({a.note})" if a.note else ""))
    typer.echo("  history")
    for h in history:
        before = h["state_before"] or ""
        detail = f"  {h['detail']}" if h["detail"] else ""
        typer.echo(f"    {_local(h['at'], zone)}  {h['action']:11}  {h['actor']:12}  "
                   f"{before}->{h['state_after']}{detail}")


@alarms_app.command("ack")
def ack_command(alarm_id: int = typer.Argument(..., help="Alarm id."),
                by: str = typer.Option(..., "--by", help="Who acknowledges it."),
                note: str = typer.Option("", "--note", help="A remark.")) -> None:
    """Acknowledge an alarm (an operator has seen it)."""
    with _service() as service:
        a = service.acknowledge(alarm_id, by, note=note)
    typer.echo(f"alarm {a.id} acknowledged by {a.acknowledged_by}")


@alarms_app.command("assign")
def assign_command(alarm_id: int = typer.Argument(..., help="Alarm id."),
                   to: str = typer.Option(..., "--to", help="Person or crew."),
                   by: str = typer.Option(..., "--by", help="Who assigns it."),
                   note: str = typer.Option("", "--note", help="A remark.")) -> None:
    """Assign an alarm to a person or crew (again: hand it over)."""
    with _service() as service:
        a = service.assign(alarm_id, to, by, note=note)
    typer.echo(f"alarm {a.id} assigned to {a.assignee} by {by}")


@alarms_app.command("resolve")
def resolve_command(
    alarm_id: int = typer.Argument(..., help="Alarm id."),
    cause: str = typer.Option(..., "--cause", help="Cause code: "
                              + ", ".join(c.value for c in Cause) + "."),
    by: str = typer.Option(..., "--by", help="Who resolves it."),
    note: str = typer.Option("", "--note", help="What was found and done."),
) -> None:
    """Resolve an alarm with its cause (its incident too, if it was the last one open)."""
    with _service() as service:
        a = service.resolve(alarm_id, cause, by, note=note)
        incident = None if a.incident_id is None else service.store.incident(a.incident_id)
    closed = ""
    if incident is not None and incident.state is IncidentState.RESOLVED:
        closed = f"; incident {incident.id} resolved"
    typer.echo(f"alarm {a.id} resolved by {a.resolved_by}: {a.cause}{closed}")


@alarms_app.command("incidents")
def incidents_command(
    state: str = typer.Option("open", "--state", help="open (default), resolved or all."),
    tz: str = TZ_OPTION,
) -> None:
    """List incidents (alarms with one cause), newest first."""
    zone = _zone(tz)
    key = state.strip().lower()
    if key not in ("open", "resolved", "all"):
        raise AlarmError(f"--state {state!r}: use open, resolved or all")
    with _service() as service:
        incidents = service.store.incidents(None if key == "all" else IncidentState(key))
    if not incidents:
        typer.echo(f"no {key} incidents")
        return
    for i in incidents:
        cause = f", cause {i.cause.value}" if i.cause else ""
        alarms = ", ".join(str(a) for a in i.alarm_ids)
        typer.echo(f"{i.id:>5}  {_local(i.opened_at, zone):16}  {i.severity.value:8}  "
                   f"{i.state.value:8}  {i.group_key:20}  alarms {alarms}{cause}  {i.title}")


@alarms_app.command("resolve-incident")
def resolve_incident_command(
    incident_id: int = typer.Argument(..., help="Incident id."),
    cause: str = typer.Option(..., "--cause", help="Cause code (as for resolve)."),
    by: str = typer.Option(..., "--by", help="Who resolves it."),
    note: str = typer.Option("", "--note", help="What was found and done."),
) -> None:
    """Resolve an incident and every alarm of it that is not closed yet, with one cause."""
    with _service() as service:
        incident = service.resolve_incident(incident_id, cause, by, note=note)
    alarms = ", ".join(str(a) for a in incident.alarm_ids)
    typer.echo(f"incident {incident.id} resolved by {by}: {incident.cause} (alarms {alarms})")


@alarms_app.command("watch")
def watch_command(
    every_s: float = typer.Option(5.0, "--every", help="Seconds between looks at the store."),
    once: bool = typer.Option(False, "--once", help="One look, then stop."),
    twin: bool = typer.Option(True, "--twin/--no-twin", help="Follow with the digital twin "
                              "and look for bursts in its innovations."),
    tz: str = TZ_OPTION,
) -> None:
    """Raise and clear alarms from the readings the store receives (the demo utility's
    layout: GB 5749 limits at the plant and DMA inlets, pump-room low pressure, bursts)."""
    if every_s <= 0:
        raise ConfigError(f"--every must be > 0 s, not {every_s:g}")
    zone = _zone(tz)
    layout = build_demo_utility()
    with TelemetryStore.open() as telemetry, ExitStack() as closing:
        alarms = AlarmStore(telemetry.engine)
        trunk = trunk_main_config(layout, read_inp(layout.network_file))
        feed = AlarmFeed(AlarmService(alarms), trunk_main=trunk)
        feed.prepare(layout)
        follower = None
        if twin:
            model = closing.enter_context(Twin.from_layout(
                layout, settings=TwinSettings(interval_s=TWIN_EVERY_S, pressure_driven=PDA)))
            follower = TwinFollower(model, TWIN_EVERY_S)
        typer.echo(f"watching {len(feed.sensor_ids)} sensors"
                   f"{' and the twin' if twin else ''} in "
                   f"{telemetry.engine.url.render_as_string()} (Ctrl-C stops)")
        try:
            while True:
                instants, touched = catch_up(feed, telemetry, alarms, follower=follower)
                for a in touched:
                    typer.echo(f"{_local(a.updated_at, zone)}  alarm {a.id} {a.state.value:12} "
                               f"{a.kind} on {a.source}"
                               + (f": {a.diagnosis}" if a.diagnosis else ""))
                if once:
                    typer.echo(f"{instants} instants read, {len(touched)} alarm changes")
                    return
                time.sleep(every_s)
        except KeyboardInterrupt:
            typer.echo("stopped (Ctrl-C)")


def register(app: typer.Typer) -> None:
    """Add the ``alarms`` command group to the main application."""
    app.add_typer(alarms_app)
