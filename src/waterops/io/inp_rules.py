"""Read and write EPANET [CONTROLS] and [RULES], values in SI inside.

Grammar as in EPANET 2.2 (``input3.c`` controldata, ``rules.c``)::

    LINK id OPEN|CLOSED|ACTIVE|setting IF NODE id ABOVE|BELOW value
    LINK id OPEN|CLOSED|ACTIVE|setting AT TIME t [unit]
    LINK id OPEN|CLOSED|ACTIVE|setting AT CLOCKTIME t [AM|PM]

    RULE id
    IF|AND|OR object id attribute relation value   (object SYSTEM has no id)
    THEN|AND|ELSE object id STATUS|SETTING =|IS value
    PRIORITY value
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waterops.io.inp_lines import Line
from waterops.io.inp_units import InpUnits, format_clock, format_number, parse_clock_s
from waterops.model.network_parts import Action, Control, Premise, Rule

if TYPE_CHECKING:
    from waterops.io.inp_context import InpContext
    from waterops.model.network import Network

STATUS_WORDS = ("OPEN", "CLOSED", "ACTIVE")
NODE_OBJECTS = ("NODE", "JUNCTION", "RESERVOIR", "TANK")
LINK_OBJECTS = ("LINK", "PIPE", "PUMP", "VALVE")
ATTRIBUTES = ("DEMAND", "HEAD", "GRADE", "LEVEL", "PRESSURE", "FLOW", "STATUS", "SETTING",
              "POWER", "FILLTIME", "DRAINTIME", "TIME", "CLOCKTIME")
RELATIONS = ("=", "<>", "<", ">", "<=", ">=", "IS", "NOT", "BELOW", "ABOVE")
TIME_ATTRIBUTES = ("TIME", "CLOCKTIME", "FILLTIME", "DRAINTIME")


def _canonical(word: str, choices: tuple[str, ...]) -> str | None:
    """The choice ``word`` abbreviates (EPANET matches keywords by their first letters)."""
    up = word.upper()
    if up in choices:
        return up
    for choice in choices:
        if len(up) >= 4 and choice.startswith(up[:4]) and up.startswith(choice[:4]):
            return choice
    return None


def read_controls(ctx: InpContext, lines: list[Line]) -> list[Control]:
    """Read [CONTROLS] into :class:`Control` objects (settings and thresholds in SI)."""
    controls: list[Control] = []
    for line in lines:
        t = line.tokens
        ctx.need(line, 6, "a control (LINK id value AT TIME t | IF NODE id ABOVE|BELOW v)")
        # EPANET does not check these words; tools write LINK, PIPE, PUMP or VALVE
        if _canonical(t[0], LINK_OBJECTS) is None:
            ctx.fail(line, f"a control starts with LINK, found {t[0]!r}")
        link = ctx.link(line, 1)
        status, setting = _link_value(ctx, line, 2, link)
        how = t[3].upper()
        if how == "AT":
            when = t[4].upper()
            if when not in ("TIME", "CLOCKTIME"):
                ctx.fail(line, f"AT must be followed by TIME or CLOCKTIME, found {t[4]!r}")
            seconds = parse_clock_s(t[5], t[6] if len(t) > 6 else "")
            if seconds is None:
                ctx.fail(line, f"not a valid time: {' '.join(t[5:])!r}")
            controls.append(Control(link, status, setting, when, float(seconds)))  # type: ignore[arg-type]
        elif how == "IF":
            ctx.need(line, 8, "a node control (LINK id value IF NODE id ABOVE|BELOW value)")
            if _canonical(t[4], NODE_OBJECTS) is None:
                ctx.fail(line, f"IF must be followed by NODE, found {t[4]!r}")
            node = ctx.node(line, 5)
            side = t[6].upper()
            if side not in ("ABOVE", "BELOW"):
                ctx.fail(line, f"expected ABOVE or BELOW, found {t[6]!r}")
            factor = _node_level_factor(ctx.units, ctx.node_kind[node])
            value = ctx.number(line, 7, "control level") * factor
            controls.append(Control(link, status, setting, side, value, node))  # type: ignore[arg-type]
        else:
            ctx.fail(line, f"expected AT or IF in a control, found {t[3]!r}")
    return controls


def _node_level_factor(units: InpUnits, node_kind: str) -> float:
    """Junction thresholds are pressures; tank and reservoir thresholds are levels."""
    return units.pressure if node_kind == "junction" else units.length


def _link_value(
    ctx: InpContext, line: Line, index: int, link: str
) -> tuple[str | None, float | None]:
    word = line.tokens[index].upper()
    if word in STATUS_WORDS:
        return word, None
    return None, ctx.number(line, index, "link setting") * ctx.setting_factor(link)


def read_rules(ctx: InpContext, lines: list[Line]) -> list[Rule]:
    """Read [RULES] into :class:`Rule` objects (values in SI)."""
    rules: list[Rule] = []
    rule: Rule | None = None
    clause = ""
    seen: dict[str, int] = {}
    for line in lines:
        t = line.tokens
        key = t[0].upper()
        if key == "RULE":
            ctx.need(line, 2, "RULE id")
            if t[1] in seen:
                ctx.fail(line, f"duplicate rule id {t[1]!r} (first on line {seen[t[1]]})")
            seen[t[1]] = line.number
            rule = Rule(t[1])
            rules.append(rule)
            clause = "RULE"
            continue
        if rule is None:
            ctx.fail(line, f"rule clause {t[0]!r} before any RULE line")
        if key == "PRIORITY":
            ctx.need(line, 2, "PRIORITY value")
            rule.priority = ctx.number(line, 1, "rule priority")
        elif key == "IF" or (key in ("AND", "OR") and clause == "IF"):
            rule.premises.append(_premise(ctx, line))
            clause = "IF"
        elif key == "THEN" or (key == "AND" and clause == "THEN"):
            rule.then_actions.append(_action(ctx, line))
            clause = "THEN"
        elif key == "ELSE" or (key == "AND" and clause == "ELSE"):
            rule.else_actions.append(_action(ctx, line))
            clause = "ELSE"
        else:
            ctx.fail(line, f"unexpected rule clause {t[0]!r} in rule {rule.rule_id!r}")
    for r in rules:
        if not r.premises or not r.then_actions:
            line_no = seen[r.rule_id]
            ctx.fail(line_no, f"rule {r.rule_id!r} needs an IF premise and a THEN action")
    return rules


def _premise(ctx: InpContext, line: Line) -> Premise:
    t = line.tokens
    ctx.need(line, 5, "a rule premise (IF object id attribute relation value)")
    obj = _canonical(t[1], (*NODE_OBJECTS, *LINK_OBJECTS, "SYSTEM"))
    if obj is None:
        ctx.fail(line, f"unknown rule object {t[1]!r}")
    element: str | None = None
    at = 2
    if obj != "SYSTEM":
        ctx.need(line, 6, "a rule premise (IF object id attribute relation value)")
        element = ctx.node(line, 2) if obj in NODE_OBJECTS else ctx.link(line, 2)
        at = 3
    attribute = _canonical(t[at], ATTRIBUTES)
    if attribute is None:
        ctx.fail(line, f"unknown rule attribute {t[at]!r}")
    relation = t[at + 1].upper()
    if relation not in RELATIONS:
        ctx.fail(line, f"unknown relation {t[at + 1]!r} (expected one of {' '.join(RELATIONS)})")
    value_text = t[at + 2]
    value: float | str
    if attribute in TIME_ATTRIBUTES:
        unit = t[at + 3] if len(t) > at + 3 and attribute in ("TIME", "CLOCKTIME") else ""
        seconds = parse_clock_s(value_text, unit)
        if seconds is None:
            ctx.fail(line, f"not a valid time: {' '.join(t[at + 2:])!r}")
        value = float(seconds)
    elif value_text.upper() in STATUS_WORDS:
        value = value_text.upper()
    else:
        value = ctx.number(line, at + 2, "premise value") * _attribute_factor(
            ctx, attribute, element, obj)
    return Premise(t[0].upper(), obj, element, attribute, relation, value)


def _attribute_factor(ctx: InpContext, attribute: str, element: str | None, obj: str) -> float:
    u = ctx.units
    if attribute in ("DEMAND", "FLOW"):
        return u.flow
    if attribute in ("HEAD", "GRADE", "LEVEL"):
        return u.length
    if attribute == "PRESSURE":
        return u.pressure
    if attribute == "SETTING" and element is not None and obj in LINK_OBJECTS:
        return ctx.setting_factor(element)
    return 1.0


def _action(ctx: InpContext, line: Line) -> Action:
    t = line.tokens
    ctx.need(line, 6, "a rule action (THEN object id STATUS|SETTING = value)")
    obj = _canonical(t[1], LINK_OBJECTS)
    if obj is None:
        ctx.fail(line, f"rule actions act on links, found {t[1]!r}")
    link = ctx.link(line, 2)
    attribute = _canonical(t[3], ("STATUS", "SETTING"))
    if attribute is None:
        ctx.fail(line, f"a rule action sets STATUS or SETTING, found {t[3]!r}")
    value: float | str
    if attribute == "STATUS":
        value = t[5].upper()
        if value not in STATUS_WORDS:
            ctx.fail(line, f"unknown status {t[5]!r} (expected OPEN, CLOSED or ACTIVE)")
    else:
        value = ctx.number(line, 5, "action setting") * ctx.setting_factor(link)
    return Action(obj, link, attribute, value)


# ---- writing -------------------------------------------------------------------------


def setting_factor(net: Network, units: InpUnits, link: str) -> float:
    """SI factor of a link's setting: pressure (PRV, PSV, PBV), flow (FCV), else 1."""
    if link in net.valves.index:
        valve_type = net.valves.at[link, "valve_type"]
        if valve_type in ("PRV", "PSV", "PBV"):
            return units.pressure
        if valve_type == "FCV":
            return units.flow
    return 1.0


def _node_kind(net: Network, node: str) -> str:
    return "junction" if node in net.junctions.index else "tank"


def control_lines(net: Network, units: InpUnits) -> list[str]:
    """[CONTROLS] lines of ``net`` in ``units``."""
    out = []
    for c in net.controls:
        if c.status is not None:
            value = c.status
        else:
            value = format_number((c.setting or 0.0) / setting_factor(net, units, c.link))
        if c.condition in ("TIME", "CLOCKTIME"):
            out.append(f"LINK {c.link} {value} AT {c.condition} {format_clock(c.value)}")
        else:
            factor = _node_level_factor(units, _node_kind(net, c.node or ""))
            out.append(f"LINK {c.link} {value} IF NODE {c.node} {c.condition} "
                       f"{format_number(c.value / factor)}")
    return out


def rule_lines(net: Network, units: InpUnits) -> list[str]:
    """[RULES] lines of ``net`` in ``units`` (a blank line between rules)."""
    out: list[str] = []
    for rule in net.rules:
        out.append(f"RULE {rule.rule_id}")
        for p in rule.premises:
            out.append(f"{p.logic} {p.object}{'' if p.element is None else ' ' + p.element} "
                       f"{p.attribute} {p.relation} {_premise_value(net, units, p)}")
        for word, actions in (("THEN", rule.then_actions), ("ELSE", rule.else_actions)):
            for i, a in enumerate(actions):
                if isinstance(a.value, str):
                    value = f"IS {a.value}"
                else:
                    value = f"= {format_number(a.value / setting_factor(net, units, a.link))}"
                out.append(f"{word if i == 0 else 'AND'} {a.object} {a.link} {a.attribute} "
                           f"{value}")
        if rule.priority is not None:
            out.append(f"PRIORITY {format_number(rule.priority)}")
        out.append("")
    return out


def _premise_value(net: Network, units: InpUnits, p: Premise) -> str:
    if isinstance(p.value, str):
        return p.value
    if p.attribute in TIME_ATTRIBUTES:
        if p.attribute in ("FILLTIME", "DRAINTIME"):
            return format_number(p.value / 3600.0)
        return format_clock(p.value)
    factor = 1.0
    if p.attribute in ("DEMAND", "FLOW"):
        factor = units.flow
    elif p.attribute in ("HEAD", "GRADE", "LEVEL"):
        factor = units.length
    elif p.attribute == "PRESSURE":
        factor = units.pressure
    elif p.attribute == "SETTING" and p.element is not None and p.object in LINK_OBJECTS:
        factor = setting_factor(net, units, p.element)
    return format_number(p.value / factor)
