"""Read the element sections of an EPANET file: [JUNCTIONS], [RESERVOIRS], [TANKS], [PIPES],
[PUMPS], [VALVES]; one table each, SI inside, built at once from column lists.
"""

from __future__ import annotations

import math

import pandas as pd

from waterops.io.inp_context import InpContext
from waterops.io.inp_lines import Line
from waterops.model.network import build_table

PIPE_STATUS = ("OPEN", "CLOSED", "CV")
VALVE_TYPES = ("PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV")


def read_junctions(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[JUNCTIONS]: id elevation [demand] [pattern] -> ``junctions`` table."""
    u = ctx.units
    ids: list[str] = []
    rows: dict[str, list[object]] = {k: [] for k in (
        "elevation_m", "base_demand_m3s", "demand_pattern", "demand_category",
        "emitter_coeff", "initial_quality")}
    for line in lines:
        ctx.need(line, 2, "a junction (id elevation [demand] [pattern])")
        jid = ctx.new_id(line, ctx.node_kind, "junction")
        ids.append(jid)
        rows["elevation_m"].append(ctx.number(line, 1, f"elevation of junction {jid!r}") * u.length)
        demand = ctx.number(line, 2, f"demand of junction {jid!r}") if len(line.tokens) > 2 \
            else 0.0
        rows["base_demand_m3s"].append(demand * u.flow)
        rows["demand_pattern"].append(ctx.pattern(line, 3))
        rows["demand_category"].append(None)
        rows["emitter_coeff"].append(0.0)
        rows["initial_quality"].append(0.0)
    return build_table("junctions", ids, rows)


def read_reservoirs(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[RESERVOIRS]: id head [pattern] -> ``reservoirs`` table."""
    ids: list[str] = []
    rows: dict[str, list[object]] = {"head_m": [], "head_pattern": [], "initial_quality": []}
    for line in lines:
        ctx.need(line, 2, "a reservoir (id head [pattern])")
        rid = ctx.new_id(line, ctx.node_kind, "reservoir")
        ids.append(rid)
        rows["head_m"].append(ctx.number(line, 1, f"head of reservoir {rid!r}") * ctx.units.length)
        rows["head_pattern"].append(ctx.pattern(line, 2))
        rows["initial_quality"].append(0.0)
    return build_table("reservoirs", ids, rows)


def read_tanks(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[TANKS]: id elevation levels diameter [min volume] [curve] [overflow] -> ``tanks``."""
    u = ctx.units
    ids: list[str] = []
    names = ("elevation_m", "init_level_m", "min_level_m", "max_level_m", "diameter_m")
    rows: dict[str, list[object]] = {k: [] for k in (
        *names, "min_volume_m3", "volume_curve", "overflow", "initial_quality")}
    for line in lines:
        ctx.need(line, 6, "a tank (id elevation init_level min_level max_level diameter "
                          "[min_volume] [volume_curve] [overflow])")
        tid = ctx.new_id(line, ctx.node_kind, "tank")
        ids.append(tid)
        what = ("elevation", "initial level", "minimum level", "maximum level", "diameter")
        for i, (col, label) in enumerate(zip(names, what, strict=True), start=1):
            rows[col].append(ctx.number(line, i, f"{label} of tank {tid!r}") * u.length)
        min_volume = ctx.number(line, 6, "minimum volume") if len(line.tokens) > 6 else 0.0
        rows["min_volume_m3"].append(min_volume * u.volume)
        has_curve = len(line.tokens) > 7 and line.tokens[7] != "*"
        rows["volume_curve"].append(ctx.curve(line, 7, "VOLUME") if has_curve else None)
        overflow = len(line.tokens) > 8 and line.tokens[8].upper() in ("YES", "TRUE")
        rows["overflow"].append(overflow)
        rows["initial_quality"].append(0.0)
        if not has_curve and ctx.number(line, 5, "diameter") <= 0:
            ctx.fail(line, f"diameter of tank {tid!r} must be positive, found {line.tokens[5]}")
    return build_table("tanks", ids, rows)


def _link_ends(ctx: InpContext, line: Line, kind: str) -> tuple[str, str, str]:
    link_id = ctx.new_id(line, ctx.link_kind, kind)
    node1 = ctx.node(line, 1, "start node")
    node2 = ctx.node(line, 2, "end node")
    if node1 == node2:
        ctx.fail(line, f"{kind} {link_id!r} starts and ends at the same node {node1!r}")
    return link_id, node1, node2


def read_pipes(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[PIPES]: id node1 node2 length diameter roughness [minor loss] [status] -> ``pipes``."""
    u = ctx.units
    ids: list[str] = []
    rows: dict[str, list[object]] = {k: [] for k in (
        "node1", "node2", "length_m", "diameter_m", "roughness", "minor_loss", "status")}
    dw = ctx.units.roughness_dw
    rough_factor = dw if ctx.headloss == "D-W" else 1.0
    for line in lines:
        ctx.need(line, 6, "a pipe (id node1 node2 length diameter roughness [minor_loss] "
                          "[status])")
        link_id, node1, node2 = _link_ends(ctx, line, "pipe")
        ids.append(link_id)
        rows["node1"].append(node1)
        rows["node2"].append(node2)
        rows["length_m"].append(ctx.positive(line, 3, f"length of pipe {link_id!r}") * u.length)
        rows["diameter_m"].append(
            ctx.positive(line, 4, f"diameter of pipe {link_id!r}") * u.diameter)
        rows["roughness"].append(
            ctx.positive(line, 5, f"roughness of pipe {link_id!r}") * rough_factor)
        minor_loss, status = 0.0, "OPEN"
        rest = line.tokens[6:]
        if rest and rest[-1].upper() in PIPE_STATUS:
            status = rest.pop().upper()
        elif len(rest) > 1:
            ctx.fail(line, f"pipe status must be one of {', '.join(PIPE_STATUS)}, "
                           f"found {rest[-1]!r}")
        if rest:
            minor_loss = ctx.number(line, 6, "minor loss coefficient")
            if minor_loss < 0:
                ctx.fail(line, f"minor loss coefficient must not be negative, found {rest[0]}")
        rows["minor_loss"].append(minor_loss)
        rows["status"].append(status)
    return build_table("pipes", ids, rows)


def read_pumps(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[PUMPS]: id node1 node2 then HEAD/POWER/SPEED/PATTERN pairs -> ``pumps``."""
    ids: list[str] = []
    rows: dict[str, list[object]] = {k: [] for k in (
        "node1", "node2", "head_curve", "power_kw", "speed", "pattern")}
    for line in lines:
        ctx.need(line, 5, "a pump (id node1 node2 HEAD curve | POWER value …)")
        link_id, node1, node2 = _link_ends(ctx, line, "pump")
        ids.append(link_id)
        values: dict[str, object] = {"head_curve": None, "power_kw": math.nan,
                                     "speed": math.nan, "pattern": None}
        if len(line.tokens) % 2 == 0:
            ctx.fail(line, "pump properties come in pairs (HEAD curve, POWER value, "
                           "SPEED value, PATTERN id)")
        for i in range(3, len(line.tokens), 2):
            key = line.tokens[i].upper()
            if key == "HEAD":
                values["head_curve"] = ctx.curve(line, i + 1, "HEAD")
            elif key == "POWER":
                values["power_kw"] = ctx.positive(line, i + 1, "pump power") * ctx.units.power
            elif key == "SPEED":
                speed = ctx.number(line, i + 1, "pump speed")
                if speed < 0:
                    ctx.fail(line, f"pump speed must not be negative, found {speed}")
                values["speed"] = speed
            elif key == "PATTERN":
                values["pattern"] = ctx.pattern(line, i + 1)
            else:
                ctx.fail(line, f"unknown pump property {line.tokens[i]!r} "
                               "(expected HEAD, POWER, SPEED or PATTERN)")
        for key, value in values.items():
            rows[key].append(value)
        rows["node1"].append(node1)
        rows["node2"].append(node2)
    return build_table("pumps", ids, rows)


def read_valves(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """[VALVES]: id node1 node2 diameter type setting [minor loss] [curve] -> ``valves``."""
    ids: list[str] = []
    rows: dict[str, list[object]] = {k: [] for k in (
        "node1", "node2", "diameter_m", "valve_type", "setting", "curve", "minor_loss")}
    for line in lines:
        ctx.need(line, 6, "a valve (id node1 node2 diameter type setting [minor_loss])")
        link_id, node1, node2 = _link_ends(ctx, line, "valve")
        ids.append(link_id)
        valve_type = line.tokens[4].upper()
        if valve_type not in VALVE_TYPES:
            ctx.fail(line, f"unknown valve type {line.tokens[4]!r} "
                           f"(expected one of {', '.join(VALVE_TYPES)})")
        ctx.valve_type[link_id] = valve_type
        setting, curve = math.nan, None
        if valve_type == "GPV":
            curve = ctx.curve(line, 5, "HEADLOSS")
        else:
            setting = ctx.number(line, 5, "valve setting") * ctx.setting_factor(link_id)
        minor_loss = ctx.number(line, 6, "minor loss coefficient") if len(line.tokens) > 6 \
            else 0.0
        if valve_type == "PCV" and len(line.tokens) > 7:
            curve = ctx.curve(line, 7, "VALVE")
        rows["node1"].append(node1)
        rows["node2"].append(node2)
        rows["diameter_m"].append(
            ctx.positive(line, 3, f"diameter of valve {link_id!r}") * ctx.units.diameter)
        rows["valve_type"].append(valve_type)
        rows["setting"].append(setting)
        rows["curve"].append(curve)
        rows["minor_loss"].append(minor_loss)
    return build_table("valves", ids, rows)
