"""Data-quality flags of telemetry readings: out of range, flatline, spike, gap (no I/O).

Flags are stored beside the raw value (:class:`waterops.model.telemetry.QualityFlag`); the
value itself is never changed. Every test here is **causal**: the flag of a reading depends
only on that reading and the readings before it in time. That is what lets a batch be
flagged with the stored tail of its series as context and get exactly the flags it would
have had if the whole series had arrived in one go (:func:`context_need` says how much tail
is enough).

The four tests and their default thresholds (per quantity, :data:`DEFAULT_RULES`):

out of range
    value below ``lower`` or above ``upper``. The sensor's own limits win; without them a
    quantity's physical limits are used (a negative chlorine residual or a pH of 15 is a
    fault whatever the sensor). Pressure may go down to -10.33 m (full vacuum).
flatline (stuck sensor)
    the value has not moved by more than ``flatline_tolerance`` from one reading to the
    next for at least ``flatline_window_s``. Windows are long enough that a healthy sensor
    at its display resolution rarely stays still that long: 4 h for pressure (which follows
    the diurnal demand), 6 h for levels, flows and power, 12 h for water-quality analysers
    (slower, coarser resolution), 24 h for temperature. Flow, power and pump speed at
    exactly zero are a stopped pump or a closed main, not a stuck meter, so zero runs are
    not flagged. Pump status and valve position legitimately stay put for days: no test.
spike
    a causal Hampel test: the reading is further than ``spike_threshold`` robust standard
    deviations (1.4826 × MAD) from the median of the previous ``spike_window`` readings
    **and** it jumped there from the previous reading by more than the same margin. The
    margin never drops below ``spike_min_deviation`` (absolute, SI) nor below
    ``spike_min_relative`` × |median|, so that a series that was perfectly quiet does not
    flag its first ordinary wiggle. Five robust sigmas (instead of Hampel's usual three)
    keep false flags rare on operational data. Because no flag waits for the future, the
    first reading after a genuine step (a pump starting) is flagged as well; the readings
    after it are not, since they no longer jump. The first ``spike_window`` readings of a
    sensor have no history and are never flagged.
gap
    the reading follows a silence longer than ``gap_factor`` × the sensor's expected
    interval (``interval_s``). A factor of 3 tolerates two lost messages in a row, which
    radio and GPRS links produce routinely. Without an expected interval no gap is flagged
    (guessing the interval from the batch would make flags depend on chunking).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from waterops.model.telemetry import QualityFlag, Quantity, Sensor

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.int64]
"""Times as int64 microseconds since the Unix epoch, UTC (``datetime64[us]`` viewed as int64)."""
FlagArray = npt.NDArray[np.uint8]

ROBUST_SIGMA_PER_MAD = 1.4826
"""Standard deviation per median absolute deviation for normally distributed noise."""
US_PER_S = 1_000_000
_HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class QualityRules:
    """Thresholds of the quality tests for one sensor; ``None`` switches a test off.

    Attributes
    ----------
    lower, upper : plausible limits [SI unit of the quantity]
    flatline_window_s : how long a value may stay unchanged before it is flagged [s]
    flatline_tolerance : largest step between readings still counted as "unchanged" [SI]
    flatline_ignore_zero : do not flag runs at exactly zero (stopped pump, closed main)
    spike_window : number of previous readings the spike test compares with [-]
    spike_threshold : distance from the median that is a spike [robust standard deviations]
    spike_min_deviation : smallest distance that can be a spike [SI unit of the quantity]
    spike_min_relative : smallest distance that can be a spike, as a fraction of |median| [-]
    interval_s : the sensor's expected reporting interval [s]
    gap_factor : a silence longer than this many intervals is a gap [-]
    """

    lower: float | None = None
    upper: float | None = None
    flatline_window_s: float | None = None
    flatline_tolerance: float = 0.0
    flatline_ignore_zero: bool = False
    spike_window: int | None = None
    spike_threshold: float = 5.0
    spike_min_deviation: float = 0.0
    spike_min_relative: float = 0.0
    interval_s: float | None = None
    gap_factor: float = 3.0


_SPIKE_WINDOW = 10  # readings: ten 1-minute or 15-minute readings are a short, recent history

DEFAULT_RULES: dict[Quantity, QualityRules] = {
    Quantity.PRESSURE: QualityRules(
        lower=-10.33, flatline_window_s=4 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=3.0, spike_min_relative=0.1,
    ),
    Quantity.FLOW: QualityRules(
        flatline_window_s=6 * _HOUR_S, flatline_tolerance=1e-7, flatline_ignore_zero=True,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=1e-3, spike_min_relative=0.25,
    ),
    Quantity.LEVEL: QualityRules(
        flatline_window_s=6 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=0.2, spike_min_relative=0.0,
    ),
    Quantity.CHLORINE: QualityRules(
        lower=0.0, flatline_window_s=12 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=0.1, spike_min_relative=0.2,
    ),
    Quantity.TURBIDITY: QualityRules(
        lower=0.0, flatline_window_s=12 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=0.3, spike_min_relative=0.5,
    ),
    Quantity.PH: QualityRules(
        lower=0.0, upper=14.0, flatline_window_s=12 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=0.5,
    ),
    Quantity.CONDUCTIVITY: QualityRules(
        lower=0.0, flatline_window_s=12 * _HOUR_S, flatline_tolerance=1e-3,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=50.0, spike_min_relative=0.2,
    ),
    Quantity.TEMPERATURE: QualityRules(
        lower=-1.0, upper=60.0, flatline_window_s=24 * _HOUR_S, flatline_tolerance=1e-4,
        spike_window=_SPIKE_WINDOW, spike_min_deviation=2.0,
    ),
    Quantity.PUMP_STATUS: QualityRules(lower=0.0, upper=1.0),
    Quantity.PUMP_SPEED: QualityRules(
        lower=0.0, upper=1.5, flatline_window_s=24 * _HOUR_S, flatline_tolerance=1e-6,
        flatline_ignore_zero=True,
    ),
    Quantity.VALVE_POSITION: QualityRules(lower=0.0, upper=1.0),
    Quantity.POWER: QualityRules(
        lower=0.0, flatline_window_s=6 * _HOUR_S, flatline_tolerance=1e-3,
        flatline_ignore_zero=True, spike_window=_SPIKE_WINDOW, spike_min_deviation=1e3,
        spike_min_relative=0.25,
    ),
}
"""Default thresholds per quantity (reasons in the module docstring)."""


def rules_for(sensor: Sensor) -> QualityRules:
    """The quality rules of ``sensor``: its quantity's defaults with its own limits and interval."""
    base = DEFAULT_RULES[sensor.quantity]
    return replace(
        base,
        lower=base.lower if sensor.lower is None else sensor.lower,
        upper=base.upper if sensor.upper is None else sensor.upper,
        interval_s=sensor.interval_s,
    )


@dataclass(frozen=True, slots=True)
class ContextNeed:
    """How much stored tail a batch needs to be flagged exactly as in one go.

    Give :func:`quality_flags` every stored reading from ``before_s`` seconds before the
    batch's first time up to its last time, plus the ``readings`` stored readings just
    before that span.
    """

    before_s: float
    readings: int


def context_need(rules: QualityRules) -> ContextNeed:
    """The stored context that makes flags independent of how a series is chunked."""
    before_s = rules.flatline_window_s or 0.0
    # one reading before the span: the gap test, and the start of a flatline run
    readings = max(rules.spike_window or 0, 1)
    return ContextNeed(before_s=before_s, readings=readings)


def context_slice(
    stored_times_us: TimeArray, first_us: int, last_us: int, need: ContextNeed
) -> slice:
    """Which of a sensor's stored readings (sorted by time) a batch needs as context.

    Parameters
    ----------
    stored_times_us : stored times of the sensor, sorted ascending [µs since the epoch]
    first_us, last_us : first and last time of the batch [µs since the epoch]
    need : from :func:`context_need`

    Returns
    -------
    slice
        into ``stored_times_us``: the readings from ``need.before_s`` before ``first_us``
        to ``last_us``, plus ``need.readings`` before them.
    """
    span_start_us = first_us - round(need.before_s * US_PER_S)
    lo = int(np.searchsorted(stored_times_us, span_start_us, side="left"))
    hi = int(np.searchsorted(stored_times_us, last_us, side="right"))
    return slice(max(lo - need.readings, 0), hi)


def quality_flags(
    times_us: TimeArray,
    values: FloatArray,
    rules: QualityRules,
    *,
    context_times_us: TimeArray | None = None,
    context_values: FloatArray | None = None,
) -> FlagArray:
    """Quality flags of a batch of readings of one sensor.

    Parameters
    ----------
    times_us : times of the batch [µs since the epoch, UTC], unique (any order)
    values : values of the batch [SI unit of the quantity], finite
    rules : thresholds, usually :func:`rules_for` of the sensor
    context_times_us, context_values : readings already stored for the sensor (see
        :func:`context_need`); a batch reading at the time of a context reading is a
        duplicate and is judged as the context reading is

    Returns
    -------
    numpy.ndarray of uint8
        :class:`QualityFlag` bits, one per batch reading, in the batch's order.
    """
    times_us = np.asarray(times_us, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if times_us.shape != values.shape:
        raise ValueError("times and values differ in length")
    if context_times_us is None or context_values is None or len(context_times_us) == 0:
        ctx_t = np.empty(0, dtype=np.int64)
        ctx_v = np.empty(0, dtype=np.float64)
    else:
        ctx_t = np.asarray(context_times_us, dtype=np.int64)
        ctx_v = np.asarray(context_values, dtype=np.float64)
    # Merge context and batch into one time-ordered series; on equal times the context
    # (stored) reading comes first and the batch duplicate is dropped from the series.
    all_t = np.concatenate([ctx_t, times_us])
    all_v = np.concatenate([ctx_v, values])
    origin = np.concatenate([np.full(len(ctx_t), -1, np.int64), np.arange(len(times_us))])
    order = np.lexsort((origin, all_t))  # by time, context before batch on ties
    t, v, src = all_t[order], all_v[order], origin[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = t[1:] != t[:-1]
    position_in_series = np.cumsum(keep) - 1  # duplicates map onto the kept reading
    t, v = t[keep], v[keep]

    series_flags = (
        _out_of_range(v, rules) | _flatline(t, v, rules) | _spike(v, rules) | _gap(t, rules)
    )
    flags = np.empty(len(times_us), dtype=np.uint8)
    batch = src >= 0
    flags[src[batch]] = series_flags[position_in_series[batch]]
    return flags


def _out_of_range(v: FloatArray, rules: QualityRules) -> FlagArray:
    bad = np.zeros(len(v), dtype=bool)
    if rules.lower is not None:
        bad |= v < rules.lower
    if rules.upper is not None:
        bad |= v > rules.upper
    return np.where(bad, np.uint8(QualityFlag.OUT_OF_RANGE), np.uint8(0)).astype(np.uint8)


def _flatline(t: TimeArray, v: FloatArray, rules: QualityRules) -> FlagArray:
    n = len(v)
    if rules.flatline_window_s is None or n < 2:
        return np.zeros(n, dtype=np.uint8)
    moved = np.empty(n, dtype=bool)
    moved[0] = True
    moved[1:] = np.abs(np.diff(v)) > rules.flatline_tolerance
    run_id = np.cumsum(moved) - 1
    run_start_t = t[moved][run_id]
    stuck = (t - run_start_t) >= rules.flatline_window_s * US_PER_S
    if rules.flatline_ignore_zero:
        stuck &= v != 0.0
    return np.where(stuck, np.uint8(QualityFlag.FLATLINE), np.uint8(0)).astype(np.uint8)


def _spike(v: FloatArray, rules: QualityRules, block: int = 65_536) -> FlagArray:
    n = len(v)
    w = rules.spike_window
    flags = np.zeros(n, dtype=np.uint8)
    if w is None or n <= w:
        return flags
    # A spike jumps from the previous reading by more than the margin, and the margin is
    # never below spike_min_deviation: only such jumps need the (costly) median and MAD.
    jump = np.abs(np.diff(v))  # jump[i - 1] = |v[i] - v[i - 1]|
    candidates = np.flatnonzero(jump[w - 1 :] > rules.spike_min_deviation) + w
    windows = np.lib.stride_tricks.sliding_window_view(v, w)  # windows[j] = v[j : j + w]
    for start in range(0, len(candidates), block):  # blocks keep the temporaries small
        idx = candidates[start : start + block]
        past = windows[idx - w]  # the w readings just before each candidate
        median = np.median(past, axis=1)
        mad = np.median(np.abs(past - median[:, None]), axis=1)
        margin = np.maximum.reduce([
            rules.spike_threshold * ROBUST_SIGMA_PER_MAD * mad,
            np.full(len(median), rules.spike_min_deviation),
            rules.spike_min_relative * np.abs(median),
        ])
        is_spike = (np.abs(v[idx] - median) > margin) & (jump[idx - 1] > margin)
        flags[idx[is_spike]] = np.uint8(QualityFlag.SPIKE)
    return flags


def _gap(t: TimeArray, rules: QualityRules) -> FlagArray:
    n = len(t)
    flags = np.zeros(n, dtype=np.uint8)
    if rules.interval_s is None or rules.interval_s <= 0 or n < 2:
        return flags
    limit_us = rules.gap_factor * rules.interval_s * US_PER_S
    flags[1:] = np.where(np.diff(t) > limit_us, np.uint8(QualityFlag.GAP), np.uint8(0))
    return flags


def count_flags(flags: FlagArray) -> dict[str, int]:
    """How many readings carry each flag (a reading with two flags counts twice)."""
    flags = np.asarray(flags, dtype=np.uint8)
    return {
        flag.name.lower(): int(np.count_nonzero(flags & np.uint8(flag)))
        for flag in QualityFlag
        if flag is not QualityFlag.GOOD and flag.name is not None
    }
