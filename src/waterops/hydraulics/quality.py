"""Water-quality specifications for a simulation, and the parser of their CLI spelling.

Three kinds, as in EPANET:

- :class:`WaterAge` — time since the water entered the network. Reported in [s]
  (EPANET computes hours; the adapter converts).
- :class:`Chemical` — a reacting substance such as free chlorine, with first-order bulk and
  wall decay. Reported in [mg/L] (a file in ug/L is converted).
- :class:`Trace` — share of the water at each node that came from one source node.
  Reported as a **fraction in [0, 1]** (EPANET reports percent), like every ratio inside
  waterops.

``None`` instead of a spec means hydraulics only: no quality table in the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from waterops.errors import ConfigError


@dataclass(frozen=True)
class WaterAge:
    """Water age [s] at nodes and links."""


@dataclass(frozen=True)
class Chemical:
    """A reacting chemical (e.g. free chlorine) with first-order decay.

    Parameters
    ----------
    name : name of the chemical, e.g. ``"chlorine"``
    bulk_coeff_per_day : first-order bulk reaction coefficient applied to every pipe and tank
        [1/day]; negative = decay (EPANET convention), e.g. ``-0.5``; ``None`` keeps the
        coefficients of the network file
    wall_coeff_per_day : first-order wall reaction coefficient applied to every pipe
        [m/day] (EPANET's wall coefficient is a mass-transfer velocity, negative = decay;
        0 = no wall reaction); ``None`` keeps the coefficients of the network file
    units : concentration units of the file's sources, ``"mg/L"`` or ``"ug/L"``; results are
        always in [mg/L]
    source_node : optional node id where the chemical is injected as a fixed concentration;
        ``None`` keeps the sources and initial qualities of the network file
    source_mg_per_l : concentration at ``source_node`` [mg/L]
    """

    name: str
    bulk_coeff_per_day: float | None
    wall_coeff_per_day: float | None = 0.0
    units: str = "mg/L"
    source_node: str | None = None
    source_mg_per_l: float = 0.0

    def __post_init__(self) -> None:
        if self.units.lower() not in ("mg/l", "ug/l"):
            raise ConfigError(f"chemical units must be mg/L or ug/L, not {self.units!r}")
        for label, value in (
            ("bulk_coeff_per_day", self.bulk_coeff_per_day),
            ("wall_coeff_per_day", self.wall_coeff_per_day),
            ("source_mg_per_l", self.source_mg_per_l),
        ):
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"chemical {label} must be a finite number, not {value!r}")
        if self.source_mg_per_l < 0:
            raise ConfigError(f"chemical source concentration is negative: {self.source_mg_per_l}")


@dataclass(frozen=True)
class Trace:
    """Share of water [fraction 0-1] coming from ``node_id``."""

    node_id: str


QualitySpec = WaterAge | Chemical | Trace
"""Any water-quality specification accepted by ``simulate``."""


def parse_quality(text: str) -> QualitySpec:
    """Parse the CLI spelling of a quality spec.

    Accepted forms: ``age``; ``chlorine:BULK_PER_DAY`` (any chemical name, bulk coefficient in
    [1/day], negative = decay, e.g. ``chlorine:-0.5``); ``trace:NODE``.

    Raises
    ------
    ConfigError
        naming the text and the accepted forms.
    """
    spec = text.strip()
    forms = "use age, chlorine:BULK_PER_DAY (e.g. chlorine:-0.5) or trace:NODE"
    if spec.lower() == "age":
        return WaterAge()
    name, sep, arg = spec.partition(":")
    name, arg = name.strip(), arg.strip()
    if not sep or not name or not arg:
        raise ConfigError(f"cannot read quality {text!r}; {forms}")
    if name.lower() == "trace":
        return Trace(arg)
    if name.lower() == "age":
        raise ConfigError(f"cannot read quality {text!r}: age takes no argument; {forms}")
    try:
        bulk = float(arg)
    except ValueError:
        raise ConfigError(
            f"cannot read quality {text!r}: bulk coefficient {arg!r} is not a number; {forms}"
        ) from None
    return Chemical(name=name, bulk_coeff_per_day=bulk)
