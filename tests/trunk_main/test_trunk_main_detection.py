"""The trunk-main detector on the demo simulator: an injected burst is found and placed, a
quiet day raises nothing; and its pieces on cases worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from waterops.detection.trunk_main import (
    EventKind,
    TrunkMainMeters,
    TrunkMainMonitor,
    locate_burst,
    trunk_main_events,
)
from waterops.io.inp import read_inp
from waterops.model.utility import IncidentType
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import FrameRecorder, SimulatorConfig, VirtualUtility
from waterops.service.trunk_main import TrunkMainConfig, trunk_main_config
from waterops.service.virtual_utility import build_demo_utility

BURST_NODE, BURST_KM = "TMJ-025", 50.0  # TMJ-k sits 2k km down the main
BURST_AT_S = 3 * 3600


@pytest.fixture(scope="module")
def config() -> TrunkMainConfig:
    layout = build_demo_utility()
    return trunk_main_config(layout, read_inp(layout.network_file))


def _run(hours: float, burst: bool, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(readings, truth) of every sensor, one row per 5-minute frame."""
    layout = build_demo_utility()
    recorder = FrameRecorder()
    with VirtualUtility(layout, SimulatorConfig(seed=seed, tracer=False), [recorder]) as sim:
        if burst:
            sim.run_for(BURST_AT_S)
            sim.inject(IncidentRequest(IncidentType.PIPE_BURST, BURST_NODE, 0.01))
            sim.run_for(int(hours * 3600) - BURST_AT_S)
        else:
            sim.run_for(int(hours * 3600))
    index = pd.DatetimeIndex([f.time for f in recorder.frames])
    values = pd.DataFrame([dict(zip(f.sensor_ids, f.values.tolist(), strict=True))
                           for f in recorder.frames], index=index)
    truth = pd.DataFrame([dict(zip(f.sensor_ids, f.truth.tolist(), strict=True))
                          for f in recorder.frames], index=index)
    return values, truth


@pytest.fixture(scope="module")
def burst_run() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _run(4.5, burst=True, seed=7)


@pytest.fixture(scope="module")
def quiet_day() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _run(24, burst=False, seed=21)


def test_the_demo_main_and_its_meters(config: TrunkMainConfig) -> None:
    m = config.meters
    assert (m.main_id, m.inlet_flow, m.outlet_flow) == ("SRC-SHUIKU", "Q-TM-001", "Q-TM-053")
    chain = dict(m.pressures)
    # the trunk-main meters every 20 km and the city's loggers on the main's junctions
    assert {k: chain[k] for k in ("P-TMJ-001", "P-TMJ-010", "P-TMJ-024", "P-TMJ-027",
                                  "P-TMJ-050")} == {
        "P-TMJ-001": 2_000.0, "P-TMJ-010": 20_000.0, "P-TMJ-024": 48_000.0,
        "P-TMJ-027": 54_000.0, "P-TMJ-050": 100_000.0}
    assert list(chain.values()) == sorted(chain.values())
    assert config.length_m == m.length_m == 106_000.0


def test_a_burst_at_km_50_is_found_at_once_and_placed_between_its_meters(
        burst_run: tuple[pd.DataFrame, pd.DataFrame], config: TrunkMainConfig) -> None:
    values, truth = burst_run
    events = trunk_main_events(values, config.meters)
    bursts = [e for e in events if e.kind is EventKind.BURST]
    assert len(bursts) == 1 and bursts[0].active
    burst = bursts[0]
    epoch = values.index[0]
    # the burst acts on the solve at 3 h 05; two readings confirm it: found by 3 h 10
    delay = burst.time - (epoch + timedelta(seconds=BURST_AT_S))
    assert timedelta(0) < delay <= timedelta(minutes=10)
    # its flow: the true inlet-outlet difference at that time, within 10 %
    true_flow = float(truth.loc[burst.time, "Q-TM-001"] - truth.loc[burst.time, "Q-TM-053"])
    assert true_flow > 0.1
    assert burst.flow_m3s == pytest.approx(true_flow, rel=0.1)
    loc = burst.location
    # the nearest meters either side of km 50 are at km 48 (TMJ-024) and km 54 (TMJ-027)
    assert loc is not None and (loc.from_m, loc.to_m) == (48_000.0, 54_000.0)
    assert loc.estimate_m is not None and abs(loc.estimate_m / 1000 - BURST_KM) < 2
    assert {e.sensor_id for e in burst.evidence} >= {"Q-TM-001", "Q-TM-053"}
    assert burst.pressure_confirms is True
    # nothing before the burst (the plant's flow change at 02:30 moved both meters together)
    assert all(e.time >= epoch + timedelta(seconds=BURST_AT_S) for e in events)


def test_a_quiet_day_raises_nothing(quiet_day: tuple[pd.DataFrame, pd.DataFrame],
                                    config: TrunkMainConfig) -> None:
    values, _ = quiet_day
    assert len(values) == 289
    inlet = values["Q-TM-001"]
    assert inlet.max() - inlet.min() > 0.3  # the plant's draw changed during the day
    assert trunk_main_events(values, config.meters) == []


def test_location_worked_by_hand() -> None:
    chain = {"P1": 20_000.0, "P2": 40_000.0, "P3": 60_000.0, "P4": 80_000.0, "P5": 100_000.0}
    # 0.05 m/km x min(x, 50 km)
    loc = locate_burst({"P1": 1.0, "P2": 2.0, "P3": 2.5, "P4": 2.5, "P5": 2.5}, chain)
    assert loc is not None and (loc.from_m, loc.to_m, loc.estimate_m) == (40_000.0, 60_000.0,
                                                                          50_000.0)
    # a burst upstream of the first meter: every meter on the plateau
    loc = locate_burst({"P1": 2.0, "P2": 2.0, "P3": 2.0}, chain)
    assert loc is not None and (loc.from_m, loc.to_m) == (0.0, 20_000.0)
    # beyond the last meter: the drop grows all along, the burst is between it and the end
    loc = locate_burst({"P1": 0.4, "P2": 0.8, "P3": 1.2}, chain, length_m=70_000.0)
    assert loc is not None and (loc.from_m, loc.to_m) == (60_000.0, 70_000.0)
    assert locate_burst({"P1": 0.1, "P2": 0.05}, chain) is None  # noise, not a profile


T = datetime(2026, 12, 7, tzinfo=UTC)
METERS = TrunkMainMeters("M", "IN", "OUT", (("PA", 10_000.0),))


def _feed(rows: list[tuple[float, float, float]]) -> list:
    monitor = TrunkMainMonitor(METERS)
    out = []
    for i, (q_in, q_out, p) in enumerate(rows):
        out += monitor.step(T + timedelta(minutes=5 * i), {"IN": q_in, "OUT": q_out, "PA": p})
    return out


def test_balance_by_hand() -> None:
    """A meter offset of +0.02 m³/s is learnt, not alarmed; an excess of 0.05 m³/s over
    1.0 m³/s (limit max(0.03, 3 %) = 0.03) for two readings is a burst of 0.05 m³/s; a
    single high reading is not; the burst ends after two readings below half the limit."""
    steady = [(1.02, 1.0, 30.0)] * 12
    assert _feed(steady) == []
    assert _feed([*steady, (1.07, 1.0, 29.0), *steady]) == []
    events = _feed([*steady, (1.07, 1.0, 29.0), (1.07, 1.0, 29.0), (1.07, 1.0, 29.0),
                    (1.02, 1.0, 30.0), (1.02, 1.0, 30.0)])
    assert [(e.kind, e.active) for e in events] == [(EventKind.BURST, True),
                                                    (EventKind.BURST, False)]
    assert events[0].flow_m3s == pytest.approx(0.05)
    assert events[0].drops_m == {"PA": pytest.approx(1.0)}
    assert events[0].pressure_confirms is True
    # the outlet meter reads 0.05 low, the pressure holds: a meter, more likely than a burst
    events = _feed([*steady, (1.02, 0.95, 30.0), (1.02, 0.95, 30.0)])
    assert [(e.kind, e.pressure_confirms) for e in events] == [(EventKind.BURST, False)]
    assert events[0].time == T + timedelta(minutes=5 * 13)
    # missing readings are skipped, not taken for zero
    assert _feed([*steady, (np.nan, 1.0, 30.0), (1.02, np.nan, 30.0)]) == []


def test_transients_by_hand() -> None:
    """A 4 m swing with the outlet flow steady is a transient; the same swing when the plant
    changed its draw is the operation's doing."""
    steady = [(1.0, 1.0, 30.0)] * 3
    events = _feed([*steady, (1.0, 1.0, 34.0)])
    assert [(e.kind, e.sensor_id, e.swing_m) for e in events] == [
        (EventKind.TRANSIENT, "PA", pytest.approx(4.0))]
    assert _feed([*steady, (0.8, 0.8, 34.0)]) == []
    assert _feed([*steady, (1.0, 1.0, 32.9)]) == []
