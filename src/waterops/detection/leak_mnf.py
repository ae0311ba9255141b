"""Minimum night flow (MNF, 夜间最小流量) per DMA: the classic leak alarm, and our baseline.

At night (02:00-04:00 local time) consumption is lowest and most of the inflow of a district
metered area is leakage; a new leak raises the MNF by its flow. The detector compares each
night's MNF with the usual level learned from training nights and raises a leak when it is
above ``usual + k x spread`` for ``nights`` nights in a row. It cannot say where in the DMA the
leak is: its alarms carry no pipe.

After an alarm the usual level moves up to the new MNF (the leak is known; look for the next),
and it follows the MNF down when a repair lowers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from waterops.errors import ConfigError

MAD_TO_SIGMA = 1.4826
"""Median absolute deviation to standard deviation of a normal distribution."""


@dataclass(frozen=True)
class NightFlowSettings:
    """Tuning of the MNF detector.

    Attributes
    ----------
    night_start_hour, night_end_hour : the night window, local clock hours [h]
    timezone : the utility's clock (nights are local)
    training_s : training period at the start of the data [s]
    k : alarm level in spreads above the usual MNF [-]
    min_rise_m3s : smallest rise that can raise an alarm [m³/s] (meter accuracy)
    nights : nights in a row above the alarm level before raising
    """

    night_start_hour: int = 2
    night_end_hour: int = 4
    timezone: str = "UTC"
    training_s: float = 7 * 86_400.0
    k: float = 3.0
    min_rise_m3s: float = 0.0005
    nights: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.night_start_hour < self.night_end_hour <= 24:
            raise ConfigError("MNF: night hours must satisfy 0 <= start < end <= 24")
        if self.nights < 1:
            raise ConfigError(f"MNF: nights must be >= 1, got {self.nights}")


def minimum_night_flow(inflow_m3s: pd.Series, settings: NightFlowSettings) -> pd.Series:
    """Mean inflow [m³/s] over each night window, indexed by the window's end (UTC).

    Only complete nights count (the window's last reading seen), so the value of a night is
    known at its end, as it would be online.
    """
    local = inflow_m3s.tz_convert(settings.timezone)
    hours = pd.DatetimeIndex(local.index).hour
    in_night = (hours >= settings.night_start_hour) & (hours < settings.night_end_hour)
    night = local[in_night].dropna()
    if night.empty:
        return pd.Series(dtype=float)
    dates = pd.DatetimeIndex(night.index).normalize()
    grouped = night.groupby(dates)
    ends = grouped.apply(lambda g: g.index.max())
    means = grouped.mean()
    complete = np.asarray([t.hour == settings.night_end_hour - 1 and
                           t.minute >= 60 - _step_minutes(inflow_m3s) for t in ends])
    kept = [t for t, c in zip(ends, complete, strict=True) if c]
    index = pd.DatetimeIndex(kept) if kept else pd.DatetimeIndex([], tz=settings.timezone)
    return pd.Series(means.to_numpy()[complete], index=index).tz_convert("UTC")


def _step_minutes(series: pd.Series) -> int:
    index = pd.DatetimeIndex(series.index)
    if len(index) < 2:
        return 60
    steps_s = (index[1:] - index[:-1]).total_seconds().to_numpy()
    return int(np.median(steps_s) // 60)


def detect_night_flow_leaks(inflow_m3s: pd.Series,
                            settings: NightFlowSettings | None = None) -> pd.DataFrame:
    """Leaks raised from the MNF of one DMA inflow [m³/s] (UTC index).

    Returns
    -------
    One row per alarm: ``detected_at`` (end of the night that confirmed it), ``score`` (the
    rise over the usual MNF in spreads), ``rise_m3s`` (the rise [m³/s]).
    """
    settings = settings or NightFlowSettings()
    mnf = minimum_night_flow(inflow_m3s, settings)
    train_end = inflow_m3s.index[0] + pd.Timedelta(seconds=settings.training_s)
    training = mnf[mnf.index < train_end]
    if len(training) < 3:
        raise ConfigError(f"MNF: {len(training)} training nights; at least 3 are needed")
    usual = float(training.median())
    spread = max(float((training - usual).abs().median()) * MAD_TO_SIGMA, 1e-9)
    level = max(settings.k * spread, settings.min_rise_m3s)
    rows = []
    above = 0
    for time, value in mnf[mnf.index >= train_end].items():
        usual = min(usual, float(value))  # a repair lowers the usual level
        rise = float(value) - usual
        above = above + 1 if rise > level else 0
        if above >= settings.nights:
            rows.append((time, rise / spread, rise))
            usual = float(value)
            above = 0
    return pd.DataFrame(rows, columns=["detected_at", "score", "rise_m3s"])
