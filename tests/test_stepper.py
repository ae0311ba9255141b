"""The incremental stepper equals a full run when nothing changes, and takes changes mid-run."""

from __future__ import annotations

import numpy as np
import pytest

from waterops.data import demo_network_path
from waterops.errors import EngineError, SimulationError, UnknownElementError
from waterops.hydraulics import Chemical, EpanetEngine, PressureDriven, simulate
from waterops.hydraulics.stepper import NetworkStepper

CHLORINE_AS_IN_FILE = Chemical("Chlorine", bulk_coeff_per_day=None, wall_coeff_per_day=None)


@pytest.mark.parametrize("step_s", [300, 3600])
def test_stepper_equals_a_full_run_at_report_times(step_s: int) -> None:
    path = demo_network_path()
    duration_s = 12 * 3600
    full = simulate(path, duration_s=duration_s, hydraulic_step_s=step_s,
                    report_step_s=step_s, quality=CHLORINE_AS_IN_FILE)
    with EpanetEngine.open(path) as engine, NetworkStepper(engine, step_s=step_s) as stepper:
        assert stepper.time_s is None
        for row, time_s in enumerate(full.time_s):
            assert stepper.advance_to(int(time_s)) == time_s
            for name, ours in (("pressure", stepper.node_values("pressure")),
                               ("head", stepper.node_values("head")),
                               ("demand", stepper.node_values("demand")),
                               ("quality", stepper.node_values("quality"))):
                np.testing.assert_allclose(ours, full.node[name].to_numpy()[row], rtol=0,
                                           atol=1e-6, err_msg=f"{name} at {time_s} s")
            np.testing.assert_allclose(stepper.link_values("flow"),
                                       full.link["flowrate"].to_numpy()[row], rtol=0, atol=1e-9)
    # chlorine has left the plant by the end: the comparison was not of zeros only
    assert full.node["quality"].to_numpy()[-1].max() > 0.5


def test_a_closed_pump_stops_from_the_next_step_and_the_engine_is_restored() -> None:
    path = demo_network_path()
    with EpanetEngine.open(path) as engine:
        pump = engine.link_index("PR01-P1") - 1
        with NetworkStepper(engine, step_s=300, quality=None) as stepper:
            stepper.advance_to(3600)
            assert stepper.link_values("flow")[pump] > 0.001
            stepper.set_link_status("PR01-P1", open_=False)
            stepper.advance()
            assert stepper.time_s == 3900
            assert stepper.link_values("flow")[pump] == 0.0
            with pytest.raises(SimulationError, match="cannot step back"):
                stepper.advance_to(600)
            with pytest.raises(UnknownElementError, match="NO-SUCH-PUMP"):
                stepper.set_link_status("NO-SUCH-PUMP", open_=False)
        # the stepper gave back the file's steps and pressure unit: a full run is unchanged
        again = engine.run(duration_s=3600)
    reference = simulate(path, duration_s=3600)
    np.testing.assert_array_equal(again.node["pressure"].to_numpy(),
                                  reference.node["pressure"].to_numpy())


def test_emitter_and_source_quality_set_mid_run() -> None:
    with EpanetEngine.open(demo_network_path()) as engine, \
            NetworkStepper(engine, step_s=300) as stepper:
        node = engine.node_index("JUNCTION-288") - 1
        with pytest.raises(EngineError, match="not solved yet"):
            stepper.node_values("pressure")
        stepper.advance_to(600)
        assert stepper.node_values("emitter_flow")[node] == 0.0
        stepper.set_emitter("JUNCTION-288", 0.01)
        assert stepper.emitter_coeff("JUNCTION-288") == pytest.approx(0.01)
        stepper.advance()
        pressure_m = stepper.node_values("pressure")[node]
        # Q = C·p^0.5 with C in m³/s per m^0.5
        assert stepper.node_values("emitter_flow")[node] == pytest.approx(
            0.01 * np.sqrt(pressure_m), rel=5e-3)  # EPANET converges to ACCURACY 0.001
        # what the customers get excludes the leak: demand = consumers + emitter
        consumers = stepper.node_values("consumer_demand")[node]
        assert 0.0 < consumers < stepper.node_values("demand")[node]
        assert consumers + stepper.node_values("emitter_flow")[node] == pytest.approx(
            stepper.node_values("demand")[node], rel=1e-9)
        assert stepper.source_quality("WTP1-CLEARWELL") == pytest.approx(1.0)
        stepper.set_source_quality("WTP1-CLEARWELL", 0.0)
        assert stepper.source_quality("WTP1-CLEARWELL") == 0.0


def test_initial_quality_and_pressure_driven_demand() -> None:
    with EpanetEngine.open(demo_network_path()) as engine:
        with NetworkStepper(engine, step_s=300, initial_quality=0.6,
                            pressure_driven=PressureDriven(0.0, 10.0, 0.5)) as stepper:
            stepper.advance_to(0)
            junctions = stepper.node_indices(["JUNCTION-288", "PR01-HIGHZONE"])
            np.testing.assert_allclose(stepper.node_values("quality")[junctions], 0.6)
            # a high zone without its booster gets no water under PDA (DDA would pull it
            # through at an absurd negative pressure)
            stepper.set_link_status("PR01-P1", open_=False)
            stepper.advance()
            zone = engine.node_index("PR01-HIGHZONE") - 1
            assert stepper.node_values("demand")[zone] == pytest.approx(0.0, abs=1e-6)
            assert stepper.node_values("pressure")[zone] < 0
        # the file's own settings are back: initial quality 0, demand-driven
        again = engine.run(duration_s=0, quality=CHLORINE_AS_IN_FILE)
    assert again.node["quality"].to_numpy().max() == 0.0
