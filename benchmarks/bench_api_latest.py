"""``GET /api/v1/telemetry/latest`` against a bare FastAPI route returning the same rows from
the same database, in one process.

Run: ``.venv/bin/python -m benchmarks.bench_api_latest [--requests 200] [--backend sqlite]``

The database (SQLite in a temporary directory, or a temporary PostgreSQL schema) holds the
demo utility's 599 sensors with ``--hours`` of 5-minute readings each. Both apps are called
through ``TestClient`` (in process, the same HTTP stack):

- **raw**: a bare FastAPI app with one route running the store's own latest-reading query
  (:func:`waterops.store.queries.latest_query`) on the same engine and returning its rows as
  a list of dicts (``sensor_id``, ``time``, ``value``, ``flags``);
- **api**: the waterops route: bearer-token check, role check, the same query through
  :meth:`TelemetryStore.latest`, units from the sensor registry, the ``LatestPublic`` model.

Rounds are interleaved; the best round of each is reported (ms per request, and the ratio).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from waterops.api.app import create_app
from waterops.config import Settings
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import queries
from waterops.store.telemetry_store import TelemetryStore
from waterops.store.timecodes import us_to_index

PASSWORD = "benchmark password 1"


def fill(store: TelemetryStore, hours: float) -> int:
    """The demo utility's sensors with 5-minute readings; how many readings."""
    layout = build_demo_utility()
    store.upsert_systems(layout.systems)
    store.upsert_sites(layout.sites)
    store.upsert_sensors(layout.sensors)
    ids = np.array([s.id for s in layout.sensors], dtype=object)
    rng = np.random.default_rng(1)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    steps = int(hours * 12)
    for k in range(steps):
        at = np.datetime64((start + timedelta(minutes=5 * k)).replace(tzinfo=None), "us")
        store.write_reading_arrays(ids, np.full(len(ids), at), rng.normal(30, 5, len(ids)))
    return steps * len(ids)


def bare_app(engine: sa.Engine) -> FastAPI:
    """One route: the latest-reading query, rows as dicts."""
    app = FastAPI()
    query = queries.latest_query(False)

    @app.get("/latest")
    def latest() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        times = us_to_index([r.time_us for r in rows])
        return [{"sensor_id": r.sensor_id, "time": t.to_pydatetime(), "value": r.value,
                 "flags": r.flags} for r, t in zip(rows, times, strict=True)]

    return app


def timed(call: Callable[[], Any], n: int) -> float:
    """Wall seconds per call over ``n`` calls."""
    begin = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - begin) / n


def run(url: str, schema: str | None, data_dir: Path, requests: int, hours: float,
        rounds: int) -> dict[str, float]:
    """Best ms per request of raw and api; rows returned."""
    settings = Settings(data_dir=data_dir, database_url=url, mqtt_url=None, dask_address=None)
    app = create_app(settings, database_schema=schema)
    services = app.state.services
    engine = services.accounts.engine
    readings = fill(TelemetryStore(engine), hours)
    services.auth.create_administrator("bench-admin", PASSWORD)
    with TestClient(app) as api, TestClient(bare_app(engine)) as raw:
        token = api.post("/api/v1/auth/login",
                         json={"username": "bench-admin", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        ours = api.get("/api/v1/telemetry/latest", headers=headers).json()["items"]
        theirs = raw.get("/latest").json()
        assert len(ours) == len(theirs) > 0
        assert {r["sensor_id"]: r["value"] for r in ours} == {
            r["sensor_id"]: r["value"] for r in theirs}
        best = {"raw": float("inf"), "api": float("inf")}
        for _ in range(rounds):
            best["raw"] = min(best["raw"], timed(lambda: raw.get("/latest"), requests))
            best["api"] = min(best["api"], timed(
                lambda: api.get("/api/v1/telemetry/latest", headers=headers), requests))
    engine.dispose()
    return {"raw_ms": best["raw"] * 1e3, "api_ms": best["api"] * 1e3, "rows": len(ours),
            "readings": readings}


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
          f"{args.requests} requests x best of {args.rounds} rounds")
    print("| backend | rows | readings in db | raw route ms | /telemetry/latest ms | x raw |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                result = run(f"sqlite:///{Path(tmp) / 'bench.db'}", None, Path(tmp),
                             args.requests, args.hours, args.rounds)
            else:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(args.postgres_url)
                with admin.begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                try:
                    result = run(args.postgres_url, schema, Path(tmp), args.requests,
                                 args.hours, args.rounds)
                finally:
                    with admin.begin() as conn:
                        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
        print(f"| {backend} | {result['rows']:.0f} | {result['readings']:,.0f} | "
              f"{result['raw_ms']:.2f} | {result['api_ms']:.2f} | "
              f"{result['api_ms'] / result['raw_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
