"""The demo utility's layout: DMAs, metered inlets, pump rooms, customers, sensors."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from waterops.data import demo_network_path
from waterops.hydraulics import EpanetEngine
from waterops.hydraulics.stepper import NetworkStepper
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.model.telemetry import Quantity, SiteKind
from waterops.model.utility import CustomerKind, UtilityLayout
from waterops.service.virtual_utility import build_demo_utility
from waterops.telemetry.layout import network_graph


@pytest.fixture(scope="module")
def layout() -> UtilityLayout:
    return build_demo_utility()


@pytest.fixture(scope="module")
def net() -> Network:
    return read_inp(demo_network_path())


def test_the_layout_is_the_same_from_a_copy_of_the_network(
    layout: UtilityLayout, tmp_path: Path
) -> None:
    copy = tmp_path / "demo_city.inp"
    shutil.copyfile(demo_network_path(), copy)
    again = build_demo_utility(copy)
    assert again.dmas == layout.dmas
    assert again.sensors == layout.sensors
    assert again.sites == layout.sites
    assert again.customers == layout.customers


def test_dmas_partition_the_city_into_connected_areas(layout: UtilityLayout, net: Network) -> None:
    assert 10 <= len(layout.dmas) <= 20
    city = {j for j in net.junctions.index if j.startswith("JUNCTION-")}
    seen: set[str] = set()
    graph = network_graph(net)
    for dma in layout.dmas:
        members = set(dma.junctions)
        assert not members & seen, f"{dma.id} overlaps another DMA"
        seen |= members
        assert nx.is_connected(graph.subgraph(members)), f"{dma.id} is not connected"
        assert dma.pressure_node in members and dma.critical_node in members
    assert seen == city


def test_every_link_across_a_dma_boundary_is_a_metered_inlet_with_its_sign(
    layout: UtilityLayout, net: Network
) -> None:
    links = net.link_table()
    metered = {s.element_id for s in layout.sensors if s.quantity is Quantity.FLOW}
    for dma in layout.dmas:
        members = set(dma.junctions)
        crossing = {str(k) for k in links.index
                    if (links.at[k, "node1"] in members) != (links.at[k, "node2"] in members)}
        assert {i.link_id for i in dma.inlets} == crossing
        for inlet in dma.inlets:
            entering_end = links.at[inlet.link_id, "node2" if inlet.sign > 0 else "node1"]
            assert entering_end in members
            assert inlet.link_id in metered


def test_dma_inflow_balances_dma_demand(layout: UtilityLayout) -> None:
    """Σ sign x inlet flow = the DMA's demand (no leaks): the DMA water balance closes."""
    with EpanetEngine.open(demo_network_path()) as engine, \
            NetworkStepper(engine, step_s=3600, quality=None) as stepper:
        for time_s in (3 * 3600, 19 * 3600):  # night minimum and evening peak
            stepper.advance_to(time_s)
            flow = stepper.link_values("flow")
            demand = stepper.node_values("demand")
            for dma in layout.dmas:
                inflow = sum(i.sign * flow[engine.link_index(i.link_id) - 1] for i in dma.inlets)
                used = demand[stepper.node_indices(list(dma.junctions))].sum()
                assert inflow == pytest.approx(used, abs=1e-6), dma.id
                assert used > 0


def test_pump_rooms_sources_and_plant(layout: UtilityLayout, net: Network) -> None:
    assert [r.id for r in layout.pump_rooms] == ["PR01", "PR02", "PR03", "PR04"]
    for room in layout.pump_rooms:
        assert net.pipes.at[room.feed_link, "node1"] == room.city_node
        assert room.building_tank in net.tanks.index
        assert all(net.pumps.at[p, "node2"] == room.served_node
                   for p in (*room.duty_pumps, *room.standby_pumps))
    main, backup = layout.sources
    assert (main.node, backup.node, backup.backup) == ("RES-SHUIKU", "RES-RIVER", True)
    assert len(main.main_links) == 53
    assert layout.plant.clearwell == "WTP1-CLEARWELL"
    assert "ozone" in layout.plant.processes
    assert set(layout.prvs) == {"VALVE-3890", "VALVE-3891"}


def test_customers_are_attached_to_demand_nodes(layout: UtilityLayout, net: Network) -> None:
    demand = net.junctions["base_demand_m3s"]
    industrial = set(net.tags.loc[net.tags["tag"] == "IND-PARK", "element"])
    accounts = [c.account_id for c in layout.customers]
    assert len(accounts) == len(set(accounts))
    assert len({c.meter_id for c in layout.customers}) == len(accounts)
    for customer in layout.customers:
        assert demand[customer.node] > 0
        assert (customer.kind is CustomerKind.ENTERPRISE) == (customer.node in industrial)
        assert customer.amr == (customer.kind is CustomerKind.ENTERPRISE)
    assert sum(c.kind is CustomerKind.ENTERPRISE for c in layout.customers) > 100


def test_sensors_name_real_elements_and_sites(layout: UtilityLayout, net: Network) -> None:
    ids = [s.id for s in layout.sensors]
    assert len(ids) == len(set(ids))
    sites = {s.id: s for s in layout.sites}
    nodes, links = set(net.node_ids()), set(net.link_ids())
    for sensor in layout.sensors:
        assert sensor.element_id in (nodes if sensor.element_kind == "node" else links), sensor.id
        assert sensor.site_id in sites, sensor.id
        assert sites[sensor.site_id].system_id == sensor.system_id, sensor.id
        township = sensor.element_id.startswith(("TWN-", "TR-", "TRJ-")) and \
            sensor.element_id != "TWN-FCV"
        assert sensor.system_id == ("township" if township else "city"), sensor.id
    by_id = {s.id: s for s in layout.sensors}
    for wanted in ("Q-TM-053", "P-TMJ-010", "Q-WTP1-RAW-FCV", "TU-WTP1-CLEARWELL",
                   "CL-WTP1-CLEARWELL", "TU-RES-SHUIKU", "TU-RES-RIVER", "P-PR01-HIGHZONE",
                   "L-PR01-TANK", "S-PR01-P1", "L-WTP1-CLEARWELL", "Q-TWN-FCV"):
        assert wanted in by_id, wanted
    for dma in layout.dmas:
        assert f"P-{dma.pressure_node}" in by_id and f"P-{dma.critical_node}" in by_id
        assert f"EC-{dma.pressure_node}" in by_id
    assert {s.kind for s in layout.sites} >= {
        SiteKind.DMA_INLET, SiteKind.PUMP_ROOM, SiteKind.TREATMENT_PLANT, SiteKind.TRUNK_MAIN,
        SiteKind.SOURCE_INTAKE, SiteKind.TANK, SiteKind.PUMP_STATION}
    amr = [s for s in layout.sensors if s.quantity is Quantity.FLOW and s.element_kind == "node"]
    assert amr and all(s.interval_s == 3600 for s in amr)
    assert np.all([s.interval_s == 300 for s in layout.sensors if s not in amr])
