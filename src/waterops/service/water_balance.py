"""Water-balance use cases: the balances of systems and DMAs and the report, for staff.

The inputs are a CSV or TOML file (:mod:`waterops.planning.balance_inputs`) named by
``WATEROPS_BALANCE_FILE``, else ``water-balance.csv`` or ``water-balance.toml`` in the data
directory; the file is read again when it changes (its modification time and size), so a new
month's figures appear without a restart. Nothing is stored in the database: the billing
system stays the source of the billed volumes (migration 0009 stays empty).

Every use case checks :attr:`Permission.WATER_BALANCE_READ` (planners, dispatchers,
administrators); the balance is the utility's own figure, not a customer record.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from waterops.errors import BalanceInputError, RecordNotFoundError
from waterops.model.accounts import Permission, User
from waterops.model.utility import UtilityLayout
from waterops.planning.balance_inputs import read_balance_inputs
from waterops.planning.balance_report import render_balance_html, render_balance_pdf
from waterops.planning.water_balance import WaterBalance, compute_water_balance
from waterops.service.auth import require
from waterops.service.balance_builder import dma_night_flow
from waterops.store.telemetry_store import TelemetryStore

BALANCE_FILE_ENV = "WATEROPS_BALANCE_FILE"
"""Environment variable naming the water-balance input file."""
DEFAULT_NAMES = ("water-balance.csv", "water-balance.toml")
"""Files looked for in the data directory when the variable is not set."""


def configured_balance_file(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """The input file: ``$WATEROPS_BALANCE_FILE``, else the first of :data:`DEFAULT_NAMES`
    present in ``data_dir`` (else the first, which then does not exist)."""
    name = (os.environ if env is None else env).get(BALANCE_FILE_ENV)
    if name:
        return Path(name).expanduser()
    for candidate in DEFAULT_NAMES:
        if (data_dir / candidate).is_file():
            return data_dir / candidate
    return data_dir / DEFAULT_NAMES[0]


class WaterBalanceService:
    """The balances of one input file, computed on first use and when the file changes;
    night flow of a DMA from the telemetry store and the utility layout, when given."""

    def __init__(self, source: Path, *, telemetry: TelemetryStore | None = None,
                 layout: Callable[[], UtilityLayout] | None = None) -> None:
        self.source = source
        self.telemetry = telemetry
        self.layout = layout
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._balances: list[WaterBalance] = []

    def _all(self) -> list[WaterBalance]:
        try:
            stat = self.source.stat()
        except OSError:
            raise RecordNotFoundError(
                "water-balance input file", f"{self.source} (set {BALANCE_FILE_ENV} or put "
                f"{DEFAULT_NAMES[0]} in the data directory)") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._balances = [compute_water_balance(r)
                                  for r in read_balance_inputs(self.source)]
                self._stamp = stamp
            return list(self._balances)

    def balances(self, user: User, *, scope: str, system: str | None = None,
                 period: str | None = None) -> list[WaterBalance]:
        """The balances of systems (``scope="system"``) or DMAs, optionally of one system
        and one period label (``2026``, ``2026-11`` or ``START/END``), sorted by id and
        period. An unknown system or period is a :class:`RecordNotFoundError`."""
        require(user, Permission.WATER_BALANCE_READ)
        found = self._all()
        if system is not None:
            found = [b for b in found if b.input.system_id == system]
            if not found:
                raise RecordNotFoundError("water system in the balance input", system)
        if period is not None:
            found = [b for b in found if b.input.period == period]
            if not found:
                raise RecordNotFoundError("balance period", period)
        chosen = [b for b in found if b.input.scope == scope]
        return sorted(chosen, key=lambda b: (b.input.scope_id, b.input.period_start))

    def dma_night_flow(self, user: User, dma_id: str, start: datetime,
                       end: datetime) -> pd.DataFrame:
        """Night by night MNF, net night flow and leakage of a DMA (see
        :func:`waterops.service.balance_builder.dma_night_flow`)."""
        require(user, Permission.WATER_BALANCE_READ)
        if self.telemetry is None or self.layout is None:
            raise RecordNotFoundError("telemetry store for night flow", dma_id)
        if end <= start or end - start > timedelta(days=366):
            raise BalanceInputError("night flow", "the window must end after it starts and "
                                                  "last at most 366 days")
        layout = self.layout()
        if dma_id not in {d.id for d in layout.dmas}:
            raise RecordNotFoundError("DMA", dma_id)
        return dma_night_flow(self.telemetry, layout, dma_id, start, end)

    def _for_report(self, user: User, system: str | None) -> list[WaterBalance]:
        return (self.balances(user, scope="system", system=system)
                + self.balances(user, scope="dma", system=system))

    def report_html(self, user: User, *, system: str | None = None) -> str:
        """The report as a self-contained HTML page."""
        return render_balance_html(self._for_report(user, system),
                                   title=_title(system))

    def report_pdf(self, user: User, *, system: str | None = None) -> bytes:
        """The report as PDF bytes."""
        return render_balance_pdf(self._for_report(user, system), title=_title(system))


def _title(system: str | None) -> str:
    return "Water balance report" + (f" — system {system}" if system else "")
