"""Read EPANET 2.2 input files into a :class:`~waterops.model.network.Network` (SI inside).

Every fault is a :class:`~waterops.errors.NetworkFileError` naming the file, the line and
what is wrong. Values are converted to SI here, with EPANET's own factors (see
:mod:`waterops.io.inp_units`), so that writing them back reproduces what EPANET reads.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from waterops.errors import NetworkFileError
from waterops.io.inp_context import InpContext
from waterops.io.inp_elements import (
    read_junctions,
    read_pipes,
    read_pumps,
    read_reservoirs,
    read_tanks,
    read_valves,
)
from waterops.io.inp_lines import MAX_ID_CHARS, Line, split_sections
from waterops.io.inp_rules import read_controls, read_rules
from waterops.io.inp_settings import read_energy, read_options, read_reactions, read_times
from waterops.io.inp_units import InpUnits
from waterops.model.network import Network, build_table
from waterops.model.network_parts import Curve, CurveKind

SOURCE_TYPES = ("CONCEN", "MASS", "FLOWPACED", "SETPOINT")
MIXING_MODELS = ("MIXED", "2COMP", "FIFO", "LIFO")
CURVE_COMMENT_KINDS: dict[str, CurveKind] = {
    "PUMP": "HEAD", "HEAD": "HEAD", "EFFICIENCY": "EFFICIENCY", "VOLUME": "VOLUME",
    "HEADLOSS": "HEADLOSS", "VALVE": "VALVE", "GENERIC": "GENERIC",
}


def read_inp(path: str | Path) -> Network:
    """Read an EPANET input file.

    Parameters
    ----------
    path : the ``.inp`` file

    Raises
    ------
    NetworkFileError
        if the file is missing or unreadable, or anything in it is invalid (with the line).
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise NetworkFileError(file, None, "file not found") from None
    except OSError as exc:
        raise NetworkFileError(file, None, f"cannot read the file: {exc.strerror}") from None
    return parse_inp(_decode(raw), path=file)


def _decode(raw: bytes) -> str:
    """Text of a file: UTF-8, else GB18030 (Chinese Windows tools write GBK), else Latin-1.

    EPANET itself reads bytes; any of these keeps ids distinct and the numbers intact. A
    cp1252 file whose accented letters happen to form GB18030 pairs is read as GB18030: the
    ids then look different but stay distinct, so the network is the same.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # decodes any byte (cp1252 files from older tools)


def parse_inp(text: str, path: str | Path | None = None) -> Network:
    """Parse the text of an EPANET input file (``path`` only names it in errors)."""
    sections = split_sections(text, path)
    net = Network()
    get = sections.get
    net.options = read_options(get("OPTIONS", []), path)
    units = InpUnits(net.options.flow_units, net.options.pressure_units)
    ctx = InpContext(path, units, net.options.headloss)
    net.title = [line.text for line in get("TITLE", [])]
    raw_curves = _collect_curves(ctx, get("CURVES", []))
    net.patterns = _read_patterns(ctx, get("PATTERNS", []))
    net.junctions = read_junctions(ctx, get("JUNCTIONS", []))
    net.reservoirs = read_reservoirs(ctx, get("RESERVOIRS", []))
    net.tanks = read_tanks(ctx, get("TANKS", []))
    net.pipes = read_pipes(ctx, get("PIPES", []))
    net.pumps = read_pumps(ctx, get("PUMPS", []))
    net.valves = read_valves(ctx, get("VALVES", []))
    _read_demands(ctx, net, get("DEMANDS", []))
    _read_node_values(ctx, net, get("EMITTERS", []), get("QUALITY", []))
    net.initial_status = _read_status(ctx, get("STATUS", []))
    net.leakage = _read_leakage(ctx, get("LEAKAGE", []))
    net.sources = _read_sources(ctx, get("SOURCES", []))
    net.mixing = _read_mixing(ctx, get("MIXING", []))
    net.controls = read_controls(ctx, get("CONTROLS", []))
    net.rules = read_rules(ctx, get("RULES", []))
    net.energy = read_energy(ctx, get("ENERGY", []))
    net.reactions = read_reactions(ctx, get("REACTIONS", []))
    net.times = read_times(ctx, get("TIMES", []))
    net.report = [line.text for line in get("REPORT", [])]
    net.backdrop = [line.text for line in get("BACKDROP", [])]
    _read_map(ctx, net, get("COORDINATES", []), get("VERTICES", []), get("LABELS", []))
    net.tags = _read_tags(ctx, get("TAGS", []))
    _check_options(ctx, net, get("OPTIONS", []))
    net.curves = _finish_curves(ctx, raw_curves)
    return net


def _collect_curves(ctx: InpContext, lines: list[Line]) -> dict[str, tuple[str, list[float]]]:
    """Curve id -> (kind named in a comment, flat x, y list), in file units."""
    curves: dict[str, tuple[str, list[float]]] = {}
    pending_kind = ""
    for line in lines:
        if not line.tokens:
            pending_kind = line.comment
            continue
        ctx.need(line, 3, "a curve point (id x y)")
        curve_id = line.tokens[0]
        tokens = line.tokens
        if len(tokens) == 4 and tokens[3].upper() in CURVE_COMMENT_KINDS:
            # EPANET 2.3 writes the curve's type after its first point: "1 0 104 PUMP"
            pending_kind = tokens[3]
            tokens = tokens[:3]
        if len(tokens) % 2 == 0:
            ctx.fail(line, f"curve {curve_id!r}: every point needs an x and a y")
        if curve_id not in curves:
            if len(curve_id) > MAX_ID_CHARS:
                ctx.fail(line, f"curve id {curve_id!r} is longer than {MAX_ID_CHARS} characters")
            curves[curve_id] = (pending_kind, [])
            pending_kind = ""
            ctx.curves.add(curve_id)
        points = curves[curve_id][1]
        for i in range(1, len(tokens) - 1, 2):
            points.append(ctx.number(line, i, f"x of curve {curve_id!r}"))
            points.append(ctx.number(line, i + 1, f"y of curve {curve_id!r}"))
    return curves


def _finish_curves(
    ctx: InpContext, raw: dict[str, tuple[str, list[float]]]
) -> dict[str, Curve]:
    """Give each curve its kind (from its use, else its comment) and convert it to SI."""
    u = ctx.units
    factors: dict[CurveKind, tuple[float, float]] = {
        "HEAD": (u.flow, u.length), "EFFICIENCY": (u.flow, 1.0),
        "VOLUME": (u.length, u.volume), "HEADLOSS": (u.flow, u.length),
        "VALVE": (1.0, 1.0), "GENERIC": (1.0, 1.0),
    }
    curves: dict[str, Curve] = {}
    for curve_id, (comment, flat) in raw.items():
        used = ctx.curve_use.get(curve_id)
        if used is not None:
            kind = used[0]
        else:
            word = comment.split(":", 1)[0].strip().upper()
            kind = CURVE_COMMENT_KINDS.get(word, "GENERIC")
        points = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
        fx, fy = factors[kind]
        points[:, 0] *= fx
        points[:, 1] *= fy
        curves[curve_id] = Curve(kind, points)
    return curves


def _read_patterns(ctx: InpContext, lines: list[Line]) -> dict[str, np.ndarray]:
    values: dict[str, list[float]] = {}
    for line in lines:
        pattern_id = line.tokens[0]
        if pattern_id not in values:
            if len(pattern_id) > MAX_ID_CHARS:
                ctx.fail(line, f"pattern id {pattern_id!r} is longer than {MAX_ID_CHARS} "
                               "characters")
            values[pattern_id] = []
            ctx.patterns.add(pattern_id)
        values[pattern_id].extend(
            ctx.number(line, i, f"multiplier of pattern {pattern_id!r}")
            for i in range(1, len(line.tokens))
        )
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def _read_demands(ctx: InpContext, net: Network, lines: list[Line]) -> None:
    """[DEMANDS] replaces a junction's [JUNCTIONS] demand (EPANET 2.2): the first entry
    becomes the junction's primary demand, the others go to ``net.demands``."""
    first_seen: set[str] = set()
    primary: dict[str, tuple[float, str | None, str | None]] = {}
    rows: dict[str, list[object]] = {"node": [], "base_demand_m3s": [], "pattern": [],
                                     "category": []}
    for line in lines:
        ctx.need(line, 2, "a demand (junction demand [pattern])")
        node = ctx.node(line, 0, "junction")
        if ctx.node_kind[node] != "junction":
            continue  # EPANET reads the file and ignores demands of reservoirs and tanks
        demand = ctx.number(line, 1, "demand") * ctx.units.flow
        pattern = ctx.pattern(line, 2)
        category = line.comment or None
        if node not in first_seen:
            first_seen.add(node)
            primary[node] = (demand, pattern, category)
            continue
        rows["node"].append(node)
        rows["base_demand_m3s"].append(demand)
        rows["pattern"].append(pattern)
        rows["category"].append(category)
    if primary:
        ids = list(primary)
        net.junctions.loc[ids, "base_demand_m3s"] = [primary[i][0] for i in ids]
        net.junctions.loc[ids, "demand_pattern"] = [primary[i][1] for i in ids]
        net.junctions.loc[ids, "demand_category"] = [primary[i][2] for i in ids]
    net.demands = build_table("demands", None, rows)


def _read_node_values(
    ctx: InpContext, net: Network, emitters: list[Line], quality: list[Line]
) -> None:
    exponent = net.options.emitter_exponent or 0.5
    factor = ctx.units.emitter(exponent)
    coeffs: dict[str, float] = {}
    for line in emitters:
        ctx.need(line, 2, "an emitter (junction coefficient)")
        node = ctx.node(line, 0, "junction")
        if ctx.node_kind[node] != "junction":
            ctx.fail(line, f"emitters belong to junctions; {node!r} is a {ctx.node_kind[node]}")
        coeff = ctx.number(line, 1, "emitter coefficient")
        if coeff < 0:
            ctx.fail(line, f"emitter coefficient must not be negative, found {coeff}")
        coeffs[node] = coeff * factor
    if coeffs:
        net.junctions.loc[list(coeffs), "emitter_coeff"] = list(coeffs.values())
    by_kind: dict[str, dict[str, float]] = {"junction": {}, "reservoir": {}, "tank": {}}
    for line in quality:
        ctx.need(line, 2, "an initial quality (node value)")
        node = ctx.node(line, 0)
        by_kind[ctx.node_kind[node]][node] = ctx.number(line, 1, "initial quality")
    for kind, table in (("junction", net.junctions), ("reservoir", net.reservoirs),
                        ("tank", net.tanks)):
        if by_kind[kind]:
            table.loc[list(by_kind[kind]), "initial_quality"] = list(by_kind[kind].values())


def _read_status(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    entries: dict[str, tuple[str | None, float]] = {}  # a later line overrides, as in EPANET
    for line in lines:
        ctx.need(line, 2, "a status (link OPEN|CLOSED|ACTIVE|setting)")
        link_id = ctx.link(line, 0)
        word = line.tokens[1].upper()
        if word in ("OPEN", "CLOSED", "ACTIVE"):
            entries[link_id] = (word, math.nan)
        else:
            value = ctx.number(line, 1, "link status or setting")
            entries[link_id] = (None, value * ctx.setting_factor(link_id))
    rows: dict[str, list[object]] = {"status": [s for s, _ in entries.values()],
                                     "setting": [v for _, v in entries.values()]}
    return build_table("initial_status", list(entries), rows)


def _read_leakage(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    """EPANET 2.3 [LEAKAGE]: pipe, leak area and expansion per 100 length units."""
    per_100_m = 1.0 / ctx.units.length  # per 100 ft -> per 100 m
    entries: dict[str, tuple[float, float]] = {}
    for line in lines:
        ctx.need(line, 3, "a leakage (pipe leak_area leak_expansion)")
        pipe = ctx.link(line, 0)
        if ctx.link_kind[pipe] != "pipe":
            ctx.fail(line, f"leakage is for pipes; {pipe!r} is a {ctx.link_kind[pipe]}")
        values = []
        for index, what in ((1, "leak area"), (2, "leak expansion")):
            value = ctx.number(line, index, f"{what} of pipe {pipe!r}")
            if value < 0:
                ctx.fail(line, f"{what} of pipe {pipe!r} must not be negative, found {value}")
            values.append(value * per_100_m)
        entries[pipe] = (values[0], values[1])
    rows: dict[str, list[object]] = {
        "leak_area_mm2_per_100m": [a for a, _ in entries.values()],
        "leak_expansion_mm2_per_100m": [e for _, e in entries.values()],
    }
    return build_table("leakage", list(entries), rows)


def _read_sources(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    ids: list[str] = []
    rows: dict[str, list[object]] = {"source_type": [], "strength": [], "pattern": []}
    for line in lines:
        ctx.need(line, 3, "a source (node type strength [pattern])")
        ids.append(ctx.node(line, 0))
        source_type = line.tokens[1].upper()
        if source_type not in SOURCE_TYPES:
            ctx.fail(line, f"unknown source type {line.tokens[1]!r} "
                           f"(expected one of {', '.join(SOURCE_TYPES)})")
        rows["source_type"].append(source_type)
        rows["strength"].append(ctx.number(line, 2, "source strength"))
        rows["pattern"].append(ctx.pattern(line, 3))
    return build_table("sources", ids, rows)


def _read_mixing(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    ids: list[str] = []
    rows: dict[str, list[object]] = {"model": [], "fraction": []}
    for line in lines:
        ctx.need(line, 2, "a mixing model (tank model [fraction])")
        tank = ctx.node(line, 0, "tank")
        model = line.tokens[1].upper()
        if model not in MIXING_MODELS:
            ctx.fail(line, f"unknown mixing model {line.tokens[1]!r} "
                           f"(expected one of {', '.join(MIXING_MODELS)})")
        if ctx.node_kind[tank] != "tank":
            continue  # EPANET reads the file and ignores mixing models of other nodes
        ids.append(tank)
        rows["model"].append(model)
        fraction = ctx.number(line, 2, "mixing fraction") if len(line.tokens) > 2 else math.nan
        rows["fraction"].append(fraction)
    return build_table("mixing", ids, rows)


def _read_map(
    ctx: InpContext, net: Network, coords: list[Line], vertices: list[Line], labels: list[Line]
) -> None:
    ids: list[str] = []
    rows: dict[str, list[object]] = {"x": [], "y": []}
    # EPANET ignores map entries of unknown elements (a deleted node's coordinates): so do we
    for line in coords:
        ctx.need(line, 3, "coordinates (node x y)")
        x, y = ctx.number(line, 1, "x coordinate"), ctx.number(line, 2, "y coordinate")
        if line.tokens[0] in ctx.node_kind:
            ids.append(line.tokens[0])
            rows["x"].append(x)
            rows["y"].append(y)
    net.coordinates = build_table("coordinates", ids, rows)
    vrows: dict[str, list[object]] = {"link": [], "x": [], "y": []}
    for line in vertices:
        ctx.need(line, 3, "a vertex (link x y)")
        x, y = ctx.number(line, 1, "x coordinate"), ctx.number(line, 2, "y coordinate")
        if line.tokens[0] in ctx.link_kind:
            vrows["link"].append(line.tokens[0])
            vrows["x"].append(x)
            vrows["y"].append(y)
    net.vertices = build_table("vertices", None, vrows)
    lrows: dict[str, list[object]] = {"x": [], "y": [], "text": [], "anchor": []}
    for line in labels:
        ctx.need(line, 3, 'a label (x y "text" [anchor node])')
        lrows["x"].append(ctx.number(line, 0, "x coordinate"))
        lrows["y"].append(ctx.number(line, 1, "y coordinate"))
        lrows["text"].append(line.tokens[2])
        anchor = line.tokens[3] if len(line.tokens) > 3 else None
        lrows["anchor"].append(anchor if anchor in ctx.node_kind else None)
    net.labels = build_table("labels", None, lrows)


def _read_tags(ctx: InpContext, lines: list[Line]) -> pd.DataFrame:
    rows: dict[str, list[object]] = {"kind": [], "element": [], "tag": []}
    for line in lines:
        ctx.need(line, 3, "a tag (NODE|LINK id tag)")
        kind = line.tokens[0].upper()
        if kind == "NODE":
            element = ctx.node(line, 1)
        elif kind == "LINK":
            element = ctx.link(line, 1)
        else:
            ctx.fail(line, f"a tag is for a NODE or a LINK, found {line.tokens[0]!r}")
        rows["kind"].append(kind)
        rows["element"].append(element)
        rows["tag"].append(line.tokens[2])
    return build_table("tags", None, rows)


def _check_options(ctx: InpContext, net: Network, lines: list[Line]) -> None:
    """Checks of [OPTIONS] that need the elements (the trace node).

    An unknown default PATTERN is no error: EPANET reads the file and uses no pattern.
    """
    opts = net.options
    if opts.trace_node is not None and opts.trace_node not in ctx.node_kind:
        line = next((x for x in lines if x.tokens[0].upper().startswith("QUAL")), None)
        ctx.fail(line, f"trace node {opts.trace_node!r} is not a node of the network")
