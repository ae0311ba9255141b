"""`waterops telemetry …`: query the telemetry store, run retention, migrate the database.

The database is the one ``WATEROPS_DATABASE_URL`` names (default: SQLite in the data dir).
Times on the command line are ISO 8601; a time without an offset is taken as UTC. Output
times are ISO 8601 UTC (``2026-05-01T08:15:00Z``), values SI (pressure in m of water head,
flow in m³/s).

Retention for cron (``crontab -e``)::

    # every night at 01:30, keep 90 days of raw readings (rollups are kept for good)
    30 1 * * *  WATEROPS_DATABASE_URL=postgresql+psycopg://waterops@db/waterops \\
                waterops telemetry retention --raw-days 90

or a systemd timer (``waterops-retention.service`` with ``Type=oneshot``,
``Environment=WATEROPS_DATABASE_URL=…`` and ``ExecStart=/opt/waterops/.venv/bin/waterops
telemetry retention --raw-days 90``; ``waterops-retention.timer`` with ``OnCalendar=*-*-*
01:30`` and ``Persistent=true``). A run that was missed or ran twice does no harm: each run
is one transaction and repeats nothing already done. A long-running service can call
:func:`waterops.store.run_retention_forever` instead.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import typer

from waterops.errors import ConfigError
from waterops.store import TelemetryStore, retention_pass
from waterops.store import migrate as store_migrate
from waterops.units import parse_duration_s

telemetry_app = typer.Typer(
    help="Telemetry store: query readings, latest values, retention, migrations.",
    no_args_is_help=True,
)


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time from the command line; no offset means UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-05-01T08:00:00Z)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def fixed_utc_offset_s(tz: str, start: datetime, end: datetime) -> int:
    """The UTC offset [s] of zone ``tz`` over [start, end]; refused if it changes (DST)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {tz!r} is not a known time zone (e.g. Asia/Shanghai)") from None
    offsets = {
        int(offset.total_seconds())
        for offset in (start.astimezone(zone).utcoffset(), end.astimezone(zone).utcoffset())
        if offset is not None
    }
    if len(offsets) != 1:
        raise ConfigError(
            f"--tz {tz} changes its UTC offset between --from and --to (daylight saving); "
            "query each side of the change separately"
        )
    return offsets.pop()


def _iso_utc(times: pd.Series) -> pd.Series:
    text: pd.Series = times.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def _write_csv(frame: pd.DataFrame, out: Path | None) -> None:
    """Write ``frame`` as CSV to ``out`` (whole file or nothing) or to stdout."""
    if out is None:
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, lineterminator="\n")
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from exc


@telemetry_app.command("query")
def query_command(
    sensor: str = typer.Argument(..., help="Stable sensor id, e.g. P-101."),
    start: str = typer.Option(..., "--from", help="Start (ISO 8601, included)."),
    end: str = typer.Option(..., "--to", help="End (ISO 8601, excluded)."),
    every: str = typer.Option("15min", "--every", help="Interval, e.g. 15min, 1h, 1d."),
    tz: str = typer.Option(
        "UTC", "--tz", help="Align intervals to this zone's clock, e.g. Asia/Shanghai."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the CSV here instead of stdout."),
) -> None:
    """Mean, min, max and count of SENSOR per interval, as CSV: time,mean,min,max,count.

    Interval starts are printed in UTC; with --tz Asia/Shanghai a day runs from 00:00 local
    time (16:00Z the day before).
    """
    start_t, end_t = parse_time(start, "--from"), parse_time(end, "--to")
    if end_t <= start_t:
        raise ConfigError(f"--to {end} is not after --from {start}")
    every_s = parse_duration_s(every)
    if every_s <= 0:
        raise ConfigError(f"--every {every!r} must be longer than 0 s")
    offset_s = fixed_utc_offset_s(tz, start_t, end_t)
    with TelemetryStore.open() as store:
        frame = store.resample(sensor, start_t, end_t, every_s, utc_offset_s=offset_s)
    frame["time"] = _iso_utc(frame["time"])
    _write_csv(frame[["time", "mean", "min", "max", "count"]], out)


@telemetry_app.command("latest")
def latest_command(
    sensors: list[str] | None = typer.Option(None, "--sensor", help="Only this sensor (repeat)."),
    out: Path | None = typer.Option(None, "--out", help="Write the CSV here instead of stdout."),
) -> None:
    """Latest reading of each sensor, as CSV: sensor_id,time,value,flags."""
    with TelemetryStore.open() as store:
        frame = store.latest(sensors or None)
    frame["time"] = _iso_utc(frame["time"])
    _write_csv(frame, out)


@telemetry_app.command("retention")
def retention_command(
    raw_days: int = typer.Option(90, "--raw-days", min=0, help="Whole days of raw readings kept."),
    now: str | None = typer.Option(None, "--now", help="Run as if at this time (ISO 8601)."),
) -> None:
    """Roll up (15 min, hourly, daily) and purge raw readings older than --raw-days. Re-runnable."""
    now_t = datetime.now(UTC) if now is None else parse_time(now, "--now")
    with TelemetryStore.open() as store:
        result = retention_pass(store, raw_days, now_t)
    kept_from = datetime.fromtimestamp(result.raw_kept_from_us / 1e6, UTC)
    typer.echo(
        f"raw readings kept from {kept_from:%Y-%m-%dT%H:%M:%SZ}; "
        f"deleted {result.deleted_readings}, late readings merged {result.late_readings_merged}"
    )


@telemetry_app.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the newest schema (also done when any command opens it)."""
    with TelemetryStore.open() as store:
        revision = store_migrate.current_revision(store.engine, store.schema)
        where = store.engine.url.render_as_string()
    typer.echo(f"database {where} is at revision {revision}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(telemetry_app, name="telemetry")
