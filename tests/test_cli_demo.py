"""``waterops demo`` (the README's first command) runs the live demo utility into the store."""

from __future__ import annotations

import csv
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from problem_networks import DEMAND_JUMP
from waterops.cli.demo import _status_line
from waterops.cli.main import main
from waterops.service.simulator import UtilityStatus
from waterops.service.twin import Twin, TwinSettings
from waterops.store import TelemetryStore

FAST = ["--speed", "1e9", "--no-web"]  # as fast as the machine goes, console only


def data_dir() -> Path:
    return Path(os.environ["WATEROPS_DATA_DIR"])


def test_demo_runs_the_utility_into_the_store_with_the_twin(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--for", "2h", *FAST, "--incident", "pipe_burst:JUNCTION-75:0.003",
                 "--incidents-per-day", "0"]) == 0
    out = capsys.readouterr().out
    assert "13 DMAs" in out
    assert f"sqlite:///{data_dir() / 'waterops.db'}" in out
    # a status line per simulated hour: time, delivered volume, lowest pressure, incidents
    lines = re.findall(r"^\d{4}-\d\d-\d\d (\d\d):00 delivered ([\d,]+) m³, lowest .* "
                       r"(\d+) open incidents", out, flags=re.M)
    assert [h for h, _, _ in lines[:3]] == ["00", "01", "02"]
    delivered_m3 = float(lines[2][1].replace(",", ""))
    assert 4_000 < delivered_m3 < 9_000  # two night hours of a city of ~118,600 m³/day
    assert lines[1][2] == "1"
    assert "; twin: DMA multipliers" in out  # the twin follows the utility
    assert "NOT CONVERGED" not in out  # … and its hydraulics balance
    with TelemetryStore.open() as store:
        assert len(store.sensors()) > 500
        stored = store.readings("P-JUNCTION-75")
        assert 20 <= len(stored) <= 25  # every 5 min for 2 h, a few may be lost
    with (data_dir() / "demo" / "incidents.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["type"], r["element"], r["size"]) for r in rows] == [
        ("pipe_burst", "JUNCTION-75", "0.003")]


@pytest.mark.mqtt
def test_demo_publishes_through_mqtt_when_a_broker_is_given(
    capsys: pytest.CaptureFixture[str], mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    assert main(["demo", "--for", "30min", *FAST, "--no-twin", "--incidents-per-day", "0",
                 "--mqtt", f"mqtt://{host}:{port}"]) == 0
    out = capsys.readouterr().out
    assert f"MQTT mqtt://{host}:{port} -> ingest" in out
    received = re.search(r"MQTT ingest: ([\d,]+) readings received, ([\d,]+) stored, 0 rejected",
                         out)
    assert received is not None, out
    assert received.group(1) == received.group(2)
    with TelemetryStore.open() as store:
        assert 5 <= len(store.readings("L-WTP1-CLEARWELL")) <= 7


@pytest.mark.parametrize(("args", "message"), [
    (["--for", "soon"], "cannot read duration 'soon'"),
    (["--speed", "0"], "--speed must be > 0"),
    (["--incident", "flood:JUNCTION-75"], "unknown type 'flood'"),
    (["--incident", "pipe_burst:PUMP-3830"], "must be a junction"),
    (["--mqtt", "http://broker"], "use mqtt://host:port"),
])
def test_demo_refuses_bad_options_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["demo", "--for", "1h", *FAST, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_demo_help_lists_generate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    assert "generate" in capsys.readouterr().out


def test_a_booster_failure_in_the_demo_becomes_a_diagnosed_alarm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--for", "1h", *FAST, "--incident", "booster_failure:PR02",
                 "--incidents-per-day", "0"]) == 0
    assert "alarms open" in capsys.readouterr().out
    assert main(["alarms", "list", "--state", "open"]) == 0
    listing = capsys.readouterr().out
    rows = [line.split() for line in listing.splitlines() if "pump_room_low_pressure" in line]
    assert len(rows) == 1, listing
    assert "PR02" in rows[0] and "booster_fault" in rows[0]


def test_the_status_line_says_when_the_twin_did_not_converge(tmp_path: Path) -> None:
    path = tmp_path / "jump.inp"
    path.write_text(DEMAND_JUMP)  # one trial: each hourly demand jump cannot be balanced
    with Twin(path, [], settings=TwinSettings(interval_s=300, source_shares=False)) as twin:
        states = {t: twin.update(t, {}) for t in (0, 1800, 7200, 10800)}
    status = UtilityStatus(time=datetime(2026, 11, 23, 2, tzinfo=UTC), time_s=0,
                           delivered_m3=1234.0, demand_m3s=0.2, lowest_pressure_m=18.5,
                           lowest_pressure_node="J4", clearwell_level_m=3.2,
                           source_flows_m3s={}, tank_fill=0.5, open_incidents=[],
                           readings_sent=10)
    lines = {t: _status_line(status, state) for t, state in states.items()}
    assert lines[0].startswith("2026-11-23 10:00 delivered 1,234 m³, lowest 18.5 m at J4")
    why = dict.fromkeys(w.kind for w in states[0].engine_warnings
                        if w.kind in ("unbalanced", "unstable"))
    assert why  # EPANET said why
    assert lines[0].endswith(f"; twin: NOT CONVERGED ({', '.join(why)})")
    assert "NOT CONVERGED" not in lines[1800]  # between jumps the one trial suffices
    assert lines[10800].endswith(" updates in a row)")
    assert "; 2 updates in a row)" in lines[10800]  # 7200 and 10800
    assert _status_line(status) == lines[1800]  # a converged twin without DMAs adds nothing
