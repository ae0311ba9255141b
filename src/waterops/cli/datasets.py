"""``waterops datasets …``: generate labelled evaluation data sets.

::

    waterops datasets leaks --network NET.inp --out DIR --seed N [--days 180 --leaks 20]

writes a leak data set in the BattLeDIM layout (``pressures.csv``, ``flows.csv``,
``levels.csv``, ``demands.csv``, ``leaks.csv`` ground truth, ``network.inp``); see
:mod:`waterops.service.leak_datasets`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from waterops.cli import datasets_quality
from waterops.errors import NetworkFileError
from waterops.service.leak_datasets import LeakDatasetSpec, generate_leak_dataset


def leaks_command(
    network: Path = typer.Option(..., "--network", "-n", help="EPANET .inp file."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to create (must be empty)."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same data set)."),
    days: float = typer.Option(180.0, "--days", help="Simulated period [day]."),
    leaks: int = typer.Option(20, "--leaks", help="Number of leaks."),
    step_s: int = typer.Option(900, "--step-s", help="Time between readings [s]."),
    sensors: int = typer.Option(25, "--sensors", help="Pressure loggers."),
    leak_free_days: float = typer.Option(14.0, "--leak-free-days",
                                         help="Days without leaks at the start [day]."),
    ami: bool = typer.Option(False, "--ami",
                             help="Smart meters at every consumer junction (demands.csv) and "
                                  "a model with roughness errors (network.inp)."),
    ami_interval_s: int = typer.Option(900, "--ami-interval-s",
                                       help="Smart-meter read interval [s]."),
) -> None:
    """Simulate a network with leaks of many sizes and shapes; write SCADA files and truth."""
    if not network.is_file():
        raise NetworkFileError(network, None, "file not found")
    spec = LeakDatasetSpec(duration_days=days, leak_count=leaks, step_s=step_s,
                           pressure_sensors=sensors, leak_free_days=leak_free_days, ami=ami,
                           ami_interval_s=ami_interval_s)
    truth = generate_leak_dataset(network, out, seed=seed, spec=spec)
    typer.echo(f"{len(truth)} leaks over {days:g} days on {network.name} -> {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``datasets`` command group to ``app``."""
    group = typer.Typer(help="Generate labelled evaluation data sets.", no_args_is_help=True)
    group.command("leaks")(leaks_command)
    datasets_quality.add_commands(group)
    app.add_typer(group, name="datasets")
