"""Read the settings sections of an EPANET file: [OPTIONS], [TIMES], [ENERGY], [REACTIONS].

Keywords are matched as EPANET matches them: case-insensitive, by their first letters
(``"HYDRAULIC TIMESTEP"``, ``"Hydraulic Timestep"`` and ``"HYD TIMESTEP"`` are the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from waterops.errors import NetworkFileError
from waterops.io.inp_lines import Line
from waterops.io.inp_units import PRESSURE_UNITS, InpUnits, parse_clock_s
from waterops.model.network_parts import Energy, Options, Reactions, Times
from waterops.units import FLOW_TO_M3S

if TYPE_CHECKING:
    from waterops.io.inp_context import InpContext

HEADLOSS_FORMULAS = ("H-W", "D-W", "C-M")
QUALITY_KEYWORDS = ("NONE", "CHEMICAL", "AGE", "TRACE")

# option keyword(s) -> Options field and kind of value; the first word may be abbreviated
# the way EPANET allows (its first three letters at least).
_NUMERIC_OPTIONS: dict[tuple[str, ...], tuple[str, type]] = {
    ("SPECIFIC", "GRAVITY"): ("specific_gravity", float),
    ("VISCOSITY",): ("viscosity", float),
    ("DIFFUSIVITY",): ("diffusivity", float),
    ("TRIALS",): ("trials", int),
    ("ACCURACY",): ("accuracy", float),
    ("TOLERANCE",): ("tolerance", float),
    ("CHECKFREQ",): ("check_freq", int),
    ("MAXCHECK",): ("max_check", int),
    ("DAMPLIMIT",): ("damp_limit", float),
    ("DEMAND", "MULTIPLIER"): ("demand_multiplier", float),
    ("EMITTER", "EXPONENT"): ("emitter_exponent", float),
    ("PRESSURE", "EXPONENT"): ("pressure_exponent", float),
    ("MINIMUM", "PRESSURE"): ("min_pressure_m", float),
    ("REQUIRED", "PRESSURE"): ("required_pressure_m", float),
    ("HEADERROR",): ("head_error_m", float),
    ("FLOWCHANGE",): ("flow_change_m3s", float),
}
# options kept as written (they do not change the simulation or carry no units)
_VERBATIM_OPTIONS = (
    ("HYDRAULICS",), ("MAP",), ("VERIFY",), ("SEGMENTS",), ("BACKFLOW", "ALLOWED"),
    ("EMITTER", "BACKFLOW"), ("DEMAND", "PATTERN"),
)


def _matches(tokens: list[str], words: tuple[str, ...]) -> bool:
    """Do the first fields of ``tokens`` spell ``words`` (EPANET's prefix matching)?

    Like EPANET's ``match()``, a field matches when it starts with the keyword's short
    form (its first four letters at least): ``"Duration"``, ``"DURA"`` and ``"DURATIONS"``
    all match ``DURATION``, but ``"HEADLOSS"`` does not match ``HEADERROR``.
    """
    if len(tokens) < len(words):
        return False
    return all(_word_matches(t.upper(), w) for t, w in zip(tokens, words, strict=False))


def _word_matches(token: str, word: str) -> bool:
    return token.startswith(word[:4]) and (word.startswith(token) or token.startswith(word))


def read_options(lines: list[Line], path: str | Path | None) -> Options:
    """Read [OPTIONS] into :class:`Options`; unit-bearing values are converted to SI last,
    once the flow units are known (they may come after the values)."""
    opts = Options(flow_units="GPM")  # EPANET's default when UNITS is not given
    raw: dict[str, tuple[Line, float]] = {}
    for line in lines:
        _read_option(line, path, opts, raw)
    units = InpUnits(opts.flow_units, opts.pressure_units)
    factors = {"min_pressure_m": units.pressure, "required_pressure_m": units.pressure,
               "head_error_m": units.length, "flow_change_m3s": units.flow}
    for field_name, (_, value) in raw.items():
        setattr(opts, field_name, value * factors.get(field_name, 1.0))
    return opts


def _read_option(
    line: Line, path: str | Path | None, opts: Options, raw: dict[str, tuple[Line, float]]
) -> None:
    tokens = line.tokens

    def fail(reason: str) -> NoReturn:
        raise NetworkFileError(path, line.number, reason)

    def value_at(index: int) -> str:
        if len(tokens) <= index:
            fail(f"option {' '.join(tokens[:index])} needs a value")
        return tokens[index]

    for words, (field_name, kind) in _NUMERIC_OPTIONS.items():
        if _matches(tokens, words):
            text = value_at(len(words))
            try:
                value = kind(float(text))
            except ValueError:
                fail(f"option {' '.join(tokens[:len(words)])} is not a number: {text!r}")
            if isinstance(value, float) and not math.isfinite(value):
                fail(f"option {' '.join(tokens[:len(words)])} is not finite: {text!r}")
            raw[field_name] = (line, value)
            return
    for words in _VERBATIM_OPTIONS:
        if _matches(tokens, words):
            opts.extra[" ".join(words)] = " ".join(tokens[len(words):])
            return
    if _matches(tokens, ("UNITS",)):
        unit = value_at(1).upper()
        if unit not in FLOW_TO_M3S:
            fail(f"unknown flow units {tokens[1]!r} (expected one of {', '.join(FLOW_TO_M3S)})")
        opts.flow_units = unit
    elif _matches(tokens, ("PRESSURE",)):
        unit = value_at(1).upper()
        if unit not in PRESSURE_UNITS:
            fail(f"unsupported pressure units {tokens[1]!r} "
                 f"(expected one of {', '.join(PRESSURE_UNITS)})")
        opts.pressure_units = unit
    elif _matches(tokens, ("HEADLOSS",)):
        formula = value_at(1).upper()
        if formula not in HEADLOSS_FORMULAS:
            fail(f"unknown headloss formula {tokens[1]!r} "
                 f"(expected one of {', '.join(HEADLOSS_FORMULAS)})")
        opts.headloss = formula
    elif _matches(tokens, ("QUALITY",)):
        _read_quality_option(tokens, opts, fail)
    elif _matches(tokens, ("UNBALANCED",)):
        opts.unbalanced = " ".join(tokens[1:]).upper()
    elif _matches(tokens, ("PATTERN",)):
        opts.default_pattern = value_at(1)
    elif _matches(tokens, ("DEMAND", "MODEL")):
        opts.demand_model = value_at(2).upper()
    else:
        fail(f"unknown option {line.text!r}")


def _read_quality_option(
    tokens: list[str], opts: Options, fail: Callable[[str], NoReturn]
) -> None:
    word = tokens[1].upper() if len(tokens) > 1 else "NONE"
    if word == "NONE":
        opts.quality = "NONE"
    elif word.startswith("CHEM"):
        opts.quality = "CHEMICAL"
        opts.chemical_name = None
        opts.chemical_units = tokens[2] if len(tokens) > 2 else None
    elif word == "AGE":
        opts.quality = "AGE"
    elif word == "TRACE":
        if len(tokens) < 3:
            fail("QUALITY TRACE needs the id of the traced node")
        opts.quality = "TRACE"
        opts.trace_node = tokens[2]
    else:  # any other word is the name of a chemical (EPANET's rule)
        opts.quality = "CHEMICAL"
        opts.chemical_name = tokens[1]
        opts.chemical_units = tokens[2] if len(tokens) > 2 else None


_TIME_KEYS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("DURATION",), "duration_s"),
    (("HYDRAULIC", "TIMESTEP"), "hydraulic_step_s"),
    (("QUALITY", "TIMESTEP"), "quality_step_s"),
    (("RULE", "TIMESTEP"), "rule_step_s"),
    (("PATTERN", "TIMESTEP"), "pattern_step_s"),
    (("PATTERN", "START"), "pattern_start_s"),
    (("REPORT", "TIMESTEP"), "report_step_s"),
    (("REPORT", "START"), "report_start_s"),
    (("START", "CLOCKTIME"), "start_clocktime_s"),
)
STATISTICS = ("NONE", "NO", "AVERAGED", "AVERAGE", "MINIMUM", "MAXIMUM", "RANGE")


def read_times(ctx: InpContext, lines: list[Line]) -> Times:
    """Read [TIMES]; every time becomes seconds."""
    times = Times()
    for line in lines:
        tokens = line.tokens
        if _matches(tokens, ("STATISTIC",)):
            ctx.need(line, 2, "STATISTIC")
            word = tokens[1].upper()
            if not any(s.startswith(word[:3]) for s in STATISTICS):
                ctx.fail(line, f"unknown statistic {tokens[1]!r} "
                               "(expected NONE, AVERAGED, MINIMUM, MAXIMUM or RANGE)")
            times.statistic = word
            continue
        for words, field_name in _TIME_KEYS:
            if _matches(tokens, words):
                n = len(words)
                ctx.need(line, n + 1, " ".join(words))
                unit = tokens[n + 1] if len(tokens) > n + 1 else ""
                seconds = parse_clock_s(tokens[n], unit)
                if seconds is None:
                    ctx.fail(line, f"{' '.join(words)} is not a valid time: "
                                   f"{' '.join(tokens[n:])!r}")
                setattr(times, field_name, seconds)
                break
        else:
            ctx.fail(line, f"unknown time setting {line.text!r}")
    return times


def read_energy(ctx: InpContext, lines: list[Line]) -> Energy:
    """Read [ENERGY] (prices are per kWh in any unit system; no conversion)."""
    energy = Energy()
    for line in lines:
        tokens = line.tokens
        key = tokens[0].upper()
        if key == "GLOBAL" or key.startswith("DEMAND"):
            ctx.need(line, 3, "an energy setting")
            what = tokens[1].upper()
            if key.startswith("DEMAND"):
                energy.demand_charge = ctx.number(line, 2, "demand charge")
            elif what.startswith("EFFIC"):
                energy.global_efficiency_pct = ctx.number(line, 2, "global efficiency")
            elif what == "PRICE":
                energy.global_price = ctx.number(line, 2, "global price")
            elif what == "PATTERN":
                energy.global_pattern = ctx.pattern(line, 2)
            else:
                ctx.fail(line, f"unknown energy setting {line.text!r}")
        elif key == "PUMP":
            ctx.need(line, 4, "a pump energy setting (PUMP id EFFIC|PRICE|PATTERN value)")
            pump = ctx.link(line, 1)
            if ctx.link_kind[pump] != "pump":
                ctx.fail(line, f"{pump!r} is a {ctx.link_kind[pump]}, not a pump")
            what = tokens[2].upper()
            entry = energy.pumps.setdefault(pump, {})
            if what.startswith("EFFIC"):
                entry["EFFIC"] = ctx.curve(line, 3, "EFFICIENCY")
            elif what == "PRICE":
                entry["PRICE"] = ctx.number(line, 3, "pump energy price")
            elif what == "PATTERN":
                pattern = ctx.pattern(line, 3)
                if pattern is not None:
                    entry["PATTERN"] = pattern
            else:
                ctx.fail(line, f"unknown pump energy setting {tokens[2]!r}")
        else:
            ctx.fail(line, f"unknown energy setting {line.text!r}")
    return energy


def read_reactions(ctx: InpContext, lines: list[Line]) -> Reactions:
    """Read [REACTIONS]; wall coefficients are converted with the wall order (read first)."""
    reactions = Reactions()
    for line in lines:  # orders first: the wall order decides the wall coefficients' units
        if line.tokens[0].upper() == "ORDER":
            ctx.need(line, 3, "ORDER BULK|WALL|TANK n")
            what = line.tokens[1].upper()
            order = ctx.number(line, 2, "reaction order")
            if what == "BULK":
                reactions.bulk_order = order
            elif what == "WALL":
                reactions.wall_order = order
            elif what == "TANK":
                reactions.tank_order = order
            else:
                ctx.fail(line, f"unknown reaction order {line.tokens[1]!r}")
    wall = ctx.units.wall_coeff(1.0 if reactions.wall_order is None else reactions.wall_order)
    for line in lines:
        tokens = line.tokens
        key = tokens[0].upper()
        if key == "ORDER":
            continue
        ctx.need(line, 3, "a reaction setting")
        if key == "GLOBAL":
            what = tokens[1].upper()
            if what == "BULK":
                reactions.global_bulk = ctx.number(line, 2, "global bulk coefficient")
            elif what == "WALL":
                reactions.global_wall = ctx.number(line, 2, "global wall coefficient") * wall
            else:
                ctx.fail(line, f"unknown global reaction {tokens[1]!r}")
        elif key.startswith("LIMIT"):
            reactions.limiting_potential = ctx.number(line, 2, "limiting potential")
        elif key.startswith("ROUGH"):
            reactions.roughness_correlation = ctx.number(line, 2, "roughness correlation")
        elif key in ("BULK", "WALL"):
            # EPANET ignores coefficients of unknown links and of pumps and valves
            coeff = ctx.number(line, 2, f"{key.lower()} coefficient")
            pipe = line.tokens[1]
            if ctx.link_kind.get(pipe) != "pipe":
                continue
            if key == "BULK":
                reactions.pipe_bulk[pipe] = coeff
            else:
                reactions.pipe_wall[pipe] = coeff * wall
        elif key == "TANK":
            coeff = ctx.number(line, 2, "tank bulk coefficient")
            if ctx.node_kind.get(line.tokens[1]) == "tank":  # else ignored, as by EPANET
                reactions.tank_bulk[line.tokens[1]] = coeff
        else:
            ctx.fail(line, f"unknown reaction setting {line.text!r}")
    return reactions
