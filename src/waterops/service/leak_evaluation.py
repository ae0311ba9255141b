"""Scoring leak detections against ground truth (``waterops evaluate leaks``).

A detection (``pipe_id, detected_at``) **hits** a leak when it falls inside the leak's time
window (``start ≤ detected_at ≤ end``) and its pipe lies within ``hit_distance_m`` (300 m) of
the leak's pipe, the distance measured *along pipes*: the shortest path on the pipe graph,
weighted by length, between the two pipes' midpoints (0 for the same pipe). Each leak is hit
at most once (the first detection that qualifies; the nearest if several leaks qualify at
once); every other detection is a **false alarm**. A detection in a leak's window but farther
away than the limit is a false alarm for the hit-based scores and a *time-only* match for the
detection-only scores (reported separately, e.g. for the minimum-night-flow baseline, which
cannot locate).

The BattLeDIM 2020 economic score (Vrachimis et al. 2022), as the issue states it: for each
hit, 0.80 €/m³ of leak water lost from detection to the end of the period (water saved by
finding it then) minus 500 € × distance / 300 m; 500 € for each false alarm. The lost water
follows the ground-truth flow profile: rising linearly from 0 at ``start`` to
``peak_flow_m3s`` at ``peak``, constant to ``end`` (repair), nothing after.

Precision, recall and F1 are on leaks of at least ``min_flow_m3s`` (1 L/s by default):
recall is the share of those leaks hit, precision the share of detections that hit any leak
(a detection of a small leak is right, not a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from waterops.errors import ConfigError, TelemetryError
from waterops.model.network import Network

EURO_PER_M3 = 0.80
"""Value of leak water saved [€/m³] (BattLeDIM)."""
EURO_PER_FALSE_ALARM = 500.0
"""Cost of a false alarm [€] (BattLeDIM)."""
EURO_PER_HIT_DISTANCE = 500.0
"""Cost of a located leak at the hit limit [€], prorated by distance (BattLeDIM)."""
HIT_DISTANCE_M = 300.0
"""Largest distance along pipes for a hit [m] (BattLeDIM)."""
MIN_FLOW_M3S = 0.001
"""Leaks scored for precision, recall and F1: at least 1 L/s [m³/s]."""
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class LeakScores:
    """Scores of one detection file.

    Attributes
    ----------
    summary : name -> value (counts, precision, recall, F1, distances [m], delays [h],
        false alarms per month, economic score [€])
    leaks : one row per true leak: whether and when hit, distance [m], delay [h], saved
        water [m³]
    detections : one row per detection: ``outcome`` ``hit`` / ``false alarm``, matched leak
    """

    summary: dict[str, float]
    leaks: pd.DataFrame
    detections: pd.DataFrame


def _utc(values: pd.Series, what: str) -> pd.Series:
    times = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise TelemetryError(f"{what}, row {row + 2}: time {values.iloc[row]!r} cannot be read")
    return times


def read_truth(path: Path) -> pd.DataFrame:
    """Ground truth ``leaks.csv``: pipe_id, start, peak, end, peak_flow_m3s[, type].

    Raises
    ------
    TelemetryError
        naming the file and what is missing.
    """
    if not path.is_file():
        raise TelemetryError(f"{path}: file not found")
    table = pd.read_csv(path, dtype={"pipe_id": str})
    missing = [c for c in ("pipe_id", "start", "end", "peak_flow_m3s") if c not in table.columns]
    if missing:
        raise TelemetryError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("start", "end"):
        table[column] = _utc(table[column], f"{path}, column {column!r}")
    table["peak"] = (_utc(table["peak"], f"{path}, column 'peak'") if "peak" in table.columns
                     else table["start"])
    return table


def read_detections(path: Path) -> pd.DataFrame:
    """Detections ``pipe_id, detected_at`` (other columns kept); empty pipe = not located.

    Raises
    ------
    TelemetryError
        naming the file and what is missing.
    """
    if not path.is_file():
        raise TelemetryError(f"{path}: file not found")
    table = pd.read_csv(path, dtype={"pipe_id": str}, keep_default_na=False)
    missing = [c for c in ("pipe_id", "detected_at") if c not in table.columns]
    if missing:
        raise TelemetryError(f"{path}: missing column(s) {', '.join(missing)}")
    table["detected_at"] = _utc(table["detected_at"], f"{path}, column 'detected_at'")
    return table.sort_values("detected_at", kind="stable").reset_index(drop=True)


class PipeDistances:
    """Distances along pipes [m] between pipe midpoints of a network."""

    def __init__(self, net: Network) -> None:
        pipe_length = {str(k): float(v) for k, v in net.pipes["length_m"].to_dict().items()}
        links = net.link_table()
        self._ends = {str(k): (str(a), str(b)) for k, a, b in
                      zip(links.index, links["node1"], links["node2"], strict=True)}
        self._length = {k: pipe_length.get(k, 0.0) for k in self._ends}
        self._graph = nx.Graph()
        for link, (u, v) in self._ends.items():
            length = self._length[link]
            if not self._graph.has_edge(u, v) or self._graph[u][v]["length_m"] > length:
                self._graph.add_edge(u, v, length_m=length)
        self._cache: dict[str, dict[str, float]] = {}

    def known(self, pipe_id: str) -> bool:
        return pipe_id in self._ends

    def _from_node(self, node: str) -> dict[str, float]:
        if node not in self._cache:
            self._cache[node] = {str(k): float(v) for k, v in
                                 nx.single_source_dijkstra_path_length(
                                     self._graph, node, weight="length_m").items()}
        return self._cache[node]

    def between(self, pipe_a: str, pipe_b: str) -> float:
        """Shortest distance [m] from the middle of ``pipe_a`` to the middle of ``pipe_b``."""
        if pipe_a == pipe_b:
            return 0.0
        if not (self.known(pipe_a) and self.known(pipe_b)):
            return float("inf")
        best = float("inf")
        for a in self._ends[pipe_a]:
            reach = self._from_node(a)
            for b in self._ends[pipe_b]:
                if b in reach:
                    best = min(best, reach[b])
        return best + 0.5 * (self._length[pipe_a] + self._length[pipe_b])


def leak_volume_m3(leak: pd.Series, since: pd.Timestamp, until: pd.Timestamp) -> float:
    """Water [m³] a leak (a row of the truth) loses between ``since`` and ``until``."""
    return profile_volume_m3(pd.Timestamp(leak["start"]), pd.Timestamp(leak["peak"]),
                             pd.Timestamp(leak["end"]), float(leak["peak_flow_m3s"]),
                             since, until)


def profile_volume_m3(start: pd.Timestamp, peak: pd.Timestamp, end: pd.Timestamp,
                      peak_flow_m3s: float, since: pd.Timestamp, until: pd.Timestamp) -> float:
    """Water [m³] lost between ``since`` and ``until`` by a leak growing linearly from 0 at
    ``start`` to ``peak_flow_m3s`` [m³/s] at ``peak``, constant to ``end``, then stopped."""
    a, b = max(since, start), min(until, end)
    if b <= a:
        return 0.0
    q = peak_flow_m3s
    ramp_s = (peak - start).total_seconds()

    def cumulative(t: pd.Timestamp) -> float:  # volume from start to t
        x = (t - start).total_seconds()
        if ramp_s <= 0:
            return q * x
        if x <= ramp_s:
            return q * x * x / (2 * ramp_s)
        return q * ramp_s / 2 + q * (x - ramp_s)

    return cumulative(b) - cumulative(a)


def score_leaks(truth: pd.DataFrame, detections: pd.DataFrame, net: Network, *,
                end: pd.Timestamp | None = None, start: pd.Timestamp | None = None,
                min_flow_m3s: float = MIN_FLOW_M3S,
                hit_distance_m: float = HIT_DISTANCE_M) -> LeakScores:
    """Score ``detections`` against ``truth`` on ``net`` (see the module's description).

    Parameters
    ----------
    end : end of the period (default: the latest leak end)
    start : start of the period, for false alarms per month (default: the earliest of the
        first leak start and the first detection)
    """
    end = end if end is not None else truth["end"].max()
    first = [truth["start"].min()] + ([detections["detected_at"].min()] if len(detections)
                                      else [])
    start = start if start is not None else min(first)
    if not end > start:
        raise ConfigError(f"--end {end} is not after the start of the period {start}")
    distances = PipeDistances(net)
    unknown = [p for p in truth["pipe_id"] if not distances.known(p)]
    if unknown:
        raise ConfigError(f"truth names pipe {unknown[0]!r}, which the network does not have")
    pipes = [str(p) for p in truth["pipe_id"]]
    starts = [pd.Timestamp(t) for t in truth["start"]]
    peaks = [pd.Timestamp(t) for t in truth["peak"]]
    ends = [pd.Timestamp(t) for t in truth["end"]]
    flows = [float(q) for q in truth["peak_flow_m3s"]]
    times = [pd.Timestamp(t) for t in detections["detected_at"]]
    hit_by: dict[int, int] = {}
    time_match: dict[int, int] = {}
    outcome: list[str] = []
    matched: list[str] = []
    distance_col: list[float] = []
    for k, (t, pipe) in enumerate(zip(times, detections["pipe_id"].astype(str), strict=True)):
        near = sorted((distances.between(pipe, pipes[i]), i) for i in range(len(pipes))
                      if starts[i] <= t <= ends[i])
        hit = next(((dist, i) for dist, i in near if dist <= hit_distance_m and i not in hit_by),
                   None)
        for _, i in near:
            if i not in time_match:
                time_match[i] = k
                break
        if hit is None:
            outcome.append("false alarm")
            matched.append("")
            distance_col.append(near[0][0] if near else float("nan"))
            continue
        hit_by[hit[1]] = k
        outcome.append("hit")
        matched.append(pipes[hit[1]])
        distance_col.append(hit[0])
    dets = detections.assign(outcome=outcome, leak_pipe_id=matched, distance_m=distance_col)
    kinds = [str(k) for k in truth["type"]] if "type" in truth.columns else [""] * len(pipes)
    rows = []
    for i in range(len(pipes)):
        d: int | None = hit_by.get(i)
        tm: int | None = time_match.get(i)
        rows.append({
            "pipe_id": pipes[i], "start": starts[i], "peak_flow_m3s": flows[i],
            "type": kinds[i], "hit": d is not None,
            "detected_at": times[d] if d is not None else pd.NaT,
            "distance_m": distance_col[d] if d is not None else float("nan"),
            "delay_h": (times[d] - starts[i]).total_seconds() / 3600 if d is not None
            else float("nan"),
            "saved_m3": profile_volume_m3(starts[i], peaks[i], ends[i], flows[i], times[d], end)
            if d is not None else 0.0,
            "possible_m3": profile_volume_m3(starts[i], peaks[i], ends[i], flows[i], starts[i],
                                             end),
            "time_matched": tm is not None,
            "time_delay_h": (times[tm] - starts[i]).total_seconds() / 3600 if tm is not None
            else float("nan"),
        })
    leaks = pd.DataFrame(rows)
    return LeakScores(_summary(leaks, dets, start, end, min_flow_m3s), leaks, dets)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _summary(leaks: pd.DataFrame, dets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
             min_flow_m3s: float) -> dict[str, float]:
    big = leaks[leaks["peak_flow_m3s"] >= min_flow_m3s]
    n_det = len(dets)
    hits = int((dets["outcome"] == "hit").sum())
    false_alarms = n_det - hits
    precision = hits / n_det if n_det else 0.0
    recall = float(big["hit"].mean()) if len(big) else 0.0
    time_hits = int(leaks["time_matched"].sum())
    time_precision = time_hits / n_det if n_det else 0.0
    time_recall = float(big["time_matched"].mean()) if len(big) else 0.0
    months = (end - start).total_seconds() / 86_400 / DAYS_PER_MONTH
    located = leaks[leaks["hit"]]
    economic = (EURO_PER_M3 * float(located["saved_m3"].sum())
                - EURO_PER_HIT_DISTANCE * float((located["distance_m"] / HIT_DISTANCE_M).sum())
                - EURO_PER_FALSE_ALARM * false_alarms)
    return {
        "leaks": float(len(leaks)),
        "leaks_scored": float(len(big)),
        "detections": float(n_det),
        "hits": float(hits),
        "false_alarms": float(false_alarms),
        "missed_scored": float(len(big) - int(big["hit"].sum())),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "detection_only_precision": time_precision,
        "detection_only_recall": time_recall,
        "detection_only_f1": _f1(time_precision, time_recall),
        "median_distance_m": float(big.loc[big["hit"], "distance_m"].median())
        if big["hit"].any() else float("nan"),
        "median_delay_h": float(big.loc[big["hit"], "delay_h"].median())
        if big["hit"].any() else float("nan"),
        "detection_only_median_delay_h": float(big["time_delay_h"].median())
        if big["time_matched"].any() else float("nan"),
        "false_alarms_per_month": false_alarms / months if months > 0 else float("nan"),
        "economic_score_eur": economic,
        "economic_best_eur": EURO_PER_M3 * float(leaks["possible_m3"].sum()),
    }
