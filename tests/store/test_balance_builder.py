"""Balance inputs from the store (DMA boundary meters), the network and a billing export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from waterops.cli.main import main
from waterops.data import demo_network_path
from waterops.errors import BalanceInputError
from waterops.io.inp import read_inp
from waterops.model.network import Network
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.model.utility import UtilityLayout
from waterops.planning.balance_inputs import read_balance_inputs
from waterops.service.balance_builder import (
    balance_inputs_from_store,
    dma_infrastructure,
    dma_night_flow,
    write_balance_inputs,
)
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.telemetry_store import TelemetryStore

START = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 Beijing time
HOURS = 48
BILLING = """scope,scope_id,system_id,period_start,period_end,billed_metered_m3,metering_inaccuracy_m3
dma,DMA-01,,2026-11-01,2026-11-02,2500,50
system,city,,2026-11-01,2026-11-02,2500,50
"""  # noqa: E501


@pytest.fixture(scope="module")
def demo() -> tuple[UtilityLayout, Network]:
    return build_demo_utility(), read_inp(demo_network_path())


def fill(store: TelemetryStore, layout: UtilityLayout, *, skip_hours: int = 0) -> float:
    """Write 15-min boundary flows of DMA-01 (inlet k carries k x 1 L/s, times its sign);
    the first inlet misses ``skip_hours`` hours. Returns the true inflow [m³/s]."""
    dma = layout.dmas[0]
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor(f"Q-{i.link_id}", "city", Quantity.FLOW) for i in dma.inlets]
                         + [Sensor(f"P-{dma.pressure_node}", "city", Quantity.PRESSURE)])
    times = np.arange(np.datetime64(START.replace(tzinfo=None), "s"),
                      np.datetime64((START + timedelta(hours=HOURS)).replace(tzinfo=None), "s"),
                      np.timedelta64(900, "s"))
    for k, inlet in enumerate(dma.inlets, start=1):
        keep = slice(skip_hours * 4, None) if k == 1 else slice(None)
        store.write_reading_arrays(f"Q-{inlet.link_id}", times[keep],
                                   np.full(len(times[keep]), inlet.sign * k * 1e-3))
    store.write_reading_arrays(f"P-{dma.pressure_node}", times, np.full(len(times), 42.0))
    return sum(k * 1e-3 for k in range(1, len(dma.inlets) + 1))


def test_inputs_from_store(store: TelemetryStore, store_url: tuple[str, str | None],
                           demo: tuple[UtilityLayout, Network], tmp_path: Path) -> None:
    layout, net = demo
    inflow = fill(store, layout, skip_hours=3)
    (tmp_path / "billing.csv").write_text(BILLING)
    dma_in, system_in = balance_inputs_from_store(store, layout, net, tmp_path / "billing.csv")
    # 66 L/s over 48 h (hours with a missing meter are filled at the mean rate)
    assert dma_in.system_input.m3 == pytest.approx(inflow * HOURS * 3600)
    assert dma_in.system_id == "city" and dma_in.infrastructure.pressure_m == pytest.approx(42)
    infra = dma_infrastructure(net, layout, layout.dmas[0])
    assert dma_in.infrastructure.mains_km == pytest.approx(infra["mains_km"])
    assert infra["connections"] == sum(1 for c in layout.customers
                                       if c.node in set(layout.dmas[0].junctions))
    assert system_in.system_input.m3 == pytest.approx(dma_in.system_input.m3)
    path = write_balance_inputs([dma_in, system_in], tmp_path / "balance.csv")
    if store_url[1] is None:  # the command takes a URL, not a PostgreSQL schema
        assert main(["balance", "from-store", "--billing", str(tmp_path / "billing.csv"),
                     "--out", str(tmp_path / "cli.csv"), "--database", store_url[0]]) == 0
        assert (tmp_path / "cli.csv").read_text() == path.read_text()
    back = read_balance_inputs(path)
    assert [b.system_input.m3 for b in back] == pytest.approx(
        [dma_in.system_input.m3, system_in.system_input.m3])
    assert back[0].infrastructure == dma_in.infrastructure


def test_too_few_hours_and_unknown_dma(store: TelemetryStore,
                                       demo: tuple[UtilityLayout, Network],
                                       tmp_path: Path) -> None:
    layout, net = demo
    fill(store, layout, skip_hours=6)  # 42 of 48 hours: 87.5 %
    (tmp_path / "billing.csv").write_text(BILLING)
    with pytest.raises(BalanceInputError, match="DMA DMA-01: boundary meters measured 88%"):
        balance_inputs_from_store(store, layout, net, tmp_path / "billing.csv")
    (tmp_path / "billing.csv").write_text(BILLING.replace("DMA-01", "DMA-99"))
    with pytest.raises(BalanceInputError, match=r"billing\.csv:2: unknown DMA 'DMA-99'"):
        balance_inputs_from_store(store, layout, net, tmp_path / "billing.csv")


def test_night_flow_of_a_dma_from_the_store(store: TelemetryStore,
                                            store_url: tuple[str, str | None],
                                            demo: tuple[UtilityLayout, Network],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    layout, _ = demo
    inflow = fill(store, layout)  # constant inflow, constant pressure
    dma = layout.dmas[0]
    nights = dma_night_flow(store, layout, dma.id, START, START + timedelta(hours=HOURS))
    assert len(nights) == 2
    members = set(dma.junctions)
    households = sum(1 for c in layout.customers if c.node in members
                     and c.kind.value == "household")
    others = sum(1 for c in layout.customers if c.node in members) - households
    legit = (households * 1.7 + others * 8.0) / 3.6e6
    first = nights.iloc[0]
    assert first["mnf_m3s"] == pytest.approx(inflow)
    assert first["legitimate_night_use_m3s"] == pytest.approx(legit)
    assert first["night_day_factor_h"] == pytest.approx(24.0)  # constant 42 m
    assert first["leakage_m3_per_day"] == pytest.approx((inflow - legit) * 86_400)
    with pytest.raises(BalanceInputError, match="unknown DMA"):
        dma_night_flow(store, layout, "DMA-99", START, START + timedelta(hours=HOURS))
    if store_url[1] is None:
        assert main(["balance", "night-flow", "--dma", dma.id, "--from",
                     "2026-11-01T00:00+08:00", "--to", "2026-11-03T00:00+08:00",
                     "--database", store_url[0]]) == 0
        assert f"Night flow of {dma.id}" in capsys.readouterr().out
        assert main(["balance", "night-flow", "--dma", dma.id, "--from", "2026-11-01",
                     "--to", "2026-11-03T00:00+08:00", "--database", store_url[0]]) == 2
        assert "needs a UTC offset" in capsys.readouterr().err
