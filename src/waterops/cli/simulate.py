"""``waterops simulate NET.inp -o OUTDIR``: run EPANET, write one table per file, summarise.

Files are written into a temporary directory beside OUTDIR and moved in only when every table
is written, so a failed run leaves OUTDIR as it was.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from waterops.errors import ConfigError, NetworkFileError
from waterops.hydraulics import (
    PressureDriven,
    SimulationResults,
    parse_quality,
    simulate,
)
from waterops.units import parse_duration_s

FORMATS = ("csv", "parquet")
PROGRESS_AFTER_S = 2.0
"""Show a progress bar only once a run has lasted this long [s]."""
MAX_WARNING_LINES = 10


class _LateProgress:
    """A rich progress bar on stderr that appears only when the run turns out to be long."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task = TaskID(0)

    def __call__(self, time_s: int, duration_s: int) -> None:
        if self._progress is None:
            if time.monotonic() - self._started < PROGRESS_AFTER_S:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} h simulated"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=max(duration_s, 1) / 3600)
        self._progress.update(self._task, completed=min(time_s, duration_s) / 3600)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _clock(time_s: int) -> str:
    return f"{time_s // 3600}:{time_s % 3600 // 60:02d}"


def summary_lines(results: SimulationResults, network: Path) -> list[str]:
    """What a modeller wants to see after a run: size, lowest pressure, warnings."""
    times = results.time_s
    lines = [
        f"Simulated {network.name}: {len(results.node_type)} nodes, {len(results.link_type)} "
        f"links, {_clock(int(times[0]))}-{_clock(int(times[-1]))} h, {len(times)} report times"
        if len(times)
        else f"Simulated {network.name}: no report times"
    ]
    low = results.lowest_pressure()
    if low is not None:
        lines.append(
            f"Lowest pressure: {low.pressure_m:.2f} m at junction {low.node_id}, "
            f"{_clock(low.time_s)} h (t = {low.time_s} s)"
        )
    if not results.warnings:
        lines.append("EPANET warnings: none")
        return lines
    lines.append(f"EPANET warnings: {len(results.warnings)}")
    for warning in results.warnings[:MAX_WARNING_LINES]:
        lines.append(f"  {_clock(warning.time_s)} h  {warning.kind}: {warning.message}")
    if len(results.warnings) > MAX_WARNING_LINES:
        lines.append(f"  … and {len(results.warnings) - MAX_WARNING_LINES} more")
    return lines


def write_tables(results: SimulationResults, outdir: Path, file_format: str) -> list[Path]:
    """Write every table as ``OUTDIR/<table>.<format>`` (first column ``time_s``), all or none."""
    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # beside OUTDIR (same file system, so the final rename is atomic); mkdir, unlike mkdtemp,
    # gives the usual permissions
    staging = outdir.parent / f".{outdir.name}.partial-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        names = []
        for name, table in results.tables().items():
            target = staging / f"{name}.{file_format}"
            frame = table.copy(deep=False)
            frame.columns = [str(c) for c in frame.columns]
            if file_format == "csv":
                frame.to_csv(target, index_label="time_s")
            else:
                frame.reset_index().to_parquet(target, index=False)
            names.append(target.name)
        if not outdir.exists():
            staging.rename(outdir)
        else:
            for name in names:
                os.replace(staging / name, outdir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [outdir / name for name in names]


def simulate_command(
    network: Path = typer.Argument(..., help="EPANET input file (.inp).", show_default=False),
    outdir: Path = typer.Option(
        ..., "--output", "-o", help="Directory for the result tables.", show_default=False
    ),
    duration: str | None = typer.Option(
        None, "--duration", "-d", help="Simulated duration, e.g. 24h, 7d (default: the file's)."
    ),
    step: str | None = typer.Option(
        None, "--step", help="Hydraulic time step, e.g. 15min (default: the file's)."
    ),
    report_step: str | None = typer.Option(
        None, "--report-step", help="Time between result rows, e.g. 15min (default: the file's)."
    ),
    quality: str | None = typer.Option(
        None,
        "--quality",
        "-q",
        help="Water quality: age | CHEMICAL:BULK_PER_DAY (e.g. chlorine:-0.5) | trace:NODE.",
    ),
    demand_model: str | None = typer.Option(
        None, "--demand-model", help="DDA or PDA (default: the file's)."
    ),
    required_pressure: float = typer.Option(
        20.0, "--required-pressure", help="PDA: pressure for full demand, in m."
    ),
    minimum_pressure: float = typer.Option(
        0.0, "--minimum-pressure", help="PDA: pressure below which nothing is delivered, in m."
    ),
    file_format: str = typer.Option("csv", "--format", "-f", help="csv or parquet."),
) -> None:
    """Simulate a network with EPANET; write node_*/link_* tables in SI units."""
    if file_format not in FORMATS:
        raise ConfigError(f"--format must be csv or parquet, not {file_format!r}")
    if not network.is_file():
        raise NetworkFileError(network, None, "file not found")
    quality_spec = parse_quality(quality) if quality else None
    model: str | PressureDriven | None = None
    if demand_model is not None:
        model = demand_model.upper()
        if model not in ("DDA", "PDA"):
            raise ConfigError(f"--demand-model must be DDA or PDA, not {demand_model!r}")
        if model == "PDA":
            model = PressureDriven(minimum_pressure, required_pressure)
    progress = _LateProgress(f"Simulating {network.name}")
    try:
        results = simulate(
            network,
            duration_s=parse_duration_s(duration) if duration else None,
            hydraulic_step_s=parse_duration_s(step) if step else None,
            report_step_s=parse_duration_s(report_step) if report_step else None,
            quality=quality_spec,
            demand_model=model,
            progress=progress,
        )
    finally:
        progress.stop()
    written = write_tables(results, outdir, file_format)
    for line in summary_lines(results, network):
        typer.echo(line)
    typer.echo(f"Wrote {len(written)} tables to {outdir} ({file_format}, SI units)")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate_command)
