"""The simulator: determinism, noise and drop-outs, readings into the store and over MQTT."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from waterops.errors import ConfigError
from waterops.model.telemetry import Quantity
from waterops.model.utility import UtilityLayout
from waterops.service.simulator import (
    FrameRecorder,
    MqttPublisher,
    SensorFrame,
    SimulatorConfig,
    StorePublisher,
    VirtualUtility,
)
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.telemetry.mqtt_ingest import BrokerAddress, MqttIngest


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TelemetryStore]:
    """An empty migrated store on SQLite and on PostgreSQL (a server that is down fails)."""
    if request.param == "sqlite":
        opened = TelemetryStore.open(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        opened = TelemetryStore.open(url, schema=schema)
    try:
        yield opened
    finally:
        opened.close()


def frames_of(layout: UtilityLayout, config: SimulatorConfig, hours: float) -> list[SensorFrame]:
    recorder = FrameRecorder()
    with VirtualUtility(layout, config, [recorder]) as sim:
        sim.run_for(int(hours * 3600))
    return recorder.frames


def test_same_seed_same_readings_other_seed_other_readings(layout: UtilityLayout) -> None:
    config = SimulatorConfig(seed=11, random_incidents_per_day=12.0, tracer=False)
    first, again = frames_of(layout, config, 2), frames_of(layout, config, 2)
    other = frames_of(layout, SimulatorConfig(seed=12, random_incidents_per_day=12.0,
                                              tracer=False), 2)
    assert len(first) == 25  # t = 0, 5 min, ... 2 h
    for a, b, c in zip(first, again, other, strict=True):
        assert a.sensor_ids == b.sensor_ids == c.sensor_ids
        np.testing.assert_array_equal(a.values, b.values)  # NaN (lost) equal too
    assert not np.allclose(first[-1].truth, other[-1].truth)  # demand noise differs


def test_noise_drift_and_drop_outs(layout: UtilityLayout) -> None:
    config = SimulatorConfig(seed=3, dropout_probability=0.01, outage_rate_per_day=0.5,
                             tracer=False)
    frames = [f for f in frames_of(layout, config, 6) if f.time_s % 3600]  # no AMR reads

    def rows(prefix: str) -> list[int]:
        return [i for i, s in enumerate(frames[0].sensor_ids) if s.startswith(prefix)]

    assert all(f.sensor_ids == frames[0].sensor_ids for f in frames)
    pressure = rows("P-")
    errors = np.concatenate([f.values[pressure] - f.truth[pressure] for f in frames])
    errors = errors[~np.isnan(errors)]
    # noise 0.05 m plus a drift of 0.01 m/√day (small after 6 h)
    assert 0.04 < float(np.std(errors)) < 0.07
    assert abs(float(np.mean(errors))) < 0.01
    lost = np.concatenate([np.isnan(f.values) for f in frames])
    assert 0.005 < lost.mean() < 0.1
    # an outage silences a sensor for whole hours, not single readings
    table = np.array([np.isnan(f.values) for f in frames])
    assert (table.sum(axis=0) >= 12).any()
    status = np.concatenate([f.values[rows("S-")] for f in frames])
    assert set(status[~np.isnan(status)].tolist()) == {0.0, 1.0}  # pump status has no noise


def test_sensors_report_at_their_own_interval(layout: UtilityLayout) -> None:
    frames = frames_of(layout, SimulatorConfig(tracer=False), 1.0)
    amr = {s.id for s in layout.sensors if s.interval_s == 3600}
    assert amr <= set(frames[0].sensor_ids) and amr <= set(frames[-1].sensor_ids)
    for frame in frames[1:-1]:
        assert not amr & set(frame.sensor_ids)
        assert len(frame.sensor_ids) == len(layout.sensors) - len(amr)
    assert frames[0].time == datetime(2025, 12, 31, 16, tzinfo=UTC)  # 00:00 Asia/Shanghai


def test_readings_reach_the_store(layout: UtilityLayout, store: TelemetryStore) -> None:
    recorder = FrameRecorder()
    with VirtualUtility(layout, SimulatorConfig(tracer=False),
                        [StorePublisher(store), recorder]) as sim:
        sim.run_for(1800)
        sent = sim.readings_sent
    assert {s.id for s in store.sensors()} == {s.id for s in layout.sensors}
    assert {s.id for s in store.sites()} == {s.id for s in layout.sites}
    assert len(recorder.frames) == 7
    latest = store.latest()
    assert len(latest) == len(layout.sensors)
    sensor_id = "L-WTP1-CLEARWELL"
    stored = store.readings(sensor_id)
    sent_values = [(f.time, float(f.values[f.sensor_ids.index(sensor_id)]))
                   for f in recorder.frames]
    expected = [(t, v) for t, v in sent_values if not np.isnan(v)]  # lost ones never arrive
    assert [t.to_pydatetime() for t in stored["time"]] == [t for t, _ in expected]
    np.testing.assert_allclose(stored["value"].to_numpy(), [v for _, v in expected], rtol=1e-12)
    total = sum(len(store.readings(s.id)) for s in layout.sensors if s.id.startswith("L-"))
    assert 0 < total <= sent


@pytest.mark.mqtt
def test_readings_travel_through_the_mqtt_broker(
    layout: UtilityLayout, mqtt_broker: tuple[str, int], tmp_path: Path
) -> None:
    host, port = mqtt_broker
    with TelemetryStore.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        StorePublisher(store).prepare(layout)  # the ingest knows the sensors
        ingest = MqttIngest(BrokerAddress(host, port), store,
                            client_id=f"test-sim-{uuid.uuid4().hex[:8]}", session_expiry_s=0)
        ingest.start()
        assert ingest.connected.wait(10), "the ingest did not connect to the broker"
        time.sleep(0.5)  # SUBACK
        stop = threading.Event()
        worker = threading.Thread(target=ingest.run, args=(stop,), daemon=True)
        worker.start()
        recorder = FrameRecorder()
        publisher = MqttPublisher(f"mqtt://{host}:{port}",
                                  client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        try:
            with VirtualUtility(layout, SimulatorConfig(tracer=False),
                                [publisher, recorder]) as sim:
                sim.run_for(900)
                sent = sim.readings_sent
            deadline = time.monotonic() + 30
            while ingest.counters.stored < sent and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            worker.join(10)
            ingest.stop()
        assert ingest.counters.stored == sent
        assert ingest.counters.rejected == 0
        township = [s.id for s in layout.sensors if s.system_id == "township"]
        assert township and len(store.readings(township[0])) >= 3  # the township's batches too
        frame = recorder.frames[-1]
        row = frame.sensor_ids.index("P-JUNCTION-288")
        stored = store.readings("P-JUNCTION-288")
        if frame.values[row] == frame.values[row]:
            assert stored["value"].iloc[-1] == pytest.approx(frame.values[row], rel=1e-12)


def test_paced_run_stops_on_the_event_or_after_its_duration(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, SimulatorConfig(tracer=False)) as sim:
        sim.run_paced(1e9, threading.Event(), duration_s=3600)
        assert sim.time_s == 3600
        stop = threading.Event()
        seen: list[int] = []

        def stop_after_three(frame: SensorFrame) -> None:
            seen.append(frame.time_s)
            if len(seen) == 3:
                stop.set()

        sim.run_paced(1e9, stop, on_frame=stop_after_three)
        assert seen == [3900, 4200, 4500]
        with pytest.raises(ConfigError, match="speed"):
            sim.run_paced(0, stop)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="divide one hour"):
        SimulatorConfig(step_s=420)
    with pytest.raises(ConfigError, match="timezone"):
        SimulatorConfig(start=datetime(2026, 1, 1))


def test_status_figures(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, SimulatorConfig(tracer=False)) as sim:
        sim.run_for(3 * 3600)
        status = sim.status()
    # ~1,372 L/s on average, less at night: 3 night hours deliver 5,000-12,000 m³
    assert 5_000 < status.delivered_m3 < 12_000
    assert 0.5 < status.clearwell_level_m < 5.0
    assert status.source_flows_m3s["RES-SHUIKU"] > 0.5
    assert abs(status.source_flows_m3s["RES-RIVER"]) < 1e-6
    assert status.readings_sent > 0
    assert Quantity.PRESSURE  # the vocabulary the status speaks
