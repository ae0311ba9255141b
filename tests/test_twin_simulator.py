"""The twin driven by the virtual utility (H8's simulator): noisy, drifting sensors, lost
readings, per-DMA and per-node demand noise, pressure-driven demand, and incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.model.utility import IncidentType, UtilityLayout
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import PDA, SimulatorConfig, VirtualUtility
from waterops.service.twin import Twin, TwinSettings, TwinState
from waterops.service.virtual_utility import build_demo_utility

BURST_NODE = "JUNCTION-3310"  # in DMA-02, beside its critical point
BURST_AT_STEP = 24  # 2 h


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


@pytest.fixture(scope="module")
def run(layout: UtilityLayout) -> dict[str, object]:
    """2.5 h of the virtual utility followed by the twin; a burst in DMA-02 and a booster
    failure in pump room PR01 from 2 h on."""
    states: list[TwinState] = []
    truths: list[pd.Series] = []
    burst_m3s: list[float] = []
    with VirtualUtility(layout, SimulatorConfig(seed=3, tracer=False)) as utility, Twin.from_layout(
        layout, settings=TwinSettings(pressure_driven=PDA, source_shares=False)
    ) as twin:
        node_ids = utility.engine.node_ids
        burst_pos = node_ids.index(BURST_NODE)
        for k in range(31):
            if k == BURST_AT_STEP:
                utility.inject(IncidentRequest(IncidentType.PIPE_BURST, BURST_NODE, 0.002))
                utility.inject(IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR01"))
            frame = utility.step()
            readings = dict(zip(frame.sensor_ids, frame.values.tolist(), strict=True))
            states.append(twin.update(frame.time_s, readings))
            main = utility.models.main
            truths.append(pd.Series(main.node_values("pressure"), index=node_ids))
            burst_m3s.append(float(main.node_values("emitter_flow")[burst_pos]))
    return {"states": states, "truths": truths, "burst_m3s": burst_m3s}


def test_the_twin_follows_the_noisy_utility(layout: UtilityLayout, run: dict) -> None:
    states, truths = run["states"], run["truths"]
    junctions = [n for n in truths[0].index if n.startswith("JUNCTION-")]
    for state, truth in list(zip(states, truths, strict=True))[:BURST_AT_STEP]:
        error = (state.pressure_m[junctions] - truth[junctions]).abs()
        assert error.median() < 0.05, state.time_s
        assert error.quantile(0.95) < 0.5, state.time_s
        multipliers = state.dma["multiplier"]
        assert multipliers.between(0.8, 1.25).all(), multipliers
        pressure = state.residuals[state.residuals["quantity"] == "pressure"]
        assert pressure["residual"].abs().median() < 0.2


def test_a_burst_from_the_simulator_shows_in_the_twin(layout: UtilityLayout, run: dict) -> None:
    states, burst = run["states"], run["burst_m3s"]
    dma = next(d for d in layout.dmas if d.id == "DMA-02")
    first = states[BURST_AT_STEP]
    before = states[BURST_AT_STEP - 1]
    assert burst[BURST_AT_STEP] > 0.01 and burst[BURST_AT_STEP - 1] == 0.0

    def inflow_innovation(state: TwinState) -> float:
        r = state.residuals["innovation"]
        return float(sum(i.sign * r[f"Q-{i.link_id}"] for i in dma.inlets))

    assert inflow_innovation(first) > 0.7 * burst[BURST_AT_STEP]
    assert abs(inflow_innovation(before)) < 0.2 * burst[BURST_AT_STEP]
    logger = first.residuals.loc[f"P-{dma.critical_node}"]
    assert logger["innovation"] < -3.0 and logger["z"] < -5
    # the twin takes the extra inflow as demand: DMA-02's multiplier climbs
    assert states[-1].dma.loc["DMA-02", "multiplier"] > before.dma.loc["DMA-02", "multiplier"] + 0.2
    others = states[-1].dma["multiplier"].drop("DMA-02")
    assert others.between(0.8, 1.25).all()


def test_a_booster_failure_lowers_the_building_pressure_in_the_twin(
    layout: UtilityLayout, run: dict
) -> None:
    states, truths = run["states"], run["truths"]
    served = layout.pump_room("PR01").served_node
    before, after = states[BURST_AT_STEP - 1], states[-1]
    assert before.pressure_m[served] > 20.0
    assert after.pressure_m[served] < 5.0
    assert after.pressure_m[served] == pytest.approx(truths[-1][served], abs=0.5)
    assert np.isfinite(after.residuals.loc[f"P-{served}", "residual"])
