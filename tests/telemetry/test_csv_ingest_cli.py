"""`waterops ingest csv` end to end through ``main([...])``, on an SQLite file named by URL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.store import TelemetryStore


@pytest.fixture()
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", url)
    return url


def test_ingest_csv_round_trip(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "scada.csv"
    csv.write_text(
        "Timestamp,PT-101,FT-7\n"
        "2024-05-01 08:00,300,36\n"
        "2024-05-01 08:01,301,\n"
        "2024-05-01 08:02,302,37\n"
    )
    assert main(["ingest", "csv", str(csv)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown sensor(s): PT-101, FT-7" in err

    args = ["ingest", "csv", str(csv), "--create-sensors", "--system", "city",
            "--tz", "Asia/Shanghai", "--unit", "PT-101=kPa", "--unit", "FT-7=m3/h"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(wide, 3 rows): 5 readings, 5 new, 0 duplicates, 2 sensors" in out
    assert "created 2 sensor(s): PT-101, FT-7" in out
    assert "2024-05-01T00:00:00+00:00 … 2024-05-01T00:02:00+00:00" in out

    assert main(args) == 0
    assert "5 readings, 0 new, 5 duplicates" in capsys.readouterr().out

    with TelemetryStore.open(database_url) as store:
        np.testing.assert_allclose(store.readings("FT-7")["value"], [0.01, 37 / 3600])
        assert len(store.readings("PT-101")) == 3


def test_ingest_csv_errors_are_one_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("Timestamp,PT-1\n2024-05-01 08:00,30\n")
    assert main(["ingest", "csv", str(csv), "--unit", "PT-1"]) == EXIT_USER_ERROR
    assert "write SENSOR=UNIT" in capsys.readouterr().err
    assert main(["ingest", "csv", str(tmp_path / "missing.csv")]) == EXIT_USER_ERROR
    assert "cannot read the file" in capsys.readouterr().err
    assert main(["ingest", "csv", str(csv), "--create-sensors"]) == EXIT_USER_ERROR
    assert "--system" in capsys.readouterr().err
