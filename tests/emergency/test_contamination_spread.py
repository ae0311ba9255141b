"""Forward contamination spread: hand-checked on a tree, behaviour on the demo network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tree_network import write_tree

from waterops.data import demo_network_path
from waterops.emergency.contamination import Injection, exposure, simulate_spread
from waterops.errors import ConfigError, ScenarioError, UnknownElementError
from waterops.hydraulics import EpanetEngine
from waterops.model.utility import Customer, CustomerKind


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path)


def _col(spread: object, node: str) -> int:
    return list(spread.node_ids).index(node)  # type: ignore[attr-defined]


def test_setpoint_injection_arrives_undiluted_two_hours_later(tree: Path) -> None:
    with EpanetEngine.open(tree) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=3600, concentration_mg_l=5.0),
                                 horizon_s=6 * 3600)
    arrival = dict(zip(spread.node_ids, spread.first_arrival_s, strict=True))
    peak = dict(zip(spread.node_ids, spread.peak_mg_l, strict=True))
    # 1 h along each DN200 pipe at 10 L/s: J3, J4 after 1 h, S1, S2 after 2 h (5-min grid)
    assert arrival["J3"] == pytest.approx(3600, abs=600)
    assert arrival["S1"] == pytest.approx(7200, abs=600)
    assert arrival["S2"] == pytest.approx(arrival["S1"], abs=300)
    assert peak["S1"] == pytest.approx(5.0, rel=1e-3)
    assert np.isnan(arrival["J1"]) and peak["J1"] == 0.0  # upstream: never reached
    assert spread.nodes_reached_within(1.5 * 3600)[:1] == ["J2"]
    assert set(spread.nodes_reached_within(1.5 * 3600)) == {"J2", "J3", "J4"}


def test_mass_injection_is_diluted_by_the_flow(tree: Path) -> None:
    # 100 mg/s into 20 L/s leaving J2 -> 5 mg/L in P3 and P4 (mass / flow)
    with EpanetEngine.open(tree) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=0, mass_rate_mg_s=100.0),
                                 horizon_s=4 * 3600)
    assert spread.peak_mg_l[_col(spread, "S2")] == pytest.approx(5.0, rel=1e-3)


def test_injection_that_stops_passes_as_a_slug(tree: Path) -> None:
    with EpanetEngine.open(tree) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=0, duration_s=1800,
                                                   concentration_mg_l=2.0), horizon_s=6 * 3600)
        again = simulate_spread(engine, Injection("J2", start_s=0, concentration_mg_l=2.0),
                                horizon_s=6 * 3600)
    s1 = spread.concentration_mg_l[:, _col(spread, "S1")]
    assert s1.max() == pytest.approx(2.0, rel=1e-3)
    assert s1[-1] < 1e-5  # the slug has passed S1 by the end (EPANET leaves traces)
    # the engine was put back: a second run from the same project gives the lasting plateau
    assert again.concentration_mg_l[-1, _col(again, "S1")] == pytest.approx(2.0, rel=1e-3)


def test_exposure_counts_customers_by_window(tree: Path) -> None:
    customers = [
        Customer("H1", CustomerKind.HOUSEHOLD, "h1", "J3", "M1", 0.5),
        Customer("H2", CustomerKind.HOUSEHOLD, "h2", "S1", "M2", 0.5),
        Customer("E1", CustomerKind.ENTERPRISE, "e1", "S2", "M3", 1.0),
        Customer("H3", CustomerKind.HOUSEHOLD, "h3", "J1", "M4", 1.0),
    ]
    with EpanetEngine.open(tree) as engine:
        spread = simulate_spread(engine, Injection("J2", start_s=0, concentration_mg_l=1.0),
                                 horizon_s=24 * 3600)
    one, six, day = exposure(spread, customers)
    assert (one.within_h, one.customers, one.households) == (1.0, 0, 0)  # J3 just after 1 h
    assert (six.customers, six.households, six.enterprises) == (3, 2, 1)
    assert day.nodes == 5 and day.households == 2  # J1 upstream is never reached


def test_file_sources_are_off_and_restored_on_the_demo_network() -> None:
    """A tracer at the clear-water tank reaches most of the city within the day; the file's
    chlorine set-point at the tank does not leak into the contaminant, and is put back."""
    import epanet.toolkit as tk

    with EpanetEngine.open(demo_network_path()) as engine:
        ph = engine.handle
        tank = engine.node_index("WTP1-CLEARWELL")
        before = tk.getnodevalue(ph, tank, tk.SOURCEQUAL)
        spread = simulate_spread(engine, Injection("JUNCTION-1275", start_s=3600,
                                                   concentration_mg_l=1.0), horizon_s=86_400)
        assert tk.getnodevalue(ph, tank, tk.SOURCEQUAL) == before
        assert tk.getqualinfo(ph)[0] == tk.CHEM
    assert spread.peak_mg_l.max() <= 1.0 + 1e-6
    reached = spread.reached
    assert 100 < reached.sum() < len(spread.node_ids)
    one, six, day = (len(spread.nodes_reached_within(h * 3600)) for h in (1, 6, 24))
    assert one < six < day


def test_bad_inputs_are_named(tree: Path) -> None:
    with pytest.raises(ScenarioError, match="either a concentration"):
        Injection("J2", concentration_mg_l=1.0, mass_rate_mg_s=1.0)
    with pytest.raises(ScenarioError, match="positive"):
        Injection("J2", concentration_mg_l=-1.0)
    with EpanetEngine.open(tree) as engine:
        with pytest.raises(UnknownElementError, match="NOPE"):
            simulate_spread(engine, Injection("NOPE", concentration_mg_l=1.0))
        with pytest.raises(ConfigError, match="horizon"):
            simulate_spread(engine, Injection("J2", concentration_mg_l=1.0), horizon_s=0)
