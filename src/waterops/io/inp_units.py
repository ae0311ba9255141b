"""Units and clock notation of EPANET input files.

An EPANET file is either US customary (flow in CFS, GPM, MGD, IMGD or AFD; lengths in ft,
pipe diameters in inches, pressure in psi, power in hp) or SI (flow in LPS, LPM, MLD, CMH,
CMD or CMS; lengths in m, pipe diameters in mm, pressure in m or kPa, power in kW). See the
EPANET 2.2 Users Manual, Appendix A (units of measurement).

Pressures and pump powers use EPANET's own factors (``PSIperFT = 0.4333``,
``KPAperPSI = 6.895``, ``KWperHP = 0.7457`` in EPANET's ``enumstxt``/``types.h``), not the
exact physical ones, so that a value converted to SI and back gives the number EPANET reads,
and a file written in another unit system simulates identically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from waterops.errors import NetworkModelError
from waterops.units import FLOW_TO_M3S, FT_M, US_FLOW_UNITS

PSI_PER_FT = 0.4333
"""EPANET's psi per foot of water (``PSIperFT``)."""
KPA_PER_PSI = 6.895
"""EPANET's kPa per psi (``KPAperPSI``)."""
KW_PER_HP = 0.7457
"""EPANET's kW per horsepower (``KWperHP``)."""
INCH_M = FT_M / 12.0
"""Metres per inch (exact)."""

PRESSURE_UNITS = ("PSI", "METERS", "KPA", "BAR", "FEET")

EPANET_PER_CFS: dict[str, float] = {
    "CFS": 1.0, "GPM": 448.831, "MGD": 0.64632, "IMGD": 0.5382, "AFD": 1.9837,
    "LPS": 28.317, "LPM": 1699.0, "MLD": 2.4466, "CMH": 101.94, "CMD": 2446.6,
    "CMS": 0.028317,
}
"""EPANET's own flow factors (``GPMperCFS``, ``LPSperCFS`` … in ``types.h``): EPANET turns
every flow into cfs with these rounded numbers, so they decide what it simulates."""
EPANET_M3_PER_FT3 = 0.028317
"""EPANET's m³ per ft³ (``M3perFT3``), used for tank volumes of SI files."""


@dataclass(frozen=True)
class InpUnits:
    """Factors that turn a value of an EPANET file into SI (multiply) and back (divide).

    Reading a file, the factors are the exact ones of :mod:`waterops.units` (1 L/s is
    1e-3 m³/s). Writing a network in other flow units than it was read in (``basis``),
    flows and volumes go through EPANET's own rounded factors (:data:`EPANET_PER_CFS`), so
    that EPANET sees the same numbers internally and the written file simulates exactly
    like the original; an exact conversion would shift flows by up to 5e-6 relative
    (EPANET's ``LPSperCFS = 28.317`` against 28.3168…), enough to move tank-level controls.

    Parameters
    ----------
    flow_units : EPANET flow-unit keyword of the file (``"GPM"``, ``"LPS"`` …)
    pressure_units : ``"PSI"``, ``"METERS"``, ``"KPA"``, ``"BAR"``, ``"FEET"`` or ``None``
        (the system's default)
    basis : flow units the network was read in (``None``: the same as ``flow_units``)
    """

    flow_units: str
    pressure_units: str | None = None
    basis: str | None = None

    @property
    def is_us(self) -> bool:
        """True for US customary files."""
        return self.flow_units in US_FLOW_UNITS

    @property
    def flow(self) -> float:
        """m³/s per flow unit."""
        basis = self.basis or self.flow_units
        if basis == self.flow_units:
            return FLOW_TO_M3S[basis]
        return FLOW_TO_M3S[basis] * EPANET_PER_CFS[basis] / EPANET_PER_CFS[self.flow_units]

    @property
    def length(self) -> float:
        """m per length unit (elevation, head, level, pipe length, tank diameter)."""
        return FT_M if self.is_us else 1.0

    @property
    def diameter(self) -> float:
        """m per pipe/valve diameter unit (inch or mm)."""
        return INCH_M if self.is_us else 1e-3

    @property
    def volume(self) -> float:
        """m³ per volume unit (ft³ or m³)."""
        basis_us = (self.basis or self.flow_units) in US_FLOW_UNITS
        exact = FT_M**3 if basis_us else 1.0
        if basis_us == self.is_us:
            return exact
        epanet = {True: 1.0, False: EPANET_M3_PER_FT3}  # file volume units per ft³
        return exact * epanet[basis_us] / epanet[self.is_us]

    @property
    def pressure(self) -> float:
        """m of water head per pressure unit, with EPANET's factors."""
        unit = self.effective_pressure_units
        if unit == "PSI":
            return FT_M / PSI_PER_FT
        if unit == "KPA":
            return FT_M / (KPA_PER_PSI * PSI_PER_FT)
        if unit == "BAR":  # EPANET 2.3: 100 kPa
            return 100.0 * FT_M / (KPA_PER_PSI * PSI_PER_FT)
        if unit == "FEET":  # EPANET 2.3
            return FT_M
        return 1.0

    @property
    def effective_pressure_units(self) -> str:
        """The pressure unit EPANET applies to this file's pressure inputs.

        EPANET 2.3 honours a PRESSURE option whatever the flow units (an LPS file with
        ``PRESSURE PSI`` takes PRV settings in psi); without one, psi for US files and
        metres for SI files.
        """
        if self.pressure_units in PRESSURE_UNITS:
            return self.pressure_units
        return "PSI" if self.is_us else "METERS"

    @property
    def power(self) -> float:
        """kW of pump power per POWER unit of the file, as EPANET simulates it.

        US files give hp (x 0.7457 kW/hp). For SI files the manual says kW, but EPANET
        2.3.5 (owa-epanet) divides the value by 0.7457 once more: ``POWER 11.1855`` in an
        SI file makes a pump deliver ρgQH = 15 kW, and ``POWER 8.341`` reproduces a US
        ``POWER 15`` (hp) exactly (checked in tests/test_io_inp_roundtrip.py). The factor
        follows what EPANET does, so ``power_kw`` is the power actually simulated.
        """
        return KW_PER_HP if self.is_us else 1.0 / KW_PER_HP

    @property
    def roughness_dw(self) -> float:
        """m per Darcy-Weisbach roughness unit (millifeet or mm)."""
        return 1e-3 * FT_M if self.is_us else 1e-3

    def emitter(self, exponent: float) -> float:
        """Factor for emitter coefficients (flow per pressure^exponent)."""
        return self.flow / float(self.pressure**exponent)

    def wall_coeff(self, order: float) -> float:
        """Factor for wall reaction coefficients: [length/day] (order 1), [mass/area/day] (0)."""
        return 1.0 / self.length**2 if order == 0 else self.length


def parse_clock_s(value: str, unit: str = "") -> int | None:
    """Parse an EPANET time (``"6"``, ``"1:30"``, ``"1.5 HOURS"``, ``"12 AM"``) into s.

    Follows EPANET's ``hour()``: without a unit the value is in hours (decimal or
    ``h:mm[:ss]``); units are matched by their first letters (SEC, MIN, HOU, DAY, AM, PM).

    Returns
    -------
    int | None
        seconds, or ``None`` if the text is not a valid time
    """
    parts = value.split(":")
    if len(parts) > 3:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if any(math.isnan(n) or n < 0 for n in numbers):
        return None
    hours = sum(n / 60.0**i for i, n in enumerate(numbers))
    u = unit.upper()
    if not u:
        pass
    elif u.startswith("SEC"):
        hours /= 3600.0
    elif u.startswith("MIN"):
        hours /= 60.0
    elif u.startswith("HOU"):
        pass
    elif u.startswith("DAY"):
        hours *= 24.0
    elif u in ("AM", "PM"):
        if hours >= 13.0:
            return None
        if u == "AM" and hours >= 12.0:
            hours -= 12.0
        if u == "PM" and hours < 12.0:
            hours += 12.0
    else:
        return None
    return round(3600.0 * hours)


def format_clock(seconds: float) -> str:
    """Seconds as EPANET's ``h:mm:ss`` (hours may exceed 24), exact for whole seconds."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def format_number(value: float) -> str:
    """A float as short as possible yet read back to (almost) the same double.

    15 significant digits when they reproduce the value within a few ulps (so a value
    converted to SI and back is written as it was read), else ``repr`` (17 digits).
    """
    if not math.isfinite(value):
        raise NetworkModelError(f"cannot write {value!r} into an EPANET file (a value is missing)")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    short = f"{value:.15g}"
    if abs(float(short) - value) <= 4 * math.ulp(value):
        return short
    return repr(value)
