"""``waterops datasets quality-events``: write the labelled water-quality data set.

::

    waterops datasets quality-events --out DIR --seed N

writes ``DIR/train.csv`` (with the ``EVENT`` label column), ``DIR/test.csv`` (no label),
``DIR/test_truth.csv`` (time, ``EVENT``) and ``DIR/injections.csv`` (every injected event
and sensor fault). See :mod:`waterops.service.quality_datasets` for the model.
"""

from __future__ import annotations

from pathlib import Path

import typer

from waterops.service.quality_datasets import QualityDatasetSpec, write_quality_dataset


def quality_events_command(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the files into."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same files)."),
    train_days: float = typer.Option(14.0, "--train-days", help="Training period [day]."),
    test_days: float = typer.Option(28.0, "--test-days", help="Test period [day]."),
    step_s: float = typer.Option(300.0, "--step-s", help="Reporting interval [s]."),
    weakest_event: float = typer.Option(
        0.5, "--weakest-event", help="Smallest event strength (1 = chlorine -0.25 mg/L in an "
        "organic event); lower it for a harder set."),
) -> None:
    """Generate a labelled station data set (events and sensor faults)."""
    spec = QualityDatasetSpec(train_days=train_days, test_days=test_days, step_s=step_s,
                              weakest_event=weakest_event)
    paths = write_quality_dataset(out, seed, spec)
    for role, path in paths.items():
        typer.echo(f"{role}: {path}")


def add_commands(datasets_app: typer.Typer) -> None:
    """Add ``quality-events`` to the ``datasets`` group."""
    datasets_app.command("quality-events")(quality_events_command)
