"""``waterops trunk-main``: the raw-water trunk main's record from the server's command line.

- ``trunk-main status --by NAME``: safe-operation days, volume delivered today and in total,
  last failure, each meter's latest reading
- ``trunk-main record-failure --at "2026-12-05 23:30" --description TEXT [--link TM-025]
  [--work-order ID] --by NAME``: record a failure (the counter restarts from its day; local
  time, ``--tz``)
- ``trunk-main scan --from T --to T``: run the burst/transient detector over the stored
  readings and raise alarms

The main is the demo utility's (until a utility loads its own layout).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from waterops.errors import AccountError, ConfigError
from waterops.io.inp import read_inp
from waterops.model.accounts import User
from waterops.service.alarms import AlarmService
from waterops.service.trunk_main import TrunkMainService, trunk_main_config
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.accounts_store import AccountsStore
from waterops.store.alarms_store import AlarmStore

_DATABASE = typer.Option(
    None, "--database", help="database URL (default: WATEROPS_DATABASE_URL or the data dir)")
_TZ = typer.Option("Asia/Shanghai", "--tz", help="time zone of times given and shown")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}") from None


def _time(text: str, tz: ZoneInfo, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a time (2026-12-05 23:30)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _user(accounts: AccountsStore, username: str) -> User:
    found = accounts.credentials(username)
    if found is None:
        raise AccountError(f"no user {username!r}")
    return found[0]


def _service(accounts: AccountsStore) -> TrunkMainService:
    layout = build_demo_utility()
    engine = accounts.engine
    return TrunkMainService(engine, trunk_main_config(layout, read_inp(layout.network_file)),
                            AlarmService(AlarmStore(engine)))


def register(app: typer.Typer) -> None:
    """Add the ``trunk-main`` command group to ``app``."""
    tm = typer.Typer(help="The raw-water trunk main: safe-operation days, failures, detector.",
                     no_args_is_help=True)

    @tm.command("status")
    def status(by: str = typer.Option(..., "--by", help="the staff account asking"),
               tz: str = _TZ, database: str | None = _DATABASE) -> None:
        """Safe-operation days, volume delivered, last failure, meters."""
        zone = _zone(tz)
        accounts = AccountsStore.open(database)
        try:
            s = _service(accounts).status(_user(accounts, by))
        finally:
            accounts.close()
        typer.echo(f"{s.name} ({s.main_id}, {s.length_m / 1000:.0f} km)")
        typer.echo(f"safe operation: {s.safe_days} days since "
                   f"{s.safe_since.astimezone(zone):%Y-%m-%d %H:%M}")
        if s.last_failure is not None:
            f = s.last_failure
            typer.echo(f"last failure: {f.occurred_at.astimezone(zone):%Y-%m-%d %H:%M} "
                       f"{f.link_id or '-'} {f.description}")
        typer.echo(f"delivered today: {s.volume_today.volume_m3:,.0f} m3 "
                   f"({s.volume_today.covered_s / 3600:.1f} h of readings); total "
                   f"{s.volume_total.volume_m3:,.0f} m3")
        for m in s.meters:
            value = "-" if m.value is None else f"{m.value:.3f}"
            at = "-" if m.time is None else f"{m.time.astimezone(zone):%Y-%m-%d %H:%M}"
            stale = "\tSTALE" if m.stale else ""
            typer.echo(f"{m.sensor_id}\t{m.quantity}\t{value}\t{at}{stale}")

    @tm.command("record-failure")
    def record_failure(
        at: str = typer.Option(..., "--at", help="when it failed (local time, --tz)"),
        description: str = typer.Option(..., "--description", help="what failed, where"),
        link: str | None = typer.Option(None, "--link", help="the pipe (TM-025)"),
        work_order: int | None = typer.Option(None, "--work-order", min=1),
        by: str = typer.Option(..., "--by", help="the staff account recording it"),
        tz: str = _TZ, database: str | None = _DATABASE,
    ) -> None:
        """Record a failure: the safe-operation counter restarts from its day."""
        when = _time(at, _zone(tz), "--at")
        accounts = AccountsStore.open(database)
        try:
            f = _service(accounts).record_failure(_user(accounts, by), when, link_id=link,
                                                  description=description,
                                                  work_order_id=work_order)
        finally:
            accounts.close()
        typer.echo(f"failure {f.id} recorded: {f.occurred_at.isoformat()} {f.description}")

    @tm.command("scan")
    def scan(start: str = typer.Option(..., "--from", help="start (local time, --tz)"),
             end: str = typer.Option(..., "--to", help="end (local time, --tz)"),
             tz: str = _TZ, database: str | None = _DATABASE) -> None:
        """Run the detector over stored readings; bursts and transients become alarms."""
        zone = _zone(tz)
        t0, t1 = _time(start, zone, "--from"), _time(end, zone, "--to")
        if t1 <= t0:
            raise ConfigError("--to must be after --from")
        accounts = AccountsStore.open(database)
        try:
            events, alarms = _service(accounts).scan(t0, t1)
        finally:
            accounts.close()
        for e in events:
            where = ""
            if e.location is not None:
                where = f" km {e.location.from_m / 1000:.0f}-{e.location.to_m / 1000:.0f}"
            state = "starts" if e.active else "ends"
            typer.echo(f"{e.time.astimezone(zone):%Y-%m-%d %H:%M}\t{e.kind.value} {state}"
                       f"{where}")
        typer.echo(f"{len(events)} event{'s' if len(events) != 1 else ''}, "
                   f"{len({a.id for a in alarms})} alarm{'s' if len(alarms) != 1 else ''}")

    app.add_typer(tm, name="trunk-main")
