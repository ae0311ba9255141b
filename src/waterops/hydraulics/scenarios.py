"""What-if scenarios: a base network plus changes, applied to an opened engine and undone.

A :class:`Scenario` is a base network (a :class:`~waterops.model.network.Network` or the path of
an EPANET .inp file) and a tuple of changes. Every change is a small frozen dataclass with SI
fields; :meth:`Change.apply` validates the element it names, changes the opened EPANET project
in place and returns an *undo* that puts back exactly what was there. One opened project can so
serve thousands of scenarios (see :mod:`waterops.hydraulics.batch`) without re-reading the file.

The toolkit works in the units of the .inp file (GPM and psi for Net3, L/s and m for most
utilities); each change converts its SI fields with :class:`ProjectUnits`, whose factors are the
ones EPANET itself uses (``MperFT = 0.3048``, ``PSIperFT = 0.4333``, ``KPAperPSI = 6.895``,
``BARperPSI = 0.068948``, times the specific gravity), so that a value set here is the value the
solver sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import epanet.toolkit as tk

from waterops.errors import ScenarioError
from waterops.units import FT_M, US_FLOW_UNITS, flow_factor

if TYPE_CHECKING:
    from waterops.model.network import Network

Undo = Callable[[], None]
"""Puts the project back as it was before a change."""

G_MS2 = 9.80665
"""Standard gravity [m/s²]."""
DEFAULT_DISCHARGE_COEFF = 0.75
"""Discharge coefficient of a leak orifice (WNTR's default for leaks; sharp-edged orifices are
nearer 0.6, EPANET 2.3's FAVAD pipe leakage uses 0.6)."""

# EPANET's own conversion constants (src/types.h), so conversions match the solver exactly.
_PSI_PER_FT = 0.4333
_KPA_PER_PSI = 6.895
_BAR_PER_PSI = 0.068948
_FLOW_UNIT_NAMES = ("CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS")
_SOURCE_TYPES = {"CONCEN": tk.CONCEN, "MASS": tk.MASS, "SETPOINT": tk.SETPOINT,
                 "FLOWPACED": tk.FLOWPACED}


class OpenedProject(Protocol):
    """What a change needs of an opened engine: the owa-epanet project handle."""

    @property
    def handle(self) -> Any: ...


@dataclass(frozen=True)
class ProjectUnits:
    """SI factors of an opened EPANET project: multiply a value in project units to get SI.

    Attributes
    ----------
    flow_m3s : m³/s per project flow unit
    length_m : m per project length unit (ft for US flow units, else m)
    pressure_m : m of water head per project pressure unit (psi, kPa, m, bar or ft)
    """

    flow_m3s: float
    length_m: float
    pressure_m: float

    @classmethod
    def of(cls, ph: Any) -> ProjectUnits:
        """Read the unit factors of the project ``ph``."""
        flow_units = _FLOW_UNIT_NAMES[int(tk.getflowunits(ph))]
        us = flow_units in US_FLOW_UNITS
        specific_gravity = float(tk.getoption(ph, tk.SP_GRAVITY)) or 1.0
        press = int(tk.getoption(ph, tk.PRESS_UNITS))
        # EPANET's Ucf[PRESSURE]: pressure units per foot of head
        per_ft = {
            tk.PSI: _PSI_PER_FT,
            tk.KPA: _KPA_PER_PSI * _PSI_PER_FT,
            tk.BAR: _BAR_PER_PSI * _PSI_PER_FT,
            tk.METERS: FT_M,
            tk.FEET: 1.0,
        }[press] * specific_gravity
        return cls(
            flow_m3s=flow_factor(flow_units),
            length_m=FT_M if us else 1.0,
            pressure_m=FT_M / per_ft,
        )


# ---------------------------------------------------------------- element look-ups


def _node(ph: Any, node_id: str, change: object, *kinds: int) -> int:
    """1-based index of ``node_id``; ScenarioError naming the change if unknown or wrong kind."""
    try:
        index = int(tk.getnodeindex(ph, node_id))
    except Exception:
        raise ScenarioError(f"{change}: no node {node_id!r} in the network") from None
    if kinds and int(tk.getnodetype(ph, index)) not in kinds:
        names = {tk.JUNCTION: "junction", tk.RESERVOIR: "reservoir", tk.TANK: "tank"}
        wanted = " or ".join(names[k] for k in kinds)
        raise ScenarioError(f"{change}: node {node_id!r} is not a {wanted}")
    return index


def _link(ph: Any, link_id: str, change: object, *kinds: int) -> int:
    """1-based index of ``link_id``; ScenarioError naming the change if unknown or wrong kind."""
    try:
        index = int(tk.getlinkindex(ph, link_id))
    except Exception:
        raise ScenarioError(f"{change}: no link {link_id!r} in the network") from None
    if kinds and int(tk.getlinktype(ph, index)) not in kinds:
        raise ScenarioError(f"{change}: link {link_id!r} is not a {_kind_name(kinds)}")
    return index


def _kind_name(kinds: Sequence[int]) -> str:
    if tk.PUMP in kinds:
        return "pump"
    if tk.PIPE in kinds:
        return "pipe"
    return "link of the right kind"


def _pattern(ph: Any, pattern_id: str, change: object) -> int:
    try:
        return int(tk.getpatternindex(ph, pattern_id))
    except Exception:
        raise ScenarioError(f"{change}: no pattern {pattern_id!r} in the network") from None


def _enabled(getter: Callable[[Any, int, Any], Any], ph: Any, index: int) -> bool:
    """Whether a control or rule is enabled (owa-epanet wants an out-parameter here)."""
    out = tk.intArray(1)
    getter(ph, index, out)
    return bool(out[0])


def _suspend_link_controls(ph: Any, link_index: int) -> Undo:
    """Disable the simple controls and rules that act on a link, so a forced state holds.

    A what-if "pump out of service" or "valve shut" means for the whole run; Net3's pump is
    switched by timer controls that would otherwise turn it back on within the hour. A rule
    is disabled as a whole when one of its actions touches the link.
    """
    disabled_controls: list[int] = []
    for c in range(1, int(tk.getcount(ph, tk.CONTROLCOUNT)) + 1):
        if int(tk.getcontrol(ph, c)[1]) == link_index and _enabled(tk.getcontrolenabled, ph, c):
            tk.setcontrolenabled(ph, c, tk.FALSE)
            disabled_controls.append(c)
    disabled_rules: list[int] = []
    for r in range(1, int(tk.getcount(ph, tk.RULECOUNT)) + 1):
        _, n_then, n_else, _ = tk.getrule(ph, r)
        links = [int(tk.getthenaction(ph, r, a)[0]) for a in range(1, int(n_then) + 1)]
        links += [int(tk.getelseaction(ph, r, a)[0]) for a in range(1, int(n_else) + 1)]
        if link_index in links and _enabled(tk.getruleenabled, ph, r):
            tk.setruleenabled(ph, r, tk.FALSE)
            disabled_rules.append(r)

    def undo() -> None:
        for c in disabled_controls:
            tk.setcontrolenabled(ph, c, tk.TRUE)
        for r in disabled_rules:
            tk.setruleenabled(ph, r, tk.TRUE)

    return undo


def _chain(undos: Sequence[Undo]) -> Undo:
    """One undo running ``undos`` in reverse order (last change undone first)."""

    def undo() -> None:
        for u in reversed(undos):
            u()

    return undo


# ---------------------------------------------------------------- changes


@dataclass(frozen=True)
class SetLinkStatus:
    """Close or open a pipe, pump or valve for the whole run (its controls are suspended)."""

    link_id: str
    open: bool

    def __str__(self) -> str:
        return f"{'open' if self.open else 'close'} link {self.link_id!r}"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _link(ph, self.link_id, self)
        status = tk.getlinkvalue(ph, i, tk.INITSTATUS)
        setting = tk.getlinkvalue(ph, i, tk.INITSETTING)
        resume = _suspend_link_controls(ph, i)
        tk.setlinkvalue(ph, i, tk.INITSTATUS, tk.OPEN if self.open else tk.CLOSED)
        # A pump closed in the file has speed 0: opening it runs it at its nominal speed.
        restart = self.open and tk.getlinktype(ph, i) == tk.PUMP and setting <= 0.0
        if restart:
            tk.setlinkvalue(ph, i, tk.INITSETTING, 1.0)

        def undo() -> None:
            if restart:  # speed 0 again, then the file's status
                tk.setlinkvalue(ph, i, tk.INITSETTING, setting)
            if status in (tk.OPEN, tk.CLOSED):
                tk.setlinkvalue(ph, i, tk.INITSTATUS, status)
            else:  # an active valve: giving back its setting makes it active again
                tk.setlinkvalue(ph, i, tk.INITSETTING, setting)
            resume()

        return undo


def _orifice_coeff_si(area_m2: float, discharge_coeff: float) -> float:
    """Emitter coefficient [m³/s per m^0.5] of an orifice: Q = Cd·A·sqrt(2·g·p)."""
    return discharge_coeff * area_m2 * math.sqrt(2.0 * G_MS2)


def _add_emitter(ph: Any, node_index: int, coeff_si: float, change: object) -> Undo:
    """Add an emitter of ``coeff_si`` [m³/s per m^γ] to a node (summed with one already there)."""
    units = ProjectUnits.of(ph)
    exponent = float(tk.getoption(ph, tk.EMITEXPON))
    before = tk.getnodevalue(ph, node_index, tk.EMITTER)
    # Q_file = C_file·p_file^γ with Q_file = Q/f_flow and p_file = p/f_press
    coeff_file = coeff_si * units.pressure_m**exponent / units.flow_m3s
    tk.setnodevalue(ph, node_index, tk.EMITTER, before + coeff_file)

    def undo() -> None:
        tk.setnodevalue(ph, node_index, tk.EMITTER, before)

    return undo


def _check_orifice_exponent(ph: Any, change: object) -> None:
    exponent = float(tk.getoption(ph, tk.EMITEXPON))
    if abs(exponent - 0.5) > 1e-9:
        raise ScenarioError(
            f"{change}: an orifice leak needs the emitter exponent 0.5, the network uses "
            f"{exponent:g}; give the leak as emitter_coeff instead"
        )


@dataclass(frozen=True)
class NodeLeak:
    """A leak or burst at a junction, modelled as an emitter.

    Give either ``emitter_coeff`` [m³/s per m^γ, γ the network's emitter exponent, usually 0.5]
    or ``area_m2`` [m²] of an orifice with ``discharge_coeff`` [-]: Q = Cd·A·sqrt(2·g·p).
    A burst is a large orifice, see :meth:`burst`.
    """

    node_id: str
    area_m2: float | None = None
    emitter_coeff: float | None = None
    discharge_coeff: float = DEFAULT_DISCHARGE_COEFF

    def __post_init__(self) -> None:
        if (self.area_m2 is None) == (self.emitter_coeff is None):
            raise ScenarioError(f"{self}: give exactly one of area_m2 or emitter_coeff")
        value = self.area_m2 if self.area_m2 is not None else self.emitter_coeff
        if value is not None and not value > 0:
            raise ScenarioError(f"{self}: leak size must be positive, got {value!r}")

    @classmethod
    def burst(cls, node_id: str, pipe_diameter_m: float,
              discharge_coeff: float = DEFAULT_DISCHARGE_COEFF) -> NodeLeak:
        """A full-bore burst of a pipe of ``pipe_diameter_m`` [m] at a junction."""
        return cls(node_id, area_m2=math.pi * pipe_diameter_m**2 / 4.0,
                   discharge_coeff=discharge_coeff)

    def __str__(self) -> str:
        size = f"area {self.area_m2!r} m², emitter coefficient {self.emitter_coeff!r}"
        if self.area_m2 is not None and self.emitter_coeff is None:
            size = f"area {self.area_m2:g} m²"
        elif self.emitter_coeff is not None and self.area_m2 is None:
            size = f"emitter coefficient {self.emitter_coeff:g}"
        return f"leak at node {self.node_id!r} ({size})"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _node(ph, self.node_id, self, tk.JUNCTION)
        if self.area_m2 is not None:
            _check_orifice_exponent(ph, self)
            coeff = _orifice_coeff_si(self.area_m2, self.discharge_coeff)
        else:
            coeff = float(self.emitter_coeff or 0.0)
        return _add_emitter(ph, i, coeff, self)


@dataclass(frozen=True)
class PipeLeak:
    """An orifice leak part-way along a pipe.

    The pipe is split at ``fraction_along`` (0 = start node, 1 = end node) by a new junction
    ``<pipe>_leak`` with an orifice emitter, Q = Cd·A·sqrt(2·g·p) at that point's pressure;
    the far part becomes pipe ``<pipe>_leak_b`` with the same diameter, roughness and wall
    reaction. EPANET 2.3's own pipe leakage (``EN_LEAK_AREA``) spreads a leak along the whole
    pipe and splits it between the end nodes, so it cannot place a leak at a point; splitting
    does. Results then carry the leak junction and the second pipe part (the engine reads
    its element lists again when their number changes).
    """

    pipe_id: str
    area_m2: float
    fraction_along: float = 0.5
    discharge_coeff: float = DEFAULT_DISCHARGE_COEFF

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction_along < 1.0:
            raise ScenarioError(f"{self}: fraction_along must be between 0 and 1 (exclusive)")
        if not self.area_m2 > 0:
            raise ScenarioError(f"{self}: leak area must be positive, got {self.area_m2!r}")

    @property
    def leak_node_id(self) -> str:
        """Id of the junction added at the leak."""
        return f"{self.pipe_id}_leak"

    @property
    def far_pipe_id(self) -> str:
        """Id of the pipe part from the leak to the pipe's end node."""
        return f"{self.pipe_id}_leak_b"

    def __str__(self) -> str:
        return (f"leak of {self.area_m2:g} m² on pipe {self.pipe_id!r} at "
                f"{self.fraction_along:g} of its length")

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _link(ph, self.pipe_id, self, tk.PIPE, tk.CVPIPE)
        _check_orifice_exponent(ph, self)
        for new_id, exists in ((self.leak_node_id, _exists(tk.getnodeindex, ph, self.leak_node_id)),
                               (self.far_pipe_id, _exists(tk.getlinkindex, ph, self.far_pipe_id))):
            if exists:
                raise ScenarioError(f"{self}: the network already has an element {new_id!r}")
            if len(new_id) > tk.MAXID:
                raise ScenarioError(f"{self}: id {new_id!r} is longer than EPANET's "
                                    f"{tk.MAXID} characters")
        start, end = (tk.getnodeid(ph, n) for n in tk.getlinknodes(ph, i))
        length = tk.getlinkvalue(ph, i, tk.LENGTH)
        f = self.fraction_along
        elev = [tk.getnodevalue(ph, tk.getnodeindex(ph, n), tk.ELEVATION) for n in (start, end)]
        # Adding a junction shifts tank and reservoir indices: look nodes up by id from here on.
        j = int(tk.addnode(ph, self.leak_node_id, tk.JUNCTION))
        tk.setnodevalue(ph, j, tk.ELEVATION, elev[0] + f * (elev[1] - elev[0]))
        tk.setlinknodes(ph, i, tk.getnodeindex(ph, start), j)
        tk.setlinkvalue(ph, i, tk.LENGTH, f * length)
        b = int(tk.addlink(ph, self.far_pipe_id, tk.PIPE, self.leak_node_id, end))
        for prop in (tk.DIAMETER, tk.ROUGHNESS, tk.KBULK, tk.KWALL, tk.LEAK_AREA,
                     tk.LEAK_EXPAN, tk.INITSTATUS):
            tk.setlinkvalue(ph, b, prop, tk.getlinkvalue(ph, i, prop))
        tk.setlinkvalue(ph, b, tk.LENGTH, (1.0 - f) * length)
        _add_emitter(ph, j, _orifice_coeff_si(self.area_m2, self.discharge_coeff), self)

        def undo() -> None:
            tk.deletelink(ph, tk.getlinkindex(ph, self.far_pipe_id), tk.UNCONDITIONAL)
            k = tk.getlinkindex(ph, self.pipe_id)
            tk.setlinknodes(ph, k, tk.getnodeindex(ph, start), tk.getnodeindex(ph, end))
            tk.setlinkvalue(ph, k, tk.LENGTH, length)
            tk.deletenode(ph, tk.getnodeindex(ph, self.leak_node_id), tk.UNCONDITIONAL)

        return undo


def _exists(lookup: Callable[[Any, str], int], ph: Any, element_id: str) -> bool:
    try:
        lookup(ph, element_id)
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class DemandMultiplier:
    """Multiply demands by ``factor`` [-]: all, those on one pattern, or those of a zone.

    ``pattern`` limits it to demand categories on that time pattern (e.g. the industrial
    pattern); ``nodes`` to the junctions of a zone (a DMA). Both together: both limits.
    """

    factor: float
    pattern: str | None = None
    nodes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.nodes is not None and not isinstance(self.nodes, frozenset):
            object.__setattr__(self, "nodes", frozenset(self.nodes))
        if not self.factor >= 0:
            raise ScenarioError(f"{self}: the factor must be zero or more, got {self.factor!r}")

    def __str__(self) -> str:
        where = []
        if self.pattern is not None:
            where.append(f"on pattern {self.pattern!r}")
        if self.nodes is not None:
            where.append(f"at {len(self.nodes)} nodes")
        return f"demand x{self.factor:g}" + (" " + " ".join(where) if where else "")

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        if self.pattern is None and self.nodes is None:
            before = tk.getoption(ph, tk.DEMANDMULT)
            tk.setoption(ph, tk.DEMANDMULT, before * self.factor)
            return lambda: tk.setoption(ph, tk.DEMANDMULT, before)
        pattern = None if self.pattern is None else _pattern(ph, self.pattern, self)
        if self.nodes is None:
            junctions = [n for n in range(1, int(tk.getcount(ph, tk.NODECOUNT)) + 1)
                         if int(tk.getnodetype(ph, n)) == tk.JUNCTION]
        else:
            junctions = [_node(ph, n, self, tk.JUNCTION) for n in sorted(self.nodes)]
        # a demand without its own pattern follows the network's default demand pattern
        default = int(tk.getoption(ph, tk.DEMANDPATTERN))
        saved: list[tuple[int, int, float]] = []
        for n in junctions:
            for d in range(1, int(tk.getnumdemands(ph, n)) + 1):
                own = int(tk.getdemandpattern(ph, n, d)) or default
                if pattern is not None and own != pattern:
                    continue
                base = tk.getbasedemand(ph, n, d)
                saved.append((n, d, base))
                tk.setbasedemand(ph, n, d, base * self.factor)

        def undo() -> None:
            for n, d, base in saved:
                tk.setbasedemand(ph, n, d, base)

        return undo


@dataclass(frozen=True)
class PumpOff:
    """A pump out of service for the whole run (its controls and rules suspended)."""

    pump_id: str

    def __str__(self) -> str:
        return f"pump {self.pump_id!r} off"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _link(ph, self.pump_id, self, tk.PUMP)
        before = tk.getlinkvalue(ph, i, tk.INITSTATUS)
        resume = _suspend_link_controls(ph, i)
        tk.setlinkvalue(ph, i, tk.INITSTATUS, tk.CLOSED)

        def undo() -> None:
            tk.setlinkvalue(ph, i, tk.INITSTATUS, before)
            resume()

        return undo


@dataclass(frozen=True)
class PumpSpeed:
    """A pump running at relative ``speed`` [-] (1 = nominal) for the whole run.

    Its controls, rules and speed pattern are suspended: a control that opens a pump sets
    its speed back to 1.
    """

    pump_id: str
    speed: float

    def __post_init__(self) -> None:
        if not self.speed >= 0:
            raise ScenarioError(f"{self}: speed must be zero or more, got {self.speed!r}")

    def __str__(self) -> str:
        return f"pump {self.pump_id!r} at speed {self.speed:g}"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _link(ph, self.pump_id, self, tk.PUMP)
        before = {p: tk.getlinkvalue(ph, i, p)
                  for p in (tk.INITSTATUS, tk.INITSETTING, tk.LINKPATTERN)}
        resume = _suspend_link_controls(ph, i)
        tk.setlinkvalue(ph, i, tk.LINKPATTERN, 0)
        tk.setlinkvalue(ph, i, tk.INITSETTING, self.speed)
        tk.setlinkvalue(ph, i, tk.INITSTATUS, tk.OPEN if self.speed > 0 else tk.CLOSED)

        def undo() -> None:
            for prop in (tk.LINKPATTERN, tk.INITSETTING, tk.INITSTATUS):
                tk.setlinkvalue(ph, i, prop, before[prop])
            resume()

        return undo


@dataclass(frozen=True)
class TankLevel:
    """Initial water level of a tank [m above its bottom]."""

    tank_id: str
    level_m: float

    def __str__(self) -> str:
        return f"tank {self.tank_id!r} starts at {self.level_m:g} m"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _node(ph, self.tank_id, self, tk.TANK)
        length_m = ProjectUnits.of(ph).length_m
        low = tk.getnodevalue(ph, i, tk.MINLEVEL) * length_m
        high = tk.getnodevalue(ph, i, tk.MAXLEVEL) * length_m
        if not low - 1e-9 <= self.level_m <= high + 1e-9:  # 1e-9 m: ft -> m rounding
            raise ScenarioError(
                f"{self}: level outside the tank's range {low:.2f}..{high:.2f} m"
            )
        before = tk.getnodevalue(ph, i, tk.TANKLEVEL)
        tk.setnodevalue(ph, i, tk.TANKLEVEL, self.level_m / length_m)
        return lambda: tk.setnodevalue(ph, i, tk.TANKLEVEL, before)


@dataclass(frozen=True)
class SourceQuality:
    """A water-quality source at a node (e.g. chlorine booster, contaminant intrusion).

    ``source_type`` is EPANET's: CONCEN, SETPOINT and FLOWPACED take ``strength_mgL``
    [mg/L]; MASS takes ``mass_rate_mg_s`` [mg/s]. ``pattern`` is an optional time pattern.
    """

    node_id: str
    strength_mgL: float | None = None
    source_type: Literal["CONCEN", "MASS", "SETPOINT", "FLOWPACED"] = "CONCEN"
    mass_rate_mg_s: float | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.source_type not in _SOURCE_TYPES:
            raise ScenarioError(f"{self}: unknown source type {self.source_type!r}; "
                                f"known: {', '.join(_SOURCE_TYPES)}")
        if self.source_type == "MASS" and self.mass_rate_mg_s is None:
            raise ScenarioError(f"{self}: a MASS source needs mass_rate_mg_s")
        if self.source_type != "MASS" and self.strength_mgL is None:
            raise ScenarioError(f"{self}: a {self.source_type} source needs strength_mgL")

    def __str__(self) -> str:
        return f"{self.source_type} quality source at node {self.node_id!r}"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        i = _node(ph, self.node_id, self)
        pattern = 0 if self.pattern is None else _pattern(ph, self.pattern, self)
        if self.source_type == "MASS":
            strength = float(self.mass_rate_mg_s or 0.0) * 60.0  # EPANET: mass per minute
        else:
            strength = float(self.strength_mgL or 0.0)
            if str(tk.getqualinfo(ph)[2]).lower().startswith("ug"):
                strength *= 1000.0
        props = (tk.SOURCEQUAL, tk.SOURCETYPE, tk.SOURCEPAT)
        try:
            before: dict[int, float] | None = {p: tk.getnodevalue(ph, i, p) for p in props}
        except Exception:  # EPANET error 240: the node has no source yet
            before = None
        tk.setnodevalue(ph, i, tk.SOURCETYPE, _SOURCE_TYPES[self.source_type])
        tk.setnodevalue(ph, i, tk.SOURCEPAT, pattern)
        tk.setnodevalue(ph, i, tk.SOURCEQUAL, strength)

        def undo() -> None:
            if before is None:
                # EPANET cannot delete a source; a zero-strength CONCEN source adds nothing
                tk.setnodevalue(ph, i, tk.SOURCETYPE, tk.CONCEN)
                tk.setnodevalue(ph, i, tk.SOURCEPAT, 0)
                tk.setnodevalue(ph, i, tk.SOURCEQUAL, 0.0)
            else:
                for p in props:
                    tk.setnodevalue(ph, i, p, before[p])

        return undo


_CONTROL_KINDS = {"below": tk.LOWLEVEL, "above": tk.HILEVEL, "time": tk.TIMER,
                  "clocktime": tk.TIMEOFDAY}


@dataclass(frozen=True)
class AddControl:
    """Add a simple control: set a link's status or setting when a condition is met.

    Conditions: ``"below"`` / ``"above"`` — the level of tank ``node_id`` (or the pressure of
    junction ``node_id``) falls below / rises above ``level_m`` [m]; ``"time"`` — ``time_s``
    [s] after the start; ``"clocktime"`` — every day at ``time_s`` [s after midnight].
    Give ``open`` (status) or ``setting`` (pump speed [-], PRV/PSV/PBV pressure [m],
    FCV flow [m³/s], TCV loss coefficient [-]).
    """

    link_id: str
    condition: Literal["below", "above", "time", "clocktime"]
    time_s: float | None = None
    level_m: float | None = None
    node_id: str | None = None
    open: bool | None = None
    setting: float | None = None

    def __post_init__(self) -> None:
        if self.condition not in _CONTROL_KINDS:
            raise ScenarioError(f"{self}: unknown condition {self.condition!r}; "
                                f"known: {', '.join(_CONTROL_KINDS)}")
        if (self.open is None) == (self.setting is None):
            raise ScenarioError(f"{self}: give exactly one of open or setting")
        if self.condition in ("below", "above") and (self.node_id is None or self.level_m is None):
            raise ScenarioError(f"{self}: a level control needs node_id and level_m")
        if self.condition in ("time", "clocktime") and self.time_s is None:
            raise ScenarioError(f"{self}: a time control needs time_s")

    def __str__(self) -> str:
        when = (f"{self.condition} {self.level_m!r} m at node {self.node_id!r}"
                if self.condition in ("below", "above") else f"{self.condition} {self.time_s!r} s")
        return f"control on link {self.link_id!r} ({when})"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        units = ProjectUnits.of(ph)
        link = _link(ph, self.link_id, self)
        node, level = 0, float(self.time_s or 0.0)
        if self.condition in ("below", "above"):
            node = _node(ph, str(self.node_id), self)
            is_tank = int(tk.getnodetype(ph, node)) == tk.TANK
            level = float(self.level_m or 0.0) / (units.length_m if is_tank else units.pressure_m)
        if self.open is not None:
            setting = float(tk.OPEN if self.open else tk.CLOSED)
        else:
            setting = self._setting_in_project_units(ph, link, units)
        index = int(tk.addcontrol(ph, _CONTROL_KINDS[self.condition], link, setting, node, level))

        def undo() -> None:
            tk.deletecontrol(ph, index)

        return undo

    def _setting_in_project_units(self, ph: Any, link: int, units: ProjectUnits) -> float:
        value = float(self.setting or 0.0)
        kind = int(tk.getlinktype(ph, link))
        if kind in (tk.PRV, tk.PSV, tk.PBV):
            return value / units.pressure_m
        if kind == tk.FCV:
            return value / units.flow_m3s
        return value


@dataclass(frozen=True)
class DisableControl:
    """Disable the simple control number ``index`` (1-based, in the order of the .inp file)."""

    index: int

    def __str__(self) -> str:
        return f"disable control {self.index}"

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        count = int(tk.getcount(ph, tk.CONTROLCOUNT))
        if not 1 <= self.index <= count:
            raise ScenarioError(f"{self}: the network has {count} controls")
        before = int(_enabled(tk.getcontrolenabled, ph, self.index))
        tk.setcontrolenabled(ph, self.index, tk.FALSE)
        return lambda: tk.setcontrolenabled(ph, self.index, before)


@dataclass(frozen=True)
class PressureDrivenDemand:
    """Pressure-driven analysis: a junction gets its full demand at ``required_pressure_m``
    [m] or more, none at ``minimum_pressure_m`` [m] or less, and in between a share
    ((p - pmin)/(preq - pmin))^exponent (Wagner's relation, as in EPANET 2.2+)."""

    minimum_pressure_m: float = 0.0
    required_pressure_m: float = 14.0
    exponent: float = 0.5

    def __post_init__(self) -> None:
        if not self.required_pressure_m > self.minimum_pressure_m:
            raise ScenarioError(f"{self}: required pressure must exceed the minimum pressure")

    def __str__(self) -> str:
        return (f"pressure-driven demand ({self.minimum_pressure_m:g}..."
                f"{self.required_pressure_m:g} m)")

    def apply(self, engine: OpenedProject) -> Undo:
        ph = engine.handle
        before = tk.getdemandmodel(ph)
        press_m = ProjectUnits.of(ph).pressure_m
        tk.setdemandmodel(ph, tk.PDA, self.minimum_pressure_m / press_m,
                          self.required_pressure_m / press_m, self.exponent)
        return lambda: tk.setdemandmodel(ph, *before)


ControlChange = AddControl | DisableControl
Change = (SetLinkStatus | NodeLeak | PipeLeak | DemandMultiplier | PumpOff | PumpSpeed
          | TankLevel | SourceQuality | AddControl | DisableControl | PressureDrivenDemand)
"""Every kind of change a scenario can hold."""


def apply_changes(engine: OpenedProject, changes: Sequence[Change]) -> Undo:
    """Apply ``changes`` in order; return one undo. If one fails, the others are undone first.

    Raises
    ------
    ScenarioError
        naming the change and the element when a change cannot be applied.
    """
    undos: list[Undo] = []
    try:
        for change in changes:
            undos.append(change.apply(engine))
    except BaseException:
        _chain(undos)()  # nothing half-applied
        raise
    return _chain(undos)


@dataclass(frozen=True)
class Scenario:
    """A base network plus changes.

    Attributes
    ----------
    base : the network (a Network, or the path of an EPANET .inp file)
    changes : applied in order, undone in reverse order
    name : how reports name the scenario (default: the changes, described)
    """

    base: Network | Path | str
    changes: tuple[Change, ...] = ()
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not isinstance(self.changes, tuple):
            object.__setattr__(self, "changes", tuple(self.changes))
        if not self.name:
            label = "; ".join(str(c) for c in self.changes) or "base"
            object.__setattr__(self, "name", label)

    def apply_to(self, engine: OpenedProject) -> Undo:
        """Apply the changes to an opened engine; return the undo (see :func:`apply_changes`)."""
        return apply_changes(engine, self.changes)
