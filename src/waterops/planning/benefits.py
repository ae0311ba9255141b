"""Benefits of a renewal plan: failures avoided, leakage avoided, and the hydraulic improvement.

* **Failures avoided** in each appraisal year: for each pipe renewed by then, the old pipe's
  expected failures (its material's law at its age) minus the new pipe's (the renewed
  material's law from age 0), from the fitted break-rate model.
* **Leakage avoided** [m³/year]: failures avoided × water lost per failure. The volume lost is
  flow × run time (awareness, location and repair) as in the *bursts and background estimates*
  components behind the IWA's unavoidable real losses (Lambert, Brown, Takizawa & Weimer 1999,
  "A review of performance indicators for real losses from water supply systems", AQUA
  48(6):227-237): a reported mains burst runs at 12 m³/h for about 3 days at 50 m of pressure.
  Defaults: a *break* loses 12 m³/h × 72 h, a *leak* (found by survey, so running longer and
  smaller) 6 m³/h × 30 days; both scale linearly with the pipe's mean pressure / 50 m (the
  UARL's own pressure assumption). Utilities should set their own run times.
* **Hydraulic improvement**: the network is simulated as it is and with the renewed pipes'
  new roughness (Hazen-Williams C of a new pipe of the renewed material: ductile iron with
  cement-mortar lining 130, PE 140, steel 140; EPANET 2 Users Manual, Table 3.2, roughness
  coefficients for new pipe) and, if asked, a new diameter; the table compares junction
  pressures (lowest, mean, junctions ever below the service threshold) and the head lost in
  the renewed pipes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from waterops.errors import RenewalPlanError
from waterops.hydraulics.simulate import simulate
from waterops.planning.break_models import BreakRateModel
from waterops.planning.register import PipeRegister
from waterops.planning.renewal import RenewalPlan
from waterops.planning.risk import RenewalCosts

if TYPE_CHECKING:
    from waterops.model.network import Network

NEW_PIPE_HAZEN_WILLIAMS_C: dict[str, float] = {"DI": 130.0, "PE": 140.0, "STEEL": 140.0,
                                               "PVC": 140.0}
"""Hazen-Williams C of a new pipe by material (EPANET 2 Users Manual, Table 3.2)."""

REFERENCE_PRESSURE_M = 50.0
"""Pressure at which the burst flow rates hold [m] (Lambert et al. 1999)."""


@dataclass(frozen=True)
class LossPerFailure:
    """Water lost by one failure at 50 m of pressure (see module).

    Attributes
    ----------
    break_flow_m3h, break_run_h : flow [m³/h] and run time [h] of a break
    leak_flow_m3h, leak_run_h : the same for a leak
    """

    break_flow_m3h: float = 12.0
    break_run_h: float = 72.0
    leak_flow_m3h: float = 6.0
    leak_run_h: float = 30 * 24.0

    def volume_m3(self, break_share: float, pressure_m: pd.Series) -> pd.Series:
        """Water lost by one failure of each pipe [m³], a mix of breaks and leaks."""
        per_failure = (break_share * self.break_flow_m3h * self.break_run_h
                       + (1.0 - break_share) * self.leak_flow_m3h * self.leak_run_h)
        scale = pressure_m.fillna(REFERENCE_PRESSURE_M).clip(lower=0.0) / REFERENCE_PRESSURE_M
        return per_failure * scale


def failure_benefits(register: PipeRegister, model: BreakRateModel, plan: RenewalPlan,
                     start_year: int, *, appraisal_years: int | None = None,
                     renewal: RenewalCosts | None = None,
                     losses: LossPerFailure | None = None) -> pd.DataFrame:
    """Failures and water losses avoided by the plan, per appraisal year.

    Parameters
    ----------
    register, model : the pipes and their fitted break-rate model
    plan : the plan (its year 1 is ``start_year``)
    start_year : calendar year of the plan's year 1
    appraisal_years : years to report (default: the plan's appraisal period)
    renewal : what pipes are renewed with (default :class:`RenewalCosts`)
    losses : water lost per failure (default :class:`LossPerFailure`)

    Returns
    -------
    pandas.DataFrame
        one row per year: year, pipes_renewed (cumulative), failures_before,
        failures_after, failures_avoided [failures/year], leakage_avoided_m3 [m³/year].
    """
    renewal = renewal or RenewalCosts()
    losses = losses or LossPerFailure()
    span = appraisal_years or plan.options.appraisal_years or plan.options.years
    pipes = register.pipes
    year_of = plan.pipes.set_index("pipe_id")["year"].reindex(pipes.index).fillna(0)
    kinds = register.breaks["kind"]
    break_share = float((kinds == "break").mean()) if len(kinds) else 0.7
    volume = losses.volume_m3(break_share, pipes["pressure_m"])
    new_material = renewal.material_of(pipes)
    rows = []
    for k in range(1, span + 1):
        calendar = start_year + k - 1
        before = model.expected_failures(pipes, calendar)
        renewed = (year_of > 0) & (year_of <= k)
        new_pipes = pipes.assign(material=new_material,
                                 install_year=start_year + year_of.astype(int) - 1)
        after_new = model.expected_failures(new_pipes, calendar)
        after = before.where(~renewed, after_new)
        avoided = before - after
        rows.append({
            "year": calendar, "pipes_renewed": int(renewed.sum()),
            "failures_before": float(before.sum()), "failures_after": float(after.sum()),
            "failures_avoided": float(avoided.sum()),
            "leakage_avoided_m3": float((avoided * volume).sum()),
        })
    return pd.DataFrame(rows)


def renewed_network(network: Network, plan: RenewalPlan, register: PipeRegister, *,
                    renewal: RenewalCosts | None = None,
                    new_diameter_m: dict[str, float] | None = None) -> Network:
    """A copy of ``network`` with the plan's pipes renewed (new C, optional new diameters).

    Raises
    ------
    RenewalPlanError
        if the network's head-loss formula is not Hazen-Williams (the new-pipe roughness
        values are C factors), or a renewed pipe is not in the network.
    """
    if network.headloss != "H-W":
        raise RenewalPlanError(f"the hydraulic benefit needs a Hazen-Williams network; this "
                               f"one uses {network.headloss}")
    renewal = renewal or RenewalCosts()
    ids = plan.pipes["pipe_id"].astype(str)
    unknown = ids[~ids.isin(network.pipes.index)]
    if len(unknown):
        raise RenewalPlanError(f"renewed pipe {unknown.iloc[0]!r} is not in the network")
    material = renewal.material_of(register.pipes.loc[ids.to_list()])
    roughness = material.map(NEW_PIPE_HAZEN_WILLIAMS_C).fillna(130.0)
    renewed = network.copy()
    pipes = renewed.pipes.copy()
    pipes.loc[roughness.index, "roughness"] = roughness.to_numpy()
    for pipe_id, diameter in (new_diameter_m or {}).items():
        if pipe_id not in pipes.index:
            raise RenewalPlanError(f"new diameter for unknown pipe {pipe_id!r}")
        if not 0.005 <= diameter <= 5.0:
            raise RenewalPlanError(f"pipe {pipe_id!r}: new diameter must be 0.005-5 m, "
                                   f"got {diameter!r}")
        pipes.loc[pipe_id, "diameter_m"] = float(diameter)
    renewed.pipes = pipes
    return renewed


def hydraulic_improvement(network: Network, plan: RenewalPlan, register: PipeRegister, *,
                          renewal: RenewalCosts | None = None,
                          new_diameter_m: dict[str, float] | None = None,
                          threshold_m: float = 14.0,
                          duration_s: int | None = None) -> pd.DataFrame:
    """Junction pressures and renewed pipes' head loss, before and after the plan.

    Returns
    -------
    pandas.DataFrame
        index ``before``, ``after``, ``change``; columns lowest_pressure_m, mean_pressure_m,
        junctions_below_threshold, renewed_headloss_m (mean over time of the head lost in
        the renewed pipes, summed over pipes [m]).
    """
    after_network = renewed_network(network, plan, register, renewal=renewal,
                                    new_diameter_m=new_diameter_m)
    ids = plan.pipes["pipe_id"].astype(str).to_list()
    rows = {"before": _summary(network, ids, threshold_m, duration_s),
            "after": _summary(after_network, ids, threshold_m, duration_s)}
    table = pd.DataFrame(rows).T
    table.loc["change"] = table.loc["after"] - table.loc["before"]
    return table


def _summary(network: Network, pipe_ids: list[str], threshold_m: float,
             duration_s: int | None) -> dict[str, float]:
    results = simulate(network, duration_s=duration_s)
    pressure = results.node["pressure"]
    junctions = [n for n in pressure.columns if n in network.junctions.index]
    p = pressure[junctions]
    head = results.node["head"]
    ends = network.pipes.loc[pipe_ids, ["node1", "node2"]].astype(str)
    loss = (head[ends["node1"].to_list()].to_numpy() - head[ends["node2"].to_list()].to_numpy())
    return {
        "lowest_pressure_m": float(p.to_numpy().min()),
        "mean_pressure_m": float(p.to_numpy().mean()),
        "junctions_below_threshold": float((p < threshold_m).any(axis=0).sum()),
        "renewed_headloss_m": float(np.abs(loss).mean(axis=0).sum()) if pipe_ids else 0.0,
    }
