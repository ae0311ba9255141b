"""Water-quality event detection on files, and its scores against ground truth.

The two commands whose contract public benchmark data are scored through:

- :func:`detect_quality_file`: ``FILE.csv`` (first column the time, the others numeric, gaps
  allowed) in, ``flags.csv`` with ``time,event,score`` for every input row out, computed
  online (row *k*'s flag depends only on rows up to *k*);
- :func:`evaluate_quality_files`: precision, recall and F1 over rows, and event-level counts
  (events detected or missed, false-alarm episodes, detection delay).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from waterops.detection.quality_events import (
    CanarySettings,
    detect_quality_events,
    fit_quality_model,
    robust_zscore_events,
)
from waterops.errors import QualityDataError

WARMUP_ROWS = 288
"""Rows learned from when no training file is given (one day of 5-minute data)."""

METHODS = ("canary", "zscore")
"""Detection methods: the CANARY-style detector and the robust z-score baseline."""


@dataclass(frozen=True)
class StationTable:
    """A station file read: the time text as written, parsed UTC times, numeric values."""

    time_text: pd.Series
    times: pd.DatetimeIndex
    values: pd.DataFrame
    labels: pd.Series | None


def read_station_csv(path: str | Path, label_column: str | None = None,
                     need_values: bool = True) -> StationTable:
    """Read a station CSV: first column the time, the others numeric (empty cell = gap).

    Parameters
    ----------
    path : the file
    label_column : a column of event labels (0/1) to take out of the values, if present
    need_values : refuse a file with no value column besides the time and the label

    Raises
    ------
    QualityDataError : unreadable file, no value column, unparseable time or value, a time
        that does not advance (naming the column and the file line)
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise QualityDataError(path, f"cannot read CSV: {exc}") from None
    if raw.shape[1] < 2:
        raise QualityDataError(path, "needs a time column and at least one value column")
    time_column = raw.columns[0]
    times = pd.to_datetime(raw[time_column], utc=True, errors="coerce", format="ISO8601")
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.size:
        raise QualityDataError(path, f"line {bad[0] + 2}: time {raw[time_column].iloc[bad[0]]!r} "
                               f"in column {time_column!r} is not an ISO 8601 time")
    steps = np.diff(pd.DatetimeIndex(times).as_unit("ns").asi8)
    back = np.flatnonzero(steps <= 0)
    if back.size:
        # rows are processed in file order, online: a time that does not advance is a fault
        row = int(back[0]) + 1
        raise QualityDataError(path, f"line {row + 2}: time {raw[time_column].iloc[row]!r} "
                               f"does not come after the previous row's")
    values = {}
    for name in raw.columns[1:]:
        text = raw[name].str.strip()
        number = pd.to_numeric(text.where(text != "", None), errors="coerce")
        wrong = np.flatnonzero((number.isna() & (text != "")).to_numpy())
        if wrong.size:
            raise QualityDataError(path, f"line {wrong[0] + 2}: column {name!r} value "
                                   f"{text.iloc[wrong[0]]!r} is not a number")
        values[name] = number.astype(float)
    frame = pd.DataFrame(values)
    labels = None
    if label_column is not None and label_column in frame.columns:
        labels = frame.pop(label_column).fillna(0.0) != 0
    if need_values and frame.shape[1] == 0:
        raise QualityDataError(path, "has no value column besides the time and the label")
    return StationTable(raw[time_column], pd.DatetimeIndex(times), frame, labels)


def detect_quality_file(input_path: str | Path, out_path: str | Path,
                        train_path: str | Path | None = None, label_column: str | None = None,
                        method: str = "canary", settings: CanarySettings | None = None,
                        threshold: float = 4.0) -> pd.DataFrame:
    """Flag water-quality events in a station file, online, and write ``time,event,score``.

    Parameters
    ----------
    input_path : station CSV to flag
    out_path : flags CSV written (atomically: nothing is left half-written on failure)
    train_path : station CSV of a training period; without it, the model is learned from the
        first day of the input (288 rows) and those rows are flagged 0
    label_column : event label column of the training file (its event rows are not learned);
        dropped from the input too if it is there
    method : ``"canary"`` (the detector) or ``"zscore"`` (robust z-score baseline)
    settings : detector settings (``canary``)
    threshold : ``k`` of the z-score baseline

    Returns
    -------
    The flags table that was written.
    """
    if method not in METHODS:
        raise QualityDataError(input_path, f"unknown method {method!r}; use one of {METHODS}")
    table = read_station_csv(input_path, label_column)
    model = None
    if train_path is not None:
        train = read_station_csv(train_path, label_column)
        model = fit_quality_model(train.values, train.labels, source=str(train_path))
    if method == "canary":
        flags = detect_quality_events(table.values, model, settings, WARMUP_ROWS,
                                      str(input_path))
    elif model is not None:
        flags = robust_zscore_events(table.values, model, threshold, str(input_path))
    else:
        # no training file: learn from the first rows and flag them 0, so each flag only
        # depends on rows up to it (as the detector does)
        flags = pd.DataFrame({"event": np.zeros(len(table.values), dtype=bool),
                              "score": np.zeros(len(table.values))})
        if len(table.values) > WARMUP_ROWS:
            model = fit_quality_model(table.values.iloc[:WARMUP_ROWS], source=str(input_path))
            later = robust_zscore_events(table.values.iloc[WARMUP_ROWS:], model, threshold,
                                         str(input_path))
            flags.iloc[WARMUP_ROWS:] = later.to_numpy()
    out = pd.DataFrame({"time": table.time_text.to_numpy(),
                        "event": flags["event"].to_numpy().astype(int),
                        "score": flags["score"].to_numpy()})
    _write_atomically(out, Path(out_path))
    return out


def _write_atomically(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        table.to_csv(temp, index=False, float_format="%.6g")
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


@dataclass(frozen=True)
class QualityScores:
    """Scores of flags against ground truth.

    Row scores count rows (true positives ``tp`` …); event scores count runs of event rows
    in the truth (``events``, ``detected``, ``missed``), runs of flagged rows that touch no
    true event (``false_alarms``), and the delay from an event's first row to its first
    flagged row [s] (median over detected events; NaN when none).
    """

    tp: int
    fp: int
    fn: int
    tn: int
    events: int
    detected: int
    missed: int
    false_alarms: int
    median_delay_s: float

    @property
    def precision(self) -> float:
        """Flagged rows that are event rows (1.0 when nothing is flagged)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Event rows that are flagged (1.0 when there is no event row)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row of each run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def score_quality_flags(truth: np.ndarray, flagged: np.ndarray,
                        times: pd.DatetimeIndex | None = None) -> QualityScores:
    """Score flags against truth, row by row and event by event.

    Parameters
    ----------
    truth, flagged : bool per row, same length
    times : row times, for the delay (default: one second per row)
    """
    truth = np.asarray(truth, dtype=bool)
    flagged = np.asarray(flagged, dtype=bool)
    if truth.shape != flagged.shape:
        raise ValueError(f"{truth.size} truth rows but {flagged.size} flags")
    seconds = (np.arange(truth.size, dtype=float) if times is None
               else pd.DatetimeIndex(times).as_unit("ns").asi8 / 1e9)
    delays = []
    for first, last in _runs(truth):
        hit = np.flatnonzero(flagged[first:last + 1])
        if hit.size:
            delays.append(seconds[first + hit[0]] - seconds[first])
    true_runs = _runs(truth)
    false_alarms = sum(1 for a, b in _runs(flagged) if not truth[a:b + 1].any())
    return QualityScores(
        tp=int((truth & flagged).sum()), fp=int((~truth & flagged).sum()),
        fn=int((truth & ~flagged).sum()), tn=int((~truth & ~flagged).sum()),
        events=len(true_runs), detected=len(delays), missed=len(true_runs) - len(delays),
        false_alarms=false_alarms,
        median_delay_s=float(np.median(delays)) if delays else math.nan,
    )


def evaluate_quality_files(truth_path: str | Path, flags_path: str | Path,
                           label_column: str = "EVENT") -> QualityScores:
    """Score a flags file (``time,event[,score]``) against a truth file (time + label column).

    Rows are matched by time; every truth row must have a flag.

    Raises
    ------
    QualityDataError : a missing column, or truth rows with no flag (naming the first one)
    """
    truth = read_station_csv(truth_path, label_column, need_values=False)
    if truth.labels is None:
        raise QualityDataError(truth_path, f"has no label column {label_column!r}")
    flags = read_station_csv(flags_path)
    if "event" not in flags.values.columns:
        raise QualityDataError(flags_path, "has no 'event' column")
    flagged = pd.Series((flags.values["event"].fillna(0.0) != 0).to_numpy(), index=flags.times)
    if flagged.index.has_duplicates:
        raise QualityDataError(flags_path, "has the same time on more than one row")
    aligned = flagged.reindex(truth.times)
    missing = np.flatnonzero(aligned.isna().to_numpy())
    if missing.size:
        raise QualityDataError(
            flags_path, f"no flag for {missing.size} truth rows, the first at "
            f"{truth.time_text.iloc[missing[0]]} ({truth_path} line {missing[0] + 2})")
    return score_quality_flags(truth.labels.to_numpy(), aligned.to_numpy(dtype=bool),
                               truth.times)
