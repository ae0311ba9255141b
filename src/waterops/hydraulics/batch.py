"""Scenario batches: many what-ifs on one network, reusing one opened engine per worker.

:func:`run_batch` runs a list of :class:`~waterops.hydraulics.scenarios.Scenario` on a base
network and returns, per scenario, what a ``reduce`` function makes of its results (a few
numbers, not the full time series: sending DataFrames between processes would cost more than
the simulation). Three runners give identical results:

- in this process (``workers=1``): one engine opened once;
- worker processes (``workers=N``): each worker opens the engine once, in the pool's
  initializer, and runs chunks of scenarios;
- a Dask cluster (``dask_address="tcp://…"``, e.g. from ``WATEROPS_DASK_ADDRESS``): each
  Dask worker opens the engine on its first chunk and keeps it for the next ones.

Workers receive the network as .inp text, not as a path, so that Dask workers on other
machines need no shared file system; they write it into a temporary directory of their own.

A reduce that only needs a few node tables can say so with a ``node_tables`` attribute
(e.g. ``("pressure", "demand")``): it then gets a :class:`ReportArrays` — numpy arrays read
straight from the toolkit at report times, the same values ``Engine.run`` would put in its
DataFrames — instead of :class:`~waterops.hydraulics.results.SimulationResults`. Building
DataFrames, warnings and type tables costs about half a Net3 simulation; a criticality batch
needs none of it. Such batches take ``options.duration_s`` only: give the demand model as a
``setup`` change (:class:`~waterops.hydraulics.scenarios.PressureDrivenDemand`).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import math
import multiprocessing
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import epanet.toolkit as tk
import numpy as np
import numpy.typing as npt

from waterops.errors import ScenarioError, SimulationError, WaterOpsError
from waterops.hydraulics.scenarios import Change, ProjectUnits, Scenario, apply_changes

if TYPE_CHECKING:
    from waterops.hydraulics.epanet import DemandModel, EpanetEngine
    from waterops.hydraulics.quality import QualitySpec
    from waterops.hydraulics.results import LowestPressure, SimulationResults
    from waterops.model.network import Network

R = TypeVar("R")
Reduce = Callable[[Scenario, Any], R]
"""Turns one scenario's results (SimulationResults, or ReportArrays for a reduce with
``node_tables``) into the summary a batch keeps; must be picklable."""
BatchProgress = Callable[[int, int], None]
"""Called with (scenarios done, scenarios in the batch)."""

DASK_CONNECT_TIMEOUT_S = 10.0
"""How long to try reaching a Dask scheduler before giving up [s]."""
CHUNKS_PER_WORKER = 4
"""Chunks per worker: enough to even out slow scenarios, few enough to keep overhead low."""


@dataclass(frozen=True)
class RunOptions:
    """Options of every run of a batch (see ``Engine.run``).

    Attributes
    ----------
    duration_s : simulated time [s]; ``None`` = the network file's duration
    hydraulic_step_s : hydraulic time step [s]; ``None`` = the file's
    quality : water-quality analysis, or ``None`` for hydraulics only
    demand_model : ``"DDA"``, ``"PDA"``, a ``PressureDriven`` or ``None`` (as the project is)
    """

    duration_s: int | None = None
    hydraulic_step_s: int | None = None
    quality: QualitySpec | None = None
    demand_model: DemandModel = None


@dataclass(frozen=True)
class ScenarioFailure:
    """A scenario whose simulation failed (kept in place of its summary with ``on_error="record"``).

    Attributes
    ----------
    name : the scenario's name
    error : the error's class name (``"SimulationError"`` …)
    message : the error's message
    """

    name: str
    error: str
    message: str


@dataclass(frozen=True)
class _Job(Generic[R]):
    """What a worker needs to open the base network and run scenarios on it."""

    inp_text: str
    setup: tuple[Change, ...]
    options: RunOptions
    reduce: Reduce[R]
    on_error: str
    key: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.inp_text.encode())
        digest.update(repr(self.setup).encode())
        object.__setattr__(self, "key", digest.hexdigest())


# ------------------------------------------------------------ one engine per worker process

MAX_ENGINES_PER_WORKER = 4
"""Networks a worker keeps open: a long-lived Dask worker serves many batches."""
_ENGINES: dict[str, EpanetEngine] = {}  # oldest first
_ENGINE_DIRS: dict[str, Path] = {}
_ENGINE_LOCK = threading.Lock()
"""A Dask worker may run several tasks in threads; one EPANET project serves one at a time."""


def _engine_for(inp_text: str, key: str, setup: tuple[Change, ...]) -> EpanetEngine:
    """The engine of this process for a network, opened (and set up) on first use."""
    engine = _ENGINES.get(key)
    if engine is None:
        from waterops.hydraulics.epanet import EpanetEngine

        if not _ENGINE_DIRS:
            atexit.register(_close_engines)
        while len(_ENGINES) >= MAX_ENGINES_PER_WORKER:
            _close_engine(next(iter(_ENGINES)))
        folder = Path(tempfile.mkdtemp(prefix="waterops-batch-"))
        _ENGINE_DIRS[key] = folder
        path = folder / "network.inp"
        path.write_text(inp_text)
        engine = EpanetEngine.open(path)
        _ENGINES[key] = engine
        apply_changes(engine, setup)  # kept for the life of the engine
    return engine


def _close_engine(key: str) -> None:
    engine = _ENGINES.pop(key, None)
    if engine is not None:
        engine.close()
    folder = _ENGINE_DIRS.pop(key, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _close_engines() -> None:
    for key in list(_ENGINE_DIRS):
        _close_engine(key)


def _open_worker(job: _Job[Any]) -> None:
    """Process-pool initializer: open the engine before the first chunk arrives."""
    _engine_for(job.inp_text, job.key, job.setup)


def _run_chunk(job: _Job[R], scenarios: Sequence[Scenario]) -> list[R | ScenarioFailure]:
    """Run scenarios one after another on this process's engine; return their summaries."""
    with _ENGINE_LOCK:
        engine = _engine_for(job.inp_text, job.key, job.setup)
        out: list[R | ScenarioFailure] = []
        for scenario in scenarios:
            result: R | ScenarioFailure = _run_one(engine, job, scenario)
            out.append(result)
        return out


def _run_one(engine: EpanetEngine, job: _Job[R], scenario: Scenario) -> R | ScenarioFailure:
    opts = job.options
    tables: tuple[str, ...] | None = getattr(job.reduce, "node_tables", None)
    undo = scenario.apply_to(engine)
    try:
        results: Any
        if tables is not None:
            results = report_arrays(engine, tables, duration_s=opts.duration_s)
        else:
            results = engine.run(duration_s=opts.duration_s,
                                 hydraulic_step_s=opts.hydraulic_step_s,
                                 quality=opts.quality, demand_model=opts.demand_model)
    except WaterOpsError as exc:
        if job.on_error == "raise":
            # re-raised as a plain ScenarioError: typed errors with several arguments do not
            # survive pickling between processes, and the message says what failed
            raise ScenarioError(f"scenario {scenario.name!r}: {exc}") from None
        return ScenarioFailure(scenario.name, type(exc).__name__, str(exc))
    finally:
        undo()
    return job.reduce(scenario, results)


# ------------------------------------------------------------ lean runs for array reduces

_NODE_PROPS = {
    "pressure": tk.PRESSURE,
    "head": tk.HEAD,
    "demand": tk.DEMAND,  # delivered, with emitter outflow, as EpanetEngine.run gives it
    "full_demand": tk.FULLDEMAND,  # consumer demand asked for (pattern x multiplier)
    "demand_deficit": tk.DEMANDDEFICIT,  # consumer demand not delivered (pressure-driven)
}
_FLOW_TABLES = ("demand", "full_demand", "demand_deficit")
_ERROR_RE = re.compile(r"Error (\d+):\s*(.*)")


@dataclass(frozen=True)
class ReportArrays:
    """Node values at report times, SI, as numpy arrays (report time x node, engine order).

    Attributes
    ----------
    time_s : report times since the start [s]
    node_ids : node ids, in the columns' order
    node : ``"pressure"`` [m], ``"head"`` [m], ``"demand"`` [m³/s, delivered, with emitter
        outflow], ``"full_demand"`` [m³/s, consumer demand asked for], ``"demand_deficit"``
        [m³/s, consumer demand not delivered under pressure-driven demand], as asked
    """

    time_s: npt.NDArray[np.int64]
    node_ids: list[str]
    node: dict[str, npt.NDArray[np.float64]]


def report_arrays(engine: EpanetEngine, tables: Sequence[str], *,
                  duration_s: int | None = None) -> ReportArrays:
    """Simulate the project as it is and read ``tables`` at report times into numpy.

    The same solver calls and report times as ``EpanetEngine.run``, so the same values;
    pressure is read with EPANET's pressure unit switched to metres, like the engine does.

    Raises
    ------
    ScenarioError
        for a table name this function does not read.
    SimulationError
        when EPANET cannot solve the system.
    """
    if duration_s is not None and duration_s < 0:
        raise ScenarioError(f"the duration must not be negative, got {duration_s} s")
    unknown = [t for t in tables if t not in _NODE_PROPS]
    if unknown:
        raise ScenarioError(f"cannot read node tables {unknown}; known: {', '.join(_NODE_PROPS)}")
    ph = engine.handle
    units = ProjectUnits.of(ph)
    factors = {t: units.flow_m3s for t in _FLOW_TABLES} | {"pressure": 1.0,
                                                           "head": units.length_m}
    n = int(tk.getcount(ph, tk.NODECOUNT))
    buffer = tk.doubleArray(max(n, 1))
    view = np.ctypeslib.as_array((ctypes.c_double * max(n, 1)).from_address(
        int(buffer.cast())))[:n]
    with ExitStack() as restore:
        restore.callback(tk.setoption, ph, tk.PRESS_UNITS, tk.getoption(ph, tk.PRESS_UNITS))
        tk.setoption(ph, tk.PRESS_UNITS, tk.METERS)
        if duration_s is not None:
            restore.callback(tk.settimeparam, ph, tk.DURATION, tk.gettimeparam(ph, tk.DURATION))
            tk.settimeparam(ph, tk.DURATION, int(duration_s))
        duration = int(tk.gettimeparam(ph, tk.DURATION))
        start = int(tk.gettimeparam(ph, tk.REPORTSTART))
        step = max(int(tk.gettimeparam(ph, tk.REPORTSTEP)), 1)
        rows = (duration - start) // step + 1 if duration >= start else 0
        out = {t: np.empty((rows, n)) for t in tables}
        reads = [(_NODE_PROPS[t], out[t]) for t in tables]
        times: list[int] = []
        tk.clearreport(ph)  # the report file would grow by every run's warnings
        # owa-epanet also raises EPANET's warnings (negative pressures …) as Python warnings;
        # a batch judges results by its reduce, not by thousands of repeated warnings
        restore.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", Warning)
        _solver(tk.openH, engine, 0)
        restore.callback(tk.closeH, ph)
        _solver(tk.initH, engine, 0, tk.NOSAVE)
        while True:
            t = _solver(tk.runH, engine, times[-1] if times else 0)
            if t >= start and (t - start) % step == 0 and len(times) < rows:
                for prop, table in reads:
                    tk.getnodevalues(ph, prop, buffer)
                    table[len(times)] = view
                times.append(t)
            if _solver(tk.nextH, engine, t) <= 0:
                break
    used = len(times)
    node = {t: out[t][:used] * factors[t] if factors[t] != 1.0 else out[t][:used]
            for t in tables}
    ids = engine.node_ids
    if len(ids) != n:  # a change added or removed nodes since the engine last looked
        ids = [tk.getnodeid(ph, i) for i in range(1, n + 1)]
    return ReportArrays(np.asarray(times, dtype=np.int64), ids, node)


def _solver(fn: Callable[..., Any], engine: EpanetEngine, time_s: int, *args: int) -> int:
    """Call a toolkit solver step; a toolkit error becomes a SimulationError."""
    try:
        return int(fn(engine.handle, *args) or 0)
    except Exception as exc:
        match = _ERROR_RE.search(str(exc))
        code = int(match.group(1)) if match else None
        reason = match.group(2) if match else str(exc)
        raise SimulationError(code, f"{reason} (hydraulics at t = {time_s} s)",
                              engine.path) from None


def lowest_pressure(scenario: Scenario, results: SimulationResults) -> LowestPressure | None:
    """Reduce: the lowest junction pressure of a run, where and when (see
    :meth:`SimulationResults.lowest_pressure`)."""
    return results.lowest_pressure()


# ------------------------------------------------------------ the batch


def run_batch(
    base: Network | Path | str,
    scenarios: Sequence[Scenario],
    *,
    reduce: Reduce[R],
    workers: int = 1,
    dask_address: str | None = None,
    setup: Sequence[Change] = (),
    options: RunOptions | None = None,
    on_error: str = "raise",
    chunk_size: int | None = None,
    progress: BatchProgress | None = None,
) -> list[R | ScenarioFailure]:
    """Run ``scenarios`` on ``base`` and return ``reduce(scenario, results)`` for each, in order.

    Parameters
    ----------
    base : the network (a Network, or the path of an .inp file); every scenario must have
        this base
    scenarios : the what-ifs; their changes are applied to the opened base and undone
    reduce : module-level function (or picklable object) turning results into a summary
    workers : 1 = in this process; N > 1 = N worker processes; with ``dask_address`` the
        number of chunks is sized for N workers
    dask_address : address of a Dask scheduler (``tcp://host:8786``); the CLI takes it from
        ``WATEROPS_DASK_ADDRESS``. ``None`` = local processes.
    setup : changes applied once per worker before any scenario and kept (e.g. pressure-
        driven demand for every run)
    options : run options shared by every scenario
    on_error : ``"raise"`` stops at the first scenario that fails; ``"record"`` puts a
        :class:`ScenarioFailure` in its place
    chunk_size : scenarios per task (default: spread over ``4 x workers`` tasks)
    progress : called with (done, total) as scenarios finish

    Worker processes start from a fork server (safe when this process has threads), which
    imports the main module: a script calling ``run_batch(…, workers=2)`` needs the usual
    ``if __name__ == "__main__":`` guard, as with multiprocessing on macOS and Windows.

    Raises
    ------
    ScenarioError
        if a scenario has another base, a change names an unknown element, or (with
        ``on_error="raise"``) a simulation fails.
    """
    if workers < 1:
        raise ScenarioError(f"workers must be 1 or more, got {workers}")
    if on_error not in ("raise", "record"):
        raise ScenarioError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    _check_same_base(base, scenarios)
    options = options or RunOptions()
    if getattr(reduce, "node_tables", None) is not None and options != RunOptions(
        duration_s=options.duration_s
    ):
        raise ScenarioError(
            "a reduce with node_tables runs hydraulics only and takes only duration_s from "
            "the run options; give the demand model as a setup change (PressureDrivenDemand)"
        )
    job: _Job[R] = _Job(_inp_text(base), tuple(setup), options, reduce, on_error)
    total = len(scenarios)
    if total == 0:
        return []
    size = chunk_size or max(1, math.ceil(total / (workers * CHUNKS_PER_WORKER)))
    chunks = [list(scenarios[i:i + size]) for i in range(0, total, size)]
    if dask_address is not None:
        return _on_dask(dask_address, job, chunks, total, progress)
    if workers == 1:
        return _in_process(job, scenarios, progress)
    return _in_pool(job, chunks, workers, total, progress)


def _check_same_base(base: Network | Path | str, scenarios: Sequence[Scenario]) -> None:
    for s in scenarios:
        if isinstance(base, str | Path) and isinstance(s.base, str | Path):
            same = Path(s.base).resolve() == Path(base).resolve()
        else:
            same = s.base is base
        if not same:
            raise ScenarioError(f"scenario {s.name!r} starts from another network than the batch")


def _inp_text(base: Network | Path | str) -> str:
    """The .inp text of the base network (a Network is written out by io.inp)."""
    if isinstance(base, str | Path):
        path = Path(base)
        try:
            return path.read_text()
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read the network file ({exc.strerror})") from None
    from waterops.io.inp import write_inp

    with tempfile.TemporaryDirectory(prefix="waterops-batch-") as folder:
        path = Path(folder) / "network.inp"
        write_inp(base, path)
        return path.read_text()


def _in_process(job: _Job[R], scenarios: Sequence[Scenario],
                progress: BatchProgress | None) -> list[R | ScenarioFailure]:
    from waterops.hydraulics.epanet import EpanetEngine

    with tempfile.TemporaryDirectory(prefix="waterops-batch-") as folder:
        path = Path(folder) / "network.inp"
        path.write_text(job.inp_text)
        with EpanetEngine.open(path) as engine:
            undo_setup = apply_changes(engine, job.setup)
            out: list[R | ScenarioFailure] = []
            for done, scenario in enumerate(scenarios, start=1):
                result: R | ScenarioFailure = _run_one(engine, job, scenario)
                out.append(result)
                if progress is not None:
                    progress(done, len(scenarios))
            undo_setup()
    return out


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork-server processes: safe when the parent has threads (progress bars, Dask), and
    faster to start than spawn because the server has imported waterops already."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["waterops.hydraulics.batch", "waterops.hydraulics.epanet"])
    return ctx


def _in_pool(job: _Job[R], chunks: list[list[Scenario]], workers: int, total: int,
             progress: BatchProgress | None) -> list[R | ScenarioFailure]:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                               initializer=_open_worker, initargs=(job,))
    try:
        futures = {pool.submit(_run_chunk, job, chunk): n for n, chunk in enumerate(chunks)}
        return _gather(as_completed(futures), futures, chunks, total, progress)
    finally:
        # the results are in: let the workers close their engines and exit on their own
        pool.shutdown(wait=False, cancel_futures=True)


def _gather(finished: Iterator[Any], index_of: dict[Any, int], chunks: list[list[Scenario]],
            total: int, progress: BatchProgress | None) -> list[R | ScenarioFailure]:
    """Collect chunk results in scenario order, reporting progress as chunks finish.

    When chunks fail (``on_error="raise"``), the error raised is that of the earliest
    failing chunk in scenario order, whichever worker finished first: the batch waits
    only for the chunks before it, so the same input always reports the same scenario.
    """
    by_chunk: dict[int, list[R | ScenarioFailure]] = {}
    failed: dict[int, BaseException] = {}
    done = 0
    for future in finished:
        n = index_of[future]
        try:
            by_chunk[n] = future.result()
        except Exception as exc:  # re-raised below, for the earliest failing chunk
            failed[n] = exc
        else:
            done += len(chunks[n])
            if progress is not None:
                progress(done, total)
        if failed:
            first = min(failed)
            if all(m in by_chunk or m in failed for m in range(first)):
                raise failed[first]
    return [r for n in range(len(chunks)) for r in by_chunk[n]]


def _on_dask(address: str, job: _Job[R], chunks: list[list[Scenario]], total: int,
             progress: BatchProgress | None) -> list[R | ScenarioFailure]:
    import distributed as _distributed

    distributed: Any = _distributed  # untyped library: keep mypy strict elsewhere
    try:
        client = distributed.Client(address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s",
                                    set_as_default=False)
    except OSError as exc:
        raise ScenarioError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        job_future = client.scatter(job, broadcast=True)
        futures: list[Any] = [
            client.submit(_run_chunk, job_future, chunk, pure=False) for chunk in chunks
        ]
        index_of = {f: n for n, f in enumerate(futures)}
        try:
            return _gather(iter(distributed.as_completed(futures, loop=client.loop)), index_of,
                           chunks, total, progress)
        finally:
            client.cancel(futures)
