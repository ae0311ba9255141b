"""``waterops treatment …``: dose ranges from the plant's history, validation, outlet drift.

Contract (kept stable)::

    waterops treatment recommend --turbidity NTU --temperature C --ammonia MG_L --codmn MG_L
        [--level 0.9] [--history plant.csv]
    waterops treatment validate [--history plant.csv] [--test-fraction 0.2] [--level 0.9]
    waterops treatment drift --outlet outlet.csv [--window-days 7] [--horizon-days 14]
    waterops treatment demo-history --out plant.csv [--days 730] [--seed 7]

The history CSV has ``time`` and the columns of
:data:`waterops.detection.treatment.RAW_COLUMNS` and ``DOSE_COLUMNS``; without
``--history`` (or ``$WATEROPS_PLANT_HISTORY``) the synthetic demo history is used and the
output says so. The outlet CSV has ``time`` and any of ``turbidity`` [NTU],
``free_chlorine`` [mg/L], ``ph``, ``bromate`` [mg/L] ….
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from waterops.cli.detect import write_csv_atomically
from waterops.detection.treatment import (
    DOSE_COLUMNS,
    RawWater,
    outlet_drift_flags,
    synthetic_plant_history,
    validate_dose_model,
)
from waterops.errors import QualityDataError
from waterops.service.treatment import (
    PLANT_HISTORY_ENV,
    SYNTHETIC_SOURCE,
    read_plant_history,
)

HISTORY_HELP = f"Plant history CSV (default: ${PLANT_HISTORY_ENV}, else the synthetic demo)."


def _history(path: Path | None) -> tuple[pd.DataFrame, str]:
    name = path or (Path(os.environ[PLANT_HISTORY_ENV]) if os.environ.get(PLANT_HISTORY_ENV)
                    else None)
    if name is None:
        return synthetic_plant_history(), SYNTHETIC_SOURCE
    return read_plant_history(name), str(name)


def recommend_command(
    turbidity: float = typer.Option(..., "--turbidity", help="Raw turbidity [NTU]."),
    temperature: float = typer.Option(..., "--temperature", help="Water temperature [°C]."),
    ammonia: float = typer.Option(..., "--ammonia", help="Ammonia as N [mg/L]."),
    codmn: float = typer.Option(..., "--codmn", help="Permanganate index CODMn [mg/L]."),
    level: float = typer.Option(0.9, "--level", min=0.5, max=0.99,
                                help="Probability of the ranges."),
    history: Path | None = typer.Option(None, "--history", help=HISTORY_HELP),
) -> None:
    """Coagulant and ozone dose ranges for a raw water."""
    from waterops.detection.treatment import DoseAdvisor

    raw = RawWater(turbidity, temperature, ammonia, codmn)
    frame, source = _history(history)
    rec = DoseAdvisor.fit(frame, source).recommend(raw, level)
    view = Table(title=f"Dose ranges at {level:.0%} (history: {source}, {len(frame)} records)")
    for name in ("dose", "median mg/L", "low mg/L", "high mg/L"):
        view.add_column(name, justify="left" if name == "dose" else "right")
    for label, d in (("coagulant", rec.coagulant), ("ozone", rec.ozone)):
        view.add_row(label, f"{d.dose_mg_l:.2f}", f"{d.low_mg_l:.2f}", f"{d.high_mg_l:.2f}")
    Console(width=140).print(view)
    if rec.outside_training:
        typer.echo(f"warning: {', '.join(rec.outside_training)} outside the history's range: "
                   f"an extrapolation, confirm with a jar test", err=True)


def validate_command(
    history: Path | None = typer.Option(None, "--history", help=HISTORY_HELP),
    test_fraction: float = typer.Option(0.2, "--test-fraction", min=0.05, max=0.5,
                                        help="Most recent share held back."),
    level: float = typer.Option(0.9, "--level", min=0.5, max=0.99,
                                help="Probability of the intervals."),
) -> None:
    """Fit on the older records, score on the most recent ones (held back)."""
    frame, source = _history(history)
    view = Table(title=f"Held-back validation (history: {source})")
    for name in ("dose", "train", "test", "MAE mg/L", "MAPE", "coverage", "width mg/L",
                 "baseline MAE mg/L"):
        view.add_column(name, justify="left" if name == "dose" else "right")
    for target in DOSE_COLUMNS:
        v = validate_dose_model(frame, target, test_fraction=test_fraction, level=level,
                                source=source)
        view.add_row(target, str(v.n_train), str(v.n_test), f"{v.mae_mg_l:.3f}",
                     f"{v.mape:.1%}", f"{v.coverage:.1%} (nominal {level:.0%})",
                     f"{v.mean_width_mg_l:.3f}", f"{v.baseline_mae_mg_l:.3f}")
    Console(width=160).print(view)


def drift_command(
    outlet: Path = typer.Option(..., "--outlet", help="Plant-outlet CSV: time, turbidity, "
                                "free_chlorine, ph …"),
    window_days: float = typer.Option(7.0, "--window-days", min=1.0),
    horizon_days: float = typer.Option(14.0, "--horizon-days", min=1.0),
) -> None:
    """Flag plant-outlet water drifting towards the GB 5749-2022 limits."""
    try:
        frame = pd.read_csv(outlet)
    except (OSError, ValueError) as exc:
        raise QualityDataError(outlet, f"cannot read CSV: {exc}") from exc
    if "time" not in frame.columns:
        raise QualityDataError(outlet, "missing column time")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), utc=True, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise QualityDataError(outlet, f"column time: not ISO times ({exc})") from None
    frame = frame.apply(pd.to_numeric, errors="coerce")
    frame.index = index
    flags = outlet_drift_flags(frame.sort_index(), window_days=window_days,
                               horizon_days=horizon_days)
    if not flags:
        typer.echo("no drift towards the GB 5749-2022 plant-outlet limits")
    for f in flags:
        days = "" if f.days_to_limit is None else f", limit in {f.days_to_limit:.1f} days"
        typer.echo(f"{f.state}: {f.quantity} {f.level:.3g} {f.limit.unit} "
                   f"({f.slope_per_day:+.3g}/day{days}); {f.limit.clause}")


def demo_history_command(
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write."),
    days: int = typer.Option(730, "--days", min=30, max=3650),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """Write the synthetic demo plant history (documented jar-test-like relations)."""
    frame = synthetic_plant_history(days, seed=seed).rename_axis("time").reset_index()
    write_csv_atomically(frame, out)
    typer.echo(f"wrote {out} ({len(frame)} records)")


def register(app: typer.Typer) -> None:
    """Add the ``treatment`` command group to ``app``."""
    group = typer.Typer(help="Coagulant and ozone dose ranges learned from the plant's history; "
                             "plant-outlet drift against GB 5749-2022.", no_args_is_help=True)
    group.command("recommend")(recommend_command)
    group.command("validate")(validate_command)
    group.command("drift")(drift_command)
    group.command("demo-history")(demo_history_command)
    app.add_typer(group, name="treatment")
