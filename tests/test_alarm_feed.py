"""Alarms flow from the demo utility's incidents: a burst and a booster failure injected in the
virtual utility become alarms with their diagnosis, through the feed (and the twin), on
SQLite and PostgreSQL; a turbidity breach at the plant raises a critical GB 5749 alarm."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from problem_networks import DEMAND_JUMP
from waterops.detection.leaks import (
    LeakDetectorSettings,
    LeakSignatures,
    OnlineLeakDetector,
    OnlineLeakMonitor,
    PressureReference,
    boundary_features,
    detect_leaks,
    held_out_spread,
)
from waterops.detection.pump_rooms import pump_room_sensors
from waterops.model.alarms import AlarmSignal, AlarmState, Cause, IncidentState, Severity
from waterops.model.utility import Dma, IncidentType, UtilityLayout
from waterops.service.alarm_feed import AlarmFeed, FeedSettings, stored_readings
from waterops.service.alarms import AlarmService
from waterops.service.events import AlarmRaised, AlarmStateChanged, Event, EventBus
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import PDA, SimulatorConfig, StorePublisher, VirtualUtility
from waterops.service.twin import Twin, TwinSettings
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore

BURST_NODE = "JUNCTION-3310"  # in DMA-02, beside its critical point


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


@pytest.fixture(params=["sqlite", "postgresql"])
def telemetry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TelemetryStore]:
    if request.param == "sqlite":
        store = TelemetryStore.open(f"sqlite:///{tmp_path / 'demo.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        store = TelemetryStore.open(url, schema=schema)
    try:
        yield store
    finally:
        store.close()


def test_a_burst_and_a_booster_failure_become_alarms_with_their_diagnosis(
    layout: UtilityLayout, telemetry: TelemetryStore,
) -> None:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    service = AlarmService(AlarmStore(telemetry.engine), bus)
    feed = AlarmFeed(service)
    config = SimulatorConfig(seed=3, tracer=False)
    settings = TwinSettings(pressure_driven=PDA, source_shares=False)
    with VirtualUtility(layout, config, [StorePublisher(telemetry), feed]) as sim, \
            Twin.from_layout(layout, settings=settings) as twin:
        for k in range(12 * 6):
            if k == 24:  # 2 h
                sim.inject(IncidentRequest(IncidentType.PIPE_BURST, BURST_NODE, 0.002))
            if k == 40:  # 3 h 20
                sim.inject(IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR01",
                                           duration_s=3600))
            frame = sim.step()
            if frame.time_s % 900 == 0:
                state = twin.update(frame.time_s, dict(zip(frame.sensor_ids,
                                                           frame.values.tolist(), strict=True)))
                feed.observe_twin(frame.time, state)
        epoch = sim.epoch
    alarms = {a.kind: a for a in service.alarms()}
    assert set(alarms) == {"burst", "pump_room_low_pressure"}  # and nothing else in 6 h
    burst = alarms["burst"]
    assert burst.source == "DMA-02" and burst.diagnosis == "pipe_burst"
    assert burst.state is AlarmState.RAISED  # a burst does not clear by itself
    assert (burst.raised_at - epoch).total_seconds() == 2 * 3600  # the twin's first update after
    assert burst.value is not None and burst.value > 0.01
    dma = next(d for d in layout.dmas if d.id == "DMA-02")
    loggers = {f"P-{dma.pressure_node}", f"P-{dma.critical_node}"}
    assert burst.evidence and {e.sensor_id for e in burst.evidence} <= loggers
    assert all("below the twin" in e.note for e in burst.evidence)
    room = alarms["pump_room_low_pressure"]
    assert room.source == "PR01" and room.diagnosis == "booster_fault"
    assert room.message == "Booster of pump room 1 stopped at 03:20; repair under way"
    assert room.message_zh == "1号泵房增压泵03:20停机，抢修中"
    assert {e.sensor_id for e in room.evidence} >= {"S-PR01-P1", "S-PR01-P2"}
    assert room.state is AlarmState.CLEARED  # repaired after 1 h: pressure back
    assert room.worst_value is not None and room.worst_value < 1.0
    assert room.incident_id != burst.incident_id
    # the bus told every step, the audit trail has the system's actions
    raised = [e.alarm.kind for e in events if isinstance(e, AlarmRaised)]
    assert raised == ["burst", "pump_room_low_pressure"]
    assert [e.action.value for e in events if isinstance(e, AlarmStateChanged)] == ["clear"]
    assert [(a.actor, a.action) for a in service.store.audit("alarm", room.id)] == [
        ("waterops", "raise"), ("waterops", "clear")]
    # the readings went to the store beside the alarms
    assert len(telemetry.readings("P-PR01-HIGHZONE")) == 72
    # an operator closes the job with the diagnosed cause
    service.resolve(room.id, Cause.BOOSTER_FAULT, by="Wang", note="contactor replaced")
    assert room.incident_id is not None
    assert service.store.incident(room.incident_id).state is IncidentState.RESOLVED


def test_a_plant_outlet_turbidity_breach_raises_one_critical_quality_alarm(
    layout: UtilityLayout, tmp_path: Path,
) -> None:
    store = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    try:
        service = AlarmService(store)
        feed = AlarmFeed(service)
        with VirtualUtility(layout, SimulatorConfig(seed=4, tracer=False), [feed]) as sim:
            sim.run_for(3600)
            assert service.alarms() == []
            # the analyser drifts up 8 NTU a day: above 1 NTU after about 2.5 h
            sim.inject(IncidentRequest(IncidentType.SENSOR_DRIFT, "TU-WTP1-CLEARWELL", 8.0))
            sim.run_for(4 * 3600)
        alarms = service.alarms()
        assert [a.source for a in alarms] == ["TU-WTP1-CLEARWELL"]  # one alarm, de-duplicated
        alarm = alarms[0]
        assert alarm.kind == "water_quality_limit" and alarm.condition == "turbidity<=1"
        assert alarm.severity is Severity.CRITICAL and alarm.group_key == "plant:WTP1"
        assert alarm.value is not None and alarm.value > 1.0
        assert alarm.message.startswith("turbidity at plant outlet turbidity is")
        assert "GB 5749-2022" in alarm.message and "浑浊度" in alarm.message_zh
        assert "浑浊度" in alarm.evidence[0].note  # the clause of the limit
        # the team finds the analyser at fault
        resolved = service.resolve(alarm.id, "sensor_fault", by="Chen", note="recalibrated")
        assert resolved.cause is Cause.SENSOR_FAULT
    finally:
        store.close()


def test_the_feed_needs_its_layout_first(tmp_path: Path) -> None:
    store = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    try:
        feed = AlarmFeed(AlarmService(store))
        with pytest.raises(RuntimeError, match="prepare"):
            feed.observe(datetime(2026, 1, 1, tzinfo=UTC), {})
    finally:
        store.close()


def _leaky_network(days: int = 20, leak_day: int = 16) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                  LeakSignatures]:
    """Four pressure loggers driven by one metered inflow (head loss ~ Q²) and a tank, every
    15 min; from ``leak_day`` a leak near logger P-b (the set-up of the leak detector's own
    tests)."""
    rng = np.random.default_rng(7)
    t = pd.date_range("2025-01-01", periods=days * 96, freq="15min", tz="UTC")
    hours = (t.hour + t.minute / 60).to_numpy()
    inflow = 0.05 + 0.03 * np.sin(2 * np.pi * hours / 24) + 0.002 * rng.standard_normal(len(t))
    level = 3 + np.sin(2 * np.pi * hours / 24 + 1)
    loss = np.array([100.0, 400.0, 800.0, 1200.0])
    names = ["P-a", "P-b", "P-c", "P-d"]
    pressures = 40 + level[:, None] - inflow[:, None] ** 2 * loss
    pressures += 0.002 * rng.standard_normal(pressures.shape)
    drop = pd.Series([-0.01, -0.05, -0.02, 0.0], index=names)
    frame = pd.DataFrame(pressures, index=t, columns=names)
    frame = frame + np.outer(t >= t[leak_day * 96], drop)
    flows = pd.DataFrame({"Q-IN": inflow}, index=t)
    features = boundary_features(flows)
    signatures = LeakSignatures(
        pressure=pd.DataFrame({"PIPE-B": drop / 0.002, "PIPE-D": [0.0, 0.0, -10.0, -25.0]},
                              index=names),
        features=pd.DataFrame({"PIPE-B": 0.0, "PIPE-D": 0.0}, index=features.columns))
    return pd.concat([frame, flows], axis=1), features, signatures


def test_a_leak_from_the_online_leak_monitor_becomes_an_alarm_on_its_pipe(
    layout: UtilityLayout, tmp_path: Path,
) -> None:
    data, features, signatures = _leaky_network()
    pressures = data[["P-a", "P-b", "P-c", "P-d"]]
    settings = LeakDetectorSettings(training_s=14 * 86_400, window_s=12 * 3600)
    expected = detect_leaks(pressures, features, signatures, settings)
    assert expected["pipe_id"].tolist() == ["PIPE-B"]
    training = data.index < data.index[0] + pd.Timedelta(days=14)
    reference = PressureReference.fit(pressures[training], features[training], settings.ridge)
    spread = held_out_spread(pressures[training], features[training], settings)
    monitor = OnlineLeakMonitor(reference,
                                OnlineLeakDetector(signatures.residual_change(reference),
                                                   spread, settings), ["Q-IN"])
    for time, row in data[training].iterrows():  # warm-up: the window fills with training rows
        monitor.observe(pd.Timestamp(str(time)), row[reference.sensor_ids].to_numpy(),
                        row[["Q-IN"]].to_numpy())
    store = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    try:
        service = AlarmService(store)
        feed = AlarmFeed(service, leak_monitor=(monitor, ["Q-IN"]))
        feed.prepare(layout)
        for time, row in data[~training].iterrows():
            feed.observe(pd.Timestamp(str(time)).to_pydatetime(), row.to_dict())
        alarms = service.alarms()
    finally:
        store.close()
    assert [(a.kind, a.source, a.group_key) for a in alarms] == [("leak", "PIPE-B", "pipe:PIPE-B")]
    assert alarms[0].raised_at == expected["detected_at"].iloc[0].to_pydatetime()
    assert alarms[0].severity is Severity.MINOR and alarms[0].diagnosis == "leak"
    assert "管道PIPE-B附近疑似漏水" in alarms[0].message_zh


def test_a_pump_room_starved_by_a_low_network_joins_its_dmas_incident(
    layout: UtilityLayout, tmp_path: Path,
) -> None:
    room = next(r for r in pump_room_sensors(layout) if r.room_id == "PR03")
    dma = layout.dma_of(layout.pump_room("PR03").city_node)
    assert dma is not None and room.inlet_pressure and room.tank_level
    store = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    try:
        service = AlarmService(store)
        feed = AlarmFeed(service)
        feed.prepare(layout)
        t0 = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
        # the twin saw a burst in that DMA first
        burst = service.report(AlarmSignal("burst", dma.id, "inflow_and_pressure_vs_twin", True,
                                           t0, Severity.MAJOR, f"dma:{dma.id}", 0.03, "m3/s"))
        assert burst is not None
        for k in range(24):
            starved = k >= 6
            readings = {room.building_pressure: 4.0 if starved else 25.0,
                        room.inlet_pressure: 8.0 if starved else 42.0,
                        room.tank_level: 0.2 if starved else 2.0,
                        **{p: 1.0 for p in room.pump_status[:1]},
                        **{n: 9.0 if starved else 40.0 for n in room.neighbour_pressures}}
            feed.observe(t0 + timedelta(minutes=5 * k), readings)
        alarms = {a.kind: a for a in service.alarms()}
    finally:
        store.close()
    starved_room = alarms["pump_room_low_pressure"]
    assert starved_room.diagnosis == "upstream_network_low"
    assert starved_room.group_key == f"dma:{dma.id}"
    assert starved_room.incident_id == burst.incident_id
    assert "network dispatch is on it" in starved_room.message


def test_stored_readings_leave_out_distrusted_values_and_keep_those_after_a_gap(
    tmp_path: Path,
) -> None:
    from waterops.model.telemetry import QualityFlag, Quantity, Reading, Sensor, WaterSystem

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with TelemetryStore.open(f"sqlite:///{tmp_path / 't.db'}") as telemetry:
        telemetry.upsert_systems([WaterSystem("city", "City")])
        telemetry.upsert_sensors([Sensor("P-1", "city", Quantity.PRESSURE),
                                  Sensor("P-2", "city", Quantity.PRESSURE)])
        telemetry.write_readings([Reading(s, t0 + timedelta(minutes=5 * k), 20.0 + k)
                                  for s in ("P-1", "P-2") for k in range(4)])
        telemetry.set_flags("P-1", [t0 + timedelta(minutes=5)], [int(QualityFlag.SPIKE)])
        telemetry.set_flags("P-1", [t0 + timedelta(minutes=10)], [int(QualityFlag.GAP)])
        table = stored_readings(telemetry, ["P-1", "P-2", "P-unknown"], t0 + timedelta(minutes=1),
                                t0 + timedelta(minutes=20))
    assert list(table.columns) == ["P-1", "P-2"]
    assert list(table.index) == [t0 + timedelta(minutes=m) for m in (5, 10, 15)]
    assert np.isnan(table.loc[t0 + timedelta(minutes=5), "P-1"])  # the spike is left out
    assert table["P-1"].iloc[1:].tolist() == [22.0, 23.0]  # after a gap: kept
    assert table["P-2"].tolist() == [21.0, 22.0, 23.0]


def _burst_table(dma: Dma) -> pd.DataFrame:
    """Residuals with a burst's signature in ``dma``: 20 L/s more inflow than predicted, its
    pressure loggers 5 m (z -10) below the twin."""
    inlets = {f"Q-{i.link_id}": 0.02 * i.sign / len(dma.inlets) for i in dma.inlets}
    loggers = [f"P-{dma.pressure_node}", f"P-{dma.critical_node}"]
    rows = [(s, v, 0.0) for s, v in inlets.items()] + [(s, -5.0, -10.0) for s in loggers]
    table = pd.DataFrame(rows, columns=["sensor_id", "innovation", "z"]).set_index("sensor_id")
    table["measured"] = 30.0
    return table


def test_a_twin_that_does_not_converge_raises_an_alarm_and_is_not_searched_for_bursts(
    layout: UtilityLayout, tmp_path: Path,
) -> None:
    path = tmp_path / "jump.inp"
    path.write_text(DEMAND_JUMP)  # one trial cannot follow the demand's jump every hour
    epoch = datetime(2026, 12, 7, tzinfo=UTC)
    store = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    try:
        service = AlarmService(store)
        feed = AlarmFeed(service, FeedSettings(twin_warmup_updates=0,
                                               twin_unconverged_updates=2))
        feed.prepare(layout)
        seen, states = [], []
        with Twin(path, [], settings=TwinSettings(water_age=False, source_shares=False)) as twin:
            for t_s in (0, 1800, 3600, 5400, 7200, 10800, 12600):
                state = twin.update(t_s, {})
                feed.observe_twin(epoch + timedelta(seconds=t_s), state)
                seen.append((state.unconverged_updates, [a.state for a in service.alarms()]))
                states.append(state)
        # unconverged at each jump; two in a row (7200 and 10800 s) raise the alarm, the next
        # converged update clears it
        assert [n for n, _ in seen] == [1, 0, 1, 0, 1, 2, 0]
        assert [states for _, states in seen[:5]] == [[]] * 5
        assert seen[5][1] == [AlarmState.RAISED] and seen[6][1] == [AlarmState.CLEARED]
        alarm = service.alarms()[0]
        assert alarm.kind == "twin_not_converged" and alarm.severity is Severity.MINOR
        assert alarm.raised_at == epoch + timedelta(seconds=10800) and alarm.value == 2.0
        assert "not converged for 2 updates (unstable" in alarm.message
        assert "未收敛" in alarm.message_zh
        # a burst's signature in an unconverged state is not believed; in a converged one it is
        unconverged, converged = states[5], states[6]
        table = _burst_table(next(d for d in layout.dmas if d.id == "DMA-02"))
        bursts = AlarmFeed(service, FeedSettings(twin_warmup_updates=0))
        bursts.prepare(layout)
        assert bursts.observe_twin(epoch, replace(unconverged, residuals=table)) == []
        raised = bursts.observe_twin(epoch, replace(converged, residuals=table))
        assert [(a.kind, a.source) for a in raised] == [("burst", "DMA-02")]
    finally:
        store.close()
