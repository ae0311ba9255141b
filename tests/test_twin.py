"""The digital twin follows the demo utility.

The "truth" is the demo network stepped by the incremental stepper (H8's
``NetworkStepper``), changed on the way by each test (a DMA using 30 % more water, a burst),
and read through the demo utility's sensor layout; the twin gets only those readings. The
truth and the twin share nothing but the network file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from waterops.data import demo_network_path
from waterops.errors import ConfigError, SimulationError
from waterops.hydraulics import EpanetEngine, WaterAge, simulate
from waterops.hydraulics.stepper import NetworkStepper
from waterops.model.telemetry import QualityFlag, Quantity, Reading, Sensor
from waterops.model.utility import Dma, MeteredInlet, UtilityLayout
from waterops.service.twin import Twin, TwinSettings, readings_from_latest
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore

STEP_S = 300
Change = Callable[[NetworkStepper, int], None]
"""Called after the truth is solved at each step time [s]; acts from the next solve."""


@dataclass
class Truth:
    """Sensor readings and every node's pressure (time x id), total leak outflow (time)."""

    readings: pd.DataFrame
    pressure_m: pd.DataFrame
    leak_m3s: pd.Series

    def at(self, time_s: int) -> dict[str, float]:
        return {k: float(v) for k, v in self.readings.loc[time_s].items()}


def run_truth(layout: UtilityLayout, duration_s: int, change: Change | None = None) -> Truth:
    """Step the demo network from 0 to ``duration_s`` [s], recording the layout's sensors.

    Tank levels are read as the tank's pressure (head − bottom elevation): the toolkit's
    level property is the *initial* level.
    """
    sensors = [s for s in layout.sensors if s.element_id is not None]
    with EpanetEngine.open(demo_network_path()) as engine, NetworkStepper(
        engine, step_s=STEP_S, quality=None
    ) as stepper:
        node_ids = engine.node_ids
        node_pos = {n: i for i, n in enumerate(node_ids)}
        link_pos = {k: i for i, k in enumerate(engine.link_ids)}
        rows, pressures, leaks, times = [], [], [], []
        for t in range(0, duration_s + 1, STEP_S):
            stepper.advance_to(t)
            pressure = stepper.node_values("pressure")
            demand = stepper.node_values("demand")
            flow = stepper.link_values("flow")
            status = stepper.link_values("status")
            row = {}
            for s in sensors:
                e = str(s.element_id)
                if s.quantity in (Quantity.PRESSURE, Quantity.LEVEL):
                    row[s.id] = pressure[node_pos[e]]
                elif s.quantity == Quantity.FLOW and s.element_kind == "node":
                    row[s.id] = demand[node_pos[e]]
                elif s.quantity == Quantity.FLOW:
                    row[s.id] = flow[link_pos[e]]
                elif s.quantity == Quantity.PUMP_STATUS:
                    row[s.id] = float(status[link_pos[e]] >= 1.0)
            rows.append(row)
            pressures.append(pressure)
            leaks.append(float(stepper.node_values("emitter_flow").sum()))
            times.append(t)
            if change is not None:
                change(stepper, t)
    index = pd.Index(times, name="time_s")
    return Truth(
        pd.DataFrame(rows, index=index),
        pd.DataFrame(np.array(pressures), index=index, columns=node_ids),
        pd.Series(leaks, index=index),
    )


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


@pytest.fixture(scope="module")
def plain_truth(layout: UtilityLayout) -> Truth:
    return run_truth(layout, 3 * 3600)


@pytest.fixture(scope="module")
def scaled_truth(layout: UtilityLayout) -> Truth:
    """3 h in which DMA-03 uses 30 % more water than its pattern says."""
    return run_truth(layout, 3 * 3600, scale_dma(dma_by_id(layout, "DMA-03"), 1.3))


def scale_dma(dma: Dma, factor: float, at_s: int = 0) -> Change:
    """A change that makes a DMA use ``factor`` times its pattern demand from ``at_s`` on."""

    def change(stepper: NetworkStepper, t: int) -> None:
        if t == at_s:
            positions = stepper.node_indices(list(dma.junctions))
            stepper.set_base_demands(positions, stepper.base_demands_m3s(positions) * factor)

    return change


def burst(node_id: str, coeff_si: float, at_s: int) -> Change:
    def change(stepper: NetworkStepper, t: int) -> None:
        if t == at_s:
            stepper.set_emitter(node_id, coeff_si)

    return change


def dma_by_id(layout: UtilityLayout, dma_id: str) -> Dma:
    return next(d for d in layout.dmas if d.id == dma_id)


def net_inflow(layout: UtilityLayout, dma: Dma, values: pd.Series) -> float:
    """Σ sign x value over a DMA's inlet flow sensors."""
    sensors = {s.element_id: s.id for s in layout.sensors
               if s.quantity == Quantity.FLOW and s.element_kind == "link"}
    return float(sum(i.sign * values[sensors[i.link_id]] for i in dma.inlets))


# ---------------------------------------------------------------------------- following


def test_perfect_measurements_give_the_true_pressures_everywhere(
    layout: UtilityLayout, plain_truth: Truth
) -> None:
    with Twin.from_layout(layout) as twin:
        for t in plain_truth.readings.index:
            state = twin.update(t, plain_truth.at(t))
            error = (state.pressure_m - plain_truth.pressure_m.loc[t]).abs()
            assert error.max() < 0.02, f"t = {t} s: {error.idxmax()} off by {error.max():.4f} m"
        modelled = state.residuals
        assert set(modelled["quantity"]) == {"pressure", "flow", "level"}
        assert modelled["residual"].abs().max() < 0.02
        assert np.allclose(state.dma["multiplier"], 1.0, atol=1e-3)
        assert state.dma["estimated"].all()
        # every pump has a status sensor: the file's pump controls no longer switch them
        assert any(c.startswith("control") for c in state.released_controls)
        assert "rule WTP1-PRODUCTION-HIGH" in state.released_controls  # FCV metered


def test_a_dma_using_30_percent_more_water_gets_multiplier_1_3(
    layout: UtilityLayout, scaled_truth: Truth
) -> None:
    dma, truth = dma_by_id(layout, "DMA-03"), scaled_truth
    with Twin.from_layout(layout) as twin:
        for t in truth.readings.index:
            state = twin.update(t, truth.at(t))
    multipliers = state.dma["multiplier"]
    assert multipliers[dma.id] == pytest.approx(1.3, abs=0.01)
    assert state.dma.loc[dma.id, "raw_multiplier"] == pytest.approx(1.3, abs=0.01)
    others = multipliers.drop(dma.id)
    assert np.allclose(others, 1.0, atol=0.01), others[(others - 1.0).abs() > 0.01]
    error = (state.pressure_m - truth.pressure_m.iloc[-1]).abs()
    assert error.max() < 0.05


def test_noisy_meters_still_give_about_1_3(
    layout: UtilityLayout, scaled_truth: Truth
) -> None:
    dma, truth = dma_by_id(layout, "DMA-03"), scaled_truth
    rng = np.random.default_rng(11)
    kinds = {s.id: s.quantity for s in layout.sensors}
    with Twin.from_layout(layout) as twin:
        estimates = []
        for t in truth.readings.index:
            readings = truth.at(t)
            for sensor_id, value in readings.items():
                if kinds[sensor_id] == Quantity.FLOW:  # meters ±0.5 %
                    readings[sensor_id] = value * (1 + rng.normal(0, 0.005))
                elif kinds[sensor_id] in (Quantity.PRESSURE, Quantity.LEVEL):
                    readings[sensor_id] = value + rng.normal(0, 0.02)
            estimates.append(twin.update(t, readings).dma.loc[dma.id, "multiplier"])
    assert np.mean(estimates[-12:]) == pytest.approx(1.3, abs=0.03)


def test_with_a_fifth_of_the_sensors_dropped_it_runs_and_stays_close(
    layout: UtilityLayout, scaled_truth: Truth
) -> None:
    dma, truth = dma_by_id(layout, "DMA-03"), scaled_truth
    rng = np.random.default_rng(5)
    errors = []
    with Twin.from_layout(layout) as twin:
        for t in truth.readings.index:
            readings = truth.at(t)
            kept = {k: v for k, v in readings.items() if rng.random() >= 0.2}
            state = twin.update(t, kept)
            errors.append((state.pressure_m - truth.pressure_m.loc[t]).abs())
            dropped = state.residuals.loc[~state.residuals.index.isin(list(kept))]
            assert dropped["measured"].isna().all() and dropped["model"].notna().all()
    last_hour = pd.concat(errors[-12:])
    assert last_hour.median() < 0.05
    assert last_hour.quantile(0.99) < 1.0
    assert not state.dma["estimated"].all()  # some DMA missed an inlet meter at the end
    assert state.dma.loc[dma.id, "multiplier"] == pytest.approx(1.3, abs=0.05)


def test_a_stuck_level_sensor_flagged_flatline_is_not_trusted(
    layout: UtilityLayout, plain_truth: Truth
) -> None:
    sensor_id = "L-WTP1-CLEARWELL"
    assert layout.sensor(sensor_id).quantity == Quantity.LEVEL
    with Twin.from_layout(layout) as twin:
        for t in plain_truth.readings.index:
            readings: dict[str, float | tuple[float, int] | Reading] = dict(plain_truth.at(t))
            if t >= 3600:
                readings[sensor_id] = (1.0, int(QualityFlag.FLATLINE))  # stuck at 1 m
            state = twin.update(t, readings)
    row = state.residuals.loc[sensor_id]
    true_level = plain_truth.readings[sensor_id].iloc[-1]
    assert not row["trusted"] and np.isnan(row["residual"])
    assert row["model"] == pytest.approx(true_level, abs=0.05)  # the model's own level
    assert state.tank_level_m["WTP1-CLEARWELL"] == pytest.approx(true_level, abs=0.05)


# ---------------------------------------------------------------------------- incidents


def _burst_node(dma: Dma) -> str:
    """A junction of the DMA next to its critical point (a pressure logger)."""
    with EpanetEngine.open(demo_network_path()) as engine:
        import epanet.toolkit as tk

        ph = engine.handle
        critical = engine.node_index(dma.critical_node)
        for link in range(1, len(engine.link_ids) + 1):
            a, b = tk.getlinknodes(ph, link)
            other = b if a == critical else a if b == critical else None
            if other is not None and engine.node_ids[other - 1] in dma.junctions:
                return engine.node_ids[other - 1]
    raise AssertionError(f"no neighbour of {dma.critical_node} in {dma.id}")


def test_a_burst_shows_at_its_dma_inlets_and_nearby_pressure(layout: UtilityLayout) -> None:
    dma = dma_by_id(layout, "DMA-02")  # small pipes: a burst there is felt around it
    node = _burst_node(dma)
    start_s = 2 * 3600
    truth = run_truth(layout, 3 * 3600, burst(node, 0.003, start_s))
    plain = run_truth(layout, 3 * 3600)
    first = start_s + STEP_S  # the first reading with the burst
    burst_m3s = truth.leak_m3s.loc[first]
    assert burst_m3s > 0.01  # a real burst: > 10 L/s

    def follow(source: Truth) -> dict[int, pd.DataFrame]:
        with Twin.from_layout(layout) as twin:
            return {t: twin.update(t, source.at(t)).residuals for t in source.readings.index}

    with_burst, without = follow(truth), follow(plain)
    innovation = net_inflow(layout, dma, with_burst[first]["innovation"])
    baseline = net_inflow(layout, dma, without[first]["innovation"])
    assert innovation == pytest.approx(burst_m3s, rel=0.1)
    assert abs(baseline) < 0.05 * burst_m3s
    # the pressure logger beside the burst reads lower than the twin expects, and stays so
    # once the twin has spread the extra demand over the whole DMA
    logger = f"P-{dma.critical_node}"
    assert with_burst[first].loc[logger, "innovation"] < -1.0
    assert with_burst[first].loc[logger, "z"] < -5
    assert abs(without[first].loc[logger, "innovation"]) < 0.01
    later = truth.readings.index[-1]
    assert with_burst[later].loc[logger, "residual"] < -0.5
    assert abs(without[later].loc[logger, "residual"]) < 0.01


def test_a_pump_trip_is_followed_from_its_status_sensor(layout: UtilityLayout) -> None:
    room = layout.pump_rooms[0]
    pump = room.duty_pumps[0]

    def trip(stepper: NetworkStepper, t: int) -> None:
        if t == 3600:
            stepper.set_link_status(pump, open_=False)

    truth = run_truth(layout, 2 * 3600, trip)
    with Twin.from_layout(layout) as twin:
        for t in truth.readings.index:
            state = twin.update(t, truth.at(t))
            error = (state.pressure_m - truth.pressure_m.loc[t]).abs()
            assert error.max() < 0.02, f"t = {t} s: {error.idxmax()} off by {error.max():.4f} m"
    # the building's high zone lost its pressure, in the truth and in the twin
    assert state.pressure_m[room.served_node] < 0.5 * truth.pressure_m[room.served_node].iloc[0]


# ---------------------------------------------------------------------------- state


@pytest.mark.slow
def test_water_age_and_source_shares_follow_epanet(layout: UtilityLayout) -> None:
    day_s = 86400
    truth = run_truth(layout, day_s + 3600)
    reference = simulate(demo_network_path(), duration_s=day_s + 3600, hydraulic_step_s=STEP_S,
                         report_step_s=STEP_S, quality=WaterAge())
    settings = TwinSettings(warmup_s=day_s)
    with Twin.from_layout(layout, settings=settings) as twin:
        for t in range(day_s, day_s + 3601, STEP_S):
            state = twin.update(t, truth.at(t))
    assert state.water_age_s is not None and state.source_share is not None
    age = reference.node["quality"].loc[day_s + 3600]
    junctions = [n for n in age.index if not n.startswith(("RES-", "TANK-", "PR", "TWN-TANK"))]
    assert (state.water_age_s[junctions] - age[junctions]).abs().median() < 60.0
    shares = state.source_share
    assert list(shares.columns) == ["RES-SHUIKU", "RES-RIVER"]
    assert ((shares >= -1e-9) & (shares <= 1 + 1e-9)).all().all()
    city = [n for n in shares.index if n.startswith("JUNCTION-")]
    assert shares.loc[city, "RES-RIVER"].max() < 1e-6  # the river pumps never ran
    assert shares.loc["RES-RIVER", "RES-RIVER"] == 1.0
    # the reservoir supplied everything at the start: its water fills the city
    assert shares.loc[city, "RES-SHUIKU"].min() > 0.999


def test_hydraulics_only_twin_has_no_quality_tables(
    layout: UtilityLayout, plain_truth: Truth
) -> None:
    settings = TwinSettings(water_age=False, source_shares=False, interval_s=900)
    with Twin.from_layout(layout, settings=settings) as twin:
        for t in (0, 900, 1800):
            state = twin.update(t, plain_truth.at(t))
    assert state.water_age_s is None and state.source_share is None
    error = (state.pressure_m - plain_truth.pressure_m.loc[1800]).abs()
    assert error.max() < 0.02


def test_driven_from_the_store(layout: UtilityLayout, plain_truth: Truth, tmp_path) -> None:
    epoch = datetime(2026, 11, 23, tzinfo=UTC)
    with TelemetryStore.open(f"sqlite:///{tmp_path / 'twin.db'}") as store:
        store.upsert_systems(layout.systems)
        store.upsert_sites(layout.sites)
        store.upsert_sensors(layout.sensors)
        with Twin.from_layout(layout) as twin:
            for t in plain_truth.readings.index[:4]:
                now = epoch + timedelta(seconds=int(t))
                row = plain_truth.readings.loc[t]
                store.write_readings(Reading(str(k), now, float(v)) for k, v in row.items())
                if t == plain_truth.readings.index[3]:  # one sensor falls silent
                    store.write_readings([])
                readings = readings_from_latest(store.latest(), now, max_age_s=STEP_S)
                state = twin.update(t, readings)
    error = (state.pressure_m - plain_truth.pressure_m.loc[state.time_s]).abs()
    assert error.max() < 1e-3


def test_stale_store_readings_count_as_dropped() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    latest = pd.DataFrame({
        "sensor_id": ["P-1", "P-2"],
        "time": [now - timedelta(seconds=60), now - timedelta(seconds=3600)],
        "value": [30.0, 31.0],
        "flags": [0, int(QualityFlag.SPIKE)],
    })
    assert readings_from_latest(latest, now, max_age_s=600) == {"P-1": (30.0, 0)}
    assert readings_from_latest(latest, now, max_age_s=7200)["P-2"] == (31.0, 4)


# ---------------------------------------------------------------------------- errors


def test_time_cannot_go_backwards(layout: UtilityLayout, plain_truth: Truth) -> None:
    with Twin.from_layout(layout) as twin:
        twin.update(600, plain_truth.at(600))
        with pytest.raises(SimulationError, match="backwards"):
            twin.update(300, plain_truth.at(300))


def test_a_dma_inlet_that_is_not_on_its_boundary_is_refused(layout: UtilityLayout) -> None:
    dma = dma_by_id(layout, "DMA-08")
    inside = next(
        s.element_id for s in layout.sensors
        if s.quantity == Quantity.FLOW and s.element_kind == "link"
        and s.element_id not in {i.link_id for i in dma.inlets}
    )
    wrong = Dma(dma.id, dma.system_id, dma.junctions,
                (*dma.inlets, MeteredInlet(str(inside), 1)), dma.pressure_node,
                dma.critical_node)
    with pytest.raises(ConfigError, match=f"{dma.id}: inlet {inside} does not cross"):
        Twin(demo_network_path(), layout.sensors, [wrong])


def test_overlapping_dmas_are_refused(layout: UtilityLayout) -> None:
    dma = dma_by_id(layout, "DMA-08")
    with pytest.raises(ConfigError, match="both hold junction"):
        Twin(demo_network_path(), layout.sensors, [dma, dma])


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="uncertainties"):
        TwinSettings(multiplier_sd_per_hour=0.0)
    with pytest.raises(ConfigError, match="accuracy"):
        TwinSettings(flow_meter_accuracy=(-1.0, 0.0))
    with pytest.raises(ConfigError, match="bounds"):
        TwinSettings(multiplier_bounds=(2.0, 1.0))


# ---------------------------------------------------------------------------- other sensors


def test_valve_position_pump_speed_and_reservoir_level_set_the_model(
    layout: UtilityLayout, plain_truth: Truth
) -> None:
    extra = [
        Sensor("V-VALVE-3891", "city", Quantity.VALVE_POSITION, element_kind="link",
               element_id="VALVE-3891"),
        Sensor("N-PUMP-3830", "city", Quantity.PUMP_SPEED, element_kind="link",
               element_id="PUMP-3830"),
        Sensor("L-RES-SHUIKU", "city", Quantity.LEVEL, element_kind="node",
               element_id="RES-SHUIKU"),
    ]
    readings = plain_truth.at(0)
    with Twin(demo_network_path(), [*layout.sensors, *extra]) as twin:
        free = twin.update(0, readings)
        closed = twin.update(300, {**plain_truth.at(300), "V-VALVE-3891": 0.0,
                                   "N-PUMP-3830": 0.9, "L-RES-SHUIKU": 90.0})
        reopened = twin.update(600, {**plain_truth.at(600), "V-VALVE-3891": 1.0,
                                     "N-PUMP-3830": 1.0, "L-RES-SHUIKU": 95.0})
    assert abs(free.flow_m3s["VALVE-3891"]) > 1e-3  # the PRV passes water
    assert closed.flow_m3s["VALVE-3891"] == 0.0
    assert abs(reopened.flow_m3s["VALVE-3891"]) > 1e-3  # active again, not stuck open
    error = (reopened.pressure_m - plain_truth.pressure_m.loc[600]).abs()
    assert error.max() < 0.02
    assert closed.head_m["RES-SHUIKU"] == pytest.approx(90.0)
    assert reopened.head_m["RES-SHUIKU"] == pytest.approx(95.0)
    assert closed.flow_m3s["PUMP-3830"] < free.flow_m3s["PUMP-3830"]  # slower pump
