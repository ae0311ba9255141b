"""Reading and writing EPANET .inp files, against the EPANET toolkit and WNTR.

Run: ``.venv/bin/python -m benchmarks.bench_inp [--repeat 7] [--write]``

For Net3 (97 nodes) and the large demo city (3,473 nodes; WNTR's Net6 when it is missing):

1. **toolkit open** (baseline): owa-epanet ``createproject/open/close`` of the file in this
   process: EPANET's own C parser building its network, report file in a temp dir.
2. **read_inp**: ``waterops.io.inp.read_inp`` — parse, check, convert to SI, build the
   DataFrames.
3. **WNTR read**: ``wntr.network.WaterNetworkModel(path)`` (wntr 1.5), for comparison.
4. **toolkit save**: ``saveinpfile`` of the opened project (baseline for writing).
5. **write_inp**: ``waterops.io.inp.write_inp`` of the model read in 2.

Methods are interleaved and the best of ``--repeat`` runs is kept (a shared machine is
noisy). Limits: read_inp of the large network under 1 s, and under 10 x the C parser.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import epanet.toolkit as tk

from waterops.io.inp import read_inp, write_inp

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "tests" / "networks"
DEMO_CITY = ROOT / "src" / "waterops" / "data" / "networks" / "demo_city.inp"
RESULTS = Path(__file__).resolve().parent / "RESULTS_inp.md"
LIMIT_READ_S = 1.0
LIMIT_RATIO = 10.0


def large_network() -> Path:
    """The bundled demo city, else WNTR's Net6 (both > 3,000 nodes)."""
    if DEMO_CITY.exists():
        return DEMO_CITY
    import wntr

    return Path(wntr.__file__).parent / "library" / "networks" / "Net6.inp"


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _toolkit_open(path: Path, tmp: Path) -> None:
    ph = tk.createproject()
    tk.open(ph, str(path), str(tmp / "r.rpt"), "")
    tk.close(ph)
    tk.deleteproject(ph)


def _toolkit_save(path: Path, tmp: Path) -> Callable[[], None]:
    ph = tk.createproject()
    tk.open(ph, str(path), str(tmp / "s.rpt"), "")

    def save() -> None:
        tk.saveinpfile(ph, str(tmp / "toolkit.inp"))

    return save


def _wntr_read(path: Path) -> None:
    import wntr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wntr.network.WaterNetworkModel(str(path))


def measure(path: Path, repeat: int) -> dict[str, float]:
    """Best times [s] of each method on ``path``."""
    with tempfile.TemporaryDirectory(prefix="bench-inp-") as name:
        tmp = Path(name)
        net = read_inp(path)
        save = _toolkit_save(path, tmp)
        times = {k: float("inf") for k in ("open", "read", "wntr", "save", "write")}
        for _ in range(repeat):  # interleaved, best of each
            times["open"] = min(times["open"], _best(lambda: _toolkit_open(path, tmp), 1))
            times["read"] = min(times["read"], _best(lambda: read_inp(path), 1))
            times["wntr"] = min(times["wntr"], _best(lambda: _wntr_read(path), 1))
            times["save"] = min(times["save"], _best(save, 1))
            times["write"] = min(times["write"],
                                 _best(lambda: write_inp(net, tmp / "w.inp"), 1))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", action="store_true", help=f"append the table to {RESULTS}")
    args = parser.parse_args(argv)
    rows = []
    ok = True
    for path in (NETWORKS / "Net3.inp", large_network()):
        t = measure(path, args.repeat)
        nodes = len(read_inp(path).node_ids())
        ratio = t["read"] / t["open"]
        if path != NETWORKS / "Net3.inp":
            ok = ok and t["read"] < LIMIT_READ_S and ratio < LIMIT_RATIO
        rows.append(
            f"| {path.name} | {nodes} | {t['open'] * 1e3:.1f} | {t['read'] * 1e3:.1f} | "
            f"{ratio:.2f} | {t['wntr'] * 1e3:.1f} | {t['save'] * 1e3:.1f} | "
            f"{t['write'] * 1e3:.1f} | {t['write'] / t['save']:.2f} |")
    header = ("| network | nodes | toolkit open [ms] | read_inp [ms] | read / open | "
              "WNTR read [ms] | toolkit save [ms] | write_inp [ms] | write / save |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    table = header + "\n" + "\n".join(rows)
    print(table)
    load = os.getloadavg()[0]
    facts = (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load avg {load:.2f}, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, best of {args.repeat}")
    print(facts)
    print(f"limits: large read_inp < {LIMIT_READ_S} s and < {LIMIT_RATIO} x toolkit open: "
          f"{'met' if ok else 'MISSED'}")
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as handle:
            command = "`.venv/bin/python -m benchmarks.bench_inp " + " ".join(
                argv if argv is not None else sys.argv[1:]) + "`"
            handle.write(f"\n{command} — {facts}\n\n{table}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
