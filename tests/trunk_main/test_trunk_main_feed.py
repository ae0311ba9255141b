"""The alarm worker's feed runs the trunk-main detector: an imbalance on the demo main's
meters becomes one critical burst alarm grouped under the main; a plain day raises none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from waterops.io.inp import read_inp
from waterops.service.alarm_feed import AlarmFeed
from waterops.service.alarms import AlarmService
from waterops.service.trunk_main import trunk_main_config
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore

T = datetime(2026, 12, 7, tzinfo=UTC)


def test_the_feed_raises_a_trunk_main_burst(tmp_path: Path) -> None:
    layout = build_demo_utility()
    trunk = trunk_main_config(layout, read_inp(layout.network_file))
    with AlarmStore.open(f"sqlite:///{tmp_path / 'a.db'}") as store:
        feed = AlarmFeed(AlarmService(store, clock=lambda: T), trunk_main=trunk)
        feed.prepare(layout)
        assert set(trunk.meters.sensor_ids) <= set(feed.sensor_ids)
        pressures = {s: 60.0 - x / 2000 for s, x in trunk.meters.pressures}
        touched = []
        for i in range(16):
            extra = 0.2 if i >= 13 else 0.0  # 200 L/s lost from the 13th reading on
            readings = {"Q-TM-001": 1.0 + extra, "Q-TM-053": 1.0, **pressures}
            touched += feed.observe(T + timedelta(minutes=5 * i), readings)
        bursts = {a.id: a for a in touched if a.kind == "burst"}
        assert len(bursts) == 1
        alarm = next(iter(bursts.values()))
        assert alarm.source == "trunk_main:SRC-SHUIKU"
        assert alarm.group_key == "trunk_main:SRC-SHUIKU"
        assert alarm.raised_at == T + timedelta(minutes=5 * 14)  # confirmed at the 2nd reading
        assert alarm.value is not None and abs(alarm.value - 0.2) < 1e-9


def test_flows_that_disagree_with_steady_pressures_point_at_a_meter(tmp_path: Path) -> None:
    layout = build_demo_utility()
    trunk = trunk_main_config(layout, read_inp(layout.network_file))
    with AlarmStore.open(f"sqlite:///{tmp_path / 'a.db'}") as store:
        feed = AlarmFeed(AlarmService(store, clock=lambda: T), trunk_main=trunk)
        feed.prepare(layout)
        pressures = {s: 60.0 - x / 2000 for s, x in trunk.meters.pressures}
        touched = []
        for i in range(16):
            outlet = 0.9 if i >= 13 else 1.0  # the outlet meter under-reads by 100 L/s
            touched += feed.observe(T + timedelta(minutes=5 * i),
                                    {"Q-TM-001": 1.0, "Q-TM-053": outlet, **pressures})
        alarm = next(a for a in touched if a.kind == "burst")
        assert alarm.severity.value == "major" and alarm.diagnosis == "flow_meter_discrepancy"
        assert "check the flow meters" in alarm.message
