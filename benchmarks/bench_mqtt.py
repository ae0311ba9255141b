"""MQTT ingest into PostgreSQL through the local Mosquitto, against a bare counting subscriber.

Run: ``.venv/bin/python -m benchmarks.bench_mqtt [--readings 1000000] [--per-message 1000]``

What is compared, on the same messages, the same broker and the same QoS (1):

1. **bare**: a paho subscriber (MQTT 5, same receive maximum) that only counts messages and
   lets paho acknowledge them on receipt. The most any subscriber can get from this broker
   and this publisher.
2. **ingest**: :class:`waterops.telemetry.mqtt_ingest.MqttIngest` parsing and validating every
   reading, writing it to PostgreSQL (a fresh schema of the ``test`` database, dropped after)
   and acknowledging each message only after its commit.

A separate publisher process (so it has the other core) prepares every message first, then
publishes them at QoS 1 as fast as the broker takes them. Payload shape: batches on
``waterops/bench/batch``, ``{"readings": [{"sensor": "BP-042", "time":
"2026-01-01T00:00:07+00:00", "value": 31.27...}, ...]}`` with ``--per-message`` readings each,
spread over ``--sensors`` pressure sensors. Readings/s is counted from the first message the
consumer receives to the last reading counted (bare) or committed (ingest). "None lost" is
checked by counting the rows in the database.

The limit: the ingest sustains at least 20,000 readings/s with none lost. Mosquitto's default
``max_queued_messages`` (1000) bounds what a broker buffers for a slow subscriber, so the run
publishes at most that many messages (raise ``--per-message`` for more readings).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore
from waterops.telemetry.mqtt_ingest import BrokerAddress, MqttIngest, parse_broker_url
from waterops.telemetry.payloads import PayloadLimits

TOPIC = "waterops/bench/batch"
LIMIT_READINGS_PER_S = 20_000.0
RECEIVE_MAXIMUM = 1000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_payloads(readings: int, per_message: int, sensors: int) -> list[bytes]:
    """The messages of the run: reading i is sensor i % sensors at T0 + (i // sensors) s."""
    rng = np.random.default_rng(7)
    values = rng.normal(30.0, 3.0, readings).tolist()
    stamps: dict[int, str] = {}
    payloads = []
    for start in range(0, readings, per_message):
        items = []
        for i in range(start, min(start + per_message, readings)):
            second = i // sensors
            if second not in stamps:
                stamps[second] = (T0 + timedelta(seconds=second)).isoformat()
            items.append({"sensor": f"BP-{i % sensors:03d}", "time": stamps[second],
                          "value": values[i]})
        payloads.append(json.dumps({"readings": items}).encode())
    return payloads


def publish_all(broker: tuple[str, int], readings: int, per_message: int, sensors: int,
                ready: Any, go: Any) -> None:
    """The publisher process: prepare the messages, wait for ``go``, publish them at QoS 1."""
    payloads = make_payloads(readings, per_message, sensors)
    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect(*broker)
    client.loop_start()
    ready.set()
    go.wait()
    infos = [client.publish(TOPIC, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


class Publisher:
    """Runs :func:`publish_all` in a spawned process."""

    def __init__(self, broker: BrokerAddress, readings: int, per_message: int, sensors: int):
        ctx = mp.get_context("spawn")
        self.ready, self.go = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(
            target=publish_all,
            args=((broker.host, broker.port), readings, per_message, sensors, self.ready, self.go),
        )
        self.proc.start()
        if not self.ready.wait(300):
            raise RuntimeError("the publisher did not get ready")

    def start(self) -> None:
        self.go.set()

    def join(self) -> None:
        self.proc.join(300)


def _connect_properties() -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 60
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    return props


def run_bare(broker: BrokerAddress, args: argparse.Namespace) -> float:
    """Seconds for the bare subscriber to receive every message."""
    messages = -(-args.readings // args.per_message)
    publisher = Publisher(broker, args.readings, args.per_message, args.sensors)
    count = 0
    first = last = 0.0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_c: Any, _u: Any, _msg: mqtt.MQTTMessage) -> None:
        nonlocal count, first, last
        if count == 0:
            first = time.perf_counter()
        count += 1
        if count == messages:
            last = time.perf_counter()
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(broker.host, broker.port, clean_start=True, properties=_connect_properties())
    client.subscribe(TOPIC, qos=1)
    client.loop_start()
    if not subscribed.wait(30):
        raise RuntimeError("bare subscriber: no SUBACK")
    publisher.start()
    finished = done.wait(600)
    publisher.join()
    client.disconnect()
    client.loop_stop()
    if not finished:
        raise RuntimeError(f"bare subscriber got {count} of {messages} messages")
    return last - first


class TimedIngest(MqttIngest):
    """The ingest, noting when its first message arrived."""

    first_message_at = 0.0

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not self.first_message_at:
            self.first_message_at = time.perf_counter()
        super()._on_message(client, userdata, msg)


@dataclass
class IngestRun:
    seconds: float
    stored: int
    in_database: int
    dead_letters: int
    transactions: int


def run_ingest(broker: BrokerAddress, store: TelemetryStore, args: argparse.Namespace) -> IngestRun:
    """Seconds for the ingest to commit every reading, and what ended up in the database."""
    publisher = Publisher(broker, args.readings, args.per_message, args.sensors)
    ingest = TimedIngest(
        broker, store, client_id=f"bench-ingest-{uuid.uuid4().hex[:8]}", session_expiry_s=60,
        receive_maximum=RECEIVE_MAXIMUM, limits=PayloadLimits.at(max_age_s=100 * 365 * 86400.0),
    )
    transactions = 0
    original = ingest._commit_and_ack

    def counted(*a: Any, **k: Any) -> None:
        nonlocal transactions
        transactions += 1
        original(*a, **k)

    ingest._commit_and_ack = counted  # type: ignore[method-assign]
    stop = threading.Event()
    ingest.start()
    worker = threading.Thread(target=ingest.run, args=(stop,), kwargs={"report_every_s": 1e9})
    worker.start()
    try:
        if not ingest.connected.wait(30):
            raise RuntimeError("ingest did not connect")
        time.sleep(0.5)  # the SUBACK
        publisher.start()
        deadline = time.monotonic() + 600
        while ingest.counters.received < args.readings and time.monotonic() < deadline:
            time.sleep(0.002)
        finished = time.perf_counter()
    finally:
        stop.set()
        worker.join()
        ingest.stop()
        publisher.join()
    with store.engine.connect() as conn:
        in_db = int(conn.execute(sa.text("SELECT count(*) FROM readings")).scalar_one())
    return IngestRun(finished - ingest.first_message_at, ingest.counters.stored, in_db,
                     store.count_dead_letters(), transactions)


def machine_facts(store: TelemetryStore) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with store.engine.connect() as conn:
        pg = conn.execute(sa.text("SHOW server_version")).scalar_one()
    return (f"{cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
            f"paho-mqtt {mqtt.__version__ if hasattr(mqtt, '__version__') else '2'}, "
            f"PostgreSQL {pg}, {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its table; non-zero when the ingest misses its limit."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_mqtt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--per-message", type=int, default=1000)
    parser.add_argument("--sensors", type=int, default=100)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    broker = parse_broker_url(args.broker)
    schema = f"bench_mqtt_{uuid.uuid4().hex[:8]}"
    store = TelemetryStore.open(args.database_url, schema=schema)
    try:
        store.upsert_systems([WaterSystem("bench", "MQTT benchmark")])
        store.upsert_sensors([Sensor(f"BP-{i:03d}", "bench", Quantity.PRESSURE)
                              for i in range(args.sensors)])
        print(f"# bench_mqtt {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}  {machine_facts(store)}")
        print(f"# {args.readings:,} readings, {args.per_message} per message "
              f"({-(-args.readings // args.per_message):,} messages), {args.sensors} sensors, "
              f"QoS 1, broker {args.broker}", flush=True)
        bare_s = run_bare(broker, args)
        run = run_ingest(broker, store, args)
    finally:
        store.close()
        engine = sa.create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    bare_rate = args.readings / bare_s
    ingest_rate = args.readings / run.seconds
    lost = args.readings - run.in_database
    print()
    print("| consumer | readings | seconds | readings/s | ratio to bare | in database | lost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| bare paho subscriber (counts) | {args.readings:,} | {bare_s:.2f} | "
          f"{bare_rate:,.0f} | 1.00 | - | - |")
    print(f"| waterops ingest -> PostgreSQL | {args.readings:,} | {run.seconds:.2f} | "
          f"{ingest_rate:,.0f} | {ingest_rate / bare_rate:.2f} | {run.in_database:,} | {lost} |")
    print(f"\n{run.transactions} store transactions, {run.dead_letters} dead letters; "
          f"limit {LIMIT_READINGS_PER_S:,.0f} readings/s, none lost")
    ok = ingest_rate >= LIMIT_READINGS_PER_S and lost == 0 and run.dead_letters == 0
    print("PASS" if ok else "MISSED THE LIMIT")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
