"""The virtual utility's simulator against a raw toolkit step loop, on the demo network.

Run: ``.venv/bin/python -m benchmarks.bench_simulator [--days 1] [--repeat 3] [--write]``

Pinned to one core (``sched_setaffinity``), each method simulates ``--days`` of the demo city
at the simulator's 5-minute step:

1. **raw**: owa-epanet in this process: open the file, ``openH/initH/openQ/initQ`` with the
   file's chlorine, hydraulic and report step 300 s, ``runH/runQ/nextH/nextQ`` to the end,
   reading node pressure, demand and quality and link flow and status with the vector
   getters at every step. The least a simulator of this network must do.
2. **simulator**: :class:`waterops.service.simulator.VirtualUtility` with every sensor of the
   demo layout (about 600), noise, drift, drop-outs, per-DMA and per-node demand noise, the
   second (tracer) project stepped in lock-step, and frames kept in memory.
3. **simulator + store**: the same, publishing every frame into a fresh SQLite telemetry store
   (the demo's default path).

Methods are interleaved and the best time of each kept. Figures: simulated time per wall time
("x real time", goal >= 100 on one core) and the time relative to the raw loop.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import epanet.toolkit as tk

from waterops.data import demo_network_path
from waterops.service.simulator import (
    FrameRecorder,
    SimulatorConfig,
    StorePublisher,
    VirtualUtility,
)
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore

RESULTS = Path(__file__).resolve().parent / "RESULTS_simulator.md"
STEP_S = 300
GOAL_X_REAL_TIME = 100.0


def raw_loop(duration_s: int) -> None:
    """The raw toolkit loop (see the module docstring)."""
    path = demo_network_path()
    with tempfile.TemporaryDirectory() as tmp:
        ph = tk.createproject()
        tk.open(ph, str(path), str(Path(tmp) / "r.rpt"), "")
        tk.setstatusreport(ph, tk.NO_REPORT)
        tk.settimeparam(ph, tk.DURATION, duration_s)
        tk.settimeparam(ph, tk.REPORTSTEP, STEP_S)
        tk.settimeparam(ph, tk.HYDSTEP, STEP_S)
        n_nodes, n_links = tk.getcount(ph, tk.NODECOUNT), tk.getcount(ph, tk.LINKCOUNT)
        node_buf, link_buf = tk.doubleArray(n_nodes), tk.doubleArray(n_links)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tk.openH(ph)
            tk.initH(ph, tk.NOSAVE)
            tk.openQ(ph)
            tk.initQ(ph, tk.NOSAVE)
            while True:
                t = tk.runH(ph)
                tk.runQ(ph)
                if t % STEP_S == 0:
                    for prop in (tk.PRESSURE, tk.DEMAND, tk.QUALITY):
                        tk.getnodevalues(ph, prop, node_buf)
                    for prop in (tk.FLOW, tk.STATUS):
                        tk.getlinkvalues(ph, prop, link_buf)
                step = tk.nextH(ph)
                tk.nextQ(ph)
                if step <= 0:
                    break
            tk.closeQ(ph)
            tk.closeH(ph)
        tk.close(ph)
        tk.deleteproject(ph)


def simulator_run(duration_s: int, with_store: bool) -> int:
    """The virtual utility for ``duration_s``; returns the readings it produced."""
    layout = build_demo_utility()
    with tempfile.TemporaryDirectory() as tmp:
        store = TelemetryStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}") if with_store else None
        recorder = FrameRecorder()
        publishers = [recorder] if store is None else [StorePublisher(store)]
        try:
            with VirtualUtility(layout, SimulatorConfig(random_incidents_per_day=2.0),
                                publishers) as sim:
                while sim.time_s + STEP_S < duration_s:
                    sim.step()
                return sim.readings_sent
        finally:
            if store is not None:
                store.close()


def best_of(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"append to {RESULTS.name}")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    duration_s = int(args.days * 86_400)
    build_demo_utility()  # the layout is built once per process (cached), not timed
    readings: dict[str, int] = {}
    runs: dict[str, Callable[[], object]] = {
        "raw toolkit loop": lambda: raw_loop(duration_s),
        "simulator": lambda: readings.__setitem__("simulator", simulator_run(duration_s, False)),
        "simulator + SQLite store": lambda: readings.__setitem__(
            "simulator + SQLite store", simulator_run(duration_s, True)),
    }
    best = best_of(runs, args.repeat)
    raw = best["raw toolkit loop"]
    lines = [
        f"| method | wall [s] for {args.days:g} d | x real time | / raw loop | readings |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    failed = False
    for name, wall_s in best.items():
        x_real = duration_s / wall_s
        if name != "raw toolkit loop" and x_real < GOAL_X_REAL_TIME:
            failed = True
        lines.append(f"| {name} | {wall_s:.2f} | {x_real:,.0f} | {wall_s / raw:.2f} | "
                     f"{readings.get(name, 0):,} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
        cpu = platform.processor() or platform.machine()
        text = (f"\n## {stamp}\n\nCommand: `.venv/bin/python -m benchmarks.bench_simulator "
                f"--days {args.days:g} --repeat {args.repeat} --write`; one core (affinity), "
                f"{cpu}, {os.cpu_count()} cores shared with other engineers, Python "
                f"{platform.python_version()}, best of {args.repeat} interleaved runs.\n\n"
                f"{table}\n")
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write(text)
    print(f"goal: the simulator >= {GOAL_X_REAL_TIME:g}x real time on one core: "
          f"{'missed' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
