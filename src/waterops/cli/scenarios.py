"""``waterops scenarios …``: what-if batches on a network.

``waterops scenarios criticality NET.inp`` closes every pipe in turn and reports, per pipe,
the demand left unsupplied and the junctions left below a pressure threshold. Progress goes
to stderr, the ten most critical pipes to stdout, the full table to ``--out FILE.csv``.
Batches run on a Dask cluster when ``WATEROPS_DASK_ADDRESS`` is set, else on ``--workers``
local processes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from waterops.config import load_settings
from waterops.errors import ConfigError, NetworkFileError
from waterops.hydraulics.criticality import DEFAULT_THRESHOLD_M, criticality
from waterops.units import parse_duration_s

TOP_ROWS = 10


def most_critical(table: pd.DataFrame, rows: int = TOP_ROWS) -> pd.DataFrame:
    """The ``rows`` most critical links: most unsupplied demand, then most junctions below
    the threshold, then the lowest pressure."""
    ranked = table.sort_values(
        ["unsupplied_m3", "nodes_below_threshold", "worst_pressure_m"],
        ascending=[False, False, True], na_position="last", kind="stable",
    )
    return ranked.head(rows)


def _write_csv_atomically(table: pd.DataFrame, out: Path) -> None:
    """Write into a temporary file beside ``out``, then rename: no half-written file."""
    folder = out.resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"--out {out}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        table.to_csv(tmp, index=False, float_format="%.6g")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _top_table(table: pd.DataFrame, network: Path, threshold_m: float) -> Table:
    view = Table(title=f"Most critical pipes of {network.name} (threshold {threshold_m:g} m)")
    for header in ("pipe", "unsupplied [m³]", "unsupplied [%]",
                   f"junctions < {threshold_m:g} m", "worst pressure [m]", "at junction"):
        left = header in ("pipe", "at junction")
        view.add_column(escape(header), justify="left" if left else "right", no_wrap=left)
    for row in most_critical(table).itertuples(index=False):
        if row.error:
            view.add_row(str(row.link), "failed", "", "", "", str(row.error)[:40])
            continue
        view.add_row(str(row.link), f"{row.unsupplied_m3:,.1f}", f"{row.unsupplied_pct:.2f}",
                     str(row.nodes_below_threshold), f"{row.worst_pressure_m:.2f}",
                     str(row.worst_node))
    return view


def _junctions(count: int) -> str:
    return f"{count} junction{'' if count == 1 else 's'}"


def criticality_command(
    network: Path = typer.Argument(..., help="EPANET .inp file of the network."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the full table (CSV)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes (1 = in process)."),
    threshold_m: float = typer.Option(
        DEFAULT_THRESHOLD_M, "--threshold-m",
        help="Pressure threshold in m (14 m = 0.14 MPa, the usual end-of-network minimum).",
    ),
    duration: str | None = typer.Option(
        None, "--duration", help="Simulated time, e.g. 24h (default: the file's, else 24h)."
    ),
    valves: bool = typer.Option(False, "--valves", help="Also close each valve in turn."),
    min_diameter_mm: float | None = typer.Option(
        None, "--min-diameter-mm", help="Close only pipes at least this wide, in mm (mains)."
    ),
) -> None:
    """Close every pipe in turn (pressure-driven EPS); report unsupplied demand and low
    pressures per pipe."""
    if not network.is_file():
        raise NetworkFileError(network, None, "file not found")
    if workers < 1:
        raise ConfigError(f"--workers must be 1 or more, got {workers}")
    duration_s = parse_duration_s(duration) if duration is not None else None
    settings = load_settings()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(f"Closing pipes of {network.name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        table = criticality(
            network, threshold_m=threshold_m, duration_s=duration_s, include_valves=valves,
            min_diameter_m=None if min_diameter_mm is None else min_diameter_mm / 1000.0,
            workers=workers, dask_address=settings.dask_address, progress=advance,
        )
    if out is not None:
        _write_csv_atomically(table, out)
    console = Console()
    base = table.attrs["base"]
    links = f"{len(table)} link{'' if len(table) == 1 else 's'}"
    console.print(
        f"{links} closed in turn, {table.attrs['duration_s'] / 3600:g} h each. "
        f"Base network: {_junctions(base['nodes_below_threshold'])} below {threshold_m:g} m, "
        f"lowest pressure {base['worst_pressure_m']:.2f} m at {base['worst_node']}, "
        f"unsupplied {base['unsupplied_m3']:,.1f} m³."
    )
    console.print(_top_table(table, network, threshold_m))
    failed = int(table["error"].notna().sum())
    if failed:
        console.print(f"{failed} closures could not be simulated (see the error column).")
    if out is not None:
        console.print(f"Full table: {out}")


def register(app: typer.Typer) -> None:
    """Add the ``scenarios`` command group to ``app``."""
    group = typer.Typer(help="What-if scenarios on a network (criticality …).",
                        no_args_is_help=True)
    group.command("criticality")(criticality_command)
    app.add_typer(group, name="scenarios")
