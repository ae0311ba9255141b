"""The pipe register: pipes with material, diameter, install year, length and road, and their
break and leak history -- typed tables, checked, read from and written to CSV.

Tables (SI inside):

- ``pipes`` (index ``pipe_id``): system, material (:data:`MATERIALS` code), diameter_m [m],
  install_year, length_m [m], road_id (the road segment the pipe lies under; works are
  planned road by road), road_class (:data:`ROAD_CLASSES`), pressure_m [m, mean service
  pressure; NaN when unknown]
- ``breaks`` (range index): pipe_id, date (``datetime64[D]``, local calendar day), kind
  (``break``: a burst repaired as an emergency; ``leak``: a leak found and repaired)

A register also states the years its failure history covers (``history_years``, both ends
included): a year without a break in the window is evidence of no break; a year outside it is
no evidence at all. Break-rate models need that distinction.

CSV files (UTF-8, one header line): ``pipes.csv`` with the columns above (``pipe_id`` first;
``diameter_mm`` instead of ``diameter_m`` is accepted, or ``diameter_unit="mm"`` for a
``diameter`` column), ``breaks.csv`` with ``pipe_id,date,kind`` (date ``YYYY-MM-DD``). Every
fault names the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from waterops.errors import RegisterError

MATERIALS: dict[str, str] = {
    "CI": "grey cast iron (灰口铸铁)",
    "DI": "ductile iron (球墨铸铁)",
    "PE": "polyethylene (PE)",
    "GS": "galvanised steel (镀锌钢管)",
    "STEEL": "steel (钢管)",
    "PCCP": "prestressed concrete cylinder pipe (PCCP)",
    "PVC": "PVC-U",
    "AC": "asbestos cement (石棉水泥)",
}
"""Material codes of the register (the demo network's [TAGS] use the first six)."""

ROAD_CLASSES: dict[str, str] = {
    "expressway": "快速路",
    "arterial": "主干路",
    "secondary": "次干路",
    "branch": "支路",
    "community": "小区道路 (inside a residential community)",
}
"""Road classes of CJJ 37-2012 (urban road design code) plus roads inside communities."""

BREAK_KINDS = ("break", "leak")
"""Kinds of failure in the history."""

PIPE_COLUMNS: dict[str, str] = {
    "system": "object", "material": "object", "diameter_m": "float64", "install_year": "int64",
    "length_m": "float64", "road_id": "object", "road_class": "object",
    "pressure_m": "float64",
}
"""Columns and dtypes of the ``pipes`` table (index ``pipe_id``)."""

BREAK_COLUMNS: dict[str, str] = {"pipe_id": "object", "date": "datetime64[s]", "kind": "object"}
"""Columns and dtypes of the ``breaks`` table."""

FIRST_YEAR, LAST_YEAR = 1850, 2100
"""Install years and history years outside these are refused as typing errors."""


@dataclass(frozen=True)
class PipeRegister:
    """Pipes and their failure history.

    Attributes
    ----------
    pipes : the pipes, index ``pipe_id`` (see module)
    breaks : breaks and leaks, one row each (see module)
    history_years : (first, last) calendar year the history covers, both included
    """

    pipes: pd.DataFrame
    breaks: pd.DataFrame
    history_years: tuple[int, int]

    @property
    def roads(self) -> pd.DataFrame:
        """Road segments: pipes, length_m, road_class (the widest pipe's road class wins)."""
        grouped = self.pipes.groupby("road_id", sort=True)
        return pd.DataFrame({
            "pipes": grouped.size(),
            "length_m": grouped["length_m"].sum(),
            "road_class": grouped["road_class"].first(),
        })

    def failures_per_pipe_year(self, kinds: Iterable[str] = BREAK_KINDS) -> pd.Series:
        """Failures counted by (pipe_id, year), only kinds asked for, inside the history."""
        wanted = self.breaks[self.breaks["kind"].isin(list(kinds))]
        years = wanted["date"].dt.year
        first, last = self.history_years
        inside = wanted[(years >= first) & (years <= last)]
        counts: pd.Series = inside.groupby(
            [inside["pipe_id"], inside["date"].dt.year.rename("year")]).size()
        return counts


def make_register(pipes: pd.DataFrame, breaks: pd.DataFrame | None,
                  history_years: tuple[int, int], *, source: str = "register") -> PipeRegister:
    """A checked register from tables (see module for the columns).

    Raises
    ------
    RegisterError
        naming the pipe (or break row) and the column that is wrong.
    """
    first, last = history_years
    if not FIRST_YEAR <= first <= last <= LAST_YEAR:
        raise RegisterError(source, f"history years must be a range within "
                                    f"{FIRST_YEAR}-{LAST_YEAR}, got {first}-{last}")
    checked = check_pipes(pipes, source)
    history = check_breaks(breaks if breaks is not None else pd.DataFrame(
        columns=list(BREAK_COLUMNS)), set(checked.index), source)
    return PipeRegister(checked, history, (int(first), int(last)))


def check_pipes(pipes: pd.DataFrame, source: str = "pipes",
                lines: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The pipes table with checked values and dtypes (:data:`PIPE_COLUMNS`).

    ``lines`` maps pipe ids to the file line they came from, so that a fault names it.
    """
    table = pipes.copy()
    if "pressure_m" not in table.columns:
        table["pressure_m"] = np.nan
    if "system" not in table.columns:
        table["system"] = ""
    missing = [c for c in PIPE_COLUMNS if c not in table.columns]
    if missing:
        raise RegisterError(source, f"the pipes lack the column(s) {', '.join(missing)}")
    table.index = pd.Index(table.index.astype(str), name="pipe_id")
    if table.index.has_duplicates:
        raise RegisterError(source, f"pipe {table.index[table.index.duplicated()][0]!r} is "
                                    "listed twice")
    numbers = {c: pd.to_numeric(table[c], errors="coerce").astype(float)
               for c in ("diameter_m", "length_m", "install_year", "pressure_m")}
    year = numbers["install_year"]
    pressure = numbers["pressure_m"]
    checks = [
        (table.index == "", "the pipe id is empty"),
        (~table["material"].isin(list(MATERIALS)),
         f"unknown material {{material!r}}; known: {', '.join(MATERIALS)}"),
        (~table["road_class"].isin(list(ROAD_CLASSES)),
         f"unknown road class {{road_class!r}}; known: {', '.join(ROAD_CLASSES)}"),
        (table["road_id"].astype(str).str.strip().isin(["", "nan", "None"]), "road_id is empty"),
        (~numbers["diameter_m"].between(0.005, 5.0),
         "diameter_m must be 0.005-5 m, got {diameter_m!r} (a diameter in mm? use diameter_mm)"),
        (~numbers["length_m"].between(1e-3, 50_000.0),
         "length_m must be > 0 and at most 50 km, got {length_m!r}"),
        (~year.between(FIRST_YEAR, LAST_YEAR) | (year % 1 != 0),
         f"install_year must be a year {FIRST_YEAR}-{LAST_YEAR}, got {{install_year!r}}"),
        (pressure.notna() & ~pressure.between(-20.0, 300.0),
         "pressure_m must be -20-300 m of head, got {pressure_m!r} (MPa or kPa? give metres)"),
    ]
    for bad, reason in checks:
        mask = np.asarray(bad, dtype=bool)
        if mask.any():
            pipe_id = str(table.index[np.flatnonzero(mask)[0]])
            row = table.loc[pipe_id]
            where = (f"{source}:{lines[pipe_id]}" if lines and pipe_id in lines
                     else f"{source}: pipe {pipe_id!r}")
            raise RegisterError(where, reason.format(**{k: row[k] for k in PIPE_COLUMNS}))
    table = table.loc[:, list(PIPE_COLUMNS)].copy()
    for column in ("diameter_m", "length_m", "pressure_m"):
        table[column] = numbers[column]
    table["install_year"] = year.astype("int64")
    table["road_id"] = table["road_id"].astype(str)
    table["system"] = table["system"].fillna("").astype(str)
    return table


def check_breaks(breaks: pd.DataFrame, pipe_ids: set[str], source: str = "breaks"
                 ) -> pd.DataFrame:
    """The breaks table with checked values (known pipes and kinds, real dates)."""
    missing = [c for c in BREAK_COLUMNS if c not in breaks.columns]
    if missing:
        raise RegisterError(source, f"the breaks lack the column(s) {', '.join(missing)}")
    table = breaks.loc[:, list(BREAK_COLUMNS)].reset_index(drop=True).copy()
    table["pipe_id"] = table["pipe_id"].astype(str)
    unknown = ~table["pipe_id"].isin(pipe_ids)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise RegisterError(f"{source}: break {row + 1}",
                            f"unknown pipe {table.loc[row, 'pipe_id']!r}")
    kinds = ~table["kind"].isin(BREAK_KINDS)
    if kinds.any():
        row = int(np.flatnonzero(kinds.to_numpy())[0])
        raise RegisterError(f"{source}: break {row + 1}", f"unknown kind "
                            f"{table.loc[row, 'kind']!r}; known: {', '.join(BREAK_KINDS)}")
    try:
        table["date"] = pd.to_datetime(table["date"]).astype("datetime64[s]")
    except (ValueError, TypeError) as exc:
        raise RegisterError(source, f"a break date is not a date: {exc}") from exc
    return table


# -- CSV -----------------------------------------------------------------------------------------

DiameterUnit = Literal["m", "mm"]


def read_register_csv(pipes_path: str | Path, breaks_path: str | Path | None,
                      history_years: tuple[int, int] | None = None, *,
                      diameter_unit: DiameterUnit = "m") -> PipeRegister:
    """Read ``pipes.csv`` (and ``breaks.csv``) into a checked register.

    Parameters
    ----------
    pipes_path, breaks_path : the CSV files (see module); no breaks file: no history
    history_years : (first, last) year the history covers; default: the years of the first
        and the last break (a register without breaks: the current year only)
    diameter_unit : unit of a ``diameter`` column (``diameter_m``/``diameter_mm`` columns say
        their own unit)

    Raises
    ------
    RegisterError
        ``file:line`` and the column of the first bad value.
    """
    pipes = _read_pipes(Path(pipes_path), diameter_unit)
    breaks = (_read_breaks(Path(breaks_path)) if breaks_path is not None
              else pd.DataFrame(columns=[*BREAK_COLUMNS, "_line"]))
    unknown = ~breaks["pipe_id"].isin(pipes.index)
    if unknown.any():
        first = breaks[unknown].iloc[0]
        raise RegisterError(f"{breaks_path}:{first['_line']}",
                            f"unknown pipe {first['pipe_id']!r} (not in {pipes_path})")
    if history_years is None:
        if len(breaks):
            years = pd.to_datetime(breaks["date"]).dt.year
            history_years = (int(years.min()), int(years.max()))
        else:
            history_years = (date.today().year, date.today().year)
    return make_register(pipes, breaks, history_years, source=str(pipes_path))


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise RegisterError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegisterError(path, f"cannot read the file: {exc}") from exc
    if not header:
        raise RegisterError(f"{path}:1", "the file is empty (no header line)")
    return header, rows


def _number(path: Path, line: int, row: Mapping[str, str | None], column: str,
            optional: bool = False) -> float:
    text = (row.get(column) or "").strip()
    if not text:
        if optional:
            return math.nan
        raise RegisterError(f"{path}:{line}", f"{column} is empty")
    try:
        return float(text)
    except ValueError:
        raise RegisterError(f"{path}:{line}", f"{column} {text!r} is not a number") from None


def _read_pipes(path: Path, diameter_unit: DiameterUnit) -> pd.DataFrame:
    header, rows = _rows(path)
    if "diameter_m" in header:
        diameter_column, per_m = "diameter_m", 1.0
    elif "diameter_mm" in header:
        diameter_column, per_m = "diameter_mm", 0.001
    else:
        diameter_column, per_m = "diameter", 0.001 if diameter_unit == "mm" else 1.0
    required = ["pipe_id", "material", diameter_column, "install_year", "length_m", "road_id",
                "road_class"]
    missing = [c for c in required if c not in header]
    if missing:
        raise RegisterError(f"{path}:1", f"the header lacks {', '.join(missing)}")
    records: list[dict[str, object]] = []
    ids: list[str] = []
    lines: dict[str, int] = {}
    for line, row in rows:
        pipe_id = (row.get("pipe_id") or "").strip()
        if not pipe_id:
            raise RegisterError(f"{path}:{line}", "pipe_id is empty")
        if pipe_id in lines:
            raise RegisterError(f"{path}:{line}", f"pipe {pipe_id!r} is listed twice "
                                                  f"(first on line {lines[pipe_id]})")
        lines[pipe_id] = line
        records.append({
            "system": (row.get("system") or "").strip(),
            "material": (row.get("material") or "").strip().upper(),
            "diameter_m": _number(path, line, row, diameter_column) * per_m,
            "install_year": _number(path, line, row, "install_year"),
            "length_m": _number(path, line, row, "length_m"),
            "road_id": (row.get("road_id") or "").strip(),
            "road_class": (row.get("road_class") or "").strip().lower(),
            "pressure_m": _number(path, line, row, "pressure_m", optional=True),
        })
        ids.append(pipe_id)
    table = pd.DataFrame(records, index=pd.Index(ids, name="pipe_id"),
                         columns=list(PIPE_COLUMNS))
    return check_pipes(table, str(path), lines)


def _read_breaks(path: Path) -> pd.DataFrame:
    header, rows = _rows(path)
    missing = [c for c in ("pipe_id", "date", "kind") if c not in header]
    if missing:
        raise RegisterError(f"{path}:1", f"the header lacks {', '.join(missing)}")
    records = []
    for line, row in rows:
        text = (row.get("date") or "").strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise RegisterError(f"{path}:{line}", f"date {text!r} is not YYYY-MM-DD") from None
        kind = (row.get("kind") or "").strip().lower()
        if kind not in BREAK_KINDS:
            raise RegisterError(f"{path}:{line}", f"kind {kind!r} is not one of "
                                                  f"{', '.join(BREAK_KINDS)}")
        records.append({"pipe_id": (row.get("pipe_id") or "").strip(),
                        "date": pd.Timestamp(day), "kind": kind, "_line": line})
    return pd.DataFrame(records, columns=[*BREAK_COLUMNS, "_line"])


def write_register_csv(register: PipeRegister, pipes_path: str | Path,
                       breaks_path: str | Path | None = None) -> None:
    """Write the register as ``pipes.csv`` (SI: diameter_m, length_m) and ``breaks.csv``."""
    pipes = register.pipes.reset_index()
    pipes.to_csv(pipes_path, index=False, float_format="%.6g")
    if breaks_path is not None:
        breaks = register.breaks.assign(date=register.breaks["date"].dt.strftime("%Y-%m-%d"))
        breaks.loc[:, list(BREAK_COLUMNS)].to_csv(breaks_path, index=False)
