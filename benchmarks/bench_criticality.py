"""Criticality batch on Net3: cost per scenario against a raw toolkit loop, and worker speed-up.

Run: ``.venv/bin/python -m benchmarks.bench_criticality [--repeat 3]``

What is compared, all in this process and on the same machine:

1. **raw**: one owa-epanet project opened once; for every pipe: close it, solve the whole
   extended period with pressure-driven demand, read pressure, full demand and demand
   deficit at every report time into numpy, reopen it. The least any criticality run must do.
2. **batch, 1 worker**: :func:`waterops.hydraulics.batch.run_batch` with the criticality
   reduce, in this process (one engine, scenarios applied and undone).
3. **batch, 2 workers**: the same on two worker processes (pool start-up included; the
   fork server is warmed once beforehand, as in a long-running service).

Targets (issue 3): batch/raw cost per scenario <= 1.3; 1 worker / 2 workers time >= 1.6.
The best of ``--repeat`` interleaved runs is kept for each, to damp the noise of a shared
machine.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import epanet.toolkit as tk
import numpy as np

from waterops.hydraulics.batch import run_batch
from waterops.hydraulics.criticality import DEFAULT_THRESHOLD_M, CriticalityReduce, build_reduce
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.scenarios import PressureDrivenDemand, Scenario, SetLinkStatus

NET3 = Path(__file__).resolve().parent.parent / "tests" / "networks" / "Net3.inp"
PSI_PER_FT = 0.4333
FT_M = 0.3048


def raw_loop(path: Path, pipes: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of the raw toolkit criticality loop over ``pipes``."""
    folder = tempfile.mkdtemp(prefix="bench-raw-")
    ph = tk.createproject()
    tk.open(ph, str(path), os.path.join(folder, "r.rpt"), "")
    tk.setstatusreport(ph, tk.NO_REPORT)
    # the same pressure-driven demand as the batch: 0 .. 14 m, given in psi (Net3's units)
    tk.setdemandmodel(ph, tk.PDA, 0.0, DEFAULT_THRESHOLD_M / FT_M * PSI_PER_FT, 0.5)
    n = tk.getcount(ph, tk.NODECOUNT)
    junctions = np.array([tk.getnodetype(ph, i) == tk.JUNCTION for i in range(1, n + 1)])
    buf = tk.doubleArray(n)
    view = np.ctypeslib.as_array((ctypes.c_double * n).from_address(int(buf.cast())))
    report_step = tk.gettimeparam(ph, tk.REPORTSTEP)
    rows = tk.gettimeparam(ph, tk.DURATION) // report_step + 1
    pressure, full, deficit = np.empty((rows, n)), np.empty((rows, n)), np.empty((rows, n))
    start, start_cpu = time.perf_counter(), time.process_time()
    for pipe in pipes:
        i = tk.getlinkindex(ph, pipe)
        before = tk.getlinkvalue(ph, i, tk.INITSTATUS)
        tk.setlinkvalue(ph, i, tk.INITSTATUS, tk.CLOSED)
        tk.openH(ph)
        tk.initH(ph, tk.NOSAVE)
        row = 0
        while True:
            t = tk.runH(ph)
            if t % report_step == 0:
                tk.getnodevalues(ph, tk.PRESSURE, buf)
                pressure[row] = view
                tk.getnodevalues(ph, tk.FULLDEMAND, buf)
                full[row] = view
                tk.getnodevalues(ph, tk.DEMANDDEFICIT, buf)
                deficit[row] = view
                row += 1
            if tk.nextH(ph) <= 0:
                break
        tk.closeH(ph)
        # the least summary any criticality needs, so the raw loop is not idle either
        _ = pressure[:row, junctions].min(), full[:row, junctions].sum(), deficit[:row].sum()
        tk.setlinkvalue(ph, i, tk.INITSTATUS, before)
    elapsed = time.perf_counter() - start, time.process_time() - start_cpu
    tk.close(ph)
    tk.deleteproject(ph)
    return elapsed


def setup(path: Path) -> tuple[list[str], CriticalityReduce, PressureDrivenDemand]:
    """Net3's pipes, the criticality reduce and the PDA set-up (as criticality() builds them)."""
    with EpanetEngine.open(path) as engine:
        ph = engine.handle
        pipes = [link for i, link in enumerate(engine.link_ids, start=1)
                 if tk.getlinktype(ph, i) in (tk.PIPE, tk.CVPIPE)]
        reduce = build_reduce(engine, DEFAULT_THRESHOLD_M)
    return pipes, reduce, PressureDrivenDemand(0.0, DEFAULT_THRESHOLD_M)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU of this process) seconds of ``fn()``."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    pipes, reduce, pda = setup(NET3)
    scenarios = [Scenario(NET3, (SetLinkStatus(p, open=False),), name=p) for p in pipes]

    def batch(workers: int) -> tuple[float, float]:
        return timed(lambda: run_batch(NET3, scenarios, reduce=reduce, workers=workers,
                                       setup=(pda,)))

    batch(2)  # warm the fork server (imports waterops once, like a running service)
    # interleaved, so that each runner sees the same mix of quiet and busy moments
    runs = [(raw_loop(NET3, pipes), batch(1), batch(2)) for _ in range(args.repeat)]
    (raw_s, raw_cpu), (one_s, one_cpu), (two_s, _) = (
        (min(w for w, _ in r), min(c for _, c in r)) for r in zip(*runs, strict=True)
    )
    n = len(scenarios)
    print(f"Criticality on Net3: {n} pipes closed in turn, 168 h EPS each, PDA; best of "
          f"{args.repeat}")
    print(f"{'runner':<34} {'wall [s]':>9} {'wall/scen [ms]':>15} {'CPU/scen [ms]':>14}")
    for name, wall, cpu in (("raw toolkit loop, 1 project", raw_s, raw_cpu),
                            ("run_batch, 1 worker (in process)", one_s, one_cpu),
                            ("run_batch, 2 worker processes", two_s, None)):
        cpu_text = f"{1e3 * cpu / n:>14.2f}" if cpu is not None else f"{'-':>14}"
        print(f"{name:<34} {wall:>9.3f} {1e3 * wall / n:>15.2f} {cpu_text}")
    print(f"batch / raw per scenario: wall {one_s / raw_s:.2f}, CPU {one_cpu / raw_cpu:.2f} "
          f"(target <= 1.3); speed-up 1 -> 2 workers: {one_s / two_s:.2f} (target >= 1.6)")
    load = os.getloadavg()[0]
    cpu = platform.processor() or platform.machine()
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, "
          f"load average {load:.2f}; Python {platform.python_version()}")


if __name__ == "__main__":
    main()
