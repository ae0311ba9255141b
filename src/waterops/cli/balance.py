"""``waterops balance …``: the IWA water balance, leakage indices, night flow and the report.

Contract (kept stable)::

    waterops balance compute --input balance.csv|.toml [--scope system|dma] [--out table.csv]
    waterops balance report --input balance.csv|.toml --out report.html|report.pdf
    waterops balance night-flow --inflow dma_inflow.csv --households N [--non-households N]
        [--pressure azp.csv] [--timezone Asia/Shanghai] [--n1 1.0] [--out nights.csv]
    waterops balance night-flow --dma DMA-01 --from 2026-11-01T00:00+08:00
        --to 2026-11-08T00:00+08:00 [--database URL]
    waterops balance from-store --billing billing.csv --out balance.csv [--database URL]

``from-store`` builds the input of the demo utility: DMA system inputs integrated from the
boundary meters in the telemetry store, mains and connections from the network and layout,
billed volumes from the billing export (:mod:`waterops.service.balance_builder`).

``compute`` prints, per system or DMA and period, NRW, real losses with their 95 % limits,
ILI and the CJJ 92-2016 leakage rate and grade; ``--out`` writes every component and index
(:func:`waterops.planning.water_balance.balance_table`). The input keys are those of
:mod:`waterops.planning.balance_inputs`. ``night-flow`` reads CSV files ``time,flow_ls`` and
``time,pressure_m`` (ISO times with an offset, or UTC).
"""

from __future__ import annotations

import math
import os
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from waterops.cli.detect import write_csv_atomically
from waterops.errors import BalanceInputError, ConfigError
from waterops.planning.balance_inputs import read_balance_inputs
from waterops.planning.balance_report import render_balance_html, render_balance_pdf
from waterops.planning.night_flow import (
    HOUSEHOLD_NIGHT_USE_L_H,
    NON_HOUSEHOLD_NIGHT_USE_L_H,
    NightFlowAnalysis,
    night_flow_analysis,
)
from waterops.planning.water_balance import WaterBalance, balance_table, compute_water_balance

INPUT_HELP = "Balance input, CSV or TOML (keys: see `waterops.planning.balance_inputs`)."


def _balances(path: Path, scope: str | None = None) -> list[WaterBalance]:
    if scope not in (None, "system", "dma"):
        raise ConfigError(f"--scope {scope!r}: use system or dma")
    return [compute_water_balance(r) for r in read_balance_inputs(path)
            if scope is None or r.scope == scope]


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f} %"


def compute_command(
    input_path: Path = typer.Option(..., "--input", "-i", help=INPUT_HELP),
    scope: str | None = typer.Option(None, "--scope", help="Only systems or only DMAs."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the full table (CSV)."),
) -> None:
    """The water balance and leakage indices of each system/DMA and period."""
    balances = _balances(input_path, scope)
    table = balance_table(balances)
    view = Table(title=f"Water balance ({input_path.name})")
    for name in ("scope", "id", "period", "NRW", "real losses m³/d", "± 95 %", "ILI",
                 "CJJ 92 R_BL", "grade"):
        view.add_column(name, justify="left" if name in ("scope", "id", "period") else "right")
    order = {"system": 0, "dma": 1}
    for b in sorted(balances, key=lambda b: (order[b.input.scope], b.input.scope_id,
                                             b.input.period_start)):
        days = float(b.input.period_days)
        ili = b.iwa.ili if b.iwa is not None else math.nan
        rate = b.cjj92.leakage_rate if b.cjj92 is not None else math.nan
        grade = b.cjj92.grade.value if b.cjj92 is not None else "-"
        view.add_row(b.input.scope, b.input.scope_id, b.input.period, _pct(b.nrw_ratio),
                     f"{b.real_losses.m3 / days:,.0f}", f"{b.real_losses.ci95_m3 / days:,.0f}",
                     "-" if math.isnan(ili) else f"{ili:.2f}", _pct(rate), grade)
    Console(width=160).print(view)
    for b in balances:
        for warning in b.warnings:
            typer.echo(f"warning: {b.input.scope} {b.input.scope_id} {b.input.period}: "
                       f"{warning}", err=True)
    if out is not None:
        write_csv_atomically(table, out)
        typer.echo(f"wrote {out}")


def _write_atomically(data: bytes, out: Path) -> None:
    folder = out.resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"--out {out}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_command(
    input_path: Path = typer.Option(..., "--input", "-i", help=INPUT_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="report.html or report.pdf"),
    title: str = typer.Option("Water balance report", "--title", help="Report title."),
) -> None:
    """Write the report (trends, IWA balance, indices) as HTML or PDF."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".pdf"):
        raise ConfigError(f"--out {out}: use a .html or .pdf file")
    balances = _balances(input_path)
    if suffix == ".html":
        data = render_balance_html(balances, title=title).encode("utf-8")
    else:
        data = render_balance_pdf(balances, title=title)
    _write_atomically(data, out)
    typer.echo(f"wrote {out} ({len(balances)} balances)")


def _series(path: Path, column: str, scale: float) -> pd.Series:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise BalanceInputError(path, f"cannot read CSV: {exc}") from exc
    missing = [c for c in ("time", column) if c not in frame.columns]
    if missing:
        raise BalanceInputError(path, f"missing column(s) {', '.join(missing)}; expected "
                                      f"time,{column}")
    try:
        times = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise BalanceInputError(path, f"column time: not ISO times ({exc})") from None
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise BalanceInputError(f"{path}:{line}", f"{column} {frame[column].iloc[line - 2]!r} "
                                                  f"is not a number")
    return pd.Series(values.to_numpy() * scale, index=pd.DatetimeIndex(times)).sort_index()


def _when(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: not an ISO time") from None
    if value.tzinfo is None:
        raise ConfigError(f"{option} {text!r}: needs a UTC offset (e.g. +08:00)")
    return value


def night_flow_command(
    inflow: Path | None = typer.Option(None, "--inflow",
                                       help="DMA net inflow CSV: time,flow_ls."),
    households: int | None = typer.Option(None, "--households", min=0,
                                          help="Households served (with --inflow)."),
    dma: str | None = typer.Option(None, "--dma", help="A DMA of the demo utility: inflow, "
                                   "pressure and properties from the store and layout."),
    start: str | None = typer.Option(None, "--from", help="Start (ISO time with offset)."),
    end: str | None = typer.Option(None, "--to", help="End (ISO time with offset)."),
    database: str | None = typer.Option(None, "--database", help="Database URL (with --dma)."),
    non_households: int = typer.Option(0, "--non-households", min=0,
                                       help="Non-household properties served."),
    pressure: Path | None = typer.Option(None, "--pressure",
                                         help="AZP pressure CSV: time,pressure_m."),
    timezone: str = typer.Option("Asia/Shanghai", "--timezone", help="The utility's clock."),
    household_l_h: float = typer.Option(HOUSEHOLD_NIGHT_USE_L_H, "--household-l-h",
                                        help="Household night use [L/property/h]."),
    non_household_l_h: float = typer.Option(NON_HOUSEHOLD_NIGHT_USE_L_H,
                                            "--non-household-l-h",
                                            help="Non-household night use [L/property/h]."),
    n1: float = typer.Option(1.0, "--n1", help="FAVAD leakage exponent N1."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the nights (CSV)."),
) -> None:
    """Minimum night flow, net night flow and daily leakage of a DMA, night by night."""
    analysis = NightFlowAnalysis(timezone=timezone, household_l_h=household_l_h,
                                 non_household_l_h=non_household_l_h, n1=n1)
    if dma is not None:
        if start is None or end is None:
            raise ConfigError("--dma needs --from and --to")
        result = _night_flow_from_store(dma, _when(start, "--from"), _when(end, "--to"),
                                        database, analysis)
        title = f"Night flow of {dma}"
    else:
        if inflow is None or households is None:
            raise ConfigError("give --inflow and --households, or --dma with --from and --to")
        result = night_flow_analysis(
            _series(inflow, "flow_ls", 1e-3), households=households,
            non_households=non_households,
            pressure_m=_series(pressure, "pressure_m", 1.0) if pressure else None,
            analysis=analysis)
        title = f"Night flow ({inflow.name})"
    view = Table(title=title)
    for name in ("night", "MNF L/s", "legit. L/s", "NNF L/s", "NDF h", "leakage m³/d"):
        view.add_column(name, justify="left" if name == "night" else "right")
    for night, r in result.iterrows():
        view.add_row(str(night), f"{1000 * r['mnf_m3s']:.2f}",
                     f"{1000 * r['legitimate_night_use_m3s']:.2f}",
                     f"{1000 * r['net_night_flow_m3s']:.2f}", f"{r['night_day_factor_h']:.1f}",
                     f"{r['leakage_m3_per_day']:,.0f}")
    Console(width=120).print(view)
    if out is not None:
        write_csv_atomically(result.reset_index(), out)
        typer.echo(f"wrote {out}")


def _night_flow_from_store(dma: str, start: datetime, end: datetime, database: str | None,
                           analysis: NightFlowAnalysis) -> pd.DataFrame:
    from waterops.service.balance_builder import dma_night_flow
    from waterops.service.virtual_utility import build_demo_utility
    from waterops.store.telemetry_store import TelemetryStore

    store = TelemetryStore.open(database)
    try:
        return dma_night_flow(store, build_demo_utility(), dma, start, end, analysis)
    finally:
        store.close()


def from_store_command(
    billing: Path = typer.Option(..., "--billing", help="Billing export CSV: one row per "
                                 "system/DMA and period (billed, unbilled, apparent losses)."),
    out: Path = typer.Option(..., "--out", "-o", help="Balance input CSV to write."),
    database: str | None = typer.Option(None, "--database", help="Database URL (default: "
                                        "WATEROPS_DATABASE_URL or the data dir)."),
) -> None:
    """Build balance inputs of the demo utility from the store and a billing export."""
    from waterops.data import demo_network_path
    from waterops.io.inp import read_inp
    from waterops.service.balance_builder import balance_input_table, balance_inputs_from_store
    from waterops.service.virtual_utility import build_demo_utility
    from waterops.store.telemetry_store import TelemetryStore

    store = TelemetryStore.open(database)
    try:
        inputs = balance_inputs_from_store(store, build_demo_utility(),
                                           read_inp(demo_network_path()), billing)
    finally:
        store.close()
    write_csv_atomically(balance_input_table(inputs), out)
    typer.echo(f"wrote {out} ({len(inputs)} rows)")


def register(app: typer.Typer) -> None:
    """Add the ``balance`` command group to ``app``."""
    group = typer.Typer(help="IWA water balance, leakage indices (ILI, CJJ 92-2016), night "
                             "flow and the water-balance report.", no_args_is_help=True)
    group.command("compute")(compute_command)
    group.command("report")(report_command)
    group.command("night-flow")(night_flow_command)
    group.command("from-store")(from_store_command)
    app.add_typer(group, name="balance")
