"""One digital-twin update on the demo city against its interval and a raw toolkit step.

Run: ``.venv/bin/python -m benchmarks.bench_twin [--updates 24] [--repeat 3] [--write]``

The truth is the demo utility (layout of :mod:`waterops.service.virtual_utility`) stepped at
5 minutes by the incremental stepper; its sensor readings (599 sensors) are prepared before
any timing. Then, interleaved and repeated (best run of each kept, to damp the noise of a
shared machine):

1. **raw step**: owa-epanet in this process on the same network: ``openH/initH``, then per
   5-minute step ``runH`` + ``nextH`` and one vector read each of node pressure and link
   flow — a raw toolkit step loop, the least a model step costs.
   **raw step + age** is the same loop with water age (``runQ/nextQ``).
2. **twin, hydraulics**: ``Twin.update(t, readings)`` with water age and source shares off.
3. **twin, full**: the twin as the demo runs it: pressure-driven demand (as the virtual
   utility), water age and one tracer per source (three EPANET projects in step).

Each twin update advances 5 minutes, sets 38 tank levels, 71 pump states and 2 valve flows,
solves twice (prediction, then with the new DMA multipliers), estimates 13 DMA multipliers
and scores ~330 residuals. Times are the median and maximum per update over ``--updates``
updates (opening the twin and the first update, which starts the solvers, are left out).

Limit: one update must take less than its interval at 100x real time: 300 s / 100 = 3 s.
CPU time per update is shown beside wall time (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import epanet.toolkit as tk

from waterops.data import demo_network_path
from waterops.hydraulics import EpanetEngine
from waterops.hydraulics.stepper import NetworkStepper
from waterops.model.telemetry import Quantity
from waterops.model.utility import UtilityLayout
from waterops.service.simulator import PDA
from waterops.service.twin import Twin, TwinSettings
from waterops.service.virtual_utility import build_demo_utility

RESULTS = Path(__file__).resolve().parent / "RESULTS_twin.md"
STEP_S = 300
SPEED_UP = 100
BUDGET_S = STEP_S / SPEED_UP

Readings = list[tuple[int, dict[str, float]]]
CPU_S: dict[str, list[float]] = {}
"""CPU seconds per step or update of the last run of each method."""


def truth_readings(layout: UtilityLayout, updates: int) -> Readings:
    """Sensor readings of the stepped demo utility at 0, 300, … s (not timed)."""
    out: Readings = []
    with EpanetEngine.open(demo_network_path()) as engine, NetworkStepper(
        engine, step_s=STEP_S, quality=None
    ) as stepper:
        nodes = {n: i for i, n in enumerate(engine.node_ids)}
        links = {k: i for i, k in enumerate(engine.link_ids)}
        for k in range(updates + 1):
            stepper.advance_to(k * STEP_S)
            pressure = stepper.node_values("pressure")  # tanks: level above the bottom
            demand = stepper.node_values("demand")
            flow = stepper.link_values("flow")
            status = stepper.link_values("status")
            row = {}
            for s in layout.sensors:
                e = str(s.element_id)
                if s.quantity in (Quantity.PRESSURE, Quantity.LEVEL):
                    row[s.id] = float(pressure[nodes[e]])
                elif s.quantity == Quantity.FLOW:
                    on_node = s.element_kind == "node"
                    row[s.id] = float(demand[nodes[e]] if on_node else flow[links[e]])
                elif s.quantity == Quantity.PUMP_STATUS:
                    row[s.id] = float(status[links[e]] >= 1.0)
            out.append((k * STEP_S, row))
    return out


def raw_steps(path: Path, steps: int, with_age: bool, name: str) -> list[float]:
    """Wall seconds per 5-minute step of a plain toolkit loop (after opening and
    initialising); CPU seconds go to :data:`CPU_S`."""
    with tempfile.TemporaryDirectory() as tmp:
        ph = tk.createproject()
        tk.open(ph, str(path), str(Path(tmp) / "raw.rpt"), "")
        tk.setstatusreport(ph, tk.NO_REPORT)
        tk.settimeparam(ph, tk.DURATION, 10 * 86400)
        tk.settimeparam(ph, tk.REPORTSTEP, 86400)
        tk.settimeparam(ph, tk.HYDSTEP, STEP_S)
        tk.setqualtype(ph, tk.AGE if with_age else tk.NONE, "", "", "")
        nodes = tk.doubleArray(tk.getcount(ph, tk.NODECOUNT))
        links = tk.doubleArray(tk.getcount(ph, tk.LINKCOUNT))
        times, cpu = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tk.openH(ph)
            tk.initH(ph, tk.NOSAVE)
            if with_age:
                tk.openQ(ph)
                tk.initQ(ph, tk.NOSAVE)
            for _ in range(steps + 1):
                start, start_cpu = time.perf_counter(), time.process_time()
                tk.runH(ph)
                if with_age:
                    tk.runQ(ph)
                tk.getnodevalues(ph, tk.PRESSURE, nodes)
                tk.getlinkvalues(ph, tk.FLOW, links)
                tk.nextH(ph)
                if with_age:
                    tk.nextQ(ph)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            if with_age:
                tk.closeQ(ph)
            tk.closeH(ph)
        tk.close(ph)
        tk.deleteproject(ph)
    CPU_S[name] = cpu[1:]
    return times[1:]  # the first step solves from the file's initial guess


def twin_updates(
    layout: UtilityLayout, readings: Readings, settings: TwinSettings, name: str
) -> list[float]:
    """Wall seconds per twin update, the first (which starts the solvers) left out."""
    times, cpu = [], []
    with Twin.from_layout(layout, settings=settings) as twin:
        for t, row in readings:
            start, start_cpu = time.perf_counter(), time.process_time()
            twin.update(t, row)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    CPU_S[name] = cpu[1:]
    return times[1:]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
            f"owa-epanet (EPANET {tk.getversion()}), {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=24, help="updates per run (5 min each)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each method")
    parser.add_argument("--write", action="store_true", help=f"append to {RESULTS.name}")
    args = parser.parse_args(argv)
    layout = build_demo_utility()
    readings = truth_readings(layout, args.updates)
    path = demo_network_path()
    methods: dict[str, Callable[[], list[float]]] = {
        "raw step": lambda: raw_steps(path, args.updates, False, "raw step"),
        "raw step + age": lambda: raw_steps(path, args.updates, True, "raw step + age"),
        "twin, hydraulics": lambda: twin_updates(
            layout, readings, TwinSettings(water_age=False, source_shares=False),
            "twin, hydraulics",
        ),
        "twin, full": lambda: twin_updates(
            layout, readings, TwinSettings(pressure_driven=PDA), "twin, full"
        ),
    }
    best: dict[str, list[float]] = {}
    best_cpu: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, run in methods.items():
            times = run()
            if name not in best or statistics.median(times) < statistics.median(best[name]):
                best[name] = times
                best_cpu[name] = CPU_S.get(name, [])
    raw = statistics.median(best["raw step"])
    raw_cpu = statistics.median(best_cpu["raw step"])
    lines = [
        f"| method | median per step/update [ms] | max [ms] | median CPU [ms] | "
        f"median / raw step (wall) | median / raw step (CPU) | "
        f"max / interval at {SPEED_UP}x ({BUDGET_S:.0f} s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    worst = 0.0
    for name, times in best.items():
        median, peak = statistics.median(times), max(times)
        if name.startswith("twin"):
            worst = max(worst, peak / BUDGET_S)
        cpu = statistics.median(best_cpu[name])
        lines.append(f"| {name} | {median * 1e3:.1f} | {peak * 1e3:.1f} | {cpu * 1e3:.1f} | "
                     f"{median / raw:.1f} | {cpu / raw_cpu:.1f} | {peak / BUDGET_S:.4f} |")
    verdict = "PASS" if worst < 1.0 else "FAIL"
    summary = (f"Slowest twin update {worst * BUDGET_S * 1e3:.0f} ms = {worst:.3f} of its "
               f"{BUDGET_S:.0f} s budget at {SPEED_UP}x real time (limit < 1): {verdict}")
    print("\n".join(lines))
    print(summary)
    if args.write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = "`.venv/bin/python -m benchmarks.bench_twin " + " ".join(
            argv if argv is not None else sys.argv[1:]) + "`"
        text = (f"\n### {stamp}\n\nCommand: {command.replace(' `', '`')}  \n"
                f"Machine: {machine()}  \n"
                f"Demo city ({len(layout.sensors)} sensors, {len(layout.dmas)} DMAs), "
                f"{args.updates} updates of 5 min, best of {args.repeat} interleaved runs.\n\n"
                + "\n".join(lines) + f"\n\n{summary}\n")
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text)
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
