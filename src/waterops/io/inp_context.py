"""What the readers of the sections of an EPANET file share: the file, its units, the ids.

:class:`InpContext` raises :class:`~waterops.errors.NetworkFileError` with the file and line,
reads numbers and ids, and remembers which curve is used as what.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NoReturn

from waterops.errors import NetworkFileError
from waterops.io.inp_lines import MAX_ID_CHARS, Line
from waterops.io.inp_units import InpUnits
from waterops.model.network_parts import CurveKind

PRESSURE_VALVES = ("PRV", "PSV", "PBV")


class InpContext:
    """What the section readers share: the file, its units and the ids seen so far."""

    def __init__(self, path: str | Path | None, units: InpUnits, headloss: str) -> None:
        self.path = path
        self.units = units
        self.headloss = headloss
        self.node_kind: dict[str, str] = {}
        self.link_kind: dict[str, str] = {}
        self.valve_type: dict[str, str] = {}
        self.patterns: set[str] = set()
        self.curves: set[str] = set()
        self.curve_use: dict[str, tuple[CurveKind, int]] = {}

    def fail(self, line: Line | int | None, reason: str) -> NoReturn:
        """Raise :class:`NetworkFileError` at ``line``."""
        number = line.number if isinstance(line, Line) else line
        raise NetworkFileError(self.path, number, reason)

    def need(self, line: Line, count: int, what: str) -> None:
        """Fail unless ``line`` has at least ``count`` fields."""
        if len(line.tokens) < count:
            self.fail(line, f"{what} needs at least {count} fields, found {len(line.tokens)}")

    def number(self, line: Line, index: int, what: str) -> float:
        """Field ``index`` of ``line`` as a float, or fail naming ``what``."""
        text = line.tokens[index]
        try:
            value = float(text)
        except ValueError:
            self.fail(line, f"{what} is not a number: {text!r}")
        if not math.isfinite(value):
            self.fail(line, f"{what} is not a finite number: {text!r}")
        return value

    def positive(self, line: Line, index: int, what: str) -> float:
        """Field ``index`` as a number > 0 (diameters, lengths)."""
        value = self.number(line, index, what)
        if value <= 0:
            self.fail(line, f"{what} must be positive, found {line.tokens[index]}")
        return value

    def new_id(self, line: Line, registry: dict[str, str], kind: str) -> str:
        """Field 0 of ``line`` as a new element id of ``kind``."""
        element_id = line.tokens[0]
        if len(element_id) > MAX_ID_CHARS:
            self.fail(line, f"{kind} id {element_id!r} is longer than {MAX_ID_CHARS} characters")
        if element_id in registry:
            self.fail(line, f"duplicate id {element_id!r} (already a {registry[element_id]})")
        registry[element_id] = kind
        return element_id

    def node(self, line: Line, index: int, what: str = "node") -> str:
        """Field ``index`` as the id of an existing node."""
        node_id = line.tokens[index]
        if node_id not in self.node_kind:
            self.fail(line, f"{what} {node_id!r} is not a junction, reservoir or tank")
        return node_id

    def link(self, line: Line, index: int) -> str:
        """Field ``index`` as the id of an existing link."""
        link_id = line.tokens[index]
        if link_id not in self.link_kind:
            self.fail(line, f"link {link_id!r} is not a pipe, pump or valve")
        return link_id

    def pattern(self, line: Line, index: int) -> str | None:
        """Optional field ``index`` as the id of an existing pattern (``None`` if absent)."""
        if len(line.tokens) <= index or line.tokens[index] == "*":
            return None
        pattern_id = line.tokens[index]
        if pattern_id not in self.patterns:
            self.fail(line, f"pattern {pattern_id!r} is not defined in [PATTERNS]")
        return pattern_id

    def curve(self, line: Line, index: int, kind: CurveKind) -> str:
        """Field ``index`` as the id of an existing curve, used as ``kind``."""
        curve_id = line.tokens[index]
        if curve_id not in self.curves:
            self.fail(line, f"curve {curve_id!r} is not defined in [CURVES]")
        used = self.curve_use.get(curve_id)
        if used is not None and used[0] != kind:
            self.fail(line, f"curve {curve_id!r} is used as {kind} here but as {used[0]} "
                            f"on line {used[1]}")
        self.curve_use[curve_id] = (kind, line.number)
        return curve_id

    def setting_factor(self, link_id: str) -> float:
        """SI factor of a link setting: pressure for PRV/PSV/PBV, flow for FCV, else 1."""
        valve_type = self.valve_type.get(link_id)
        if valve_type in PRESSURE_VALVES:
            return self.units.pressure
        if valve_type == "FCV":
            return self.units.flow
        return 1.0
