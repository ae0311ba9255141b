"""`waterops sensors …` end to end through ``main([...])``, on an SQLite file named by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.store import TelemetryStore


@pytest.fixture()
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", url)
    return url


def test_from_network_list_export_import(
    database_url: str, net1_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sensors", "from-network", str(net1_path), "--system", "net1",
                 "--interval", "1min"]) == 0
    assert "11 sensors (11 new, 0 updated), 7 sites; new water system(s): net1" in (
        capsys.readouterr().out
    )
    assert main(["sensors", "list", "--system", "net1"]) == 0
    listing = capsys.readouterr()
    assert listing.out.splitlines()[0].split() == [
        "id", "system", "quantity", "unit", "site", "element", "lower", "upper", "interval_s"
    ]
    rows = [line.split() for line in listing.out.splitlines()]
    assert ["L-2", "net1", "level", "m"] in [r[:4] for r in rows]
    assert listing.err.strip() == "11 sensors"

    out = tmp_path / "registry.csv"
    assert main(["sensors", "export", "--out", str(out)]) == 0
    exported = out.read_text()
    assert exported.count("\n") == 12 and ",60.0," in exported
    assert main(["sensors", "export"]) == 0
    assert capsys.readouterr().out == exported

    edited = exported.replace("pressure at junction 10", "DMA 3 logger")
    edited += "TURB-1,net1,,,,,,turbidity,,0,5,,,,,\n"
    (tmp_path / "edited.csv").write_text(edited)
    assert main(["sensors", "import", str(tmp_path / "edited.csv")]) == 0
    assert "12 sensors (1 new, 11 updated)" in capsys.readouterr().out
    with TelemetryStore.open(database_url) as store:
        assert store.get_sensor("TURB-1").upper == 5.0
        assert store.get_sensor("P-10").name == "DMA 3 logger"


def test_from_network_out_writes_csv_without_storing(
    database_url: str, net3_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net3-sensors.csv"
    assert main(["sensors", "from-network", str(net3_path), "--system", "net3",
                 "--prefix", "n3.", "--out", str(out)]) == 0
    assert "to " + str(out) in capsys.readouterr().out
    assert out.read_text().splitlines()[1].startswith("n3.")
    with TelemetryStore.open(database_url) as store:
        assert store.sensors() == []
    assert main(["sensors", "import", str(out)]) == 0
    with TelemetryStore.open(database_url) as store:
        assert len(store.sensors("net3")) == out.read_text().count("\n") - 1


def test_sensors_errors_are_one_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,system,quantity\nA,c,presure\n")
    assert main(["sensors", "import", str(bad)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv:2: quantity: unknown quantity 'presure'" in err
    assert main(["sensors", "from-network", str(tmp_path / "none.inp"), "--system", "x"]) == (
        EXIT_USER_ERROR
    )
    assert "none.inp" in capsys.readouterr().err
