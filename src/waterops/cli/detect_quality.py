"""``waterops detect quality-events``: flag water-quality events in a station file.

Contract (kept stable, public benchmark data are scored through it)::

    waterops detect quality-events --input FILE.csv --out flags.csv \\
        [--train TRAIN.csv --label-column EVENT]

``FILE.csv``: first column the time (ISO 8601), the others numeric (empty cells are gaps).
``flags.csv``: ``time,event,score`` for every input row, computed online — row *k*'s flag
depends only on rows up to *k*. ``--method zscore`` runs the robust z-score baseline instead
of the CANARY-style detector.
"""

from __future__ import annotations

from pathlib import Path

import typer

from waterops.service.quality_evaluation import METHODS, detect_quality_file


def quality_events_command(
    input_path: Path = typer.Option(..., "--input", "-i",
                                    help="Station CSV: time, then one numeric column each."),
    out: Path = typer.Option(..., "--out", "-o", help="Flags CSV written: time,event,score."),
    train: Path | None = typer.Option(
        None, "--train", help="Station CSV of normal operation to learn from "
        "(default: the first 288 rows of the input, flagged 0)."),
    label_column: str | None = typer.Option(
        None, "--label-column", help="Event label column (0/1) of the training file; its "
        "event rows are not learned from. Dropped from the input if present."),
    method: str = typer.Option("canary", "--method",
                               help=f"Detector: {' or '.join(METHODS)} (baseline)."),
    threshold: float = typer.Option(4.0, "--zscore-k",
                                    help="Threshold k of the z-score baseline."),
) -> None:
    """Flag water-quality events row by row (online) in a station file."""
    flags = detect_quality_file(input_path, out, train, label_column, method,
                                threshold=threshold)
    typer.echo(f"{int(flags['event'].sum())} of {len(flags)} rows flagged as event -> {out}",
               err=True)


def add_commands(detect_app: typer.Typer) -> None:
    """Add ``quality-events`` to the ``detect`` group."""
    detect_app.command("quality-events")(quality_events_command)
