"""Loss-free ingest of telemetry from an MQTT broker into the store.

Topics (see ``docs/telemetry.md``): ``waterops/{system}/{site}/{sensor}`` for one sensor's
readings, ``waterops/{system}/batch`` for batches of any sensors of a system.

How nothing is lost
-------------------
- The client subscribes at QoS 1 with a fixed client id and a persistent session
  (MQTT 5, ``clean_start=False``, a session expiry of days): while the ingest is down the
  broker keeps its messages, and after a broker restart (with ``persistence true``) too.
- ``manual_ack``: a message is acknowledged (PUBACK) only after its readings *and* its dead
  letters are committed. A message received but not acknowledged when the process dies, the
  connection drops or the database fails is delivered again by the broker; readings are
  stored once per (sensor, time), so a redelivery is counted as duplicates, never stored twice.
- Messages are committed in batches (up to ``max_batch_messages`` messages or
  ``max_batch_readings`` readings, or whatever arrived within ``flush_interval_s``) for
  throughput; acknowledgements follow the commit, in the order the messages arrived, as
  MQTT requires.
- Database errors are retried with back-off, holding the batch and its acknowledgements; the
  broker stops sending once ``receive_maximum`` messages are unacknowledged.
- A message received on an earlier connection is not acknowledged on a later one: the broker
  delivers it again on the new connection (with a new packet id) and that copy is acknowledged.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
import psycopg
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from waterops.errors import ConfigError, PayloadError, StoreError, UnknownSensorError
from waterops.model.telemetry import Sensor
from waterops.telemetry.http_ingest import (
    IngestReport,
    QualityFlagger,
    ReadingStore,
    SensorRegistry,
    body_text,
    parse_or_dead_letter,
    store_parsed,
)
from waterops.telemetry.payloads import (
    TOPIC_ROOT,
    DeadLetter,
    ParsedPayload,
    PayloadLimits,
    Topic,
    parse_topic,
)

log = logging.getLogger(__name__)

DEFAULT_BROKER_URL: Final = "mqtt://127.0.0.1:1883"
DEFAULT_CLIENT_ID: Final = "waterops-ingest"
SUBSCRIPTIONS: Final = (f"{TOPIC_ROOT}/+/+/+", f"{TOPIC_ROOT}/+/batch")
"""Topic filters of the ingest: per-sensor topics and system batch topics."""
SESSION_EXPIRY_S: Final = 7 * 86_400
"""How long the broker keeps the ingest's session (and its queued messages) while it is away [s]."""

# What a database that is down, restarting or full raises. psycopg's and sqlite3's own errors
# escape SQLAlchemy where the store talks to the driver directly (binary COPY, executemany).
_STORE_FAULTS: Final = (StoreError, sa.exc.SQLAlchemyError, psycopg.Error, sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is: from ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_broker_url(url: str) -> BrokerAddress:
    """Read a broker URL such as ``mqtt://127.0.0.1:1883``.

    Raises
    ------
    ConfigError
        for another scheme or a URL without a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ConfigError(f"broker URL {url!r}: use mqtt://host:port (or mqtts:// for TLS)")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigError(f"broker URL {url!r}: the port is not a number 0-65535") from None
    if not parts.hostname:
        raise ConfigError(f"broker URL {url!r} has no host")
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(slots=True)
class IngestCounters:
    """Running totals of one ingest process (readings unless said otherwise)."""

    messages: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    acknowledged_messages: int = 0
    store_errors: int = 0
    connections: int = 0

    def add(self, report: IngestReport, messages: int) -> None:
        """Count one committed batch."""
        self.messages += messages
        self.received += report.received
        self.stored += report.stored
        self.duplicates += report.duplicates
        self.rejected += len(report.rejected)

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Inbound:
    connection: int  # which connection it came on (acks only go back on that one)
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttIngest:
    """One MQTT ingest: a paho client thread receiving, this object's loop storing and acking.

    Use :func:`run_mqtt_ingest` unless you need the object (tests, benchmarks).
    """

    def __init__(
        self,
        broker: BrokerAddress,
        store: ReadingStore,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        subscriptions: Sequence[str] = SUBSCRIPTIONS,
        max_batch_messages: int = 1000,
        max_batch_readings: int = 50_000,
        flush_interval_s: float = 0.05,
        receive_maximum: int = 1000,
        session_expiry_s: int = SESSION_EXPIRY_S,
        store_retry_max_s: float = 5.0,
        limits: PayloadLimits | None = None,
    ) -> None:
        self.broker = broker
        self.store = store
        self.client_id = client_id
        self.subscriptions = tuple(subscriptions)
        self.max_batch_messages = max_batch_messages
        self.max_batch_readings = max_batch_readings
        self.flush_interval_s = flush_interval_s
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self.store_retry_max_s = store_retry_max_s
        self.limits = limits or PayloadLimits.at()  # its `now` is renewed for each batch
        self.counters = IngestCounters()
        self.registry = SensorRegistry(store)
        self.flagger = QualityFlagger(store)
        self.connected = threading.Event()
        self._inbox: queue.Queue[_Inbound] = queue.Queue()
        self._connection = 0  # bumped by the network thread at each CONNACK
        self._stopping = False
        self._client = self._make_client()

    # -- the network thread (paho callbacks) --------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if reason_code.is_failure:
            log.error("broker %s:%s refused the connection: %s",
                      self.broker.host, self.broker.port, reason_code)
            return
        self._connection += 1
        self.counters.connections += 1
        log.info("connected to %s:%s as %s (session present: %s)", self.broker.host,
                 self.broker.port, self.client_id, flags.session_present)
        # Subscribing again when the session is present is harmless and covers a broker that
        # lost its state; retained messages are only sent for a new subscription.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe([(topic, options) for topic in self.subscriptions])
        self.connected.set()

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reason_codes: Any, _props: Any
    ) -> None:
        refused = [str(rc) for rc in reason_codes if rc.is_failure]
        if refused:
            log.error("broker refused subscriptions %s: %s", self.subscriptions, refused)
        else:
            log.info("subscribed to %s at QoS 1", ", ".join(self.subscriptions))

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        self.connected.clear()
        if not self._stopping:
            log.warning("disconnected from %s:%s (%s); reconnecting",
                        self.broker.host, self.broker.port, reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Inbound(self._connection, msg.topic, bytes(msg.payload), msg.mid, msg.qos))

    # -- the storing loop ---------------------------------------------------------------------
    def start(self) -> None:
        """Start connecting (retried in the background until the broker answers)."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        properties.ReceiveMaximum = self.receive_maximum
        self._client.connect_async(
            self.broker.host, self.broker.port, keepalive=30,
            clean_start=False, properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect; messages not yet acknowledged stay with the broker for the next run."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def run(self, stop_event: threading.Event, *, report_every_s: float = 10.0) -> None:
        """Store and acknowledge messages until ``stop_event`` is set."""
        next_report = time.monotonic() + report_every_s
        while not stop_event.is_set():
            batch = self._collect_batch()
            if batch:
                self._commit_and_ack(batch, stop_event)
            if time.monotonic() >= next_report:
                log.info("ingest counters: %s", self.counters.as_dict())
                next_report = time.monotonic() + report_every_s
        log.info("ingest stopped; counters: %s", self.counters.as_dict())

    def _collect_batch(self) -> list[_Inbound]:
        """Wait up to ``flush_interval_s`` for a first message, then gather what follows."""
        try:
            first = self._inbox.get(timeout=self.flush_interval_s)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_interval_s
        size = len(first.payload)
        # payload size is a cheap stand-in for the reading count before parsing (~60 B each)
        size_limit = self.max_batch_readings * 60
        while len(batch) < self.max_batch_messages and size < size_limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._inbox.get(timeout=remaining)
            except queue.Empty:
                break
            batch.append(item)
            size += len(item.payload)
        return batch

    def _parse(
        self, batch: Sequence[_Inbound]
    ) -> tuple[list[ParsedPayload], dict[str, Sensor]]:
        """The parsed messages, and every sensor they were checked against."""
        limits = replace(self.limits, now=datetime.now(UTC))
        sensors = self.registry.current()
        seen = dict(sensors)
        parsed = []
        for item in batch:
            try:
                topic = parse_topic(item.topic)
            except PayloadError as exc:  # a topic outside the scheme (a too broad filter)
                dead = DeadLetter(item.topic, body_text(item.payload), exc.reason)
                parsed.append(ParsedPayload(rejected=[dead]))
                continue
            one = _parse_one(item, sensors, limits, topic)
            if any(d.reason.startswith("unknown sensor") for d in one.rejected) and (
                self.registry.refresh_for_unknown()
            ):  # perhaps registered since the registry was read
                sensors = self.registry.current()
                seen.update(sensors)
                one = _parse_one(item, sensors, limits, topic)
            parsed.append(one)
        return parsed, seen

    def _commit_and_ack(self, batch: Sequence[_Inbound], stop_event: threading.Event) -> None:
        delay_s = 0.1
        while True:
            try:
                # parsed inside the retry: reading the sensor registry needs the database too
                parsed, sensors = self._parse(batch)
                report = store_parsed(self.store, parsed, flagger=self.flagger, sensors=sensors)
                break
            except UnknownSensorError as exc:
                # removed from the store since the registry was read: read it again, and the
                # readings of that sensor become dead letters
                log.warning("%s; reading the sensor registry again", exc)
                self.registry.expire()
            except _STORE_FAULTS as exc:
                self.counters.store_errors += 1
                log.error("cannot store %d messages (will retry, not acknowledged): %s",
                          len(batch), exc)
                if stop_event.wait(delay_s):
                    return  # stopping: the broker delivers them again next time
                delay_s = min(2 * delay_s, self.store_retry_max_s)
        self.counters.add(report, len(batch))
        for item in batch:
            if item.qos > 0 and item.connection == self._connection:
                self._client.ack(item.mid, item.qos)
                self.counters.acknowledged_messages += 1


def _parse_one(
    item: _Inbound, sensors: Mapping[str, Sensor], limits: PayloadLimits, topic: Topic
) -> ParsedPayload:
    try:
        return parse_or_dead_letter(
            item.payload, source=item.topic, sensors=sensors, limits=limits, topic=topic
        )
    except Exception as exc:
        # A parser fault must not crash the ingest: the message would come back after the
        # restart and crash it again, stopping the whole stream (a "poison message").
        log.exception("cannot parse a message on %s; kept as a dead letter", item.topic)
        reason = f"cannot be parsed (internal error {type(exc).__name__}: {exc})"
        return ParsedPayload(rejected=[DeadLetter(item.topic, body_text(item.payload), reason)])


def run_mqtt_ingest(
    broker_url: str,
    store: ReadingStore,
    *,
    stop_event: threading.Event | None = None,
    client_id: str = DEFAULT_CLIENT_ID,
    **options: Any,
) -> IngestCounters:
    """Ingest telemetry from the broker at ``broker_url`` into ``store`` until ``stop_event``.

    Parameters
    ----------
    broker_url : ``mqtt://host:port`` (``mqtts://`` for TLS, user and password in the URL)
    store : the telemetry store
    stop_event : set it to stop (default: run until the process is stopped)
    client_id : fixed MQTT client id; the broker keeps this id's session between runs, so two
        ingest processes must not share one
    **options : passed to :class:`MqttIngest` (batch sizes, flush interval …)

    Returns
    -------
    IngestCounters
        the totals of this run.
    """
    ingest = MqttIngest(parse_broker_url(broker_url), store, client_id=client_id, **options)
    stop_event = stop_event or threading.Event()
    ingest.start()
    try:
        ingest.run(stop_event)
    finally:
        ingest.stop()
    return ingest.counters
