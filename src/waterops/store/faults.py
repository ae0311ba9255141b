"""Database faults become :class:`waterops.errors.StoreError`, naming the database and the action.

The store talks to the databases through SQLAlchemy and, on its hot paths, through the raw
drivers (sqlite3, psycopg); their errors are caught here, at the store's edge, so callers
(ingest loops, the CLI) handle one typed error. The driver's error stays as ``__cause__``.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import psycopg
import sqlalchemy as sa

from waterops.errors import StoreError, WaterOpsError

DATABASE_FAULTS = (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error)
"""Errors of the database or its driver (connection lost, disk full, locked, bad schema)."""

P = ParamSpec("P")
R = TypeVar("R")


class _HasEngine(Protocol):
    engine: sa.Engine


S = TypeVar("S", bound=_HasEngine)


def reason_of(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy adds SQL text and links after it)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def database_faults(
    action: str,
) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Decorate a store method so that database faults raise ``StoreError`` naming ``action``."""

    def decorate(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        def guarded(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except DATABASE_FAULTS as exc:
                where = self.engine.url.render_as_string()
                raise StoreError(f"{where}: cannot {action}: {reason_of(exc)}") from exc

        functools.update_wrapper(guarded, method)  # name and docstring of the method
        return guarded

    return decorate




@contextmanager
def write_transaction(engine: sa.Engine, writer: sa.Engine, action: str,
                      refused: Callable[[str], WaterOpsError]) -> Iterator[sa.Connection]:
    """One write transaction on ``writer`` (``engine`` with the store's write option): committed
    whole or rolled back. A broken constraint raises ``refused(reason)`` (the store's own typed
    error); any other database fault a :class:`StoreError` naming the database and ``action``.
    """
    try:
        with writer.begin() as conn:
            yield conn
    except sa.exc.IntegrityError as exc:
        raise refused(reason_of(exc)) from exc
    except DATABASE_FAULTS as exc:
        where = engine.url.render_as_string()
        raise StoreError(f"{where}: cannot {action}: {reason_of(exc)}") from exc
