"""SQLAlchemy tables, repositories and Alembic migrations (SQLite and PostgreSQL by URL).

Use :class:`TelemetryStore`::

    from waterops.store import TelemetryStore
    store = TelemetryStore.open()   # WATEROPS_DATABASE_URL, else SQLite in the data dir
"""

from waterops.store.retention import RetentionResult
from waterops.store.scheduler import retention_pass, run_retention_forever
from waterops.store.telemetry_store import RESAMPLE_COLUMNS, TelemetryStore

__all__ = [
    "RESAMPLE_COLUMNS",
    "RetentionResult",
    "TelemetryStore",
    "retention_pass",
    "run_retention_forever",
]
