"""``waterops isolate`` on the small test network (answers in isolation_world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from isolation_world import write_world

from waterops.cli.main import main


def test_isolate_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp, csv = write_world(tmp_path)
    assert main(["isolate", "P3", "--network", str(inp), "--valves", str(csv),
                 "--hydraulics"]) == 0
    out = capsys.readouterr().out
    assert "valves to close (3): V2 on P2 at J2, V3 on P3 at J3, V6 on P7 at J2" in out
    assert "unintended isolations: 3 nodes: J3, J4, J5" in out
    assert "supply lost: 864.0 m³/d (10.00 L/s)" in out  # J2 + J3 + J4 + J5 = 10 L/s
    assert "simulated (0 s, pressure-driven demand): supply lost 864.0 m³/d" in out


def test_isolate_without_a_layer_uses_n_minus_1(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    inp, _ = write_world(tmp_path)
    assert main(["isolate", "P5", "--network", str(inp)]) == 0
    # N-1: J4 has P4 (150 mm) and P5 (100 mm): the valve is on P5 at J4; J5 (dead end) none
    assert "valves to close (1): V" in capsys.readouterr().out


def test_isolate_errors_name_the_fault(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    inp, csv = write_world(tmp_path)
    assert main(["isolate", "P42", "--network", str(inp), "--valves", str(csv)]) == 2
    assert "unknown link 'P42'" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("valve_id,link,node\nV1,P2,J1\nV2,P2,J9\n", encoding="utf-8")
    assert main(["isolate", "P3", "--network", str(inp), "--valves", str(bad)]) == 2
    assert "bad.csv:3: valve 'V2': node 'J9' is not an end of link 'P2'" in capsys.readouterr().err


def test_isolate_with_a_failed_valve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp, csv = write_world(tmp_path)
    assert main(["isolate", "P3", "--network", str(inp), "--valves", str(csv),
                 "--failed", "V3"]) == 0
    out = capsys.readouterr().out
    assert "valves that will not close: V3" in out
    assert "valves to close (3): V2 on P2 at J2, V6 on P7 at J2, V4 on P4 at J4" in out
    assert "segment: 2 links, 2 nodes: J2, J3" in out
