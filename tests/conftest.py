"""Shared fixtures: isolated data directory, real services (never skipped), test networks."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

NETWORKS = Path(__file__).parent / "networks"

POSTGRES_HOST = os.environ.get("WATEROPS_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("WATEROPS_TEST_PG_PORT", "5432"))
POSTGRES_DB = os.environ.get("WATEROPS_TEST_PG_DB", "test")
POSTGRES_USER = os.environ.get("WATEROPS_TEST_PG_USER", "postgres")
MQTT_HOST = os.environ.get("WATEROPS_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("WATEROPS_TEST_MQTT_PORT", "1883"))


def _reachable(host: str, port: int, timeout_s: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int, how_to_start: str) -> None:
    """Fail (never skip) with a clear message when a service the test needs is down."""
    if not _reachable(host, port):
        pytest.fail(
            f"{name} is not reachable at {host}:{port}; these tests need the real service. "
            f"Start it with: {how_to_start}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes into the user's data directory or the working directory."""
    monkeypatch.setenv("WATEROPS_DATA_DIR", str(tmp_path_factory.mktemp("waterops-data")))
    monkeypatch.delenv("WATEROPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATEROPS_MQTT_URL", raising=False)
    monkeypatch.delenv("WATEROPS_DASK_ADDRESS", raising=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the test PostgreSQL database (the server must run; a missing one fails)."""
    require_service(
        "PostgreSQL", POSTGRES_HOST, POSTGRES_PORT,
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    )
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}"


@pytest.fixture()
def postgres_schema(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema for one test, dropped afterwards: yields (url, schema)."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_server_url, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    """(host, port) of the Mosquitto broker (must run; a missing one fails)."""
    require_service(
        "Mosquitto", MQTT_HOST, MQTT_PORT, "mosquitto -d -c /etc/mosquitto/mosquitto.conf"
    )
    return MQTT_HOST, MQTT_PORT


@pytest.fixture(scope="session")
def net1_path() -> Path:
    return NETWORKS / "Net1.inp"


@pytest.fixture(scope="session")
def net2_path() -> Path:
    return NETWORKS / "Net2.inp"


@pytest.fixture(scope="session")
def net3_path() -> Path:
    return NETWORKS / "Net3.inp"
