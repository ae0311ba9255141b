"""SI units inside, conversion at the edges.

Every quantity inside waterops is SI: length and head in m, flow in m³/s, time in s,
concentration in mg/L (= g/m³), pressure as head of water in m. This module holds the
conversion factors used at the edges (files, telemetry payloads, people).

Sources
-------
- US customary units: NIST SP 811 (2008), appendix B: 1 ft = 0.3048 m (exact),
  1 US gal = 3.785411784 L (exact), 1 imperial gal = 4.54609 L (exact),
  1 acre-foot = 1233.48183754752 m³.
- Metre of water head: conventional value 1 mH2O = 9.80665 kPa (ISO 80000-4 style
  conventional unit, g_n = 9.80665 m/s², ρ = 1000 kg/m³).
- EPANET flow units: EPANET 2.2 Users Manual, table 3.1 (CFS, GPM, MGD, IMGD, AFD,
  LPS, LPM, MLD, CMH, CMD; CMS added in EPANET 2.3).
"""

from __future__ import annotations

import math
from typing import Final

from waterops.errors import UnitError

FT_M: Final = 0.3048
"""Metres per foot (exact)."""
US_GAL_M3: Final = 3.785411784e-3
"""Cubic metres per US gallon (exact)."""
IMP_GAL_M3: Final = 4.54609e-3
"""Cubic metres per imperial gallon (exact)."""
ACRE_FT_M3: Final = 1233.48183754752
"""Cubic metres per acre-foot."""
KPA_PER_M_HEAD: Final = 9.80665
"""kPa per metre of water head (conventional, g_n x 1000 kg/m³)."""
SECONDS_PER_DAY: Final = 86400.0

# Flow: factor that multiplies a value in the unit to give m³/s.
FLOW_TO_M3S: Final[dict[str, float]] = {
    "CFS": FT_M**3,
    "GPM": US_GAL_M3 / 60.0,
    "MGD": 1e6 * US_GAL_M3 / SECONDS_PER_DAY,
    "IMGD": 1e6 * IMP_GAL_M3 / SECONDS_PER_DAY,
    "AFD": ACRE_FT_M3 / SECONDS_PER_DAY,
    "LPS": 1e-3,
    "LPM": 1e-3 / 60.0,
    "MLD": 1e3 / SECONDS_PER_DAY,
    "CMH": 1.0 / 3600.0,
    "CMD": 1.0 / SECONDS_PER_DAY,
    "CMS": 1.0,
}
US_FLOW_UNITS: Final = frozenset({"CFS", "GPM", "MGD", "IMGD", "AFD"})
"""EPANET flow units that make the whole file US customary (ft, psi, in)."""

# Telemetry and people: unit spelling (case-insensitive) -> (quantity, factor to SI, offset).
_UNITS: Final[dict[str, tuple[str, float, float]]] = {
    # pressure, as metres of water head
    "m": ("length", 1.0, 0.0),
    "mh2o": ("pressure", 1.0, 0.0),
    "m_h2o": ("pressure", 1.0, 0.0),
    "kpa": ("pressure", 1.0 / KPA_PER_M_HEAD, 0.0),
    "pa": ("pressure", 1e-3 / KPA_PER_M_HEAD, 0.0),
    "mpa": ("pressure", 1e3 / KPA_PER_M_HEAD, 0.0),
    "bar": ("pressure", 100.0 / KPA_PER_M_HEAD, 0.0),
    "psi": ("pressure", 6.894757293168361 / KPA_PER_M_HEAD, 0.0),
    # length / level
    "cm": ("length", 1e-2, 0.0),
    "mm": ("length", 1e-3, 0.0),
    "ft": ("length", FT_M, 0.0),
    # flow
    "m3/s": ("flow", 1.0, 0.0),
    "m3/h": ("flow", 1.0 / 3600.0, 0.0),
    "m3/d": ("flow", 1.0 / SECONDS_PER_DAY, 0.0),
    "l/s": ("flow", 1e-3, 0.0),
    "l/min": ("flow", 1e-3 / 60.0, 0.0),
    "gpm": ("flow", US_GAL_M3 / 60.0, 0.0),
    # concentration
    "mg/l": ("concentration", 1.0, 0.0),
    "ug/l": ("concentration", 1e-3, 0.0),
    "µg/l": ("concentration", 1e-3, 0.0),
    "g/m3": ("concentration", 1.0, 0.0),
    # others kept as they are
    "ntu": ("turbidity", 1.0, 0.0),
    "ph": ("ph", 1.0, 0.0),
    "us/cm": ("conductivity", 1.0, 0.0),
    "µs/cm": ("conductivity", 1.0, 0.0),
    "ms/cm": ("conductivity", 1e3, 0.0),
    "degc": ("temperature", 1.0, 0.0),
    "°c": ("temperature", 1.0, 0.0),
    "c": ("temperature", 1.0, 0.0),
    "k": ("temperature", 1.0, -273.15),
    "%": ("fraction", 1e-2, 0.0),
    "1": ("dimensionless", 1.0, 0.0),
    "bool": ("state", 1.0, 0.0),
    "rpm": ("speed", 1.0 / 60.0, 0.0),
    "hz": ("frequency", 1.0, 0.0),
    "kw": ("power", 1e3, 0.0),
    "w": ("power", 1.0, 0.0),
    "mv": ("potential", 1e-3, 0.0),
    "s": ("time", 1.0, 0.0),
    "min": ("time", 60.0, 0.0),
    "h": ("time", 3600.0, 0.0),
}


def unit_quantity(unit: str) -> str:
    """The quantity a unit measures (``"pressure"``, ``"flow"`` …).

    Raises
    ------
    UnitError
        if the unit is not known.
    """
    try:
        return _UNITS[unit.strip().lower()][0]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}; known: {', '.join(sorted(_UNITS))}") from None


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` given in ``unit`` to the SI unit used inside waterops.

    Pressure becomes metres of water head, flow m³/s, concentration mg/L,
    rotational speed revolutions per second, temperature °C.
    """
    key = unit.strip().lower()
    try:
        _, factor, offset = _UNITS[key]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}; known: {', '.join(sorted(_UNITS))}") from None
    return value * factor + offset


def from_si(value: float, unit: str) -> float:
    """Convert an SI value to ``unit`` (inverse of :func:`to_si`)."""
    key = unit.strip().lower()
    try:
        _, factor, offset = _UNITS[key]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}; known: {', '.join(sorted(_UNITS))}") from None
    return (value - offset) / factor


def flow_factor(flow_units: str) -> float:
    """m³/s per unit of an EPANET flow-unit keyword (``"GPM"``, ``"LPS"`` …)."""
    try:
        return FLOW_TO_M3S[flow_units.upper()]
    except KeyError:
        raise UnitError(
            f"unknown EPANET flow units {flow_units!r}; known: {', '.join(FLOW_TO_M3S)}"
        ) from None


_DURATION_SUFFIXES: Final = (
    ("days", 86400), ("day", 86400), ("d", 86400),
    ("hours", 3600), ("hour", 3600), ("hrs", 3600), ("hr", 3600), ("h", 3600),
    ("minutes", 60), ("min", 60), ("m", 60),
    ("seconds", 1), ("sec", 1), ("s", 1),
)


def parse_duration_s(text: str) -> int:
    """Parse a duration such as ``"24h"``, ``"90min"``, ``"7d"``, ``"3600"`` or ``"1:30"`` into s.

    A bare number is seconds; ``h:mm`` and ``h:mm:ss`` follow EPANET's clock notation.
    """
    t = text.strip().lower()
    if not t:
        raise UnitError("empty duration")
    if ":" in t:
        parts = t.split(":")
        if len(parts) > 3 or not all(p.isdigit() for p in parts):
            raise UnitError(f"cannot read duration {text!r} (use e.g. 24h, 90min, 1:30)")
        h, m, s = (int(p) for p in [*parts, "0"][:3])
        return h * 3600 + m * 60 + s
    number, mult = t, 1
    for suffix, factor in _DURATION_SUFFIXES:
        if t.endswith(suffix):
            number, mult = t[: -len(suffix)].strip(), factor
            break
    try:
        value = float(number)
    except ValueError:
        raise UnitError(f"cannot read duration {text!r} (use e.g. 24h, 90min, 7d)") from None
    if value < 0 or not math.isfinite(value * mult):
        raise UnitError(f"duration {text!r} is negative, infinite or not a number")
    return round(value * mult)
