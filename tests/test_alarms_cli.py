"""`waterops alarms …` on the database WATEROPS_DATABASE_URL names (SQLite and PostgreSQL):
list, show with diagnosis and history, ack/assign/resolve audited, errors as one line; the
alarm worker (watch) on what the demo utility stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.model.alarms import AlarmSignal, Evidence, Severity
from waterops.model.utility import IncidentType
from waterops.service.alarms import AlarmService
from waterops.service.incidents import IncidentRequest
from waterops.service.simulator import SimulatorConfig, StorePublisher, VirtualUtility
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.store.alarms_store import AlarmStore

T0 = datetime(2026, 1, 1, 2, 2, tzinfo=UTC)  # 10:02 in Asia/Shanghai


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[AlarmStore]:
    """WATEROPS_DATABASE_URL set to a fresh database holding one pump-room alarm."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.db'}"
        store = AlarmStore.open(url)
    else:
        base, schema = request.getfixturevalue("postgres_schema")
        url = f"{base}?options=-csearch_path%3D{schema}"
        store = AlarmStore.open(base, schema=schema)
    monkeypatch.setenv("WATEROPS_DATABASE_URL", url)
    AlarmService(store).report(AlarmSignal(
        "pump_room_low_pressure", "PR03", "pressure>=14.3", True, T0, Severity.MAJOR,
        "pump_room:PR03", 3.2, "m", "Booster of pump room 3 stopped at 10:02; repair under way",
        "3号泵房增压泵10:02停机，抢修中", "booster_fault",
        (Evidence("S-PR03-P1", "pump_status", 0.0, "1", T0, "stopped"),)))
    try:
        yield store
    finally:
        store.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["alarms", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_operators_work_an_alarm_from_the_command_line(
    database: AlarmStore, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "raised", "severity", "state"]
    assert lines[1].split()[:8] == ["1", "2026-01-01", "10:02", "major", "raised",
                                    "pump_room_low_pressure", "PR03", "3.2"]
    assert lines[1].endswith("booster_fault")
    assert run(capsys, "ack", "1", "--by", "Wang")[1] == "alarm 1 acknowledged by Wang\n"
    assert run(capsys, "assign", "1", "--to", "Crew 3", "--by", "Wang")[1] == (
        "alarm 1 assigned to Crew 3 by Wang\n")
    code, out, _ = run(capsys, "list", "--state", "open")
    assert code == 0 and "assigned" in out and "-> Crew 3" in out
    code, out, _ = run(capsys, "resolve", "1", "--cause", "booster_fault", "--by", "Zhao",
                       "--note", "contactor replaced")
    assert code == 0
    assert out == "alarm 1 resolved by Zhao: booster_fault; incident 1 resolved\n"
    assert run(capsys, "list")[1] == "no live alarms\n"
    code, out, _ = run(capsys, "show", "1")
    assert code == 0
    assert "alarm 1: pump_room_low_pressure on PR03 (pressure>=14.3)" in out
    assert "diagnosis  booster_fault" in out
    assert "S-PR03-P1: 0 at 2026-01-01 10:02 - stopped" in out
    assert "3号泵房增压泵10:02停机，抢修中" in out
    assert "cause booster_fault (contactor replaced)" in out
    history = out.split("history\n", 1)[1].splitlines()
    assert [h.split()[2] for h in history] == ["raise", "acknowledge", "assign", "resolve"]
    assert [h.split()[3] for h in history] == ["waterops", "Wang", "Wang", "Zhao"]
    code, out, _ = run(capsys, "incidents", "--state", "resolved")
    assert code == 0 and "pump_room:PR03" in out and "cause booster_fault" in out
    audit = database.audit("alarm", 1)
    assert [(e.actor, e.action) for e in audit] == [
        ("waterops", "raise"), ("Wang", "acknowledge"), ("Wang", "assign"), ("Zhao", "resolve")]


def test_refused_actions_are_one_line_and_change_nothing(
    database: AlarmStore, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "ack", "1", "--by", "Wang")[0] == 0
    for args, message in (
        (("ack", "1", "--by", "Li"), "alarm 1 is acknowledged: cannot acknowledge it"),
        (("resolve", "1", "--cause", "gremlins", "--by", "Li"), "unknown cause code"),
        (("show", "77"), "no alarm with id 77"),
        (("list", "--state", "sleeping"), "is not a state"),
        (("list", "--tz", "Mars/Olympus"), "not a known time zone"),
        (("incidents", "--state", "maybe"), "use open, resolved or all"),
        (("resolve-incident", "9", "--cause", "leak", "--by", "Li"), "no incident with id 9"),
    ):
        code, out, err = run(capsys, *args)
        assert code == EXIT_USER_ERROR, args
        assert err.count("\n") == 1 and message in err and err.startswith("waterops: error:")
        assert out == ""
    assert len(database.audit("alarm", 1)) == 2  # the raise and the one acknowledgement


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_watch_raises_alarms_from_what_the_demo_utility_stored(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'demo.db'}", None
        env_url = url
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        env_url = f"{url}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", env_url)
    layout = build_demo_utility()
    with TelemetryStore.open(url, schema=schema) as telemetry, \
            VirtualUtility(layout, SimulatorConfig(seed=8, tracer=False),
                           [StorePublisher(telemetry)]) as sim:
        sim.run_for(3600)
        sim.inject(IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR04", duration_s=3600))
        sim.run_for(3600)
        sim.inject(IncidentRequest(IncidentType.PIPE_BURST, "JUNCTION-3310", 0.002))  # DMA-02
        sim.run_for(2 * 3600)
        code, out, _ = run(capsys, "watch", "--once")
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("watching ") and "and the twin" in lines[0]
        assert lines[-1].endswith("instants read, 3 alarm changes")
        assert "alarm 1 raised       pump_room_low_pressure on PR04: booster_fault" in out
        assert "alarm 1 cleared      pump_room_low_pressure on PR04" in out
        assert "alarm 2 raised       burst on DMA-02: pipe_burst" in out
        # a second look finds nothing new; more hours bring only their own news
        assert run(capsys, "watch", "--once")[1].splitlines()[-1] == (
            "0 instants read, 0 alarm changes")
        sim.inject(IncidentRequest(IncidentType.BOOSTER_FAILURE, "PR01"))
        sim.run_for(3600)
        out = run(capsys, "watch", "--once")[1]
        assert "alarm 3 raised       pump_room_low_pressure on PR01: booster_fault" in out
        assert "PR04" not in out and "DMA-02" not in out  # the burst is known already
    code, out, _ = run(capsys, "show", "3")
    assert code == 0 and "1号泵房增压泵" in out


def test_an_incident_is_resolved_with_all_its_alarms(
    database: AlarmStore, capsys: pytest.CaptureFixture[str],
) -> None:
    service = AlarmService(database)
    second = service.report(AlarmSignal(
        "water_quality_limit", "CL-PR03-TANK", "free_chlorine>=0.05", True, T0, Severity.MAJOR,
        "pump_room:PR03", 0.02, "mg/L"))
    assert second is not None and second.incident_id == 1
    code, out, _ = run(capsys, "resolve-incident", "1", "--cause", "booster_fault",
                       "--by", "Zhao", "--note", "tank stagnant while the booster was down")
    assert code == 0
    assert out == "incident 1 resolved by Zhao: booster_fault (alarms 1, 2)\n"
    assert [a.state.value for a in database.alarms()] == ["resolved", "resolved"]
    code, _, err = run(capsys, "resolve-incident", "1", "--cause", "leak", "--by", "Zhao")
    assert code == EXIT_USER_ERROR and "incident 1 is already resolved" in err
