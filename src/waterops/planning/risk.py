"""Pipe risk: likelihood (expected failures a year) × consequence (yuan a failure).

Likelihood comes from a fitted break-rate model (:mod:`waterops.planning.break_models`).
The consequence of one failure of a pipe is priced in yuan, so that risk is a cost a year and
renewal plans can compare it with their budgets:

    consequence = repair + road disruption + water not delivered + customers without water

* **repair** [yuan]: ``repair_base_yuan + repair_per_m_diameter_yuan × D`` (wider mains need
  bigger excavations and fittings);
* **road disruption** [yuan]: by road class (:data:`ROAD_CLASS_COST_YUAN`: digging up an
  arterial road costs traffic and reinstatement far beyond a community lane);
* **water not delivered** [m³ × yuan/m³]: from the pipe-closure criticality of the network
  (:func:`waterops.hydraulics.criticality.criticality`, pressure-driven demand): the demand
  not delivered while the pipe is closed, scaled from the criticality run's duration to the
  outage of one repair (``outage_h``);
* **customers without water** [customer-hours × yuan]: the junctions whose pressure falls
  below the service threshold in the closure run × customers per junction × outage hours.

Pipes that the criticality batch did not close (e.g. only mains ≥ some diameter were run on a
large network) have no hydraulic consequence: only repair and road disruption count, and
:func:`consequence_table` says how many pipes that is (``attrs["without_criticality"]``).

All money figures are planning assumptions of the utility, not standards: the defaults are
round orders of magnitude for a Chinese city and must be replaced by the utility's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from waterops.errors import RenewalPlanError
from waterops.planning.break_models import BreakRateModel
from waterops.planning.register import ROAD_CLASSES, PipeRegister

ROAD_CLASS_COST_YUAN: dict[str, float] = {
    "expressway": 200_000.0,
    "arterial": 80_000.0,
    "secondary": 30_000.0,
    "branch": 10_000.0,
    "community": 3_000.0,
}
"""Disruption cost of one failure by road class [yuan] (assumption; see module)."""


@dataclass(frozen=True)
class ConsequenceCosts:
    """Prices of the consequence of one failure (planning assumptions, see module).

    Attributes
    ----------
    repair_base_yuan : fixed part of a repair [yuan]
    repair_per_m_diameter_yuan : repair cost per metre of pipe diameter [yuan/m]
    road_class_yuan : disruption cost by road class [yuan]
    water_yuan_per_m3 : value of water not delivered [yuan/m³]
    customer_hour_yuan : cost of one customer without water for one hour [yuan/h]
    customers_per_junction : customers behind one junction of the model [-]
    outage_h : duration of one repair outage [h]
    """

    repair_base_yuan: float = 8_000.0
    repair_per_m_diameter_yuan: float = 60_000.0
    road_class_yuan: dict[str, float] = field(default_factory=lambda: dict(ROAD_CLASS_COST_YUAN))
    water_yuan_per_m3: float = 3.0
    customer_hour_yuan: float = 5.0
    customers_per_junction: float = 20.0
    outage_h: float = 8.0

    def __post_init__(self) -> None:
        for name in ("repair_base_yuan", "repair_per_m_diameter_yuan", "water_yuan_per_m3",
                     "customer_hour_yuan", "customers_per_junction", "outage_h"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise RenewalPlanError(f"{name} must be a finite number ≥ 0, got {value!r}")
        missing = set(ROAD_CLASSES) - set(self.road_class_yuan)
        if missing:
            raise RenewalPlanError(f"no disruption cost for road class(es) {sorted(missing)}")


def consequence_table(register: PipeRegister, criticality: pd.DataFrame | None = None,
                      costs: ConsequenceCosts | None = None) -> pd.DataFrame:
    """Consequence of one failure of each pipe [yuan] and its parts.

    Parameters
    ----------
    register : the pipes
    criticality : the pipe-closure table of :func:`waterops.hydraulics.criticality.criticality`
        (columns link, unsupplied_m3, nodes_below_threshold; ``attrs["duration_s"]``), or None
    costs : prices (default :class:`ConsequenceCosts`)

    Returns
    -------
    pandas.DataFrame
        index pipe_id; repair_yuan, road_yuan, unsupplied_m3 [m³ per failure],
        customers_affected, outage_yuan, consequence_yuan [yuan per failure].
    """
    costs = costs or ConsequenceCosts()
    pipes = register.pipes
    table = pd.DataFrame(index=pipes.index)
    table["repair_yuan"] = (costs.repair_base_yuan
                            + costs.repair_per_m_diameter_yuan * pipes["diameter_m"])
    table["road_yuan"] = pipes["road_class"].map(costs.road_class_yuan).astype(float)
    unsupplied = pd.Series(0.0, index=pipes.index)
    junctions = pd.Series(0.0, index=pipes.index)
    without = len(pipes)
    if criticality is not None and len(criticality):
        duration_s = float(criticality.attrs.get("duration_s", 86_400.0)) or 1.0
        rows = criticality.dropna(subset=["unsupplied_m3"]).set_index("link")
        rows = rows[rows.index.isin(pipes.index)]
        # a closure over the run's duration, scaled to one repair outage
        scale = costs.outage_h * 3600.0 / duration_s
        unsupplied.loc[rows.index] = rows["unsupplied_m3"].astype(float) * scale
        junctions.loc[rows.index] = rows["nodes_below_threshold"].astype(float)
        without = len(pipes) - len(rows)
    table["unsupplied_m3"] = unsupplied
    table["customers_affected"] = junctions * costs.customers_per_junction
    table["outage_yuan"] = (table["unsupplied_m3"] * costs.water_yuan_per_m3
                            + table["customers_affected"] * costs.outage_h
                            * costs.customer_hour_yuan)
    table["consequence_yuan"] = table["repair_yuan"] + table["road_yuan"] + table["outage_yuan"]
    table.attrs["without_criticality"] = without
    return table


def risk_table(register: PipeRegister, model: BreakRateModel, consequence: pd.DataFrame,
               year: int) -> pd.DataFrame:
    """Risk of each pipe in ``year``: likelihood × consequence.

    Returns
    -------
    pandas.DataFrame
        index pipe_id; failures_per_year, consequence_yuan, risk_yuan_per_year,
        risk_growth (yearly factor of the likelihood, e^A of its material), and the register's
        road_id, material, length_m, diameter_m, install_year.
    """
    pipes = register.pipes
    likelihood = model.expected_failures(pipes, year)
    table = pipes[["road_id", "road_class", "material", "diameter_m", "install_year",
                   "length_m"]].copy()
    table["failures_per_year"] = likelihood
    table["consequence_yuan"] = consequence["consequence_yuan"].reindex(pipes.index)
    table["risk_yuan_per_year"] = table["failures_per_year"] * table["consequence_yuan"]
    table["risk_growth"] = model.growth_per_year(pipes)
    return table


@dataclass(frozen=True)
class RenewalCosts:
    """Cost of renewing a pipe and what it is renewed with.

    Attributes
    ----------
    base_yuan_per_m : fixed part of the cost per metre [yuan/m] (excavation, reinstatement)
    per_m_diameter_yuan_per_m : part growing with the diameter [yuan/m per m of diameter]
    new_material : material of the new pipe for diameters ≥ ``pe_below_m`` (ductile iron)
    pe_below_m : below this diameter the new pipe is PE [m]
    """

    base_yuan_per_m: float = 900.0
    per_m_diameter_yuan_per_m: float = 5_000.0
    new_material: str = "DI"
    pe_below_m: float = 0.11

    def cost_yuan(self, pipes: pd.DataFrame) -> pd.Series:
        """Renewal cost of each pipe [yuan]."""
        per_m = self.base_yuan_per_m + self.per_m_diameter_yuan_per_m * pipes["diameter_m"]
        return (per_m * pipes["length_m"]).rename("cost_yuan")

    def material_of(self, pipes: pd.DataFrame) -> pd.Series:
        """Material of each renewed pipe (PE for small service mains, else ``new_material``)."""
        return pd.Series(np.where(pipes["diameter_m"] < self.pe_below_m, "PE",
                                  self.new_material), index=pipes.index, name="material")


def renewal_candidates(register: PipeRegister, model: BreakRateModel, risk: pd.DataFrame,
                       year: int, costs: RenewalCosts | None = None) -> pd.DataFrame:
    """Candidates for :func:`waterops.planning.renewal.plan_renewal`.

    The risk a renewal removes in its first year is the old pipe's risk minus the risk of a
    new pipe of the renewed material (age 0, same consequence); it grows with the old pipe's
    ageing factor (the new pipe's small residual is held at its age-0 value).
    """
    costs = costs or RenewalCosts()
    pipes = register.pipes
    new_pipes = pipes.assign(material=costs.material_of(pipes), install_year=year)
    new_risk = model.expected_failures(new_pipes, year) * risk["consequence_yuan"]
    removed = (risk["risk_yuan_per_year"] - new_risk).clip(lower=0.0)
    return pd.DataFrame({
        "road_id": pipes["road_id"],
        "length_m": pipes["length_m"],
        "cost_yuan": costs.cost_yuan(pipes),
        "risk_yuan_per_year": removed,
        "risk_growth": risk["risk_growth"],
    }, index=pipes.index)
