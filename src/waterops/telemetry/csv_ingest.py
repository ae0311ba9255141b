"""Ingest telemetry from CSV files: wide SCADA exports and long (sensor, time, value) files.

Two layouts, told apart by the header (names are case-insensitive):

wide
    a ``Timestamp`` column (also ``time``, ``datetime``) and one column per sensor, named by
    the sensor id: the usual SCADA export. An empty cell means "no reading". An optional
    **unit row** right under the header, with ``unit`` in the timestamp column, gives each
    sensor column's unit (an empty cell: SI).
long
    columns ``sensor`` (or ``sensor_id``), ``time`` (or ``timestamp``) and ``value``, and
    optionally ``unit`` (per row; empty: SI). Every row is one reading; an empty value is an
    error.

Times are ISO 8601 (``2024-05-01 08:00``, ``2024-05-01T08:00:00+08:00``, ``2024/05/01 08:00``).
A time with a UTC offset (or ``Z``) is taken as given. A time without one is local time of
the file's zone, the ``tz`` option (an IANA name such as ``Asia/Shanghai``), **UTC unless
said otherwise** - a Chinese utility's SCADA exports Beijing time, so say ``--tz
Asia/Shanghai``. A local time that does not exist or is ambiguous (daylight-saving changes)
is an error naming its line.

Values are SI (pressure as m of head, flow m³/s …) unless a unit is given: the unit row or
column, or ``units={"PT-101": "kPa"}`` (``--unit PT-101=kPa``), which wins. kPa, bar, MPa,
mH2O → m; L/s, m³/h → m³/s; every unit :mod:`waterops.units` knows, if it fits the sensor's
quantity.

A faulty cell is reported as ``file:line:column: reason`` (``line`` counts the header as 1).

**A file is ingested whole or not at all**: every chunk is written in one database
transaction, which is rolled back on the first fault, so a failed file leaves nothing behind
and can be fixed and run again. Re-running a file that was ingested is harmless: readings
already stored (same sensor and time) are counted as duplicates and kept as they were.
Memory stays flat whatever the file's size: it is read and written about
:data:`CHUNK_READINGS` readings at a time (``chunk_rows`` rows if given).

Quality flags (:mod:`waterops.telemetry.quality`) are computed for every reading against the
readings before it in time, stored or in the file, so a file gives the same flags whether it
comes in one piece or many, in any row order. Rows may be out of order; readings stored
*earlier* keep their flags when an older reading arrives after them (flags are never
rewritten behind the operator's back; :meth:`TelemetryStore.set_flags` can re-flag).

Unknown sensor ids are an error naming them (nothing stored) unless ``create_sensors`` is
set: then each is registered in ``system_id`` with its quantity taken from ``quantity`` or
else guessed from the id's letter prefix (:data:`QUANTITY_PREFIXES`: ``PT-101`` pressure,
``FT-7`` flow, ``CL2`` chlorine …), its unit from the file, and its expected interval from
the median step of its first readings.
"""

from __future__ import annotations

import contextlib
import csv
import json
import queue
import re
import threading
import zoneinfo
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from waterops.errors import ConfigError, PayloadError, UnitError
from waterops.model.telemetry import QualityFlag, Quantity, Sensor
from waterops.store import TelemetryStore, bulk, tables
from waterops.store.engine import WRITE_OPTION
from waterops.telemetry.payloads import UNIT_KINDS
from waterops.telemetry.quality import (
    US_PER_S,
    ContextNeed,
    context_need,
    context_slice,
    quality_flags,
    rules_for,
)
from waterops.units import to_si, unit_quantity

Layout = Literal["wide", "long"]

CHUNK_READINGS = 500_000
"""Readings read, checked and written at a time: about 50 MB of working memory, and few
enough round trips that the database, not Python, sets the pace."""


def default_chunk_rows(header: CsvHeader) -> int:
    """Rows per chunk that hold about :data:`CHUNK_READINGS` readings."""
    per_row = len(header.sensor_columns) if header.layout == "wide" else 1
    return max(1, CHUNK_READINGS // per_row)

_TIME_NAMES = ("timestamp", "time", "datetime", "date_time")
_SENSOR_NAMES = ("sensor", "sensor_id")
_VALUE_NAMES = ("value",)
_UNIT_NAMES = ("unit",)
_UNIT_ROW_MARKERS = frozenset({"unit", "units"})
_TRUE_FALSE = {"true": "1", "false": "0"}
_UTC_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)

QUANTITY_PREFIXES: dict[str, Quantity] = {
    "P": Quantity.PRESSURE, "PT": Quantity.PRESSURE, "PI": Quantity.PRESSURE,
    "PRESS": Quantity.PRESSURE, "PRESSURE": Quantity.PRESSURE,
    "Q": Quantity.FLOW, "F": Quantity.FLOW, "FT": Quantity.FLOW, "FI": Quantity.FLOW,
    "FLOW": Quantity.FLOW,
    "L": Quantity.LEVEL, "LT": Quantity.LEVEL, "LI": Quantity.LEVEL, "LEVEL": Quantity.LEVEL,
    "CL": Quantity.CHLORINE, "CL2": Quantity.CHLORINE, "CHLORINE": Quantity.CHLORINE,
    "TURB": Quantity.TURBIDITY, "NTU": Quantity.TURBIDITY, "TURBIDITY": Quantity.TURBIDITY,
    "PH": Quantity.PH,
    "EC": Quantity.CONDUCTIVITY, "COND": Quantity.CONDUCTIVITY,
    "T": Quantity.TEMPERATURE, "TT": Quantity.TEMPERATURE, "TEMP": Quantity.TEMPERATURE,
    "S": Quantity.PUMP_STATUS, "RUN": Quantity.PUMP_STATUS, "STATUS": Quantity.PUMP_STATUS,
    "SPD": Quantity.PUMP_SPEED, "SPEED": Quantity.PUMP_SPEED, "SC": Quantity.PUMP_SPEED,
    "V": Quantity.VALVE_POSITION, "ZT": Quantity.VALVE_POSITION, "VALVE": Quantity.VALVE_POSITION,
    "KW": Quantity.POWER, "JT": Quantity.POWER, "POWER": Quantity.POWER,
}
"""Letter prefixes of sensor ids (ISA-5.1 tags and waterops' own ``P-``, ``Q-``, ``L-``,
``CL-``, ``S-`` ids) and the quantity they stand for; the prefix is the id's leading letters
(``PT-101`` → ``PT``, ``CL2_out`` → ``CL``), matched case-insensitively."""


@dataclass(frozen=True, slots=True)
class CsvHeader:
    """What the first lines of a file say: layout, columns and units."""

    path: Path
    layout: Layout
    columns: tuple[str, ...]
    time_column: str
    sensor_columns: tuple[str, ...] = ()
    """Wide: the sensor ids (column names) in file order."""
    sensor_column: str | None = None
    value_column: str | None = None
    unit_column: str | None = None
    units: Mapping[str, str] = field(default_factory=dict)
    """Wide: unit of each sensor column from the unit row (SI when absent)."""
    has_unit_row: bool = False

    @property
    def first_data_line(self) -> int:
        """1-based line number of the first data row."""
        return 3 if self.has_unit_row else 2

    def column_number(self, name: str) -> int:
        """1-based position of a column (for error messages)."""
        return self.columns.index(name) + 1


@dataclass(slots=True)
class ReadingChunk:
    """Readings of a few thousand rows, checked and in SI, grouped by nothing yet.

    ``sensor_ids[codes[i]]`` is the sensor of reading ``i``.
    """

    sensor_ids: list[str]
    codes: npt.NDArray[np.int64]
    times_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    rows: int
    """Data rows of the file in this chunk."""


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def read_header(path: str | Path, *, encoding: str = "utf-8-sig") -> CsvHeader:
    """Read the header (and unit row) of a telemetry CSV file and tell its layout.

    Raises
    ------
    PayloadError
        naming ``file:1`` when the header fits neither layout or repeats a column.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            second = next(reader, None)
    except OSError as exc:
        raise PayloadError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PayloadError(
            str(path), f"not {encoding} text ({exc.reason}); give the file's encoding, e.g. gbk"
        ) from exc
    if not header or not any(c.strip() for c in header):
        raise PayloadError(f"{path}:1", "the file has no header row")
    columns = [c.strip() for c in header]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise PayloadError(f"{path}:1", f"column(s) named twice: {', '.join(repeated)}")
    time_col = _find(columns, _TIME_NAMES)
    sensor_col = _find(columns, _SENSOR_NAMES)
    value_col = _find(columns, _VALUE_NAMES)
    if sensor_col and value_col and time_col:
        unit_col = _find(columns, _UNIT_NAMES)
        extra = [c for c in columns if c not in (sensor_col, time_col, value_col, unit_col)]
        if extra:
            raise PayloadError(
                f"{path}:1",
                f"a long file has the columns sensor, time, value[, unit]; "
                f"unexpected: {', '.join(extra)}",
            )
        return CsvHeader(
            path, "long", tuple(columns), time_col, sensor_column=sensor_col,
            value_column=value_col, unit_column=unit_col,
        )
    if time_col is None:
        raise PayloadError(
            f"{path}:1",
            "no Timestamp column: a wide file needs 'Timestamp' and one column per sensor, "
            "a long file the columns sensor, time, value",
        )
    sensor_columns = tuple(c for c in columns if c != time_col)
    if not sensor_columns or any(not c for c in sensor_columns):
        raise PayloadError(f"{path}:1", "every column besides Timestamp must name a sensor")
    units: dict[str, str] = {}
    has_unit_row = False
    if second is not None and len(second) == len(columns):
        marker = second[columns.index(time_col)].strip().lower()
        if marker in _UNIT_ROW_MARKERS:
            has_unit_row = True
            for name, cell in zip(columns, second, strict=True):
                if name != time_col and cell.strip():
                    units[name] = _checked_unit(cell.strip(), f"{path}:2:{columns.index(name) + 1}")
    return CsvHeader(
        path, "wide", tuple(columns), time_col, sensor_columns=sensor_columns,
        units=units, has_unit_row=has_unit_row,
    )


def _checked_unit(unit: str, where: str) -> str:
    try:
        unit_quantity(unit)
    except UnitError as exc:
        raise PayloadError(where, str(exc)) from None
    return unit


def check_unit_fits(unit: str, sensor: Sensor, where: str) -> None:
    """Raise :class:`PayloadError` at ``where`` if ``unit`` cannot measure ``sensor``'s quantity."""
    kind = unit_quantity(_checked_unit(unit, where))
    if kind not in UNIT_KINDS[sensor.quantity]:
        raise PayloadError(
            where, f"unit {unit!r} measures {kind}; sensor {sensor.id} measures {sensor.quantity}"
        )


def si_factor(unit: str | None) -> tuple[float, float]:
    """``(factor, offset)`` with ``SI value = value × factor + offset`` (SI: ``(1, 0)``)."""
    if unit is None:
        return 1.0, 0.0
    offset = to_si(0.0, unit)
    return to_si(1.0, unit) - offset, offset


def guess_quantity(sensor_id: str) -> Quantity | None:
    """The quantity a sensor id's letter prefix stands for (:data:`QUANTITY_PREFIXES`)."""
    match = re.match(r"[A-Za-z]+\d?", sensor_id)
    if not match:
        return None
    prefix = match.group(0).upper()
    # "CL2" is a prefix of its own; otherwise trailing digits belong to the tag number
    if prefix in QUANTITY_PREFIXES:
        return QUANTITY_PREFIXES[prefix]
    return QUANTITY_PREFIXES.get(prefix.rstrip("0123456789"))


def check_time_zone(tz: str) -> zoneinfo.ZoneInfo:
    """The zone named ``tz`` (IANA name, e.g. ``Asia/Shanghai`` or ``UTC``)."""
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {tz!r}; give an IANA name such as UTC or Asia/Shanghai"
        ) from None


def distinct_text(cells: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Series]:
    """Each cell's code and the distinct texts (stripped, empty cells as ``""``), in order of
    first appearance: ``distinct.iloc[codes[i]]`` is cell ``i``'s text.

    A categorical column (long files are read so: sensor ids and times repeat) is handled on
    its categories, without making a text object per cell.
    """
    if isinstance(cells.dtype, pd.CategoricalDtype):
        raw = cells.cat.codes.to_numpy(dtype=np.int64)
        categories = pd.Series(cells.cat.categories.astype("str"), dtype="str").str.strip()
        texts = np.append(categories.to_numpy(dtype=object), "")  # code -1 (empty cell) → ""
        raw = np.where(raw < 0, len(texts) - 1, raw)
    else:
        raw, uniques = pd.factorize(cells.fillna("").astype("str").str.strip())
        texts = np.asarray(uniques, dtype=object)
    # merge texts equal after stripping, keep only those present, in order of appearance
    merged, merged_texts = pd.factorize(pd.Series(texts, dtype="str"))
    codes, present = pd.factorize(merged[raw])
    distinct = pd.Series(np.asarray(merged_texts, dtype=object)[present], dtype="str")
    return codes.astype(np.int64), distinct


def parse_times_us(
    cells: pd.Series, tz: str, where: str, column: int, lines: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Parse timestamp cells into µs since the epoch (UTC).

    Parameters
    ----------
    cells : text of the timestamp column, one entry per data row
    tz : zone of times without a UTC offset
    where : the file, for error messages
    column : 1-based column number of the timestamps
    lines : line number of each cell
    """
    # SCADA and historian files repeat each time (a long file once per sensor): parse each
    # distinct text once
    codes, text = distinct_text(cells)

    def first_row(j: int) -> int:
        return int(np.flatnonzero(codes == j)[0])

    aware = text.str.contains(_UTC_OFFSET, regex=True).to_numpy(dtype=bool)
    parsed = np.full(len(text), np.iinfo(np.int64).min, dtype=np.int64)
    if aware.any():
        stamps = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
        parsed[aware] = _as_us(stamps)
    naive = ~aware
    if naive.any():
        stamps = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):  # pragma: no cover - guarded by regex
            stamps = stamps.dt.tz_convert("UTC")
        else:
            readable = stamps.notna().to_numpy()
            local = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            unclear = readable & local.isna().to_numpy()
            if unclear.any():
                j = int(np.flatnonzero(naive)[np.flatnonzero(unclear)[0]])
                raise PayloadError(
                    f"{where}:{lines[first_row(j)]}:{column}",
                    f"local time {text.iloc[j]!r} does not exist or is ambiguous in {tz} "
                    "(daylight-saving change); give it with a UTC offset",
                )
            stamps = local.dt.tz_convert("UTC")
        parsed[naive] = _as_us(stamps)
    bad = parsed == np.iinfo(np.int64).min
    if bad.any():
        # report the first bad cell of the file, not of the distinct texts
        i = min(first_row(int(j)) for j in np.flatnonzero(bad))
        cell = text.iloc[codes[i]]
        reason = "the time is empty" if not cell else f"cannot read time {cell!r}"
        raise PayloadError(f"{where}:{lines[i]}:{column}", f"{reason} (use ISO 8601)")
    return parsed[codes]


def _as_us(stamps: pd.Series) -> npt.NDArray[np.int64]:
    values = stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    out = values.to_numpy().view(np.int64).copy()
    out[values.isna().to_numpy()] = np.iinfo(np.int64).min
    return np.asarray(out, dtype=np.int64)


def parse_values(
    cells: pd.Series, where: str, column: int, lines: npt.NDArray[np.int64], *, empty_ok: bool
) -> npt.NDArray[np.float64]:
    """Numbers of a value column; empty cells are NaN when ``empty_ok``, else an error.

    ``true``/``false`` (any case) read as 1/0 (pump status exports). Anything else that is
    not a finite number is an error naming its line and column.
    """
    if pd.api.types.is_numeric_dtype(cells.dtype) and not pd.api.types.is_bool_dtype(cells.dtype):
        values = np.array(cells.to_numpy(dtype=np.float64, na_value=np.nan))  # writable copy
        text = None
    else:
        text = cells.fillna("").astype("str").str.strip()
        lowered = text.str.lower().replace(_TRUE_FALSE)
        numbers = pd.to_numeric(lowered, errors="coerce")
        values = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
    empty = np.array(cells.isna().to_numpy(), dtype=bool)
    if text is not None:
        empty |= (text == "").to_numpy()
    bad = ~np.isfinite(values) & ~empty
    if not empty_ok:
        bad |= empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if empty[i]:
            reason = "the value is empty"
        else:
            raw = text.iloc[i] if text is not None else repr(values[i])
            reason = f"value {raw!r} is not a finite number"
        raise PayloadError(f"{where}:{lines[i]}:{column}", reason)
    return values


def iter_chunks(
    header: CsvHeader,
    *,
    tz: str = "UTC",
    units: Mapping[str, str] | None = None,
    sensors: Mapping[str, Sensor] | None = None,
    chunk_rows: int | None = None,
    encoding: str = "utf-8-sig",
) -> Generator[ReadingChunk]:
    """Read a telemetry file chunk by chunk, checked and converted to SI.

    Parameters
    ----------
    header : from :func:`read_header`
    tz : zone of times without a UTC offset
    units : unit per sensor id, winning over the file's unit row or column
    sensors : the registry, to check that each unit fits its sensor's quantity (a sensor
        missing here is not checked)
    chunk_rows : data rows per chunk (default: :func:`default_chunk_rows`)
    encoding : text encoding of the file
    """
    check_time_zone(tz)
    units = dict(units or {})
    sensors = {} if sensors is None else sensors
    where = str(header.path)
    skip = [1] if header.has_unit_row else None
    dtypes = {header.time_column: "str"}
    if header.layout == "long":
        assert header.sensor_column is not None
        # sensor ids and times repeat: categories save a text object per cell
        dtypes[header.sensor_column] = "category"
        dtypes[header.time_column] = "category"
        if header.unit_column is not None:
            dtypes[header.unit_column] = "str"
    reader = pd.read_csv(
        header.path, skiprows=skip, dtype=dtypes, keep_default_na=False, na_values=[""],
        skip_blank_lines=False, chunksize=chunk_rows or default_chunk_rows(header),
        encoding=encoding,
        skipinitialspace=True,
    )
    line = header.first_data_line
    try:
        for frame in reader:
            frame.columns = pd.Index([str(c).strip() for c in frame.columns])
            lines = line + np.arange(len(frame), dtype=np.int64)
            line += len(frame)
            blank = frame.isna().all(axis=1).to_numpy()  # empty lines: nothing to read
            if blank.any():
                frame, lines = frame.loc[~blank], lines[~blank]
            if header.layout == "wide":
                yield _wide_chunk(frame, header, tz, units, sensors, lines)
            else:
                yield _long_chunk(frame, header, tz, units, sensors, lines)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"{where}:{line}", f"cannot read the CSV: {exc}") from exc


def _wide_chunk(
    frame: pd.DataFrame, header: CsvHeader, tz: str, units: Mapping[str, str],
    sensors: Mapping[str, Sensor], lines: npt.NDArray[np.int64],
) -> ReadingChunk:
    where = str(header.path)
    times = parse_times_us(
        frame[header.time_column], tz, where, header.column_number(header.time_column), lines
    )
    codes, all_times, all_values = [], [], []
    for code, sensor_id in enumerate(header.sensor_columns):
        column = header.column_number(sensor_id)
        values = parse_values(frame[sensor_id], where, column, lines, empty_ok=True)
        unit = units.get(sensor_id) or header.units.get(sensor_id)
        if unit is not None and sensor_id in sensors:
            check_unit_fits(unit, sensors[sensor_id], f"{where}:{column}")
        factor, offset = si_factor(unit)
        present = ~np.isnan(values)
        codes.append(np.full(int(present.sum()), code, dtype=np.int64))
        all_times.append(times[present])
        all_values.append(values[present] * factor + offset)
    return ReadingChunk(
        list(header.sensor_columns),
        np.concatenate(codes) if codes else np.empty(0, np.int64),
        np.concatenate(all_times) if all_times else np.empty(0, np.int64),
        np.concatenate(all_values) if all_values else np.empty(0, np.float64),
        rows=len(frame),
    )


def _long_chunk(
    frame: pd.DataFrame, header: CsvHeader, tz: str, units: Mapping[str, str],
    sensors: Mapping[str, Sensor], lines: npt.NDArray[np.int64],
) -> ReadingChunk:
    assert header.sensor_column is not None and header.value_column is not None
    where = str(header.path)
    codes, sensor_ids = distinct_text(frame[header.sensor_column])
    ids = [str(s) for s in sensor_ids]
    if "" in ids:
        i = int(np.flatnonzero(codes == ids.index(""))[0])
        raise PayloadError(
            f"{where}:{lines[i]}:{header.column_number(header.sensor_column)}",
            "the sensor is empty",
        )
    times = parse_times_us(
        frame[header.time_column], tz, where, header.column_number(header.time_column), lines
    )
    value_col = header.column_number(header.value_column)
    values = parse_values(frame[header.value_column], where, value_col, lines, empty_ok=False)
    # unit per row: the option for the sensor wins, then the unit column, else SI
    row_units = np.full(len(frame), "", dtype=object)
    if header.unit_column is not None:
        row_units = frame[header.unit_column].fillna("").astype("str").str.strip().to_numpy(object)
    for code, sensor_id in enumerate(ids):
        if sensor_id in units:
            row_units[codes == code] = units[sensor_id]
    if (row_units != "").any():
        unit_col = header.column_number(header.unit_column) if header.unit_column else value_col
        pairs = pd.DataFrame({"code": codes, "unit": row_units}).drop_duplicates()
        for code, unit in pairs.itertuples(index=False):
            if not unit:
                continue
            rows = (codes == code) & (row_units == unit)
            line = int(lines[np.flatnonzero(rows)[0]])
            if ids[code] in sensors:
                check_unit_fits(unit, sensors[ids[code]], f"{where}:{line}:{unit_col}")
            else:
                _checked_unit(unit, f"{where}:{line}:{unit_col}")
            factor, offset = si_factor(unit)
            values[rows] = values[rows] * factor + offset
    return ReadingChunk(ids, codes.astype(np.int64), times, values, rows=len(frame))


# -- writing a file into the store --------------------------------------------------------------


@dataclass(slots=True)
class IngestSummary:
    """What ingesting one file did.

    ``readings`` counts the file's readings (non-empty cells); ``new`` those stored now;
    ``duplicates`` those already stored or repeated in the file; ``flagged`` the file's
    readings carrying each quality flag.
    """

    path: Path
    layout: Layout
    rows: int = 0
    readings: int = 0
    new: int = 0
    duplicates: int = 0
    sensors: int = 0
    created_sensors: list[str] = field(default_factory=list)
    flagged: dict[str, int] = field(default_factory=dict)
    first_time_us: int | None = None
    last_time_us: int | None = None


def ingest_csv(
    store: TelemetryStore,
    path: str | Path,
    *,
    tz: str = "UTC",
    units: Mapping[str, str] | None = None,
    create_sensors: bool = False,
    system_id: str | None = None,
    quantity: Quantity | None = None,
    chunk_rows: int | None = None,
    encoding: str = "utf-8-sig",
) -> IngestSummary:
    """Ingest one telemetry CSV file, whole or not at all (see the module docstring).

    Parameters
    ----------
    store : the telemetry store to write to
    path : the CSV file (wide or long layout)
    tz : IANA zone of times without a UTC offset (default UTC)
    units : unit per sensor id, e.g. ``{"PT-101": "kPa"}``; wins over the file's own
    create_sensors : register unknown sensor ids instead of rejecting the file
    system_id : water system of created sensors (created too if missing); required when a
        sensor is created
    quantity : quantity of created sensors (default: guessed from the id prefix)
    chunk_rows : data rows read and written at a time (default: about
        :data:`CHUNK_READINGS` readings)
    encoding : text encoding of the file (SCADA exports on Chinese Windows: ``gbk``)

    Raises
    ------
    PayloadError
        a bad header, cell, unit or time, naming ``file:line:column``; nothing is stored.
        Also for sensor ids the store does not know (without ``create_sensors``).
    ConfigError
        an unknown time zone, a ``units`` entry for a sensor not in the file, or sensors
        to create without ``system_id``.
    """
    header = read_header(path, encoding=encoding)
    check_time_zone(tz)
    units = dict(units or {})
    if header.layout == "wide":
        for sensor_id in units:
            if sensor_id not in header.sensor_columns:
                raise ConfigError(f"--unit names {sensor_id!r}, which is not a column of {path}")
    registry = _PlannedSensors(
        {s.id: s for s in store.sensors()}, create_sensors=create_sensors,
        system_id=system_id or "", quantity=quantity,
    )
    summary = IngestSummary(header.path, header.layout)
    seen: set[str] = set()
    writer = store.engine.execution_options(**{WRITE_OPTION: True})
    with writer.begin() as conn:
        keys: dict[str, int] = {}
        tails = _SeriesTails(conn)
        flagged = np.zeros(len(QualityFlag), dtype=np.int64)
        chunks = iter_chunks(
            header, tz=tz, units=units, sensors=registry, chunk_rows=chunk_rows,
            encoding=encoding,
        )
        with _read_ahead(chunks) as ahead:
            for chunk in ahead:
                new_ids = [s for s in chunk.sensor_ids if s not in keys]
                if new_ids:
                    created = _register_new(
                        conn, store, header, chunk, new_ids, registry, system_id, encoding
                    )
                    summary.created_sensors += [c.id for c in created]
                    keys.update(_sensor_keys(conn, new_ids))
                seen.update(chunk.sensor_ids)
                _write_chunk(conn, chunk, registry, keys, summary, flagged, tails)
        missing_units = sorted(set(units) - seen)
        if missing_units:
            raise ConfigError(
                f"--unit names {', '.join(missing_units)}, not a sensor of {path}; nothing stored"
            )
    summary.sensors = len(seen)
    summary.duplicates = summary.readings - summary.new
    summary.flagged = {
        f.name.lower(): int(flagged[i])
        for i, f in enumerate(QualityFlag)
        if f is not QualityFlag.GOOD and f.name is not None
    }
    return summary


_DONE = object()


@contextlib.contextmanager
def _read_ahead(chunks: Generator[ReadingChunk]) -> Iterator[Iterator[ReadingChunk]]:
    """Read the next chunk in a thread while the database stores this one.

    The CSV parser and the database driver both release the GIL, so reading and writing
    overlap. At most two chunks are in memory; an error in the reader is raised in the
    caller's thread (inside its transaction, which then rolls back). Leaving the ``with``
    block, early or not, stops the reader and closes the file.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            for chunk in chunks:
                offer(chunk)
                if stop.is_set():
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the caller's thread, raised there
            offer(exc)
        finally:
            chunks.close()

    def take() -> Iterator[ReadingChunk]:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, ReadingChunk)
            yield item

    reader = threading.Thread(target=read, name="csv-read-ahead", daemon=True)
    reader.start()
    try:
        yield take()
    finally:
        stop.set()
        reader.join()


class _PlannedSensors(Mapping[str, Sensor]):
    """The registry, plus - when sensors may be created - the sensor each unknown id would
    become (quantity from the option or the id's prefix), so that units are checked against
    it while the file is read. Read from the reader thread; only :meth:`add` changes it."""

    def __init__(
        self, known: dict[str, Sensor], *, create_sensors: bool, system_id: str,
        quantity: Quantity | None,
    ) -> None:
        self.known = known
        self.create_sensors = create_sensors
        self.system_id = system_id
        self.quantity = quantity

    def planned(self, sensor_id: str) -> Sensor | None:
        if sensor_id in self.known:
            return self.known[sensor_id]
        if not self.create_sensors:
            return None
        q = self.quantity or guess_quantity(sensor_id)
        return None if q is None else Sensor(sensor_id, self.system_id, q)

    def __getitem__(self, sensor_id: str) -> Sensor:
        sensor = self.planned(sensor_id)
        if sensor is None:
            raise KeyError(sensor_id)
        return sensor

    def __contains__(self, sensor_id: object) -> bool:
        return isinstance(sensor_id, str) and self.planned(sensor_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)

    def add(self, sensors: list[Sensor]) -> None:
        self.known = {**self.known, **{s.id: s for s in sensors}}  # swapped whole: thread-safe


def _register_new(
    conn: sa.Connection, store: TelemetryStore, header: CsvHeader, chunk: ReadingChunk,
    new_ids: list[str], registry: _PlannedSensors, system_id: str | None, encoding: str,
) -> list[Sensor]:
    """Sensors a chunk names for the first time: known ones pass; unknown ones are created
    (``create_sensors``) or rejected, naming every unknown id of the file."""
    unknown = [s for s in new_ids if s not in registry.known]
    if not unknown:
        return []
    if not registry.create_sensors:
        every = _unknown_sensor_ids(header, registry.known, encoding)
        shown = ", ".join(every[:10]) + (" …" if len(every) > 10 else "")
        raise PayloadError(
            str(header.path),
            f"{len(every)} unknown sensor(s): {shown}; register them "
            "(`waterops sensors import`) or ingest with --create-sensors; nothing stored",
        )
    if system_id is None:
        raise ConfigError(
            f"sensor(s) to create ({', '.join(unknown[:5])}); "
            "say in which water system with --system"
        )
    created = []
    for sensor_id in unknown:
        planned = registry.planned(sensor_id)
        if planned is None:
            raise PayloadError(
                str(header.path),
                f"cannot tell what sensor {sensor_id!r} measures from its name; "
                f"give --quantity ({', '.join(Quantity)}) or register it with "
                "`waterops sensors import`",
            )
        # the expected interval: the median step of its first readings
        times = np.unique(chunk.times_us[chunk.codes == chunk.sensor_ids.index(sensor_id)])
        interval_s = float(np.median(np.diff(times))) / US_PER_S if len(times) > 1 else None
        created.append(
            Sensor(sensor_id, system_id, planned.quantity, interval_s=interval_s,
                   name=sensor_id, attributes={"created_from": header.path.name})
        )
    _insert_sensors(conn, store, created, system_id)
    registry.add(created)
    return created


def _unknown_sensor_ids(
    header: CsvHeader, known: Mapping[str, Sensor], encoding: str
) -> list[str]:
    """Every sensor id of the file the registry lacks, in order of appearance."""
    if header.layout == "wide":
        return [s for s in header.sensor_columns if s not in known]
    assert header.sensor_column is not None
    seen: dict[str, None] = {}
    reader = pd.read_csv(
        header.path, usecols=[header.sensor_column], dtype="str", keep_default_na=False,
        chunksize=CHUNK_READINGS, skip_blank_lines=False, encoding=encoding,
    )
    for frame in reader:
        for sensor_id in frame.iloc[:, 0].str.strip().unique():
            if sensor_id and sensor_id not in known:
                seen.setdefault(str(sensor_id), None)
    return list(seen)


def _insert_sensors(
    conn: sa.Connection, store: TelemetryStore, created: list[Sensor], system_id: str | None
) -> None:
    """Register new sensors (and their water system if missing) inside the file's transaction."""
    insert = sqlite_insert if store.dialect == "sqlite" else postgresql_insert
    if system_id is not None:
        conn.execute(
            insert(tables.water_systems)
            .values(id=system_id, name=system_id)
            .on_conflict_do_nothing(index_elements=["id"])
        )
    conn.execute(
        sa.insert(tables.sensors),
        [
            {
                "id": s.id, "system_id": s.system_id, "quantity": s.quantity.value,
                "unit": s.unit, "site_id": None, "element_kind": None, "element_id": None,
                "lower": s.lower, "upper": s.upper, "interval_s": s.interval_s,
                "name": s.name, "attributes": json.dumps(s.attributes, sort_keys=True),
            }
            for s in created
        ],
    )


def _sensor_keys(conn: sa.Connection, sensor_ids: list[str]) -> dict[str, int]:
    rows = conn.execute(
        sa.select(tables.sensors.c.id, tables.sensors.c.key).where(
            tables.sensors.c.id.in_(sensor_ids)
        )
    ).all()
    return {r.id: int(r.key) for r in rows}


def _stored_context(
    conn: sa.Connection, key: int, first_us: int, last_us: int, need: ContextNeed
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The stored readings the quality flags of a batch need (see :func:`context_need`)."""
    r = tables.readings
    span_start_us = first_us - round(need.before_s * US_PER_S)
    span = conn.execute(
        sa.select(r.c.time_us, r.c.value)
        .where(r.c.sensor_key == key, r.c.time_us >= span_start_us, r.c.time_us <= last_us)
        .order_by(r.c.time_us)
    ).all()
    before = conn.execute(
        sa.select(r.c.time_us, r.c.value)
        .where(r.c.sensor_key == key, r.c.time_us < span_start_us)
        .order_by(r.c.time_us.desc())
        .limit(need.readings)
    ).all()
    rows = [*reversed(before), *span]
    times = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows))
    return times, values


class _SeriesTails:
    """The recent readings of each sensor known in the file's transaction (stored context and
    what the file wrote), so that a file in time order costs one context query per sensor
    instead of one per chunk. A batch that reaches back before what is known (out-of-order
    data, data already stored after it) is given its context from the database instead.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.tails: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        self.newest_us: dict[int, int] = {}  # newest reading in the database (with this file's)

    def context(
        self, key: int, first_us: int, last_us: int, need: ContextNeed
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Stored readings the flags of a batch spanning [first_us, last_us] need."""
        if key not in self.newest_us:
            newest = self.conn.execute(
                sa.select(sa.func.max(tables.readings.c.time_us)).where(
                    tables.readings.c.sensor_key == key
                )
            ).scalar()
            self.newest_us[key] = np.iinfo(np.int64).min if newest is None else int(newest)
        tail = self.tails.get(key)
        # The tail holds everything the batch needs only if it ends at the newest reading of
        # the database and the batch comes after it.
        if (
            tail is not None
            and int(tail[0][-1]) == self.newest_us[key]
            and first_us > self.newest_us[key]
        ):
            window = context_slice(tail[0], first_us, last_us, need)
            return tail[0][window], tail[1][window]
        return _stored_context(self.conn, key, first_us, last_us, need)

    def remember(
        self, key: int, context: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
        times_us: npt.NDArray[np.int64], values: npt.NDArray[np.float64], need: ContextNeed,
    ) -> None:
        """Keep the end of (context ∪ batch) that a later batch of this sensor may need."""
        t = np.concatenate([context[0], times_us])
        v = np.concatenate([context[1], values])
        order = np.argsort(t, kind="stable")  # context first on equal times: it is stored
        t, v = t[order], v[order]
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = t[1:] != t[:-1]
        t, v = t[keep], v[keep]
        window = context_slice(t, int(t[-1]), int(t[-1]), need)
        self.tails[key] = (t[window].copy(), v[window].copy())
        self.newest_us[key] = max(self.newest_us[key], int(times_us.max()))


def _write_chunk(
    conn: sa.Connection,
    chunk: ReadingChunk,
    registry: Mapping[str, Sensor],
    keys: Mapping[str, int],
    summary: IngestSummary,
    flagged: npt.NDArray[np.int64],
    tails: _SeriesTails,
) -> None:
    """Flag one chunk per sensor against its stored context and write it."""
    summary.rows += chunk.rows
    summary.readings += len(chunk.times_us)
    if len(chunk.times_us) == 0:
        return
    # group by sensor (in key order, as the primary key) and time; first of equal times wins
    chunk_keys = np.array([keys[s] for s in chunk.sensor_ids], dtype=np.int64)[chunk.codes]
    order = np.lexsort((chunk.times_us, chunk_keys))
    k, t, v = chunk_keys[order], chunk.times_us[order], chunk.values[order]
    keep = np.ones(len(k), dtype=bool)
    keep[1:] = (k[1:] != k[:-1]) | (t[1:] != t[:-1])
    k, t, v = k[keep], t[keep], v[keep]
    flags = np.zeros(len(k), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    sensor_of_key = {keys[s]: registry[s] for s in chunk.sensor_ids}
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        key = int(k[lo])
        rules = rules_for(sensor_of_key[key])
        need = context_need(rules)
        ctx_t, ctx_v = tails.context(key, int(t[lo]), int(t[hi - 1]), need)
        flags[lo:hi] = quality_flags(
            t[lo:hi], v[lo:hi], rules, context_times_us=ctx_t, context_values=ctx_v
        )
        tails.remember(key, (ctx_t, ctx_v), t[lo:hi], v[lo:hi], need)
    for i, flag in enumerate(QualityFlag):
        flagged[i] += int(np.count_nonzero(flags & int(flag)))
    summary.new += bulk.insert_readings(conn, k, t, v, flags)
    first, last = int(t.min()), int(t.max())
    summary.first_time_us = first if summary.first_time_us is None else min(
        summary.first_time_us, first
    )
    summary.last_time_us = last if summary.last_time_us is None else max(
        summary.last_time_us, last
    )
