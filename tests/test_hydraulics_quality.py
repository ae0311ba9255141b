"""Water quality: specs, CLI spelling, and values equal to EPANET's own (in waterops units)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import epanet.toolkit as tk
import numpy as np
import pytest

from waterops.errors import ConfigError, UnknownElementError
from waterops.hydraulics import Chemical, EpanetEngine, Trace, WaterAge, parse_quality, simulate


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("age", WaterAge()),
        (" AGE ", WaterAge()),
        ("chlorine:-0.5", Chemical("chlorine", -0.5)),
        ("monochloramine: -0.1", Chemical("monochloramine", -0.1)),
        ("trace:Lake", Trace("Lake")),
        ("trace: 10", Trace("10")),
    ],
)
def test_parse_quality(text: str, spec: object) -> None:
    assert parse_quality(text) == spec


@pytest.mark.parametrize(
    "text", ["", "chlorine", "chlorine:", "chlorine:x", "trace:", "age:3", ":1", "chlorine:nan"]
)
def test_parse_quality_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_quality(text)


def test_chemical_units_are_checked() -> None:
    with pytest.raises(ConfigError, match="mg/L or ug/L"):
        Chemical("chlorine", -0.5, units="ppm")


def raw_quality(path: Path, qual_type: int, trace: str = "") -> tuple[list[int], np.ndarray]:
    """EPANET's node quality at report times, from a plain concurrent toolkit loop (raw units)."""
    with tempfile.TemporaryDirectory() as tmp:
        ph = tk.createproject()
        tk.open(ph, str(path), str(Path(tmp) / "raw.rpt"), "")
        tk.setqualtype(ph, qual_type, "", "", trace)
        n = tk.getcount(ph, tk.NODECOUNT)
        step = tk.gettimeparam(ph, tk.REPORTSTEP)
        times, values = [], []
        tk.openH(ph)
        tk.initH(ph, tk.NOSAVE)
        tk.openQ(ph)
        tk.initQ(ph, tk.NOSAVE)
        while True:
            t = tk.runH(ph)
            tk.runQ(ph)
            if t % step == 0:
                times.append(t)
                values.append([tk.getnodevalue(ph, i, tk.QUALITY) for i in range(1, n + 1)])
            tstep = tk.nextH(ph)
            tk.nextQ(ph)
            if tstep <= 0:
                break
        tk.closeQ(ph)
        tk.closeH(ph)
        tk.close(ph)
        tk.deleteproject(ph)
    return times, np.array(values)


def test_water_age_is_epanets_in_seconds(net1_path: Path) -> None:
    times, hours = raw_quality(net1_path, tk.AGE)
    age = simulate(net1_path, quality=WaterAge()).node["quality"]
    assert list(age.index) == times
    np.testing.assert_allclose(age.to_numpy(), hours * 3600.0, rtol=1e-12, atol=1e-9)
    assert age["9"].eq(3600.0).all()  # the reservoir keeps its initial "quality": 1 h
    assert age["10"].iloc[-1] > 0 and age.to_numpy().max() > 24 * 3600 * 0.5


def test_trace_is_a_fraction(net3_path: Path) -> None:
    _, percent = raw_quality(net3_path, tk.TRACE, "Lake")
    share = simulate(net3_path, quality=Trace("Lake")).node["quality"]
    np.testing.assert_allclose(share.to_numpy(), percent / 100.0, rtol=1e-12, atol=1e-12)
    assert share["Lake"].eq(1.0).all() and share["River"].eq(0.0).all()
    assert (share.to_numpy() >= -1e-9).all() and (share.to_numpy() <= 1 + 1e-9).all()


def test_trace_of_unknown_node(net1_path: Path) -> None:
    with pytest.raises(UnknownElementError, match="nowhere"):
        simulate(net1_path, quality=Trace("nowhere"))


def test_chlorine_decays_with_bulk_and_wall_reactions(net1_path: Path) -> None:
    conservative = simulate(net1_path, quality=Chemical("chlorine", 0.0)).node["quality"]
    bulk = simulate(net1_path, quality=Chemical("chlorine", -0.5)).node["quality"]
    with_wall = Chemical("chlorine", -0.5, wall_coeff_per_day=-0.3)
    wall = simulate(net1_path, quality=with_wall).node["quality"]
    late = slice(12 * 3600, None)  # after the initial water has been flushed
    assert (bulk.loc[late] <= conservative.loc[late] + 1e-9).all().all()
    assert (bulk.loc[late, "32"] < conservative.loc[late, "32"] - 0.01).all()
    assert (wall.loc[late, "32"] < bulk.loc[late, "32"] - 0.01).all()


def test_chemical_restores_reaction_coefficients(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        ph = engine.handle
        before = [tk.getlinkvalue(ph, i, tk.KWALL) for i in range(1, 13)]
        tank = engine.node_index("2")
        tank_bulk = tk.getnodevalue(ph, tank, tk.TANK_KBULK)
        engine.run(quality=Chemical("chlorine", -2.0, wall_coeff_per_day=-0.1))
        assert [tk.getlinkvalue(ph, i, tk.KWALL) for i in range(1, 13)] == before
        assert tk.getnodevalue(ph, tank, tk.TANK_KBULK) == tank_bulk


def test_chemical_source_and_units(net1_path: Path) -> None:
    dosed = simulate(
        net1_path,
        quality=Chemical("chlorine", 0.0, source_node="9", source_mg_per_l=2.0),
    ).node["quality"]
    assert dosed.loc[3600:, "9"].eq(2.0).all()  # the source acts from the first step on
    assert abs(dosed.loc[86400, "10"] - 2.0) < 1e-6  # conservative, next to the source
    mg = simulate(net1_path, quality=Chemical("chlorine", -0.5)).node["quality"]
    ug = simulate(net1_path, quality=Chemical("chlorine", -0.5, units="ug/L")).node["quality"]
    np.testing.assert_allclose(ug.to_numpy() * 1e3, mg.to_numpy(), rtol=1e-12)


def test_a_dosed_run_leaves_no_source_behind(net1_path: Path) -> None:
    chlorine = Chemical("chlorine", -0.5)
    with EpanetEngine.open(net1_path) as engine:
        before = engine.run(quality=chlorine).node["quality"]
        for node in ("9", "10"):  # a reservoir and a junction without a source in the file
            engine.run(quality=Chemical("chlorine", -0.5, source_node=node, source_mg_per_l=3.0))
        after = engine.run(quality=chlorine).node["quality"]
    assert before.equals(after)
