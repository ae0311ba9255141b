"""Consumption analysis and savings advice of one enterprise among its industry peers.

Run: ``.venv/bin/python -m benchmarks.bench_enterprise_advice [--peers 59] [--days 30]
[--repeat 5]``

An SQLite database in a temporary directory holds ``peers + 1`` enterprises of one industry,
each with one AMR flow meter read every 15 minutes for ``days`` days (the demo park has 176
enterprises in 3 industries: about 59 peers each). Timed, interleaved in the same process:

- **raw**: the least any consumer does — one :meth:`TelemetryStore.resample` of the
  enterprise's meter to hourly means over the window;
- **consumption**: :meth:`EnterpriseService.consumption` (its own meter plus every peer's,
  daily profile, night flow, percentile);
- **advice**: :meth:`EnterpriseService.advice` (the analysis plus the tariff arithmetic).

Reported: median wall seconds of each, and the ratio to raw (peers + 1 resamples is the
floor of the analysis as designed).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from waterops.model.accounts import Role
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.service.enterprise_service import EnterpriseDraft, EnterpriseService
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.enterprises_store import EnterprisesStore

START = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)  # 2026-09-02 00:00 Beijing time


def _fill(store: TelemetryStore, service: EnterpriseService, peers: int, days: int) -> int:
    agent = AccountsStore(store.engine).create_user("bench.agent", "x", Role.SERVICE_AGENT,
                                                    at=START)
    store.upsert_systems([WaterSystem("city", "city")])
    times = np.arange(np.datetime64(START.replace(tzinfo=None), "s"),
                      np.datetime64((START + timedelta(days=days)).replace(tzinfo=None), "s"),
                      np.timedelta64(900, "s"))
    local_hour = ((times.astype("int64") // 3600) + 8) % 24
    day = (local_hour >= 6) & (local_hour < 22)
    rng = np.random.default_rng(7)
    first_id = 0
    for i in range(peers + 1):
        sensor = f"D-B{i:04d}"
        store.upsert_sensors([Sensor(sensor, "city", Quantity.FLOW, interval_s=900.0)])
        size = rng.uniform(0.5, 5.0)
        flow = np.where(day, 3.0e-3, 0.1e-3) * size + rng.normal(0, 1e-5, times.size).clip(0)
        store.write_reading_arrays(sensor, times, flow)
        ent = service.register(agent, EnterpriseDraft(
            f"B{i:04d}", f"bench plant {i}", "electronics", meter_sensor_ids=(sensor,),
            employees=int(rng.integers(20, 500))))
        first_id = first_id or ent.id
    return first_id


def _median_s(task: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        task()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=59)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = TelemetryStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            service = EnterpriseService(EnterprisesStore(store.engine), store)
            enterprise_id = _fill(store, service, args.peers, args.days)
            user = AccountsStore(store.engine).credentials("bench.agent")
            assert user is not None
            agent = user[0]
            end = START + timedelta(days=args.days)
            enterprise = service.store.enterprise(enterprise_id)
            sensor = enterprise.meter_sensor_ids[0]
            rows: dict[str, list[float]] = {"raw": [], "consumption": [], "advice": []}
            for _ in range(args.repeat):  # interleaved, so drift hits all three alike
                rows["raw"].append(_median_s(
                    lambda: store.resample(sensor, START, end, 3600), 1))
                rows["consumption"].append(_median_s(
                    lambda: service.consumption(agent, enterprise_id, START, end), 1))
                rows["advice"].append(_median_s(
                    lambda: service.advice(agent, enterprise_id, START, end), 1))
        finally:
            store.close()
    raw = statistics.median(rows["raw"])
    print(f"enterprise advice: {args.peers} peers, {args.days} days of 15-min readings, "
          f"SQLite, median of {args.repeat}")
    print(f"{'task':12} {'seconds':>10} {'x raw':>8}")
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"{name:12} {med:10.4f} {med / raw:8.1f}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")


if __name__ == "__main__":
    main()
