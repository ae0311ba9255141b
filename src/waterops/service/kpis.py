"""Key figures of the operations centre (SI units; volumes in m³).

Each figure is one small function so a better source can replace it when it exists (the
billing system). The trunk main's safe-operation days come from its recorded failures
(:func:`waterops.service.trunk_main.safe_operation_days`).

- :func:`source_volumes_m3`: water that entered the system today (local day) and in total,
  integrated from the source flow meters in the telemetry store;
- :func:`nrw_estimate`: non-revenue water (IWA water balance: system input minus billed
  authorised consumption) as a share of the system input. Estimate: in the demo every
  customer is metered and billed, so billed consumption = the consumption the simulator
  delivered, and the input is what its source meters measured; under ``waterops serve`` there
  is no billing data yet and the figure is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from waterops.model.alarms import OPEN_STATES, Alarm

LOCAL_UTC_OFFSET_S = 8 * 3600
"""Asia/Shanghai: the utility's day starts at 00:00 local time."""


def open_alarm_count(alarms: Iterable[Alarm]) -> int:
    """Alarms raised, acknowledged or assigned (not cleared, resolved or closed)."""
    return sum(1 for a in alarms if a.state in OPEN_STATES)


@dataclass(frozen=True)
class NrwEstimate:
    """Non-revenue water: ``share`` of ``input_m3`` not billed (None when unknown)."""

    input_m3: float | None
    billed_m3: float | None
    share: float | None
    method: str


def nrw_estimate(input_m3: float | None, billed_m3: float | None, method: str) -> NrwEstimate:
    """NRW = (system input - billed authorised consumption) / system input."""
    if input_m3 is None or billed_m3 is None or input_m3 <= 0:
        return NrwEstimate(input_m3, billed_m3, None, method)
    return NrwEstimate(input_m3, billed_m3, (input_m3 - billed_m3) / input_m3, method)


def volume_from_means(buckets: Iterable[tuple[datetime, float, datetime]]) -> float:
    """Volume [m³] of a flow given as (bucket start, mean flow [m³/s], bucket end) rows."""
    return sum(max(mean, 0.0) * max((end - start).total_seconds(), 0.0)
               for start, mean, end in buckets if mean == mean)
