"""Settings, built by a function from the environment (never read at import time).

Environment variables
---------------------
WATEROPS_DATA_DIR       where waterops keeps its files (default: $XDG_DATA_HOME/waterops,
                        else ~/.local/share/waterops). Never the working directory.
WATEROPS_DATABASE_URL   SQLAlchemy URL of the store (default: SQLite file in the data dir;
                        PostgreSQL: ``postgresql+psycopg://user@host:5432/db``).
WATEROPS_MQTT_URL       broker for telemetry, e.g. ``mqtt://127.0.0.1:1883`` (default: none,
                        telemetry is ingested in process).
WATEROPS_DASK_ADDRESS   address of a Dask scheduler for scenario batches (default: none,
                        local worker processes).
WATEROPS_NETWORK        the utility's EPANET network file served by ``waterops serve``
                        (default: none; the demo uses its bundled network).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one waterops process."""

    data_dir: Path
    database_url: str
    mqtt_url: str | None
    dask_address: str | None
    network_file: Path | None = None


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The data directory: ``$WATEROPS_DATA_DIR``, else the XDG data home."""
    if env.get("WATEROPS_DATA_DIR"):
        return Path(env["WATEROPS_DATA_DIR"]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "waterops"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    data_dir = default_data_dir(env)
    database_url = env.get("WATEROPS_DATABASE_URL") or f"sqlite:///{data_dir / 'waterops.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        mqtt_url=env.get("WATEROPS_MQTT_URL") or None,
        dask_address=env.get("WATEROPS_DASK_ADDRESS") or None,
        network_file=Path(env["WATEROPS_NETWORK"]).expanduser()
        if env.get("WATEROPS_NETWORK") else None,
    )
