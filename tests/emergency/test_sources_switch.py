"""Source early warning (GB 3838-2002 class III) and the switch to the backup source:
a two-source network checked by hand, and the demo utility's river intake."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from waterops.data import demo_network_path
from waterops.emergency.sources import (
    RAW_WATER_LIMITS,
    AlertLevel,
    assess_source,
    switch_plan,
)
from waterops.errors import ConfigError, QualityDataError, ScenarioError
from waterops.hydraulics import EpanetEngine
from waterops.model.utility import (
    Dma,
    SourceKind,
    TreatmentPlant,
    UtilityLayout,
    WaterSource,
)
from waterops.service.virtual_utility import build_demo_utility

V30 = 0.030 / (math.pi * 0.2**2 / 4)  # m/s in DN200 at 30 L/s
V10 = V30 / 3

# R1 (main, gravity) -PM1-> J1 -PM2-> PLANT -P3-> Z1 (20 L/s) -P4-> Z2 (10 L/s)
# R2 (backup) -PB (pump, closed)-> J2 -PB2-> PLANT
# backup water after the switch: J2 -> PLANT 0.75 h, PLANT -> Z1 0.75 h, Z1 -> Z2 1 h
TWO_SOURCES = f"""[TITLE]
two sources
[JUNCTIONS]
J1 0 0
J2 0 0
PLANT 0 0
Z1 0 20
Z2 0 10
[RESERVOIRS]
R1 80
R2 10
[PIPES]
PM1 R1 J1 1000 300 130 0 Open
PM2 J1 PLANT 1000 300 130 0 Open
PB2 J2 PLANT {V30 * 2700:.3f} 200 130 0 Open
P3 PLANT Z1 {V30 * 2700:.3f} 200 130 0 Open
P4 Z1 Z2 {V10 * 3600:.3f} 200 130 0 Open
[PUMPS]
PB R2 J2 HEAD CB
[CURVES]
CB 30 90
[STATUS]
PB Closed
[SOURCES]
PLANT SETPOINT 1.0
[TIMES]
DURATION 12:00
HYDRAULIC TIMESTEP 1:00
QUALITY TIMESTEP 0:05
REPORT TIMESTEP 1:00
[OPTIONS]
UNITS LPS
HEADLOSS H-W
QUALITY Chlorine mg/L
[END]
"""


def _layout() -> UtilityLayout:
    sources = (
        WaterSource("MAIN", SourceKind.RESERVOIR, "R1", ("PM1",), main_links=("PM1", "PM2")),
        WaterSource("BACKUP", SourceKind.RIVER, "R2", ("PB",), pumps=("PB",), backup=True),
    )
    plant = TreatmentPlant("WTP", "PLANT", "P3", "PLANT", (), ())
    dmas = (Dma("A", "s", ("Z1",), (), "Z1", "Z1"), Dma("B", "s", ("Z2",), (), "Z2", "Z2"))
    return UtilityLayout("two", "two.inp", None, (), sources, plant, dmas, (), (), (), ())


def test_switch_plan_on_two_sources_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "two.inp"
    path.write_text(TWO_SOURCES)
    with EpanetEngine.open(path) as engine:
        plan = switch_plan(engine, _layout(), "MAIN", horizon_s=12 * 3600)
        again = engine.run(duration_s=3600)  # the project was put back: PB closed again
    assert abs(again.link["flowrate"]["PB"]).max() < 1e-6
    assert plan.backup_source == "BACKUP"
    assert plan.actions == ("close PM2", "start pump PB (nominal speed)")
    a, b = plan.zones
    assert (a.share_before, b.share_before) == (pytest.approx(1.0), pytest.approx(1.0))
    assert a.changes_source and b.changes_source
    assert a.share_after == pytest.approx(1.0) and b.share_after == pytest.approx(1.0)
    # backup water reaches Z1 after 1.5 h and Z2 after 2.5 h: first hourly report at or past
    assert a.takes_effect_after_s == 7200
    assert b.takes_effect_after_s == 10800
    # before: 80 m of gravity head less friction; after: the pump's 90 m at 30 L/s plus 10 m
    assert 60 < a.min_pressure_before_m < 80
    assert a.min_pressure_after_m > a.min_pressure_before_m
    assert a.chlorine_after_mg_l == pytest.approx(1.0, abs=1e-3)


def test_switch_plan_refuses_unknown_and_backup_sources(tmp_path: Path) -> None:
    path = tmp_path / "two.inp"
    path.write_text(TWO_SOURCES)
    with EpanetEngine.open(path) as engine:
        with pytest.raises(ScenarioError, match="unknown source 'LAKE'"):
            switch_plan(engine, _layout(), "LAKE")
        with pytest.raises(ScenarioError, match="its own backup"):
            switch_plan(engine, _layout(), "BACKUP", backup_source_id="BACKUP")
        with pytest.raises(ConfigError):
            switch_plan(engine, _layout(), "MAIN", horizon_s=0)


@pytest.mark.parametrize(("parameter", "value", "level"), [
    ("ammonia_n", 0.5, AlertLevel.NORMAL),
    ("ammonia_n", 0.8, AlertLevel.WARNING),  # 80 % of 1.0 mg/L
    ("ammonia_n", 1.01, AlertLevel.ALARM),
    ("codmn", 6.5, AlertLevel.ALARM),
    ("ph", 7.5, AlertLevel.NORMAL),
    ("ph", 8.8, AlertLevel.WARNING),
    ("ph", 5.9, AlertLevel.ALARM),
    ("dissolved_oxygen", 7.0, AlertLevel.NORMAL),
    ("dissolved_oxygen", 5.5, AlertLevel.WARNING),
    ("dissolved_oxygen", 4.0, AlertLevel.ALARM),
    ("turbidity", 60.0, AlertLevel.WARNING),
])
def test_raw_water_levels(parameter: str, value: float, level: AlertLevel) -> None:
    assert RAW_WATER_LIMITS[parameter].level(value) is level


def test_source_status_is_the_worst_finding() -> None:
    status = assess_source("SRC-RIVER", {"ammonia_n": 0.85, "ph": 7.2, "codmn": 7.0})
    assert status.level is AlertLevel.ALARM
    assert [f.level for f in status.findings] == [AlertLevel.WARNING, AlertLevel.ALARM,
                                                  AlertLevel.NORMAL]
    assert "GB 3838-2002" in status.findings[0].limit
    with pytest.raises(QualityDataError, match="no limits for parameter 'lead'"):
        assess_source("SRC-RIVER", {"lead": 0.01})


@pytest.mark.slow
def test_demo_river_intake_takes_over_the_city() -> None:
    """The trunk main closed at the plant, both river pumps started: the river feeds the
    plant; zones near the clear-water tank switch within a day, the far ones later."""
    layout = build_demo_utility()
    with EpanetEngine.open(demo_network_path()) as engine:
        plan = switch_plan(engine, layout, "SRC-SHUIKU", horizon_s=24 * 3600)
    assert plan.actions[0] == "close TM-053"
    zones = {z.zone_id: z for z in plan.zones}
    assert all(z.share_before == pytest.approx(1.0, abs=1e-3) for z in plan.zones)
    quick = [z for z in plan.zones if z.takes_effect_after_s is not None]
    assert 2 <= len(quick) < len(plan.zones)
    assert all(3600 <= (z.takes_effect_after_s or 0) <= 86_400 for z in quick)
    assert zones["DMA-07"].takes_effect_after_s is not None
    # the switch keeps pressures: the clear-water tank and high-lift pumps are unchanged
    for z in plan.zones:
        assert z.min_pressure_after_m == pytest.approx(z.min_pressure_before_m, abs=0.5)
