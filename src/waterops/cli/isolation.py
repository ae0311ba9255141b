"""``waterops isolate PIPE``: the valve isolation plan of a pipe, printed.

Without ``--network`` the bundled demo network, its valve layer and its utility layout
(customers, critical users) are used; with ``--network`` and no ``--valves``, valves are
placed by the N-1 rule (:func:`waterops.model.valve_layer.strategic_valve_layer`) and no
customers are known. ``--hydraulics`` also simulates the closure (pressure-driven demand) and
prints the supply lost and the lowest pressures.
"""

from __future__ import annotations

from pathlib import Path

import typer

from waterops.data import demo_network_path
from waterops.emergency.closure import ClosureSimulator
from waterops.emergency.isolation import IsolationPlan
from waterops.service.isolation import load_isolator
from waterops.service.virtual_utility import build_demo_utility

SHOWN = 12
"""Most ids listed per line (the rest counted)."""


def _ids(ids: tuple[str, ...] | list[str]) -> str:
    if not ids:
        return "none"
    more = f" … (+{len(ids) - SHOWN})" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


def format_plan(plan: IsolationPlan) -> list[str]:
    """The plan as lines of text (SI inside; m³/d and L/s shown)."""
    lines = [
        f"Isolation plan for {'pipe' if plan.target_kind == 'link' else 'node'} "
        f"{plan.target_id} (segment {plan.segment})",
        *([f"  valves that will not close: {', '.join(plan.failed_valves)}"]
          if plan.failed_valves else []),
        f"  valves to close ({len(plan.valves_to_close)}): "
        + (", ".join(f"{v.valve_id} on {v.link_id} at {v.node_id}"
                     for v in plan.valves_to_close) or "none (no valve bounds this segment)"),
        f"  segment: {len(plan.isolated_links)} links, {len(plan.isolated_nodes)} nodes: "
        f"{_ids(plan.isolated_nodes)}",
        f"  unintended isolations: {len(plan.unintended_nodes)} nodes: "
        f"{_ids(plan.unintended_nodes)}",
        "  customers losing water: "
        + (", ".join(f"{n} {k}" for k, n in plan.customers_by_kind.items()) or "none"),
        "  critical users: " + (", ".join(f"{u.name} ({u.id}, {u.node})"
                                          for u in plan.critical_users) or "none"),
        f"  supply lost: {plan.demand_lost_m3d:.1f} m³/d ({plan.demand_lost_ls:.2f} L/s)",
    ]
    return lines


def register(app: typer.Typer) -> None:
    """Add ``waterops isolate`` to ``app``."""

    @app.command("isolate")
    def isolate(
        pipe: str = typer.Argument(..., help="id of the pipe to isolate (a burst)"),
        network: Path | None = typer.Option(None, "--network", help="EPANET .inp file "
                                            "(default: the bundled demo network)"),
        valves: Path | None = typer.Option(None, "--valves", help="valve-layer CSV "
                                           "(valve_id,link,node)"),
        hydraulics: bool = typer.Option(False, "--hydraulics", help="also simulate the "
                                        "closure (pressure-driven demand)"),
        failed: list[str] = typer.Option([], "--failed", help="a valve id that will not "
                                         "close (repeat the option for several)"),
    ) -> None:
        """Print the valves to close for PIPE, what loses water and the supply lost."""
        path = network or demo_network_path()
        is_demo = path.resolve() == demo_network_path().resolve()
        layout = build_demo_utility() if is_demo else None
        isolator = load_isolator(path, valves, layout)
        plan = isolator.plan_for_link(pipe, failed)
        for line in format_plan(plan):
            typer.echo(line)
        if hydraulics:
            with ClosureSimulator(path) as sim:
                effect = sim.effect(plan.links_to_close)
            typer.echo(f"  simulated ({effect.duration_s} s, pressure-driven demand): supply "
                       f"lost {effect.unsupplied_m3s * 86400:.1f} m³/d "
                       f"({effect.unsupplied_m3s * 1000:.2f} L/s); "
                       f"{len(effect.newly_low)} junctions fall below "
                       f"{effect.threshold_m:g} m")
            lowest = ", ".join(f"{n} {p:.1f} m" for n, p in effect.lowest(5))
            typer.echo(f"  lowest pressures: {lowest}")
