"""MQTT ingest through the real Mosquitto into the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import typer
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from waterops.cli.ingest_mqtt import add_commands
from waterops.cli.main import main
from waterops.errors import ConfigError
from waterops.model.telemetry import QualityFlag, Quantity, Sensor
from waterops.store import TelemetryStore
from waterops.telemetry import mqtt_ingest
from waterops.telemetry.http_ingest import SensorRegistry
from waterops.telemetry.mqtt_ingest import BrokerAddress, MqttIngest, parse_broker_url

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def wait_until(done: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``done`` until true; fail naming ``what`` (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running_ingest(
    store: TelemetryStore, broker: tuple[str, int], client_id: str
) -> Iterator[MqttIngest]:
    """An in-process ingest (short session expiry so the shared broker forgets it)."""
    ingest = MqttIngest(
        BrokerAddress(*broker), store, client_id=client_id, session_expiry_s=120,
        flush_interval_s=0.02,
    )
    ingest.registry = SensorRegistry(store, max_age_s=3600, min_reload_interval_s=0)
    stop = threading.Event()
    ingest.start()
    worker = threading.Thread(target=ingest.run, args=(stop,), daemon=True)
    worker.start()
    try:
        assert ingest.connected.wait(10), "ingest did not connect to the broker"
        yield ingest
    finally:
        stop.set()
        worker.join(10)
        ingest.stop()


@contextmanager
def publisher(broker: tuple[str, int]) -> Iterator[Callable[[str, bytes | str], None]]:
    """``publish(topic, payload)`` at QoS 1, returning when the broker has acknowledged it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*broker)
    client.loop_start()

    def publish(topic: str, payload: bytes | str) -> None:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published(), f"broker did not acknowledge a message on {topic}"

    try:
        yield publish
    finally:
        client.disconnect()
        client.loop_stop()


def reading(sensor: str, minutes: int, value: object, unit: str | None = None) -> str:
    item: dict[str, object] = {
        "sensor": sensor, "time": (T0 + timedelta(minutes=minutes)).isoformat(), "value": value,
    }
    if unit is not None:
        item["unit"] = unit
    return json.dumps(item)


def test_bad_payloads_are_dead_lettered_and_the_stream_goes_on(
    city_store: TelemetryStore, mqtt_broker: tuple[str, int]
) -> None:
    cid = f"test-ingest-{uuid.uuid4().hex[:8]}"
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    bad = {
        "not json": ("waterops/city/dma-1/P1", b"{oops"),
        "not an object": ("waterops/city/dma-1/P1", b"[1, 2]"),
        "wrong type": ("waterops/city/dma-1/P1", reading("P1", 1, "high").encode()),
        "unknown sensor": ("waterops/city/dma-1/X9", reading("X9", 1, 1.0).encode()),
        "NaN": ("waterops/city/dma-1/P1", reading("P1", 2, float("nan")).encode()),
        "future": ("waterops/city/dma-1/P1",
                   json.dumps({"sensor": "P1", "time": future, "value": 1}).encode()),
        "past": ("waterops/city/dma-1/P1",
                 json.dumps({"sensor": "P1", "time": "2001-01-01T00:00:00Z", "value": 1}).encode()),
        "unknown unit": ("waterops/city/dma-1/P1", reading("P1", 3, 1.0, "furlong").encode()),
        "single on batch topic": ("waterops/city/batch", reading("P1", 4, 1.0).encode()),
    }
    with running_ingest(city_store, mqtt_broker, cid) as ingest, publisher(mqtt_broker) as pub:
        pub("waterops/city/dma-1/P1", reading("P1", 0, 3.0, "bar"))
        for topic, payload in bad.values():
            pub(topic, payload)
        batch = {"readings": [json.loads(reading("F1", m, 10.0 + m, "L/s")) for m in range(5)]
                 + [json.loads(reading("F1", 5, "x"))]}
        pub("waterops/city/batch", json.dumps(batch))
        pub("waterops/city/dma-1/P1", reading("P1", 10, 31.0))
        wait_until(lambda: ingest.counters.messages == len(bad) + 3, "all messages processed")
        counters = ingest.counters
    assert (counters.stored, counters.rejected) == (7, len(bad) + 1)
    assert counters.acknowledged_messages == len(bad) + 3
    p1 = city_store.readings("P1")
    assert p1["value"].tolist() == pytest.approx([30.591486, 31.0])
    assert p1["flags"].tolist() == [0, QualityFlag.GAP]  # 10 min of silence, 60 s expected
    assert city_store.readings("F1")["value"].tolist() == pytest.approx(
        [0.010, 0.011, 0.012, 0.013, 0.014]
    )
    letters = city_store.dead_letters()
    assert len(letters) == len(bad) + 1
    reasons = " | ".join(letters["reason"])
    for expected in ("not JSON", "must be a JSON object", "must be a number",
                     "unknown sensor 'X9'", "not a finite", "in the future", "days old",
                     "unknown unit 'furlong'", "a batch topic needs"):
        assert expected in reasons
    assert "waterops/city/batch#5" in letters["source"].tolist()


def test_messages_sent_while_the_ingest_is_down_arrive_on_restart(
    city_store: TelemetryStore, mqtt_broker: tuple[str, int]
) -> None:
    cid = f"test-ingest-{uuid.uuid4().hex[:8]}"
    with running_ingest(city_store, mqtt_broker, cid):
        pass  # registers the persistent session and its subscriptions
    with publisher(mqtt_broker) as pub:
        for m in range(50):
            pub("waterops/city/dma-1/P1", reading("P1", m, float(m)))
    with running_ingest(city_store, mqtt_broker, cid) as ingest:
        wait_until(lambda: ingest.counters.stored == 50, "the queued messages")
    assert city_store.readings("P1")["value"].tolist() == [float(m) for m in range(50)]


def test_a_sensor_registered_while_running_is_accepted(
    city_store: TelemetryStore, mqtt_broker: tuple[str, int]
) -> None:
    cid = f"test-ingest-{uuid.uuid4().hex[:8]}"
    with running_ingest(city_store, mqtt_broker, cid) as ingest, publisher(mqtt_broker) as pub:
        ingest.registry.current()  # read before the sensor exists, kept for an hour
        city_store.upsert_sensors([Sensor("L9", "city", Quantity.LEVEL)])
        pub("waterops/city/tank-9/L9", json.dumps({"time": T0.isoformat(), "value": 4.5}))
        wait_until(lambda: ingest.counters.messages == 1, "the message")
        assert (ingest.counters.stored, ingest.counters.rejected) == (1, 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", BrokerAddress("127.0.0.1", 1883)),
        ("mqtt://broker.local", BrokerAddress("broker.local", 1883)),
        (
            "mqtts://ops:s%40fe@broker.local",
            BrokerAddress("broker.local", 8883, True, "ops", "s@fe"),
        ),
    ],
)
def test_broker_urls(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://:1883", "mqtt://host:99999"])
def test_bad_broker_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="broker URL"):
        parse_broker_url(url)


def test_the_command_is_offered() -> None:
    app = typer.Typer()
    add_commands(app)

    @app.command("other")
    def _other() -> None:  # a group with one command would hide the command's name
        """Another command."""

    result = CliRunner().invoke(app, ["mqtt", "--help"])
    assert result.exit_code == 0
    assert "--broker" in result.output and "--client-id" in result.output


def test_a_bad_broker_url_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEROPS_MQTT_URL", "http://broker.example:1883")
    assert main(["ingest", "mqtt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("waterops: error: broker URL 'http://broker.example:1883'")
    assert "\n" not in err


def test_a_parser_fault_dead_letters_the_message_instead_of_stopping_the_stream(
    city_store: TelemetryStore, mqtt_broker: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # fault injection: the parser fails on one payload as a bug would (no broker or DB mock)
    real_parse = mqtt_ingest.parse_or_dead_letter

    def faulty_parse(body: bytes, **kwargs: Any) -> Any:
        if body == b"poison":
            raise ZeroDivisionError("a bug")
        return real_parse(body, **kwargs)

    monkeypatch.setattr(mqtt_ingest, "parse_or_dead_letter", faulty_parse)
    cid = f"test-ingest-{uuid.uuid4().hex[:8]}"
    with running_ingest(city_store, mqtt_broker, cid) as ingest, publisher(mqtt_broker) as pub:
        pub("waterops/city/dma-1/P1", b"poison")
        pub("waterops/city/dma-1/P1", reading("P1", 0, 30.0))
        wait_until(lambda: ingest.counters.messages == 2, "both messages")
    [reason] = city_store.dead_letters()["reason"].tolist()
    assert reason == "cannot be parsed (internal error ZeroDivisionError: a bug)"
    assert city_store.readings("P1")["value"].tolist() == [30.0]
