"""Online leak detection for every pressure sensor of the demo utility at 1-minute data.

Run: ``.venv/bin/python -m benchmarks.bench_detection_leaks [--hours 24] [--repeat 3]``

What runs each simulated minute, in this process: :class:`waterops.detection.leaks.
OnlineLeakMonitor` over all pressure and flow sensors of
:func:`waterops.service.virtual_utility.build_demo_utility` — the learned reference (every
pressure from the other pressures and the flows), the trailing 24-hour window, and the
detector's match of the window against the leak signature of every pipe of the demo network.

The signatures are random of the right shape (sensors x pipes): the cost does not depend on
their values, and computing real ones (a simulated leak per junction) is a set-up step, not
part of the online loop. The readings are synthetic and prepared before timing. The **raw**
baseline, run interleaved in the same process, is the least an online pressure check does
per row: one numpy comparison of the row with a bound. Reported: CPU seconds per simulated
hour, the share of one core, and the ratio to raw. Target (issue 6): under 5 % of one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from waterops.detection.leaks import (
    LeakDetectorSettings,
    OnlineLeakDetector,
    OnlineLeakMonitor,
    PressureReference,
    boundary_features,
)
from waterops.io.inp import read_inp
from waterops.model.telemetry import Quantity
from waterops.service.virtual_utility import build_demo_utility

MINUTES_PER_HOUR = 60


def _setup(minutes: int, seed: int) -> tuple[OnlineLeakMonitor, pd.DatetimeIndex, np.ndarray,
                                             np.ndarray, int]:
    utility = build_demo_utility()
    pressure_ids = [s.id for s in utility.sensors if s.quantity is Quantity.PRESSURE]
    flow_ids = [s.id for s in utility.sensors if s.quantity is Quantity.FLOW]
    pipes = list(read_inp(utility.network_file).pipes.index)
    rng = np.random.default_rng(seed)
    train = 2 * 1440
    t = pd.date_range("2025-01-01", periods=train + minutes, freq="1min", tz="UTC")
    day = np.sin(2 * np.pi * np.arange(len(t)) / 1440)[:, None]
    flows = 0.05 + 0.02 * day + 0.001 * rng.standard_normal((len(t), len(flow_ids)))
    pressures = 35 - 5 * day + 0.05 * rng.standard_normal((len(t), len(pressure_ids)))
    p_table = pd.DataFrame(pressures[:train], index=t[:train], columns=pressure_ids)
    features = boundary_features(pd.DataFrame(flows[:train], index=t[:train], columns=flow_ids))
    reference = PressureReference.fit(p_table, features)
    signatures = pd.DataFrame(-rng.random((len(pressure_ids), len(pipes))),
                              index=pressure_ids, columns=pipes)
    settings = LeakDetectorSettings(training_s=2 * 86_400, window_s=86_400)
    detector = OnlineLeakDetector(signatures, np.full(len(pressure_ids), 0.01), settings)
    monitor = OnlineLeakMonitor(reference, detector, flow_ids)
    for k in range(train - 1440, train):  # a full window before timing
        monitor.observe(t[k], pressures[k], flows[k])
    return monitor, t[train:], pressures[train:], flows[train:], len(pipes)


def _online(monitor: OnlineLeakMonitor, times: pd.DatetimeIndex, pressures: np.ndarray,
            flows: np.ndarray) -> tuple[float, int]:
    alarms = 0
    start = time.process_time()
    for k in range(len(times)):
        alarms += monitor.update(times[k], pressures[k], flows[k]) is not None
    return time.process_time() - start, alarms


def _raw(pressures: np.ndarray) -> float:
    low = 0
    start = time.process_time()
    for k in range(len(pressures)):
        low += int((pressures[k] < 14.0).any())
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    minutes = int(args.hours * MINUTES_PER_HOUR)
    best_online, best_raw, alarms = float("inf"), float("inf"), 0
    n_pressure = n_flow = n_pipes = 0
    for r in range(args.repeat):
        monitor, times, pressures, flows, n_pipes = _setup(minutes, seed=r)
        n_pressure, n_flow = pressures.shape[1], flows.shape[1]
        best_raw = min(best_raw, _raw(pressures))
        cpu, alarms = _online(monitor, times, pressures, flows)
        best_online = min(best_online, cpu)
    hours = minutes / MINUTES_PER_HOUR
    print(f"demo utility: {n_pressure} pressure sensors, {n_flow} flow sensors, {n_pipes} "
          f"candidate pipes, {minutes} minutes of 1-minute data")
    print(f"{'what':40s} {'CPU s / sim. hour':>18s} {'share of one core':>18s} {'x raw':>7s}")
    for name, cpu in (("raw (one bound check per row)", best_raw),
                      ("online leak detection (all sensors)", best_online)):
        per_hour = cpu / hours
        print(f"{name:40s} {per_hour:18.4f} {100 * per_hour / 3600:17.4f}% "
              f"{cpu / best_raw if best_raw > 0 else float('nan'):7.1f}")
    share = 100 * best_online / hours / 3600
    print(f"alarms raised in the run (random signatures, noise only): {alarms}")
    print(f"target: under 5 % of one core -> {'met' if share < 5 else 'NOT met'}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")


if __name__ == "__main__":
    main()
