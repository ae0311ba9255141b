"""``waterops scenarios criticality``: table on stdout, CSV on request, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.hydraulics import batch

TINY_INP = """\
[JUNCTIONS]
J1   10    10
J2   10    5
J3   10    0
J4   10    2

[RESERVOIRS]
R    60

[PIPES]
P1   R      J1     100     300       130        0          Open
P2   J1     J2     100     200       130        0          Open
P3   J1     J3     100     200       130        0          Open
P4   J3     J2     100     200       130        0          Open
LEAF J2     J4     100     100       130        0          Open

[TIMES]
Duration           2:00
Hydraulic Timestep 1:00

[OPTIONS]
Units     LPS

[END]
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.inp"
    path.write_text(TINY_INP)
    return path


def test_criticality_prints_top_table_and_writes_csv(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "critical.csv"
    code = main(["scenarios", "criticality", str(tiny), "--out", str(out), "--duration", "1h",
                 "--threshold-m", "20", "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pd.read_csv(out)
    assert list(table["link"]) == ["P1", "P2", "P3", "P4", "LEAF"]
    leaf = table.set_index("link").loc["LEAF"]
    assert leaf["unsupplied_m3"] == pytest.approx(2e-3 * 3600, rel=1e-4)
    assert leaf["nodes_below_threshold"] == 1
    lines = captured.out.splitlines()
    assert "5 links closed in turn, 1 h each" in captured.out
    assert "threshold 20 m" in captured.out
    rows = [line for line in lines if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "P1" and rows[1].split("│")[1].strip() == "LEAF"
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be 1 or more"),
        (["--duration", "soon"], "cannot read duration 'soon'"),
        (["--out", "/nonexistent-folder/x.csv"], "does not exist"),
        (["--threshold-m", "-3"], "threshold must be positive"),
    ],
)
def test_bad_options_are_one_line_errors(
    tiny: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scenarios", "criticality", str(tiny), *args]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_missing_network_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.inp"
    assert main(["scenarios", "criticality", str(missing)]) == EXIT_USER_ERROR
    assert f"{missing}: file not found" in capsys.readouterr().err


def test_dask_address_comes_from_the_environment(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEROPS_DASK_ADDRESS", "tcp://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT_S", 1.0)
    assert main(["scenarios", "criticality", str(tiny)]) == EXIT_USER_ERROR
    assert "Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_min_diameter_keeps_the_mains(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mains.csv"
    assert main(["scenarios", "criticality", str(tiny), "--min-diameter-mm", "250",
                 "--out", str(out)]) == 0
    assert list(pd.read_csv(out)["link"]) == ["P1"]
    assert "1 link closed in turn" in capsys.readouterr().out
