"""Scenario batches: the same summaries in process, on worker processes and on Dask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import distributed
import numpy as np
import pytest

from waterops.errors import ScenarioError
from waterops.hydraulics import batch
from waterops.hydraulics.batch import (
    RunOptions,
    ScenarioFailure,
    lowest_pressure,
    report_arrays,
    run_batch,
)
from waterops.hydraulics.criticality import build_reduce
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.scenarios import (
    DemandMultiplier,
    NodeLeak,
    PressureDrivenDemand,
    PumpOff,
    Scenario,
    SetLinkStatus,
    apply_changes,
)
from waterops.io.inp import read_inp

NET1_PIPES = ("10", "11", "12", "21", "22", "31", "110", "111", "112", "113", "121", "122")


def net1_scenarios(path: Path) -> list[Scenario]:
    closures = [Scenario(path, (SetLinkStatus(p, open=False),), name=p) for p in NET1_PIPES]
    return [
        *closures,
        Scenario(path, (PumpOff("9"),)),
        Scenario(path, (DemandMultiplier(1.3), NodeLeak("22", area_m2=2e-3))),
    ]


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """A local Dask cluster of two single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_every_runner_gives_the_same_summaries(net1_path: Path, dask_address: str) -> None:
    scenarios = net1_scenarios(net1_path)
    with EpanetEngine.open(net1_path) as engine:
        criticality_reduce = build_reduce(engine, threshold_m=14.0)
        fresh = []
        for s in scenarios:  # one fresh engine per scenario: the reference
            with EpanetEngine.open(net1_path) as own:
                undo = s.apply_to(own)
                fresh.append(own.run().lowest_pressure())
                undo()
    runs = {
        "in process": {"workers": 1},
        "2 processes": {"workers": 2, "chunk_size": 3},
        "dask": {"workers": 2, "dask_address": dask_address},
    }
    by_runner = {}
    for runner, kwargs in runs.items():
        lows = run_batch(net1_path, scenarios, reduce=lowest_pressure, **kwargs)  # type: ignore[arg-type]
        crit = run_batch(net1_path, scenarios, reduce=criticality_reduce,
                         setup=(PressureDrivenDemand(0.0, 14.0),), **kwargs)  # type: ignore[arg-type]
        by_runner[runner] = (lows, crit)
    assert by_runner["in process"][0] == fresh
    assert by_runner["2 processes"] == by_runner["in process"]
    assert by_runner["dask"] == by_runner["in process"]
    # the scenarios differ from each other, so equality above means something
    assert len({c.worst_pressure_m for c in by_runner["in process"][1]}) > 5  # type: ignore[union-attr]


def test_report_arrays_equal_the_engine_results(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        undo = apply_changes(engine, (SetLinkStatus("110", open=False), NodeLeak("22", 1e-3)))
        full = engine.run(duration_s=12 * 3600)
        arrays = report_arrays(engine, ("pressure", "head", "demand"), duration_s=12 * 3600)
        undo()
    assert arrays.node_ids == list(full.node["pressure"].columns)
    np.testing.assert_array_equal(arrays.time_s, full.time_s.to_numpy())
    for table in ("pressure", "head", "demand"):
        np.testing.assert_array_equal(arrays.node[table], full.node[table].to_numpy())


def test_report_arrays_refuses_tables_it_cannot_read(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine, pytest.raises(ScenarioError, match="quality"):
        report_arrays(engine, ("quality",))


def test_progress_reaches_the_total(net1_path: Path) -> None:
    scenarios = net1_scenarios(net1_path)
    for workers in (1, 2):
        seen: list[tuple[int, int]] = []
        run_batch(net1_path, scenarios, reduce=lowest_pressure, workers=workers,
                  chunk_size=4, progress=lambda done, total, seen=seen: seen.append((done, total)))
        assert seen[-1] == (len(scenarios), len(scenarios))
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_unknown_element_in_a_worker_is_reported(net1_path: Path) -> None:
    scenarios = [*net1_scenarios(net1_path), Scenario(net1_path, (PumpOff("P-404"),))]
    with pytest.raises(ScenarioError, match="P-404"):
        run_batch(net1_path, scenarios, reduce=lowest_pressure, workers=2)


def test_a_scenario_on_another_network_is_refused(net1_path: Path, net2_path: Path) -> None:
    with pytest.raises(ScenarioError, match="another network"):
        run_batch(net1_path, [Scenario(net2_path, ())], reduce=lowest_pressure)


def test_failed_runs_are_recorded_or_raised(net1_path: Path) -> None:
    scenarios = net1_scenarios(net1_path)[:2]
    bad = RunOptions(hydraulic_step_s=0)  # the engine refuses a zero time step
    recorded = run_batch(net1_path, scenarios, reduce=lowest_pressure, options=bad,
                         on_error="record")
    assert all(isinstance(r, ScenarioFailure) for r in recorded)
    assert recorded[0].name == "10" and "hydraulic step" in recorded[0].message  # type: ignore[union-attr]
    with pytest.raises(ScenarioError, match=r"scenario '10'.*hydraulic step"):
        run_batch(net1_path, scenarios, reduce=lowest_pressure, options=bad, workers=2)


def test_unreachable_dask_scheduler_is_a_clear_error(
    net1_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT_S", 1.0)  # nothing listens on port 9
    with pytest.raises(ScenarioError, match=r"Dask scheduler at tcp://127\.0\.0\.1:9"):
        run_batch(net1_path, net1_scenarios(net1_path), reduce=lowest_pressure,
                  dask_address="tcp://127.0.0.1:9")


def test_a_network_model_as_base(net1_path: Path) -> None:
    """A Network (not a file) is written out once and runs like the file it came from."""
    network = read_inp(net1_path)
    from_model = run_batch(network, [Scenario(network, (PumpOff("9"),))], reduce=lowest_pressure,
                           workers=2)
    from_file = run_batch(net1_path, [Scenario(net1_path, (PumpOff("9"),))],
                          reduce=lowest_pressure)
    assert from_model[0].pressure_m == pytest.approx(from_file[0].pressure_m, rel=1e-9)  # type: ignore[union-attr]
    assert from_model[0].node_id == from_file[0].node_id  # type: ignore[union-attr]


def test_array_reduce_refuses_options_it_would_ignore(net1_path: Path) -> None:
    with EpanetEngine.open(net1_path) as engine:
        reduce = build_reduce(engine, threshold_m=14.0)
    with pytest.raises(ScenarioError, match="setup change"):
        run_batch(net1_path, net1_scenarios(net1_path), reduce=reduce,
                  options=RunOptions(demand_model="PDA"))


def test_a_worker_keeps_a_few_networks_open(
    net1_path: Path, net2_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived worker (Dask) closes the oldest network when it has too many open."""
    monkeypatch.setattr(batch, "MAX_ENGINES_PER_WORKER", 1)
    try:
        for path in (net1_path, net2_path, net1_path):
            run = batch._Job(path.read_text(), (), RunOptions(), lowest_pressure, "raise")
            [low] = batch._run_chunk(run, [Scenario(path, ())])
            assert low is not None
            assert list(batch._ENGINES) == [run.key] and len(batch._ENGINE_DIRS) == 1
        folder = batch._ENGINE_DIRS[run.key]
        assert folder.is_dir()
    finally:
        batch._close_engines()
    assert not batch._ENGINES and not folder.exists()
