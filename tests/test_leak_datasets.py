"""Leak data sets (BattLeDIM layout) and the ``detect/evaluate/datasets leaks`` commands on
them, including the causality contract of ``detect leaks``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scada_cut import write_cut
from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.io.inp import read_inp
from waterops.service.leak_datasets import LeakDatasetSpec, generate_leak_dataset
from waterops.service.leak_detection import dma_inflow, read_scada, read_scada_file

# big leaks so that a short data set has detections on both sides of the cut
SPEC = LeakDatasetSpec(duration_days=24, step_s=900, leak_count=4, leak_free_days=14,
                       min_flow_m3s=0.006, max_flow_m3s=0.012, pressure_sensors=20,
                       repaired_share=0.5)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, net3_path: Path) -> Path:
    out = tmp_path_factory.mktemp("leaks") / "net3"
    generate_leak_dataset(net3_path, out, seed=4, spec=SPEC)
    return out


def test_dataset_has_the_battledim_layout_and_labelled_leaks(dataset: Path,
                                                             net3_path: Path) -> None:
    net = read_inp(net3_path)
    for name in ("pressures", "flows", "levels", "demands"):
        table = pd.read_csv(dataset / f"{name}.csv")
        assert table.columns[0] == "Timestamp"
        assert len(table) == 24 * 96 + 1
        assert table.iloc[:, 1:].notna().all().all()
    assert set(pd.read_csv(dataset / "pressures.csv").columns[1:]) <= set(net.junctions.index)
    assert set(pd.read_csv(dataset / "levels.csv").columns[1:]) == set(net.tanks.index)
    truth = pd.read_csv(dataset / "leaks.csv", dtype={"pipe_id": str})
    assert list(truth.columns) == ["pipe_id", "start", "peak", "end", "peak_flow_m3s", "type"]
    assert len(truth) == 4 and truth["pipe_id"].isin(net.pipes.index).all()
    assert (pd.to_datetime(truth["start"]) >= pd.Timestamp("2025-01-15")).all()
    assert (dataset / "network.inp").read_bytes() == net3_path.read_bytes()


def test_a_leak_adds_its_flow_to_the_consumption(net3_path: Path, tmp_path: Path) -> None:
    """Without noise, the network's consumption (reservoir outflow minus tank filling, as the
    MNF baseline computes it) rises by the leak's flow once it starts."""
    quiet = LeakDatasetSpec(duration_days=18, step_s=900, leak_count=1, leak_free_days=14,
                            min_flow_m3s=0.01, max_flow_m3s=0.0100001, incipient_share=0.0,
                            repaired_share=0.0, demand_noise=0.0, daily_noise=0.0,
                            pressure_noise_m=0.0, flow_noise=0.0)
    truth = generate_leak_dataset(net3_path, tmp_path / "quiet", seed=2, spec=quiet)
    net = read_inp(net3_path)
    consumption = dma_inflow(net, read_scada(tmp_path / "quiet"))
    start = pd.Timestamp(str(truth.at[0, "start"]), tz="UTC").ceil("D") + pd.Timedelta(days=1)
    day = pd.Timedelta(days=1) - pd.Timedelta(seconds=900)
    before = consumption[start - pd.Timedelta(days=3):start - pd.Timedelta(days=3) + day].mean()
    after = consumption[start:start + day].mean()
    assert after - before == pytest.approx(0.01, rel=0.25)


def test_same_seed_same_data(dataset: Path, net3_path: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_leak_dataset(net3_path, again, seed=4, spec=SPEC)
    for name in ("pressures.csv", "leaks.csv"):
        assert (again / name).read_bytes() == (dataset / name).read_bytes()


def _detect(network: Path, scada: Path, out: Path) -> pd.DataFrame:
    code = main(["detect", "leaks", "--network", str(network), "--scada", str(scada),
                 "--out", str(out)])
    assert code == 0
    return pd.read_csv(out, dtype={"pipe_id": str})


def test_detect_leaks_is_causal_on_data_cut_at_any_time(dataset: Path, tmp_path: Path) -> None:
    full = _detect(dataset / "network.inp", dataset, tmp_path / "full.csv")
    assert list(full.columns) == ["pipe_id", "detected_at", "score"]
    assert len(full) >= 2, "the data set should give detections on both sides of the cut"
    times = pd.to_datetime(full["detected_at"])
    cuts = [times.iloc[0], times.iloc[0] + (times.iloc[-1] - times.iloc[0]) / 2]
    for k, cut in enumerate(cuts):
        part_dir = tmp_path / f"cut{k}"
        part_dir.mkdir()
        write_cut(dataset, part_dir, cut)
        part = _detect(dataset / "network.inp", part_dir, tmp_path / f"cut{k}.csv")
        expected = full[times <= cut].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected)


def test_locate_after_hours_moves_the_first_raise_and_is_checked(
        dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first leak is suspected at the same time whatever the wait; raised 12 h (default)
    or 24 h (the method of issue 6) later."""
    early = _detect(dataset / "network.inp", dataset, tmp_path / "early.csv")
    args = ["detect", "leaks", "--network", str(dataset / "network.inp"), "--scada",
            str(dataset)]
    assert main([*args, "--out", str(tmp_path / "late.csv"), "--locate-after-hours", "24"]) == 0
    late = pd.read_csv(tmp_path / "late.csv", dtype={"pipe_id": str})
    first = pd.to_datetime(late["detected_at"]).iloc[0] - pd.to_datetime(
        early["detected_at"]).iloc[0]
    assert first == pd.Timedelta(hours=12)
    assert main([*args, "--out", str(tmp_path / "bad.csv"), "--locate-after-hours", "30"]
                ) == EXIT_USER_ERROR
    assert "locate_after_s must lie between 0 and the averaging window" in \
        capsys.readouterr().err
    assert not (tmp_path / "bad.csv").exists()


def test_evaluate_leaks_scores_the_detections(dataset: Path, tmp_path: Path) -> None:
    detected = _detect(dataset / "network.inp", dataset, tmp_path / "det.csv")
    out = tmp_path / "scores.json"
    code = main(["evaluate", "leaks", "--truth", str(dataset / "leaks.csv"), "--detected",
                 str(tmp_path / "det.csv"), "--network", str(dataset / "network.inp"),
                 "--out", str(out)])
    assert code == 0
    scores = json.loads(out.read_text())
    assert scores["detections"] == len(detected)
    assert scores["hits"] + scores["false_alarms"] == len(detected)
    assert scores["detection_only_recall"] > 0  # leaks of 6-12 L/s on Net3 are seen
    per_leak = pd.read_csv(tmp_path / "scores.leaks.csv")
    assert len(per_leak) == 4


def test_minimum_night_flow_baseline_runs_through_the_command(dataset: Path,
                                                              tmp_path: Path) -> None:
    code = main(["detect", "leaks", "--network", str(dataset / "network.inp"), "--scada",
                 str(dataset), "--out", str(tmp_path / "mnf.csv"), "--method", "mnf"])
    assert code == 0
    table = pd.read_csv(tmp_path / "mnf.csv", keep_default_na=False)
    assert list(table.columns) == ["pipe_id", "detected_at", "score"]
    assert (table["pipe_id"] == "").all()


def test_faulty_scada_folders_fail_with_one_line(dataset: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    scada = tmp_path / "scada"
    scada.mkdir()
    for name in ("flows", "levels"):
        (scada / f"{name}.csv").write_bytes((dataset / f"{name}.csv").read_bytes())
    args = ["detect", "leaks", "--network", str(dataset / "network.inp"), "--scada",
            str(scada), "--out", str(tmp_path / "x.csv")]
    assert main(args) == EXIT_USER_ERROR
    assert "pressures.csv: file not found" in capsys.readouterr().err
    (scada / "pressures.csv").write_text("Timestamp,NOPE\n2025-01-01 00:00,40\n")
    assert main(args) == EXIT_USER_ERROR
    assert "column 'NOPE': no node" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    assert main([*args, "--flow-unit", "kPa"]) == EXIT_USER_ERROR
    assert "not a flow unit" in capsys.readouterr().err


def test_datasets_command_refuses_a_folder_in_use(tmp_path: Path, net3_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "used"
    out.mkdir()
    (out / "x").write_text("")
    code = main(["datasets", "leaks", "--network", str(net3_path), "--out", str(out)])
    assert code == EXIT_USER_ERROR
    assert "not empty" in capsys.readouterr().err


def test_scada_files_in_european_format_and_units_are_read_in_si(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("Timestamp;PUMP1;P-2\n2019-01-01 00:00;36,0;-7,2\n2019-01-01 00:05;;3,6\n")
    table = read_scada_file(path, factor=1 / 3600)  # m³/h -> m³/s
    assert table.index[1] == pd.Timestamp("2019-01-01 00:05", tz="UTC")
    assert table["PUMP1"].iloc[0] == pytest.approx(0.01)
    assert table["P-2"].tolist() == pytest.approx([-0.002, 0.001])
    assert pd.isna(table["PUMP1"].iloc[1])  # a gap stays a gap
