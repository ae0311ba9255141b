"""Times as the store keeps them: integer microseconds since 1970-01-01T00:00Z (``*_us``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import PayloadError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
_ONE_US = timedelta(microseconds=1)


def to_us(when: datetime, *, what: str = "time") -> int:
    """Microseconds since the epoch of a timezone-aware ``datetime`` (exact, no float rounding).

    Raises
    ------
    PayloadError
        if ``when`` has no timezone (a naive time is ambiguous: utilities keep local time).
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise PayloadError(what, f"time {when.isoformat()} has no timezone; give UTC or an offset")
    return (when - EPOCH) // _ONE_US


def from_us(time_us: int) -> datetime:
    """The UTC ``datetime`` of a stored time."""
    return EPOCH + timedelta(microseconds=int(time_us))


def times_to_us(times: Any, *, what: str = "times") -> npt.NDArray[np.int64]:
    """Convert datetime-like values (numpy ``datetime64``, pandas, ``datetime``) to µs since epoch.

    Timezone-aware values are converted to UTC; numpy ``datetime64`` values, which carry no
    zone, are taken as UTC.
    """
    try:
        index = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    except (TypeError, ValueError) as exc:
        raise PayloadError(what, f"cannot read the times: {exc}") from exc
    if index.hasnans:
        raise PayloadError(what, "a time is missing (NaT)")
    return np.asarray(index.as_unit("us").asi8, dtype=np.int64)


def us_to_index(times_us: npt.NDArray[np.int64] | list[int]) -> pd.DatetimeIndex:
    """A UTC ``DatetimeIndex`` (µs resolution) of stored times."""
    as_datetime64 = np.asarray(times_us, dtype=np.int64).astype("datetime64[us]")
    return pd.DatetimeIndex(as_datetime64).tz_localize("UTC")


def floor_us(time_us: int, step_us: int) -> int:
    """``time_us`` rounded down to a multiple of ``step_us`` (UTC-aligned buckets)."""
    return (time_us // step_us) * step_us
