"""The stepper reads tank levels as they are (not the initial ones), forces measured levels
and sets demands directly (flat patterns), and gives the engine back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from waterops.errors import SimulationError
from waterops.hydraulics import EpanetEngine, simulate
from waterops.hydraulics.stepper import NetworkStepper

TANKS = ["1", "2", "3"]


def test_tank_levels_are_read_as_they_change(net3_path: Path) -> None:
    """Net3 is in US units: levels come in metres, equal to the tanks' pressure head of a
    full run, and move (EN_TANKLEVEL would give the initial level all along)."""
    full = simulate(net3_path, duration_s=6 * 3600, hydraulic_step_s=900, report_step_s=900)
    with EpanetEngine.open(net3_path) as engine, NetworkStepper(engine, step_s=900,
                                                                quality=None) as stepper:
        tanks = stepper.node_indices(TANKS)
        levels = []
        for row, time_s in enumerate(full.time_s):
            stepper.advance_to(int(time_s))
            levels.append(stepper.node_values("level")[tanks])
            np.testing.assert_allclose(levels[-1], full.node["pressure"][TANKS].to_numpy()[row],
                                       atol=1e-4)
        junction = stepper.node_indices(["10"])
        assert stepper.node_values("level")[junction][0] == 0.0
    assert np.ptp(np.array(levels), axis=0).min() > 0.05  # [m]: every tank moved


def test_a_forced_tank_level_is_moved_by_the_next_step_and_restored(net3_path: Path) -> None:
    with EpanetEngine.open(net3_path) as engine:
        with NetworkStepper(engine, step_s=900, quality=None) as free:
            free.advance_to(7 * 900)
            before = free.node_values("level")[free.node_indices(["1"])][0]
            free.advance_to(8 * 900)
            natural_step = free.node_values("level")[free.node_indices(["1"])][0] - before
        with NetworkStepper(engine, step_s=900, quality=None) as stepper:
            stepper.advance_to(7 * 900)
            stepper.set_tank_level("1", 5.0)
            stepper.advance_to(8 * 900)
            level = stepper.node_values("level")[stepper.node_indices(["1"])][0]
            assert level == pytest.approx(5.0 + natural_step, abs=0.02)
            stepper.set_tank_level("1", 1e6)  # a reading past the top: kept at the top
            with pytest.raises(SimulationError, match="not a tank"):
                stepper.set_tank_level("10", 3.0)
        again = engine.run(duration_s=3600)
    reference = simulate(net3_path, duration_s=3600)
    np.testing.assert_array_equal(again.node["pressure"].to_numpy(),
                                  reference.node["pressure"].to_numpy())


def test_cleared_demand_patterns_make_the_base_demand_the_demand(net3_path: Path) -> None:
    with EpanetEngine.open(net3_path) as engine:
        with NetworkStepper(engine, step_s=3600, quality=None) as stepper:
            junctions = stepper.node_indices(["101", "123", "15"])
            base = stepper.base_demands_m3s(junctions)
            stepper.clear_demand_patterns(junctions)
            wanted = np.array([0.004, 0.002, 0.03])
            for hour in (1, 7, 13):
                stepper.set_base_demands(junctions, wanted)
                stepper.advance_to(hour * 3600)
                np.testing.assert_allclose(stepper.node_values("demand")[junctions], wanted,
                                           rtol=1e-6)
            stepper.set_base_demands(junctions, base)  # base demands are the caller's to undo
        # the patterns are the stepper's: a full run afterwards is the file's again
        again = engine.run(duration_s=6 * 3600)
    reference = simulate(net3_path, duration_s=6 * 3600)
    np.testing.assert_array_equal(again.node["demand"].to_numpy(),
                                  reference.node["demand"].to_numpy())
