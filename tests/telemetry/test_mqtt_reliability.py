"""Crash and restart: every reading published at QoS 1 is stored exactly once.

The ingest runs as a real subprocess (``python -m waterops ingest mqtt``) while a publisher
sends numbered readings at QoS 1. Mid-stream, (a) the ingest is killed with SIGKILL and
started again, (b) the broker is restarted, (c) the database server crashes (immediate
shutdown) and comes back. Afterwards every reading is in the store once, with its value.

The broker of these tests is a private Mosquitto on a free port (persistence on, in a temporary
directory) and the database of (c) a private PostgreSQL cluster: the machine's shared services
are never restarted. Missing binaries fail the tests with a message, never skip them.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

READINGS = 20_000
PER_MESSAGE = 50
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
TOPIC = "waterops/city/dma-1/P1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(done: Callable[[], bool], what: str, timeout_s: float = 90.0) -> None:
    """Poll ``done`` until true; fail naming ``what`` (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def require_binary(path: str | None, what: str, how: str) -> str:
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{what} is needed by the reliability tests but was not found; {how}",
                    pytrace=False)
    return path


class PrivateBroker:
    """A Mosquitto of the test alone, on a free port, keeping sessions across restarts."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_binary(
            shutil.which("mosquitto") or "/usr/sbin/mosquitto", "mosquitto",
            "install it (apt-get install mosquitto)",
        )
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        # max_queued_messages 0: no limit on what is kept for the ingest while it is away
        self.conf.write_text(
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 0\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf), "-v"],
                                     stdout=log, stderr=log)
        wait_until(self._listening, "the private broker to listen", 20)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            assert self.proc is not None and self.proc.poll() is None, "mosquitto exited"
            return False

    def stop(self) -> None:
        """Stop as an operator does (SIGTERM): the broker saves its sessions to disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


class PrivatePostgres:
    """A PostgreSQL cluster of the test alone (initdb in a temporary directory, free port)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        initdb = shutil.which("initdb") or (found[-1] if found else None)
        self.bin = Path(require_binary(initdb, "PostgreSQL's initdb",
                                       "install postgresql (apt-get install postgresql)")).parent
        # initdb refuses to run as root: run the server as the postgres user then
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.dir = Path(tempfile.mkdtemp(prefix="waterops-pg-"))
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop; ``immediate`` is a crash (no checkpoint, recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class IngestProcess:
    """``python -m waterops ingest mqtt`` as a subprocess, its log in ``workdir``."""

    def __init__(
        self, broker_url: str, database_url: str, workdir: Path, *, broker_from_env: bool = False
    ) -> None:
        self.args = [sys.executable, "-m", "waterops", "ingest", "mqtt",
                     "--client-id", f"test-ingest-{uuid.uuid4().hex[:8]}"]
        self.env = {**os.environ, "WATEROPS_DATABASE_URL": database_url,
                    "PYTHONUNBUFFERED": "1"}
        if broker_from_env:
            self.env["WATEROPS_MQTT_URL"] = broker_url
        else:
            self.args += ["--broker", broker_url]
        self.log = workdir / "ingest.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._subscribed_before = 0

    def start(self, *, wait: bool = True) -> None:
        """Start and wait for the subscription (its session then holds every message)."""
        self._subscribed_before = self.subscriptions()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        if wait:
            self.wait_subscribed()

    def subscriptions(self) -> int:
        return self.log.read_text().count("subscribed to") if self.log.exists() else 0

    def wait_subscribed(self) -> None:
        wait_until(lambda: self._log_count("subscribed to") > self._subscribed_before,
                   "the ingest to subscribe")

    def _log_count(self, text: str) -> int:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"the ingest exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return self.log.read_text().count(text)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no clean-up, no goodbye to the broker
        self.proc.wait(20)

    def terminate(self) -> str:
        """Stop cleanly (SIGTERM) and return the log."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(30) == 0, self.log.read_text()
        return self.log.read_text()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class NumberedPublisher(threading.Thread):
    """Publishes readings 0…n-1 of P1 (value = number) at QoS 1, riding out broker restarts.

    A message counts as sent when the broker acknowledged it; one that was not is sent again
    (the store keeps each reading once, so a repeat is harmless).
    """

    def __init__(self, broker_port: int, n: int = READINGS, bad_every: int = 0) -> None:
        super().__init__(daemon=True)
        self.n = n
        self.bad_every = bad_every
        self.sent = 0
        self.bad_sent: list[bytes] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", broker_port)
        self.client.loop_start()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for number, start in enumerate(range(0, self.n, PER_MESSAGE)):
                items = [{"time": (T0 + timedelta(seconds=i)).isoformat(), "value": float(i)}
                         for i in range(start, min(start + PER_MESSAGE, self.n))]
                self._publish(json.dumps({"readings": items}).encode())
                self.sent += len(items)
                if self.bad_every and number % self.bad_every == 0:
                    bad = f'{{"time": "{number}", "value": "broken {number}"}}'.encode()
                    self._publish(bad)
                    self.bad_sent.append(bad)
                time.sleep(0.004)  # a steady stream, so the faults land in the middle of it
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def _publish(self, payload: bytes) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                info = self.client.publish(TOPIC, payload, qos=1)
                info.wait_for_publish(timeout=2.0)
                if info.is_published():
                    return
            except (RuntimeError, ValueError):  # not connected right now: try again
                pass
            time.sleep(0.1)
        raise AssertionError("the broker did not acknowledge a message for 60 s")

    def finish(self) -> None:
        self.join(120)
        self.client.disconnect()
        self.client.loop_stop()
        assert not self.is_alive(), "the publisher did not finish"
        assert self.error is None, f"publisher failed: {self.error!r}"


def prepare_store(url: str) -> TelemetryStore:
    store = TelemetryStore.open(url)
    store.upsert_systems([WaterSystem("city", "City network")])
    store.upsert_sensors([Sensor("P1", "city", Quantity.PRESSURE, site_id=None)])
    return store


def stored_count(store: TelemetryStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM readings")).scalar_one())


def stored_count_or_zero(store: TelemetryStore) -> int:
    try:
        return stored_count(store)
    except sa.exc.OperationalError:  # the database is down for the moment
        return 0


def assert_each_reading_once(store: TelemetryStore, n: int = READINGS) -> None:
    frame = store.readings("P1")
    assert len(frame) == n, f"{len(frame)} readings stored, {n} published"
    assert frame["value"].tolist() == [float(i) for i in range(n)]
    assert frame["time"].iloc[0] == T0
    assert frame["time"].iloc[-1] == T0 + timedelta(seconds=n - 1)
    assert stored_count(store) == n  # nothing else, nothing twice


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    workdir = tmp_path / "broker"
    workdir.mkdir()
    private = PrivateBroker(workdir)
    private.start()
    try:
        yield private
    finally:
        private.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend (PostgreSQL: a fresh schema of the test server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.db'}"
    url, schema = request.getfixturevalue("postgres_schema")
    return f"{url}?options=-csearch_path%3D{schema}"


def test_ingest_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    broker: PrivateBroker, database_url: str, tmp_path: Path
) -> None:
    store = prepare_store(database_url)
    ingest = IngestProcess(broker.url, database_url, tmp_path)
    try:
        ingest.start()
        publisher = NumberedPublisher(broker.port, bad_every=40)
        publisher.start()
        wait_until(lambda: stored_count(store) >= READINGS // 4, "a quarter of the stream")
        ingest.kill()
        killed_at = stored_count(store)
        assert killed_at < READINGS, "the stream ended before the kill; slow the publisher"
        ingest.start()
        publisher.finish()
        wait_until(lambda: stored_count(store) >= READINGS, "every reading")
        log = ingest.terminate()
        assert_each_reading_once(store)
        # the bad messages were dead-lettered with their reason (a bad message received again
        # after the kill may be kept twice: dead letters are at least once)
        letters = store.dead_letters()
        assert set(letters["payload"]) == {b.decode() for b in publisher.bad_sent}
        assert letters["reason"].str.contains("no UTC offset|not ISO 8601").all()
        assert "readings received" in log
    finally:
        if ingest.alive():
            ingest.kill()
        store.close()


def test_broker_restarted_mid_stream(broker: PrivateBroker, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    store = prepare_store(url)
    ingest = IngestProcess(broker.url, url, tmp_path, broker_from_env=True)
    try:
        ingest.start()
        publisher = NumberedPublisher(broker.port)
        publisher.start()
        wait_until(lambda: stored_count(store) >= READINGS // 4, "a quarter of the stream")
        broker.stop()
        assert stored_count(store) < READINGS, "the stream ended before the restart"
        broker.start()
        publisher.finish()
        wait_until(lambda: stored_count(store) >= READINGS, "every reading")
        assert ingest.alive(), "the ingest must ride out a broker restart"
        log = ingest.terminate()
        assert log.count("subscribed to") >= 2  # it did reconnect
        assert_each_reading_once(store)
    finally:
        if ingest.alive():
            ingest.kill()
        store.close()


@pytest.mark.postgres
def test_database_restarted_mid_stream(broker: PrivateBroker, tmp_path: Path) -> None:
    postgres = PrivatePostgres()
    store: TelemetryStore | None = None
    ingest: IngestProcess | None = None
    try:
        postgres.start()
        store = prepare_store(postgres.url)
        ingest = IngestProcess(broker.url, postgres.url, tmp_path)
        ingest.start()
        publisher = NumberedPublisher(broker.port)
        publisher.start()
        opened = store
        wait_until(lambda: stored_count(opened) >= READINGS // 4, "a quarter of the stream")
        postgres.stop("immediate")  # a crash: no checkpoint, recovery at start
        time.sleep(1.5)  # the ingest meets the outage while the stream goes on
        postgres.start()
        publisher.finish()
        wait_until(lambda: stored_count_or_zero(opened) >= READINGS, "every reading")
        assert ingest.alive(), "the ingest must ride out a database restart"
        log = ingest.terminate()
        assert "will retry, not acknowledged" in log  # it did meet the outage
        assert_each_reading_once(store)
    finally:
        if ingest is not None and ingest.alive():
            ingest.kill()
        if store is not None:
            store.close()
        postgres.remove()


def test_ingest_started_before_the_broker_connects_when_it_comes_up(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    store = prepare_store(url)
    ingest = IngestProcess(broker.url, url, tmp_path)
    broker.stop()
    try:
        ingest.start(wait=False)
        time.sleep(1.0)  # the ingest is up and finds no broker
        assert ingest.alive() and ingest.subscriptions() == 0
        broker.start()
        ingest.wait_subscribed()
        publisher = NumberedPublisher(broker.port, n=500)
        publisher.start()
        publisher.finish()
        wait_until(lambda: stored_count(store) >= 500, "every reading")
        ingest.terminate()
        assert_each_reading_once(store, 500)
    finally:
        if ingest.alive():
            ingest.kill()
        store.close()
