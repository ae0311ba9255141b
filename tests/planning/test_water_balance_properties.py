"""Properties of the water balance that hold for any inputs (Hypothesis)."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.planning.water_balance import BalanceInput, Volume, compute_water_balance

volumes = st.floats(min_value=0, max_value=1e8, allow_nan=False)
accuracies = st.floats(min_value=0, max_value=0.5, allow_nan=False)


@st.composite
def inputs(draw: st.DrawFn) -> BalanceInput:
    def vol() -> Volume:
        return Volume(draw(volumes), draw(accuracies))

    return BalanceInput(
        scope="dma", scope_id="D", system_id="S", period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        system_input=Volume(draw(st.floats(min_value=1, max_value=1e9)), draw(accuracies)),
        billed_metered=vol(), billed_unmetered=vol(), unbilled_metered=vol(),
        unbilled_unmetered=vol(), unauthorised=vol(), metering_inaccuracy=vol(),
        data_handling_errors=vol())


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_the_balance_closes(inp: BalanceInput) -> None:
    b = compute_water_balance(inp)
    siv = inp.system_input.m3
    largest = max(getattr(inp, name).m3 for name in ("system_input", "billed_metered",
                  "billed_unmetered", "unbilled_metered", "unbilled_unmetered", "unauthorised",
                  "metering_inaccuracy", "data_handling_errors"))
    tol = 1e-8 * max(largest, 1.0)  # float rounding of sums of volumes up to 1e9 m³
    assert math.isclose(b.authorised.m3 + b.water_losses.m3, siv, abs_tol=tol)
    assert math.isclose(b.apparent_losses.m3 + b.real_losses.m3, b.water_losses.m3,
                        abs_tol=tol)
    assert math.isclose(b.billed_authorised.m3 + b.non_revenue_water.m3, siv, abs_tol=tol)
    assert math.isclose(b.non_revenue_water.m3,
                        b.unbilled_authorised.m3 + b.water_losses.m3, abs_tol=tol)
    # real losses carry every input's error: their interval is the widest of the losses
    assert b.real_losses.ci95_m3 >= b.water_losses.ci95_m3 - tol
    assert b.real_losses.ci95_m3 >= b.apparent_losses.ci95_m3 - tol
    assert b.water_losses.ci95_m3 >= b.system_input.ci95_m3 - tol
    assert (b.real_losses.m3 < 0) == any("negative" in w for w in b.warnings)


@settings(max_examples=100, deadline=None)
@given(inputs(), st.floats(min_value=1.01, max_value=3))
def test_less_accurate_meters_widen_the_interval(inp: BalanceInput, factor: float) -> None:
    worse = BalanceInput(**{**inp.__dict__, "system_input": Volume(
        inp.system_input.m3, min(inp.system_input.accuracy * factor, 0.99))})
    assert compute_water_balance(worse).real_losses.ci95_m3 >= \
        compute_water_balance(inp).real_losses.ci95_m3
