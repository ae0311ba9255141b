"""Each incident type leaves its signature in the virtual utility's sensors and model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from waterops.data import demo_network_path
from waterops.errors import IncidentError
from waterops.hydraulics import Trace, simulate
from waterops.model.utility import IncidentType, UtilityLayout
from waterops.service.incidents import IncidentRequest, parse_incident_spec
from waterops.service.simulator import SensorFrame, SimulatorConfig, VirtualUtility
from waterops.service.virtual_utility import CONDUCTIVITY_BASE_US_CM, build_demo_utility

QUIET = SimulatorConfig(sensor_noise=False, dma_demand_noise=0.0, node_demand_noise=0.0,
                        tracer=False)
"""No noise, no drop-outs, no random incidents: differences come from the incident alone."""


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


def run(layout: UtilityLayout, hours: float, *requests: IncidentRequest,
        config: SimulatorConfig = QUIET, first_step: bool = False,
        ) -> tuple[VirtualUtility, list[SensorFrame]]:
    """Run the utility ``hours`` with ``requests`` injected at t = 0 (or after the first step,
    so they start at the second); the closed simulator (its book kept) and its frames."""
    frames: list[SensorFrame] = []
    with VirtualUtility(layout, config) as sim:
        if first_step:
            frames.append(sim.step())
        for request in requests:
            sim.inject(request)
        sim.run_for(int(hours * 3600) - max(sim.time_s, 0), on_frame=frames.append)
    return sim, frames


def truth(frame: SensorFrame, sensor_id: str) -> float:
    return float(frame.truth[frame.sensor_ids.index(sensor_id)])


def dma_inflow_m3s(layout: UtilityLayout, frame: SensorFrame, dma_id: str) -> float:
    dma = next(d for d in layout.dmas if d.id == dma_id)
    return sum(i.sign * truth(frame, f"Q-{i.link_id}") for i in dma.inlets)


def test_a_burst_raises_the_dma_inflow_and_lowers_pressure_nearby(layout: UtilityLayout) -> None:
    dma = layout.dma_of("JUNCTION-75")
    assert dma is not None
    _, calm = run(layout, 2)
    sim, burst = run(layout, 2, IncidentRequest(IncidentType.PIPE_BURST, "JUNCTION-75",
                                                0.003, duration_s=3600), first_step=True)
    before, during, after = 0, 6, 18  # t = 0, 30 min, 90 min (repaired at 65 min)
    assert truth(burst[before], "P-JUNCTION-75") == pytest.approx(
        truth(calm[before], "P-JUNCTION-75"), abs=1e-9)
    extra_m3s = dma_inflow_m3s(layout, burst[during], dma.id) - dma_inflow_m3s(
        layout, calm[during], dma.id)
    # an orifice of 30 cm² at ~50-60 m loses ~50-55 L/s
    assert 0.03 < extra_m3s < 0.08
    drop_m = truth(calm[during], "P-JUNCTION-75") - truth(burst[during], "P-JUNCTION-75")
    assert drop_m > 5.0  # a logger at the burst
    # a pressure logger farther away drops less
    far = f"P-{next(d for d in layout.dmas if d.id != dma.id).critical_node}"
    assert truth(calm[during], far) - truth(burst[during], far) < drop_m / 4
    assert abs(dma_inflow_m3s(layout, burst[after], dma.id)
               - dma_inflow_m3s(layout, calm[after], dma.id)) < 0.005
    record = sim.book.incidents[0]
    assert (record.type, record.element, record.start_s, record.end_s, record.size) == (
        IncidentType.PIPE_BURST, "JUNCTION-75", 300, 3900, 0.003)


def test_a_background_leak_grows(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, QUIET) as sim:
        sim.inject(IncidentRequest(IncidentType.BACKGROUND_LEAK, "JUNCTION-1000", 1e-3))
        node = sim.engine.node_index("JUNCTION-1000") - 1
        leak = []
        for _ in range(4):
            sim.run_for(3600)
            leak.append(sim.models.main.node_values("emitter_flow")[node])
    assert leak[0] > 0
    assert all(b > a for a, b in itertools.pairwise(leak))


def test_a_booster_failure_lowers_that_buildings_pressure(layout: UtilityLayout) -> None:
    _, calm = run(layout, 1)
    _, failed = run(layout, 1, IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR02"))
    assert truth(calm[-1], "P-PR02-HIGHZONE") > 15.0
    assert truth(failed[-1], "P-PR02-HIGHZONE") < truth(calm[-1], "P-PR02-HIGHZONE") - 15.0
    assert truth(failed[-1], "S-PR02-P1") == 0.0 and truth(failed[-1], "Q-PR02-P1") == 0.0
    # the other buildings do not notice
    assert truth(failed[-1], "P-PR01-HIGHZONE") == pytest.approx(
        truth(calm[-1], "P-PR01-HIGHZONE"), abs=0.5)


@pytest.mark.slow
def test_a_pump_trip_holds_against_its_controls(layout: UtilityLayout) -> None:
    pump = "PUMP-3829"  # a booster with tank-level controls that would restart it
    _, tripped = run(layout, 12, IncidentRequest(IncidentType.PUMP_TRIP, pump, duration_s=8 * 3600))
    statuses = [truth(f, f"S-{pump}") for f in tripped]
    flows = [truth(f, f"Q-{pump}") for f in tripped]
    assert all(s == 0.0 for s in statuses[:96]) and all(q == 0.0 for q in flows[:96])
    _, calm = run(layout, 12)
    assert any(truth(f, f"S-{pump}") == 1.0 for f in calm[:96])


def test_a_prv_failure_raises_downstream_pressure(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, QUIET) as calm_sim, VirtualUtility(layout, QUIET) as sim:
        sim.inject(IncidentRequest(IncidentType.PRV_FAILURE, "VALVE-3890"))
        for s in (calm_sim, sim):
            s.run_for(3600)
        node = sim.engine.node_index(str(sim.net.valves.at["VALVE-3890", "node2"])) - 1
        calm = calm_sim.models.main.node_values("pressure")[node]
        failed = sim.models.main.node_values("pressure")[node]
    assert failed > calm + 1.0


@pytest.mark.slow
def test_a_tracer_reaches_downstream_sensors_in_the_order_the_model_predicts(
    layout: UtilityLayout,
) -> None:
    source, hours = "JUNCTION-0", 12  # just downstream of the high-lift pumps
    config = SimulatorConfig(sensor_noise=False, dma_demand_noise=0.0, node_demand_noise=0.0)
    _, frames = run(layout, hours,
                    IncidentRequest(IncidentType.CONTAMINATION, source, 100.0), config=config)
    ec = [s for s in frames[0].sensor_ids if s.startswith("EC-") and s != "EC-WTP1-CLEARWELL"]
    arrival: dict[str, int] = {}
    for frame in frames:
        for sensor_id in ec:
            rise = truth(frame, sensor_id) - CONDUCTIVITY_BASE_US_CM
            if sensor_id not in arrival and rise > 1.0 / 0.65:  # 1 mg/L of tracer
                arrival[sensor_id] = frame.time_s
    assert len(arrival) >= 4, arrival
    # the model's prediction: EPANET's trace of the water leaving the source junction
    predicted = simulate(demo_network_path(), duration_s=hours * 3600, hydraulic_step_s=300,
                         report_step_s=300, quality=Trace(source))
    share = predicted.node["quality"]
    expected = {}
    for sensor_id in arrival:
        reached = share.index[share[sensor_id.removeprefix("EC-")].to_numpy() > 0.01]
        assert len(reached), f"{sensor_id} is reached in the simulator but not in the model"
        expected[sensor_id] = int(reached[0])
    # every pair the model separates by more than 30 min arrives in that order
    pairs = [(a, b) for a in arrival for b in arrival if expected[b] - expected[a] > 1800]
    assert pairs
    for a, b in pairs:
        assert arrival[a] < arrival[b], (a, arrival[a], b, arrival[b])


def test_loss_of_chlorine_lowers_downstream_chlorine(layout: UtilityLayout) -> None:
    # pipes start without chlorine, so what the analysers read came from the plant
    fresh = SimulatorConfig(sensor_noise=False, dma_demand_noise=0.0, node_demand_noise=0.0,
                            tracer=False, initial_chlorine_mg_l=0.0)
    _, calm = run(layout, 8, config=fresh)
    _, lost = run(layout, 8, IncidentRequest(IncidentType.CHLORINE_LOSS, "WTP1", 0.0),
                  config=fresh)
    chlorine = [s for s in calm[-1].sensor_ids if s.startswith("CL-")]
    dosed = [s for s in chlorine if truth(calm[-1], s) > 0.3]
    assert len(dosed) >= 3, dosed
    for sensor_id in dosed:
        assert truth(lost[-1], sensor_id) < truth(calm[-1], sensor_id) - 0.25, sensor_id


@pytest.mark.slow
def test_a_source_outage_drains_the_clearwell_unless_the_backup_starts(
    layout: UtilityLayout,
) -> None:
    def outage(backup_after: str) -> list[SensorFrame]:
        request = IncidentRequest(IncidentType.SOURCE_OUTAGE, "RES-SHUIKU",
                                  parameters={"backup_after_s": backup_after})
        return run(layout, 6, request)[1]

    never, backed = outage("never"), outage("1800")
    level = "L-WTP1-CLEARWELL"
    assert truth(never[-1], level) < truth(never[0], level) - 1.5
    assert truth(never[-1], "Q-TM-053") == pytest.approx(0.0, abs=1e-6)
    assert truth(backed[-1], level) > truth(never[-1], level) + 1.0
    assert truth(backed[-1], "Q-PS-RIVER-P1") > 0.3  # the river intake carries the plant
    assert truth(backed[5], "Q-PS-RIVER-P1") == pytest.approx(0.0, abs=1e-6)  # not before 30 min


def test_sensor_faults_stuck_and_drift(layout: UtilityLayout) -> None:
    config = SimulatorConfig(dropout_probability=0.0, outage_rate_per_day=0.0, tracer=False)
    stuck_id, drift_id = "P-JUNCTION-288", "L-WTP1-CLEARWELL"
    with VirtualUtility(layout, config) as sim:
        sim.inject(IncidentRequest(IncidentType.SENSOR_STUCK, stuck_id))
        sim.inject(IncidentRequest(IncidentType.SENSOR_DRIFT, drift_id, 2.0))
        frames: list[SensorFrame] = []
        sim.run_for(6 * 3600, on_frame=frames.append)
    stuck = [f.values[f.sensor_ids.index(stuck_id)] for f in frames]
    assert len(set(stuck)) == 1
    assert len({truth(f, stuck_id) for f in frames}) > 10  # the pressure itself moved
    last = frames[-1]
    error = last.values[last.sensor_ids.index(drift_id)] - truth(last, drift_id)
    assert error == pytest.approx(2.0 * 6 / 24, abs=0.05)  # 2 m/day for 6 h, plus noise


def test_requests_that_do_not_fit_are_refused(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, QUIET) as sim:
        for spec, message in (
            ("pipe_burst:PUMP-3830", "must be a junction"),
            ("pump_trip:JUNCTION-288", "must be a pump"),
            ("booster_failure:PR09", "must be a pump room"),
            ("prv_failure:TWN-FCV", "must be a PRV"),
            ("sensor_stuck:P-NOWHERE", "must be a sensor id"),
            ("source_outage:RES-RIVER", "must be a main source"),
        ):
            with pytest.raises(IncidentError, match=message):
                sim.inject(parse_incident_spec(spec))
        assert sim.book.incidents == []
    for bad, message in (("pipe_burst", "TYPE:ELEMENT"), ("flood:J1", "unknown type"),
                         ("pipe_burst:J1:big", "not a number"), ("pipe_burst:J1:-1", ">= 0")):
        with pytest.raises(IncidentError, match=message):
            parse_incident_spec(bad)


def test_ground_truth_csv(layout: UtilityLayout) -> None:
    sim, _ = run(layout, 1, parse_incident_spec("pipe_burst:JUNCTION-288:0.002"),
                 IncidentRequest(IncidentType.PUMP_TRIP, "PUMP-3829", duration_s=1800))
    lines = sim.book.csv_text(sim.epoch).splitlines()
    assert lines[0] == "id,type,element,start,end,start_s,end_s,size,size_unit,parameters"
    assert lines[1].startswith("INC-0001,pipe_burst,JUNCTION-288,2025-12-31T16:00:00+00:00,,0,,")
    assert ",0.002,m2," in lines[1]
    assert lines[2].startswith("INC-0002,pump_trip,PUMP-3829,2025-12-31T16:00:00+00:00,"
                               "2025-12-31T16:30:00+00:00,0,1800,")


def test_random_incidents_are_seeded(layout: UtilityLayout) -> None:
    config = SimulatorConfig(random_incidents_per_day=24.0, tracer=False)
    books = [run(layout, 3, config=config)[0].book.incidents for _ in range(2)]
    assert books[0] == books[1]
    assert len(books[0]) >= 1
    assert np.all([i.start_s > 0 for i in books[0]])


def test_an_incident_ended_early_is_undone_and_recorded(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, QUIET) as sim:
        incident = sim.inject(IncidentRequest(IncidentType.PIPE_BURST, "JUNCTION-75", 0.003))
        sim.run_for(3600)
        node = sim.engine.node_index("JUNCTION-75") - 1
        assert sim.models.main.node_values("emitter_flow")[node] > 0.03
        assert [i.id for i in sim.open_incidents] == [incident.id]
        ended = sim.end_incident(incident.id)
        assert ended.end_s == 3900
        sim.run_for(600)
        assert sim.models.main.node_values("emitter_flow")[node] == 0.0
        assert sim.open_incidents == []
        assert sim.book.incidents[0].end_s == 3900
        with pytest.raises(IncidentError, match="no incident"):
            sim.end_incident(incident.id)
        leak = sim.inject(IncidentRequest(IncidentType.BACKGROUND_LEAK, "JUNCTION-75", 1e-4))
        with pytest.raises(IncidentError, match=f"incident {leak.id} is under way there"):
            sim.inject(IncidentRequest(IncidentType.PIPE_BURST, "JUNCTION-75", 0.003))
    # a data set's ground truth leaves the end empty for what still runs when the data end
    lines = sim.book.csv_text(sim.epoch, until_s=3600).splitlines()
    assert lines[1].startswith("INC-0001,pipe_burst,JUNCTION-75,2025-12-31T16:00:00+00:00,,0,,")
