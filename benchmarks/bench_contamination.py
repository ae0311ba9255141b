"""Contamination: forward spread against a raw toolkit quality run, and the source-tracing
ensemble on one and two local Dask workers.

Run: ``.venv/bin/python -m benchmarks.bench_contamination [--repeat 3] [--members 1000]``

1. **forward** (demo network, 3,473 nodes, 24 h after an injection at 01:00): *raw* = one
   owa-epanet project opened once, the chemical switched on, the injection node given a
   SETPOINT source that is switched on at 01:00, ``solveH`` then ``openQ/initQ`` and a
   ``runQ/stepQ`` loop reading node quality every 5 min into numpy — the least a forward run
   must do. *simulate_spread* = :func:`waterops.emergency.contamination.simulate_spread` on an
   opened :class:`EpanetEngine` (the file's sources zeroed, reactions set, everything put
   back afterwards). Target (issue 9): spread / raw <= 1.5.
2. **tracing ensemble** (Net3, 97 nodes: "a small region"): readings of 8 quality stations
   hourly for 8 h after an injection simulated by EPANET; ``--members`` demand scenarios
   traced by :func:`waterops.emergency.tracing.trace_sources` on a local Dask cluster of one,
   then two, single-threaded worker processes (cluster start-up not timed; the engines are
   opened on the first chunk of each worker, as in a long-running cluster the first time).
   Target: speed-up 1 -> 2 workers close to 2.

The best of ``--repeat`` interleaved runs is kept, to damp the noise of a shared machine.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import epanet.toolkit as tk
import numpy as np

from waterops.data import demo_network_path
from waterops.emergency.contamination import Injection, simulate_spread
from waterops.emergency.tracing import SensorReading, trace_sources
from waterops.hydraulics.epanet import EpanetEngine
from waterops.io.inp import read_inp

NET3 = Path(__file__).resolve().parent.parent / "tests" / "networks" / "Net3.inp"
NODE = "JUNCTION-356"
START_S = 3600
HORIZON_S = 86_400
STEP_S = 300


def raw_forward(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare toolkit forward run."""
    folder = tempfile.mkdtemp(prefix="bench-raw-")
    ph = tk.createproject()
    tk.open(ph, str(path), os.path.join(folder, "r.rpt"), "")
    tk.setstatusreport(ph, tk.NO_REPORT)
    tk.setqualtype(ph, tk.CHEM, "contaminant", "mg/L", "")
    tk.settimeparam(ph, tk.DURATION, START_S + HORIZON_S)
    tk.setnodevalue(ph, tk.getnodeindex(ph, "WTP1-CLEARWELL"), tk.SOURCEQUAL, 0.0)
    node = tk.getnodeindex(ph, NODE)
    tk.setnodevalue(ph, node, tk.SOURCETYPE, tk.SETPOINT)
    n = tk.getcount(ph, tk.NODECOUNT)
    buf = tk.doubleArray(n)
    view = np.ctypeslib.as_array((ctypes.c_double * n).from_address(int(buf.cast())))
    out = np.empty(((START_S + HORIZON_S) // STEP_S + 1, n))
    start, start_cpu = time.perf_counter(), time.process_time()
    warnings.simplefilter("ignore", Warning)  # as the engine: EPANET's warnings echoed
    tk.solveH(ph)
    tk.openQ(ph)
    tk.initQ(ph, tk.NOSAVE)
    row = 0
    while True:
        t = tk.runQ(ph)
        tk.setnodevalue(ph, node, tk.SOURCEQUAL, 10.0 if t >= START_S else 0.0)
        if t % STEP_S == 0 and row < len(out):
            tk.getnodevalues(ph, tk.QUALITY, buf)
            out[row] = view
            row += 1
        if tk.stepQ(ph) <= 0:
            break
    tk.closeQ(ph)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    tk.close(ph)
    tk.deleteproject(ph)
    return wall, cpu


def spread_forward(engine: EpanetEngine) -> tuple[float, float]:
    """(wall, CPU) seconds of :func:`simulate_spread` on an opened engine."""
    start, start_cpu = time.perf_counter(), time.process_time()
    simulate_spread(engine, Injection(NODE, start_s=START_S, concentration_mg_l=10.0),
                    horizon_s=HORIZON_S, sample_step_s=STEP_S)
    return time.perf_counter() - start, time.process_time() - start_cpu


def net3_readings() -> list[SensorReading]:
    with EpanetEngine.open(NET3) as engine:
        spread = simulate_spread(engine, Injection("123", start_s=3600, concentration_mg_l=5.0),
                                 horizon_s=8 * 3600, sample_step_s=3600)
    sensors = ["10", "20", "35", "40", "50", "60", "101", "117"]
    col = {n: i for i, n in enumerate(spread.node_ids)}
    return [SensorReading(s, int(t), float(spread.concentration_mg_l[r, col[s]]))
            for r, t in enumerate(spread.time_s) for s in sensors]


def trace_on(workers: int, members: int, readings: list[SensorReading]) -> tuple[float, str]:
    import distributed as _distributed

    distributed: Any = _distributed  # untyped library
    net = read_inp(NET3)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        start = time.perf_counter()
        ranked = trace_sources(NET3, net, readings, threshold_mg_l=0.05, members=members,
                               noise=0.1, workers=workers, dask_address=cluster.scheduler_address)
        wall = time.perf_counter() - start
    top = ", ".join(f"{c.node_id} ({c.consistency:.2f})" for c in ranked[:3])
    return wall, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--skip-tracing", action="store_true")
    args = parser.parse_args()
    path = demo_network_path()
    raw, mine = [], []
    with EpanetEngine.open(path) as engine:
        for _ in range(args.repeat):
            raw.append(raw_forward(path))
            mine.append(spread_forward(engine))
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}, "
          f"{platform.python_version()}")
    (raw_wall, raw_cpu), (my_wall, my_cpu) = (
        tuple(min(v) for v in zip(*runs, strict=True)) for runs in (raw, mine))
    print(f"forward 24 h, demo network: raw {raw_wall:.3f} s wall / {raw_cpu:.3f} s CPU, "
          f"simulate_spread {my_wall:.3f} / {my_cpu:.3f} s, ratio {my_wall / raw_wall:.2f} "
          f"wall, {my_cpu / raw_cpu:.2f} CPU (target <= 1.5)")
    if args.skip_tracing:
        return
    readings = net3_readings()
    one, two = [], []
    top = ""
    for _ in range(args.repeat):
        wall, top = trace_on(1, args.members, readings)
        one.append(wall)
        two.append(trace_on(2, args.members, readings)[0])
    print(f"tracing {args.members} members, Net3: 1 worker {min(one):.1f} s, 2 workers "
          f"{min(two):.1f} s, speed-up {min(one) / min(two):.2f} (target close to 2); "
          f"top: {top} (truth 123)")


if __name__ == "__main__":
    main()
