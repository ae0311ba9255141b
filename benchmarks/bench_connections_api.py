"""Cost of the customer-service API over its store, as ratios to raw baselines in one process.

Run: ``.venv/bin/python -m benchmarks.bench_connections_api [--requests 300] [--backend both]``

What is measured (best of 3 rounds each, CPU and wall time):

- *read*: ``GET /api/v1/connections/{id}`` through the ASGI app (token check, role check,
  store read, JSON with problem-details machinery) against ``ConnectionsStore.application``
  alone (one SELECT by primary key).
- *advance*: ``POST /api/v1/connections/{id}/actions`` (pause, then resume: a locked read,
  the update, a timeline line and an audit line in one transaction, a notification) against a
  bare transaction updating one row.
- *read* again, against the floor of the HTTP stack itself: an in-process ``TestClient``
  round trip to an unknown route (404 problem details, no database), to tell the framework's
  share from waterops' own.
- *login*: ``POST /api/v1/auth/login`` against one ``argon2`` verify with the same parameters:
  the login's cost is meant to be the hash (that is what slows guessing).

Everything runs in a temporary directory and (PostgreSQL) a temporary schema, dropped after.
"""

from __future__ import annotations

import argparse
import io
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from waterops.api.app import build_services, create_app
from waterops.config import Settings
from waterops.model.accounts import Role
from waterops.service.connections import ApplicationForm

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PASSWORD = "benchmark password"


def best_of(rounds: int, work: Callable[[], None]) -> tuple[float, float]:
    """(best wall time, best CPU time) of ``rounds`` runs of ``work`` [s]."""
    walls, cpus = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def run_backend(name: str, url: str, schema: str | None, data_dir: Path, n: int) -> list[str]:
    services = build_services(
        Settings(data_dir=data_dir, database_url=url, mqtt_url=None, dask_address=None),
        database_schema=schema,
    )
    auth, connections = services.auth, services.connections
    admin = auth.create_administrator("bench-admin", PASSWORD)
    auth.create_staff(admin, "agent1", PASSWORD, Role.SERVICE_AGENT)
    customer = auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    doc = services.documents.upload(customer, "id.pdf", io.BytesIO(PDF))
    app_id = connections.apply(
        customer, ApplicationForm("standard", "1 Road", "+86 1", 15, doc.id)
    ).id
    client = TestClient(create_app(services=services))
    token = auth.login("agent1", PASSWORD, "bench").token
    headers = {"Authorization": f"Bearer {token}"}
    store = connections.store
    engine = services.accounts.engine

    def api_read() -> None:
        for _ in range(n):
            assert client.get(f"/api/v1/connections/{app_id}", headers=headers).status_code == 200

    def raw_read() -> None:
        for _ in range(n):
            store.application(app_id)

    def api_advance() -> None:
        for i in range(n):
            action = "pause" if i % 2 == 0 else "resume"
            answer = client.post(
                f"/api/v1/connections/{app_id}/actions", headers=headers, json={"action": action}
            )
            assert answer.status_code == 200, answer.text

    writer = engine.execution_options(waterops_write=True)

    def raw_advance() -> None:
        for i in range(n):
            with writer.begin() as conn:
                conn.execute(
                    sa.text("UPDATE connection_applications SET state = :s WHERE id = :i"),
                    {"s": "paused" if i % 2 == 0 else "application", "i": app_id},
                )

    def http_floor() -> None:
        for _ in range(n):
            assert client.get("/api/v1/no-such-route").status_code == 404

    logins = max(5, n // 20)

    def api_login() -> None:
        for _ in range(logins):
            body = {"username": "alice", "password": PASSWORD}
            assert client.post("/api/v1/auth/login", json=body).status_code == 200

    stored_hash = services.accounts.credentials("alice")
    assert stored_hash is not None

    def raw_verify() -> None:
        for _ in range(logins):
            auth.hasher.verify(stored_hash[1], PASSWORD)

    rows = []
    for label, count, ours, base, base_name in [
        ("read", n, api_read, raw_read, "store.application (1 SELECT)"),
        ("read", n, api_read, http_floor, "in-process HTTP round trip of a 404 (no database)"),
        ("advance", n, api_advance, raw_advance, "bare 1-row UPDATE transaction"),
        ("login", logins, api_login, raw_verify, "argon2 verify alone"),
    ]:
        ours(), base()  # warm up
        wall, cpu = best_of(3, ours)
        bwall, bcpu = best_of(3, base)
        rows.append(
            f"| {name} | {label} | {count} | {1e3 * wall / count:.2f} | {1e3 * cpu / count:.2f} "
            f"| {base_name} | {1e3 * bwall / count:.2f} | {bwall / wall:.2f} | {bcpu / cpu:.2f} |"
        )
    client.close()
    engine.dispose()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table; 0 (no pass/fail limit: ratios are reported)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    logging.getLogger("waterops.notifications").setLevel(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            rows += run_backend(
                "SQLite", f"sqlite:///{tmp}/bench.db", None, Path(tmp) / "d1", args.requests
            )
        if args.backend in ("postgresql", "both"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(PG_URL)
            try:
                rows += run_backend("PostgreSQL", PG_URL, schema, Path(tmp) / "d2", args.requests)
            finally:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    print(
        "| backend | operation | count | API [ms/op] | API CPU [ms/op] | baseline "
        "| baseline [ms/op] | ratio wall (baseline/API) | ratio CPU |"
    )
    print("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
