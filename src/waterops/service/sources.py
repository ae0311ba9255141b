"""Raw-water source use cases: the early-warning status of each source from its latest
raw-water readings, and the switch plan to the backup source (see
:mod:`waterops.emergency.sources`). Water-quality engineers, dispatchers and administrators
(:attr:`Permission.EMERGENCY_ANALYSE`).

Readings come from the intake analysers in the telemetry store (the demo has raw-water
turbidity at each intake, ``TU-RES-*``) and from values given with the request (laboratory
results such as ammonia-N or CODMn), which take precedence."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from waterops.data import demo_network_path
from waterops.emergency.sources import (
    RAW_WATER_LIMITS,
    RawWaterLimit,
    SourceStatus,
    SwitchPlan,
    assess_source,
    switch_plan,
)
from waterops.errors import ConfigError, ScenarioError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.model.accounts import Permission, User
from waterops.model.telemetry import Quantity
from waterops.model.utility import UtilityLayout
from waterops.service.auth import require
from waterops.store.telemetry_store import TelemetryStore

MAX_SWITCH_HORIZON_S = 7 * 86_400
"""Longest horizon of a switch plan [s]."""
ANALYSER_PARAMETERS: dict[Quantity, str] = {Quantity.TURBIDITY: "turbidity"}
"""Raw-water parameters read by analysers at a source's node (SI unit = the limit's unit)."""


class SourceService:
    """Source monitoring and switching over one network and layout."""

    def __init__(self, network_file: str | Path | None, layout: UtilityLayout, *,
                 limits: Mapping[str, RawWaterLimit] = RAW_WATER_LIMITS) -> None:
        self.network_file = Path(network_file) if network_file else demo_network_path()
        self.layout = layout
        self.limits = limits

    def measured(self, telemetry: TelemetryStore) -> dict[str, dict[str, float]]:
        """Latest value of every raw-water analyser at a source node, per source."""
        by_sensor = {sensor.id: (source.id, ANALYSER_PARAMETERS[sensor.quantity])
                     for source in self.layout.sources for sensor in self.layout.sensors
                     if sensor.element_id == source.node
                     and sensor.quantity in ANALYSER_PARAMETERS}
        out: dict[str, dict[str, float]] = {}
        if not by_sensor:
            return out
        latest = telemetry.latest(sorted(by_sensor))
        for sensor_id, value in zip(latest["sensor_id"], latest["value"], strict=True):
            if value == value:  # a lost reading is NaN
                source_id, parameter = by_sensor[str(sensor_id)]
                out.setdefault(source_id, {})[parameter] = float(value)
        return out

    def status(self, user: User, readings: Mapping[str, Mapping[str, float]], *,
               telemetry: TelemetryStore | None = None) -> list[SourceStatus]:
        """Early-warning status of every source of the layout; ``readings`` maps a source
        id to its latest raw-water values (parameter -> value), over those of the analysers
        in ``telemetry``; a source without readings is reported normal with no findings."""
        require(user, Permission.EMERGENCY_ANALYSE)
        known = {s.id for s in self.layout.sources}
        unknown = sorted(set(readings) - known)
        if unknown:
            raise ScenarioError(f"unknown source(s) {', '.join(unknown)}; the utility's "
                                f"sources: {', '.join(sorted(known))}")
        values = self.measured(telemetry) if telemetry is not None else {}
        for source_id, given in readings.items():
            values.setdefault(source_id, {}).update(given)
        return [assess_source(s.id, values.get(s.id, {}), self.limits)
                for s in self.layout.sources]

    def switch_plan(self, user: User, failed_source_id: str, *,
                    backup_source_id: str | None = None,
                    horizon_s: int = 48 * 3600) -> SwitchPlan:
        """The plan to replace a failed or polluted source by the backup."""
        require(user, Permission.EMERGENCY_ANALYSE)
        if not 0 < horizon_s <= MAX_SWITCH_HORIZON_S:
            raise ConfigError(f"the horizon must be between 1 s and {MAX_SWITCH_HORIZON_S} s, "
                              f"not {horizon_s}")
        with EpanetEngine.open(self.network_file) as engine:
            return switch_plan(engine, self.layout, failed_source_id,
                               backup_source_id=backup_source_id, horizon_s=horizon_s)
