"""``waterops renewal …``: the pipe register and renewal plans (issue 10).

    waterops renewal register import pipes.csv --breaks breaks.csv --system city
    waterops renewal register demo --system demo            # the demo network's register
    waterops renewal register export --system city --out pipes.csv --breaks-out breaks.csv
    waterops renewal plan --system demo --budget 3e7 --years 3 --out plan.csv \\
        --geojson plan.geojson
    waterops renewal compare 1 2

Money in yuan, lengths in m, diameters in m (``--diameter-unit mm`` for a ``diameter``
column in mm). The store is ``WATEROPS_DATABASE_URL`` (SQLite in the data directory by
default). Plans are made with HiGHS (``--method greedy`` for the baseline).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from waterops.config import load_settings
from waterops.data import DEMO_NETWORK_CRS, demo_network_path
from waterops.errors import ConfigError
from waterops.planning.plan_export import plan_csv_text, plan_geojson
from waterops.planning.register import read_register_csv, write_register_csv
from waterops.planning.renewal import RenewalOptions, RenewalPlan
from waterops.service.renewal import PlanRequest, RenewalService
from waterops.store import migrate
from waterops.store.engine import create_store_engine, resolve_url
from waterops.store.pipe_register_store import PipeRegisterStore, StoredPlan


def _service() -> RenewalService:
    settings = load_settings()
    engine = create_store_engine(resolve_url(settings.database_url))
    migrate.upgrade(engine)
    return RenewalService(PipeRegisterStore(engine))


def _history(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, last = text.partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise ConfigError(f"--history {text!r}: give years as FIRST-LAST, e.g. 2011-2025")
    return int(first), int(last)


def _write_text(path: Path, text: str) -> None:
    """Write into a temporary file beside ``path``, then rename: no half-written file."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"{path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add the ``renewal`` command group to ``app``."""
    renewal = typer.Typer(help="Pipe register, break-rate risk and renewal plans (HiGHS).",
                          no_args_is_help=True)
    registry = typer.Typer(help="The pipe register: import, export, the demo's.",
                           no_args_is_help=True)
    renewal.add_typer(registry, name="register")
    app.add_typer(renewal, name="renewal")

    @registry.command("import")
    def import_register(
        pipes: Annotated[Path, typer.Argument(help="pipes.csv (see docs: columns, SI units)")],
        system: Annotated[str, typer.Option(help="water system the register belongs to")],
        breaks: Annotated[Path | None, typer.Option(help="breaks.csv: pipe_id,date,kind")] = None,
        history: Annotated[str | None, typer.Option(
            help="years the failure history covers, FIRST-LAST (default: of the breaks)")] = None,
        diameter_unit: Annotated[str, typer.Option(
            help="unit of a 'diameter' column: m or mm")] = "m",
    ) -> None:
        """Replace a system's register with the CSV files (all or nothing)."""
        if diameter_unit not in ("m", "mm"):
            raise ConfigError(f"--diameter-unit {diameter_unit!r}: use m or mm")
        table = read_register_csv(pipes, breaks, _history(history),
                                  diameter_unit="mm" if diameter_unit == "mm" else "m")
        stored = _service().import_register(None, system, table)
        first, last = table.history_years
        typer.echo(f"stored {stored:,} pipes on {len(table.roads):,} roads and "
                   f"{len(table.breaks):,} failures ({first}-{last}) for {system!r}")

    @registry.command("demo")
    def demo_register_command(
        system: Annotated[str, typer.Option(help="system name to store it under")] = "demo",
        seed: Annotated[int, typer.Option(help="seed of the synthetic roads and failures")] = 7,
    ) -> None:
        """Store the demo network's register (materials from its tags; synthetic roads and
        failures from a known break model)."""
        from waterops.io.inp import read_inp
        from waterops.planning.synthetic_register import demo_register

        table = demo_register(read_inp(demo_network_path()), seed=seed, system=system)
        stored = _service().import_register(None, system, table)
        typer.echo(f"stored the demo register: {stored:,} pipes on {len(table.roads):,} "
                   f"roads, {len(table.breaks):,} failures {table.history_years[0]}-"
                   f"{table.history_years[1]} as {system!r}")

    @registry.command("export")
    def export_register(
        system: Annotated[str, typer.Option(help="water system")],
        out: Annotated[Path, typer.Option(help="pipes CSV to write")],
        breaks_out: Annotated[Path | None, typer.Option(help="breaks CSV to write")] = None,
    ) -> None:
        """Write a system's register as CSV (SI units)."""
        table = _service().register(None, system)
        write_register_csv(table, out, breaks_out)
        typer.echo(f"wrote {len(table.pipes):,} pipes to {out}")

    @renewal.command("plan")
    def plan_command(
        system: Annotated[str, typer.Option(help="water system whose register to plan")],
        budget: Annotated[list[float], typer.Option(
            help="yearly budget [yuan]; once for every year, or once per year")],
        years: Annotated[int, typer.Option(help="plan horizon, 1-5 years")] = 3,
        start_year: Annotated[int | None, typer.Option(
            help="calendar year of the plan's first year (default: next year)")] = None,
        name: Annotated[str | None, typer.Option(help="name of the plan")] = None,
        method: Annotated[str, typer.Option(help="mip (HiGHS) or greedy")] = "mip",
        whole_roads: Annotated[bool, typer.Option(
            help="renew whole road segments only")] = False,
        min_length: Annotated[float, typer.Option(
            help="shortest works on one road in one year [m]")] = 0.0,
        project_cost: Annotated[float, typer.Option(
            help="cost of opening works on a road [yuan]")] = 0.0,
        must_do: Annotated[list[str] | None, typer.Option(help="pipe or road to renew")] = None,
        must_not: Annotated[list[str] | None, typer.Option(
            help="pipe or road not to renew")] = None,
        appraisal_years: Annotated[int | None, typer.Option(
            help="years of risk reduction counted (≥ --years)")] = None,
        discount_rate: Annotated[float, typer.Option(help="yearly discount rate")] = 0.0,
        time_limit: Annotated[float, typer.Option(help="HiGHS time limit [s]")] = 60.0,
        criticality: Annotated[Path | None, typer.Option(
            help="criticality CSV of `waterops scenarios criticality` (consequence)")] = None,
        criticality_duration: Annotated[str, typer.Option(
            help="simulated time of the criticality run (its volumes are over this)")] = "24h",
        out: Annotated[Path | None, typer.Option(help="plan CSV to write")] = None,
        geojson: Annotated[Path | None, typer.Option(help="plan GeoJSON to write")] = None,
        network: Annotated[Path | None, typer.Option(
            help="network for the GeoJSON (default: the demo network)")] = None,
        crs: Annotated[str | None, typer.Option(
            help="CRS of the network's coordinates (default: the demo's)")] = None,
    ) -> None:
        """Make, save and export a renewal plan."""
        if len(budget) not in (1, years):
            raise ConfigError(f"--budget: give one budget or {years} (one per year), "
                              f"got {len(budget)}")
        if method not in ("mip", "greedy"):
            raise ConfigError(f"--method {method!r}: use mip or greedy")
        budgets = tuple(budget) * years if len(budget) == 1 else tuple(budget)
        start = start_year or date.today().year + 1
        request = PlanRequest(
            name=name or f"{system} {start}-{start + years - 1} ({method})",
            budgets_yuan=budgets, start_year=start,
            method="mip" if method == "mip" else "greedy", whole_roads=whole_roads,
            min_project_length_m=min_length, project_cost_yuan=project_cost,
            must_do=tuple(must_do or ()), must_not=tuple(must_not or ()),
            appraisal_years=appraisal_years, discount_rate=discount_rate,
            time_limit_s=time_limit)
        table = None
        if criticality is not None:
            try:
                table = pd.read_csv(criticality, dtype={"link": str})
            except (OSError, ValueError) as exc:
                raise ConfigError(f"--criticality {criticality}: {exc}") from exc
            missing = {"link", "unsupplied_m3", "nodes_below_threshold"} - set(table.columns)
            if missing:
                raise ConfigError(f"--criticality {criticality}: lacks the column(s) "
                                  f"{', '.join(sorted(missing))}")
            from waterops.units import parse_duration_s

            table.attrs["duration_s"] = parse_duration_s(criticality_duration)
        stored = _service().make_plan(None, system, request, table)
        typer.echo(f"plan {stored.id} {stored.name!r}: {len(stored.pipes):,} pipes, "
                   f"{stored.pipes['road_id'].nunique():,} roads, "
                   f"{stored.pipes['length_m'].sum() / 1000:,.2f} km, "
                   f"{stored.cost_yuan:,.0f} yuan; risk removed "
                   f"{stored.risk_reduction_yuan:,.0f} yuan; {stored.status}"
                   + ("" if stored.mip_gap is None else f", gap {stored.mip_gap:.2e}"))
        for y in stored.years:
            typer.echo(f"  {y['calendar_year']}: {y['pipes']:,} pipes, "
                       f"{y['length_m'] / 1000:,.2f} km, {y['cost_yuan']:,.0f} of "
                       f"{y['budget_yuan']:,.0f} yuan, failures avoided "
                       f"{y['failures_avoided']:.2f}/yr, leakage avoided "
                       f"{y['leakage_avoided_m3']:,.0f} m³/yr")
        if out is not None:
            _write_text(out, plan_csv_text(stored.pipes))
        if geojson is not None:
            from waterops.io.inp import read_inp

            net_path = network or demo_network_path()
            source_crs = crs or (DEMO_NETWORK_CRS if network is None else None)
            collection = plan_geojson(stored.pipes, read_inp(net_path),
                                      source_crs=source_crs, name=stored.name)
            _write_text(geojson, json.dumps(collection, ensure_ascii=False))

    @renewal.command("model")
    def model_command(
        system: Annotated[str, typer.Option(help="water system")],
        held_back: Annotated[int, typer.Option(
            help="last history years held back to check the model on")] = 3,
        out: Annotated[Path | None, typer.Option(help="fitted laws CSV to write")] = None,
    ) -> None:
        """Fit the break-rate model (Shamir-Howard per material) and check it on held-back
        years."""
        from waterops.planning.break_models import fit_break_model, validate

        table = _service().register(None, system)
        _, report = validate(table, held_back)
        model = fit_break_model(table)
        laws = model.table()
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            typer.echo(laws.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        first, last = report.held_back_years
        typer.echo(f"held back {first}-{last}: Poisson deviance {report.deviance:,.1f} "
                   f"(one rate for all: {report.null_deviance:,.1f}); the riskiest 10 % of "
                   f"length holds {report.top_decile_capture:.0%} of the failures "
                   f"(lift {report.lift:.2f})")
        typer.echo(report.by_material.to_string(index=False,
                                                float_format=lambda v: f"{v:,.1f}"))
        if out is not None:
            _write_text(out, laws.to_csv(index=False))

    @renewal.command("benefits")
    def benefits_command(
        plan_id: Annotated[int, typer.Argument(help="saved plan id")],
        network: Annotated[Path | None, typer.Option(
            help="the system's network (default: the demo network)")] = None,
        duration: Annotated[str, typer.Option(help="simulated time, e.g. 24h")] = "24h",
    ) -> None:
        """Hydraulic improvement of a plan: the network with the renewed pipes' new roughness."""
        from waterops.io.inp import read_inp
        from waterops.planning.benefits import hydraulic_improvement
        from waterops.units import parse_duration_s

        service = _service()
        stored = service.plan(None, plan_id)
        table = service.register(None, stored.system)
        plan = _as_plan(stored)
        improvement = hydraulic_improvement(read_inp(network or demo_network_path()), plan,
                                            table, duration_s=int(parse_duration_s(duration)))
        typer.echo(improvement.to_string(float_format=lambda v: f"{v:,.3f}"))

    @renewal.command("compare")
    def compare_command(
        plan_ids: Annotated[list[int], typer.Argument(help="plan ids")],
        out: Annotated[Path | None, typer.Option(help="comparison CSV to write")] = None,
    ) -> None:
        """Saved plans side by side."""
        table = _service().compare(None, plan_ids)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
        if out is not None:
            _write_text(out, table.to_csv(index=False))


def _as_plan(stored: StoredPlan) -> RenewalPlan:
    """A saved plan as the planning layer's :class:`RenewalPlan` (its pipes and years)."""
    options = RenewalOptions(tuple(float(y["budget_yuan"]) for y in stored.years),
                             time_limit_s=1.0)
    return RenewalPlan(stored.pipes, pd.DataFrame(stored.years), stored.risk_reduction_yuan,
                       "mip" if stored.method == "mip" else "greedy", stored.status,
                       float("nan") if stored.mip_gap is None else stored.mip_gap,
                       stored.solve_time_s, options)
