"""``waterops contamination spread|trace`` and ``waterops sources status|switch-plan``.

Without ``--network`` the bundled demo network and its utility layout (customers, DMAs,
sources) are used; with another network, customers and DMAs are unknown (counts are 0) and
sources cannot be switched. Times are model times (since the start of the simulation, midnight
of the demand patterns), written ``1h``, ``90min``, ``1:30``. Concentrations in mg/L.
"""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from waterops.config import load_settings
from waterops.data import demo_network_path
from waterops.emergency.contamination import DEFAULT_THRESHOLD_MG_L, Injection, exposure
from waterops.emergency.contamination import simulate_spread as run_spread
from waterops.emergency.flushing import do_not_drink_area, flushing_plan, hydrant_layer
from waterops.emergency.sources import assess_source, switch_plan
from waterops.emergency.tracing import SensorReading, trace_sources
from waterops.errors import ConfigError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.io.inp import read_inp
from waterops.model.utility import UtilityLayout
from waterops.service.virtual_utility import build_demo_utility
from waterops.units import parse_duration_s

SHOWN = 10
"""Rows of a list printed (the rest counted)."""


def _layout(path: Path) -> UtilityLayout | None:
    return build_demo_utility() if path.resolve() == demo_network_path().resolve() else None


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def read_readings_csv(path: Path) -> list[SensorReading]:
    """Readings from a CSV with a header ``node_id,time_s,concentration_mg_l``.

    Raises
    ------
    ConfigError
        naming the file, the line and what is wrong.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the readings ({exc.strerror})") from None
    rows = csv.DictReader(text.splitlines())
    wanted = {"node_id", "time_s", "concentration_mg_l"}
    if not wanted <= set(rows.fieldnames or ()):
        raise ConfigError(f"{path}:1: the header must name {', '.join(sorted(wanted))}")
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(SensorReading(row["node_id"].strip(), int(float(row["time_s"])),
                                     float(row["concentration_mg_l"])))
        except (ValueError, AttributeError):
            raise ConfigError(f"{path}:{line}: cannot read time_s {row.get('time_s')!r} or "
                              f"concentration_mg_l {row.get('concentration_mg_l')!r}") from None
    return out


def register(app: typer.Typer) -> None:
    """Add the ``contamination`` and ``sources`` groups to ``app``."""
    contamination = typer.Typer(help="Contamination spread and source tracing.",
                                no_args_is_help=True)
    sources = typer.Typer(help="Raw-water sources: early warning and switch plans.",
                          no_args_is_help=True)
    app.add_typer(contamination, name="contamination")
    app.add_typer(sources, name="sources")

    @contamination.command("spread")
    def spread(
        node: str = typer.Argument(..., help="node where the contaminant enters"),
        start: str = typer.Option("0", "--start", help="when it starts (model time)"),
        duration: str | None = typer.Option(None, "--duration", help="how long it lasts "
                                            "(default: to the end)"),
        concentration: float | None = typer.Option(None, "--concentration",
                                                   help="set-point concentration [mg/L]"),
        mass_rate: float | None = typer.Option(None, "--mass-rate", help="mass rate [mg/s]"),
        horizon: str = typer.Option("24h", "--horizon", help="how long to follow it"),
        threshold: float = typer.Option(DEFAULT_THRESHOLD_MG_L, "--threshold",
                                        help="concentration that counts [mg/L]"),
        network: Path | None = typer.Option(None, "--network", help="EPANET .inp file"),
        out: Path | None = typer.Option(None, "--out", help="CSV of the nodes reached"),
    ) -> None:
        """Forward spread: nodes and customers reached within 1, 6, 24 h, the do-not-drink
        area and the hydrant flushing plan."""
        path = network or demo_network_path()
        if concentration is None and mass_rate is None:
            concentration = 1.0
        injection = Injection(node, parse_duration_s(start),
                              parse_duration_s(duration) if duration else None,
                              concentration, mass_rate)
        with EpanetEngine.open(path) as engine:
            result = run_spread(engine, injection, horizon_s=parse_duration_s(horizon),
                                threshold_mg_l=threshold)
        layout = _layout(path)
        customers = layout.customers if layout else ()
        typer.echo(f"Contamination at {node} from t = {_hours(injection.start_s)}, threshold "
                   f"{threshold:g} mg/L:")
        for e in exposure(result, customers):
            typer.echo(f"  within {e.within_h:g} h: {e.nodes} nodes, {e.customers} customers "
                       f"({e.households} households, {e.enterprises} enterprises)")
        area = do_not_drink_area(result, layout if layout else customers)
        typer.echo(f"  do-not-drink area: {len(area.nodes)} nodes, {len(area.accounts)} "
                   f"accounts, DMAs: {', '.join(area.dmas) or 'none known'}")
        net = read_inp(path)
        plan = flushing_plan(net, result, hydrant_layer(net))
        typer.echo(f"  flushing plan: {len(plan)} hydrants, "
                   f"{sum(s.volume_m3 for s in plan):.0f} m³ in all (upstream first):")
        for s in plan[:SHOWN]:
            typer.echo(f"    {s.order}. {s.hydrant_id} at {s.node_id}: {s.volume_m3:.1f} m³ "
                       f"at {s.flow_m3s * 1000:.0f} L/s for {_hours(s.duration_s)}")
        if len(plan) > SHOWN:
            typer.echo(f"    … (+{len(plan) - SHOWN})")
        if out is not None:
            with out.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["node_id", "first_arrival_s", "peak_mg_l", "peak_time_s"])
                for i in (i for i, r in enumerate(result.reached) if r):
                    writer.writerow([result.node_ids[i], result.first_arrival_s[i],
                                     result.peak_mg_l[i], result.peak_time_s[i]])
            typer.echo(f"  nodes reached written to {out}")

    @contamination.command("trace")
    def trace(
        readings: Path = typer.Argument(..., help="CSV: node_id,time_s,concentration_mg_l"),
        threshold: float = typer.Option(0.05, "--threshold", help="detection [mg/L]"),
        members: int = typer.Option(20, "--members", help="demand scenarios"),
        noise: float = typer.Option(0.1, "--noise", help="demand noise (log-normal sigma)"),
        workers: int = typer.Option(1, "--workers", help="worker processes "
                                    "(WATEROPS_DASK_ADDRESS: a Dask cluster)"),
        top: int = typer.Option(10, "--top", help="candidates shown"),
        network: Path | None = typer.Option(None, "--network", help="EPANET .inp file"),
    ) -> None:
        """Backward tracing: candidate injection nodes and start times, best first."""
        path = network or demo_network_path()
        rows = read_readings_csv(readings)
        layout = _layout(path)
        zones = [frozenset(d.junctions) for d in layout.dmas] if layout else []
        ranked = trace_sources(path, read_inp(path), rows, threshold_mg_l=threshold,
                               members=members, noise=noise, zones=zones, workers=workers,
                               dask_address=load_settings().dask_address)
        typer.echo(f"{len(ranked)} candidate nodes from {len(rows)} readings, {members} "
                   "demand scenarios:")
        for rank, c in enumerate(ranked[:top], start=1):
            typer.echo(f"  {rank}. {c.node_id}: start {_hours(c.start_s)}, explains "
                       f"{c.consistency:.0%} of readings ({c.members_consistent:.0%} of "
                       f"scenarios fully), ~{c.concentration_mg_l:.3g} mg/L, "
                       f"log-likelihood {c.log_likelihood:.1f}")

    @sources.command("status")
    def status(
        reading: list[str] = typer.Option([], "--reading", help="SOURCE:PARAMETER=VALUE, "
                                          "e.g. SRC-RIVER:ammonia_n=0.8 (repeat)"),
    ) -> None:
        """Early-warning level of each demo source from its latest raw-water readings."""
        layout = build_demo_utility()
        values: dict[str, dict[str, float]] = {}
        for text in reading:
            name, _, rest = text.partition(":")
            parameter, _, value = rest.partition("=")
            try:
                values.setdefault(name.strip(), {})[parameter.strip()] = float(value)
            except ValueError:
                raise ConfigError(f"cannot read reading {text!r}; use SOURCE:PARAMETER=VALUE"
                                  ) from None
        unknown = sorted(set(values) - {s.id for s in layout.sources})
        if unknown:
            raise ConfigError(f"unknown source(s) {', '.join(unknown)}; sources: "
                              + ", ".join(s.id for s in layout.sources))
        for src in layout.sources:
            result = assess_source(src.id, values.get(src.id, {}))
            role = "backup" if src.backup else "main"
            typer.echo(f"{src.id} ({src.kind}, {role}): {result.level}")
            for f in result.findings:
                typer.echo(f"  {f.parameter} = {f.value:g} {f.unit}: {f.level} "
                           f"(limit {f.limit})")

    @sources.command("switch-plan")
    def switch(
        source: str = typer.Argument(..., help="the failed or polluted source"),
        horizon: str = typer.Option("48h", "--horizon", help="how long to simulate"),
    ) -> None:
        """Switch the demo utility to its backup source: actions, zones and times."""
        layout = build_demo_utility()
        with EpanetEngine.open(demo_network_path()) as engine:
            plan = switch_plan(engine, layout, source, horizon_s=parse_duration_s(horizon))
        typer.echo(f"Switch from {plan.failed_source} to {plan.backup_source}: "
                   + "; ".join(plan.actions))
        for z in plan.zones:
            when = (_hours(z.takes_effect_after_s) if z.takes_effect_after_s is not None
                    else f"not within {_hours(plan.horizon_s)}")
            typer.echo(f"  {z.zone_id}: {z.share_before:.0%} from {plan.failed_source} "
                       f"before, {z.share_after:.0%} from {plan.backup_source} at the end; "
                       f"takes effect after {when}; lowest pressure "
                       f"{z.min_pressure_before_m:.1f} -> {z.min_pressure_after_m:.1f} m; "
                       f"chlorine {z.chlorine_after_mg_l:.2f} mg/L")
        typer.echo(f"  lowest pressure after: {plan.lowest_pressure_after_m:.1f} m at "
                   f"{plan.lowest_pressure_node}")
        for w in plan.warnings:
            typer.echo(f"  {w}")
