"""Parsing faithful to EPANET: every section, SI values, units, clock formats, ids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from test_io_inp_sim import m3s_per_flow_unit, m_per_pressure_unit, simulate
from waterops.errors import NetworkModelError
from waterops.io.inp import format_inp, parse_inp, read_inp, write_inp
from waterops.io.inp_units import format_number, parse_clock_s
from waterops.model.network_parts import Action, Control, Premise

FT = 0.3048
IN = 0.0254
GPM = 3.785411784e-3 / 60
PSI = FT / 0.4333  # m of head per psi, EPANET's factor
HP = 0.7457

RICH = """[TITLE]
Rich test network: every section EPANET's examples use
second title line ; with a semicolon

[JUNCTIONS]
;ID	Elev	Demand	Pattern
 J1	100	0
 J2	110	150	PD
 J3	105	80
 "J 4"	95	60	PD
 J5	90	0
 J6	70	120
 J7	65	40
 J8	60	30

[RESERVOIRS]
 R1	120
 R2	230	PR

[TANKS]
 T1	180	10	2	25	40	0	VC1
 T2	175	12	1	20	30	100	*	YES

[PIPES]
 P1	J1	J2	1500	12	120
 P2	J2	J3	1000	10	110	0.5
 P3	J3	T1	800	10	110	0	Open
 P4	J2	"J 4"	1200	8	100	0	CV
 P5	"J 4"	J5	900	8	100
 P6	J6	J7	600	6	100
 P7	J7	J8	500	6	100
 P8	R2	J3	2000	12	120
 P9	J8	T2	700	6	100
 P10	J3	J6	3000	6	100	0	Closed

[PUMPS]
 PU1	R1	J1	HEAD C1	SPEED 1.0
 PU2	R1	J1	POWER 30	PATTERN PS

[VALVES]
 V1	J5	J6	8	PRV	40	0.2
 V2	J3	J7	6	FCV	200
 V3	J2	J8	6	TCV	5
 V4	J1	J3	6	GPV	HL1

[TAGS]
 LINK	P1	DI-1998
 NODE	J2	DMA-NORTH

[DEMANDS]
 J3	80	PD	;domestic
 J3	25		;commercial
 J6	100	PD
 J6	20	PS	;industry

[STATUS]
 PU2	CLOSED
 V3	OPEN
 V1	45

[PATTERNS]
 PD	0.8	0.9	1.0	1.2	1.3	1.1
 PD	1.0	0.9	0.8	0.7	0.8	0.9
 PR	1.0	1.0	0.98	0.97	1.0	1.02
 PS	1	1	0	0	1	1

[CURVES]
;PUMP: pump curve
 C1	600	150
;VOLUME: tank volume
 VC1	0	0
 VC1	10	15000
 VC1	25	40000
;HEADLOSS: GPV curve
 HL1	0	0
 HL1	200	10
 HL1	600	60
;EFFICIENCY:
 E1	200	50
 E1	600	75
 E1	900	60

[CONTROLS]
 LINK V3 CLOSED AT CLOCKTIME 10 PM
 LINK V3 OPEN AT CLOCKTIME 6 AM
 LINK P6 CLOSED IF NODE J7 BELOW 5
 LINK V2 150 AT TIME 12

[RULES]
RULE 1
IF TANK T1 LEVEL ABOVE 20
AND SYSTEM CLOCKTIME >= 8:00 AM
THEN PUMP PU1 STATUS IS CLOSED
AND PUMP PU2 STATUS IS OPEN
ELSE PUMP PU1 STATUS IS OPEN
PRIORITY 2

RULE 2
IF TANK T1 LEVEL BELOW 5
OR JUNCTION J2 PRESSURE < 20
THEN PUMP PU1 STATUS IS OPEN
AND VALVE V1 SETTING = 35
PRIORITY 3

RULE 3
IF SYSTEM TIME > 30
AND LINK P1 FLOW > 300
THEN PIPE P7 STATUS IS OPEN

[ENERGY]
 Global Efficiency	70
 Global Price	0.1
 Global Pattern	PS
 Demand Charge	2.5
 Pump	PU1	Efficiency	E1
 Pump	PU1	Price	0.12

[EMITTERS]
 J7	0.8
 J8	0.5

[QUALITY]
 R1	1.0
 R2	0.8
 T1	0.5

[SOURCES]
 R1	CONCEN	1.2	PR
 J2	MASS	50

[REACTIONS]
 Order Bulk	1
 Order Wall	1
 Global Bulk	-0.5
 Global Wall	-0.8
 Bulk	P2	-0.3
 Wall	P2	-1.2
 Tank	T1	-0.2
 Limiting Potential	0
 Roughness Correlation	0

[MIXING]
 T1	2COMP	0.2
 T2	FIFO

[TIMES]
 Duration	2 DAYS
 Hydraulic Timestep	0:30
 Quality Timestep	5 MIN
 Pattern Timestep	4 HOURS
 Pattern Start	0:00
 Report Timestep	1.0
 Report Start	0
 Start ClockTime	12 AM
 Statistic	NONE

[REPORT]
 Status	No
 Summary	No

[OPTIONS]
 Units	GPM
 Headloss	H-W
 Specific Gravity	1.0
 Viscosity	1.0
 Trials	50
 Accuracy	0.001
 Unbalanced	Continue 10
 Pattern	PD
 Demand Multiplier	1.1
 Emitter Exponent	0.6
 Quality	Chlorine mg/L
 Diffusivity	1.0
 Tolerance	0.01
 DEMAND MODEL	PDA
 MINIMUM PRESSURE	5
 REQUIRED PRESSURE	30
 PRESSURE EXPONENT	0.5

[COORDINATES]
 J1	10	10
 J2	20	10
 R1	0	10

[VERTICES]
 P1	15	12

[LABELS]
 5	5	"Pump station"	R1

[BACKDROP]
 DIMENSIONS	0	0	100	100
 UNITS	None

[END]
"""


@pytest.fixture()
def rich_file(tmp_path: Path) -> Path:
    path = tmp_path / "rich.inp"
    path.write_text(RICH)
    return path


def test_rich_network_round_trip_simulates_identically(rich_file: Path, tmp_path: Path) -> None:
    net = read_inp(rich_file)
    original = simulate(rich_file, quality=True)
    assert len(original.times_s) == 49
    for units in ("GPM", "LPS", "CMH"):
        copy = tmp_path / f"copy-{units}.inp"
        write_inp(net, copy, flow_units=units)
        rewritten = simulate(copy, quality=True)
        dp = np.abs(original.pressure * m_per_pressure_unit("GPM")
                    - rewritten.pressure * m_per_pressure_unit(units)).max()
        dq = np.abs(original.flow * m3s_per_flow_unit("GPM", "GPM")
                    - rewritten.flow * m3s_per_flow_unit(units, "GPM")).max()
        dc = np.abs(original.quality - rewritten.quality).max()
        if units == "GPM":
            assert (dp, dq, dc) == (0.0, 0.0, 0.0)
        assert dp <= 1e-3 and dq <= 1e-6 and dc <= 1e-3, (units, dp, dq, dc)


def test_nodes_and_links_in_si(rich_file: Path) -> None:
    net = read_inp(rich_file)
    assert net.junctions.at["J2", "elevation_m"] == pytest.approx(110 * FT)
    assert net.junctions.at["J2", "base_demand_m3s"] == pytest.approx(150 * GPM)
    assert net.junctions.at["J 4", "demand_pattern"] == "PD"
    assert net.reservoirs.at["R2", "head_m"] == pytest.approx(230 * FT)
    t1, t2 = net.tanks.loc["T1"], net.tanks.loc["T2"]
    assert t1["volume_curve"] == "VC1" and not t1["overflow"]
    assert t2["overflow"] and t2["min_volume_m3"] == pytest.approx(100 * FT**3)
    assert t1["max_level_m"] == pytest.approx(25 * FT)
    p1 = net.pipes.loc["P1"]
    assert (p1["length_m"], p1["diameter_m"]) == pytest.approx((1500 * FT, 12 * IN))
    assert net.pipes["status"].tolist().count("CV") == 1
    assert net.pipes.at["P10", "status"] == "CLOSED"
    assert net.pipes.at["P2", "minor_loss"] == 0.5
    assert net.pumps.at["PU2", "power_kw"] == pytest.approx(30 * HP)
    assert net.pumps.at["PU2", "pattern"] == "PS"
    assert net.pumps.at["PU1", "speed"] == 1.0
    valves = net.valves
    assert valves.at["V1", "setting"] == pytest.approx(40 * PSI)
    assert valves.at["V2", "setting"] == pytest.approx(200 * GPM)
    assert valves.at["V3", "setting"] == 5
    assert valves.at["V4", "curve"] == "HL1" and np.isnan(valves.at["V4", "setting"])
    assert valves.at["V1", "minor_loss"] == 0.2
    # emitter: q = C p^0.6 with q in gpm and p in psi, to m³/s and m
    assert net.junctions.at["J7", "emitter_coeff"] == pytest.approx(0.8 * GPM / PSI**0.6)
    assert net.initial_status.loc["V1"].tolist()[1] == pytest.approx(45 * PSI)
    assert net.initial_status.at["PU2", "status"] == "CLOSED"


def test_demand_categories_replace_the_junction_demand(rich_file: Path) -> None:
    net = read_inp(rich_file)
    j3 = net.junctions.loc["J3"]
    assert j3["base_demand_m3s"] == pytest.approx(80 * GPM)
    assert (j3["demand_pattern"], j3["demand_category"]) == ("PD", "domestic")
    extra = net.demands
    assert extra["node"].tolist() == ["J3", "J6"]
    assert extra["category"].tolist() == ["commercial", "industry"]
    assert extra["base_demand_m3s"].tolist() == pytest.approx([25 * GPM, 20 * GPM])
    assert extra["pattern"].isna().tolist() == [True, False]


def test_curves_patterns_in_si(rich_file: Path) -> None:
    net = read_inp(rich_file)
    kinds = {cid: c.kind for cid, c in net.curves.items()}
    assert kinds == {"C1": "HEAD", "VC1": "VOLUME", "HL1": "HEADLOSS", "E1": "EFFICIENCY"}
    assert net.curves["VC1"].points[1].tolist() == pytest.approx([10 * FT, 15000 * FT**3])
    assert net.curves["HL1"].points[2].tolist() == pytest.approx([600 * GPM, 60 * FT])
    assert net.curves["E1"].points[1].tolist() == pytest.approx([600 * GPM, 75])
    assert net.patterns["PD"].tolist() == [0.8, 0.9, 1.0, 1.2, 1.3, 1.1,
                                           1.0, 0.9, 0.8, 0.7, 0.8, 0.9]


def test_controls_and_rules_in_si(rich_file: Path) -> None:
    net = read_inp(rich_file)
    assert net.controls == [
        Control("V3", "CLOSED", None, "CLOCKTIME", 22 * 3600.0),
        Control("V3", "OPEN", None, "CLOCKTIME", 6 * 3600.0),
        Control("P6", "CLOSED", None, "BELOW", pytest.approx(5 * PSI), "J7"),
        Control("V2", None, pytest.approx(150 * GPM), "TIME", 12 * 3600.0),
    ]
    rule1, rule2, rule3 = net.rules
    assert rule1.premises == [
        Premise("IF", "TANK", "T1", "LEVEL", "ABOVE", pytest.approx(20 * FT)),
        Premise("AND", "SYSTEM", None, "CLOCKTIME", ">=", 8 * 3600.0),
    ]
    assert rule1.then_actions == [Action("PUMP", "PU1", "STATUS", "CLOSED"),
                                  Action("PUMP", "PU2", "STATUS", "OPEN")]
    assert rule1.else_actions == [Action("PUMP", "PU1", "STATUS", "OPEN")]
    assert rule1.priority == 2
    assert rule2.premises[1] == Premise("OR", "JUNCTION", "J2", "PRESSURE", "<",
                                        pytest.approx(20 * PSI))
    assert rule2.then_actions[1] == Action("VALVE", "V1", "SETTING", pytest.approx(35 * PSI))
    assert rule3.premises[0].value == 30 * 3600.0
    assert rule3.premises[1].value == pytest.approx(300 * GPM)


def test_settings_sections(rich_file: Path) -> None:
    net = read_inp(rich_file)
    o = net.options
    assert (o.flow_units, o.headloss, o.quality) == ("GPM", "H-W", "CHEMICAL")
    assert (o.chemical_name, o.chemical_units) == ("Chlorine", "mg/L")
    assert (o.demand_model, o.default_pattern, o.unbalanced) == ("PDA", "PD", "CONTINUE 10")
    assert o.min_pressure_m == pytest.approx(5 * PSI)
    assert o.required_pressure_m == pytest.approx(30 * PSI)
    assert (o.demand_multiplier, o.emitter_exponent, o.trials) == (1.1, 0.6, 50)
    t = net.times
    assert (t.duration_s, t.hydraulic_step_s, t.quality_step_s) == (172800, 1800, 300)
    assert (t.pattern_step_s, t.report_step_s, t.start_clocktime_s) == (14400, 3600, 0)
    e = net.energy
    assert (e.global_efficiency_pct, e.global_price, e.global_pattern) == (70, 0.1, "PS")
    assert e.demand_charge == 2.5
    assert e.pumps == {"PU1": {"EFFIC": "E1", "PRICE": 0.12}}
    r = net.reactions
    assert (r.global_bulk, r.pipe_bulk, r.tank_bulk) == (-0.5, {"P2": -0.3}, {"T1": -0.2})
    assert r.global_wall == pytest.approx(-0.8 * FT)  # ft/day -> m/day (first order)
    assert r.pipe_wall["P2"] == pytest.approx(-1.2 * FT)
    assert net.mixing.loc["T1"].tolist() == ["2COMP", 0.2]
    assert net.mixing.at["T2", "model"] == "FIFO"
    assert net.sources.loc["R1"].tolist() == ["CONCEN", 1.2, "PR"]
    assert net.sources.at["J2", "source_type"] == "MASS"
    assert net.reservoirs.at["R2", "initial_quality"] == 0.8


def test_map_title_and_verbatim_sections(rich_file: Path) -> None:
    net = read_inp(rich_file)
    assert net.title == ["Rich test network: every section EPANET's examples use",
                         "second title line ; with a semicolon"]
    assert net.coordinates.loc["J2"].tolist() == [20, 10]
    assert net.vertices.values.tolist() == [["P1", 15, 12]]
    assert net.labels.values.tolist() == [[5, 5, "Pump station", "R1"]]
    assert net.tags.values.tolist() == [["LINK", "P1", "DI-1998"], ["NODE", "J2", "DMA-NORTH"]]
    assert net.report == ["Status\tNo", "Summary\tNo"]
    assert net.backdrop[0].split() == ["DIMENSIONS", "0", "0", "100", "100"]


def test_pressures_are_written_back_as_read(rich_file: Path) -> None:
    """psi -> m -> psi with EPANET's 0.4333 gives the same digits back."""
    text = format_inp(read_inp(rich_file))
    assert "V1 J5 J6 8 PRV 40 0.2" in text
    assert "V1 45" in text
    assert "MINIMUM PRESSURE 5\n" in text and "REQUIRED PRESSURE 30\n" in text
    assert "LINK P6 CLOSED IF NODE J7 BELOW 5\n" in text
    assert "AND VALVE V1 SETTING = 35\n" in text
    assert '"J 4" 95 60 PD' in text


@pytest.mark.parametrize(("value", "unit", "seconds"), [
    ("0:00", "", 0), ("6", "", 21600), ("1:30", "", 5400), ("1:30:15", "", 5415),
    ("1.5", "HOURS", 5400), ("1.5", "hour", 5400), ("90", "MIN", 5400),
    ("3600", "SEC", 3600), ("2", "DAYS", 172800), ("12", "AM", 0), ("12", "PM", 43200),
    ("6", "pm", 64800), ("7:30", "AM", 27000), ("13", "PM", None), ("x", "", None),
    ("5", "WEEKS", None), ("-1", "", None),
])
def test_epanet_clock_formats(value: str, unit: str, seconds: int | None) -> None:
    assert parse_clock_s(value, unit) == seconds


def test_case_tabs_comments_and_si_values_exact() -> None:
    text = (
        "junk before the first section is ignored\n"
        "[junctions]\n\tj1\t10\t1.5 ; comment\n"
        "[Reservoirs]\n r1 50 ;\n"
        "[PIPES]\n p1 r1 j1 100 250 0.1 0 open\n"
        "[options]\n units lps\n headloss d-w\n quality age\n"
        "[times]\n duration 6\n start clocktime 6 PM\n"
        "[end]\n[NOT A SECTION] after END is ignored\n"
    )
    net = parse_inp(text)
    assert net.junctions.at["j1", "base_demand_m3s"] == 1.5e-3
    assert net.pipes.at["p1", "diameter_m"] == 0.25
    assert net.pipes.at["p1", "roughness"] == pytest.approx(1e-4)  # 0.1 mm, D-W
    assert net.pipes.at["p1", "status"] == "OPEN"
    assert (net.headloss, net.options.quality) == ("D-W", "AGE")
    assert (net.times.duration_s, net.times.start_clocktime_s) == (21600, 64800)
    assert "roughness" in net.pipes and "headloss d-w" not in format_inp(net)
    assert "p1 r1 j1 100 250 0.1 0 OPEN" in format_inp(net)


def test_epanet_default_units_are_gpm() -> None:
    net = parse_inp("[JUNCTIONS]\nJ 0 1\n[RESERVOIRS]\nR 10\n[PIPES]\nP R J 10 12 100\n")
    assert net.flow_units == "GPM"
    assert net.junctions.at["J", "base_demand_m3s"] == pytest.approx(GPM)
    assert net.pipes.at["P", "diameter_m"] == pytest.approx(12 * IN)


@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (40.0, "40"), (-2.5, "-2.5"), (1e-7, "1e-07"),
    (40 * PSI / PSI, "40"), (0.3 * GPM / GPM, "0.3"), (1 / 3, "0.3333333333333333"),
])
def test_numbers_are_written_short_when_exact_enough(value: float, text: str) -> None:
    assert format_number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_written_numbers_read_back_within_four_ulps(value: float) -> None:
    back = float(format_number(value))
    assert abs(back - value) <= 4 * math.ulp(value)


def test_missing_number_cannot_be_written() -> None:
    with pytest.raises(NetworkModelError, match="missing"):
        format_number(float("nan"))


@pytest.mark.parametrize(("flow_units", "pressure_units", "m_per_unit"), [
    ("LPS", "PSI", PSI), ("LPS", "KPA", FT / (6.895 * 0.4333)), ("LPS", "METERS", 1.0),
    ("GPM", "KPA", FT / (6.895 * 0.4333)), ("GPM", "METERS", 1.0), ("GPM", None, PSI),
    ("CMH", None, 1.0), ("LPS", "FEET", FT), ("LPS", "BAR", 100 * FT / (6.895 * 0.4333)),
])
def test_pressure_option_applies_in_any_unit_system(
    flow_units: str, pressure_units: str | None, m_per_unit: float, tmp_path: Path
) -> None:
    """EPANET 2.3 reads PRV settings in the PRESSURE units, whatever the flow units."""
    option = f"PRESSURE {pressure_units}\n" if pressure_units else ""
    text = (f"[JUNCTIONS]\nJ1 10 5\nJ2 5 5\n[RESERVOIRS]\nR 80\n[PIPES]\nP1 R J1 500 300 100\n"
            f"[VALVES]\nV1 J1 J2 200 PRV 10 0\n[OPTIONS]\nUNITS {flow_units}\n{option}[END]\n")
    source = tmp_path / "prv.inp"
    source.write_text(text)
    net = read_inp(source)
    assert net.valves.at["V1", "setting"] == pytest.approx(10 * m_per_unit)
    head_m = _head(source, "J2") * (0.3048 if flow_units == "GPM" else 1.0)
    for units in ("GPM", "LPS"):
        copy = tmp_path / f"copy-{units}.inp"
        write_inp(net, copy, flow_units=units)
        # heads come in ft (US flow units) or m (SI), whatever the pressure units
        copy_head_m = _head(copy, "J2") * (0.3048 if units == "GPM" else 1.0)
        assert copy_head_m == pytest.approx(head_m, abs=1e-6), units


def _head(path: Path, node: str) -> float:
    """Head [file units] at ``node`` after a steady-state solve with the raw toolkit."""
    import epanet.toolkit as tk

    ph = tk.createproject()
    tk.open(ph, str(path), str(path.with_suffix(".rpt")), "")
    try:
        tk.solveH(ph)
        return float(tk.getnodevalue(ph, tk.getnodeindex(ph, node), tk.HEAD))
    finally:
        tk.close(ph)
        tk.deleteproject(ph)


def test_leakage_is_read_in_si_and_written_in_any_units(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "networks" / "Net1.inp").read_text()
    source = tmp_path / "leaky.inp"
    source.write_text(text.replace("[STATUS]", "[LEAKAGE]\n 110 50 5\n 12 20 2\n\n[STATUS]"))
    net = read_inp(source)
    assert net.leakage.loc["110"].tolist() == pytest.approx([50 / FT, 5 / FT])
    original = simulate(source)
    for units in ("GPM", "LPS"):
        copy = tmp_path / f"leaky-{units}.inp"
        write_inp(net, copy, flow_units=units)
        rewritten = simulate(copy)
        dq = np.abs(original.flow * m3s_per_flow_unit("GPM", "GPM")
                    - rewritten.flow * m3s_per_flow_unit(units, "GPM")).max()
        assert dq <= 1e-9, units
    no_leak = simulate(Path(__file__).parent / "networks" / "Net1.inp")
    assert np.abs(no_leak.flow - original.flow).max() > 1  # the leaks matter [gpm]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "cp1252"])
def test_file_encodings(encoding: str, tmp_path: Path) -> None:
    # cp1252 bytes can also be valid GB18030 ("Château" is): ids stay distinct and the
    # file simulates the same, only their spelling changes; "Café " is not GB18030
    name = "水厂出水" if encoding != "cp1252" else "Café"
    text = (f"[TITLE]\n{name} network\n[JUNCTIONS]\nJ1 10 1\n[RESERVOIRS]\n{name} 50\n"
            f"[PIPES]\nP1 {name} J1 100 200 100\n[OPTIONS]\nUNITS LPS\n[END]\n")
    path = tmp_path / "encoded.inp"
    path.write_bytes(text.encode(encoding))
    net = read_inp(path)
    assert net.reservoirs.index.tolist() == [name]
    assert net.title == [f"{name} network"]
    assert net.pipes.at["P1", "node1"] == name
