"""From ingest to an open page: ``POST /api/v1/telemetry/readings`` → ``reading`` event on
``GET /api/v1/stream``, through a real uvicorn server, p50 and p99.

Run: ``.venv/bin/python -m benchmarks.bench_stream_latency [--readings 300] [--rate 10]``

The API (SQLite in a temporary directory, the demo utility's 599 sensors registered) runs on
uvicorn in a thread of this process. A client holds the event stream open (``?token=``, as a
browser's ``EventSource`` does) and records when each reading's value arrives; another sends
one reading per request at ``--rate`` requests per second, each with a value of its own.

- **latency**: from just before the POST (each to another pressure sensor) is sent to the
  arrival of the ``reading`` event carrying its value (the HTTP ingest, the database commit,
  the event bus, the stream's batching of at most 4 events per second, uvicorn, the client's
  parser);
- **raw baseline**: the POST's own round trip (until the reading is committed and answered),
  measured on the same requests; the ratio tells what the live path adds to storing.

Target (issue 8): a reading appears on an open page within 1 s of ingest.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from waterops.api.app import create_app
from waterops.config import Settings
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.telemetry_store import TelemetryStore

PASSWORD = "benchmark password 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listen(url: str, token: str, arrived: dict[tuple[str, float], float],
           ready: threading.Event, stop: threading.Event) -> None:
    """Record the arrival time of every (sensor, value) on the stream."""
    with httpx.Client(timeout=None) as client, client.stream(
            "GET", f"{url}/api/v1/stream", params={"token": token}) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
                ready.set()
            elif line.startswith("data: ") and name == "reading":
                now = time.perf_counter()
                data = json.loads(line[6:])
                for sensor, value in zip(data["sensor_ids"], data["values"], strict=True):
                    arrived.setdefault((sensor, round(value, 6)), now)
            if stop.is_set():
                return


def run(readings: int, rate: float, data_dir: Path) -> dict[str, float]:
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bench.db'}",
                        mqtt_url=None, dask_address=None)
    app = create_app(settings)
    services = app.state.services
    layout = build_demo_utility()
    store = TelemetryStore(services.accounts.engine)
    store.upsert_systems(layout.systems)
    store.upsert_sites(layout.sites)
    store.upsert_sensors(layout.sensors)
    services.auth.create_administrator("bench-admin", PASSWORD)
    token = services.auth.login("bench-admin", PASSWORD, "bench").token
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    # a different pressure sensor for each reading: the stream sends each sensor's latest
    # value per event, so two readings of one sensor in one event would show as one
    sensors = [s.id for s in layout.sensors if s.quantity == "pressure"]
    arrived: dict[tuple[str, float], float] = {}
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=listen, args=(url, token, arrived, ready, stop),
                                daemon=True)
    listener.start()
    ready.wait(30)
    sent: dict[tuple[str, float], float] = {}
    answered: list[float] = []
    start = datetime.now(UTC) - timedelta(hours=1)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for k in range(readings):
            value = round(20.0 + k * 0.001, 6)
            sensor = sensors[k % len(sensors)]
            body = {"readings": [{"sensor": sensor, "value": value,
                                  "time": (start + timedelta(seconds=k)).isoformat()}]}
            t0 = time.perf_counter()
            sent[(sensor, value)] = t0
            answer = client.post("/api/v1/telemetry/readings", headers=headers, json=body)
            answered.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.text
            time.sleep(max(0.0, 1 / rate - (time.perf_counter() - t0)))
    deadline = time.monotonic() + 5
    while len(arrived) < readings and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    server.should_exit = True
    thread.join(timeout=10)
    latency = np.array([arrived[v] - t for v, t in sent.items() if v in arrived])
    post = np.array(answered)
    return {"received": len(latency), "sent": readings,
            "p50_ms": float(np.percentile(latency, 50) * 1e3),
            "p99_ms": float(np.percentile(latency, 99) * 1e3),
            "max_ms": float(latency.max() * 1e3),
            "post_p50_ms": float(np.percentile(post, 50) * 1e3),
            "post_p99_ms": float(np.percentile(post, 99) * 1e3)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--readings", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.readings, args.rate, Path(tmp))
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
          f"{args.readings} readings at {args.rate:g}/s, SQLite, uvicorn in process")
    print("| what | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| raw: POST round trip (stored, answered) | {r['post_p50_ms']:.1f} | "
          f"{r['post_p99_ms']:.1f} | |")
    print(f"| ingest -> `reading` event on the stream | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
          f"{r['max_ms']:.1f} |")
    print(f"received {r['received']} of {r['sent']}; ratio p50 stream/raw "
          f"{r['p50_ms'] / r['post_p50_ms']:.1f}; target p99 < 1000 ms -> "
          f"{'met' if r['p99_ms'] < 1000 and r['received'] == r['sent'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
