"""Unit conversions at the edges: checked against exact definitions (NIST SP 811)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waterops.errors import UnitError
from waterops.units import flow_factor, from_si, parse_duration_s, to_si


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1.0, "bar", 100.0 / 9.80665),  # 1 bar = 100 kPa; 1 mH2O = 9.80665 kPa
        (0.14, "MPa", 140.0 / 9.80665),  # common network end pressure 0.14 MPa ≈ 14.28 m
        (9.80665, "kPa", 1.0),
        (3.6, "m3/h", 0.001),
        (1.0, "L/s", 0.001),
        (1.0, "m3/d", 1.0 / 86400.0),
        (1.0, "psi", 6.894757293168361 / 9.80665),
        (300.0, "K", 26.85),
    ],
)
def test_to_si(value: float, unit: str, expected: float) -> None:
    assert to_si(value, unit) == pytest.approx(expected, rel=1e-12)


def test_epanet_flow_units() -> None:
    # 1 US gallon = 3.785411784 L exactly; 1 ft = 0.3048 m exactly
    assert flow_factor("GPM") == pytest.approx(3.785411784e-3 / 60, rel=1e-15)
    assert flow_factor("cfs") == pytest.approx(0.3048**3, rel=1e-15)
    assert flow_factor("MLD") == pytest.approx(1000.0 / 86400.0, rel=1e-15)
    with pytest.raises(UnitError, match="unknown EPANET flow units 'XYZ'"):
        flow_factor("XYZ")


def test_unknown_unit_named() -> None:
    with pytest.raises(UnitError, match="unknown unit 'furlong'"):
        to_si(1.0, "furlong")


@given(st.floats(-1e9, 1e9), st.sampled_from(["bar", "kPa", "MPa", "L/s", "m3/h", "psi", "K"]))
def test_round_trip(value: float, unit: str) -> None:
    back = from_si(to_si(value, unit), unit)
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("90min", 5400), ("7d", 604800), ("3600", 3600), ("1:30", 5400),
     ("0:00:10", 10), ("1.5 hours", 5400), ("15m", 900)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-3h", "1:2:3:4", "nanh", "INF", "1e400", "1e308d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UnitError):
        parse_duration_s(text)
