"""``waterops treatment recommend|validate|drift|demo-history``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from waterops.cli.main import main


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plant") / "plant.csv"
    assert main(["treatment", "demo-history", "--out", str(path), "--days", "200"]) == 0
    return path


def test_demo_history_and_validate(history_csv: Path, capsys: pytest.CaptureFixture[str]
                                   ) -> None:
    assert len(pd.read_csv(history_csv)) == 800
    capsys.readouterr()
    assert main(["treatment", "validate", "--history", str(history_csv)]) == 0
    out = capsys.readouterr().out
    assert "coagulant_mg_l" in out and "ozone_mg_l" in out and "nominal 90%" in out


def test_recommend(history_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["treatment", "recommend", "--turbidity", "20", "--temperature", "12", "--ammonia",
            "0.3", "--codmn", "3", "--history", str(history_csv)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "coagulant" in out and "ozone" in out and "800 records" in out
    assert main([*argv[:2], "--turbidity", "-2", *argv[4:]]) == 2
    assert "turbidity_ntu must be within" in capsys.readouterr().err


def test_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    times = pd.date_range("2026-12-01", periods=7 * 24, freq="h", tz="Asia/Shanghai")
    rng = np.random.default_rng(0)
    chlorine = 0.32 + rng.normal(0, 0.01, len(times))
    pd.DataFrame({"time": [t.isoformat() for t in times], "free_chlorine": chlorine,
                  "turbidity": 0.1}).to_csv(tmp_path / "outlet.csv", index=False)
    assert main(["treatment", "drift", "--outlet", str(tmp_path / "outlet.csv")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("approaching: free_chlorine 0.32")
    assert "出厂水余量" in out[0]
    (tmp_path / "bad.csv").write_text("when,turbidity\n")
    assert main(["treatment", "drift", "--outlet", str(tmp_path / "bad.csv")]) == 2
    assert "missing column time" in capsys.readouterr().err
