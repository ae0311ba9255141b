"""End to end on the demo utility: the virtual utility injects a contamination (its tracer,
seen by the conductivity analysers with noise, demand noise on); the analysers' hourly
readings go to source tracing, whose credible candidates must hold the true node."""

from __future__ import annotations

import pytest

from waterops.model.accounts import Role, User
from waterops.model.telemetry import Quantity
from waterops.model.utility import IncidentType
from waterops.service.contamination import ContaminationService, Detection
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import TDS_PER_US_CM, SimulatorConfig, VirtualUtility
from waterops.service.virtual_utility import CONDUCTIVITY_BASE_US_CM, build_demo_utility

TRUTH = "JUNCTION-356"


@pytest.mark.slow
def test_trace_an_injected_incident_from_conductivity_readings() -> None:
    layout = build_demo_utility()
    config = SimulatorConfig(seed=11, dropout_probability=0.0, outage_rate_per_day=0.0)
    analysers = {s.id for s in layout.sensors if s.quantity is Quantity.CONDUCTIVITY}
    detections: list[Detection] = []
    with VirtualUtility(layout, config) as sim:
        sim.run_for(3600, on_frame=lambda f: None)
        sim.inject(IncidentRequest(IncidentType.CONTAMINATION, TRUTH, 50.0))
        start_at = sim.clock(sim.time_s)

        def keep(frame):  # type: ignore[no-untyped-def]
            if frame.time_s % 3600:
                return
            for sensor_id, value in zip(frame.sensor_ids, frame.values.tolist(),
                                        strict=True):
                if sensor_id in analysers and value == value:
                    excess = max(0.0, (value - CONDUCTIVITY_BASE_US_CM) * TDS_PER_US_CM)
                    detections.append(Detection(sensor_id, frame.time, excess))

        sim.run_for(6 * 3600, on_frame=keep)
    assert sum(d.concentration_mg_l >= 5.0 for d in detections) >= 2
    service = ContaminationService(None, layout)
    report = service.trace(User(1, "qe", Role.WATER_QUALITY_ENGINEER, "qe", None, True,
                                start_at), detections, threshold_mg_l=5.0, members=3)
    names = [c.node_id for c in report.candidates]
    mine = report.candidates[names.index(TRUTH)]
    # four analysers see it: the nodes in series upstream of them explain it about equally
    # well; the truth is in the credible set (log-likelihood within 5 of the best), which
    # rules out all but a few per cent of the city
    best = report.candidates[0].log_likelihood
    credible = [c for c in report.candidates if c.log_likelihood >= best - 5.0]
    assert mine in credible
    assert len(credible) < 0.05 * sum(len(d.junctions) for d in layout.dmas)
    assert abs((report.start_time(mine) - start_at).total_seconds()) <= 3600
