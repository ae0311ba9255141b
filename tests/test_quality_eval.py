"""Quality-event scores, the station files, and the detect/evaluate/datasets commands."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.errors import QualityDataError
from waterops.service.quality_datasets import (
    VARIABLES,
    QualityDatasetSpec,
    generate_quality_dataset,
    write_quality_dataset,
)
from waterops.service.quality_evaluation import (
    evaluate_quality_files,
    read_station_csv,
    score_quality_flags,
)


def test_row_and_event_scores_by_hand() -> None:
    truth = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0], dtype=bool)
    flags = np.array([0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1], dtype=bool)
    times = pd.date_range("2026-03-01T00:00Z", periods=11, freq="5min")
    s = score_quality_flags(truth, flags, times)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 3, 3, 3)
    assert s.precision == pytest.approx(2 / 5)
    assert s.recall == pytest.approx(2 / 5)
    assert s.f1 == pytest.approx(2 / 5)
    assert (s.events, s.detected, s.missed, s.false_alarms) == (2, 1, 1, 1)
    assert s.median_delay_s == 300.0
    empty = score_quality_flags(np.zeros(4, bool), np.zeros(4, bool))
    assert (empty.precision, empty.recall, empty.events) == (1.0, 1.0, 0)
    assert math.isnan(empty.median_delay_s)


def test_data_set_is_seeded_and_labels_events_not_faults(tmp_path: Path) -> None:
    spec = QualityDatasetSpec(train_days=7, test_days=7)
    a = write_quality_dataset(tmp_path / "a", 7, spec)
    b = write_quality_dataset(tmp_path / "b", 7, spec)
    for role in a:
        assert a[role].read_bytes() == b[role].read_bytes(), role
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "injections.csv", "test.csv", "test_truth.csv", "train.csv"]
    train = pd.read_csv(a["train"])
    test = pd.read_csv(a["test"])
    assert list(train.columns) == ["time", *VARIABLES, "EVENT"]
    assert list(test.columns) == ["time", *VARIABLES]  # a detector cannot see the labels
    injections = pd.read_csv(a["injections"])
    assert injections["is_event"].any() and (~injections["is_event"]).any()
    truth = pd.read_csv(a["test_truth"]).set_index("time")["EVENT"]
    for inj in injections[injections["part"] == "test"].itertuples():
        labels = truth.loc[inj.start:inj.end]
        assert (labels == int(inj.is_event)).all(), inj


def test_events_move_several_variables_faults_one() -> None:
    spec = QualityDatasetSpec(train_days=2, test_days=14, events_per_week=4)
    rng_free = generate_quality_dataset(3, spec)
    _, test, truth, injections = rng_free
    assert truth.sum() > 0
    # each event row differs from the surrounding normal water in several variables
    for inj in (i for i in injections if i.part == "test" and i.is_event):
        during = test.loc[inj.start:inj.end].median()
        before = test.loc[inj.start - pd.Timedelta(hours=3):inj.start].iloc[:-1]
        z = ((during - before.median()) / before.std()).abs()
        assert int((z > 3).sum()) >= 2, (inj, z.round(1).to_dict())


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_station_csv_errors_name_line_and_column(tmp_path: Path) -> None:
    good = "time,a,b\n2026-03-01T00:00:00Z,1.0,\n2026-03-01T00:05:00Z,1.1,2\n"
    table = read_station_csv(_write(tmp_path / "ok.csv", good))
    assert np.isnan(table.values["b"].iloc[0]) and table.values["a"].iloc[1] == 1.1
    with pytest.raises(QualityDataError, match=r"line 3: column 'b' value 'x' is not a number"):
        read_station_csv(_write(tmp_path / "v.csv", good.replace(",2\n", ",x\n")))
    with pytest.raises(QualityDataError, match=r"line 2: time 'yesterday'"):
        read_station_csv(_write(tmp_path / "t.csv", good.replace("2026-03-01T00:00:00Z",
                                                                  "yesterday")))
    with pytest.raises(QualityDataError, match=r"line 3: time '2026-03-01T00:00:00Z' does not "
                       "come after"):
        read_station_csv(_write(tmp_path / "back.csv", good.replace("00:05:00Z", "00:00:00Z")))
    with pytest.raises(QualityDataError, match="needs a time column"):
        read_station_csv(_write(tmp_path / "one.csv", "time\n2026-03-01T00:00:00Z\n"))
    with pytest.raises(QualityDataError, match="cannot read CSV"):
        read_station_csv(tmp_path / "missing.csv")


def test_evaluate_needs_a_flag_for_every_truth_row(tmp_path: Path) -> None:
    truth = _write(tmp_path / "truth.csv", "time,EVENT\n2026-03-01T00:00:00Z,0\n"
                   "2026-03-01T00:05:00Z,1\n2026-03-01T00:10:00Z,1\n")
    flags = _write(tmp_path / "flags.csv", "time,event,score\n2026-03-01T00:00:00Z,0,0.1\n"
                   "2026-03-01T00:05:00Z,1,1\n")
    with pytest.raises(QualityDataError, match="no flag for 1 truth rows, the first at "
                       "2026-03-01T00:10:00Z"):
        evaluate_quality_files(truth, flags)
    with pytest.raises(QualityDataError, match="no label column 'LABEL'"):
        evaluate_quality_files(truth, flags, "LABEL")
    # the same instants written with another offset still match
    flags = _write(tmp_path / "flags2.csv", "time,event\n2026-03-01T08:00:00+08:00,0\n"
                   "2026-03-01T08:05:00+08:00,1\n2026-03-01T08:10:00+08:00,0\n")
    s = evaluate_quality_files(truth, flags)
    assert (s.tp, s.fn, s.fp) == (1, 1, 0)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quality-set")
    assert main(["datasets", "quality-events", "--out", str(out), "--seed", "4",
                 "--train-days", "7", "--test-days", "14"]) == 0
    return out


def test_commands_detect_and_score_the_generated_set(dataset_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    flags = tmp_path / "flags.csv"
    assert main(["detect", "quality-events", "--input", str(dataset_dir / "test.csv"),
                 "--out", str(flags), "--train", str(dataset_dir / "train.csv"),
                 "--label-column", "EVENT"]) == 0
    out = pd.read_csv(flags)
    test = pd.read_csv(dataset_dir / "test.csv")
    assert list(out.columns) == ["time", "event", "score"]
    assert out["time"].tolist() == test["time"].tolist()
    assert set(out["event"]) <= {0, 1}
    capsys.readouterr()
    assert main(["evaluate", "quality-events", "--truth", str(dataset_dir / "test_truth.csv"),
                 "--flags", str(flags)]) == 0
    text = capsys.readouterr().out
    f1 = float(text.split("F1")[1].split()[0])
    assert f1 >= 0.8, text
    baseline = tmp_path / "z.csv"
    assert main(["detect", "quality-events", "--input", str(dataset_dir / "test.csv"),
                 "--out", str(baseline), "--train", str(dataset_dir / "train.csv"),
                 "--label-column", "EVENT", "--method", "zscore"]) == 0
    capsys.readouterr()
    main(["evaluate", "quality-events", "--truth", str(dataset_dir / "test_truth.csv"),
          "--flags", str(baseline)])
    assert float(capsys.readouterr().out.split("F1")[1].split()[0]) < f1


@pytest.mark.parametrize("train", [True, False])
def test_command_output_is_online(dataset_dir: Path, tmp_path: Path, train: bool) -> None:
    """Cutting the input at row k gives the same first k output rows."""
    lines = (dataset_dir / "test.csv").read_text().splitlines(keepends=True)
    extra = ["--train", str(dataset_dir / "train.csv"), "--label-column", "EVENT"] if train \
        else []
    full = tmp_path / "full.csv"
    cut_in = tmp_path / "cut_in.csv"
    cut_out = tmp_path / "cut_out.csv"
    assert main(["detect", "quality-events", "--input", str(dataset_dir / "test.csv"),
                 "--out", str(full), *extra]) == 0
    for k in (200, 288, 289, 1500):
        cut_in.write_text("".join(lines[:k + 1]))
        assert main(["detect", "quality-events", "--input", str(cut_in), "--out",
                     str(cut_out), *extra]) == 0
        assert cut_out.read_text().splitlines() == full.read_text().splitlines()[:k + 1]


def test_command_errors_are_one_line_and_write_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.csv", "time,a\n2026-03-01T00:00:00Z,oops\n")
    out = tmp_path / "flags.csv"
    assert main(["detect", "quality-events", "--input", str(bad), "--out", str(out)]) \
        == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 2: column 'a' value 'oops'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    good = _write(tmp_path / "good.csv", "time,a\n2026-03-01T00:00:00Z,1\n")
    assert main(["detect", "quality-events", "--input", str(good), "--out", str(out),
                 "--method", "magic"]) == EXIT_USER_ERROR
    assert "unknown method 'magic'" in capsys.readouterr().err
    assert main(["datasets", "quality-events", "--out", str(tmp_path / "d"),
                 "--step-s", "0"]) == EXIT_USER_ERROR
