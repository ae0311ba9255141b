"""The trunk-main burst/transient detector over a long record of its meters: cost per
simulated hour and ratio to a raw baseline.

Run: ``.venv/bin/python -m benchmarks.bench_trunk_main [--days 30] [--repeat 3]``

The demo main's meters (inlet and outlet flow, 22 pressure meters along 106 km) every 5
minutes, synthetic (diurnal flow, head losses by the chainage, noise; prepared before timing)
with one burst in the middle. Timed: :class:`waterops.detection.trunk_main.TrunkMainMonitor`
fed one reading set (a dict of sensor id -> value) per 5 minutes, as the alarm feed does.
The **raw** baseline, run interleaved in the same process, loops over the same dicts and
compares inlet minus outlet with one bound: the least an online balance check must do.
Reported: CPU seconds per simulated hour, share of one core, ratio to raw; the detector must
find the one burst (a check, not a timing).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from waterops.detection.trunk_main import EventKind, TrunkMainMeters, TrunkMainMonitor
from waterops.io.inp import read_inp
from waterops.service.trunk_main import trunk_main_config
from waterops.service.virtual_utility import build_demo_utility

STEP_S = 300
TARGET_SHARE = 0.001
"""Limit: under 0.1 % of one core (the main is one of hundreds of things watched)."""


def frames(meters: TrunkMainMeters, days: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    n = days * 86_400 // STEP_S
    t = np.arange(n) * STEP_S
    flow = 1.0 + 0.3 * np.sin(2 * np.pi * t / 86_400)
    burst = np.where(np.arange(n) >= n // 2, 0.15, 0.0)
    rows = []
    for i in range(n):
        row = {meters.inlet_flow: flow[i] + burst[i] + rng.normal(0, 0.005),
               meters.outlet_flow: flow[i] + rng.normal(0, 0.005)}
        for sensor, x in meters.pressures:
            loss = 2e-5 * x * flow[i] ** 1.85 + 2e-5 * min(x, 50_000) * burst[i]
            row[sensor] = 80.0 - loss + rng.normal(0, 0.05)
        rows.append(row)
    return rows


def run_detector(meters: TrunkMainMeters, rows: list[dict[str, float]]) -> int:
    monitor = TrunkMainMonitor(meters)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bursts = 0
    for i, row in enumerate(rows):
        for event in monitor.step(t0 + timedelta(seconds=STEP_S * i), row):
            bursts += event.kind is EventKind.BURST and event.active
    return bursts


def run_raw(meters: TrunkMainMeters, rows: list[dict[str, float]]) -> int:
    hits = 0
    for row in rows:
        q_in, q_out = row.get(meters.inlet_flow, math.nan), row.get(meters.outlet_flow, math.nan)
        hits += q_in - q_out > 0.03
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    layout = build_demo_utility()
    meters = trunk_main_config(layout, read_inp(layout.network_file)).meters
    rows = frames(meters, args.days, 7)
    hours = args.days * 24
    best = {"raw": math.inf, "detector": math.inf}
    found = 0
    for _ in range(args.repeat):
        start = time.process_time()
        run_raw(meters, rows)
        best["raw"] = min(best["raw"], time.process_time() - start)
        start = time.process_time()
        found = run_detector(meters, rows)
        best["detector"] = min(best["detector"], time.process_time() - start)
    print(f"demo trunk main: {len(meters.sensor_ids)} meters, {len(rows)} readings sets "
          f"({args.days} days at {STEP_S} s); bursts found: {found} (1 injected)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    print(f"{'what':40s} {'CPU s / sim. hour':>18s} {'share of one core':>18s} {'x raw':>6s}")
    for name in ("raw", "detector"):
        per_hour = best[name] / hours
        print(f"{name:40s} {per_hour:18.6f} {per_hour / 3600:17.5%} "
              f"{best[name] / best['raw']:6.1f}")
    share = best["detector"] / hours / 3600
    met = share < TARGET_SHARE and found == 1
    print(f"target: under {TARGET_SHARE:.1%} of one core and the burst found -> "
          f"{'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
