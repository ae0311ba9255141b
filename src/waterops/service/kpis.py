"""Key figures of the operations centre (SI units; volumes in m³).

Each figure is one small function so a better source can replace it when it exists (the
trunk main's own work-order records, the billing system):

- :func:`trunk_main_safe_days`: days since the last alarm or incident on the raw-water trunk
  main (elements ``TM-*`` pipes and ``TMJ-*`` junctions of the demo network);
- :func:`source_volumes_m3`: water that entered the system today (local day) and in total,
  integrated from the source flow meters in the telemetry store;
- :func:`nrw_estimate`: non-revenue water (IWA water balance: system input minus billed
  authorised consumption) as a share of the system input. Estimate: in the demo every
  customer is metered and billed, so billed consumption = the consumption the simulator
  delivered, and the input is what its source meters measured; under ``waterops serve`` there
  is no billing data yet and the figure is ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from waterops.model.alarms import OPEN_STATES, Alarm
from waterops.model.utility import Incident

LOCAL_UTC_OFFSET_S = 8 * 3600
"""Asia/Shanghai: the utility's day starts at 00:00 local time."""


_TRUNK_MAIN = re.compile(r"(?:^|[^A-Za-z0-9])TMJ?-\d")


def on_trunk_main(text: str) -> bool:
    """Whether an element, sensor or alarm source names the trunk main (``TM-001``,
    ``CL-TMJ-026``; not ``XTM-1``)."""
    return _TRUNK_MAIN.search(text) is not None


def trunk_main_safe_days(now: datetime, alarms: Iterable[Alarm],
                         incidents: Iterable[tuple[datetime, str]],
                         records_since: datetime | None) -> float | None:
    """Days [d] from the last trunk-main alarm or incident (or from the first record, when
    there was none) to ``now``; ``None`` when nothing is known at all.

    Parameters
    ----------
    alarms : alarms (their ``source`` and evidence sensors are looked at)
    incidents : (start time, element) of incidents (the demo simulator's ground truth)
    records_since : when the records begin (first reading)
    """
    times = [a.raised_at for a in alarms
             if on_trunk_main(a.source) or any(on_trunk_main(e.sensor_id) for e in a.evidence)]
    times += [t for t, element in incidents if on_trunk_main(element)]
    times = [t for t in times if t <= now]
    since = max(times) if times else records_since
    if since is None:
        return None
    return max((now - since).total_seconds(), 0.0) / 86_400


def incident_times(incidents: Sequence[Incident], epoch: datetime) -> list[tuple[datetime, str]]:
    """(start time, element) of the simulator's incidents (``epoch``: simulated time 0)."""
    return [(epoch + timedelta(seconds=i.start_s), i.element) for i in incidents]


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
