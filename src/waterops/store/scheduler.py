"""The retention job on a schedule, for a long-running waterops service.

For cron or a systemd timer run ``waterops telemetry retention --raw-days N`` instead: the same
work in one pass. Both are safe to re-run and to run while ingest goes on (each pass is one
transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from waterops.store.retention import RetentionResult
from waterops.store.telemetry_store import TelemetryStore


def retention_pass(
    store: TelemetryStore, raw_days: int, now: datetime | None = None
) -> RetentionResult:
    """One pass: refresh the rollups up to ``now``, then purge raw readings past ``raw_days``."""
    now = now or datetime.now(UTC)
    store.rollup(until=now)
    return store.apply_retention(raw_days, now=now)


def run_retention_forever(
    store: TelemetryStore,
    every_s: float,
    raw_days: int,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run :func:`retention_pass` every ``every_s`` seconds until ``should_stop()`` is true.

    Parameters
    ----------
    store : an open store
    every_s : pause between passes [s]
    raw_days : whole UTC days of raw readings to keep
    should_stop : asked before every pass (e.g. a :class:`threading.Event`'s ``is_set``)
    sleep, clock : injected for tests and for services with their own loop

    Returns
    -------
    int : the number of passes run
    """
    passes = 0
    while not should_stop():
        retention_pass(store, raw_days, clock())
        passes += 1
        if should_stop():
            break
        sleep(every_s)
    return passes
