"""``waterops tariff bill``, ``waterops metrics export``, ``waterops enterprises advice``."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from waterops.cli.main import main
from waterops.model.accounts import Role
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.service.enterprise_service import EnterpriseDraft, EnterpriseService
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.enterprises_store import EnterprisesStore

WEEK_START = datetime(2026, 9, 20, 16, 0, tzinfo=UTC)  # 2026-09-21 00:00 Beijing time
WEEK_END = WEEK_START + timedelta(days=7)


def test_tariff_bill_crosses_the_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tariff", "bill", "--volume", "25", "--period", "month"]) == 0
    out = capsys.readouterr().out
    assert "tier 3" in out and out.rstrip().endswith("102.75 yuan")
    assert main(["tariff", "bill", "--volume", "200", "--period", "year"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("690.00 yuan")


def test_tariff_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tariff", "bill", "--volume", "5", "--tariff", "nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        "waterops: error: no tariff 'nope'; known: household-monthly, household-yearly, "
        "non-household, non-household-flat")
    bad = tmp_path / "tariffs.toml"
    bad.write_text("[tariffs.x]\nclass = 'household'\n", encoding="utf-8")
    assert main(["tariff", "bill", "--volume", "5", "--tariff-file", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_metrics_export_writes_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = tmp_path / "metrics.csv"
    assert main(["metrics", "export", "--out", str(out), "--database", url]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {"metric": "applications_per_stage", "key": "water_on", "value": "0",
            "unit": "count"} in rows
    assert {"metric": "median_days_to_water_on", "key": "", "value": "", "unit": "d"} in rows
    assert f"{len(rows)} metrics written" in capsys.readouterr().out
    assert main(["metrics", "export", "--out", str(out), "--start", "2026-01-01",
                 "--database", url]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err
    assert list(tmp_path.glob(".metrics.csv.*")) == []


def test_enterprise_advice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = TelemetryStore.open(url)
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor("D-E1", "city", Quantity.FLOW, interval_s=900.0)])
    times = np.arange(np.datetime64(WEEK_START.replace(tzinfo=None), "s"),
                      np.datetime64(WEEK_END.replace(tzinfo=None), "s"), np.timedelta64(900, "s"))
    local_hour = ((times.astype("int64") // 3600) + 8) % 24
    day = (local_hour >= 6) & (local_hour < 22)
    store.write_reading_arrays("D-E1", times, np.where(day, 3.0e-3, 0.1e-3) + 1.0e-3)
    agent = AccountsStore(store.engine).create_user("agent1", "x", Role.SERVICE_AGENT,
                                                    at=WEEK_START)
    EnterpriseService(EnterprisesStore(store.engine), store).register(agent, EnterpriseDraft(
        "E00001", "Park plant 1", "electronics", meter_sensor_ids=("D-E1",),
        tariff_name="non-household-flat"))
    store.close()

    argv = ["enterprises", "advice", "E00001", "--end", WEEK_END.isoformat(), "--database", url]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "possible leak" in out and "leak" in out and "total" in out
    assert main(["enterprises", "advice", "E404", "--database", url]) == 2
    assert capsys.readouterr().err.startswith("waterops: error: ")


def test_import_demo_registers_the_park_once(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = TelemetryStore.open(url)
    AccountsStore(store.engine).create_user("agent1", "x", Role.SERVICE_AGENT, at=WEEK_START)
    store.close()
    assert main(["enterprises", "import-demo", "--manager", "agent1", "--database", url]) == 0
    first = capsys.readouterr().out
    assert main(["enterprises", "import-demo", "--database", url]) == 0
    assert capsys.readouterr().out.startswith("0 enterprises registered")
    store = TelemetryStore.open(url)
    try:
        found, total = EnterprisesStore(store.engine).enterprises()
    finally:
        store.close()
    assert first.startswith(f"{total} enterprises registered") and total > 100
    assert all(len(e.meter_sensor_ids) == 1 and e.meter_sensor_ids[0].startswith("D-JUNCTION")
               for e in found)
    assert {e.manager_id for e in found} == {1} and {e.park_id for e in found} == {"PARK-1"}
    assert main(["enterprises", "import-demo", "--manager", "nobody", "--database", url]) == 2
