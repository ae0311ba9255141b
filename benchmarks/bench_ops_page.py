"""The operations centre in headless Chromium: time to interactive with the whole demo
network, and the latency of a reading from ingest to the open page.

Run: ``.venv/bin/python -m benchmarks.bench_ops_page [--runs 7] [--readings 40]``

Set-up (not timed): the live demo (simulator, alarm feed, twin) runs until the twin has its
first state and is then paused, so the map has the twin's pressures to colour 3,964 pipes,
71 pumps and 4 valves by, and nothing else competes for the 2 cores while measuring. The web
application is served by uvicorn in a thread of this process; Debian's Chromium is driven by
Playwright (as in tests/web).

1. **Time to interactive** of ``/ops#map``: navigation start → the map drawn (every link in
   its colour bin, markers, legend) *and* the KPI tiles filled, from the page's own marks
   (``window.waterops.marks``, ``performance.now()`` since navigation start), in a fresh
   browser context each run (cold cache: plotly.js — the 1.6 MB gl2d bundle the page
   loads — is fetched and parsed every time). **Raw baseline**, interleaved: a bare page
   that loads the same plotly.js, fetches
   the same ``/network/map`` and draws every link as one grey scattergl trace, nothing else
   — the least any page showing this network does. Reported: median and max of each, ratio.
2. **Reading → page latency**: a reading of ``P-JUNCTION-75`` is POSTed to
   ``/api/v1/telemetry/readings`` (the HTTP batch ingest); the time is taken just before the
   request and when the open page's stream handler has it (``Date.now()`` in the page, same
   machine clock). **Raw baseline**, for the same readings at the same time: a bare SSE client
   (httpx, in a thread of this process) on ``/api/v1/stream``. Both include the stream's
   coalescing of readings (at most one ``reading`` event per 0.25 s). Reported: p50, p99,
   ratio of the p50s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi.responses import HTMLResponse

from waterops.cli.demo_web import DemoRun
from waterops.config import Settings
from waterops.service.simulator import SimulatorConfig
from waterops.service.virtual_utility import build_demo_utility

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SENSOR = "P-JUNCTION-75"

BARE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bare</title>
<script src="/static/vendor/plotly-gl2d.min.js"></script></head><body><div id="map"
style="width:1000px;height:600px"></div><script>
(async () => {
  const token = sessionStorage.getItem("waterops.token");
  const net = await (await fetch("/api/v1/network/map",
                                 {headers: {Authorization: "Bearer " + token}})).json();
  const at = new Map(net.node_ids.map((id, i) => [id, i]));
  const x = [], y = [];
  net.link_ids.forEach((_, i) => {
    const a = at.get(net.link_from[i]), b = at.get(net.link_to[i]);
    x.push(net.node_x[a], ...(net.link_vertices[i] || []).map((p) => p[0]), net.node_x[b], null);
    y.push(net.node_y[a], ...(net.link_vertices[i] || []).map((p) => p[1]), net.node_y[b], null);
  });
  await Plotly.newPlot("map", [{type: "scattergl", mode: "lines", x, y,
                                line: {color: "#888", width: 1}}]);
  window.bareDone = performance.now();
})();
</script></body></html>"""


def start_demo(folder: Path) -> tuple[DemoRun, Any]:
    """The live demo until the twin's first state, then paused; answers (run, app)."""
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'bench.db'}",
                        mqtt_url=None, dask_address=None)
    start = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).replace(
        hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    run = DemoRun(settings, build_demo_utility(),
                  SimulatorConfig(seed=5, start=start, tracer=False), 1e9)
    app = run.start()
    run.start_simulator()
    deadline = time.monotonic() + 300
    while run.live.twin_state is None or run.live.simulator.time_s < 3600:  # type: ignore[union-attr]
        if time.monotonic() > deadline or run.finished.is_set():
            raise RuntimeError("the demo's twin computed no state in 300 s")
        time.sleep(0.2)
    run.stop.set()
    run.finished.wait(60)

    @app.get("/bench/bare", include_in_schema=False)
    def bare() -> HTMLResponse:
        return HTMLResponse(BARE_PAGE)

    @app.get("/bench/plotly", include_in_schema=False)
    def plotly_only() -> HTMLResponse:
        return HTMLResponse(PLOTLY_ONLY)

    return run, app


class Server:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def account(app: Any, role: str, name: str) -> tuple[str, str]:
    """A staff account: (user name, password)."""
    from waterops.model.accounts import Role

    auth = app.state.services.auth
    password = "bench-password-1"
    admin = auth.create_administrator(f"bench-root-{name}", password)
    if role == "administrator":
        return admin.username, password
    auth.create_staff(admin, name, password, Role(role))
    return name, password


def session_script(base: str, username: str, password: str) -> tuple[str, str]:
    """(an init script putting a fresh session into sessionStorage as the log-in page does,
    the token)."""
    answer = httpx.post(f"{base}/api/v1/auth/login",
                        json={"username": username, "password": password}).json()
    return (f"sessionStorage.setItem('waterops.token', {json.dumps(answer['access_token'])});"
            f"sessionStorage.setItem('waterops.user', {json.dumps(json.dumps(answer['user']))});"
            "localStorage.setItem('waterops.lang', 'en');", answer["access_token"])


PLOTLY_ONLY = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>js</title>
<script src="/static/vendor/plotly-gl2d.min.js"></script></head><body>
<script>window.bareDone = performance.now();</script></body></html>"""


def time_to_interactive(browser: Any, base: str, script: str,
                        runs: int) -> dict[str, list[float]]:
    """Interleaved runs of /ops#map, the bare page and plotly.js alone, each loaded twice in a
    fresh context (cold: nothing cached; warm: the second load, HTTP and code caches filled):
    milliseconds from navigation start."""
    out: dict[str, list[float]] = {f"{k}_{c}": [] for k in ("ops", "bare", "plotly")
                                   for c in ("cold", "warm")}
    for _ in range(runs):
        for kind in ("ops", "bare", "plotly"):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(script)
            page = context.new_page()
            for cache in ("cold", "warm"):
                if kind == "ops":
                    if cache == "cold":
                        page.goto(f"{base}/ops#map")
                    else:  # a reload: going to the same address with #map only scrolls
                        page.reload()
                    page.wait_for_function("window.waterops && window.waterops.marks.map "
                                           "&& window.waterops.marks.kpis", timeout=60_000)
                    marks = page.evaluate("window.waterops.marks")
                    drawn = page.eval_on_selector("#map", "e => Number(e.dataset.linksDrawn)")
                    if drawn < 4000:
                        raise RuntimeError(f"only {drawn} links drawn")
                    out[f"ops_{cache}"].append(max(marks["map"], marks["kpis"]))
                else:
                    if cache == "cold":
                        page.goto(f"{base}/bench/{kind}")
                    else:
                        page.reload()
                    page.wait_for_function("window.bareDone", timeout=60_000)
                    out[f"{kind}_{cache}"].append(page.evaluate("window.bareDone"))
            context.close()
    return out


class RawStream:
    """A bare SSE client: the wall time each value of SENSOR arrived."""

    def __init__(self, base: str, token: str) -> None:
        self.seen: dict[float, float] = {}
        self.ready = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self.run, args=(base, token), daemon=True)
        self.thread.start()

    def run(self, base: str, token: str) -> None:
        with httpx.Client(timeout=None) as client, client.stream(
                "GET", f"{base}/api/v1/stream", params={"token": token}) as response:
            event = ""
            for line in response.iter_lines():
                if self.stop:
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "hello":
                        self.ready.set()
                elif line.startswith("data:") and event == "reading":
                    now = time.time()
                    data = json.loads(line[5:])
                    for sensor, value in zip(data["sensor_ids"], data["values"], strict=True):
                        if sensor == SENSOR:
                            self.seen.setdefault(round(value, 6), now)


def reading_latency(browser: Any, base: str, script: str, admin: dict[str, str], token: str,
                    count: int) -> dict[str, list[float]]:
    """Milliseconds from POST to the page and to the raw client, per reading."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(script)
    page = context.new_page()
    page.goto(f"{base}/ops#sensors/{SENSOR}")
    page.wait_for_selector("#live-state[data-state='on']", timeout=60_000)
    raw = RawStream(base, token)
    raw.ready.wait(30)
    out: dict[str, list[float]] = {"page": [], "raw": []}
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
        for k in range(count):
            value = round(30.0 + 0.001 * (k + 1), 6)
            at = (t0 + timedelta(seconds=k)).isoformat()
            sent = time.time()
            answer = client.post("/api/v1/telemetry/readings",
                                 json={"readings": [{"sensor": SENSOR, "time": at,
                                                     "value": value}]})
            answer.raise_for_status()
            page.wait_for_function(
                f"(window.waterops.readings['{SENSOR}'] || {{}}).value === {value}",
                timeout=30_000)
            arrived = page.evaluate(f"window.waterops.readings['{SENSOR}'].arrived") / 1000
            deadline = time.time() + 10
            while value not in raw.seen and time.time() < deadline:
                time.sleep(0.005)
            out["page"].append((arrived - sent) * 1000)
            out["raw"].append((raw.seen[value] - sent) * 1000)
            time.sleep(0.3)  # let the stream's 0.25 s coalescing window pass
    raw.stop = True
    context.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="contexts of each kind")
    parser.add_argument("--readings", type=int, default=40, help="readings ingested")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        setup = time.perf_counter()
        run, app = start_demo(Path(tmp))
        try:
            with Server(app) as base, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS, headless=True)
                user, password = account(app, "dispatcher", "bench-dispatcher")
                admin_user, admin_password = account(app, "administrator", "x")
                script, token = session_script(base, user, password)
                admin_token = httpx.post(f"{base}/api/v1/auth/login", json={
                    "username": admin_user, "password": admin_password}).json()["access_token"]
                print(f"set-up (demo to its first twin state, server, browser): "
                      f"{time.perf_counter() - setup:.1f} s")
                tti = time_to_interactive(browser, base, script, args.runs)
                latency = reading_latency(browser, base, script,
                                          {"Authorization": f"Bearer {admin_token}"}, token,
                                          args.readings)
                browser.close()
        finally:
            run.close()
    page50, raw50 = pct(latency["page"], 0.5), pct(latency["raw"], 0.5)
    med = {k: statistics.median(v) for k, v in tti.items()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, Chromium headless, "
          f"Python {platform.python_version()}")
    for cache in ("cold", "warm"):
        ops, bare = med[f"ops_{cache}"], med[f"bare_{cache}"]
        print(f"time to interactive /ops#map, {cache} ({args.runs} loads): median {ops:.0f} ms, "
              f"max {max(tti[f'ops_{cache}']):.0f} ms")
        print(f"  raw baseline (bare page: plotly.js + /network/map + one trace): median "
              f"{bare:.0f} ms; ratio {ops / bare:.2f}; plotly.js alone: median "
              f"{med[f'plotly_{cache}']:.0f} ms")
    print(f"reading -> page ({args.readings} readings): p50 {page50:.0f} ms, "
          f"p99 {pct(latency['page'], 0.99):.0f} ms")
    print(f"  raw baseline (bare SSE client): p50 {raw50:.0f} ms, "
          f"p99 {pct(latency['raw'], 0.99):.0f} ms; ratio of p50 {page50 / raw50:.2f}")


if __name__ == "__main__":
    main()
