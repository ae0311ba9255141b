"""``waterops detect …``: detection over files of readings (leaks; water-quality events).

Contract (kept stable, public benchmark data are scored through it)::

    waterops detect leaks --network NET.inp --scada DIR --out leaks.csv

``DIR`` holds ``pressures.csv``, ``flows.csv``, ``levels.csv`` and optionally ``demands.csv``,
each a ``Timestamp`` column and one column per sensor named by its network element id (the
BattLeDIM layout). ``leaks.csv`` gets one row per detected leak, ``pipe_id,detected_at,score``,
``detected_at`` the first time the detector, run online, raises it (UTC): run on the same
data cut at time T, it gives exactly the rows with ``detected_at ≤ T``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import typer

from waterops.cli import detect_quality
from waterops.config import load_settings
from waterops.detection.leak_mnf import NightFlowSettings
from waterops.detection.leaks import LOCATE_AFTER_S, LeakDetectorSettings
from waterops.errors import ConfigError, NetworkFileError
from waterops.service.leak_detection import ScadaUnits, format_detections, run_leak_detection


def write_csv_atomically(table: pd.DataFrame, out: Path) -> None:
    """Write into a temporary file beside ``out``, then rename: no half-written file."""
    folder = out.resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"--out {out}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def leaks_command(
    network: Path = typer.Option(..., "--network", "-n", help="EPANET .inp file of the network."),
    scada: Path = typer.Option(..., "--scada", "-s", help="Folder of pressures.csv, flows.csv, "
                               "levels.csv[, demands.csv]."),
    out: Path = typer.Option(..., "--out", "-o", help="Detections CSV written: "
                             "pipe_id,detected_at,score."),
    method: str = typer.Option("residual", "--method", help="'residual' (pressure residuals "
                               "and leak signatures), 'model' (residuals against the model "
                               "fed smart-meter demands from demands.csv) or 'mnf' (minimum "
                               "night flow, baseline)."),
    pressure_unit: str = typer.Option("m", "--pressure-unit", help="Unit of pressures.csv "
                                      "(m, kPa, bar, psi …)."),
    flow_unit: str = typer.Option("m3/s", "--flow-unit", help="Unit of flows.csv and "
                                  "demands.csv (m3/s, m3/h, l/s …); BattLeDIM: m3/h."),
    level_unit: str = typer.Option("m", "--level-unit", help="Unit of levels.csv (m, cm, ft)."),
    training_days: float = typer.Option(14.0, "--training-days", help="Leak-free days at the "
                                        "start to learn normal behaviour from [day]."),
    threshold: float = typer.Option(LeakDetectorSettings.threshold, "--threshold",
                                    help="Detection score threshold [standard units]."),
    locate_after_hours: float = typer.Option(
        LOCATE_AFTER_S / 3600, "--locate-after-hours", help="Hours after a leak is confirmed "
        "until it is located and raised (at most the 24 h averaging window; 24 = the method "
        "of issue 6)."),
    timezone: str = typer.Option("UTC", "--timezone", help="Local clock of night hours (mnf)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes for the leak "
                                "signatures (1 = in process)."),
) -> None:
    """Detect and locate leaks in SCADA readings, online; write one row per leak."""
    if not network.is_file():
        raise NetworkFileError(network, None, "file not found")
    if workers < 1:
        raise ConfigError(f"--workers must be 1 or more, got {workers}")
    units = ScadaUnits(pressure=pressure_unit, flow=flow_unit, level=level_unit)
    settings = LeakDetectorSettings(training_s=training_days * 86_400, threshold=threshold,
                                    locate_after_s=locate_after_hours * 3600)
    night = NightFlowSettings(training_s=training_days * 86_400, timezone=timezone)
    dask = load_settings().dask_address
    rows = run_leak_detection(network, scada, units=units, method=method, settings=settings,
                              night=night, workers=workers, dask_address=dask)
    write_csv_atomically(format_detections(rows), out)
    typer.echo(f"{len(rows)} leak{'' if len(rows) == 1 else 's'} detected -> {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command group to ``app``."""
    group = typer.Typer(help="Detection over files of readings (leaks, quality events).",
                        no_args_is_help=True)
    group.command("leaks")(leaks_command)
    detect_quality.add_commands(group)
    app.add_typer(group, name="detect")
