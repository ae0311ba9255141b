"""Break-rate models recover the law the synthetic failures were drawn from."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from waterops.errors import RegisterError
from waterops.planning.break_models import exposure, fit_break_model, validate
from waterops.planning.register import PipeRegister, make_register
from waterops.planning.synthetic_register import TRUE_LAWS, draw_failures, synthetic_pipes


@pytest.fixture(scope="module")
def register() -> PipeRegister:
    return synthetic_pipes(30_000, seed=11)


def test_fit_recovers_the_true_laws(register: PipeRegister) -> None:
    model = fit_break_model(register)
    for material in ("CI", "GS", "DI", "PE"):
        law = model.law(material)
        n0, ageing = TRUE_LAWS[material]
        assert not law.pooled_ageing
        # within 4 standard errors of the truth, and the errors are small
        assert abs(law.ageing_per_year - ageing) < 4 * law.ageing_se, material
        assert abs(law.log_n0 - math.log(n0)) < 4 * law.log_n0_se, material
        assert law.ageing_se < 0.02


def test_newton_matches_a_hand_computed_constant_rate() -> None:
    # two pipes of 1 km, both laid in 2000, one failure a year in 2011-2015 on one of them
    pipes = pd.DataFrame({"material": ["CI", "CI"], "diameter_m": 0.2, "install_year": 2000,
                          "length_m": 1000.0, "road_id": "R", "road_class": "branch"},
                         index=["a", "b"])
    breaks = pd.DataFrame({"pipe_id": "a", "date": [f"{y}-06-01" for y in range(2011, 2016)],
                           "kind": "break"})
    reg = make_register(pipes, breaks, (2011, 2015))
    model = fit_break_model(reg, min_failures=1)
    law = model.law("CI")
    # 5 failures in 10 km-years at ages 11..15 without trend: rate 0.5/km/yr, A = 0
    assert law.ageing_per_year == pytest.approx(0.0, abs=1e-9)
    assert law.rate_per_km_year(13.0) == pytest.approx(0.5)
    assert law.km_years == pytest.approx(10.0)
    frame = exposure(reg, (2011, 2015))
    assert frame["failures"].sum() == 5 and len(frame) == 10


def test_materials_with_few_failures_take_the_pooled_ageing(register: PipeRegister) -> None:
    model = fit_break_model(register, min_failures=10**9)
    assert all(law.pooled_ageing for law in model.materials.values())
    assert {law.ageing_per_year for law in model.materials.values()} == {
        model.pooled.ageing_per_year}
    # the level of each material is still its own: grey cast iron above ductile iron
    assert model.law("CI").rate_per_km_year(30) > model.law("DI").rate_per_km_year(30)


def test_validation_on_held_back_years(register: PipeRegister) -> None:
    model, report = validate(register, held_back=3)
    assert model.fitted_years == (2011, 2022)
    assert report.held_back_years == (2023, 2025)
    table = report.by_material.set_index("material")
    for material in ("CI", "GS", "DI", "PE"):
        observed, predicted = table.loc[material, ["observed", "predicted"]]
        assert abs(observed - predicted) < 4 * math.sqrt(predicted) + 5, material
    assert report.deviance < report.null_deviance
    assert report.lift > 2.0


def test_prediction_grows_with_age() -> None:
    reg = synthetic_pipes(2_000, seed=3)
    model = fit_break_model(reg)
    now = model.expected_failures(reg.pipes, 2026)
    later = model.expected_failures(reg.pipes, 2030)
    assert (later >= now - 1e-12).all()
    growth = model.growth_per_year(reg.pipes)
    ratio = (later / now).to_numpy()
    assert np.allclose(ratio, growth.to_numpy() ** 4)


def test_fitting_outside_the_history_is_refused(register: PipeRegister) -> None:
    with pytest.raises(RegisterError, match="outside the history"):
        fit_break_model(register, (2000, 2012))
    with pytest.raises(RegisterError, match="hold back"):
        validate(register, held_back=15)


def test_draw_failures_refuses_an_unknown_material() -> None:
    pipes = pd.DataFrame({"material": ["XX"], "install_year": [1990], "length_m": [100.0]},
                         index=["a"])
    with pytest.raises(RegisterError, match="XX"):
        draw_failures(pipes, (2011, 2012), seed=1)
