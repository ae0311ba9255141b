"""Read water-balance inputs from a CSV or TOML file (one record per system or DMA and period).

Keys (CSV columns, or keys of each ``[[balance]]`` table in TOML)
-----------------------------------------------------------------
required   ``scope`` (``system`` or ``dma``), ``scope_id``, ``period_start``, ``period_end``
           (ISO dates, both days included), ``system_input_m3``, ``billed_metered_m3``
optional   ``system_id`` (default: ``scope_id`` for a system), ``billed_unmetered_m3``,
           ``unbilled_metered_m3``, ``unbilled_unmetered_m3``, ``unauthorised_m3``,
           ``metering_inaccuracy_m3``, ``data_handling_errors_m3`` (default 0);
           ``<volume>_accuracy_pct`` (± at 95 %, default
           :data:`waterops.planning.water_balance.DEFAULT_ACCURACY`);
           infrastructure: ``mains_km``, ``connections``, ``private_pipe_km``, ``pressure_m``,
           ``mains_dn75_km``, ``household_metered_m3``, ``outlet_pressure_mpa``,
           ``frost_depth_m``

An unknown key, a missing required value, a bad number or date is a
:class:`~waterops.errors.BalanceInputError` naming the file, the line (CSV) or record (TOML)
and the key; a file with any bad record yields nothing.
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path

from waterops.errors import BalanceInputError
from waterops.planning.water_balance import (
    DEFAULT_ACCURACY,
    VOLUME_FIELDS,
    BalanceInput,
    Infrastructure,
    Volume,
)

REQUIRED = ("scope", "scope_id", "period_start", "period_end", "system_input_m3",
            "billed_metered_m3")
INFRASTRUCTURE_KEYS = tuple(f.name for f in fields(Infrastructure))
KNOWN_KEYS = frozenset(
    ("scope", "scope_id", "system_id", "period_start", "period_end", *INFRASTRUCTURE_KEYS,
     *(f"{v}_m3" for v in VOLUME_FIELDS), *(f"{v}_accuracy_pct" for v in VOLUME_FIELDS)))


def read_balance_inputs(path: str | Path) -> list[BalanceInput]:
    """The balance inputs of a ``.csv`` or ``.toml`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".toml"):
        raise BalanceInputError(path, f"unknown file type {suffix!r}: use .csv or .toml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BalanceInputError(path, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BalanceInputError(path, "not UTF-8 text") from exc
    if suffix == ".csv":
        return parse_balance_csv(text, str(path))
    return parse_balance_toml(text, str(path))


def parse_balance_csv(text: str, source: str = "<csv>") -> list[BalanceInput]:
    """Balance inputs from CSV text with a header line."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if not header:
        raise BalanceInputError(source, "empty file: expected a header line")
    _check_keys(header, f"{source}:1")
    missing = [k for k in REQUIRED if k not in header]
    if missing:
        raise BalanceInputError(f"{source}:1", f"missing column(s) {', '.join(missing)}")
    records = []
    for row in reader:
        where = f"{source}:{reader.line_num}"
        if None in row:
            raise BalanceInputError(where, "more values than header columns")
        values = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
        records.append(parse_balance_record(values, where))
    if not records:
        raise BalanceInputError(source, "no records after the header")
    _check_unique(records, source)
    return records


def parse_balance_toml(text: str, source: str = "<toml>") -> list[BalanceInput]:
    """Balance inputs from TOML text: an array of tables ``[[balance]]``."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BalanceInputError(source, f"not valid TOML: {exc}") from exc
    tables = document.get("balance")
    if not isinstance(tables, list) or not tables:
        raise BalanceInputError(source, "expected one or more [[balance]] tables")
    records = []
    for number, table in enumerate(tables, start=1):
        where = f"{source}: [[balance]] #{number}"
        if not isinstance(table, dict):
            raise BalanceInputError(where, "not a table")
        _check_keys(table, where)
        missing = [k for k in REQUIRED if k not in table]
        if missing:
            raise BalanceInputError(where, f"missing key(s) {', '.join(missing)}")
        records.append(parse_balance_record(table, where))
    _check_unique(records, source)
    return records


def parse_balance_record(values: Mapping[str, object], where: str) -> BalanceInput:
    """One balance input from a mapping of the keys above (strings or TOML values)."""
    _check_keys(values, where)
    for key in REQUIRED:
        if key not in values:
            raise BalanceInputError(where, f"{key} is empty")
    scope = _text(values, "scope", where).lower()
    scope_id = _text(values, "scope_id", where)
    system_id = _text(values, "system_id", where) if "system_id" in values else None
    if system_id is None:
        if scope == "dma":
            raise BalanceInputError(where, "system_id is needed for a DMA")
        system_id = scope_id
    volumes = {}
    for name in VOLUME_FIELDS:
        m3 = _number(values, f"{name}_m3", where, default=0.0)
        pct = _number(values, f"{name}_accuracy_pct", where,
                      default=100.0 * DEFAULT_ACCURACY[name])
        volumes[name] = Volume(m3, pct / 100.0)
    infra = Infrastructure(**{
        key: (_number(values, key, where) if key in values else None)
        for key in INFRASTRUCTURE_KEYS})
    return BalanceInput(scope=scope, scope_id=scope_id, system_id=system_id,
                        period_start=_date(values, "period_start", where),
                        period_end=_date(values, "period_end", where),
                        infrastructure=infra, source=where, **volumes)


def _check_keys(keys: object, where: str) -> None:
    unknown = sorted(str(k) for k in keys if k not in KNOWN_KEYS)  # type: ignore[attr-defined]
    if unknown:
        raise BalanceInputError(where, f"unknown key(s) {', '.join(unknown)}; "
                                       f"known: {', '.join(sorted(KNOWN_KEYS))}")


def _check_unique(records: list[BalanceInput], source: str) -> None:
    seen: dict[tuple[str, str, date, date], str] = {}
    for r in records:
        key = (r.scope, r.scope_id, r.period_start, r.period_end)
        if key in seen:
            raise BalanceInputError(r.source, f"{r.scope} {r.scope_id} {r.period} appears "
                                              f"twice (first at {seen[key]})")
        seen[key] = r.source


def _text(values: Mapping[str, object], key: str, where: str) -> str:
    value = values[key]
    if not isinstance(value, str) or not value.strip():
        raise BalanceInputError(where, f"{key} must be text, got {value!r}")
    return value.strip()


def _number(values: Mapping[str, object], key: str, where: str,
            default: float | None = None) -> float:
    if key not in values:
        if default is None:
            raise BalanceInputError(where, f"{key} is missing")
        return default
    value = values[key]
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BalanceInputError(where, f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise BalanceInputError(where, f"{key} must be a finite number >= 0, got {value!r}")
    return number


def _date(values: Mapping[str, object], key: str, where: str) -> date:
    value = values[key]
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BalanceInputError(where, f"{key} must be an ISO date (YYYY-MM-DD), "
                                       f"got {value!r}") from None
