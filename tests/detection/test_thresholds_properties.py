"""Property tests: the online monitor fed in chunks gives the batch answer; alarms are sane."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.detection.thresholds import Limit, LimitMonitor, Side, limit_alarms

readings = st.lists(
    st.tuples(st.integers(min_value=1, max_value=600),  # seconds since the previous reading
              st.one_of(st.floats(min_value=0.0, max_value=3.0), st.just(math.nan))),
    min_size=1, max_size=120,
)
limits = st.builds(
    Limit, st.just("free_chlorine"), st.floats(min_value=0.1, max_value=2.0),
    st.sampled_from(list(Side)), st.just("mg/L"),
    st.floats(min_value=0.0, max_value=0.5), st.sampled_from([0.0, 60.0, 300.0, 900.0]),
)


def _series(rows: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    times = np.cumsum([dt for dt, _ in rows]).astype(float)
    return times, np.array([v for _, v in rows])


@settings(deadline=None, max_examples=200)
@given(rows=readings, limit=limits, cuts=st.lists(st.integers(0, 120), max_size=5))
def test_online_in_chunks_equals_batch(rows: list[tuple[int, float]], limit: Limit,
                                       cuts: list[int]) -> None:
    times, values = _series(rows)
    batch_active, batch_alarms = limit_alarms(times, values, limit)
    monitor = LimitMonitor(limit)
    online_active = []
    events = []
    bounds = sorted({0, len(values), *[min(c, len(values)) for c in cuts]})
    for a, b in itertools.pairwise(bounds):  # the same monitor across the chunks
        for t, v in zip(times[a:b], values[a:b], strict=True):
            alarm = monitor.step(float(t), float(v))
            if alarm is not None:
                events.append(alarm)
            online_active.append(monitor.active)
    assert online_active == batch_active.tolist()
    raised = [e for e in events if e.cleared_s is None]
    assert len(raised) == len(batch_alarms)
    assert [e.started_s for e in raised] == [a.started_s for a in batch_alarms]


@settings(deadline=None, max_examples=200)
@given(rows=readings, limit=limits)
def test_alarms_respect_duration_and_bounds(rows: list[tuple[int, float]], limit: Limit) -> None:
    times, values = _series(rows)
    active, alarms = limit_alarms(times, values, limit)
    for alarm in alarms:
        assert alarm.raised_s - alarm.started_s >= limit.min_duration_s
        assert limit.violated_by(alarm.worst_value)
        if alarm.cleared_s is not None:
            cleared_at = int(np.flatnonzero(times == alarm.cleared_s)[0])
            assert limit.cleared_by(values[cleared_at])
    # an alarm is only ever active on a reading that is not back inside by the deadband
    for is_active, v in zip(active, values, strict=True):
        if is_active and not math.isnan(v):
            assert not limit.cleared_by(v)
