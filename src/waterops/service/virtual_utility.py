"""The demo utility's layout, laid over the bundled demo city network, built deterministically.

What is where (ids from ``src/waterops/data/networks/README.md``):

- **Sources**: the reservoir ``RES-SHUIKU`` and its 106 km raw-water trunk main
  ``TM-001``…``TM-053``; the backup river intake ``RES-RIVER`` with pumps ``PS-RIVER-P1/P2``.
- **Plant** ``WTP1`` (ozone + biological activated carbon): production valve
  ``WTP1-RAW-FCV``, clear-water tank ``WTP1-CLEARWELL``, high-lift pumps ``PUMP-3830…3834``.
- **DMAs**: the city's base junctions (``JUNCTION-*``) split by Louvain community detection
  on the pipe graph (networkx, fixed seed, resolution :data:`DMA_RESOLUTION`): 13 areas of
  80-420 junctions, each connected, with few links between them. Every link with one end in
  a DMA and the other outside it is a **metered inlet**; the model keeps them all open (no
  boundary valve is closed), so the hydraulics stay those of the network file, and the DMA's
  net inflow Σ sign x flow equals its demand plus its leaks at every instant (tanks inside a
  DMA are outside the junction set, so a tank's outlet counts as an inlet). This is the
  "meter every crossing" choice: closing boundaries would need a hydraulic redesign of a
  network that was not built for it.
- **Pump rooms** ``PR01``…``PR04`` (building tank, duty and standby booster, high zone).
- **Township**: its own water system ``township`` (``TWN-*``, transfer main ``TR-*``), fed
  through ``TWN-FCV``.
- **Customers**: one enterprise account per industrial-park junction with demand (AMR meters,
  hourly reads, ``demands.csv``), and up to three representative household accounts per other
  junction with demand (monthly reads; the rest of the node's demand is other households
  not modelled one by one).
- **Critical users** (hospitals, schools; our assumption, for isolation plans and outage
  notices): a school in every DMA at its non-industrial junction with the largest base demand,
  and a hospital in every third DMA (``DMA-01``, ``-04`` …) at the one with the second largest.
- **Sensors**: the generic utility layout of :func:`waterops.telemetry.layout.sensors_from_network`
  (tank levels, pump flow and status, reservoir outflows, ~50 pressure loggers, chlorine at
  sources, tanks and network ends) plus what this utility has besides: DMA inlet flow meters
  and inlet/critical-point pressures, trunk-main flow and pressure every 20 km, plant inflow,
  plant-outlet turbidity, raw-water turbidity at both sources, pump-room high-zone pressure,
  conductivity analysers beside the network chlorine analysers (an intrusion shows there),
  and AMR demand at enterprise meters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import networkx as nx
import numpy as np

from waterops.data import DEMO_NETWORK_CRS, demo_network_path
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.model.telemetry import Quantity, Sensor, Site, SiteKind, WaterSystem
from waterops.model.utility import (
    CriticalUser,
    CriticalUserKind,
    Customer,
    CustomerKind,
    Dma,
    MeteredInlet,
    PumpRoom,
    SourceKind,
    TreatmentPlant,
    UtilityLayout,
    WaterSource,
)
from waterops.telemetry.layout import SensorLayout, network_graph, sensors_from_network

CITY = "city"
TOWNSHIP = "township"
DMA_RESOLUTION = 0.1
"""Louvain resolution for the DMA split: 13 DMAs of 80-420 junctions on the demo city."""
LAYOUT_SEED = 7
"""Seed of every random choice of the layout (DMA split, household counts)."""
SENSOR_INTERVAL_S = 300.0
"""SCADA polling interval of every sensor but the AMR meters [s]."""
AMR_INTERVAL_S = 3600.0
"""Reading interval of the automatic (AMR) enterprise meters [s]."""
TRUNK_MAIN_METER_EVERY = 10
"""A pressure meter on every 10th trunk-main junction (every 20 km)."""
INDUSTRIAL_TAG = "IND-PARK"
CONDUCTIVITY_BASE_US_CM = 380.0
"""Conductivity of the treated water [uS/cm] (the analysers' normal reading)."""


def build_demo_utility(path: str | Path | None = None) -> UtilityLayout:
    """The demo utility's layout over the demo city network (or a copy of it at ``path``).

    The same file always gives the same layout (ids, DMAs, sensors, customers).
    """
    path = Path(path) if path is not None else demo_network_path()
    return _build_cached(str(path.resolve()))


@lru_cache(maxsize=4)
def _build_cached(path: str) -> UtilityLayout:
    net = read_inp(path)
    dmas = _dmas(net)
    pump_rooms = _pump_rooms(net)
    customers = _customers(net)
    sources = (
        WaterSource("SRC-SHUIKU", SourceKind.RESERVOIR, "RES-SHUIKU", ("TM-001",),
                    main_links=tuple(f"TM-{i:03d}" for i in range(1, 54))),
        WaterSource("SRC-RIVER", SourceKind.RIVER, "RES-RIVER", ("RW-001",),
                    pumps=("PS-RIVER-P1", "PS-RIVER-P2"), backup=True,
                    main_links=tuple(f"RW-{i:03d}" for i in range(1, 5))),
    )
    plant = TreatmentPlant(
        "WTP1", "WTP1-INLET", "WTP1-RAW-FCV", "WTP1-CLEARWELL",
        tuple(f"PUMP-{i}" for i in range(3830, 3835)), ("ozone", "biological activated carbon"),
    )
    sites, sensors = _sensors(net, dmas, pump_rooms, customers)
    return UtilityLayout(
        name="Demo city water utility",
        network_file=path,
        crs=DEMO_NETWORK_CRS,
        systems=(WaterSystem(CITY, "Demo city network", Path(path).name),
                 WaterSystem(TOWNSHIP, "Rural township system", Path(path).name)),
        sources=sources,
        plant=plant,
        dmas=dmas,
        pump_rooms=pump_rooms,
        customers=customers,
        sites=tuple(sites),
        sensors=tuple(sensors),
        prvs=tuple(sorted(v for v in net.valves.index if net.valves.at[v, "valve_type"] == "PRV")),
        township_system_id=TOWNSHIP,
        critical_users=_critical_users(net, dmas),
    )


def _is_township(element_id: str) -> bool:
    # the valve TWN-FCV sits at the city's junction: its meter belongs to the city
    return element_id.startswith(("TWN-", "TR-", "TRJ-")) and element_id != "TWN-FCV"


def _dmas(net: Network) -> tuple[Dma, ...]:
    graph = network_graph(net)
    city = sorted(j for j in net.junctions.index if j.startswith("JUNCTION-"))
    sub = graph.subgraph(city)
    communities = nx.community.louvain_communities(
        sub, weight=None, resolution=DMA_RESOLUTION, seed=LAYOUT_SEED
    )
    # name the areas from north-west to south-east so ids mean something on the map
    coords = net.coordinates

    def key(members: set[str]) -> tuple[float, float]:
        xy = coords.loc[sorted(members), ["x", "y"]].to_numpy(dtype=float)
        return (-round(float(xy[:, 1].mean()), -3), float(xy[:, 0].mean()))

    ordered = sorted(communities, key=key)
    links = net.link_table()
    elevation = net.junctions["elevation_m"].astype(float)
    demand = net.junctions["base_demand_m3s"].astype(float)
    diameters = {**net.pipes["diameter_m"].astype(float).to_dict(),
                 **net.valves["diameter_m"].astype(float).to_dict()}
    dmas = []
    for number, members in enumerate(ordered, start=1):
        inside = links["node1"].isin(members) != links["node2"].isin(members)
        inlets = []
        for link_id in sorted(links.index[inside]):
            sign = 1 if links.at[link_id, "node2"] in members else -1
            inlets.append(MeteredInlet(str(link_id), sign))
        main = max(inlets, key=lambda m: (diameters.get(m.link_id, 1.0), m.link_id))
        end = "node2" if main.sign > 0 else "node1"
        junctions = tuple(sorted(members))
        served = [j for j in junctions if demand[j] > 0] or list(junctions)
        critical = max(served, key=lambda j: (float(elevation[j]), j))
        dmas.append(Dma(f"DMA-{number:02d}", CITY, junctions, tuple(inlets),
                        str(links.at[main.link_id, end]), critical))
    return tuple(dmas)


def _critical_users(net: Network, dmas: tuple[Dma, ...]) -> tuple[CriticalUser, ...]:
    tags = net.tags
    industrial = set(tags.loc[tags["tag"] == INDUSTRIAL_TAG, "element"])
    demand = net.junctions["base_demand_m3s"].astype(float)
    users: list[CriticalUser] = []
    for number, dma in enumerate(dmas, start=1):
        ranked = sorted((j for j in dma.junctions if demand[j] > 0 and j not in industrial),
                        key=lambda j: (-float(demand[j]), j))
        if ranked:
            users.append(CriticalUser(f"SCH-{number:02d}", CriticalUserKind.SCHOOL,
                                      f"{dma.id} school", ranked[0]))
        if number % 3 == 1 and len(ranked) > 1:
            users.append(CriticalUser(f"HOS-{number:02d}", CriticalUserKind.HOSPITAL,
                                      f"{dma.id} hospital", ranked[1]))
    return tuple(sorted(users, key=lambda u: u.id))


def _pump_rooms(net: Network) -> tuple[PumpRoom, ...]:
    rooms = []
    for room_id in sorted({t[:4] for t in net.tanks.index if t.startswith("PR")}):
        feed = f"{room_id}-FEED"
        rooms.append(PumpRoom(
            room_id, str(net.pipes.at[feed, "node1"]), feed, f"{room_id}-TANK",
            (f"{room_id}-P1",), (f"{room_id}-P2",), f"{room_id}-HIGHZONE",
        ))
    return tuple(rooms)


def _customers(net: Network) -> tuple[Customer, ...]:
    rng = np.random.default_rng(LAYOUT_SEED)
    tags = net.tags
    industrial = set(tags.loc[tags["tag"] == INDUSTRIAL_TAG, "element"])
    demand = net.junctions["base_demand_m3s"].astype(float)
    customers: list[Customer] = []
    enterprise_no = household_no = 0
    for node in sorted(demand.index[demand > 0]):
        if node in industrial:
            enterprise_no += 1
            customers.append(Customer(
                f"E{enterprise_no:05d}", CustomerKind.ENTERPRISE,
                f"Industrial park enterprise {enterprise_no}", node,
                f"M-E{enterprise_no:05d}", 1.0, amr=True,
            ))
            continue
        count = int(rng.integers(1, 4))
        for _ in range(count):
            household_no += 1
            customers.append(Customer(
                f"H{household_no:06d}", CustomerKind.HOUSEHOLD, f"Household {household_no}",
                node, f"M-H{household_no:06d}", round(float(rng.uniform(0.002, 0.02)), 4),
            ))
    return tuple(customers)


class _Sensors:
    """Sites and sensors of the utility, each id once, township elements in their system."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.sites: dict[str, Site] = {}
        self.sensors: dict[str, Sensor] = {}

    def system_of(self, element_id: str) -> str:
        return TOWNSHIP if _is_township(element_id) else CITY

    def site(self, site_id: str, kind: SiteKind, name: str, node: str) -> str:
        if site_id not in self.sites:
            coords = self.net.coordinates
            x = y = None
            if node in coords.index:
                x, y = (float(v) for v in coords.loc[node, ["x", "y"]].to_numpy(dtype=float))
            self.sites[site_id] = Site(site_id, self.system_of(node), kind, name, x, y)
        return site_id

    def add(self, sensor: Sensor) -> None:
        if sensor.id not in self.sensors:
            system = self.system_of(sensor.element_id or "")
            self.sensors[sensor.id] = dataclasses.replace(sensor, system_id=system)

    def new(self, stem: str, quantity: Quantity, kind: str, element: str, site: str, name: str,
            lower: float | None = None, upper: float | None = None,
            interval_s: float = SENSOR_INTERVAL_S) -> None:
        self.add(Sensor(f"{stem}-{element}", CITY, quantity, site, kind, element, lower, upper,
                        interval_s, name))

    def extend_sites(self, sites: Iterable[Site]) -> None:
        for s in sites:
            node = s.id.split("-", 1)[1] if "-" in s.id else s.id
            self.sites.setdefault(s.id, dataclasses.replace(s, system_id=self.system_of(node)))


def _sensors(
    net: Network, dmas: tuple[Dma, ...], rooms: tuple[PumpRoom, ...],
    customers: tuple[Customer, ...],
) -> tuple[list[Site], list[Sensor]]:
    placed = sensors_from_network(net, CITY, layout=SensorLayout(interval_s=SENSOR_INTERVAL_S))
    out = _Sensors(net)
    out.extend_sites(placed.sites)
    for sensor in placed.sensors:
        out.add(sensor)
    for dma in dmas:
        site = out.site(f"dma-{dma.id}", SiteKind.DMA_INLET, f"{dma.id} inlets", dma.pressure_node)
        for inlet in dma.inlets:
            way = "in" if inlet.sign > 0 else "out"
            out.new("Q", Quantity.FLOW, "link", inlet.link_id, site,
                    f"{dma.id} boundary meter on {inlet.link_id} (+ = {way})")
        out.new("P", Quantity.PRESSURE, "node", dma.pressure_node, site,
                f"{dma.id} inlet pressure", 0.0, 150.0)
        # a multi-parameter station at each DMA inlet (chlorine; conductivity added below)
        out.new("CL", Quantity.CHLORINE, "node", dma.pressure_node, site,
                f"{dma.id} inlet chlorine", 0.0, 4.0)
        crit = out.site(f"mp-{dma.critical_node}", SiteKind.MONITORING_POINT,
                        f"{dma.id} critical point", dma.critical_node)
        out.new("P", Quantity.PRESSURE, "node", dma.critical_node, crit,
                f"{dma.id} critical-point pressure", 0.0, 150.0)
    trunk = out.site("trunk-main", SiteKind.TRUNK_MAIN, "Raw-water trunk main", "TMJ-026")
    out.new("Q", Quantity.FLOW, "link", "TM-053", trunk, "trunk main flow at the plant", 0.0, 3.0)
    for k in range(TRUNK_MAIN_METER_EVERY, 53, TRUNK_MAIN_METER_EVERY):
        node = f"TMJ-{k:03d}"
        out.new("P", Quantity.PRESSURE, "node", node, trunk, f"trunk main pressure km {2 * k}",
                0.0, 120.0)
    plant = out.site("plant-WTP1", SiteKind.TREATMENT_PLANT, "Treatment plant WTP1",
                     "WTP1-CLEARWELL")
    out.new("Q", Quantity.FLOW, "link", "WTP1-RAW-FCV", plant, "plant inflow (production)",
            0.0, 3.0)
    out.new("TU", Quantity.TURBIDITY, "node", "WTP1-CLEARWELL", plant, "plant outlet turbidity",
            0.0, 5.0)
    out.new("CL", Quantity.CHLORINE, "node", "WTP1-CLEARWELL", plant, "plant outlet chlorine",
            0.0, 4.0)
    for source in ("RES-SHUIKU", "RES-RIVER"):
        site = out.site(f"intake-{source}", SiteKind.SOURCE_INTAKE, f"intake {source}", source)
        out.new("TU", Quantity.TURBIDITY, "node", source, site, f"raw-water turbidity {source}",
                0.0, 200.0)
    for room in rooms:
        site = out.site(f"pumproom-{room.id}", SiteKind.PUMP_ROOM, f"pump room {room.id}",
                        room.building_tank)
        out.new("P", Quantity.PRESSURE, "node", room.served_node, site,
                f"{room.id} high-zone pressure", 0.0, 100.0)
        out.new("P", Quantity.PRESSURE, "node", room.city_node, site,
                f"{room.id} city inlet pressure", 0.0, 150.0)
    chlorine_nodes = [s.element_id for s in out.sensors.values()
                      if s.quantity is Quantity.CHLORINE and s.element_id
                      and s.element_id in net.junctions.index]
    for node in chlorine_nodes:
        out.new("EC", Quantity.CONDUCTIVITY, "node", node, out.sensors[f"CL-{node}"].site_id or "",
                f"conductivity at {node}", 0.0, 2000.0)
    out.new("EC", Quantity.CONDUCTIVITY, "node", "WTP1-CLEARWELL", plant,
            "plant outlet conductivity", 0.0, 2000.0)
    for customer in customers:
        if customer.amr:
            site = out.site(f"mp-{customer.node}", SiteKind.MONITORING_POINT,
                            f"meter of {customer.name}", customer.node)
            out.new("D", Quantity.FLOW, "node", customer.node, site,
                    f"AMR demand of {customer.account_id}", 0.0, None, AMR_INTERVAL_S)
    sensors = sorted(out.sensors.values(), key=lambda s: s.id)
    used = {s.site_id for s in sensors}
    sites = sorted((s for s in out.sites.values() if s.id in used), key=lambda s: s.id)
    return sites, sensors
