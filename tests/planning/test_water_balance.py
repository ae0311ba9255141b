"""IWA water balance: components and 95 % limits computed by hand; Monte Carlo check."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from waterops.errors import BalanceInputError
from waterops.planning.water_balance import (
    BalanceInput,
    Infrastructure,
    Volume,
    balance_table,
    compute_water_balance,
    period_label,
)


def example(**changes: object) -> BalanceInput:
    values: dict[str, object] = dict(
        scope="system", scope_id="city", system_id="city",
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
        system_input=Volume(1_000_000, 0.02), billed_metered=Volume(700_000, 0.05),
        billed_unmetered=Volume(20_000, 0.10), unbilled_metered=Volume(10_000, 0.05),
        unbilled_unmetered=Volume(10_000, 0.30), unauthorised=Volume(5_000, 0.30),
        metering_inaccuracy=Volume(20_000, 0.30),
    )
    values.update(changes)
    return BalanceInput(**values)  # type: ignore[arg-type]


def test_components_and_limits_by_hand() -> None:
    b = compute_water_balance(example())
    # the 1.96 of each sigma cancels: half-widths add in quadrature
    assert b.authorised.m3 == 740_000
    assert b.billed_authorised.m3 == 720_000
    assert b.unbilled_authorised.m3 == 20_000
    assert b.water_losses.m3 == 260_000
    assert b.water_losses.ci95_m3 == pytest.approx(
        math.sqrt(20_000**2 + 35_000**2 + 2_000**2 + 500**2 + 3_000**2))  # 40,475.3
    assert b.apparent_losses.m3 == 25_000
    assert b.apparent_losses.ci95_m3 == pytest.approx(math.hypot(1_500, 6_000))
    assert b.real_losses.m3 == 235_000
    assert b.real_losses.ci95_m3 == pytest.approx(40_945.08, abs=0.01)
    assert b.non_revenue_water.m3 == 280_000
    assert b.non_revenue_water.ci95_m3 == pytest.approx(40_360.87, abs=0.01)
    assert b.nrw_ratio == pytest.approx(0.28)
    assert b.system_input.ci95_m3 == pytest.approx(20_000)
    assert b.iwa is None  # no infrastructure figures
    assert b.cjj92 is not None and b.cjj92.overall_loss_rate == pytest.approx(0.26)


def test_limits_agree_with_monte_carlo() -> None:
    inp = example()
    b = compute_water_balance(inp)
    rng = np.random.default_rng(5)
    n = 200_000

    def draw(v: Volume) -> np.ndarray:
        return rng.normal(v.m3, v.accuracy * v.m3 / 1.96, n)

    real = (draw(inp.system_input) - draw(inp.billed_metered) - draw(inp.billed_unmetered)
            - draw(inp.unbilled_metered) - draw(inp.unbilled_unmetered)
            - draw(inp.unauthorised) - draw(inp.metering_inaccuracy))
    low, high = np.quantile(real, [0.025, 0.975])
    assert (high - low) / 2 == pytest.approx(b.real_losses.ci95_m3, rel=0.02)
    assert real.mean() == pytest.approx(b.real_losses.m3, rel=0.01)


def test_indices_from_infrastructure() -> None:
    infra = Infrastructure(mains_km=500, connections=25_000, private_pipe_km=0, pressure_m=50,
                           mains_dn75_km=400, household_metered_m3=450_000,
                           outlet_pressure_mpa=0.3)
    b = compute_water_balance(example(infrastructure=infra))
    assert b.iwa is not None
    # CARL = 235,000 m³ / 365 d = 643,835.6 L/d; UARL = 1,450,000 L/d
    assert b.iwa.ili == pytest.approx(235_000_000 / 365 / 1_450_000)
    assert b.cjj92 is not None
    # A = 400 km / 100 x 10^4 m³ = 4 -> R_2 capped at 3 %; R_1 = 0.08 x 0.45 = 3.6 %
    assert b.cjj92.leakage_rate == pytest.approx(0.26 - 0.036 - 0.03)
    assert b.warnings == ()


def test_warnings_for_suspicious_data() -> None:
    b = compute_water_balance(example(metering_inaccuracy=Volume(300_000, 0.3)))
    assert b.real_losses.m3 < 0
    assert any("real losses are negative" in w for w in b.warnings)
    small = Infrastructure(mains_km=30, connections=900, pressure_m=40)
    b = compute_water_balance(example(infrastructure=small))
    assert any("indicative" in w for w in b.warnings)


@pytest.mark.parametrize(("change", "message"), [
    (dict(scope="zone"), "scope must be"),
    (dict(period_end=date(2025, 1, 1)), "before period_start"),
    (dict(system_input=Volume(0)), "nothing to balance"),
    (dict(billed_metered=Volume(-5)), "billed_metered_m3 must be >= 0"),
    (dict(unauthorised=Volume(10, 1.5)), "unauthorised_accuracy_pct"),
])
def test_invalid_input_names_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(BalanceInputError, match=message):
        example(**change)


def test_period_labels() -> None:
    assert period_label(date(2026, 1, 1), date(2026, 12, 31)) == "2026"
    assert period_label(date(2026, 12, 1), date(2026, 12, 31)) == "2026-12"
    assert period_label(date(2026, 2, 1), date(2026, 2, 28)) == "2026-02"
    assert period_label(date(2026, 2, 2), date(2026, 2, 28)) == "2026-02-02/2026-02-28"
    assert example().period_days == 365


def test_table_orders_systems_first() -> None:
    dma = example(scope="dma", scope_id="DMA-01", system_id="city")
    table = balance_table([compute_water_balance(dma), compute_water_balance(example())])
    assert list(table["scope"]) == ["system", "dma"]
    assert table.loc[0, "real_losses_m3"] == 235_000
    assert table.loc[0, "cjj92_grade"] == "not met"
