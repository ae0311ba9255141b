"""The trunk main's record on SQLite and PostgreSQL: safe-operation days (worked by hand), a
recorded failure resets them (staff only, audited), volume delivered integrated from stored
readings, meter status; and the detector over the demo simulator's stored readings raising a
burst alarm that becomes a work order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from waterops.errors import PermissionDeniedError, TrunkMainError
from waterops.io.inp import read_inp
from waterops.model.alarms import AlarmState
from waterops.model.utility import IncidentType
from waterops.model.work_orders import LinkKind, WorkOrderKind
from waterops.service.alarms import AlarmService
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import SimulatorConfig, StorePublisher, VirtualUtility
from waterops.service.trunk_main import (
    LOCAL_TZ,
    TrunkMainConfig,
    TrunkMainService,
    integrate_flow,
    safe_operation_days,
    trunk_main_config,
)
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore
from waterops.store.telemetry_store import TelemetryStore

from .conftest import World

LOCAL = LOCAL_TZ
COMMISSIONED = datetime(2026, 1, 1, tzinfo=LOCAL)


@pytest.fixture(scope="module")
def demo_config() -> TrunkMainConfig:
    layout = build_demo_utility()
    return trunk_main_config(layout, read_inp(layout.network_file), commissioned_at=COMMISSIONED)


def _service(world: World, config: TrunkMainConfig) -> TrunkMainService:
    TelemetryStore(world.accounts.engine)  # same engine
    return TrunkMainService(world.accounts.engine, config,
                            AlarmService(AlarmStore(world.accounts.engine), clock=world.clock),
                            clock=world.clock)


def test_safe_days_and_failures(world: World, demo_config: TrunkMainConfig) -> None:
    """Commissioned 2026-01-01 local; now 2026-12-07 02:00 local: 340 days. A failure on
    2026-12-05 23:30 local: 2 days (the 6th and the 7th). Recorded failures of other mains
    do not count; a failure recorded now but dated earlier counts from its own date."""
    svc = _service(world, demo_config)
    now_local = world.clock.now.astimezone(LOCAL)
    assert now_local == datetime(2026, 12, 7, 2, 0, tzinfo=LOCAL)
    assert svc.safe_operation_days() == (now_local.date() - COMMISSIONED.date()).days == 340
    failure = svc.record_failure(world.dispatcher, datetime(2026, 12, 5, 23, 30, tzinfo=LOCAL),
                                 link_id="TM-025", description="joint failure at km 50")
    assert failure.recorded_by == "disp1" and failure.recorded_at == world.clock.now
    assert svc.safe_operation_days() == 2
    assert safe_operation_days(svc.store, "SRC-SHUIKU", COMMISSIONED,
                               datetime(2026, 12, 5, 23, 59, tzinfo=LOCAL)) == 0
    # the day before the failure, the counter still ran from commissioning
    assert safe_operation_days(svc.store, "SRC-SHUIKU", COMMISSIONED,
                               datetime(2026, 12, 5, 12, 0, tzinfo=LOCAL)) == 338
    assert safe_operation_days(svc.store, "OTHER-MAIN", COMMISSIONED, world.clock.now) == 340
    audit = [a for a in world.accounts.audit_lines() if a["target_kind"] == "trunk_failure"]
    assert len(audit) == 1 and audit[0]["actor"] == "disp1"
    items, total = svc.failures(world.crew_a)
    assert total == 1 and items[0].link_id == "TM-025"


def test_failures_are_refused_when_wrong(world: World, demo_config: TrunkMainConfig) -> None:
    svc = _service(world, demo_config)
    with pytest.raises(PermissionDeniedError):
        svc.record_failure(world.crew_a, world.clock.now, description="burst")
    with pytest.raises(PermissionDeniedError):
        svc.status(world.customer)
    with pytest.raises(TrunkMainError, match="in the future"):
        svc.record_failure(world.dispatcher, world.clock.now + timedelta(hours=1),
                           description="burst")
    with pytest.raises(TrunkMainError, match="before the main was commissioned"):
        svc.record_failure(world.dispatcher, datetime(2025, 6, 1, tzinfo=UTC),
                           description="burst")
    with pytest.raises(TrunkMainError, match="describe"):
        svc.record_failure(world.dispatcher, world.clock.now, description="  ")
    with pytest.raises(TrunkMainError, match="cannot record the failure"):
        svc.record_failure(world.dispatcher, world.clock.now, description="burst",
                           work_order_id=999)  # no such order: nothing stored, no audit
    assert not [a for a in world.accounts.audit_lines() if a["target_kind"] == "trunk_failure"]
    assert svc.failures(world.dispatcher)[1] == 0


def test_integration_by_hand() -> None:
    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    times = [t0 + timedelta(minutes=5 * i) for i in range(4)]
    # 1.0, 1.2, 1.2 (lost), 1.0 m³/s: trapezoids 300 s x 1.1 + a 600 s gap x 1.1 = 990 m³
    volume, covered = integrate_flow(times, np.array([1.0, 1.2, np.nan, 1.0]))
    assert (volume, covered) == (pytest.approx(990.0), 900.0)
    # a gap over 30 min is not bridged
    volume, covered = integrate_flow([t0, t0 + timedelta(hours=1)], [1.0, 1.0])
    assert (volume, covered) == (0.0, 0.0)


def test_status_from_stored_readings(world: World, demo_config: TrunkMainConfig) -> None:
    """Inlet 0.8 m³/s every 5 min since local midnight (00:00-02:00 = 7,200 s): 5,760 m³
    today; the total from hourly means is the same 2 h x 0.8 m³/s."""
    layout = build_demo_utility()
    telemetry = TelemetryStore(world.accounts.engine)
    StorePublisher(telemetry).prepare(layout)
    midnight = datetime(2026, 12, 7, tzinfo=LOCAL).astimezone(UTC)
    n = 25  # 00:00 ... 02:00 local
    times = np.array([np.datetime64(midnight.replace(tzinfo=None), "us")
                      + np.timedelta64(300 * i, "s") for i in range(n)])
    times = times[:-1]  # readings in [midnight, now)
    m = demo_config.meters
    telemetry.write_reading_arrays(np.array([m.inlet_flow] * (n - 1), dtype=object), times,
                                   np.full(n - 1, 0.8))
    telemetry.write_reading_arrays(np.array(["P-TMJ-010"], dtype=object),
                                   times[-1:], np.array([27.9]))
    svc = _service(world, demo_config)
    status = svc.status(world.planner)
    # trapezoids between 24 readings 00:00 ... 01:55: 23 x 300 s x 0.8
    assert status.volume_today.volume_m3 == pytest.approx(23 * 300 * 0.8)
    assert status.volume_today.covered_s == 23 * 300
    assert status.volume_total.volume_m3 == pytest.approx(2 * 3600 * 0.8)
    assert status.safe_days == 340 and status.last_failure is None
    meters = {ms.sensor_id: ms for ms in status.meters}
    assert meters["Q-TM-001"].value == 0.8 and not meters["Q-TM-001"].stale
    assert meters["P-TMJ-010"].value == 27.9 and meters["P-TMJ-010"].chainage_m == 20_000
    assert meters["Q-TM-053"].value is None and meters["Q-TM-053"].stale


def test_a_burst_on_the_demo_main_raises_an_alarm_and_an_order(
        world: World, demo_config: TrunkMainConfig) -> None:
    """The demo simulator writes into the store; a 0.01 m² burst at TMJ-025 starts at 3 h;
    the scan raises one critical burst alarm (which does not clear itself), a dispatcher
    turns it into an emergency trunk-main order."""
    layout = build_demo_utility()
    telemetry = TelemetryStore(world.accounts.engine)
    cfg = SimulatorConfig(seed=5, tracer=False, start=datetime(2026, 12, 7, tzinfo=LOCAL))
    with VirtualUtility(layout, cfg, [StorePublisher(telemetry)]) as sim:
        sim.run_for(3 * 3600)
        sim.inject(IncidentRequest(IncidentType.PIPE_BURST, "TMJ-025", 0.01))
        sim.run_for(3600)
        start, end = sim.epoch, sim.clock(sim.time_s) + timedelta(seconds=1)
    world.clock.now = end
    svc = _service(world, demo_config)
    events, alarms = svc.scan(start, end)
    assert [e.kind.value for e in events if e.active].count("burst") == 1
    bursts = [a for a in alarms if a.kind == "burst"]
    assert len(bursts) == 1
    alarm = bursts[0]
    assert alarm.state is AlarmState.RAISED and alarm.severity.value == "critical"
    assert alarm.source == "trunk_main:SRC-SHUIKU"
    assert "between km 48 and km 54" in alarm.message
    assert alarm.raised_at - start <= timedelta(hours=3, minutes=10)
    order = world.service.create_from_alarm(world.dispatcher, alarm.id, diameter_mm=1600)
    assert order.kind is WorkOrderKind.TRUNK_MAIN
    assert (LinkKind.ALARM, alarm.id) in order.links
    # scanning again finds the same burst: the alarm is repeated, not duplicated
    _, again = svc.scan(start, end)
    assert [a.id for a in again if a.kind == "burst"] == [alarm.id]
