"""Limit alarms with hysteresis and a minimum duration, and the GB 5749-2022 limits (pure).

A :class:`Limit` is one bound on one quantity (an upper limit such as turbidity ≤ 1 NTU, or a
lower one such as a free-chlorine residual ≥ 0.05 mg/L). A reading *violates* the limit when
it is strictly beyond the bound: the standard writes its limits as "≤" or "≥", so a reading
exactly at the bound complies.

A violation becomes an alarm only after it has lasted ``min_duration_s`` [s] (one spike from
a sensor wiping is not a water-quality breach), and an alarm clears only when the reading is
back inside the bound by ``deadband`` (hysteresis: a reading hovering around the limit does
not chatter between raised and cleared). Readings that are NaN (gap, rejected by the
telemetry quality check) change nothing.

Two forms of the same state machine:

- :class:`LimitMonitor` is online: feed it readings as they arrive (``step``), it carries the
  state between calls;
- :func:`limit_alarms` runs a whole series (batch) through a fresh monitor, so online and
  batch give the same answer by construction.

GB 5749-2022 (生活饮用水卫生标准, in force 2023-04-01) figures are given by
:func:`gb5749_limits` for the three sampling points the standard names: plant outlet water
(出厂水), network water (管网水) and tap water (末梢水). Each :class:`Limit` carries the
clause it comes from in ``clause``; see ``docs/evaluation.md`` for what was checked.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd


class Side(enum.StrEnum):
    """Which side of the bound is compliant."""

    UPPER = "upper"  # compliant when value <= bound (a maximum, 限值)
    LOWER = "lower"  # compliant when value >= bound (a minimum residual, 余量)


class SamplingPoint(enum.StrEnum):
    """The sampling points of GB 5749-2022."""

    PLANT_OUTLET = "plant_outlet"  # 出厂水
    NETWORK = "network"  # 管网水
    TAP = "tap"  # 末梢水 (end of the network, at the customer's tap)


class Disinfection(enum.StrEnum):
    """How the plant disinfects: it decides which disinfectant GB 5749-2022 table 2 checks."""

    FREE_CHLORINE = "free_chlorine"  # liquid chlorine, sodium or calcium hypochlorite
    CHLORAMINE = "chloramine"  # checked as total chlorine
    CHLORINE_DIOXIDE = "chlorine_dioxide"
    OZONE = "ozone"


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit on one quantity.

    Parameters
    ----------
    quantity : what is measured (``"turbidity"``, ``"free_chlorine"``, ``"ph"`` …)
    bound : the limit [unit]
    side : :attr:`Side.UPPER` (compliant when ``value <= bound``) or :attr:`Side.LOWER`
    unit : unit of ``bound`` and ``deadband`` (``"NTU"``, ``"mg/L"``, ``"1"``)
    deadband : hysteresis [unit]: a raised alarm clears only once the value is back inside
        the bound by at least this much
    min_duration_s : a violation must last this long [s] before the alarm is raised; 0 raises
        on the first violating reading
    clause : where the figure comes from (standard, table, row)
    """

    quantity: str
    bound: float
    side: Side
    unit: str
    deadband: float = 0.0
    min_duration_s: float = 0.0
    clause: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.bound):
            raise ValueError(f"limit on {self.quantity}: bound must be finite, not {self.bound}")
        if self.deadband < 0 or self.min_duration_s < 0:
            raise ValueError(
                f"limit on {self.quantity}: deadband and min_duration_s must be >= 0 "
                f"(got {self.deadband}, {self.min_duration_s})"
            )

    @property
    def name(self) -> str:
        """A stable id such as ``"free_chlorine>=0.05"``."""
        op = "<=" if self.side is Side.UPPER else ">="
        return f"{self.quantity}{op}{self.bound:g}"

    def violated_by(self, value: float) -> bool:
        """True when ``value`` is strictly beyond the bound (NaN never violates)."""
        if self.side is Side.UPPER:
            return value > self.bound
        return value < self.bound

    def cleared_by(self, value: float) -> bool:
        """True when ``value`` is back inside the bound by at least the deadband."""
        if self.side is Side.UPPER:
            return value <= self.bound - self.deadband
        return value >= self.bound + self.deadband


@dataclass(frozen=True, slots=True)
class LimitAlarm:
    """One alarm of one limit: from the first violating reading to the clearing one.

    ``started_s`` is the time of the first violating reading of the excursion, ``raised_s``
    the time the alarm was raised (``started_s + min_duration_s`` or later), ``cleared_s`` the
    time of the reading that cleared it (``None`` while it is still raised). Times are in the
    caller's time base [s] (e.g. seconds since the epoch).
    """

    limit: Limit
    started_s: float
    raised_s: float
    cleared_s: float | None
    worst_value: float


class LimitMonitor:
    """Online state machine of one limit on one sensor.

    Parameters
    ----------
    limit : the limit watched
    """

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.active = False
        self._since_s: float | None = None  # first reading of the current excursion
        self._raised_s = 0.0
        self._worst = math.nan
        self._last_s = -math.inf

    def step(self, time_s: float, value: float) -> LimitAlarm | None:
        """Take one reading; return the alarm when this reading raises or clears one.

        Parameters
        ----------
        time_s : time of the reading [s]; must not go backwards
        value : the reading [limit unit]; NaN changes nothing

        Returns
        -------
        The :class:`LimitAlarm` just raised (``cleared_s is None``) or just cleared, else
        ``None``. :attr:`active` tells whether an alarm is raised after this reading.
        """
        if time_s < self._last_s:
            raise ValueError(
                f"{self.limit.name}: reading at {time_s} s comes before the previous one "
                f"at {self._last_s} s"
            )
        self._last_s = time_s
        if math.isnan(value):
            return None
        limit = self.limit
        if self.active:
            if limit.violated_by(value):
                self._worst = _worse(limit, self._worst, value)
            if limit.cleared_by(value):
                self.active = False
                started, self._since_s = self._since_s, None
                return LimitAlarm(limit, started or 0.0, self._raised_s, time_s, self._worst)
            return None
        if not limit.violated_by(value):
            self._since_s = None  # the excursion ended before it lasted long enough
            return None
        if self._since_s is None:
            self._since_s = time_s
            self._worst = value
        else:
            self._worst = _worse(limit, self._worst, value)
        if time_s - self._since_s >= limit.min_duration_s:
            self.active = True
            self._raised_s = time_s
            return LimitAlarm(limit, self._since_s, time_s, None, self._worst)
        return None


def _worse(limit: Limit, a: float, b: float) -> float:
    return max(a, b) if limit.side is Side.UPPER else min(a, b)


def limit_alarms(times_s: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray,
                 limit: Limit) -> tuple[np.ndarray, list[LimitAlarm]]:
    """Run a series through a fresh :class:`LimitMonitor` (batch form).

    Parameters
    ----------
    times_s : reading times [s], not decreasing
    values : readings [limit unit], NaN for a gap
    limit : the limit

    Returns
    -------
    active : bool array, True where an alarm is raised after that reading
    alarms : every alarm, in order; the last one has ``cleared_s is None`` if still raised
    """
    if len(times_s) != len(values):
        raise ValueError(f"{len(times_s)} times but {len(values)} values")
    monitor = LimitMonitor(limit)
    active = np.zeros(len(values), dtype=bool)
    alarms: list[LimitAlarm] = []
    open_index: int | None = None
    for i, (t, v) in enumerate(zip(times_s, values, strict=True)):
        alarm = monitor.step(float(t), float(v))
        if alarm is not None:
            if alarm.cleared_s is None:
                open_index = len(alarms)
                alarms.append(alarm)
            elif open_index is not None:
                alarms[open_index] = alarm
                open_index = None
        active[i] = monitor.active
    return active, alarms


def limit_alarm_table(readings: pd.DataFrame, limits: dict[str, Iterable[Limit]]) -> pd.DataFrame:
    """Batch alarms for several sensors: one row per alarm.

    Parameters
    ----------
    readings : time-indexed table (tz-aware ``DatetimeIndex``), one column per sensor, values
        in the unit of its limits
    limits : sensor column -> its limits

    Returns
    -------
    Columns ``sensor, limit, started, raised, cleared, worst_value`` (times as UTC
    timestamps, ``cleared`` NaT while raised).
    """
    index = pd.DatetimeIndex(readings.index)
    times_s = index.as_unit("ns").asi8 / 1e9
    rows = []
    for sensor, sensor_limits in limits.items():
        values = readings[sensor].to_numpy(dtype=float)
        for limit in sensor_limits:
            _, alarms = limit_alarms(times_s, values, limit)
            for a in alarms:
                rows.append({
                    "sensor": sensor, "limit": limit.name,
                    "started": pd.Timestamp(a.started_s, unit="s", tz="UTC"),
                    "raised": pd.Timestamp(a.raised_s, unit="s", tz="UTC"),
                    "cleared": (pd.NaT if a.cleared_s is None
                                else pd.Timestamp(a.cleared_s, unit="s", tz="UTC")),
                    "worst_value": a.worst_value,
                })
    columns = ["sensor", "limit", "started", "raised", "cleared", "worst_value"]
    return pd.DataFrame(rows, columns=columns)


# --- GB 5749-2022 -------------------------------------------------------------------------
# Table 1 (生活饮用水水质常规指标及限值) and table 2 (生活饮用水消毒剂常规指标及要求) of
# GB 5749-2022. Table 2 gives, per disinfectant, one upper limit for plant outlet and tap
# water ("出厂水和末梢水限值") and minimum residuals at the plant outlet ("出厂水余量") and at
# the tap ("末梢水余量"). The standard has no separate network-water row; network water is
# held to the same upper limits and, as the least residual a point upstream of the tap may
# have, to the tap residual (a choice of ours, marked "derived" in the clause).

_T1 = "GB 5749-2022 table 1"
_T2 = "GB 5749-2022 table 2"

# Operating defaults for on-line instruments (not from the standard): hysteresis about
# twice an instrument's resolution, and 5 min of persistence so that one wiper spike or a
# sample-line flush does not raise a compliance alarm.
DEFAULT_MIN_DURATION_S = 300.0
_DEADBAND = {"turbidity": 0.05, "ph": 0.05, "free_chlorine": 0.02, "total_chlorine": 0.02,
             "chlorine_dioxide": 0.01, "ozone": 0.01, "bromate": 0.001, "chlorite": 0.02,
             "chlorate": 0.02, "permanganate_index": 0.1, "ammonia_n": 0.02}

# (disinfectant quantity, upper limit, plant-outlet residual, tap residual, contact time [min])
_TABLE_2: dict[Disinfection, tuple[str, float, float | None, float, int]] = {
    Disinfection.FREE_CHLORINE: ("free_chlorine", 2.0, 0.3, 0.05, 30),
    Disinfection.CHLORAMINE: ("total_chlorine", 3.0, 0.5, 0.05, 120),
    Disinfection.CHLORINE_DIOXIDE: ("chlorine_dioxide", 0.8, 0.1, 0.02, 30),
    Disinfection.OZONE: ("ozone", 0.3, None, 0.02, 12),
}


def _limit(quantity: str, bound: float, side: Side, unit: str, clause: str,
           min_duration_s: float) -> Limit:
    return Limit(quantity, bound, side, unit, _DEADBAND.get(quantity, 0.0), min_duration_s,
                 clause)


def gb5749_limits(point: SamplingPoint | str,
                  disinfection: Disinfection | str = Disinfection.FREE_CHLORINE,
                  *, ozone_plant: bool = False,
                  min_duration_s: float = DEFAULT_MIN_DURATION_S) -> tuple[Limit, ...]:
    """The GB 5749-2022 limits that apply at a sampling point.

    Parameters
    ----------
    point : plant outlet (出厂水), network (管网水) or tap (末梢水)
    disinfection : the plant's disinfectant; decides the table-2 row (free chlorine,
        total chlorine for chloramine, chlorine dioxide, ozone)
    ozone_plant : the plant uses ozone (O3-BAC): adds bromate ≤ 0.01 mg/L (table 1)
    min_duration_s : persistence before an alarm is raised [s]

    Returns
    -------
    Limits with ``clause`` citing table and row. Units: turbidity NTU, pH 1, the rest mg/L.
    """
    point = SamplingPoint(point)
    disinfection = Disinfection(disinfection)
    d = min_duration_s
    limits = [
        _limit("turbidity", 1.0, Side.UPPER, "NTU", f"{_T1}, 浑浊度 ≤ 1 NTU", d),
        _limit("ph", 6.5, Side.LOWER, "1", f"{_T1}, pH 不小于 6.5", d),
        _limit("ph", 8.5, Side.UPPER, "1", f"{_T1}, pH 不大于 8.5", d),
        _limit("permanganate_index", 3.0, Side.UPPER, "mg/L",
               f"{_T1}, 高锰酸盐指数 (以 O2 计) ≤ 3 mg/L", d),
        _limit("ammonia_n", 0.5, Side.UPPER, "mg/L", f"{_T1}, 氨 (以 N 计) ≤ 0.5 mg/L", d),
    ]
    quantity, upper, outlet_min, tap_min, contact_min = _TABLE_2[disinfection]
    limits.append(_limit(quantity, upper, Side.UPPER, "mg/L",
                         f"{_T2}, {quantity} 出厂水和末梢水限值 ≤ {upper:g} mg/L", d))
    if point is SamplingPoint.PLANT_OUTLET and outlet_min is not None:
        limits.append(_limit(quantity, outlet_min, Side.LOWER, "mg/L",
                             f"{_T2}, {quantity} 出厂水余量 ≥ {outlet_min:g} mg/L "
                             f"(after ≥ {contact_min} min contact)", d))
    elif point is SamplingPoint.TAP:
        limits.append(_limit(quantity, tap_min, Side.LOWER, "mg/L",
                             f"{_T2}, {quantity} 末梢水余量 ≥ {tap_min:g} mg/L", d))
    elif point is SamplingPoint.NETWORK:
        limits.append(_limit(quantity, tap_min, Side.LOWER, "mg/L",
                             f"derived from {_T2}: network water held to the 末梢水余量 "
                             f"≥ {tap_min:g} mg/L", d))
    if disinfection is Disinfection.CHLORINE_DIOXIDE:
        limits += [
            _limit("chlorite", 0.7, Side.UPPER, "mg/L", f"{_T1}, 亚氯酸盐 ≤ 0.7 mg/L", d),
            _limit("chlorate", 0.7, Side.UPPER, "mg/L", f"{_T1}, 氯酸盐 ≤ 0.7 mg/L", d),
        ]
    if ozone_plant or disinfection is Disinfection.OZONE:
        limits.append(_limit("bromate", 0.01, Side.UPPER, "mg/L",
                             f"{_T1}, 溴酸盐 ≤ 0.01 mg/L (ozone)", d))
    return tuple(limits)


def with_persistence(limits: Iterable[Limit], min_duration_s: float,
                     deadband: float | None = None) -> tuple[Limit, ...]:
    """The same limits with another minimum duration [s] (and deadband, if given)."""
    return tuple(replace(lim, min_duration_s=min_duration_s,
                         deadband=lim.deadband if deadband is None else deadband)
                 for lim in limits)
