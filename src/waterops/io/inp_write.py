"""Write a :class:`~waterops.model.network.Network` as an EPANET 2.2 input file.

Values are converted from SI with the same factors the reader used and written with full
precision (:func:`~waterops.io.inp_units.format_number`), so that a file read and written
again simulates as the original does.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from waterops.errors import NetworkFileError, NetworkModelError
from waterops.io.inp_lines import MAX_ID_CHARS
from waterops.io.inp_rules import control_lines, rule_lines, setting_factor
from waterops.io.inp_units import InpUnits, format_clock, format_number
from waterops.model.network import Network
from waterops.model.network_parts import CurveKind
from waterops.units import FLOW_TO_M3S

_CURVE_HEADER: dict[CurveKind, str] = {
    "HEAD": "PUMP", "EFFICIENCY": "EFFICIENCY", "VOLUME": "VOLUME",
    "HEADLOSS": "HEADLOSS", "VALVE": "VALVE", "GENERIC": "GENERIC",
}


def _num(value: float) -> str:
    return format_number(float(value))


def _opt(value: object) -> str:
    """An optional id field: empty when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _has(value: object) -> bool:
    return _opt(value) != ""


def _id(value: object) -> str:
    """An id as EPANET reads it (quoted when it contains a blank)."""
    text = str(value)
    return f'"{text}"' if any(c.isspace() for c in text) or ";" in text else text


def write_inp(net: Network, path: str | Path, *, flow_units: str | None = None) -> None:
    """Write ``net`` to ``path`` as an EPANET input file.

    Parameters
    ----------
    net : the network
    path : the ``.inp`` file to write (replaced atomically: nothing half-written on failure)
    flow_units : EPANET flow-unit keyword to write in (``"LPS"``, ``"CMH"``, ``"GPM"`` …);
        default: the units the network was read in

    Raises
    ------
    NetworkModelError
        for unknown flow units or a network that cannot be written
    NetworkFileError
        if the file cannot be written
    """
    text = format_inp(net, flow_units=flow_units)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise NetworkFileError(target, None, f"cannot write the file: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NetworkFileError(target, None, f"cannot write the file: {exc.strerror}") from None


def format_inp(net: Network, *, flow_units: str | None = None) -> str:
    """The text of ``net`` as an EPANET input file (see :func:`write_inp`)."""
    target = (flow_units or net.options.flow_units or "LPS").upper()
    if target not in FLOW_TO_M3S:
        raise NetworkModelError(
            f"unknown flow units {flow_units!r}; expected one of {', '.join(FLOW_TO_M3S)}")
    _check_writable(net)
    # an explicit PRESSURE option is kept: EPANET applies it in either unit system
    units = InpUnits(target, net.options.pressure_units, basis=net.options.flow_units)
    parts: list[tuple[str, Iterable[str]]] = [
        ("TITLE", net.title),
        ("JUNCTIONS", _junctions(net, units)),
        ("RESERVOIRS", _reservoirs(net, units)),
        ("TANKS", _tanks(net, units)),
        ("PIPES", _pipes(net, units)),
        ("PUMPS", _pumps(net, units)),
        ("VALVES", _valves(net, units)),
        ("TAGS", (f"{k} {_id(e)} {_id(t)}" for _, k, e, t in _rows(
            net.tags, "kind", "element", "tag"))),
        ("DEMANDS", _demands(net, units)),
        ("STATUS", _status(net, units)),
        ("PATTERNS", _patterns(net)),
        ("CURVES", _curves(net, units)),
        ("CONTROLS", control_lines(net, units)),
        ("RULES", rule_lines(net, units)),
        ("ENERGY", _energy(net)),
        ("EMITTERS", _emitters(net, units)),
        ("LEAKAGE", (f"{_id(pipe)} {_num(area * units.length)} {_num(expansion * units.length)}"
                     for pipe, area, expansion in _rows(
                         net.leakage, "leak_area_mm2_per_100m",
                         "leak_expansion_mm2_per_100m"))),
        ("QUALITY", _quality(net)),
        ("SOURCES", _sources(net)),
        ("REACTIONS", _reactions(net, units)),
        ("MIXING", _mixing(net)),
        ("TIMES", _times(net)),
        ("REPORT", net.report),
        ("OPTIONS", _options(net, units)),
        ("COORDINATES", (f"{_id(i)} {_num(x)} {_num(y)}"
                         for i, x, y in _rows(net.coordinates, "x", "y"))),
        ("VERTICES", (f"{_id(link)} {_num(x)} {_num(y)}"
                      for _, link, x, y in _rows(net.vertices, "link", "x", "y"))),
        ("LABELS", _labels(net)),
        ("BACKDROP", net.backdrop),
    ]
    out: list[str] = []
    for name, lines in parts:
        out.append(f"[{name}]")
        out.extend(lines)
        out.append("")
    out.append("[END]")
    return "\n".join(out) + "\n"


def _rows(table: pd.DataFrame, *columns: str) -> Iterator[tuple[Any, ...]]:
    """(id, value, …) for each row of ``table`` (plain Python values, fast)."""
    return zip(table.index.tolist(), *(table[c].tolist() for c in columns), strict=True)


_REQUIRED = {
    "junctions": ("elevation_m", "base_demand_m3s"),
    "reservoirs": ("head_m",),
    "tanks": ("elevation_m", "init_level_m", "min_level_m", "max_level_m", "diameter_m",
              "min_volume_m3"),
    "pipes": ("length_m", "diameter_m", "roughness", "minor_loss"),
    "valves": ("diameter_m", "minor_loss"),
}


def _check_writable(net: Network) -> None:
    """Refuse a network EPANET could not read: a missing number or an unknown end node."""
    for name, columns in _REQUIRED.items():
        table: pd.DataFrame = getattr(net, name)
        for column in columns:
            missing = table.index[table[column].isna()]
            if len(missing):
                raise NetworkModelError(
                    f"{name[:-1]} {missing[0]!r}: {column} is missing (NaN); cannot write it")
    for kind, ids in (("node", net.node_ids()), ("link", net.link_ids()),
                      ("pattern", list(net.patterns)), ("curve", list(net.curves))):
        for element_id in ids:
            if len(str(element_id).encode("utf-8")) > MAX_ID_CHARS:
                raise NetworkModelError(
                    f"{kind} id {element_id!r} is longer than EPANET's {MAX_ID_CHARS} bytes "
                    "in UTF-8 (a Chinese character takes 3); shorten it to write the file")
    nodes = set(net.node_ids())
    links = net.link_table()
    for end in ("node1", "node2"):
        unknown = links.index[~links[end].isin(nodes)]
        if len(unknown):
            raise NetworkModelError(
                f"link {unknown[0]!r}: {end} {links.at[unknown[0], end]!r} is not a node")


def _junctions(net: Network, u: InpUnits) -> Iterable[str]:
    for jid, elevation, demand, pattern in _rows(
            net.junctions, "elevation_m", "base_demand_m3s", "demand_pattern"):
        yield (f"{_id(jid)} {_num(elevation / u.length)} {_num(demand / u.flow)} "
               f"{_id(_opt(pattern))}").rstrip()


def _reservoirs(net: Network, u: InpUnits) -> Iterable[str]:
    for rid, head, pattern in _rows(net.reservoirs, "head_m", "head_pattern"):
        yield f"{_id(rid)} {_num(head / u.length)} {_id(_opt(pattern))}".rstrip()


def _tanks(net: Network, u: InpUnits) -> Iterable[str]:
    columns = ("elevation_m", "init_level_m", "min_level_m", "max_level_m", "diameter_m",
               "min_volume_m3", "volume_curve", "overflow")
    for tid, *lengths, min_volume, volume_curve, overflow in _rows(net.tanks, *columns):
        levels = " ".join(_num(v / u.length) for v in lengths)
        curve = _opt(volume_curve) or "*"
        yes = " YES" if bool(overflow) else ""
        yield f"{_id(tid)} {levels} {_num(min_volume / u.volume)} {_id(curve)}{yes}"


def _pipes(net: Network, u: InpUnits) -> Iterable[str]:
    rough = u.roughness_dw if net.options.headloss == "D-W" else 1.0
    columns = ("node1", "node2", "length_m", "diameter_m", "roughness", "minor_loss", "status")
    for pid, node1, node2, length, diameter, roughness, minor_loss, status in _rows(
            net.pipes, *columns):
        yield (f"{_id(pid)} {_id(node1)} {_id(node2)} {_num(length / u.length)} "
               f"{_num(diameter / u.diameter)} {_num(roughness / rough)} "
               f"{_num(minor_loss)} {status}")


def _pumps(net: Network, u: InpUnits) -> Iterable[str]:
    columns = ("node1", "node2", "head_curve", "power_kw", "speed", "pattern")
    for pid, node1, node2, curve, power, speed, pattern in _rows(net.pumps, *columns):
        fields = [_id(pid), _id(node1), _id(node2)]
        if _has(curve):
            fields += ["HEAD", _id(curve)]
        if not math.isnan(power):
            fields += ["POWER", _num(power / u.power)]
        if not math.isnan(speed):
            fields += ["SPEED", _num(speed)]
        if _has(pattern):
            fields += ["PATTERN", _id(pattern)]
        yield " ".join(fields)


def _valves(net: Network, u: InpUnits) -> Iterable[str]:
    columns = ("node1", "node2", "diameter_m", "valve_type", "setting", "curve", "minor_loss")
    for vid, node1, node2, diameter, valve_type, value, curve, minor_loss in _rows(
            net.valves, *columns):
        if valve_type == "GPV":
            setting = _id(curve)
        else:
            setting = _num(value / setting_factor(net, u, str(vid)))
        line = (f"{_id(vid)} {_id(node1)} {_id(node2)} {_num(diameter / u.diameter)} "
                f"{valve_type} {setting} {_num(minor_loss)}")
        if valve_type == "PCV" and _has(curve):
            line += f" {_id(curve)}"
        yield line


def _demands(net: Network, u: InpUnits) -> Iterable[str]:
    """Junctions with further categories or a named category get all their demands here
    (EPANET lets [DEMANDS] replace the [JUNCTIONS] demand)."""
    extra = net.demands
    listed = set(extra["node"]) | set(
        net.junctions.index[net.junctions["demand_category"].notna()])
    if not listed:
        return
    by_node: dict[str, list[str]] = {}
    for _, node, demand, pattern, category in _rows(
            extra, "node", "base_demand_m3s", "pattern", "category"):
        by_node.setdefault(node, []).append(_demand_line(node, demand, pattern, category, u))
    for jid, demand, pattern, category in _rows(
            net.junctions, "base_demand_m3s", "demand_pattern", "demand_category"):
        if jid in listed:
            yield _demand_line(jid, demand, pattern, category, u)
            yield from by_node.get(jid, [])


def _demand_line(node: object, demand: float, pattern: object, category: object,
                 u: InpUnits) -> str:
    line = f"{_id(node)} {_num(demand / u.flow)}"
    if _has(pattern):
        line += f" {_id(pattern)}"
    if _has(category):
        line += f" ;{category}"
    return line


def _status(net: Network, u: InpUnits) -> Iterable[str]:
    for lid, status, setting in _rows(net.initial_status, "status", "setting"):
        if _has(status):
            yield f"{_id(lid)} {status}"
        else:
            yield f"{_id(lid)} {_num(setting / setting_factor(net, u, str(lid)))}"


def _patterns(net: Network) -> Iterable[str]:
    for pid, values in net.patterns.items():
        for start in range(0, len(values), 8):
            yield f"{_id(pid)} " + " ".join(_num(v) for v in values[start:start + 8])


def _curves(net: Network, u: InpUnits) -> Iterable[str]:
    factors: dict[CurveKind, tuple[float, float]] = {
        "HEAD": (u.flow, u.length), "EFFICIENCY": (u.flow, 1.0),
        "VOLUME": (u.length, u.volume), "HEADLOSS": (u.flow, u.length),
        "VALVE": (1.0, 1.0), "GENERIC": (1.0, 1.0),
    }
    for cid, curve in net.curves.items():
        fx, fy = factors[curve.kind]
        yield f";{_CURVE_HEADER[curve.kind]}: {cid}"
        for x, y in curve.points:
            yield f"{_id(cid)} {_num(x / fx)} {_num(y / fy)}"


def _energy(net: Network) -> Iterable[str]:
    e = net.energy
    if e.global_efficiency_pct is not None:
        yield f"GLOBAL EFFIC {_num(e.global_efficiency_pct)}"
    if e.global_price is not None:
        yield f"GLOBAL PRICE {_num(e.global_price)}"
    if e.global_pattern is not None:
        yield f"GLOBAL PATTERN {_id(e.global_pattern)}"
    if e.demand_charge is not None:
        yield f"DEMAND CHARGE {_num(e.demand_charge)}"
    for pump, entry in e.pumps.items():
        for key, value in entry.items():
            text = _num(value) if isinstance(value, float) else _id(value)
            yield f"PUMP {_id(pump)} {key} {text}"


def _emitters(net: Network, u: InpUnits) -> Iterable[str]:
    factor = u.emitter(net.options.emitter_exponent or 0.5)
    coeffs = net.junctions["emitter_coeff"]
    for jid, coeff in coeffs[coeffs > 0].items():
        yield f"{_id(jid)} {_num(coeff / factor)}"


def _quality(net: Network) -> Iterable[str]:
    for table in (net.junctions, net.reservoirs, net.tanks):
        quality = table["initial_quality"]
        for nid, value in quality[quality != 0].dropna().items():
            yield f"{_id(nid)} {_num(value)}"


def _sources(net: Network) -> Iterable[str]:
    for nid, source_type, strength, pattern in _rows(
            net.sources, "source_type", "strength", "pattern"):
        yield f"{_id(nid)} {source_type} {_num(strength)} {_id(_opt(pattern))}".rstrip()


def _reactions(net: Network, u: InpUnits) -> Iterable[str]:
    r = net.reactions
    wall = u.wall_coeff(1.0 if r.wall_order is None else r.wall_order)
    for word, order in (("BULK", r.bulk_order), ("WALL", r.wall_order), ("TANK", r.tank_order)):
        if order is not None:
            yield f"ORDER {word} {_num(order)}"
    if r.global_bulk is not None:
        yield f"GLOBAL BULK {_num(r.global_bulk)}"
    if r.global_wall is not None:
        yield f"GLOBAL WALL {_num(r.global_wall / wall)}"
    if r.limiting_potential is not None:
        yield f"LIMITING POTENTIAL {_num(r.limiting_potential)}"
    if r.roughness_correlation is not None:
        yield f"ROUGHNESS CORRELATION {_num(r.roughness_correlation)}"
    yield from (f"BULK {_id(k)} {_num(v)}" for k, v in r.pipe_bulk.items())
    yield from (f"WALL {_id(k)} {_num(v / wall)}" for k, v in r.pipe_wall.items())
    yield from (f"TANK {_id(k)} {_num(v)}" for k, v in r.tank_bulk.items())


def _mixing(net: Network) -> Iterable[str]:
    for tid, model, fraction in _rows(net.mixing, "model", "fraction"):
        yield f"{_id(tid)} {model}" + ("" if pd.isna(fraction) else f" {_num(fraction)}")


def _times(net: Network) -> Iterable[str]:
    t = net.times
    for label, value in (
        ("DURATION", t.duration_s), ("HYDRAULIC TIMESTEP", t.hydraulic_step_s),
        ("QUALITY TIMESTEP", t.quality_step_s), ("RULE TIMESTEP", t.rule_step_s),
        ("PATTERN TIMESTEP", t.pattern_step_s), ("PATTERN START", t.pattern_start_s),
        ("REPORT TIMESTEP", t.report_step_s), ("REPORT START", t.report_start_s),
        ("START CLOCKTIME", t.start_clocktime_s),
    ):
        if value is not None:
            yield f"{label} {format_clock(value)}"
    if t.statistic is not None:
        yield f"STATISTIC {t.statistic}"


def _options(net: Network, u: InpUnits) -> Iterable[str]:
    o = net.options
    yield f"UNITS {u.flow_units}"
    if u.pressure_units is not None:
        yield f"PRESSURE {u.pressure_units}"
    yield f"HEADLOSS {o.headloss}"
    if o.quality == "TRACE":
        yield f"QUALITY TRACE {_id(o.trace_node)}"
    elif o.quality == "CHEMICAL":
        yield f"QUALITY {_id(o.chemical_name or 'CHEMICAL')} {o.chemical_units or ''}".rstrip()
    else:
        yield f"QUALITY {o.quality}"
    if o.unbalanced is not None:
        yield f"UNBALANCED {o.unbalanced}"
    if o.default_pattern is not None:
        yield f"PATTERN {_id(o.default_pattern)}"
    if o.demand_model is not None:
        yield f"DEMAND MODEL {o.demand_model}"
    numeric = (
        ("SPECIFIC GRAVITY", o.specific_gravity, 1.0), ("VISCOSITY", o.viscosity, 1.0),
        ("DIFFUSIVITY", o.diffusivity, 1.0), ("TRIALS", o.trials, 1.0),
        ("ACCURACY", o.accuracy, 1.0), ("TOLERANCE", o.tolerance, 1.0),
        ("CHECKFREQ", o.check_freq, 1.0), ("MAXCHECK", o.max_check, 1.0),
        ("DAMPLIMIT", o.damp_limit, 1.0), ("DEMAND MULTIPLIER", o.demand_multiplier, 1.0),
        ("EMITTER EXPONENT", o.emitter_exponent, 1.0),
        ("PRESSURE EXPONENT", o.pressure_exponent, 1.0),
        ("MINIMUM PRESSURE", o.min_pressure_m, u.pressure),
        ("REQUIRED PRESSURE", o.required_pressure_m, u.pressure),
        ("HEADERROR", o.head_error_m, u.length), ("FLOWCHANGE", o.flow_change_m3s, u.flow),
    )
    for label, value, factor in numeric:
        if value is not None:
            yield f"{label} {_num(value / factor)}"
    for key, text in o.extra.items():
        yield f"{key} {text}".rstrip()


def _labels(net: Network) -> Iterable[str]:
    for _, x, y, text, anchor in _rows(net.labels, "x", "y", "text", "anchor"):
        yield f'{_num(x)} {_num(y)} "{text}" {_id(_opt(anchor))}'.rstrip()
