"""CSV ingest speed: ``waterops ingest csv`` against raw inserts of the same readings.

Run::

    .venv/bin/python -m benchmarks.bench_csv_ingest                      # 10 million, both DBs
    .venv/bin/python -m benchmarks.bench_csv_ingest --readings 1e6 --backend sqlite --layout long

A file of ``--readings`` readings is written to a temporary directory: **wide**, the usual
SCADA export (a ``Timestamp`` column and 100 sensor columns, 1-minute data, values with three
decimals), or **long** (sensor, time, value; time-major, as a historian dumps it). Then, in
one process:

- **ingest**: :func:`waterops.telemetry.csv_ingest.ingest_csv` - read and check the file,
  convert units, compute the quality flags against the stored context, write it in one
  transaction - into a fresh store;
- **baseline**: the same readings, already parsed into arrays (no CSV reading at all), into a
  bare table with the same primary key in one transaction: SQLite ``executemany`` of a plain
  ``INSERT``; PostgreSQL binary ``COPY`` (rows encoded by numpy).

Baseline and ingest alternate ``--repeat`` times, each into a fresh database, and the best
time of each side counts: the machine is shared, and load from other processes can double a
single run's time.

Ratio = ingest readings/s ÷ baseline readings/s (goal ≥ 0.5). The baseline does strictly less
work than the ingest (no parsing, no time zones, no flags, no duplicate check), so the ratio
is a fair upper bound of the overhead. A second figure, "parse share", is the time
:func:`iter_chunks` alone needs to read and check the file, as a share of the ingest time.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from benchmarks.bench_store import BARE_TABLE, PG_URL, machine_facts
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore
from waterops.store.bulk import copy_binary
from waterops.telemetry.csv_ingest import ingest_csv as ingest_file
from waterops.telemetry.csv_ingest import iter_chunks, read_header

SENSORS = 100
ROWS_PER_WRITE = 10_000  # 1 million readings per block written
T0 = pd.Timestamp("2026-01-01", tz="UTC")
BASELINE_BATCH = 500_000


@dataclass
class Readings:
    """The benchmark's readings as arrays, sorted by (sensor key, time)."""

    keys: np.ndarray
    times_us: np.ndarray
    values: np.ndarray
    flags: np.ndarray


def sensor_ids() -> list[str]:
    return [f"PT-{k:03d}" for k in range(1, SENSORS + 1)]


def write_file(path: Path, total: int, layout: str) -> Readings:
    """Write a wide or long CSV of ``total`` readings; return the readings as arrays."""
    rows = max(total // SENSORS, 1)
    rng = np.random.default_rng(11)
    ids = sensor_ids()
    times = pd.date_range(T0, periods=rows, freq="1min")
    stamps = times.strftime("%Y-%m-%d %H:%M:%S")
    diurnal = 4.0 * np.sin(np.arange(rows) * 2 * np.pi / 1440)
    first = True
    keys, times_us, values = [], [], []
    for start in range(0, rows, ROWS_PER_WRITE):
        stop = min(start + ROWS_PER_WRITE, rows)
        block = (30.0 + diurnal[start:stop, None]
                 + rng.normal(0.0, 0.3, (stop - start, SENSORS))).round(3)
        if layout == "wide":
            frame = pd.DataFrame(block, columns=ids)
            frame.insert(0, "Timestamp", stamps[start:stop])
        else:
            frame = pd.DataFrame({
                "sensor": np.tile(np.array(ids, dtype=object), stop - start),
                "time": np.repeat(np.asarray(stamps[start:stop], dtype=object), SENSORS),
                "value": block.ravel(),
            })
        frame.to_csv(path, mode="w" if first else "a", header=first, index=False)
        first = False
        t_us = times[start:stop].as_unit("us").asi8
        keys.append(np.repeat(np.arange(1, SENSORS + 1)[None, :], stop - start, 0).ravel())
        times_us.append(np.repeat(t_us, SENSORS))
        values.append(block.ravel())
    k, t, v = np.concatenate(keys), np.concatenate(times_us), np.concatenate(values)
    order = np.lexsort((t, k))
    return Readings(k[order], t[order], v[order], np.zeros(len(k), dtype=np.int64))


def _register(store: TelemetryStore) -> None:
    store.upsert_systems([WaterSystem("bench", "CSV benchmark")])
    store.upsert_sensors(
        [Sensor(s, "bench", Quantity.PRESSURE, lower=0.0, upper=100.0, interval_s=60.0)
         for s in sensor_ids()]
    )


def _sqlite_baseline(path: Path, r: Readings) -> float:
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute(BARE_TABLE.format(suffix=" WITHOUT ROWID"))
        started = time.perf_counter()
        raw.execute("BEGIN")
        for lo in range(0, len(r.keys), BASELINE_BATCH):
            hi = lo + BASELINE_BATCH
            raw.executemany(
                "INSERT INTO bare_readings VALUES (?, ?, ?, ?)",
                zip(r.keys[lo:hi].tolist(), r.times_us[lo:hi].tolist(),
                    r.values[lo:hi].tolist(), r.flags[lo:hi].tolist(), strict=True),
            )
        raw.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return elapsed


def _postgres_baseline(schema: str, r: Readings) -> float:
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.exec_driver_sql("DROP TABLE IF EXISTS bare_readings")
            conn.exec_driver_sql(BARE_TABLE.format(suffix=""))
        started = time.perf_counter()
        with engine.begin() as conn:
            copy_binary(
                conn.connection.dbapi_connection,
                "COPY bare_readings (sensor_key, time_us, value, flags) FROM STDIN (FORMAT BINARY)",
                r.keys, r.times_us, r.values, r.flags,
            )
        elapsed = time.perf_counter() - started
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE bare_readings")
    finally:
        engine.dispose()
    return elapsed


@dataclass
class Result:
    backend: str
    layout: str
    readings: int
    ingest_s: float
    baseline_s: float
    parse_s: float
    baseline: str

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.ingest_s


def _ingest_once(url: str, schema: str | None, csv_path: Path, expected: int) -> float:
    """Ingest the file into a fresh store; seconds taken."""
    with TelemetryStore.open(url, schema=schema) as store:
        _register(store)
        started = time.perf_counter()
        summary = ingest_file(store, csv_path)
        elapsed = time.perf_counter() - started
    if summary.new != expected:
        raise RuntimeError(f"ingest stored {summary.new} readings, expected {expected}")
    return elapsed


def _drop_schemas(*names: str) -> None:
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


def bench(
    backend: str, layout: str, csv_path: Path, r: Readings, workdir: Path, repeat: int
) -> Result:
    """Baseline and ingest alternated ``repeat`` times, each into a fresh database; the best
    time of each side is kept (the usual estimator on a machine shared with others)."""
    ingest_times, baseline_times = [], []
    for i in range(repeat):
        tag = f"{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            db = workdir / f"store-{tag}.db"
            baseline_times.append(_sqlite_baseline(workdir / "bare.db", r))
            ingest_times.append(_ingest_once(f"sqlite:///{db}", None, csv_path, len(r.keys)))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            label = "executemany INSERT, bare table"
        else:
            schema = f"bench_csv_{tag}"
            try:
                baseline_times.append(_postgres_baseline(f"{schema}_bare", r))
                ingest_times.append(_ingest_once(PG_URL, schema, csv_path, len(r.keys)))
            finally:
                _drop_schemas(schema, f"{schema}_bare")
            label = "binary COPY, bare table"
        print(f"#   {backend} {layout} run {i + 1}: ingest {ingest_times[-1]:.1f} s, "
              f"baseline {baseline_times[-1]:.1f} s", flush=True)
    started = time.perf_counter()
    for _ in iter_chunks(read_header(csv_path)):
        pass
    parse_s = time.perf_counter() - started
    return Result(backend, layout, len(r.keys), min(ingest_times), min(baseline_times), parse_s,
                  label)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table; non-zero exit when a ratio is below 0.5."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_csv_ingest",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=float, default=10_000_000,
                        help="readings in the file (default 10 million)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--layout", choices=["wide", "long", "both"], default="wide")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternations of baseline and ingest; best of each (default 3)")
    args = parser.parse_args(argv)
    total = int(args.readings)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    layouts = ["wide", "long"] if args.layout == "both" else [args.layout]
    print(f"# bench_csv_ingest {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}  {machine_facts()}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="waterops-bench-csv-") as tmp:
        workdir = Path(tmp)
        for layout in layouts:
            csv_path = workdir / f"{layout}.csv"
            readings = write_file(csv_path, total, layout)
            size_mb = os.path.getsize(csv_path) / 1e6
            print(f"# {layout} file: {len(readings.keys):,} readings, {size_mb:,.0f} MB",
                  flush=True)
            for backend in backends:
                results.append(bench(backend, layout, csv_path, readings, workdir, args.repeat))
            csv_path.unlink()
    print()
    print("| CSV ingest | layout | readings | ingest [readings/s] | baseline "
          "| baseline [readings/s] | ratio | parse share |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r.backend} | {r.layout} | {r.readings:,} | {r.readings / r.ingest_s:,.0f} "
              f"| {r.baseline} | {r.readings / r.baseline_s:,.0f} | {r.ratio:.2f} "
              f"| {r.parse_s / r.ingest_s:.0%} |")
    return 0 if all(r.ratio >= 0.5 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
