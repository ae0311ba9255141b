"""Smart-meter (AMI) leak data sets and the model-based detector (``detect leaks --method
model``), including its causality contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scada_cut import write_cut
from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.io.inp import read_inp
from waterops.service.leak_datasets import LeakDatasetSpec, generate_leak_dataset
from waterops.service.leak_detection import read_scada
from waterops.service.leak_model import model_pressures

# big leaks so that a short data set has detections on both sides of the cut
SPEC = LeakDatasetSpec(duration_days=24, step_s=900, leak_count=4, leak_free_days=14,
                       min_flow_m3s=0.006, max_flow_m3s=0.012, pressure_sensors=20,
                       repaired_share=0.5, ami=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, net3_path: Path) -> Path:
    out = tmp_path_factory.mktemp("ami") / "net3"
    generate_leak_dataset(net3_path, out, seed=5, spec=SPEC)
    return out


def test_ami_set_meters_every_consumer_and_perturbs_the_model_only(
        dataset: Path, net3_path: Path, tmp_path: Path) -> None:
    truth_net = read_inp(net3_path)
    consumers = set(truth_net.junctions.index[truth_net.junctions["base_demand_m3s"] > 0])
    demands = pd.read_csv(dataset / "demands.csv", index_col="Timestamp")
    assert set(demands.columns) == consumers
    # one read per 15 minutes, stamped at the end of its interval (none at the start)
    assert demands.index[0] == "2025-01-01 00:15" and len(demands) == 24 * 96
    volumes_l = demands.to_numpy() * 900 * 1000
    assert np.allclose(volumes_l, np.round(volumes_l), atol=1e-3)  # whole litres per read
    model = read_inp(dataset / "network.inp")
    ratio = model.pipes["roughness"] / truth_net.pipes["roughness"]
    assert (ratio.between(0.9, 1.1)).all() and ratio.std() > 0.03
    assert model.pipes["length_m"].equals(truth_net.pipes["length_m"])
    # the readings and the truth are those of the same seed without smart meters
    plain = tmp_path / "plain"
    generate_leak_dataset(net3_path, plain, seed=5,
                          spec=LeakDatasetSpec(**{**SPEC.__dict__, "ami": False}))
    for name in ("pressures.csv", "flows.csv", "leaks.csv"):
        assert (plain / name).read_bytes() == (dataset / name).read_bytes()
    assert (plain / "network.inp").read_bytes() == net3_path.read_bytes()


def test_the_model_fed_exact_demands_reproduces_the_pressures(net3_path: Path,
                                                              tmp_path: Path) -> None:
    """Without model error, meter noise, leaks or sensor noise, the model fed the reads
    gives the measured pressures (so what remains in real residuals is leaks and errors)."""
    quiet = LeakDatasetSpec(duration_days=18, leak_count=1, leak_free_days=14,
                            min_flow_m3s=1e-7, max_flow_m3s=2e-7, pressure_sensors=10,
                            pressure_noise_m=0.0, flow_noise=0.0, ami=True, ami_noise=0.0,
                            ami_resolution_m3=1e-12, roughness_error=0.0)
    out = tmp_path / "quiet"
    generate_leak_dataset(net3_path, out, seed=3, spec=quiet)
    scada = read_scada(out)
    pressures, demands = scada.pressures_m.iloc[:96], scada.demands_m3s
    modelled = model_pressures(out / "network.inp", pressures, demands, scada.levels_m)
    error = (pressures - modelled).abs()
    assert error.median().median() < 0.01  # [m]
    # with the tanks at their measured levels, demands 10 % off show
    off = model_pressures(out / "network.inp", pressures, demands * 0.9, scada.levels_m)
    assert (pressures - off).abs().median().median() > 0.05


def _detect(scada: Path, out: Path) -> pd.DataFrame:
    code = main(["detect", "leaks", "--network", str(scada / "network.inp"), "--scada",
                 str(scada), "--out", str(out), "--method", "model"])
    assert code == 0
    return pd.read_csv(out, dtype={"pipe_id": str})


def test_model_method_is_causal_on_data_cut_at_any_time(dataset: Path, tmp_path: Path) -> None:
    full = _detect(dataset, tmp_path / "full.csv")
    assert list(full.columns) == ["pipe_id", "detected_at", "score"]
    assert len(full) >= 2, "the data set should give detections on both sides of the cut"
    times = pd.to_datetime(full["detected_at"])
    cuts = [times.iloc[0], times.iloc[0] + (times.iloc[-1] - times.iloc[0]) / 2]
    for k, cut in enumerate(cuts):
        part_dir = tmp_path / f"cut{k}"
        part_dir.mkdir()
        (part_dir / "network.inp").write_bytes((dataset / "network.inp").read_bytes())
        write_cut(dataset, part_dir, cut)
        part = _detect(part_dir, tmp_path / f"cut{k}.csv")
        expected = full[times <= cut].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected)


def test_model_method_needs_smart_meters(dataset: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    scada = tmp_path / "sparse"
    scada.mkdir()
    for name in ("pressures", "flows", "levels"):
        (scada / f"{name}.csv").write_bytes((dataset / f"{name}.csv").read_bytes())
    demands = pd.read_csv(dataset / "demands.csv")
    demands.iloc[:, :6].to_csv(scada / "demands.csv", index=False)  # Timestamp + 5 meters
    code = main(["detect", "leaks", "--network", str(dataset / "network.inp"), "--scada",
                 str(scada), "--out", str(tmp_path / "x.csv"), "--method", "model"])
    assert code == EXIT_USER_ERROR
    assert "--method model needs smart meters" in capsys.readouterr().err
