"""`waterops sensors …`: the sensor registry in the store named by ``WATEROPS_DATABASE_URL``.

- ``sensors import FILE``: a registry CSV (:mod:`waterops.telemetry.sensors_io`) into the store
- ``sensors export [--out FILE] [--system ID]``: the registry as CSV
- ``sensors list [--system ID]``: a table of the sensors
- ``sensors from-network NET.inp --system ID``: place a utility-like set of sensors on a model
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from waterops.errors import ConfigError
from waterops.io.inp import read_inp
from waterops.model.telemetry import SI_UNIT, Sensor
from waterops.store import TelemetryStore
from waterops.telemetry.layout import DEFAULT_INTERVAL_S, SensorLayout, sensors_from_network
from waterops.telemetry.sensors_io import (
    ImportSummary,
    export_sensors_csv,
    format_registry_csv,
    import_sensors_csv,
    register_network_sensors,
)
from waterops.units import parse_duration_s

sensors_app = typer.Typer(
    name="sensors", help="The sensor registry: import, export, list, place on a network.",
    no_args_is_help=True,
)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, renamed)."""
    path = path.expanduser()
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _summary_line(summary: ImportSummary) -> str:
    systems = ""
    if summary.new_systems:
        systems = f"; new water system(s): {', '.join(summary.new_systems)}"
    return (
        f"{summary.sensors} sensors ({summary.new_sensors} new, "
        f"{summary.sensors - summary.new_sensors} updated), {summary.sites} sites{systems}"
    )


@sensors_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="Registry CSV (columns id, system, quantity, …)."),
) -> None:
    """Import sensors (and their sites) from a registry CSV; checked whole before writing."""
    with TelemetryStore.open() as store:
        summary = import_sensors_csv(store, file)
    typer.echo(f"imported {file}: {_summary_line(summary)}")


@sensors_app.command("export")
def export_command(
    out: Path | None = typer.Option(None, "--out", help="Write to this file (default: stdout)."),
    system: str | None = typer.Option(None, "--system", help="Only this water system."),
) -> None:
    """Export the sensor registry as CSV (limits in SI, with their unit)."""
    with TelemetryStore.open() as store:
        text = export_sensors_csv(store, system)
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomically(out, text)
        typer.echo(f"wrote {max(text.count(chr(10)) - 1, 0)} sensors to {out}", err=True)


def _limit(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def format_sensor_table(sensors: list[Sensor]) -> str:
    """A plain-text table of sensors, one per line."""
    header = ("id", "system", "quantity", "unit", "site", "element", "lower", "upper",
              "interval_s")
    rows = [
        (s.id, s.system_id, s.quantity.value, SI_UNIT[s.quantity], s.site_id or "",
         f"{s.element_kind}:{s.element_id}" if s.element_id else "",
         _limit(s.lower), _limit(s.upper), _limit(s.interval_s))
        for s in sensors
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    )


@sensors_app.command("list")
def list_command(
    system: str | None = typer.Option(None, "--system", help="Only this water system."),
) -> None:
    """List the registered sensors."""
    with TelemetryStore.open() as store:
        sensors = store.sensors(system)
    typer.echo(format_sensor_table(sensors))
    typer.echo(f"{len(sensors)} sensors", err=True)


@sensors_app.command("from-network")
def from_network_command(
    network: Path = typer.Argument(..., help="EPANET .inp file of the system."),
    system: str = typer.Option(..., "--system", help="Water system the sensors belong to."),
    prefix: str = typer.Option("", "--prefix", help="Put before every sensor and site id."),
    pressure_points: int | None = typer.Option(
        None, "--pressure-points", min=0, help="Pressure loggers (default: about √junctions)."
    ),
    chlorine_points: int = typer.Option(
        3, "--chlorine-points", min=0, help="Chlorine analysers at the network ends."
    ),
    interval: str = typer.Option(
        f"{DEFAULT_INTERVAL_S:g}s", "--interval", help="Reporting interval, e.g. 5min, 60s."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the registry CSV here instead of storing it (to edit first)."
    ),
) -> None:
    """Place level, flow, pump status, pressure and chlorine sensors on a network model."""
    interval_s = float(parse_duration_s(interval))
    if interval_s <= 0:
        raise ConfigError(f"--interval {interval!r} must be positive")
    layout = SensorLayout(pressure_points, chlorine_points, interval_s, prefix)
    net = read_inp(network)
    if out is not None:
        placed = sensors_from_network(net, system, layout=layout)
        write_text_atomically(out, format_registry_csv(placed.sensors, placed.sites))
        typer.echo(f"wrote {len(placed.sensors)} sensors at {len(placed.sites)} sites to {out}")
        return
    with TelemetryStore.open() as store:
        summary = register_network_sensors(
            store, net, system, layout=layout, network_file=str(network)
        )
    typer.echo(f"placed on {network}: {_summary_line(summary)}")


def register(app: typer.Typer) -> None:
    """Add the ``sensors`` command group to ``app``."""
    app.add_typer(sensors_app, name="sensors")
