"""Pump-room low pressure and its diagnosis: a booster failure in the virtual utility, and
synthetic series for an empty tank, a low network and a local fault."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from waterops.detection.pump_rooms import (
    MIN_SERVICE_PRESSURE_M,
    Diagnosis,
    PumpRoomMonitor,
    PumpRoomSensors,
    pump_room_events,
    pump_room_sensors,
    room_number,
)
from waterops.model.utility import IncidentType, UtilityLayout
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import SimulatorConfig, VirtualUtility
from waterops.service.virtual_utility import build_demo_utility

ROOM = PumpRoomSensors("PR03", "P-HZ", "P-IN", "L-TANK", ("S-P1", "S-P2"), ("Q-P1", "Q-P2"),
                       ("P-N1", "P-N2"))
START = pd.Timestamp("2026-01-01T02:00:00Z")  # 10:00 in Asia/Shanghai


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


def frames(sim: VirtualUtility, steps: int) -> pd.DataFrame:
    """What the sensors report over ``steps`` steps (time x sensor; NaN where none reported)."""
    rows, times = [], []
    for _ in range(steps):
        frame = sim.step()
        rows.append(dict(zip(frame.sensor_ids, frame.values.tolist(), strict=True)))
        times.append(frame.time)
    return pd.DataFrame(rows, index=pd.DatetimeIndex(times))


def normal(hours: float = 3.0) -> pd.DataFrame:
    """A healthy pump room every 5 min: building 25 m, feed 45 m, tank 2 m, duty pump on."""
    n = int(hours * 12)
    rng = np.random.default_rng(3)
    index = pd.date_range(START, periods=n, freq="5min")
    return pd.DataFrame({
        "P-HZ": 25.0 + rng.normal(0, 0.1, n), "P-IN": 45.0 + rng.normal(0, 0.1, n),
        "L-TANK": np.full(n, 2.0), "S-P1": np.ones(n), "S-P2": np.zeros(n),
        "Q-P1": np.full(n, 0.005), "Q-P2": np.zeros(n),
        "P-N1": np.full(n, 40.0), "P-N2": np.full(n, 38.0)}, index=index)


def test_a_booster_failure_in_the_virtual_utility_is_diagnosed_as_a_booster_fault(
    layout: UtilityLayout,
) -> None:
    rooms = {r.room_id: r for r in pump_room_sensors(layout)}
    assert set(rooms) == {"PR01", "PR02", "PR03", "PR04"}
    with VirtualUtility(layout, SimulatorConfig(seed=11)) as sim:
        calm = frames(sim, 12)
        sim.inject(IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR02", duration_s=2 * 3600))
        failed = frames(sim, 36)
    data = pd.concat([calm, failed])
    events = pump_room_events(data, rooms["PR02"])
    assert [e.active for e in events] == [True, False]  # raised, then cleared after the repair
    raised, cleared = events
    assert raised.diagnosis is Diagnosis.BOOSTER_FAULT
    assert raised.pressure_m < MIN_SERVICE_PRESSURE_M
    stopped = {e.sensor_id: e for e in raised.evidence if e.quantity == "pump_status"}
    assert stopped["S-PR02-P1"].value == 0.0 and stopped["S-PR02-P1"].note == "stopped"
    # the pump stopped at the first step after injection: 01:00 local (17:00 UTC the day before)
    stop_time = failed.index[0]
    assert stop_time == pd.Timestamp("2025-12-31T17:00:00Z")
    assert raised.message_zh == "2号泵房增压泵01:00停机，抢修中"
    assert raised.message == "Booster of pump room 2 stopped at 01:00; repair under way"
    # raised once the low pressure has lasted the minimum duration (5 min), not before
    assert (raised.time - raised.started_at).total_seconds() >= 300
    assert cleared.time > raised.time and cleared.pressure_m > MIN_SERVICE_PRESSURE_M + 1.0
    for other in ("PR01", "PR03", "PR04"):
        assert pump_room_events(data, rooms[other]) == []


def test_a_calm_day_raises_nothing_in_any_pump_room(layout: UtilityLayout) -> None:
    with VirtualUtility(layout, SimulatorConfig(seed=5)) as sim:
        data = frames(sim, 288)
    for room in pump_room_sensors(layout):
        assert pump_room_events(data, room) == []


def test_an_empty_tank_with_a_normal_feed_is_the_tank() -> None:
    data = normal()
    data.loc[data.index[12]:, "L-TANK"] = np.linspace(1.5, 0.2, len(data) - 12)
    low = data["L-TANK"] < 0.5
    data.loc[low, "P-HZ"] = 6.0  # the booster's dry-run protection throttles it
    events = pump_room_events(data, ROOM)
    assert len(events) == 1 and events[0].diagnosis is Diagnosis.TANK_EMPTY
    evidence = {e.sensor_id: e for e in events[0].evidence}
    assert evidence["L-TANK"].value < 0.5 and evidence["P-IN"].note == "city feed normal"
    assert events[0].message_zh.startswith("3号泵房水箱") and "正在检查进水" in events[0].message_zh


def test_a_low_city_feed_confirmed_by_the_network_is_upstream() -> None:
    data = normal()
    late = data.index[12:]
    data.loc[late, ["P-IN", "P-N1", "P-N2"]] = [9.0, 8.0, 30.0]
    data.loc[late, "L-TANK"] = np.linspace(1.5, 0.1, len(late))  # the city cannot refill it
    data.loc[data["L-TANK"] < 0.6, "P-HZ"] = 5.0
    events = pump_room_events(data, ROOM)
    assert [e.diagnosis for e in events] == [Diagnosis.UPSTREAM_LOW]
    notes = {e.sensor_id: e.note for e in events[0].evidence}
    assert notes["P-IN"].startswith("city feed below") and notes["P-N1"] == "network logger low too"
    assert "P-N2" not in notes
    assert events[0].started_at == datetime(2026, 1, 1, 4, 15, tzinfo=UTC)  # tank at 0.6 m
    assert events[0].message == ("City mains pressure feeding pump room 3 has been low since "
                                 "12:15; network dispatch is on it")


def test_a_low_feed_with_the_network_around_normal_is_not_the_network() -> None:
    data = normal()
    data.loc[data.index[12]:, "P-IN"] = 9.0  # only the room's own connection
    data.loc[data.index[12]:, "L-TANK"] = 0.2
    data.loc[data.index[12]:, "P-HZ"] = 5.0
    events = pump_room_events(data, ROOM)
    assert [e.diagnosis for e in events] == [Diagnosis.TANK_EMPTY]


def test_everything_upstream_normal_is_local_and_the_diagnosis_follows_the_data() -> None:
    data = normal(4.0)
    data.loc[data.index[12]:, "P-HZ"] = 8.0  # pumps run, tank full, feed fine
    data.loc[data.index[30]:, ["S-P1", "Q-P1"]] = [0.0, 0.0]  # then the pump trips too
    events = pump_room_events(data, ROOM)
    assert [(e.active, e.diagnosis) for e in events] == [
        (True, Diagnosis.LOCAL), (True, Diagnosis.BOOSTER_FAULT)]
    assert "pumps, tank and city feed are normal" in events[0].message
    assert data.index[30] == pd.Timestamp("2026-01-01T04:30:00Z")  # 12:30 local
    assert events[1].message == "Booster of pump room 3 stopped at 12:30; repair under way"
    assert events[1].message_zh == "3号泵房增压泵12:30停机，抢修中"


def test_a_short_dip_and_gaps_raise_nothing_and_online_equals_batch() -> None:
    data = normal()
    data.iloc[10, data.columns.get_loc("P-HZ")] = 5.0  # one reading: a pump changeover
    data.iloc[20:24, data.columns.get_loc("P-HZ")] = math.nan  # logger offline
    assert pump_room_events(data, ROOM) == []
    data.loc[data.index[25]:, ["S-P1", "Q-P1", "P-HZ"]] = [0.0, 0.0, 2.0]
    batch = pump_room_events(data, ROOM)
    monitor = PumpRoomMonitor(ROOM)
    online = []
    for time, row in data.iterrows():
        event = monitor.step(pd.Timestamp(time).to_pydatetime(), row.to_dict())
        if event is not None:
            online.append(event)
    assert online == batch and len(batch) == 1 and monitor.active


def test_room_numbers_read_as_people_say_them() -> None:
    assert room_number("PR03") == "3" and room_number("B12-PR10") == "10"
    assert room_number("north") == "north"
    assert abs(MIN_SERVICE_PRESSURE_M - 14.276) < 0.001
    assert datetime(2026, 1, 1, tzinfo=UTC) < START.to_pydatetime()


def test_pumps_known_only_by_their_flow_meters_still_tell_a_booster_fault() -> None:
    room = PumpRoomSensors("PR07", "P-HZ", "P-IN", "L-TANK", (), ("Q-P1", "Q-P2"))
    data = normal()
    late = data.index[12:]
    noise = np.random.default_rng(9).normal(0.0, 2e-4, (len(late), 2))  # a meter's zero noise
    data.loc[late, ["Q-P1", "Q-P2"]] = noise
    data.loc[late, "P-HZ"] = 3.0
    events = pump_room_events(data, room)
    assert [e.diagnosis for e in events] == [Diagnosis.BOOSTER_FAULT]
    assert {e.sensor_id for e in events[0].evidence} == {"Q-P1", "Q-P2"}
    assert events[0].message_zh == "7号泵房增压泵11:00停机，抢修中"


def test_a_variable_speed_booster_at_zero_speed_is_a_booster_fault() -> None:
    room = PumpRoomSensors("PR12", "P-HZ", "P-IN", "L-TANK", ("S-P1",), (),
                           pump_speed=("N-P1",))
    data = normal()
    data["N-P1"] = 0.8
    data.loc[data.index[12]:, ["N-P1", "P-HZ"]] = [0.0, 4.0]  # drive fault: status still 1
    events = pump_room_events(data, room)
    assert [e.diagnosis for e in events] == [Diagnosis.BOOSTER_FAULT]
    speed = next(e for e in events[0].evidence if e.sensor_id == "N-P1")
    assert speed.value == 0.0 and speed.quantity == "pump_speed"
    assert events[0].message_zh == "12号泵房增压泵11:00停机，抢修中"
