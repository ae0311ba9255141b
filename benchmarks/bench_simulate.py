"""`simulate` against a raw toolkit loop, WNTR's two simulators, and its peak memory.

Run: ``.venv/bin/python -m benchmarks.bench_simulate [--repeat 7] [--write]``

For each network (EPANET's Net1, Net2, Net3 and the large demo city), 24 h of hydraulics:

1. **raw**: owa-epanet in this process: open the file (report file in a temporary directory
   made once per process, as simulate does; status report off), read the node and link ids
   (the column labels of the tables), ``openH/initH``, step with ``runH/nextH``, and at every
   report time read node pressure, head, demand and link flow, velocity, status with the
   vector getters straight into preallocated numpy arrays; close. The least any wrapper must
   do to give the same tables.
   **raw, no ids** is the same loop without the ids (one toolkit call per element), shown too:
   on small networks those calls are a visible share of the run.
2. **simulate**: ``waterops.hydraulics.simulate(path, duration_s=86400)`` — the same tables as
   SI DataFrames with element ids, warnings and node/link types.
3. **WNTR EpanetSimulator** and **WNTRSimulator** (``wntr`` 1.5): model read from the same file
   plus ``run_sim`` (EpanetSimulator files go to a temp dir). WNTRSimulator is run fewer times
   on the large network: it takes seconds.

Methods are interleaved (raw, simulate, WNTR, …, repeated) and the best time of each is kept,
to damp the noise of a shared machine. Limit: simulate / raw <= 1.2, judged on the "cold"
round (a full garbage collection before every call, as since the first run of this file).
A "warm" round of raw and simulate, timeit's way (no collection between calls, the collector
off during a call), is shown beside it: simulate's fixed cost is Python code (labelled tables,
option save/restore), which costs two to three times more when a collection has just pushed
it out of the CPU caches, while the raw loop has little Python to lose.

Peak memory: a fresh child process runs a 7-day, 15-minute (hydraulic and report step) run of
the large network and reports its maximum resident set size before and after the run and the
peak of Python-tracked allocations (tracemalloc, which sees numpy arrays).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import epanet.toolkit as tk
import numpy as np

from waterops.hydraulics import simulate

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "tests" / "networks"
DEMO_CITY = ROOT / "src" / "waterops" / "data" / "networks" / "demo_city.inp"
RESULTS = Path(__file__).resolve().parent / "RESULTS_simulate.md"
DAY_S = 86400
LIMIT = 1.2
_RAW_SCRATCH = tempfile.mkdtemp(prefix="bench-raw-")
"""The raw loop's report files go here, like simulate's (one directory per process)."""


def large_network() -> Path:
    """The bundled demo city, else WNTR's Net6 (both > 3,000 nodes)."""
    if DEMO_CITY.exists():
        return DEMO_CITY
    import wntr

    return Path(wntr.__file__).parent / "library" / "networks" / "Net6.inp"


def raw_toolkit(path: Path, duration_s: int = DAY_S, with_ids: bool = True) -> float:
    """Seconds for the raw vector-getter loop (see module docstring, method 1)."""
    report = os.path.join(_RAW_SCRATCH, "raw.rpt")
    start = time.perf_counter()
    # same I/O as simulate: a report file in a directory made once per process
    ph = tk.createproject()
    tk.open(ph, str(path), report, "")
    tk.setstatusreport(ph, tk.NO_REPORT)
    tk.settimeparam(ph, tk.DURATION, duration_s)
    n_nodes, n_links = tk.getcount(ph, tk.NODECOUNT), tk.getcount(ph, tk.LINKCOUNT)
    if with_ids:
        node_ids = [tk.getnodeid(ph, i) for i in range(1, n_nodes + 1)]
        link_ids = [tk.getlinkid(ph, i) for i in range(1, n_links + 1)]
        assert len(node_ids) + len(link_ids) == n_nodes + n_links
    step = tk.gettimeparam(ph, tk.REPORTSTEP)
    rows = duration_s // step + 1
    node_buf, link_buf = tk.doubleArray(n_nodes), tk.doubleArray(n_links)
    node_view = np.ctypeslib.as_array(
        (ctypes.c_double * n_nodes).from_address(int(node_buf.cast()))
    )
    link_view = np.ctypeslib.as_array(
        (ctypes.c_double * n_links).from_address(int(link_buf.cast()))
    )
    node_props = (tk.PRESSURE, tk.HEAD, tk.DEMAND)
    link_props = (tk.FLOW, tk.VELOCITY, tk.STATUS)
    node_out = [np.empty((rows, n_nodes)) for _ in node_props]
    link_out = [np.empty((rows, n_links)) for _ in link_props]
    row = 0
    tk.openH(ph)
    tk.initH(ph, tk.NOSAVE)
    while True:
        t = tk.runH(ph)
        if t % step == 0:
            for prop, out in zip(node_props, node_out, strict=True):
                tk.getnodevalues(ph, prop, node_buf)
                out[row] = node_view
            for prop, out in zip(link_props, link_out, strict=True):
                tk.getlinkvalues(ph, prop, link_buf)
                out[row] = link_view
            row += 1
        if tk.nextH(ph) <= 0:
            break
    tk.closeH(ph)
    tk.close(ph)
    tk.deleteproject(ph)
    os.unlink(report)
    assert row == rows, (row, rows)
    return time.perf_counter() - start


def waterops_simulate(path: Path) -> float:
    """Seconds for ``simulate(path, duration_s=86400)``."""
    start = time.perf_counter()
    results = simulate(path, duration_s=DAY_S)
    elapsed = time.perf_counter() - start
    assert len(results.time_s) == 25
    return elapsed


def wntr_epanet(path: Path) -> float:
    """Seconds for WNTR: read the model, EpanetSimulator.run_sim (files in a temp dir)."""
    import wntr

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-wntr-") as folder:
        wn = wntr.network.WaterNetworkModel(str(path))
        wn.options.time.duration = DAY_S
        wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(folder, "run"))
    return time.perf_counter() - start


def wntr_python(path: Path) -> float:
    """Seconds for WNTR: read the model, WNTRSimulator.run_sim (its own Newton solver)."""
    import wntr

    start = time.perf_counter()
    wn = wntr.network.WaterNetworkModel(str(path))
    wn.options.time.duration = DAY_S
    wntr.sim.WNTRSimulator(wn).run_sim()
    return time.perf_counter() - start


def _interleaved(
    path: Path,
    methods: dict[str, Callable[[Path], float]],
    repeat: int,
    warm_up: bool = True,
    collect: bool = True,
) -> tuple[dict[str, float], dict[str, float]]:
    """Best wall and best CPU seconds of each method, run in turn ``repeat`` times.

    ``collect``: a full garbage collection before every call (the "cold" figures: the
    collection walks every Python object, so each call starts with caches holding little of
    its own code, as a call among other Python work would). ``collect=False`` is timeit's way
    instead ("warm"): no collection between calls, the collector off during each call."""
    best = {name: float("inf") for name in methods}
    best_cpu = {name: float("inf") for name in methods}
    for fn in methods.values() if warm_up else ():  # imports, file cache
        fn(path)
    for _ in range(repeat):
        for name, fn in methods.items():
            if collect:
                gc.collect()
            else:
                gc.disable()
            try:
                cpu_start = time.process_time()
                best[name] = min(best[name], fn(path))
                best_cpu[name] = min(best_cpu[name], time.process_time() - cpu_start)
            finally:
                gc.enable()
    return best, best_cpu


def best_times(
    path: Path, repeat: int, wntr_repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Best wall-clock and best CPU seconds of each method, interleaved, after a warm-up.

    The limit (simulate against the raw loop) is measured with those two alone taking turns:
    a WNTR run between them leaves hundreds of MB of Python objects behind and would slow
    whichever method comes next. WNTR's two simulators are then timed in a second round,
    taking turns with simulate again (the WNTR ratios use that round's simulate time).
    CPU time (``time.process_time``) is shown beside wall time because the machine is shared:
    a run that waits for a core counts in wall time only.
    """
    best, best_cpu = _interleaved(
        path,
        {"raw": raw_toolkit, "raw_no_ids": lambda p: raw_toolkit(p, with_ids=False),
         "simulate": waterops_simulate},
        repeat,
    )
    warm, _ = _interleaved(
        path, {"raw": raw_toolkit, "simulate": waterops_simulate}, repeat, collect=False
    )
    best["raw_warm"], best["simulate_warm"] = warm["raw"], warm["simulate"]
    wntr_best, wntr_cpu = _interleaved(
        path, {"wntr_epanet": wntr_epanet, "simulate": waterops_simulate}, max(wntr_repeat, 1)
    )
    best["wntr_epanet"], best_cpu["wntr_epanet"] = wntr_best["wntr_epanet"], wntr_cpu["wntr_epanet"]
    best["simulate_vs_wntr"] = wntr_best["simulate"]
    slow_best, slow_cpu = _interleaved(
        path, {"wntr_python": wntr_python}, max(min(wntr_repeat, 3), 1), warm_up=False
    )
    best["wntr_python"], best_cpu["wntr_python"] = slow_best["wntr_python"], slow_cpu["wntr_python"]
    return best, best_cpu


MEMORY_CHILD = """
import json, sys, time, tracemalloc
from pathlib import Path


def high_water_mb():
    # VmHWM: peak resident set of this process image (ru_maxrss would carry the parent's
    # peak across fork/exec)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


from waterops.hydraulics import simulate

path = sys.argv[1]
before = high_water_mb()
tracemalloc.start()
start = time.perf_counter()
results = simulate(path, duration_s=7 * 86400, hydraulic_step_s=900, report_step_s=900)
elapsed = time.perf_counter() - start
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after = high_water_mb()
table_bytes = sum(int(t.memory_usage(deep=False).sum()) for t in results.tables().values())
print(json.dumps({"rows": len(results.time_s), "nodes": len(results.node_type),
                  "links": len(results.link_type), "seconds": elapsed,
                  "rss_before_mb": before, "rss_after_mb": after,
                  "tracemalloc_peak_mb": peak / 2**20, "tables_mb": table_bytes / 2**20}))
"""


def peak_memory(path: Path) -> dict[str, float]:
    """Memory of a 7-day, 15-minute run of ``path`` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory_line(network: str, memory: dict[str, float]) -> str:
    """One sentence on the memory of the 7-day run."""
    return (
        f"Peak memory, 7 days at 15 min on {network} ({memory['nodes']:.0f} nodes, "
        f"{memory['links']:.0f} links, {memory['rows']:.0f} report times, "
        f"{memory['seconds']:.1f} s under tracemalloc): "
        f"peak RSS {memory['rss_after_mb']:.0f} MB "
        f"(of which {memory['rss_before_mb']:.0f} MB after imports), Python-tracked peak "
        f"{memory['tracemalloc_peak_mb']:.0f} MB, result tables {memory['tables_mb']:.0f} MB."
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import wntr

    return (
        f"{cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"owa-epanet (EPANET {tk.getversion()}), wntr {wntr.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=25, help="timed runs per method on the small networks"
    )
    parser.add_argument(
        "--large-repeat",
        type=int,
        default=5,
        help="timed runs per method on the large network (WNTRSimulator: 1)",
    )
    parser.add_argument(
        "--small-only", action="store_true", help="skip the large network and the memory run"
    )
    parser.add_argument("--write", action="store_true", help=f"append to {RESULTS.name}")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # EPANET warnings echoed by the bindings
    networks = [NETWORKS / "Net1.inp", NETWORKS / "Net2.inp", NETWORKS / "Net3.inp"]
    if not args.small_only:
        networks.append(large_network())
    header = (
        "| network | nodes | raw [ms] | simulate [ms] | simulate/raw | same, CPU time "
        "| warm: raw [ms] | warm: simulate [ms] | warm: simulate/raw "
        "| raw, no ids [ms] "
        "| simulate/raw no ids | WNTR Epanet [ms] | WNTR Epanet/simulate "
        "| WNTRSimulator [ms] "
        "| WNTRSimulator/simulate |"
    )
    lines = [header, "|" + " --- |" * 15]
    worst = worst_warm = 0.0
    for path in networks:
        if path.name in ("Net1.inp", "Net2.inp", "Net3.inp"):
            best, cpu = best_times(path, args.repeat, wntr_repeat=args.repeat)
        else:
            best, cpu = best_times(path, args.large_repeat, wntr_repeat=1)
        with tempfile.TemporaryDirectory() as folder:
            ph = tk.createproject()
            tk.open(ph, str(path), os.path.join(folder, "r.rpt"), "")
            nodes = tk.getcount(ph, tk.NODECOUNT)
            tk.close(ph)
            tk.deleteproject(ph)
        ratio = best["simulate"] / best["raw"]
        warm_ratio = best["simulate_warm"] / best["raw_warm"]
        worst, worst_warm = max(worst, ratio), max(worst_warm, warm_ratio)
        lines.append(
            f"| {path.name} | {nodes} | {best['raw'] * 1e3:.1f} | {best['simulate'] * 1e3:.1f} "
            f"| **{ratio:.2f}** | {cpu['simulate'] / cpu['raw']:.2f} "
            f"| {best['raw_warm'] * 1e3:.1f} | {best['simulate_warm'] * 1e3:.1f} "
            f"| {warm_ratio:.2f} "
            f"| {best['raw_no_ids'] * 1e3:.1f} "
            f"| {best['simulate'] / best['raw_no_ids']:.2f} | {best['wntr_epanet'] * 1e3:.0f} "
            f"| {best['wntr_epanet'] / best['simulate_vs_wntr']:.1f} "
            f"| {best['wntr_python'] * 1e3:.0f} "
            f"| {best['wntr_python'] / best['simulate_vs_wntr']:.1f} |"
        )
        print(lines[-1], flush=True)
    memory = peak_memory(large_network()) if not args.small_only else None
    mem_line = "" if memory is None else memory_line(large_network().name, memory)
    verdict = f"Worst simulate/raw ratio {worst:.2f} (limit {LIMIT}): " + (
        "PASS" if worst <= LIMIT else "FAIL"
    ) + f"; warm (timeit-style, not the verdict): worst {worst_warm:.2f}"
    print()
    print("\n".join(lines))
    print()
    print(mem_line)
    print(verdict)
    if args.write:
        command = ".venv/bin/python -m benchmarks.bench_simulate " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(
                f"\n### {when}\n\nCommand: `{command.strip()}`  \nMachine: {machine()}  \n"
                f"24 h hydraulics, best of {args.repeat} interleaved runs on Net1-3, of "
                f"{args.large_repeat} on the large network (WNTRSimulator there: 1 run).\n\n"
                + "\n".join(lines)
                + f"\n\n{mem_line}  \n{verdict}\n"
            )
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
