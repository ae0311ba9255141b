"""Telemetry store speed: bulk ingest and resampling, as ratios to raw baselines in one run.

Run::

    .venv/bin/python -m benchmarks.bench_store                 # 10 million readings, both DBs
    .venv/bin/python -m benchmarks.bench_store --readings 1e6 --backend sqlite

What is compared (same process, same data, batches interleaved so that load from other
processes on a shared machine hits both sides alike):

- **Ingest** through ``TelemetryStore.write_reading_arrays`` (sensor ids → keys, checks,
  duplicate-skipping insert, one transaction per batch) against
  SQLite: a raw ``executemany`` of plain ``INSERT`` into a bare table with the same primary key;
  PostgreSQL: a raw binary ``COPY`` into a bare table with the same primary key (rows encoded
  by the same numpy encoder, the fastest way we know to feed COPY from arrays).
  Ratio = store readings/s ÷ baseline readings/s (goal ≥ 0.5).
- **Other write patterns** through the store alone (no baseline; rates to know):
  re-sending 1 million readings that are all stored already (PostgreSQL: the staged
  ``COPY`` + ``INSERT … ON CONFLICT`` way), and new readings in small batches of 100 (an MQTT
  message or an HTTP post: one transaction each).
- **Resample**: a year of 1-minute data of one sensor to hourly mean/min/max/count through
  ``TelemetryStore.resample`` against the hand-written SQL on the raw driver connection.
  Ratio = baseline time ÷ store time (1.0 = as fast as hand-written SQL).

SQLite works in a temporary directory, PostgreSQL in a temporary schema of
``WATEROPS_BENCH_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
both are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore
from waterops.store.bulk import copy_binary

PG_URL = os.environ.get(
    "WATEROPS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SENSORS = 1000
BATCH_READINGS = 500_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_US = int(T0.timestamp()) * 1_000_000
MINUTE_US = 60_000_000
BARE_TABLE = (
    "CREATE TABLE bare_readings (sensor_key integer, time_us bigint, value double precision, "
    "flags smallint, PRIMARY KEY (sensor_key, time_us)){suffix}"
)


@dataclass
class Batch:
    """One batch of readings, as a long CSV file or an HTTP batch would bring them."""

    sensor_ids: npt.NDArray[np.object_]
    keys: npt.NDArray[np.int64]
    times: npt.NDArray[np.datetime64]
    times_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    flags: npt.NDArray[np.int64]


def batches(total: int, seed: int = 1) -> Iterator[Batch]:
    """``total`` readings of :data:`SENSORS` sensors every minute, sensor by sensor."""
    rng = np.random.default_rng(seed)
    per_sensor = max(total // SENSORS, 1)
    names = np.array([f"S{k:05d}" for k in range(1, SENSORS + 1)], dtype=object)
    flat = np.arange(total, dtype=np.int64)
    for start in range(0, total, BATCH_READINGS):
        idx = flat[start : start + BATCH_READINGS]
        keys = idx // per_sensor + 1
        times_us = T0_US + (idx % per_sensor) * MINUTE_US
        yield Batch(
            sensor_ids=names[keys - 1],
            keys=keys,
            times=times_us.astype("datetime64[us]"),
            times_us=times_us,
            values=rng.normal(30.0, 3.0, len(idx)),
            flags=np.zeros(len(idx), dtype=np.int64),
        )


def _register_sensors(store: TelemetryStore) -> None:
    store.upsert_systems([WaterSystem("bench", "Benchmark system")])
    store.upsert_sensors(
        [Sensor(f"S{k:05d}", "bench", Quantity.PRESSURE) for k in range(1, SENSORS + 1)]
    )


@dataclass
class IngestResult:
    backend: str
    readings: int
    store_s: float
    baseline_s: float
    baseline: str
    resend_readings: int = 0
    resend_s: float = 0.0
    small_readings: int = 0
    small_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.store_s


def _interleaved(
    total: int, store_batch: Callable[[Batch], int], baseline_batch: Callable[[Batch], None]
) -> tuple[float, float]:
    store_s = baseline_s = 0.0
    stored = 0
    for i, batch in enumerate(batches(total)):
        runs: list[tuple[str, Callable[[], object]]] = [
            ("store", lambda b=batch: store_batch(b)),  # type: ignore[misc]
            ("baseline", lambda b=batch: baseline_batch(b)),  # type: ignore[misc]
        ]
        if i % 2:
            runs.reverse()
        for name, run in runs:
            started = time.perf_counter()
            result = run()
            elapsed = time.perf_counter() - started
            if name == "store":
                store_s += elapsed
                stored += int(result)  # type: ignore[call-overload]
            else:
                baseline_s += elapsed
    if stored != total:
        raise RuntimeError(f"the store reported {stored} new readings, expected {total}")
    return store_s, baseline_s


SMALL_BATCH = 100


def _other_patterns(store: TelemetryStore, result: IngestResult) -> None:
    """Time a re-send of already stored readings and small batches of new ones."""
    resend = min(result.readings, 1_000_000)
    started = time.perf_counter()
    again = sum(
        store.write_reading_arrays(b.sensor_ids, b.times, b.values, b.flags)
        for b in batches(resend)
    )
    result.resend_s, result.resend_readings = time.perf_counter() - started, resend
    if again != 0:
        raise RuntimeError(f"re-sent readings were stored again: {again}")
    store.upsert_sensors([Sensor("SMALL", "bench", Quantity.FLOW)])
    small = min(result.readings, 100_000)
    times = (T0_US + np.arange(small, dtype=np.int64) * MINUTE_US).astype("datetime64[us]")
    values = np.random.default_rng(5).uniform(0.0, 0.2, small)
    started = time.perf_counter()
    for i in range(0, small, SMALL_BATCH):
        store.write_reading_arrays("SMALL", times[i : i + SMALL_BATCH], values[i : i + SMALL_BATCH])
    result.small_s, result.small_readings = time.perf_counter() - started, small


def bench_sqlite_ingest(total: int, workdir: Path) -> IngestResult:
    """Store vs raw executemany into a bare SQLite table with the same key."""
    store = TelemetryStore.open(f"sqlite:///{workdir / 'store.db'}")
    _register_sensors(store)
    raw = sqlite3.connect(workdir / "bare.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute(BARE_TABLE.format(suffix=" WITHOUT ROWID"))
    insert = "INSERT INTO bare_readings VALUES (?, ?, ?, ?)"

    def baseline(b: Batch) -> None:
        raw.execute("BEGIN")
        raw.executemany(
            insert,
            zip(b.keys.tolist(), b.times_us.tolist(), b.values.tolist(), b.flags.tolist(),
                strict=True),
        )
        raw.execute("COMMIT")

    def through_store(b: Batch) -> int:
        return store.write_reading_arrays(b.sensor_ids, b.times, b.values, b.flags)

    try:
        store_s, baseline_s = _interleaved(total, through_store, baseline)
        stored = raw.execute("SELECT count(*) FROM bare_readings").fetchone()
        assert stored is not None and stored[0] == total
        result = IngestResult("SQLite", total, store_s, baseline_s,
                              "executemany INSERT, bare table")
        _other_patterns(store, result)
    finally:
        raw.close()
        store.close()
    return result


def bench_postgres_ingest(total: int, schema: str) -> IngestResult:
    """Store vs raw binary COPY into a bare PostgreSQL table with the same key."""
    store = TelemetryStore.open(PG_URL, schema=schema)
    _register_sensors(store)
    engine = store.engine
    with engine.begin() as conn:
        conn.exec_driver_sql(BARE_TABLE.format(suffix=""))
    copy_sql = "COPY bare_readings (sensor_key, time_us, value, flags) FROM STDIN (FORMAT BINARY)"

    def baseline(b: Batch) -> None:
        with engine.begin() as conn:
            copy_binary(conn.connection.dbapi_connection, copy_sql,
                        b.keys, b.times_us, b.values, b.flags)

    def through_store(b: Batch) -> int:
        return store.write_reading_arrays(b.sensor_ids, b.times, b.values, b.flags)

    try:
        store_s, baseline_s = _interleaved(total, through_store, baseline)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM bare_readings").scalar() == total
        result = IngestResult("PostgreSQL", total, store_s, baseline_s, "binary COPY, bare table")
        _other_patterns(store, result)
    finally:
        store.close()
    return result


@dataclass
class ResampleResult:
    backend: str
    readings: int
    buckets: int
    store_s: float
    baseline_s: float

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.store_s


HAND_WRITTEN = (
    "SELECT time_us / 3600000000 * 3600000000, avg(value), min(value), max(value), count(*) "
    "FROM readings WHERE sensor_key = {key} AND time_us >= {start} AND time_us < {end} "
    "GROUP BY time_us / 3600000000 ORDER BY 1"
)


def bench_resample(store: TelemetryStore, backend: str, repeats: int = 5) -> ResampleResult:
    """A year of 1-minute data of one sensor to hourly: store vs hand-written SQL (best of N)."""
    store.upsert_systems([WaterSystem("year", "Resample benchmark")])
    store.upsert_sensors([Sensor("YEAR-P", "year", Quantity.PRESSURE)])
    minutes = 365 * 1440
    times = (T0_US + np.arange(minutes, dtype=np.int64) * MINUTE_US).astype("datetime64[us]")
    values = np.random.default_rng(3).normal(30.0, 3.0, minutes)
    store.write_reading_arrays("YEAR-P", times, values)
    start, end = T0, T0 + timedelta(days=365)
    with store.engine.connect() as conn:
        key = conn.exec_driver_sql("SELECT key FROM sensors WHERE id = 'YEAR-P'").scalar_one()
    sql = HAND_WRITTEN.format(
        key=key, start=T0_US, end=T0_US + minutes * MINUTE_US
    )
    best_store = best_base = float("inf")
    buckets = 0
    for i in range(repeats * 2):
        started = time.perf_counter()
        if i % 2 == 0:
            frame = store.resample("YEAR-P", start, end, 3600)
            best_store = min(best_store, time.perf_counter() - started)
            buckets = len(frame)
        else:
            with store.engine.connect() as conn:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(sql)
                rows = cursor.fetchall()
                cursor.close()
            best_base = min(best_base, time.perf_counter() - started)
            if len(rows) != 365 * 24:
                raise RuntimeError(f"hand-written SQL gave {len(rows)} buckets")
    if buckets != 365 * 24:
        raise RuntimeError(f"store gave {buckets} buckets")
    return ResampleResult(backend, minutes, buckets, best_store, best_base)


def machine_facts() -> str:
    """One line about the machine, for the results file."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = "?"
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            pg = str(conn.exec_driver_sql("SHOW server_version").scalar())
        engine.dispose()
    except sa.exc.SQLAlchemyError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}, {platform.system()} "
        f"{platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print a table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=float, default=10_000_000,
                        help="readings to ingest per backend (default 10 million)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-resample", action="store_true", help="skip the resample benchmark")
    args = parser.parse_args(argv)
    total = int(args.readings)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"# bench_store {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}  {machine_facts()}")
    ingest: list[IngestResult] = []
    resample: list[ResampleResult] = []
    with tempfile.TemporaryDirectory(prefix="waterops-bench-") as tmp:
        for backend in backends:
            if backend == "sqlite":
                ingest.append(bench_sqlite_ingest(total, Path(tmp)))
                if not args.no_resample:
                    with TelemetryStore.open(f"sqlite:///{Path(tmp) / 'resample.db'}") as store:
                        resample.append(bench_resample(store, "SQLite"))
            else:
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                try:
                    ingest.append(bench_postgres_ingest(total, schema))
                    if not args.no_resample:
                        resample_schema = f"{schema}_r"
                        with TelemetryStore.open(PG_URL, schema=resample_schema) as store:
                            resample.append(bench_resample(store, "PostgreSQL"))
                finally:
                    engine = sa.create_engine(PG_URL)
                    with engine.begin() as conn:
                        for name in (schema, f"{schema}_r"):
                            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                    engine.dispose()
    print()
    print("| ingest | readings | store [readings/s] | baseline | baseline [readings/s] | ratio |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for r in ingest:
        print(f"| {r.backend} | {r.readings:,} | {r.readings / r.store_s:,.0f} | {r.baseline} | "
              f"{r.readings / r.baseline_s:,.0f} | {r.ratio:.2f} |")
    print()
    print("| other writes through the store | re-send, all stored already [readings/s] "
          f"| new, batches of {SMALL_BATCH} [readings/s] |")
    print("| --- | ---: | ---: |")
    for r in ingest:
        print(f"| {r.backend} | {r.resend_readings / r.resend_s:,.0f} "
              f"| {r.small_readings / r.small_s:,.0f} |")
    if resample:
        print()
        print("| resample 1 year of 1-min data to hourly | readings | store [s] "
              "| hand-written SQL [s] | ratio |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for q in resample:
            print(f"| {q.backend} | {q.readings:,} | {q.store_s:.3f} | {q.baseline_s:.3f} "
                  f"| {q.ratio:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
