"""`waterops ingest mqtt`: store telemetry from an MQTT broker until stopped.

Added to the ``ingest`` group by ``cli/ingest.py``. The database is the one
``WATEROPS_DATABASE_URL`` names (see :mod:`waterops.config`); the broker is ``--broker``, else
``WATEROPS_MQTT_URL``, else the local one.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from waterops.config import load_settings
from waterops.store import TelemetryStore
from waterops.telemetry.mqtt_ingest import (
    DEFAULT_BROKER_URL,
    DEFAULT_CLIENT_ID,
    parse_broker_url,
    run_mqtt_ingest,
)


def add_commands(ingest_app: typer.Typer) -> None:
    """Add the MQTT ingest command(s) to the ``ingest`` command group."""

    @ingest_app.command("mqtt")
    def ingest_mqtt(
        broker: str | None = typer.Option(
            None, "--broker",
            help="Broker URL: mqtt://host:port, mqtt://user:password@host:port, or mqtts:// "
            f"for TLS. Default: $WATEROPS_MQTT_URL, else {DEFAULT_BROKER_URL}.",
        ),
        client_id: str = typer.Option(
            DEFAULT_CLIENT_ID, "--client-id",
            help="Fixed MQTT client id: the broker keeps this id's session (and its "
            "messages) while the ingest is down. One id per ingest process.",
        ),
        max_batch_messages: int = typer.Option(
            1000, "--max-batch-messages", min=1, help="Most messages per database transaction."
        ),
        flush_interval_ms: int = typer.Option(
            50, "--flush-ms", min=1, help="Longest wait to fill a transaction [ms]."
        ),
        quiet: bool = typer.Option(False, "--quiet", help="Log warnings and errors only."),
    ) -> None:
        """Store readings published on waterops/{system}/{site}/{sensor} and
        waterops/{system}/batch (QoS 1, acknowledged after commit) until SIGINT or SIGTERM."""
        logging.basicConfig(
            level=logging.WARNING if quiet else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        settings = load_settings()
        broker_url = broker or settings.mqtt_url or DEFAULT_BROKER_URL
        parse_broker_url(broker_url)  # a bad URL fails before the database is opened
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        with TelemetryStore.open(settings.database_url) as store:
            counters = run_mqtt_ingest(
                broker_url, store, stop_event=stop, client_id=client_id,
                max_batch_messages=max_batch_messages, flush_interval_s=flush_interval_ms / 1000,
            )
        typer.echo(
            "messages {messages}, readings received {received}, stored {stored}, "
            "duplicates {duplicates}, rejected {rejected}".format(**counters.as_dict())
        )
