"""The pipe register: checks, CSV in and out with file:line errors, the demo register."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from waterops.data import demo_network_path
from waterops.errors import RegisterError
from waterops.io.inp import read_inp
from waterops.planning.register import make_register, read_register_csv, write_register_csv
from waterops.planning.synthetic_register import demo_register, synthetic_pipes

HEADER = "pipe_id,material,diameter_mm,install_year,length_m,road_id,road_class\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_round_trip(tmp_path: Path) -> None:
    register = synthetic_pipes(300, seed=5)
    write_register_csv(register, tmp_path / "pipes.csv", tmp_path / "breaks.csv")
    again = read_register_csv(tmp_path / "pipes.csv", tmp_path / "breaks.csv",
                              register.history_years)
    pd.testing.assert_frame_equal(again.pipes, register.pipes, check_exact=False, rtol=1e-5)
    assert len(again.breaks) == len(register.breaks)
    assert (again.breaks["date"].dt.date.to_numpy()
            == register.breaks["date"].dt.date.to_numpy()).all()


def test_millimetres_at_the_edge(tmp_path: Path) -> None:
    pipes = _write(tmp_path / "p.csv", HEADER + "a,ci,150,1978,120.5,R1,Branch\n")
    register = read_register_csv(pipes, None, (2011, 2025))
    assert register.pipes.loc["a", "diameter_m"] == pytest.approx(0.15)
    assert register.pipes.loc["a", "material"] == "CI"
    assert register.roads.loc["R1", "length_m"] == pytest.approx(120.5)


@pytest.mark.parametrize(("line", "message"), [
    ("a,CI,150,1978,,R1,branch", r"p.csv:2: length_m is empty"),
    ("a,XX,150,1978,10,R1,branch", r"p.csv:2: unknown material 'XX'"),
    ("a,CI,150,1978,10,R1,motorway", r"p.csv:2: unknown road class 'motorway'"),
    ("a,CI,150,78,10,R1,branch", r"p.csv:2: install_year must be a year"),
    ("a,CI,abc,1978,10,R1,branch", r"p.csv:2: diameter_mm 'abc' is not a number"),
    ("a,CI,150,1978,-3,R1,branch", r"p.csv:2: length_m must be > 0"),
    ("a,CI,150,1978,10,,branch", r"p.csv:2: road_id is empty"),
])
def test_pipe_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    pipes = _write(tmp_path / "p.csv", HEADER + line + "\n")
    with pytest.raises(RegisterError, match=message):
        read_register_csv(pipes, None, (2011, 2025))


def test_metres_where_millimetres_were_meant(tmp_path: Path) -> None:
    text = HEADER.replace("diameter_mm", "diameter_m") + "a,CI,150,1978,10,R1,branch\n"
    with pytest.raises(RegisterError, match=r"p.csv:2: diameter_m must be 0.005-5 m.*in mm"):
        read_register_csv(_write(tmp_path / "p.csv", text), None, (2011, 2025))


def test_duplicate_pipe_and_missing_column(tmp_path: Path) -> None:
    dup = _write(tmp_path / "p.csv", HEADER + "a,CI,150,1978,10,R1,branch\n"
                 "a,CI,150,1978,10,R1,branch\n")
    with pytest.raises(RegisterError, match=r"p.csv:3: pipe 'a' is listed twice"):
        read_register_csv(dup, None, (2011, 2025))
    bad = _write(tmp_path / "q.csv", "pipe_id,material\na,CI\n")
    with pytest.raises(RegisterError, match=r"q.csv:1: the header lacks"):
        read_register_csv(bad, None, (2011, 2025))
    with pytest.raises(RegisterError, match="no such file"):
        read_register_csv(tmp_path / "none.csv", None, (2011, 2025))


@pytest.mark.parametrize(("line", "message"), [
    ("b,2020-01-02,break", r"b.csv:3: unknown pipe 'b'"),
    ("a,2020-13-02,break", r"b.csv:3: date '2020-13-02' is not YYYY-MM-DD"),
    ("a,2020-01-02,burst", r"b.csv:3: kind 'burst'"),
])
def test_break_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    pipes = _write(tmp_path / "p.csv", HEADER + "a,CI,150,1978,10,R1,branch\n")
    breaks = _write(tmp_path / "b.csv", "pipe_id,date,kind\na,2019-05-01,leak\n" + line + "\n")
    with pytest.raises(RegisterError, match=message):
        read_register_csv(pipes, breaks, (2011, 2025))


def test_history_defaults_to_the_years_of_the_breaks(tmp_path: Path) -> None:
    pipes = _write(tmp_path / "p.csv", HEADER + "a,CI,150,1978,10,R1,branch\n")
    breaks = _write(tmp_path / "b.csv", "pipe_id,date,kind\na,2014-05-01,leak\n"
                    "a,2019-01-01,break\n")
    register = read_register_csv(pipes, breaks)
    assert register.history_years == (2014, 2019)
    assert register.failures_per_pipe_year().to_dict() == {("a", 2014): 1, ("a", 2019): 1}


def test_tables_are_checked_too() -> None:
    pipes = pd.DataFrame({"material": ["CI"], "diameter_m": [0.1], "install_year": [1990],
                          "length_m": [10.0], "road_id": ["R"], "road_class": ["branch"],
                          "pressure_m": [2.5e6]}, index=["a"])
    with pytest.raises(RegisterError, match=r"pipe 'a'.*pressure_m.*MPa or kPa"):
        make_register(pipes, None, (2011, 2025))
    with pytest.raises(RegisterError, match="history years"):
        make_register(pipes.assign(pressure_m=30.0), None, (2025, 2011))


def test_demo_register_is_deterministic_and_complete() -> None:
    network = read_inp(demo_network_path())
    one = demo_register(network, seed=7)
    two = demo_register(network, seed=7)
    pd.testing.assert_frame_equal(one.pipes, two.pipes)
    pd.testing.assert_frame_equal(one.breaks, two.breaks)
    # every pipe of the network laid before the end of the history is in the register
    assert len(one.pipes) == (network.pipes.index.size
                              - int((one.pipes["install_year"] >= 2025).sum()))
    assert set(one.pipes["material"]) >= {"CI", "DI", "PE", "STEEL", "PCCP", "GS"}
    # a road never mixes diameter classes beyond its own and has 1+ pipes
    assert one.roads["pipes"].min() >= 1
    assert one.pipes.loc["LINK-0", "install_year"] > 1900
    other = demo_register(network, seed=8)
    assert not other.breaks.equals(one.breaks)
