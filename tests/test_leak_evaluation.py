"""Scoring of leak detections: hits, false alarms, distance along pipes, delay, economics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from waterops.errors import TelemetryError
from waterops.io.inp import read_inp
from waterops.service.leak_evaluation import (
    PipeDistances,
    leak_volume_m3,
    read_detections,
    read_truth,
    score_leaks,
)
from waterops.units import FT_M

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _truth() -> pd.DataFrame:
    return pd.DataFrame({
        "pipe_id": ["11", "31"],
        "start": [T0 + DAY, T0 + 2 * DAY],
        "peak": [T0 + DAY, T0 + 4 * DAY],
        "end": [T0 + 5 * DAY, T0 + 10 * DAY],
        "peak_flow_m3s": [0.002, 0.001],
        "type": ["abrupt", "incipient"],
    })


def test_distance_along_pipes_between_pipe_midpoints(net1_path: Path) -> None:
    distances = PipeDistances(read_inp(net1_path))
    # Net1: pipe 10 (10-11, 10530 ft), 11 (11-12, 5280 ft), 12 (12-13, 5280 ft)
    assert distances.between("10", "10") == 0.0
    assert distances.between("10", "11") == pytest.approx((10530 / 2 + 5280 / 2) * FT_M)
    assert distances.between("10", "12") == pytest.approx((10530 / 2 + 5280 + 5280 / 2) * FT_M)
    assert distances.between("10", "nope") == float("inf")


def test_leak_volume_follows_the_ramp_then_the_plateau_then_stops() -> None:
    abrupt, incipient = (row for _, row in _truth().iterrows())
    assert leak_volume_m3(abrupt, T0, T0 + 20 * DAY) == pytest.approx(0.002 * 4 * 86_400)
    # ramp 0 -> 1 L/s over days 2-4, then 1 L/s to day 10
    assert leak_volume_m3(incipient, T0 + 3 * DAY, T0 + 20 * DAY) == pytest.approx(
        (0.00075 * 1 + 0.001 * 6) * 86_400)
    assert leak_volume_m3(incipient, T0 + 11 * DAY, T0 + 20 * DAY) == 0.0


def test_scores_hits_false_alarms_and_the_battledim_economic_score(net1_path: Path) -> None:
    detections = pd.DataFrame({
        "pipe_id": ["10", "31", "12"],
        "detected_at": [T0 + 2 * DAY, T0 + 3 * DAY, T0 + 8 * DAY],
    })
    scores = score_leaks(_truth(), detections, read_inp(net1_path), end=T0 + 10 * DAY,
                         hit_distance_m=3000.0)
    s = scores.summary
    assert scores.detections["outcome"].tolist() == ["hit", "hit", "false alarm"]
    assert (s["hits"], s["false_alarms"], s["missed_scored"]) == (2, 1, 0)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == 1.0
    assert s["f1"] == pytest.approx(0.8)
    distance = (10530 / 2 + 5280 / 2) * FT_M
    assert s["median_distance_m"] == pytest.approx(distance / 2)
    assert s["median_delay_h"] == pytest.approx(24.0)
    saved = 0.002 * 3 * 86_400 + (0.00075 + 0.001 * 6) * 86_400
    assert s["economic_score_eur"] == pytest.approx(0.8 * saved - 500 * distance / 300 - 500)
    assert s["false_alarms_per_month"] == pytest.approx(1 / (9 / (365.25 / 12)))


def test_a_far_detection_is_a_false_alarm_but_a_detection_only_match(net1_path: Path) -> None:
    detections = pd.DataFrame({"pipe_id": ["10"], "detected_at": [T0 + 2 * DAY]})
    scores = score_leaks(_truth(), detections, read_inp(net1_path), end=T0 + 10 * DAY)
    assert scores.summary["hits"] == 0
    assert scores.summary["false_alarms"] == 1
    assert scores.summary["detection_only_recall"] == 0.5
    assert scores.summary["economic_score_eur"] == -500


def test_files_are_read_with_clear_faults(tmp_path: Path) -> None:
    truth = tmp_path / "leaks.csv"
    truth.write_text("pipe_id,start,end\n11,2025-01-01,2025-01-02\n")
    with pytest.raises(TelemetryError, match="peak_flow_m3s"):
        read_truth(truth)
    detected = tmp_path / "out.csv"
    detected.write_text("pipe_id,detected_at\n11,yesterday\n")
    with pytest.raises(TelemetryError, match="row 2"):
        read_detections(detected)
    detected.write_text("pipe_id,detected_at\n,2025-01-03 00:00\n11,2025-01-02 00:00\n")
    table = read_detections(detected)
    assert table["pipe_id"].tolist() == ["11", ""]  # sorted by time; empty = not located
