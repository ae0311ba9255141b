"""``waterops evaluate …``: score detections against ground truth (leaks; quality events).

Contract (kept stable)::

    waterops evaluate leaks --truth leaks.csv --detected out.csv --network NET.inp \\
        [--end TIME] [--out scores.json]

prints the summary (hits, false alarms, misses, precision/recall/F1 on leaks of at least
1 L/s, median distance along pipes, median delay, false alarms per month, BattLeDIM economic
score) and, with ``--out``, writes it as JSON with the per-leak table beside it
(``scores.leaks.csv``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from waterops.cli import evaluate_quality
from waterops.cli.detect import write_csv_atomically
from waterops.errors import ConfigError, NetworkFileError
from waterops.io.inp import read_inp
from waterops.service.leak_evaluation import (
    HIT_DISTANCE_M,
    MIN_FLOW_M3S,
    read_detections,
    read_truth,
    score_leaks,
)


def _time(text: str | None, option: str) -> pd.Timestamp | None:
    if text is None:
        return None
    try:
        return pd.Timestamp(text).tz_localize("UTC") if pd.Timestamp(text).tzinfo is None \
            else pd.Timestamp(text).tz_convert("UTC")
    except ValueError:
        raise ConfigError(f"{option} {text!r}: not a time (use e.g. 2019-12-31 23:55)") from None


def leaks_command(
    truth: Path = typer.Option(..., "--truth", "-t", help="Ground truth CSV: pipe_id, start, "
                               "peak, end, peak_flow_m3s[, type]."),
    detected: Path = typer.Option(..., "--detected", "-d", help="Detections CSV: pipe_id, "
                                  "detected_at."),
    network: Path = typer.Option(..., "--network", "-n", help="EPANET .inp file (distances "
                                 "along pipes)."),
    end: str | None = typer.Option(None, "--end", help="End of the period (UTC; default: the "
                                   "latest leak end)."),
    start: str | None = typer.Option(None, "--start", help="Start of the period, for false "
                                     "alarms per month (UTC)."),
    min_flow_ls: float = typer.Option(MIN_FLOW_M3S * 1000, "--min-flow-ls",
                                      help="Leaks scored for precision/recall/F1: at least "
                                      "this peak flow [L/s]."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the summary (JSON) and "
                                    "the per-leak table (<out>.leaks.csv)."),
) -> None:
    """Score leak detections: hits, false alarms, misses, distance, delay, economic score."""
    if not network.is_file():
        raise NetworkFileError(network, None, "file not found")
    scores = score_leaks(read_truth(truth), read_detections(detected), read_inp(network),
                         end=_time(end, "--end"), start=_time(start, "--start"),
                         min_flow_m3s=min_flow_ls / 1000.0, hit_distance_m=HIT_DISTANCE_M)
    view = Table(title=f"Leak detection scores ({detected.name} against {truth.name})")
    view.add_column("score")
    view.add_column("value", justify="right")
    for name, value in scores.summary.items():
        view.add_row(name, "-" if math.isnan(value) else f"{value:,.3f}".rstrip("0").rstrip("."))
    Console().print(view)
    if out is not None:
        folder = out.resolve().parent
        if not folder.is_dir():
            raise ConfigError(f"--out {out}: folder {folder} does not exist")
        write_csv_atomically(scores.leaks, out.with_suffix(".leaks.csv"))
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps({k: (None if math.isnan(v) else v)
                                   for k, v in scores.summary.items()}, indent=2) + "\n")
        tmp.replace(out)


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command group to ``app``."""
    group = typer.Typer(help="Score detections against ground truth (leaks, quality events).",
                        no_args_is_help=True)
    group.command("leaks")(leaks_command)
    evaluate_quality.add_commands(group)
    app.add_typer(group, name="evaluate")
