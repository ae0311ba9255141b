"""`waterops simulate`: tables on disk equal the API's results; failures write nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from problem_networks import TROUBLED, UNSOLVABLE
from waterops.cli.main import main
from waterops.hydraulics import WaterAge, simulate


def test_csv_tables_equal_the_api(
    net3_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["simulate", str(net3_path), "-o", str(out), "--duration", "24h"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(
        f"{kind}_{name}.csv"
        for kind, names in (
            ("node", ("pressure", "head", "demand")),
            ("link", ("flowrate", "velocity", "status")),
        )
        for name in names
    )
    expected = simulate(net3_path, duration_s=86400)
    pressure = pd.read_csv(out / "node_pressure.csv", index_col="time_s")
    assert pressure.columns[0] == "10" and pressure.index.name == "time_s"
    assert list(pressure.index) == list(range(0, 86401, 3600))
    np.testing.assert_array_equal(pressure.to_numpy(), expected.node["pressure"].to_numpy())
    flow = pd.read_csv(out / "link_flowrate.csv", index_col="time_s")
    np.testing.assert_array_equal(flow.to_numpy(), expected.link["flowrate"].to_numpy())
    printed = capsys.readouterr().out
    low = expected.lowest_pressure()
    assert low is not None
    assert f"Lowest pressure: {low.pressure_m:.2f} m at junction {low.node_id}" in printed
    assert "negative_pressure" in printed


def test_parquet_with_water_age(net1_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "age"
    args = ["simulate", str(net1_path), "-o", str(out), "-q", "age", "-f", "parquet"]
    assert main(args) == 0
    age = pd.read_parquet(out / "node_quality.parquet")
    assert age.columns[0] == "time_s"
    expected = simulate(net1_path, quality=WaterAge())
    np.testing.assert_array_equal(
        age.drop(columns="time_s").to_numpy(), expected.node["quality"].to_numpy()
    )


def test_warnings_are_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    network = tmp_path / "troubled.inp"
    network.write_text(TROUBLED)
    assert main(["simulate", str(network), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "disconnected: WARNING: Node J3 disconnected" in printed
    assert "pump_beyond_curve: WARNING: Pump PU1 open but exceeds maximum flow" in printed


def test_unsolvable_network_fails_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = tmp_path / "unsolvable.inp"
    network.write_text(UNSOLVABLE)
    out = tmp_path / "results"
    assert main(["simulate", str(network), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(network) in err and "EPANET error 110" in err and "J1 (line 2)" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unsolvable.inp"]


def test_failure_leaves_an_existing_outdir_untouched(
    net1_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    assert main(["simulate", str(net1_path), "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["simulate", str(net1_path), "-o", str(out), "-q", "trace:nowhere"]) == 2
    assert "unknown node 'nowhere'" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quality", "chlorine:fast"], "bulk coefficient 'fast' is not a number"),
        (["--duration", "soon"], "cannot read duration"),
        (["--format", "xlsx"], "--format must be csv or parquet"),
        (["--demand-model", "XYZ"], "--demand-model must be DDA or PDA"),
    ],
)
def test_bad_options_are_one_line_errors(
    net1_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "out"
    assert main(["simulate", str(net1_path), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_network_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(tmp_path / "none.inp"), "-o", str(tmp_path / "o")]) == 2
    assert "none.inp: file not found" in capsys.readouterr().err
