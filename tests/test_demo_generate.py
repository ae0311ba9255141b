"""``waterops demo generate``: a labelled data set, byte-identical for the same seed."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from waterops.cli.main import main
from waterops.service.virtual_utility import build_demo_utility

FILES = ("pressures.csv", "flows.csv", "levels.csv", "demands.csv", "chlorine.csv",
         "turbidity.csv", "conductivity.csv", "pump_status.csv", "sensors.csv",
         "incidents.csv", "README.txt")


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def generate(out: Path, seed: int, *extra: str) -> None:
    assert main(["demo", "generate", "--days", "0.25", "--seed", str(seed), "--out", str(out),
                 "--incidents-per-day", "12", *extra]) == 0


@pytest.mark.slow
def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", 7, "--incident", "pipe_burst:JUNCTION-75:0.002")
    generate(tmp_path / "b", 7, "--incident", "pipe_burst:JUNCTION-75:0.002")
    generate(tmp_path / "c", 8, "--incident", "pipe_burst:JUNCTION-75:0.002")
    a, b, c = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    assert sorted(a) == sorted(FILES)  # no temporary file left behind
    assert a == b
    assert a["pressures.csv"] != c["pressures.csv"]
    assert a["sensors.csv"] == c["sensors.csv"]  # the layout does not depend on the seed


def test_scada_files_have_one_column_per_sensor_named_by_element(tmp_path: Path) -> None:
    out = tmp_path / "set"
    generate(out, 7, "--incident", "pipe_burst:JUNCTION-75:0.002")
    layout = build_demo_utility()
    pressures = pd.read_csv(out / "pressures.csv")
    wanted = [s.element_id for s in layout.sensors if s.id.startswith("P-")]
    assert list(pressures.columns) == ["Timestamp", *wanted]
    assert len(pressures) == 72  # 6 h every 5 min
    assert pressures["Timestamp"].iloc[0] == "2026-01-01T00:00:00+08:00"
    assert pressures["Timestamp"].iloc[1] == "2026-01-01T00:05:00+08:00"
    assert pressures["JUNCTION-75"].notna().sum() > 60
    demands = pd.read_csv(out / "demands.csv")
    assert len(demands) == 6  # hourly AMR reads
    assert all(c.startswith("JUNCTION-") for c in demands.columns[1:])
    flows = pd.read_csv(out / "flows.csv")
    assert "TM-053" in flows.columns and "PUMP-3830" in flows.columns
    levels = pd.read_csv(out / "levels.csv")
    assert levels["WTP1-CLEARWELL"].dropna().between(0.5, 5.0).all()
    with (out / "incidents.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["type"] == "pipe_burst" and rows[0]["element"] == "JUNCTION-75"
    assert rows[0]["start"] == "2025-12-31T16:00:00+00:00" and rows[0]["size"] == "0.002"
    assert len(rows) >= 2  # random ones too, at 12 a day


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "0"], "--days must be > 0"),
    (["--days", "1", "--incident", "pump_trip:JUNCTION-75"], "must be a pump"),
])
def test_bad_requests_fail_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "nothing"
    assert main(["demo", "generate", "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
