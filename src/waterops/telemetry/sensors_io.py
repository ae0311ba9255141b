"""The sensor registry as CSV (import and export), and sensors placed from a network model.

Registry CSV: one row per sensor, a header naming the columns (any order; only ``id``,
``system`` and ``quantity`` are required):

=============  =====================================================================
column         meaning
=============  =====================================================================
id             stable sensor id, unique in the installation (``PT-101``, ``P-J12``)
system         water system id (created, named after its id, if the store lacks it)
site           site id the sensor sits at (optional)
site_kind      kind of the site (``tank``, ``pump_room``, ``dma_inlet`` …); given, the
               site is created or updated from this row; empty, the site must exist
site_name      the site's name (default: its id)
x, y           the site's map coordinates (in the system's coordinate system)
quantity       pressure, flow, level, chlorine, turbidity, ph, conductivity,
               temperature, pump_status, pump_speed, valve_position, power
unit           unit of ``lower``/``upper`` in this row (e.g. ``kPa``, ``L/s``);
               empty: SI (m, m³/s, mg/L …). Export writes SI and its unit.
lower, upper   plausible limits (the out-of-range quality flag)
element_kind   ``node`` or ``link``: what the sensor measures in the network model
element_id     the node or link id
interval_s     expected reporting interval: seconds, or a duration such as ``5min``
name           a readable name
attr.KEY       any further attribute (``attr.tag``, ``attr.vendor`` …), kept as text
=============  =====================================================================

Other columns are an error (a typo would otherwise drop data silently). Faults name
``file:line`` and the column. An import is checked whole before anything is written.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from waterops.errors import PayloadError, UnitError
from waterops.model.network import Network
from waterops.model.telemetry import SI_UNIT, Quantity, Sensor, Site, SiteKind, WaterSystem
from waterops.store import TelemetryStore
from waterops.telemetry.layout import SensorLayout, sensors_from_network
from waterops.telemetry.payloads import UNIT_KINDS
from waterops.units import parse_duration_s, to_si, unit_quantity

REGISTRY_COLUMNS = (
    "id", "system", "site", "site_kind", "site_name", "x", "y", "quantity", "unit",
    "lower", "upper", "element_kind", "element_id", "interval_s", "name",
)
"""Columns of the registry CSV, in the order export writes them (then ``attr.*``)."""
ATTRIBUTE_PREFIX = "attr."
_REQUIRED = ("id", "system", "quantity")


@dataclass(slots=True)
class Registry:
    """Sensors, the sites they define and the water systems they name."""

    sensors: list[Sensor] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    system_ids: list[str] = field(default_factory=list)
    site_refs: dict[str, str] = field(default_factory=dict)
    """Site ids named without a ``site_kind`` (must exist already) → where they were named."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did."""

    sensors: int
    new_sensors: int
    sites: int
    new_systems: list[str]


# -- reading ----------------------------------------------------------------------------------


def read_registry_csv(path: str | Path, *, encoding: str = "utf-8-sig") -> Registry:
    """Read and check a registry CSV file (see the module docstring)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding=encoding) as handle:
            return parse_registry_csv(handle, str(path))
    except OSError as exc:
        raise PayloadError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PayloadError(str(path), f"not {encoding} text ({exc.reason})") from exc


def parse_registry_csv(handle: TextIO, where: str = "<text>") -> Registry:
    """Parse registry CSV text from an open file; ``where`` names it in errors."""
    reader = csv.DictReader(handle)
    columns = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = columns
    unknown = [
        c for c in columns if c not in REGISTRY_COLUMNS and not c.startswith(ATTRIBUTE_PREFIX)
    ]
    if unknown:
        raise PayloadError(
            f"{where}:1",
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(REGISTRY_COLUMNS)}, attr.*",
        )
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise PayloadError(f"{where}:1", f"missing column(s) {', '.join(missing)}")
    registry = Registry()
    seen: dict[str, int] = {}
    sites: dict[str, tuple[Site, int]] = {}
    for row in reader:
        line = reader.line_num
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue
        sensor = _sensor_of(cells, f"{where}:{line}")
        if sensor.id in seen:
            raise PayloadError(
                f"{where}:{line}", f"sensor {sensor.id!r} is already on line {seen[sensor.id]}"
            )
        seen[sensor.id] = line
        registry.sensors.append(sensor)
        if sensor.system_id not in registry.system_ids:
            registry.system_ids.append(sensor.system_id)
        site = _site_of(cells, sensor, f"{where}:{line}")
        if site is None:
            if sensor.site_id is not None:
                registry.site_refs.setdefault(sensor.site_id, f"{where}:{line}")
        elif site.id in sites and sites[site.id][0] != site:
            raise PayloadError(
                f"{where}:{line}",
                f"site {site.id!r} differs from its description on line {sites[site.id][1]}",
            )
        else:
            sites.setdefault(site.id, (site, line))
    registry.sites = [s for s, _ in sites.values()]
    for site_id in list(registry.site_refs):
        if site_id in sites:
            del registry.site_refs[site_id]
    return registry


def _number(cells: dict[str, str], column: str, where: str) -> float | None:
    text = cells.get(column, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PayloadError(f"{where}: {column}", f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise PayloadError(f"{where}: {column}", f"{text!r} is not a finite number")
    return value


def _sensor_of(cells: dict[str, str], where: str) -> Sensor:
    for column in _REQUIRED:
        if not cells.get(column):
            raise PayloadError(f"{where}: {column}", "empty")
    try:
        quantity = Quantity(cells["quantity"].lower())
    except ValueError:
        raise PayloadError(
            f"{where}: quantity",
            f"unknown quantity {cells['quantity']!r}; known: {', '.join(Quantity)}",
        ) from None
    lower, upper = _number(cells, "lower", where), _number(cells, "upper", where)
    unit = cells.get("unit", "")
    if unit:
        try:
            kind = unit_quantity(unit)
        except UnitError as exc:
            raise PayloadError(f"{where}: unit", str(exc)) from None
        if kind not in UNIT_KINDS[quantity]:
            raise PayloadError(f"{where}: unit", f"unit {unit!r} measures {kind}, not {quantity}")
        lower = None if lower is None else to_si(lower, unit)
        upper = None if upper is None else to_si(upper, unit)
    if lower is not None and upper is not None and lower > upper:
        raise PayloadError(f"{where}: lower", f"lower limit {lower:g} is above upper {upper:g}")
    element_kind = cells.get("element_kind", "").lower() or None
    if element_kind not in (None, "node", "link"):
        raise PayloadError(f"{where}: element_kind", f"{element_kind!r} is not node or link")
    interval_s = None
    if cells.get("interval_s"):
        try:
            interval_s = float(parse_duration_s(cells["interval_s"]))
        except UnitError as exc:
            raise PayloadError(f"{where}: interval_s", str(exc)) from None
        if interval_s <= 0:
            raise PayloadError(f"{where}: interval_s", "the interval must be positive")
    attributes = {
        k[len(ATTRIBUTE_PREFIX):]: v for k, v in cells.items()
        if k.startswith(ATTRIBUTE_PREFIX) and v
    }
    return Sensor(
        id=cells["id"], system_id=cells["system"], quantity=quantity,
        site_id=cells.get("site") or None, element_kind=element_kind,
        element_id=cells.get("element_id") or None, lower=lower, upper=upper,
        interval_s=interval_s, name=cells.get("name", ""), attributes=attributes,
    )


def _site_of(cells: dict[str, str], sensor: Sensor, where: str) -> Site | None:
    x, y = _number(cells, "x", where), _number(cells, "y", where)
    kind_text = cells.get("site_kind", "")
    if sensor.site_id is None:
        if kind_text or x is not None or y is not None or cells.get("site_name"):
            raise PayloadError(f"{where}: site", "site_kind, site_name, x, y need a site id")
        return None
    if not kind_text:
        if x is not None or y is not None or cells.get("site_name"):
            raise PayloadError(f"{where}: site_kind", "a site described here needs its kind")
        return None
    try:
        kind = SiteKind(kind_text.lower())
    except ValueError:
        raise PayloadError(
            f"{where}: site_kind",
            f"unknown site kind {kind_text!r}; known: {', '.join(SiteKind)}",
        ) from None
    return Site(sensor.site_id, sensor.system_id, kind, cells.get("site_name") or sensor.site_id,
                x, y)


# -- writing to the store ---------------------------------------------------------------------


def store_registry(store: TelemetryStore, registry: Registry) -> ImportSummary:
    """Write a checked registry: missing water systems, then sites, then sensors (upserts).

    Raises
    ------
    PayloadError
        naming a site referred to without ``site_kind`` that the store does not have;
        nothing is written then.
    """
    known_sites = {s.id for s in store.sites()}
    missing = {s: w for s, w in registry.site_refs.items() if s not in known_sites}
    if missing:
        site_id, at = next(iter(missing.items()))
        raise PayloadError(
            f"{at}: site", f"unknown site {site_id!r}; give its site_kind to create it"
        )
    known_systems = {s.id for s in store.systems()}
    new_systems = [s for s in registry.system_ids if s not in known_systems]
    new_systems += [s.system_id for s in registry.sites
                    if s.system_id not in known_systems and s.system_id not in new_systems]
    known_sensors = {s.id for s in store.sensors()}
    store.upsert_systems(WaterSystem(s, s) for s in new_systems)
    store.upsert_sites(registry.sites)
    store.upsert_sensors(registry.sensors)
    return ImportSummary(
        sensors=len(registry.sensors),
        new_sensors=sum(1 for s in registry.sensors if s.id not in known_sensors),
        sites=len(registry.sites),
        new_systems=new_systems,
    )


def import_sensors_csv(store: TelemetryStore, path: str | Path) -> ImportSummary:
    """Import a registry CSV file into the store (checked whole first; see the module doc)."""
    return store_registry(store, read_registry_csv(path))


def register_network_sensors(
    store: TelemetryStore, net: Network, system_id: str, *,
    layout: SensorLayout | None = None, network_file: str | None = None,
) -> ImportSummary:
    """Place sensors on ``net`` (:func:`sensors_from_network`) and store them with their sites.

    The water system is created (or its network file updated). A sensor id that exists in
    another water system is an error (give the layout a ``prefix``); nothing is written then.
    """
    placed = sensors_from_network(net, system_id, layout=layout)
    others = {s.id: s.system_id for s in store.sensors() if s.system_id != system_id}
    clash = [s.id for s in placed.sensors if s.id in others]
    if clash:
        raise PayloadError(
            f"system {system_id}",
            f"sensor id(s) {', '.join(clash[:5])} already belong to system "
            f"{others[clash[0]]}; give an id prefix (--prefix)",
        )
    existing = {s.id: s for s in store.systems()}
    name = existing[system_id].name if system_id in existing else system_id
    store.upsert_systems([WaterSystem(system_id, name, network_file)])
    registry = Registry(sensors=placed.sensors, sites=placed.sites, system_ids=[system_id])
    summary = store_registry(store, registry)
    new_systems = [] if system_id in existing else [system_id]
    return ImportSummary(summary.sensors, summary.new_sensors, summary.sites, new_systems)


# -- writing CSV ------------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return str(value)


def registry_rows(sensors: Iterable[Sensor], sites: Iterable[Site]) -> list[dict[str, str]]:
    """Registry CSV rows of ``sensors`` (limits in SI, with their unit) and their sites."""
    site_of = {s.id: s for s in sites}
    rows = []
    for sensor in sorted(sensors, key=lambda s: s.id):
        site = site_of.get(sensor.site_id) if sensor.site_id else None
        row = {
            "id": sensor.id, "system": sensor.system_id, "site": sensor.site_id or "",
            "site_kind": site.kind.value if site else "", "site_name": site.name if site else "",
            "x": _text(site.x) if site else "", "y": _text(site.y) if site else "",
            "quantity": sensor.quantity.value, "unit": SI_UNIT[sensor.quantity],
            "lower": _text(sensor.lower), "upper": _text(sensor.upper),
            "element_kind": sensor.element_kind or "", "element_id": sensor.element_id or "",
            "interval_s": _text(sensor.interval_s), "name": sensor.name,
        }
        row.update({f"{ATTRIBUTE_PREFIX}{k}": v for k, v in sorted(sensor.attributes.items())})
        rows.append(row)
    return rows


def format_registry_csv(sensors: Iterable[Sensor], sites: Iterable[Site]) -> str:
    """The registry CSV text of ``sensors`` and their ``sites``."""
    rows = registry_rows(sensors, sites)
    extra = sorted({k for r in rows for k in r if k.startswith(ATTRIBUTE_PREFIX)})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*REGISTRY_COLUMNS, *extra], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def export_sensors_csv(store: TelemetryStore, system_id: str | None = None) -> str:
    """The registry CSV of the store's sensors (of one water system, or all)."""
    return format_registry_csv(store.sensors(system_id), store.sites(system_id))
