"""Limit alarms: GB 5749-2022 figures at their boundaries, hysteresis, minimum duration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from waterops.detection.thresholds import (
    Disinfection,
    Limit,
    LimitMonitor,
    SamplingPoint,
    Side,
    gb5749_limits,
    limit_alarm_table,
    limit_alarms,
    with_persistence,
)


def _bounds(limits: tuple[Limit, ...]) -> dict[tuple[str, Side], float]:
    return {(lim.quantity, lim.side): lim.bound for lim in limits}


def test_free_chlorine_figures_per_sampling_point() -> None:
    outlet = _bounds(gb5749_limits(SamplingPoint.PLANT_OUTLET))
    network = _bounds(gb5749_limits(SamplingPoint.NETWORK))
    tap = _bounds(gb5749_limits(SamplingPoint.TAP))
    assert outlet[("free_chlorine", Side.UPPER)] == 2.0
    assert outlet[("free_chlorine", Side.LOWER)] == 0.3
    assert network[("free_chlorine", Side.UPPER)] == 2.0
    assert network[("free_chlorine", Side.LOWER)] == 0.05
    assert tap[("free_chlorine", Side.UPPER)] == 2.0
    assert tap[("free_chlorine", Side.LOWER)] == 0.05
    for point in (outlet, network, tap):
        assert point[("turbidity", Side.UPPER)] == 1.0
        assert point[("ph", Side.LOWER)] == 6.5
        assert point[("ph", Side.UPPER)] == 8.5
        assert ("bromate", Side.UPPER) not in point


def test_other_disinfectants_and_ozone_plants() -> None:
    chloramine = _bounds(gb5749_limits("plant_outlet", "chloramine"))
    assert chloramine[("total_chlorine", Side.UPPER)] == 3.0
    assert chloramine[("total_chlorine", Side.LOWER)] == 0.5
    assert ("free_chlorine", Side.UPPER) not in chloramine
    assert _bounds(gb5749_limits("tap", "chloramine"))[("total_chlorine", Side.LOWER)] == 0.05
    dioxide = _bounds(gb5749_limits("plant_outlet", Disinfection.CHLORINE_DIOXIDE))
    assert dioxide[("chlorine_dioxide", Side.UPPER)] == 0.8
    assert dioxide[("chlorine_dioxide", Side.LOWER)] == 0.1
    assert dioxide[("chlorite", Side.UPPER)] == 0.7
    assert dioxide[("chlorate", Side.UPPER)] == 0.7
    ozone_tap = _bounds(gb5749_limits("tap", "ozone"))
    assert ozone_tap[("ozone", Side.LOWER)] == 0.02
    assert ozone_tap[("bromate", Side.UPPER)] == 0.01
    obac = _bounds(gb5749_limits("plant_outlet", ozone_plant=True))
    assert obac[("bromate", Side.UPPER)] == 0.01
    # no outlet residual is set for ozone (it does not last): only the upper limit
    assert ("ozone", Side.LOWER) not in _bounds(gb5749_limits("plant_outlet", "ozone"))


def test_every_preset_cites_its_clause() -> None:
    for point in SamplingPoint:
        for disinfection in Disinfection:
            for lim in gb5749_limits(point, disinfection, ozone_plant=True):
                assert "GB 5749-2022" in lim.clause, lim
                assert lim.unit in ("NTU", "1", "mg/L")


@pytest.mark.parametrize("point", list(SamplingPoint))
def test_presets_flag_exactly_beyond_the_cited_limits(point: SamplingPoint) -> None:
    """At the limit complies (the standard writes ≤ / ≥); one step beyond is an alarm."""
    for lim in with_persistence(gb5749_limits(point, ozone_plant=True), 0.0):
        beyond = np.nextafter(lim.bound, math.inf if lim.side is Side.UPPER else -math.inf)
        active, alarms = limit_alarms([0.0, 60.0], [lim.bound, lim.bound], lim)
        assert not active.any() and alarms == [], lim.name
        active, alarms = limit_alarms([0.0, 60.0], [lim.bound, beyond], lim)
        assert active.tolist() == [False, True], lim.name
        assert alarms[0].started_s == 60.0 and alarms[0].cleared_s is None


def test_hysteresis_prevents_chatter() -> None:
    times = np.arange(40) * 60.0
    hovering = 1.0 + 0.02 * np.where(np.arange(40) % 2 == 0, 1.0, -1.0)  # 1.02, 0.98, …
    chattering = Limit("turbidity", 1.0, Side.UPPER, "NTU", deadband=0.0)
    steady = Limit("turbidity", 1.0, Side.UPPER, "NTU", deadband=0.05)
    assert len(limit_alarms(times, hovering, chattering)[1]) == 20
    active, alarms = limit_alarms(times, hovering, steady)
    assert len(alarms) == 1 and active[1:].all()
    values = np.concatenate([hovering, [0.96, 0.95]])
    active, alarms = limit_alarms(np.arange(42) * 60.0, values, steady)
    assert alarms[0].cleared_s == 41 * 60.0  # 0.96 is not 0.05 inside; 0.95 is
    assert not active[-1] and active[-2]


def test_minimum_duration() -> None:
    lim = Limit("free_chlorine", 0.05, Side.LOWER, "mg/L", min_duration_s=300.0)
    times = np.arange(20) * 60.0
    short = np.full(20, 0.2)
    short[5:9] = 0.03  # 4 readings: 180 s from first to last
    assert limit_alarms(times, short, lim)[1] == []
    long = np.full(20, 0.2)
    long[5:12] = 0.03  # 360 s
    active, alarms = limit_alarms(times, long, lim)
    assert len(alarms) == 1
    assert alarms[0].started_s == 300.0
    assert alarms[0].raised_s == 600.0  # first reading 300 s after the excursion began
    assert alarms[0].cleared_s == 720.0
    assert active.tolist() == [False] * 10 + [True, True] + [False] * 8
    assert alarms[0].worst_value == 0.03


def test_gaps_change_nothing_and_time_must_not_go_back() -> None:
    lim = Limit("ph", 8.5, Side.UPPER, "1", deadband=0.05)
    monitor = LimitMonitor(lim)
    assert monitor.step(0.0, 8.7) is not None and monitor.active
    assert monitor.step(60.0, math.nan) is None and monitor.active
    cleared = monitor.step(120.0, 8.4)
    assert cleared is not None and cleared.cleared_s == 120.0 and not monitor.active
    with pytest.raises(ValueError, match="before the previous"):
        monitor.step(60.0, 8.0)


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="deadband"):
        Limit("ph", 8.5, Side.UPPER, "1", deadband=-0.1)
    with pytest.raises(ValueError, match="finite"):
        Limit("ph", math.nan, Side.UPPER, "1")
    with pytest.raises(ValueError):
        gb5749_limits("kitchen")


def test_alarm_table_for_several_sensors() -> None:
    index = pd.date_range("2026-05-01T00:00Z", periods=12, freq="1min")
    readings = pd.DataFrame({
        "TU-WTP1": [0.2] * 3 + [1.4] * 7 + [0.3] * 2,
        "CL-TAP7": [0.3] * 12,
    }, index=index)
    limits = {"TU-WTP1": gb5749_limits("plant_outlet"), "CL-TAP7": gb5749_limits("tap")}
    table = limit_alarm_table(readings, {k: [x for x in v if x.quantity in ("turbidity",
                                          "free_chlorine")] for k, v in limits.items()})
    assert table["sensor"].tolist() == ["TU-WTP1"]
    row = table.iloc[0]
    assert row["limit"] == "turbidity<=1"
    assert row["started"] == index[3]
    assert row["raised"] == index[8]  # 5 min of persistence by default
    assert row["cleared"] == index[10]
    assert row["worst_value"] == 1.4
