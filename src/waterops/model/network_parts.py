"""Parts of a network model that are not element tables: curves, controls, rules, settings.

Values are SI (m, m³/s, s, kW, mg/L) like everywhere in waterops; :mod:`waterops.io.inp`
converts at the file edge. Element ids are strings, as in the EPANET file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

CurveKind = Literal["HEAD", "EFFICIENCY", "VOLUME", "HEADLOSS", "VALVE", "GENERIC"]
"""What a curve relates, which fixes the units of its points:

- ``HEAD``: pump flow [m³/s] -> head [m]
- ``EFFICIENCY``: pump flow [m³/s] -> efficiency [%]
- ``VOLUME``: tank level [m] -> volume [m³]
- ``HEADLOSS``: general-purpose valve flow [m³/s] -> head loss [m]
- ``VALVE``: positional control valve opening [%] -> relative flow coefficient [%]
- ``GENERIC``: not used by any element; points kept as written in the file
"""


@dataclass
class Curve:
    """A curve of x-y points.

    Parameters
    ----------
    kind : what the curve relates (see :data:`CurveKind`); fixes the units of ``points``
    points : array of shape (n, 2), x then y, in SI (see :data:`CurveKind`)
    """

    kind: CurveKind
    points: npt.NDArray[np.float64]

    def copy(self) -> Curve:
        """An independent copy."""
        return Curve(self.kind, self.points.copy())


ControlCondition = Literal["TIME", "CLOCKTIME", "ABOVE", "BELOW"]


@dataclass
class Control:
    """A simple control (EPANET ``[CONTROLS]``): set a link when a time or a node level is reached.

    Parameters
    ----------
    link : id of the link acted upon
    status : ``"OPEN"``, ``"CLOSED"`` or ``"ACTIVE"``, or ``None`` when a setting is given
    setting : new setting in SI (pump relative speed [-], PRV/PSV/PBV pressure [m],
        FCV flow [m³/s], TCV loss coefficient [-], PCV opening [%]), or ``None``
    condition : ``"TIME"`` (``value`` = time since start [s]), ``"CLOCKTIME"`` (``value`` =
        time of day [s]), ``"ABOVE"`` / ``"BELOW"`` (``node`` pressure of a junction [m] or
        level of a tank [m] compared with ``value``)
    value : threshold [s] or [m]
    node : node id for ``ABOVE``/``BELOW``, else ``None``
    """

    link: str
    status: str | None
    setting: float | None
    condition: ControlCondition
    value: float
    node: str | None = None


@dataclass
class Premise:
    """One clause of a rule: ``IF|AND|OR object id attribute relation value``.

    Parameters
    ----------
    logic : ``"IF"``, ``"AND"`` or ``"OR"``
    object : ``"NODE"``, ``"JUNCTION"``, ``"RESERVOIR"``, ``"TANK"``, ``"LINK"``, ``"PIPE"``,
        ``"PUMP"``, ``"VALVE"`` or ``"SYSTEM"``
    element : element id (``None`` for ``SYSTEM``)
    attribute : ``"DEMAND"``, ``"HEAD"``, ``"GRADE"``, ``"LEVEL"``, ``"PRESSURE"``, ``"FLOW"``,
        ``"STATUS"``, ``"SETTING"``, ``"POWER"``, ``"FILLTIME"``, ``"DRAINTIME"``, ``"TIME"``,
        ``"CLOCKTIME"``
    relation : ``"="``, ``"<>"``, ``"<"``, ``">"``, ``"<="``, ``">="``, ``"IS"``, ``"NOT"``,
        ``"BELOW"``, ``"ABOVE"``
    value : number in SI (flow [m³/s], head/level/pressure [m], times [s], setting as in
        :class:`Control`) or a status word (``"OPEN"``, ``"CLOSED"``, ``"ACTIVE"``)
    """

    logic: str
    object: str
    element: str | None
    attribute: str
    relation: str
    value: float | str


@dataclass
class Action:
    """One action of a rule: ``THEN|ELSE|AND LINK id STATUS|SETTING = value``.

    ``value`` is a status word or a setting in SI (as in :class:`Control`).
    """

    object: str
    link: str
    attribute: str
    value: float | str


@dataclass
class Rule:
    """A rule-based control (EPANET ``[RULES]``)."""

    rule_id: str
    premises: list[Premise] = field(default_factory=list)
    then_actions: list[Action] = field(default_factory=list)
    else_actions: list[Action] = field(default_factory=list)
    priority: float | None = None


@dataclass
class Options:
    """Hydraulic and quality options (EPANET ``[OPTIONS]``), SI inside.

    ``None`` means "not given": EPANET's default applies, and the option is not written.

    Parameters
    ----------
    flow_units : EPANET flow-unit keyword the file uses (``"GPM"``, ``"LPS"`` …); decides the
        units a file is written in
    pressure_units : ``"PSI"``, ``"METERS"``, ``"KPA"``, ``"BAR"``, ``"FEET"`` as given in the
        file (EPANET 2.3 applies it whatever the flow units), or ``None``
    headloss : ``"H-W"``, ``"D-W"`` or ``"C-M"``
    quality : ``"NONE"``, ``"CHEMICAL"``, ``"AGE"`` or ``"TRACE"``
    chemical_name, chemical_units : name and units (``"mg/L"``, ``"ug/L"``) of a chemical
    trace_node : node traced when ``quality == "TRACE"``
    min_pressure_m, required_pressure_m : pressure-driven analysis limits [m]
    head_error_m : HEADERROR convergence limit [m]
    flow_change_m3s : FLOWCHANGE convergence limit [m³/s]
    extra : other options, keyword (upper case) -> text as written (e.g. ``"MAP"``)
    """

    flow_units: str = "LPS"
    pressure_units: str | None = None
    headloss: str = "H-W"
    specific_gravity: float | None = None
    viscosity: float | None = None
    diffusivity: float | None = None
    trials: int | None = None
    accuracy: float | None = None
    unbalanced: str | None = None
    default_pattern: str | None = None
    demand_multiplier: float | None = None
    emitter_exponent: float | None = None
    quality: str = "NONE"
    chemical_name: str | None = None
    chemical_units: str | None = None
    trace_node: str | None = None
    tolerance: float | None = None
    check_freq: int | None = None
    max_check: int | None = None
    damp_limit: float | None = None
    demand_model: str | None = None
    min_pressure_m: float | None = None
    required_pressure_m: float | None = None
    pressure_exponent: float | None = None
    head_error_m: float | None = None
    flow_change_m3s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Times:
    """Time settings (EPANET ``[TIMES]``), all in seconds; ``None`` means EPANET's default."""

    duration_s: int | None = None
    hydraulic_step_s: int | None = None
    quality_step_s: int | None = None
    rule_step_s: int | None = None
    pattern_step_s: int | None = None
    pattern_start_s: int | None = None
    report_step_s: int | None = None
    report_start_s: int | None = None
    start_clocktime_s: int | None = None
    statistic: str | None = None


@dataclass
class Energy:
    """Energy settings (EPANET ``[ENERGY]``).

    Parameters
    ----------
    global_efficiency_pct : default pump efficiency [%]
    global_price : energy price [currency per kWh]
    global_pattern : id of the price pattern
    demand_charge : [currency per max kW]
    pumps : pump id -> {"EFFIC": curve id, "PRICE": float, "PATTERN": pattern id}
    """

    global_efficiency_pct: float | None = None
    global_price: float | None = None
    global_pattern: str | None = None
    demand_charge: float | None = None
    pumps: dict[str, dict[str, str | float]] = field(default_factory=dict)


@dataclass
class Reactions:
    """Reaction settings (EPANET ``[REACTIONS]``).

    Bulk coefficients are per day as EPANET writes them [(mg/L)^(1-n) / day]; wall
    coefficients are [m/day] for first order and [mg/m²/day] for zero order.

    Parameters
    ----------
    pipe_bulk, pipe_wall, tank_bulk : element id -> coefficient for elements that differ
        from the global value
    """

    bulk_order: float | None = None
    wall_order: float | None = None
    tank_order: float | None = None
    global_bulk: float | None = None
    global_wall: float | None = None
    limiting_potential: float | None = None
    roughness_correlation: float | None = None
    pipe_bulk: dict[str, float] = field(default_factory=dict)
    pipe_wall: dict[str, float] = field(default_factory=dict)
    tank_bulk: dict[str, float] = field(default_factory=dict)
