"""Risk (likelihood × consequence) and the benefits of a plan, checked by hand and on Net1."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from tests.conftest import NETWORKS

from waterops.errors import RenewalPlanError
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.planning.benefits import (
    LossPerFailure,
    failure_benefits,
    hydraulic_improvement,
    renewed_network,
)
from waterops.planning.break_models import BreakRateModel, MaterialRate
from waterops.planning.register import PipeRegister, make_register
from waterops.planning.renewal import RenewalOptions, RenewalPlan, plan_renewal
from waterops.planning.risk import (
    ConsequenceCosts,
    RenewalCosts,
    consequence_table,
    renewal_candidates,
    risk_table,
)
from waterops.planning.synthetic_register import demo_register

Net1Case = tuple[Network, PipeRegister, RenewalPlan]


def _law(material: str, n0: float, ageing: float) -> MaterialRate:
    return MaterialRate(material, math.log(n0), ageing, math.nan, math.nan, 0, 0.0, False)


MODEL = BreakRateModel({"CI": _law("CI", 0.1, 0.05), "DI": _law("DI", 0.02, 0.0)},
                       _law("*", 0.05, 0.02), ("break", "leak"), (2011, 2025))

PIPES = pd.DataFrame({
    "material": ["CI", "CI"], "diameter_m": [0.2, 0.5], "install_year": [1976, 2000],
    "length_m": [2000.0, 500.0], "road_id": ["R1", "R2"], "road_class": ["branch", "arterial"],
    "pressure_m": [25.0, math.nan]}, index=["a", "b"])
REGISTER = make_register(PIPES, pd.DataFrame({"pipe_id": ["a"], "date": ["2020-01-01"],
                                              "kind": ["break"]}), (2011, 2025))


def test_consequence_and_risk_by_hand() -> None:
    criticality = pd.DataFrame({"link": ["a", "zz"], "unsupplied_m3": [240.0, 5.0],
                                "nodes_below_threshold": [3, 1]})
    criticality.attrs["duration_s"] = 86_400
    costs = ConsequenceCosts(outage_h=6.0)
    table = consequence_table(REGISTER, criticality, costs)
    # a: repair 8,000 + 60,000·0.2; road 10,000; 240 m³ over 24 h → 60 m³ in 6 h at 3 yuan;
    # 3 junctions · 20 customers · 6 h · 5 yuan
    assert table.loc["a", "repair_yuan"] == pytest.approx(20_000.0)
    assert table.loc["a", "unsupplied_m3"] == pytest.approx(60.0)
    assert table.loc["a", "outage_yuan"] == pytest.approx(60 * 3.0 + 60 * 6 * 5.0)
    assert table.loc["a", "consequence_yuan"] == pytest.approx(20_000 + 10_000 + 180 + 1_800)
    # b has no criticality row: repair and road only
    assert table.loc["b", "consequence_yuan"] == pytest.approx(8_000 + 30_000 + 80_000)
    assert table.attrs["without_criticality"] == 1
    risk = risk_table(REGISTER, MODEL, table, 2026)
    # a: 2 km · 0.1 · e^{0.05·50} failures a year
    failures_a = 2.0 * 0.1 * math.exp(0.05 * 50)
    assert risk.loc["a", "failures_per_year"] == pytest.approx(failures_a)
    assert risk.loc["a", "risk_yuan_per_year"] == pytest.approx(failures_a * 31_980)
    assert risk.loc["a", "risk_growth"] == pytest.approx(math.exp(0.05))


def test_candidates_remove_the_old_risk_less_the_new_pipes() -> None:
    consequence = consequence_table(REGISTER, None)
    risk = risk_table(REGISTER, MODEL, consequence, 2026)
    candidates = renewal_candidates(REGISTER, MODEL, risk, 2026, RenewalCosts())
    # the new pipe is ductile iron at age 0: 0.02 failures/km/yr
    new_risk_a = 2.0 * 0.02 * consequence.loc["a", "consequence_yuan"]
    assert candidates.loc["a", "risk_yuan_per_year"] == pytest.approx(
        risk.loc["a", "risk_yuan_per_year"] - new_risk_a)
    assert candidates.loc["a", "cost_yuan"] == pytest.approx((900 + 5000 * 0.2) * 2000)


def test_failures_and_leakage_avoided_by_hand() -> None:
    plan = plan_renewal(pd.DataFrame({"road_id": ["R1", "R2"], "length_m": [2000.0, 500.0],
                                      "cost_yuan": [1.0, 1.0],
                                      "risk_yuan_per_year": [10.0, 0.0]}, index=["a", "b"]),
                        RenewalOptions((1.0, 0.0)))
    assert plan.pipes["pipe_id"].tolist() == ["a"]
    losses = LossPerFailure(break_flow_m3h=10.0, break_run_h=10.0, leak_flow_m3h=1.0,
                            leak_run_h=100.0)
    table = failure_benefits(REGISTER, MODEL, plan, 2026, losses=losses)
    first = table.iloc[0]
    old = 2.0 * 0.1 * math.exp(0.05 * 50)
    assert first["failures_avoided"] == pytest.approx(old - 2.0 * 0.02)
    # all the history's failures are breaks: 100 m³ per failure at 50 m, a runs at 25 m
    assert first["leakage_avoided_m3"] == pytest.approx((old - 0.04) * 100.0 * 25.0 / 50.0)
    second = table.iloc[1]
    assert second["failures_avoided"] == pytest.approx(2.0 * 0.1 * math.exp(0.05 * 51) - 0.04)


@pytest.fixture(scope="module")
def net1_case() -> Net1Case:
    network = read_inp(NETWORKS / "Net1.inp")
    network.pipes.loc[["10", "11"], "roughness"] = 50.0  # badly tuberculated old mains
    register = demo_register(network, seed=1)
    candidates = pd.DataFrame({"road_id": register.pipes["road_id"],
                               "length_m": register.pipes["length_m"],
                               "cost_yuan": 1.0,
                               "risk_yuan_per_year": [5.0 if p in ("10", "11") else 0.0
                                                      for p in register.pipes.index]},
                              index=register.pipes.index)
    plan = plan_renewal(candidates, RenewalOptions((2.0,)))
    return network, register, plan


def test_renewed_network_has_new_pipe_roughness(net1_case: Net1Case) -> None:
    network, register, plan = net1_case
    assert set(plan.pipes["pipe_id"]) == {"10", "11"}
    renewed = renewed_network(network, plan, register, new_diameter_m={"10": 0.5})
    assert renewed.pipes.loc["10", "roughness"] == 130.0  # ductile iron, lined
    assert renewed.pipes.loc["10", "diameter_m"] == 0.5
    assert network.pipes.loc["10", "roughness"] == 50.0  # the original is untouched
    with pytest.raises(RenewalPlanError, match="unknown pipe"):
        renewed_network(network, plan, register, new_diameter_m={"nope": 0.5})


def test_hydraulic_improvement_on_net1(net1_case: Net1Case) -> None:
    network, register, plan = net1_case
    table = hydraulic_improvement(network, plan, register, duration_s=6 * 3600)
    assert table.loc["after", "renewed_headloss_m"] < 0.5 * table.loc["before",
                                                                       "renewed_headloss_m"]
    assert table.loc["change", "lowest_pressure_m"] > 0.5
    # (the mean need not rise: with less loss the pump runs further out on its curve)
    assert table.loc["change", "mean_pressure_m"] == pytest.approx(
        table.loc["after", "mean_pressure_m"] - table.loc["before", "mean_pressure_m"])
