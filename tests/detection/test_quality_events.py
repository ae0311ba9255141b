"""CANARY-style water-quality event detection: scores on the generated set, causality, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.detection.quality_events import (
    CanarySettings,
    QualityEventDetector,
    detect_quality_events,
    fit_quality_model,
    robust_zscore_events,
)
from waterops.errors import QualityDataError
from waterops.service.quality_datasets import LABEL_COLUMN, VARIABLES, generate_quality_dataset
from waterops.service.quality_evaluation import score_quality_flags


@pytest.fixture(scope="module")
def dataset() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    train, test, truth, _ = generate_quality_dataset(seed=2)
    return train, test, truth


def test_detector_meets_target_and_beats_zscore_baseline(dataset) -> None:
    train, test, truth = dataset
    model = fit_quality_model(train[list(VARIABLES)], train[LABEL_COLUMN])
    flags = detect_quality_events(test, model)
    scores = score_quality_flags(truth.to_numpy() == 1, flags["event"].to_numpy(), test.index)
    baseline = robust_zscore_events(test, model, k=4.0)
    base_scores = score_quality_flags(truth.to_numpy() == 1, baseline["event"].to_numpy())
    assert scores.f1 >= 0.8, scores
    assert scores.f1 > base_scores.f1 + 0.2
    assert scores.detected >= scores.events - 1
    assert scores.median_delay_s <= 30 * 60  # within half an hour of the event's first row
    assert flags["score"].between(0.0, 1.0).all()


def test_each_row_depends_only_on_rows_up_to_it(dataset) -> None:
    train, test, _ = dataset
    model = fit_quality_model(train[list(VARIABLES)], train[LABEL_COLUMN])
    part = test.iloc[:1500]
    full = detect_quality_events(part, model)
    for k in (1, 37, 400, 1013):
        pd.testing.assert_frame_equal(detect_quality_events(part.iloc[:k], model), full.iloc[:k])
    # without a training period the model is learned from the first rows, flagged 0
    full = detect_quality_events(part, None, warmup_rows=300)
    assert not full["event"].iloc[:300].any() and (full["score"].iloc[:300] == 0).all()
    for k in (150, 300, 301, 900):
        pd.testing.assert_frame_equal(detect_quality_events(part.iloc[:k], None, warmup_rows=300),
                                      full.iloc[:k])


def test_labelled_rows_are_not_learned() -> None:
    rng = np.random.default_rng(5)
    x = 10 + np.cumsum(rng.normal(0, 0.01, 600)) + rng.normal(0, 0.05, 600)
    labels = np.zeros(600, dtype=int)
    labels[300:360] = 1
    polluted = x.copy()
    polluted[300:360] += 50.0
    frame = pd.DataFrame({"a": polluted})
    with_labels = fit_quality_model(frame, labels)
    clean = fit_quality_model(pd.DataFrame({"a": x}))
    assert with_labels.centre[0] == pytest.approx(np.median(np.delete(x, range(300, 360))))
    assert with_labels.sigma[0] == pytest.approx(clean.sigma[0], rel=0.2)


def _station(n: int, start: int = 0) -> pd.DataFrame:
    t = np.arange(start, start + n, dtype=float)
    return pd.DataFrame({
        "chlorine_mg_l": 0.6 + 0.05 * np.sin(2 * np.pi * t / 288),
        "conductivity_us_cm": 420 + 5 * np.cos(2 * np.pi * t / 200),
        "ph": 7.6 + 0.02 * np.sin(2 * np.pi * t / 150),
    })


def test_two_sensors_moving_together_raise_an_event() -> None:
    model = fit_quality_model(_station(600))
    test = _station(200, 600)
    test.loc[100:, "chlorine_mg_l"] -= 0.2
    test.loc[100:, "conductivity_us_cm"] += 40.0
    flags = detect_quality_events(test, model)
    assert not flags["event"].iloc[:100].any()
    assert flags["event"].iloc[110:].all()


def test_a_station_whose_sensors_all_freeze_is_not_an_event_for_ever() -> None:
    model = fit_quality_model(_station(600))
    settings = CanarySettings(stuck_rows=12)
    test = _station(200, 600)
    test.iloc[100:] = 0.0  # station power cut: every reading stuck at zero
    flags = detect_quality_events(test, model, settings)
    assert flags["event"].iloc[100:112].any()  # the jump to zero is seen …
    assert not flags["event"].iloc[100 + 12 + settings.end_after_rows:].any()  # … not held


def test_detector_reports_which_variables_stand_out() -> None:
    model = fit_quality_model(_station(600))
    detector = QualityEventDetector(model)
    rows = _station(20, 600).to_numpy(copy=True)
    rows[5] += np.array([-0.3, 60.0, 0.0])
    outlying = []
    for row in rows:
        detector.step(row)
        outlying.append(detector.outlying)
    assert outlying[5] == ("chlorine_mg_l", "conductivity_us_cm")
    assert outlying[:5] == [()] * 5 and outlying[6:] == [()] * 14


def test_unusable_training_and_input_are_refused_with_the_column() -> None:
    with pytest.raises(QualityDataError, match="'a' has 5 usable normal rows"):
        fit_quality_model(pd.DataFrame({"a": np.arange(5.0)}))
    with pytest.raises(QualityDataError, match="not numeric"):
        fit_quality_model(pd.DataFrame({"a": ["x"] * 100}))
    with pytest.raises(QualityDataError, match="3 labels for 100 rows"):
        fit_quality_model(pd.DataFrame({"a": np.arange(100.0)}), [0, 1, 0])
    model = fit_quality_model(_station(600))
    with pytest.raises(QualityDataError, match=r"missing \['ph'\], not trained \['orp_mv'\]"):
        detect_quality_events(_station(10).rename(columns={"ph": "orp_mv"}), model)
    with pytest.raises(ValueError, match="outlier_probability"):
        CanarySettings(outlier_probability=1.5)
