"""``waterops workorders``: create, assign, status, close and show from the command line, as a
named staff account (roles checked, errors one line with exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.cli.main import main
from waterops.model.accounts import Role
from waterops.store.accounts_store import AccountsStore

from .conftest import T0


def test_a_job_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    accounts = AccountsStore.open(url)
    for name, role in (("disp1", Role.DISPATCHER), ("crew-a", Role.FIELD_CREW)):
        accounts.create_user(name, "h", role, at=T0)
    accounts.close()
    db = ["--database", url]
    assert main(["workorders", "create", "--kind", "pipe_burst", "--title", "Burst DN80",
                 "--priority", "emergency", "--dn", "80", "--by", "disp1", *db]) == 0
    assert "pipe_burst\temergency\tcreated" in capsys.readouterr().out
    assert main(["workorders", "assign", "1", "--to", "crew-a", "--crew", "Crew 3",
                 "--by", "disp1", *db]) == 0
    assert main(["workorders", "status", "1", "arrive", "--by", "crew-a", *db]) == 0
    capsys.readouterr()
    assert main(["workorders", "close", "1", "--by", "crew-a", "--cause", "pipe_burst",
                 *db]) == 2
    assert "may not work_orders:dispatch" in capsys.readouterr().err
    assert main(["workorders", "close", "1", "--by", "disp1", "--cause", "pipe_burst",
                 "--material", "repair clamp DN80:1:pcs", *db]) == 0
    assert main(["workorders", "show", "1", "--by", "disp1", *db]) == 0
    out = capsys.readouterr().out
    assert "\tclosed\tCrew 3\t" in out and "material\t1 pcs\trepair clamp DN80" in out
    assert [ln.split("\t")[1] for ln in out.splitlines()[-4:]] == ["create", "assign",
                                                                    "arrive", "close"]
    assert main(["workorders", "list", "--by", "crew-a", *db]) == 0
    assert "1 of 1 work order" in capsys.readouterr().out
    assert main(["workorders", "close", "1", "--by", "disp1", "--material", "x", *db]) == 2
    assert "NAME:QUANTITY:UNIT" in capsys.readouterr().err


def test_the_trunk_main_from_the_command_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    accounts = AccountsStore.open(url)
    accounts.create_user("disp1", "h", Role.DISPATCHER, at=T0)
    accounts.create_user("crew-a", "h", Role.FIELD_CREW, at=T0)
    accounts.close()
    db = ["--database", url]
    assert main(["trunk-main", "record-failure", "--at", "2026-06-01 08:00", "--description",
                 "joint failure", "--link", "TM-025", "--by", "crew-a", *db]) == 2
    assert "may not trunk_main:record_failure" in capsys.readouterr().err
    assert main(["trunk-main", "record-failure", "--at", "2026-06-01 08:00", "--description",
                 "joint failure", "--link", "TM-025", "--by", "disp1", *db]) == 0
    assert "failure 1 recorded: 2026-06-01T00:00:00+00:00" in capsys.readouterr().out
    assert main(["trunk-main", "status", "--by", "crew-a", *db]) == 0
    out = capsys.readouterr().out
    assert "since 2026-06-01 08:00" in out and "last failure: 2026-06-01 08:00 TM-025" in out
    assert "Q-TM-001\tflow\t-\t-\tSTALE" in out
    assert main(["trunk-main", "scan", "--from", "2026-06-01", "--to", "2026-06-02", *db]) == 0
    assert "0 events, 0 alarms" in capsys.readouterr().out
