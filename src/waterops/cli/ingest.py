"""`waterops ingest …`: telemetry into the store named by ``WATEROPS_DATABASE_URL``.

``waterops ingest csv FILE`` reads a wide SCADA export or a long (sensor, time, value) file;
``waterops ingest mqtt`` (from :mod:`waterops.cli.ingest_mqtt`) subscribes to the broker.
"""

from __future__ import annotations

from pathlib import Path

import typer

from waterops.cli import ingest_mqtt
from waterops.errors import ConfigError
from waterops.model.telemetry import Quantity
from waterops.store import TelemetryStore
from waterops.store.timecodes import from_us
from waterops.telemetry.csv_ingest import CHUNK_READINGS, IngestSummary, ingest_csv

ingest_app = typer.Typer(
    name="ingest", help="Ingest telemetry (CSV files, MQTT).", no_args_is_help=True,
)


def parse_unit_options(options: list[str]) -> dict[str, str]:
    """``["PT-101=kPa", "FT-7=m3/h"]`` → ``{"PT-101": "kPa", "FT-7": "m3/h"}``."""
    units: dict[str, str] = {}
    for option in options:
        sensor_id, sep, unit = option.partition("=")
        if not sep or not sensor_id.strip() or not unit.strip():
            raise ConfigError(f"--unit {option!r}: write SENSOR=UNIT, e.g. --unit PT-101=kPa")
        units[sensor_id.strip()] = unit.strip()
    return units


def format_summary(summary: IngestSummary) -> str:
    """The lines ``waterops ingest csv`` prints after a file."""
    lines = [
        f"ingested {summary.path} ({summary.layout}, {summary.rows} rows): "
        f"{summary.readings} readings, {summary.new} new, {summary.duplicates} duplicates, "
        f"{summary.sensors} sensors"
    ]
    if summary.created_sensors:
        shown = ", ".join(summary.created_sensors[:10])
        more = " …" if len(summary.created_sensors) > 10 else ""
        lines.append(f"created {len(summary.created_sensors)} sensor(s): {shown}{more}")
    if summary.first_time_us is not None and summary.last_time_us is not None:
        first = from_us(summary.first_time_us).isoformat()
        last = from_us(summary.last_time_us).isoformat()
        lines.append(f"time span (UTC): {first} … {last}")
    lines.append("flagged: " + ", ".join(f"{k} {v}" for k, v in summary.flagged.items()))
    return "\n".join(lines)


@ingest_app.command("csv")
def ingest_csv_command(
    file: Path = typer.Argument(..., help="CSV file: wide (Timestamp + one column per sensor) "
                                         "or long (sensor, time, value[, unit])."),
    create_sensors: bool = typer.Option(
        False, "--create-sensors",
        help="Register unknown sensor ids (quantity from --quantity or the id prefix: "
             "P/PT pressure, Q/F/FT flow, L/LT level, CL chlorine, S status …) instead of "
             "rejecting the file.",
    ),
    system: str | None = typer.Option(
        None, "--system", help="Water system of sensors created by --create-sensors."
    ),
    tz: str = typer.Option(
        "UTC", "--tz",
        help="Zone of times without a UTC offset, an IANA name (Chinese SCADA: Asia/Shanghai). "
             "Times with an offset are taken as given.",
    ),
    unit: list[str] = typer.Option(
        [], "--unit", help="SENSOR=UNIT, repeatable (e.g. PT-101=kPa); values are SI otherwise "
                           "(or as the file's unit row/column says).",
    ),
    quantity: Quantity | None = typer.Option(
        None, "--quantity", help="Quantity of every sensor created by --create-sensors."
    ),
    encoding: str = typer.Option("utf-8-sig", "--encoding", help="Text encoding (e.g. gbk)."),
    chunk_rows: int | None = typer.Option(
        None, "--chunk-rows", min=1,
        help=f"Rows read and written at a time (default: about {CHUNK_READINGS:,} readings).",
    ),
) -> None:
    """Ingest a telemetry CSV file: whole or not at all; re-running it stores nothing twice."""
    units = parse_unit_options(unit)
    with TelemetryStore.open() as store:
        summary = ingest_csv(
            store, file, tz=tz, units=units, create_sensors=create_sensors, system_id=system,
            quantity=quantity, chunk_rows=chunk_rows, encoding=encoding,
        )
    typer.echo(format_summary(summary))


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command group to ``app``."""
    ingest_mqtt.add_commands(ingest_app)
    app.add_typer(ingest_app, name="ingest")
