"""``waterops contamination spread|trace`` and ``waterops sources status|switch-plan``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_network import write_tree

from waterops.cli.main import main


def test_spread_prints_exposure_area_and_plan(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    inp = write_tree(tmp_path)
    out_csv = tmp_path / "nodes.csv"
    assert main(["contamination", "spread", "J2", "--start", "0", "--concentration", "2",
                 "--horizon", "6h", "--network", str(inp), "--out", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert "within 1 h: 1 nodes" in out  # only J2 itself within the first hour
    assert "within 6 h: 5 nodes" in out  # J2, J3, J4, S1, S2; J1 is upstream
    assert "do-not-drink area: 5 nodes" in out
    assert "flushing plan:" in out
    rows = out_csv.read_text().splitlines()
    assert rows[0] == "node_id,first_arrival_s,peak_mg_l,peak_time_s" and len(rows) == 6


def test_trace_reads_a_csv_and_ranks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = write_tree(tmp_path)
    readings = tmp_path / "r.csv"
    readings.write_text("node_id,time_s,concentration_mg_l\n"
                        "S1,7200,0\nS2,7200,0\nJ1,7200,0\n"
                        "S1,10800,4\nS2,10800,4\nJ1,10800,0\n")
    assert main(["contamination", "trace", str(readings), "--threshold", "0.1",
                 "--members", "1", "--network", str(inp)]) == 0
    out = capsys.readouterr().out
    assert "  1. J2: start" in out and "explains 100% of readings" in out


def test_trace_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("node_id,time_s,concentration_mg_l\nS1,soon,1\n")
    assert main(["contamination", "trace", str(bad), "--network",
                 str(write_tree(tmp_path))]) == 2
    assert "bad.csv:2: cannot read time_s 'soon'" in capsys.readouterr().err


def test_sources_status_and_switch_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "status", "--reading", "SRC-RIVER:ammonia_n=0.9",
                 "--reading", "SRC-RIVER:ph=7"]) == 0
    out = capsys.readouterr().out
    assert "SRC-RIVER (river, backup): warning" in out
    assert "SRC-SHUIKU (reservoir, main): normal" in out
    assert main(["sources", "status", "--reading", "SRC-LAKE:ph=7"]) == 2
    assert "unknown source(s) SRC-LAKE" in capsys.readouterr().err
    assert main(["sources", "switch-plan", "SRC-NOPE"]) == 2
    assert "unknown source 'SRC-NOPE'" in capsys.readouterr().err
