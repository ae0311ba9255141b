"""``waterops evaluate quality-events``: score event flags against ground truth.

::

    waterops evaluate quality-events --truth TRUTH.csv --flags flags.csv [--label-column EVENT]

``TRUTH.csv``: the time, then a label column (1 = event row). ``flags.csv``: the output of
``waterops detect quality-events``. Prints precision, recall and F1 over rows, and the
event-level counts (events detected and missed, false-alarm episodes, median delay).
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from waterops.service.quality_evaluation import evaluate_quality_files


def quality_events_command(
    truth: Path = typer.Option(..., "--truth", help="CSV of time and the label column."),
    flags: Path = typer.Option(..., "--flags", help="Flags CSV (time,event,score)."),
    label_column: str = typer.Option("EVENT", "--label-column",
                                     help="Label column of the truth file."),
) -> None:
    """Precision, recall and F1 over rows of water-quality event flags."""
    s = evaluate_quality_files(truth, flags, label_column)
    delay = "n/a" if math.isnan(s.median_delay_s) else f"{s.median_delay_s / 60:.1f} min"
    typer.echo(f"precision {s.precision:.3f}\nrecall    {s.recall:.3f}\nF1        {s.f1:.3f}")
    typer.echo(f"rows: tp {s.tp}, fp {s.fp}, fn {s.fn}, tn {s.tn}")
    typer.echo(f"events: {s.events}, detected {s.detected}, missed {s.missed}, "
               f"false-alarm episodes {s.false_alarms}, median delay {delay}")


def add_commands(evaluate_app: typer.Typer) -> None:
    """Add ``quality-events`` to the ``evaluate`` group."""
    evaluate_app.command("quality-events")(quality_events_command)
