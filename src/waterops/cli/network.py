"""``waterops network info NET.inp`` and ``waterops network geojson NET.inp -o OUT [--crs]``.

``info`` prints what a network holds (elements, pipe length by diameter and material,
sources, tanks, pumps, valves) and checks its connectivity (islands, dead ends).
``geojson`` exports it for a GIS, reprojected to WGS84 when the source CRS is given.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from waterops.io.geojson import write_geojson
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.model.network_summary import (
    element_counts,
    pipe_length_by_diameter,
    pipe_length_by_material,
)
from waterops.model.topology import Connectivity, check_connectivity

MAX_LISTED = 10
"""Longest list of ids printed for islands and dead ends (the rest is counted)."""

network_app = typer.Typer(help="Network model: inspect and export EPANET networks.",
                          no_args_is_help=True)


def _f(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:,.{digits}f}"


def _name(value: object) -> str:
    """An optional id (pattern, curve) for a table cell: ``-`` when missing."""
    return value if isinstance(value, str) and value else "-"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" … (+{len(ids) - MAX_LISTED} more)" if len(ids) > MAX_LISTED else "")


def _elements_table(net: Network) -> Table:
    table = Table(title="Elements")
    table.add_column("element")
    table.add_column("count", justify="right")
    for name, count in element_counts(net).items():
        table.add_row(name, str(count))
    return table


def _length_tables(net: Network) -> list[Table]:
    by_diameter = Table(title="Pipe length by diameter")
    for column in ("diameter [mm]", "pipes", "length [km]"):
        by_diameter.add_column(column, justify="right")
    by_diameter_rows = pipe_length_by_diameter(net)
    for diameter_mm, pipes, length_km in zip(by_diameter_rows.index.tolist(),
                                             by_diameter_rows["pipes"].tolist(),
                                             by_diameter_rows["length_km"].tolist(),
                                             strict=True):
        by_diameter.add_row(_f(diameter_mm, 1), str(pipes), _f(length_km, 3))
    total_km = float(net.pipes["length_m"].sum()) / 1e3
    by_diameter.add_row("total", str(len(net.pipes)), _f(total_km, 3), style="bold")
    by_material = Table(title="Pipe length by material / tag")
    by_material.add_column("material / tag")
    by_material.add_column("pipes", justify="right")
    by_material.add_column("length [km]", justify="right")
    by_material_rows = pipe_length_by_material(net)
    for material, pipes, length_km in zip(by_material_rows.index.tolist(),
                                          by_material_rows["pipes"].tolist(),
                                          by_material_rows["length_km"].tolist(),
                                          strict=True):
        by_material.add_row(str(material), str(pipes), _f(length_km, 3))
    return [by_diameter, by_material]


def _sources_table(net: Network) -> Table:
    table = Table(title="Sources")
    for column in ("source", "kind", "head [m] / strength", "pattern"):
        table.add_column(column)
    for rid, head_m, pattern in zip(net.reservoirs.index, net.reservoirs["head_m"],
                                    net.reservoirs["head_pattern"], strict=True):
        table.add_row(str(rid), "reservoir", _f(head_m), _name(pattern))
    for node, kind, strength, pattern in zip(net.sources.index, net.sources["source_type"],
                                             net.sources["strength"], net.sources["pattern"],
                                             strict=True):
        table.add_row(str(node), f"quality source ({kind})", _f(strength, 3), _name(pattern))
    return table


def _tanks_table(net: Network) -> Table:
    table = Table(title="Tanks")
    for column in ("tank", "elevation [m]", "level min-init-max [m]", "diameter [m]",
                   "volume curve"):
        table.add_column(column)
    for tid, t in net.tanks.iterrows():
        levels = f"{_f(t['min_level_m'])} - {_f(t['init_level_m'])} - {_f(t['max_level_m'])}"
        table.add_row(str(tid), _f(t["elevation_m"]), levels, _f(t["diameter_m"]),
                      _name(t["volume_curve"]))
    return table


def _pumps_table(net: Network) -> Table:
    table = Table(title="Pumps")
    for column in ("pump", "from -> to", "head curve / power [kW]", "speed", "pattern"):
        table.add_column(column)
    for pid, p in net.pumps.iterrows():
        drive = str(p["head_curve"]) if isinstance(p["head_curve"], str) \
            else f"{_f(p['power_kw'])} kW"
        table.add_row(str(pid), f"{p['node1']} -> {p['node2']}", drive,
                      _f(p["speed"]) if not math.isnan(p["speed"]) else "1",
                      _name(p["pattern"]))
    return table


def _valves_table(net: Network) -> Table:
    table = Table(title="Valves")
    for column in ("valve", "type", "from -> to", "diameter [mm]", "setting (SI)"):
        table.add_column(column)
    for vid, v in net.valves.iterrows():
        setting = str(v["curve"]) if v["valve_type"] == "GPV" else _f(v["setting"], 4)
        table.add_row(str(vid), str(v["valve_type"]), f"{v['node1']} -> {v['node2']}",
                      _f(v["diameter_m"] * 1e3, 1), setting)
    return table


def _connectivity_table(conn: Connectivity) -> Table:
    table = Table(title="Connectivity")
    table.add_column("check")
    table.add_column("result")
    table.add_row("connected components", str(len(conn.components)))
    islands = "none" if not conn.islands else (
        f"{len(conn.islands)}: " + "; ".join(
            f"{len(i)} node(s) from {i[0]}" for i in conn.islands[:MAX_LISTED]))
    table.add_row("islands (no reservoir or tank)", islands)
    table.add_row("dead ends (junctions with one neighbour)",
                  f"{len(conn.dead_ends)}" + (f": {_ids(conn.dead_ends)}" if conn.dead_ends
                                              else ""))
    table.add_row("isolated nodes (no link)",
                  f"{len(conn.isolated)}" + (f": {_ids(conn.isolated)}" if conn.isolated
                                             else ""))
    return table


@network_app.command("info")
def info_command(
    network: Path = typer.Argument(..., help="EPANET input file (.inp)."),
) -> None:
    """Counts, pipe lengths, sources, tanks, pumps and a connectivity check of NETWORK."""
    net = read_inp(network)
    console = Console(markup=False, highlight=False)  # ids and units like [mm] stay literal
    title = net.title[0] if net.title else ""
    console.print(f"{network}  {title}")
    console.print(f"file units: flow {net.flow_units}, head loss {net.headloss}; "
                  "figures below in SI")
    tables = [_elements_table(net), *_length_tables(net), _sources_table(net)]
    if len(net.tanks):
        tables.append(_tanks_table(net))
    if len(net.pumps):
        tables.append(_pumps_table(net))
    if len(net.valves):
        tables.append(_valves_table(net))
    tables.append(_connectivity_table(check_connectivity(net)))
    for table in tables:
        console.print(table)


@network_app.command("geojson")
def geojson_command(
    network: Path = typer.Argument(..., help="EPANET input file (.inp)."),
    output: Path = typer.Option(..., "--output", "-o", help="GeoJSON file to write."),
    crs: str | None = typer.Option(
        None, "--crs",
        help="CRS of the file's coordinates (e.g. EPSG:4547); given, output is WGS84 lon/lat.",
    ),
) -> None:
    """Export NETWORK to GeoJSON (nodes as points, links as lines through their vertices)."""
    net = read_inp(network)
    write_geojson(net, output, source_crs=crs)
    where = "reprojected to WGS84" if crs else "coordinates as in the file"
    typer.echo(f"wrote {output}: {len(net.node_ids())} nodes, {len(net.link_ids())} links "
               f"({where})")


def register(app: typer.Typer) -> None:
    """Add the ``network`` command group to ``app``."""
    app.add_typer(network_app, name="network")
