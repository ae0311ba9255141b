"""Bad .inp input: a typed error naming the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.errors import NetworkFileError
from waterops.io.inp import parse_inp, read_inp

BAD = Path(__file__).parent / "networks" / "bad"

# file -> (line of the fault, words the reason must contain)
CASES = {
    "unknown_section.inp": (19, ["unknown section", "[PATERNS]"]),
    "unknown_node.inp": (17, ["'J9'", "not a junction, reservoir or tank"]),
    "negative_diameter.inp": (16, ["diameter of pipe 'P-2'", "positive", "-200"]),
    "zero_length.inp": (17, ["length of pipe 'P-3'", "positive"]),
    "not_a_number.inp": (8, ["elevation of junction 'J3'", "not a number", "'1l'"]),
    "duplicate_id.inp": (8, ["duplicate id 'J2'"]),
    "unknown_pattern.inp": (8, ["pattern 'PAT9'", "not defined"]),
    "unknown_curve.inp": (20, ["curve 'C-9'", "not defined"]),
    "unknown_valve_type.inp": (20, ["unknown valve type", "'XYZ'"]),
    "long_id.inp": (8, ["longer than 31 characters"]),
    "unknown_link_in_control.inp": (20, ["link 'P-9'"]),
    "bad_time.inp": (23, ["DURATION", "not a valid time", "FORTNIGHTS"]),
    "unknown_option.inp": (24, ["unknown option", "FLUX CAPACITOR"]),
    "missing_fields.inp": (17, ["pipe", "at least 6 fields", "found 4"]),
}


def test_every_bad_file_has_a_case() -> None:
    assert sorted(p.name for p in BAD.glob("*.inp")) == sorted(CASES)


@pytest.mark.parametrize(("name", "expected"), sorted(CASES.items()))
def test_bad_file_raises_with_file_line_and_reason(
    name: str, expected: tuple[int, list[str]]
) -> None:
    line, words = expected
    path = BAD / name
    with pytest.raises(NetworkFileError) as info:
        read_inp(path)
    error = info.value
    assert error.path == str(path)
    assert error.line == line
    for word in words:
        assert word in error.reason
    assert str(error).startswith(f"{path}:{line}: ")
    # the line the error names holds the fault the file's title describes
    faulty = path.read_text().splitlines()[line - 1]
    assert faulty.strip()


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.inp"
    with pytest.raises(NetworkFileError) as info:
        read_inp(missing)
    assert info.value.path == str(missing)
    assert info.value.line is None
    assert "not found" in info.value.reason


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="cannot read"):
        read_inp(tmp_path)


MINIMAL = """[JUNCTIONS]
J1 10 1
[RESERVOIRS]
R1 50
[PIPES]
P1 R1 J1 100 200 100
{extra}
[END]
"""


@pytest.mark.parametrize(("extra", "line", "words"), [
    ("[TANKS]\nT1 10 1 0 5 -3", 8, ["diameter of tank 'T1'", "positive"]),
    ("[PIPES]\nP2 J1 J1 10 100 100", 8, ["same node"]),
    ("[PIPES]\nP2 R1 J1 10 100 100 0 SHUT", 8, ["pipe status", "'SHUT'"]),
    ("[PUMPS]\nPU1 R1 J1 HEAD C1 SPEED", 8, ["in pairs"]),
    ("[EMITTERS]\nJ1 -1", 8, ["emitter coefficient", "negative"]),
    ("[SOURCES]\nJ1 DRIP 1", 8, ["unknown source type", "'DRIP'"]),
    ("[TAGS]\nNODES J1 x", 8, ["NODE or a LINK"]),
    ("[OPTIONS]\nUNITS LITRES", 8, ["unknown flow units", "'LITRES'"]),
    ("[OPTIONS]\nHEADLOSS X-Y", 8, ["unknown headloss formula"]),
    ("[OPTIONS]\nQUALITY TRACE J9", 8, ["trace node 'J9'"]),
    ("[CONTROLS]\nLINK P1 CLOSED IF NODE J1 OVER 5", 8, ["ABOVE or BELOW", "'OVER'"]),
    ("[CONTROLS]\nLINK P1 CLOSED AT NOON 5", 8, ["TIME or CLOCKTIME"]),
    ("[RULES]\nRULE 1\nIF TANK J9 LEVEL ABOVE 5\nTHEN PIPE P1 STATUS IS CLOSED", 9, ["'J9'"]),
    ("[RULES]\nRULE 1\nIF NODE J1 WETNESS ABOVE 5\nTHEN PIPE P1 STATUS IS CLOSED", 9,
     ["unknown rule attribute", "'WETNESS'"]),
    ("[RULES]\nRULE 1\nIF NODE J1 PRESSURE ABOVE 5", 8, ["needs an IF premise and a THEN"]),
    ("[RULES]\nRULE 1\nIF NODE J1 PRESSURE ABOVE 5\nTHEN PIPE P1 STATUS IS AJAR", 10,
     ["unknown status", "'AJAR'"]),
    ("[RULES]\nIF NODE J1 PRESSURE ABOVE 5", 8, ["before any RULE"]),
    ("[CURVES]\nC1 1 2\n[PUMPS]\nPU1 R1 J1 HEAD C1\n[TANKS]\nT1 0 1 0 5 0 0 C1", 10,
     ["curve 'C1' is used as HEAD here", "VOLUME on line 12"]),
    ("[PATTERNS]\nPT 1 x", 8, ["multiplier of pattern 'PT'", "not a number"]),
    ("[CURVES]\nC1 1 2 3", 8, ["curve 'C1'", "an x and a y"]),
    ("[TIMES]\nSTART CLOCKTIME 13 PM", 8, ["not a valid time"]),
    ("[ENERGY]\nPUMP P1 PRICE 0.1", 8, ["'P1' is a pipe, not a pump"]),
])
def test_bad_text_names_the_line(extra: str, line: int, words: list[str]) -> None:
    with pytest.raises(NetworkFileError) as info:
        parse_inp(MINIMAL.format(extra=extra), path="case.inp")
    assert info.value.line == line, info.value
    for word in words:
        assert word in info.value.reason, info.value


@pytest.mark.parametrize("extra", [
    "[COORDINATES]\nJ7 1 2", "[VERTICES]\nP9 1 2", '[LABELS]\n1 2 "a" J9',
    "[REACTIONS]\nBULK P9 1\nTANK J1 1", "[DEMANDS]\nR1 5", "[MIXING]\nJ1 MIXED",
    "[PUMPS]\nPU1 R1 J1 SPEED 1", "[OPTIONS]\nPATTERN NOSUCH",
])
def test_what_epanet_accepts_is_accepted(extra: str) -> None:
    """EPANET 2.3 opens these files (checked with the toolkit) and ignores the entries."""
    net = parse_inp(MINIMAL.format(extra=extra))
    assert net.coordinates.empty and net.vertices.empty and net.demands.empty
    assert net.mixing.empty and not net.reactions.pipe_bulk and not net.reactions.tank_bulk
    assert net.labels["anchor"].isna().all()
    assert net.junctions.at["J1", "base_demand_m3s"] == pytest.approx(1e-3 * 0.0630901964,
                                                                       rel=1e-6)


def test_minimal_text_is_valid() -> None:
    net = parse_inp(MINIMAL.format(extra=""))
    assert net.node_ids() == ["J1", "R1"]


def test_writer_refuses_a_network_epanet_could_not_read(tmp_path: Path) -> None:
    from waterops.errors import NetworkModelError
    from waterops.io.inp import write_inp

    net = parse_inp(MINIMAL.format(extra=""))
    net.pipes.loc["P1", "length_m"] = float("nan")
    target = tmp_path / "out.inp"
    with pytest.raises(NetworkModelError, match="pipe 'P1': length_m is missing"):
        write_inp(net, target)
    net = parse_inp(MINIMAL.format(extra=""))
    net.pipes.loc["P1", "node2"] = "J9"
    with pytest.raises(NetworkModelError, match="link 'P1': node2 'J9' is not a node"):
        write_inp(net, target)
    net = parse_inp(MINIMAL.format(extra="").replace("J1", "水" * 11))
    with pytest.raises(NetworkModelError, match="longer than EPANET's 31 bytes"):
        write_inp(net, target)
    with pytest.raises(NetworkModelError, match="unknown flow units"):
        write_inp(parse_inp(MINIMAL.format(extra="")), target, flow_units="BUCKETS")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
