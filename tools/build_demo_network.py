"""Build the demo city network ``src/waterops/data/networks/demo_city.inp``.

The demo utility's network is WNTR's ``Net6.inp`` (Watson, Murray & Hart 2009; a real US city
network of 3,323 junctions) turned into the network of a Chinese city utility:

* converted to SI (flow in L/s, lengths and heads in metres);
* coordinates scaled to metres (scale checked against the pipe lengths) and placed in
  CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547), X = easting, Y = northing;
* the base reservoir replaced by a treatment plant: clear-water tank ``WTP1-CLEARWELL`` fed
  through a flow-control valve, the base high-lift pumps now draw from it;
* a reservoir source ``RES-SHUIKU`` reaching the plant through a 106 km raw-water trunk main
  ``TM-001`` … ``TM-053``;
* a river intake ``RES-RIVER`` with raw-water pumps ``PS-RIVER-P1``/``-P2`` (closed: backup);
* realistic residential and industrial diurnal patterns (same daily volume as the base);
* chlorine: a 1.0 mg/L set-point at the clear-water tank, first-order bulk and wall decay;
* synthetic pipe materials and install years in [TAGS] (``DI-2008``), pump station names.

Everything random comes from one seeded generator, so rerunning the script rewrites the
identical file (``tests/test_demo_network.py`` checks it). WNTR is a build-time tool only:
the package reads the .inp with the EPANET toolkit.

Usage::

    .venv/bin/python tools/build_demo_network.py            # rewrite the shipped file
    .venv/bin/python tools/build_demo_network.py --output /tmp/x.inp
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import wntr
from pyproj import Transformer
from wntr.network import LinkStatus
from wntr.network.controls import (
    AndCondition,
    Comparison,
    Control,
    ControlAction,
    Rule,
    ValueCondition,
)

SEED = 20261123
REPO = Path(__file__).resolve().parents[1]
SHIPPED_PATH = REPO / "src" / "waterops" / "data" / "networks" / "demo_city.inp"

# --- where the city lies ------------------------------------------------------------------
CRS_EPSG = 4547  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
GEOGRAPHIC_EPSG = 4490  # CGCS2000 longitude/latitude
# The base network's coordinate origin (0, 0) is put at this point; the city is fictitious,
# the place only makes maps and GeoJSON exports land somewhere plausible in central China.
ORIGIN_LON_LAT = (114.10, 32.02)

# --- the treatment plant (replaces the base network's reservoir) --------------------------
BASE_RESERVOIR = "RESERVOIR-3323"
CLEARWELL = "WTP1-CLEARWELL"
CLEARWELL_BOTTOM_M = 4.0  # bottom elevation; base reservoir head was 8.37 m
CLEARWELL_INIT_LEVEL_M = 4.0
CLEARWELL_MIN_LEVEL_M = 0.5
CLEARWELL_MAX_LEVEL_M = 5.0
CLEARWELL_DIAMETER_M = 72.0  # one cylinder equivalent to two 10,000 m³ cells
PLANT_INLET = "WTP1-INLET"
PLANT_TREATED = "WTP1-TREATED"
PLANT_FCV = "WTP1-RAW-FCV"
# Raw-water intake settings [m³/s]: nominal, and the two production steps used by controls.
PLANT_FLOW_NOMINAL_M3S = 1.3
PLANT_FLOW_HIGH_M3S = 1.6
PLANT_FLOW_LOW_M3S = 0.8
CLEARWELL_LOW_LEVEL_M = 1.8
CLEARWELL_HIGH_LEVEL_M = 4.4
CLEARWELL_BAND_M = (3.0, 3.4)  # back to nominal production inside this band
CHLORINE_SETPOINT_MG_L = 1.0

# --- the reservoir source and its raw-water trunk main ------------------------------------
SOURCE_RESERVOIR = "RES-SHUIKU"
SOURCE_POOL_LEVEL_M = 95.0  # normal pool level of the 水源水库
TRUNK_SEGMENT_M = 2000.0
TRUNK_SEGMENTS = 53  # 53 × 2 km = 106 km
TRUNK_DN1600_SEGMENTS = 30  # upper 60 km DN1600 PCCP, lower 46 km DN1400 ductile iron
TRUNK_GROUND_AT_DAM_M = 74.0
TRUNK_GROUND_AT_PLANT_M = 9.0

# --- the river intake (backup source) ------------------------------------------------------
RIVER = "RES-RIVER"
RIVER_LEVEL_M = 5.0
RIVER_PUMP_FLOW_M3S = 0.75  # design point of each raw-water pump
RIVER_PUMP_HEAD_M = 22.0
RIVER_MAIN_SEGMENT_M = 900.0
RIVER_MAIN_SEGMENTS = 4
RIVER_MAIN_DIAMETER_M = 1.2

# --- a rural township fed by a transfer main (城乡供水一体化) --------------------------------
TOWNSHIP_TAKEOFF = "JUNCTION-1346"  # west end of a DN300 city main, ≥ 57 m pressure
TOWNSHIP_FCV = "TWN-FCV"
TOWNSHIP_FILL_M3S = 0.025  # fill rate the transfer main is allowed to take from the city
TOWNSHIP_TANK = "TWN-TANK"
TRANSFER_SEGMENT_M = 1000.0
TRANSFER_SEGMENTS = 12
TOWNSHIP_GRID = 6  # 6 × 6 junctions
TOWNSHIP_SPACING_M = 180.0
TOWNSHIP_DEMAND_M3S = 0.012  # ~1,000 m³/day, some 7,000 residents

# --- secondary-supply pump rooms of high-rise communities (二次供水) ----------------------
# Feed junctions hand-picked in the city centre: ≥ 38 m pressure at all times, mains ≥ DN200.
PUMP_ROOM_FEEDS = ("JUNCTION-288", "JUNCTION-444", "JUNCTION-534", "JUNCTION-1797")
PUMP_ROOM_DEMAND_M3S = 0.008  # a community of ~2,000 households
HIGH_ZONE_ABOVE_GROUND_M = 45.0  # demand node at mid-height of the boosted floors

# --- demand patterns (hourly multipliers, 00:00 … 23:00) -----------------------------------
# Residential: morning peak 07:00-08:00, evening peak 19:00, night minimum 02:00-04:00.
RESIDENTIAL = (0.62, 0.50, 0.42, 0.40, 0.42, 0.55, 0.95, 1.45, 1.38, 1.18, 1.10, 1.20,
               1.25, 1.08, 0.98, 0.95, 1.02, 1.20, 1.40, 1.48, 1.35, 1.18, 0.95, 0.78)
# Industrial: two shifts 08:00-22:00 with a lunch dip, lower continuous process use at night.
INDUSTRIAL = (0.70, 0.70, 0.70, 0.70, 0.70, 0.75, 0.90, 1.05, 1.25, 1.30, 1.30, 1.25,
              1.00, 1.25, 1.30, 1.30, 1.25, 1.20, 1.05, 1.00, 1.00, 0.95, 0.85, 0.75)
# The industrial park: base-network junctions inside this box of base coordinates.
INDUSTRIAL_PARK_BOX = ((215.0, 150.0), (275.0, 210.0))

# --- synthetic pipe materials: (upper diameter bound [mm], [(code, probability, years)]) -----
Choice = tuple[str, float, tuple[int, int]]  # (material code, probability, install years)
MATERIALS: tuple[tuple[float, tuple[Choice, ...]], ...] = (
    (120.0, (("GS", 0.45, (1980, 2000)), ("PE", 0.40, (2005, 2023)),
             ("CI", 0.15, (1970, 1995)))),
    (350.0, (("DI", 0.50, (1995, 2023)), ("CI", 0.30, (1965, 1995)),
             ("PE", 0.20, (2005, 2023)))),
    (700.0, (("DI", 0.70, (1995, 2023)), ("CI", 0.25, (1965, 1995)),
             ("STEEL", 0.05, (1985, 2010)))),
    (1300.0, (("DI", 0.55, (1998, 2023)), ("STEEL", 0.45, (1980, 2015)))),
    (math.inf, (("STEEL", 0.50, (1985, 2012)), ("PCCP", 0.50, (1990, 2015)))),
)


def base_network_path() -> Path:
    """Path of WNTR's Net6.inp, the base of the demo network."""
    return Path(str(resources.files("wntr") / "library" / "networks" / "Net6.inp"))


def coordinate_scale_m(wn: wntr.network.WaterNetworkModel) -> float:
    """Metres per base-coordinate unit: the median ratio pipe length / node distance.

    Rounded to 0.1 m so the README can state it.
    """
    ratios = []
    for _, pipe in wn.pipes():
        (x1, y1), (x2, y2) = pipe.start_node.coordinates, pipe.end_node.coordinates
        distance = math.hypot(x2 - x1, y2 - y1)
        if distance > 0:
            ratios.append(pipe.length / distance)
    return round(float(np.median(ratios)), 1)


def place_in_crs(wn: wntr.network.WaterNetworkModel, scale_m: float) -> tuple[float, float]:
    """Scale base coordinates to metres and shift them into EPSG:4547; return the origin."""
    to_gk = Transformer.from_crs(GEOGRAPHIC_EPSG, CRS_EPSG, always_xy=True)
    east0, north0 = (round(v) for v in to_gk.transform(*ORIGIN_LON_LAT))
    for _, node in wn.nodes():
        x, y = node.coordinates
        node.coordinates = (round(east0 + x * scale_m, 2), round(north0 + y * scale_m, 2))
    return float(east0), float(north0)


def tidy_si_values(wn: wntr.network.WaterNetworkModel) -> None:
    """Round converted imperial values: lengths and elevations to 1 cm, diameters to 0.1 mm."""
    for _, node in wn.junctions():
        node.elevation = round(node.elevation, 2)
    for _, tank in wn.tanks():
        tank.elevation = round(tank.elevation, 2)
    for _, pipe in wn.pipes():
        pipe.length = round(pipe.length, 2)
        pipe.diameter = round(pipe.diameter, 4)


def add_treatment_plant(wn: wntr.network.WaterNetworkModel) -> None:
    """Replace the base reservoir by a clear-water tank fed through a flow-control valve."""
    base = wn.get_node(BASE_RESERVOIR)
    east, north = base.coordinates
    wn.add_tank(CLEARWELL, elevation=CLEARWELL_BOTTOM_M, init_level=CLEARWELL_INIT_LEVEL_M,
                min_level=CLEARWELL_MIN_LEVEL_M, max_level=CLEARWELL_MAX_LEVEL_M,
                diameter=CLEARWELL_DIAMETER_M, coordinates=(east, north))
    # The base high-lift pumps keep their ids and now draw from the clear-water tank.
    for name in sorted(wn.get_links_for_node(BASE_RESERVOIR)):
        wn.get_link(name).start_node = wn.get_node(CLEARWELL)
    wn.remove_node(BASE_RESERVOIR)
    wn.add_junction(PLANT_TREATED, elevation=3.0, coordinates=(east - 60.0, north - 40.0))
    wn.add_junction(PLANT_INLET, elevation=TRUNK_GROUND_AT_PLANT_M,
                    coordinates=(east - 120.0, north - 120.0))
    # FCVs may not touch a tank, hence the treated-water junction and a short pipe.
    wn.add_valve(PLANT_FCV, PLANT_INLET, PLANT_TREATED, diameter=1.6, valve_type="FCV",
                 initial_setting=PLANT_FLOW_NOMINAL_M3S)
    wn.add_pipe("WTP1-CW-IN", PLANT_TREATED, CLEARWELL, length=80.0, diameter=1.6,
                roughness=120.0)
    add_production_rules(wn)


def add_production_rules(wn: wntr.network.WaterNetworkModel) -> None:
    """Plant production steps that follow the clear-water tank level.

    Operators raise the raw-water intake when the tank runs low, lower it when the tank is
    nearly full, and return to the nominal rate when the level is back in the middle band.
    """
    clearwell = wn.get_node(CLEARWELL)
    fcv = wn.get_link(PLANT_FCV)
    steps = (
        ("WTP1-PRODUCTION-HIGH",
         ValueCondition(clearwell, "level", Comparison.lt, CLEARWELL_LOW_LEVEL_M),
         PLANT_FLOW_HIGH_M3S),
        ("WTP1-PRODUCTION-LOW",
         ValueCondition(clearwell, "level", Comparison.gt, CLEARWELL_HIGH_LEVEL_M),
         PLANT_FLOW_LOW_M3S),
        ("WTP1-PRODUCTION-NOMINAL",
         AndCondition(ValueCondition(clearwell, "level", Comparison.gt, CLEARWELL_BAND_M[0]),
                      ValueCondition(clearwell, "level", Comparison.lt, CLEARWELL_BAND_M[1])),
         PLANT_FLOW_NOMINAL_M3S),
    )
    for name, condition, flow_m3s in steps:
        wn.add_control(name, Rule(condition, [ControlAction(fcv, "setting", flow_m3s)],
                                  name=name))


def trunk_route(start: tuple[float, float], rng: np.random.Generator) -> list[tuple[float, float]]:
    """Points of the trunk main from the plant inlet outwards, one per 2 km segment.

    The route heads south-south-west into the hills and meanders around the terrain; each
    step is a straight 2 km segment, so node distance equals pipe length.
    """
    points = [start]
    heading = math.radians(-105.0)  # mathematical angle: south, a little west
    for k in range(TRUNK_SEGMENTS):
        heading_k = heading + 0.45 * math.sin(2 * math.pi * k / 17.0) + rng.normal(0.0, 0.08)
        east, north = points[-1]
        points.append((round(east + TRUNK_SEGMENT_M * math.cos(heading_k), 2),
                       round(north + TRUNK_SEGMENT_M * math.sin(heading_k), 2)))
    return points


def trunk_ground_m(chainage_m: float, rng: np.random.Generator) -> float:
    """Ground elevation [m] along the trunk main, falling from the dam to the plant."""
    fraction = chainage_m / (TRUNK_SEGMENTS * TRUNK_SEGMENT_M)
    trend = TRUNK_GROUND_AT_DAM_M + (TRUNK_GROUND_AT_PLANT_M - TRUNK_GROUND_AT_DAM_M) * fraction
    hills = 5.0 * math.sin(2 * math.pi * fraction * 6.0)
    return round(trend + hills + float(rng.uniform(-2.0, 2.0)), 1)


def add_reservoir_source(wn: wntr.network.WaterNetworkModel, rng: np.random.Generator) -> None:
    """Add ``RES-SHUIKU`` and the 106 km trunk main ``TM-001`` … ``TM-053`` to the plant."""
    route = trunk_route(wn.get_node(PLANT_INLET).coordinates, rng)
    route.reverse()  # now from the dam (index 0) to the plant inlet (last)
    wn.add_reservoir(SOURCE_RESERVOIR, base_head=SOURCE_POOL_LEVEL_M, coordinates=route[0])
    previous = SOURCE_RESERVOIR
    for k in range(1, TRUNK_SEGMENTS + 1):
        if k < TRUNK_SEGMENTS:
            node = f"TMJ-{k:03d}"
            wn.add_junction(node, elevation=trunk_ground_m(k * TRUNK_SEGMENT_M, rng),
                            coordinates=route[k])
        else:
            node = PLANT_INLET
        upper = k <= TRUNK_DN1600_SEGMENTS
        wn.add_pipe(f"TM-{k:03d}", previous, node, length=TRUNK_SEGMENT_M,
                    diameter=1.6 if upper else 1.4, roughness=120.0 if upper else 125.0)
        wn.get_link(f"TM-{k:03d}").tag = "PCCP-2018" if upper else "DI-2018"
        previous = node


def add_river_intake(wn: wntr.network.WaterNetworkModel) -> None:
    """Add the river intake, its raw-water pump station (closed: backup) and raw-water main."""
    east, north = wn.get_node(PLANT_INLET).coordinates
    # The river passes 3.6 km east of the plant; the raw-water main runs west to the inlet.
    river_east = east + RIVER_MAIN_SEGMENTS * RIVER_MAIN_SEGMENT_M
    wn.add_reservoir(RIVER, base_head=RIVER_LEVEL_M, coordinates=(river_east + 80.0, north))
    wn.add_junction("RWJ-000", elevation=4.0, coordinates=(river_east, north))
    wn.add_curve("CURVE-PS-RIVER", "HEAD", [(RIVER_PUMP_FLOW_M3S, RIVER_PUMP_HEAD_M)])
    for pump in ("PS-RIVER-P1", "PS-RIVER-P2"):
        wn.add_pump(pump, RIVER, "RWJ-000", pump_type="HEAD", pump_parameter="CURVE-PS-RIVER",
                    initial_status="CLOSED")
        wn.get_link(pump).tag = "PS-RIVER"
    previous = "RWJ-000"
    for k in range(1, RIVER_MAIN_SEGMENTS + 1):
        node = f"RWJ-{k:03d}" if k < RIVER_MAIN_SEGMENTS else PLANT_INLET
        if k < RIVER_MAIN_SEGMENTS:
            wn.add_junction(node, elevation=round(4.0 + 1.2 * k, 1),
                            coordinates=(river_east - k * RIVER_MAIN_SEGMENT_M, north))
        wn.add_pipe(f"RW-{k:03d}", previous, node, length=RIVER_MAIN_SEGMENT_M,
                    diameter=RIVER_MAIN_DIAMETER_M, roughness=120.0)
        wn.get_link(f"RW-{k:03d}").tag = "STEEL-2005"
        previous = node


def add_rural_township(wn: wntr.network.WaterNetworkModel, rng: np.random.Generator) -> None:
    """A township west of the city: FCV at the take-off, 12 km transfer main, tank, grid.

    The township tank fills at a limited rate and the take-off valve closes when the tank is
    nearly full (an altitude valve), so the city's west end never feeds more than 25 L/s.
    """
    east, north = wn.get_node(TOWNSHIP_TAKEOFF).coordinates
    wn.add_junction("TRJ-000", elevation=9.0, coordinates=(east - 10.0, north))
    wn.add_valve(TOWNSHIP_FCV, TOWNSHIP_TAKEOFF, "TRJ-000", diameter=0.3, valve_type="FCV",
                 initial_setting=TOWNSHIP_FILL_M3S)
    wn.get_link(TOWNSHIP_FCV).tag = "FCV"
    previous, (x, y) = "TRJ-000", (east - 10.0, north)
    for k in range(1, TRANSFER_SEGMENTS + 1):
        heading = math.pi + 0.25 * math.sin(k / 2.0)  # westwards, following the valley
        x = round(x + TRANSFER_SEGMENT_M * math.cos(heading), 2)
        y = round(y + TRANSFER_SEGMENT_M * math.sin(heading), 2)
        if k < TRANSFER_SEGMENTS:
            node = f"TRJ-{k:03d}"
            wn.add_junction(node, elevation=round(9.0 + 2.2 * k + float(rng.uniform(-1, 1)), 1),
                            coordinates=(x, y))
        else:
            node = TOWNSHIP_TANK
            wn.add_tank(node, elevation=38.0, init_level=3.0, min_level=0.5, max_level=5.0,
                        diameter=14.0, coordinates=(x, y))
        wn.add_pipe(f"TR-{k:03d}", previous, node, length=TRANSFER_SEGMENT_M, diameter=0.3,
                    roughness=130.0)
        wn.get_link(f"TR-{k:03d}").tag = "DI-2016"
        previous = node
    tank = wn.get_node(TOWNSHIP_TANK)
    fcv = wn.get_link(TOWNSHIP_FCV)
    wn.add_control("TWN-ALTITUDE-CLOSE", Control(
        ValueCondition(tank, "level", Comparison.gt, 4.5),
        ControlAction(fcv, "status", LinkStatus.Closed)))
    wn.add_control("TWN-ALTITUDE-OPEN", Control(
        ValueCondition(tank, "level", Comparison.lt, 3.0),
        ControlAction(fcv, "setting", TOWNSHIP_FILL_M3S)))
    add_township_grid(wn, (x, y), rng)


def add_township_grid(wn: wntr.network.WaterNetworkModel, tank_xy: tuple[float, float],
                      rng: np.random.Generator) -> None:
    """The township's looped grid, south-west of its tank, fed by gravity from the tank."""
    n = TOWNSHIP_GRID
    x0, y0 = tank_xy[0] - 200.0, tank_xy[1] - 400.0
    per_junction_m3s = round(TOWNSHIP_DEMAND_M3S / (n * n), 8)

    def name(i: int, j: int) -> str:
        return f"TWN-J{i * n + j + 1:02d}"

    for i in range(n):
        for j in range(n):
            wn.add_junction(name(i, j), base_demand=per_junction_m3s,
                            demand_pattern="PAT-RESIDENTIAL",
                            elevation=round(14.0 + 1.0 * i + float(rng.uniform(-1.5, 1.5)), 1),
                            coordinates=(round(x0 - j * TOWNSHIP_SPACING_M, 2),
                                         round(y0 - i * TOWNSHIP_SPACING_M, 2)))
    wn.add_pipe("TWN-P000", TOWNSHIP_TANK, name(0, 0), length=450.0, diameter=0.25,
                roughness=130.0)
    wn.get_link("TWN-P000").tag = "DI-2016"
    count = 0
    for i in range(n):
        for j in range(n):
            for di, dj in ((0, 1), (1, 0)):
                if i + di >= n or j + dj >= n:
                    continue
                count += 1
                main_street = i == 0 or j == 0  # the mains along the tank's two streets
                diameter = 0.2 if main_street else (0.15 if (i + j) % 2 else 0.1)
                pipe = f"TWN-P{count:03d}"
                wn.add_pipe(pipe, name(i, j), name(i + di, j + dj), length=TOWNSHIP_SPACING_M,
                            diameter=diameter, roughness=130.0)
                wn.get_link(pipe).tag = material_tag(diameter * 1000.0, rng)


def add_pump_rooms(wn: wntr.network.WaterNetworkModel) -> None:
    """Secondary-supply pump rooms: building tank (float valve) and a booster set.

    Each room ``PRnn`` takes water from a city junction into a basement tank through a feed
    pipe that a float valve shuts when the tank is full; a duty pump (the standby one is
    closed) lifts it to the community's high zone, modelled by one demand node 45 m above
    ground.
    """
    wn.add_curve("CURVE-PR-BOOSTER", "HEAD", [(0.0, 72.0), (0.010, 68.0), (0.020, 58.0)])
    for k, feed in enumerate(PUMP_ROOM_FEEDS, start=1):
        room = f"PR{k:02d}"
        junction = wn.get_node(feed)
        east, north = junction.coordinates
        ground = junction.elevation
        wn.add_tank(f"{room}-TANK", elevation=round(ground - 3.0, 2), init_level=2.0,
                    min_level=0.3, max_level=2.6, diameter=6.0,
                    coordinates=(east + 40.0, north + 30.0))
        wn.add_pipe(f"{room}-FEED", feed, f"{room}-TANK", length=50.0, diameter=0.1,
                    roughness=130.0)
        wn.get_link(f"{room}-FEED").tag = "DI-2015"
        wn.add_junction(f"{room}-HIGHZONE", base_demand=PUMP_ROOM_DEMAND_M3S,
                        demand_pattern="PAT-RESIDENTIAL",
                        elevation=round(ground + HIGH_ZONE_ABOVE_GROUND_M, 2),
                        coordinates=(east + 90.0, north + 60.0))
        for pump, status in (("P1", "OPEN"), ("P2", "CLOSED")):
            wn.add_pump(f"{room}-{pump}", f"{room}-TANK", f"{room}-HIGHZONE", pump_type="HEAD",
                        pump_parameter="CURVE-PR-BOOSTER", initial_status=status)
            wn.get_link(f"{room}-{pump}").tag = room
        tank, feed_pipe = wn.get_node(f"{room}-TANK"), wn.get_link(f"{room}-FEED")
        wn.add_control(f"{room}-FLOAT-SHUT", Control(
            ValueCondition(tank, "level", Comparison.gt, 2.4),
            ControlAction(feed_pipe, "status", LinkStatus.Closed)))
        wn.add_control(f"{room}-FLOAT-OPEN", Control(
            ValueCondition(tank, "level", Comparison.lt, 1.6),
            ControlAction(feed_pipe, "status", LinkStatus.Open)))


def normalised(multipliers: Sequence[float]) -> list[float]:
    """Multipliers rescaled to a mean of exactly 1 (rounded to 4 decimals)."""
    mean = sum(multipliers) / len(multipliers)
    return [round(m / mean, 4) for m in multipliers]


def set_demand_patterns(wn: wntr.network.WaterNetworkModel) -> None:
    """Give junctions the residential or industrial pattern, keeping each daily volume."""
    wn.add_pattern("PAT-RESIDENTIAL", normalised(RESIDENTIAL))
    wn.add_pattern("PAT-INDUSTRIAL", normalised(INDUSTRIAL))
    (x0, y0), (x1, y1) = INDUSTRIAL_PARK_BOX
    for name, junction in wn.junctions():
        if not name.startswith("JUNCTION-"):
            continue
        demand = junction.demand_timeseries_list[0]
        if demand.pattern is None or demand.pattern_name != "PATTERN-2":
            continue  # PATTERN-1 (a constant large user) stays as in the base network
        daily_mean = float(np.mean(demand.pattern.multipliers))
        x, y = junction.base_coordinates
        in_park = x0 <= x <= x1 and y0 <= y <= y1
        pattern = "PAT-INDUSTRIAL" if in_park else "PAT-RESIDENTIAL"
        mean_new = float(np.mean(wn.get_pattern(pattern).multipliers))
        demand.base_value = round(demand.base_value * daily_mean / mean_new, 8)
        demand.pattern_name = pattern
        if in_park:
            junction.tag = "IND-PARK"
    wn.options.hydraulic.pattern = "PAT-RESIDENTIAL"


def material_tag(diameter_mm: float, rng: np.random.Generator) -> str:
    """A synthetic ``<material>-<install year>`` tag drawn by diameter class."""
    for upper_mm, choices in MATERIALS:
        if diameter_mm < upper_mm:
            codes = [c for c, _, _ in choices]
            weights = np.array([p for _, p, _ in choices])
            index = int(rng.choice(len(codes), p=weights / weights.sum()))
            first, last = choices[index][2]
            return f"{codes[index]}-{int(rng.integers(first, last + 1))}"
    raise AssertionError("the last diameter class is unbounded")


def tag_base_links(wn: wntr.network.WaterNetworkModel, rng: np.random.Generator) -> None:
    """Materials for base pipes; station names for pumps; PRV for pressure reducing valves."""
    for name, pipe in wn.pipes():
        if name.startswith("LINK-"):
            pipe.tag = material_tag(pipe.diameter * 1000.0, rng)
    stations: dict[tuple[str, str], str] = {}
    for name, pump in wn.pumps():
        if not name.startswith("PUMP-"):
            continue
        key = (pump.start_node_name, pump.end_node_name)
        if pump.start_node_name == CLEARWELL:
            stations[key] = "PS-HIGHLIFT-1"
        elif key not in stations:
            stations[key] = f"PS-BOOST-{sum(1 for s in stations.values() if 'BOOST' in s) + 1:02d}"
        pump.tag = stations[key]
    for _, valve in wn.valves():
        valve.tag = valve.valve_type
    wn.get_link("WTP1-CW-IN").tag = "STEEL-2018"


def set_quality_and_times(wn: wntr.network.WaterNetworkModel) -> None:
    """Chlorine with first-order decay; a 24 h run at the base network's 1 h step."""
    quality = wn.options.quality
    quality.parameter = "CHEMICAL"
    quality.chemical_name = "Chlorine"
    quality.inpfile_units = "mg/L"
    reaction = wn.options.reaction
    reaction.bulk_order = 1.0
    reaction.wall_order = 1.0
    reaction.bulk_coeff = -0.55 / 86400.0  # [1/s]; -0.55 /day, treated surface water
    reaction.wall_coeff = -0.05 / 86400.0  # [m/s]; -0.05 m/day, lined pipes mostly
    # Chlorine dosed after the clear-water tank: outflow held at the set-point [kg/m³].
    wn.add_source("CL-WTP1", CLEARWELL, "SETPOINT", CHLORINE_SETPOINT_MG_L / 1000.0)
    times = wn.options.time
    times.duration = 24 * 3600
    times.hydraulic_timestep = 3600
    times.quality_timestep = 300
    times.pattern_timestep = 3600
    times.report_timestep = 3600


TITLE = [
    "waterops demo city network (fictitious utility), built by tools/build_demo_network.py",
    "Base: WNTR Net6.inp (Watson, Murray & Hart 2009), Revised BSD; see README.md beside it",
    "CRS: EPSG:4547 CGCS2000 / 3-degree Gauss-Kruger CM 114E; X easting, Y northing [m]",
    "Sources: RES-SHUIKU via 106 km trunk main TM-001..TM-053; RES-RIVER backup (pumps closed)",
    "Pipe [TAGS] are synthetic <material>-<install year> codes for the demo",
]


def build(output: Path) -> None:
    """Build the demo network from Net6.inp and write it to ``output`` (LPS, EPANET 2.2)."""
    rng = np.random.default_rng(SEED)
    wn = wntr.network.WaterNetworkModel(str(base_network_path()))
    for _, node in wn.nodes():
        node.base_coordinates = node.coordinates  # kept for the industrial-park box
    scale_m = coordinate_scale_m(wn)
    place_in_crs(wn, scale_m)
    tidy_si_values(wn)
    add_treatment_plant(wn)
    add_reservoir_source(wn, rng)
    add_river_intake(wn)
    set_demand_patterns(wn)
    tag_base_links(wn, rng)
    add_rural_township(wn, rng)
    add_pump_rooms(wn)
    set_quality_and_times(wn)
    wn.name = None  # WNTR writes a creation date for named models: keep the file reproducible
    wn.title = [*TITLE, f"Coordinate scale from the base: {scale_m} m per base unit"]
    output.parent.mkdir(parents=True, exist_ok=True)
    wntr.network.write_inpfile(wn, str(output), units="LPS", version=2.2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SHIPPED_PATH,
                        help=f"where to write the .inp (default: {SHIPPED_PATH})")
    args = parser.parse_args(argv)
    build(args.output)


if __name__ == "__main__":
    main()
