"""Statistics of model residuals per sensor: running bias, RMS and a z-score (pure, no I/O).

A residual is *measured − modelled* at a sensor, in the sensor's SI unit (pressure [m],
flow [m³/s], level [m]). A digital twin produces one per sensor at each update; a sensor
whose residual suddenly leaves its usual band (a burst near a pressure logger, a DMA inlet
flow above what the twin expected) or whose bias creeps away (a drifting sensor, a slowly
growing leak) is what detection looks for.

Two forms:

- :class:`ResidualStatistics` keeps exponentially weighted statistics and is updated once per
  twin update (constant cost, no history kept);
- :func:`rolling_bias`, :func:`rolling_rms` and :func:`rolling_zscore` work on a history
  table (time x sensor) with a fixed window of rows, for offline analysis.

The z-score of a new residual is measured against the statistics *before* it, so a jump is
not hidden by itself: ``z = (r − bias) / max(spread, floor)``. The floor [sensor unit] keeps a
perfect model (spread 0) from turning the smallest noise into huge scores; set it to the
sensor's accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class ResidualStatistics:
    """Exponentially weighted bias and spread of each sensor's residuals.

    Parameters
    ----------
    weight : weight of a new residual in the running statistics, in (0, 1]; about
        ``2 / (n + 1)`` for a memory of ``n`` updates (0.1 ≈ the last 19 updates)
    """

    weight: float = 0.1
    _bias: dict[str, float] = field(default_factory=dict)
    _variance: dict[str, float] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"weight must be in (0, 1], not {self.weight}")

    def update(
        self, residuals: Mapping[str, float], floors: Mapping[str, float]
    ) -> pd.DataFrame:
        """Score new residuals, then fold them into the statistics.

        Parameters
        ----------
        residuals : sensor id -> residual [sensor unit]; NaN (no trusted measurement) is
            scored NaN and leaves the sensor's statistics unchanged
        floors : sensor id -> smallest spread used in the z-score [sensor unit]

        Returns
        -------
        DataFrame indexed by sensor id with ``bias`` and ``rms`` (before this residual),
        ``z`` (of this residual) and ``count`` (residuals seen before this one).
        """
        rows = []
        w = self.weight
        for sensor_id, r in residuals.items():
            bias = self._bias.get(sensor_id, 0.0)
            var = self._variance.get(sensor_id, 0.0)
            n = self._count.get(sensor_id, 0)
            spread = max(float(np.sqrt(var)), floors.get(sensor_id, 0.0))
            finite = bool(np.isfinite(r))
            z = (r - bias) / spread if finite and spread > 0 else np.nan
            rows.append((sensor_id, bias, float(np.sqrt(var + bias * bias)), z, n))
            if not finite:
                continue
            if n == 0:
                self._bias[sensor_id], self._variance[sensor_id] = r, 0.0
            else:  # West's exponentially weighted mean and variance
                delta = r - bias
                self._bias[sensor_id] = bias + w * delta
                self._variance[sensor_id] = (1.0 - w) * (var + w * delta * delta)
            self._count[sensor_id] = n + 1
        frame = pd.DataFrame(rows, columns=["sensor_id", "bias", "rms", "z", "count"])
        return frame.set_index("sensor_id")


def rolling_bias(history: pd.DataFrame, window: int) -> pd.DataFrame:
    """Mean residual over the last ``window`` rows of a time x sensor table (NaN skipped)."""
    return history.rolling(window, min_periods=1).mean()


def rolling_rms(history: pd.DataFrame, window: int) -> pd.DataFrame:
    """Root mean square of the residuals over the last ``window`` rows."""
    return (history * history).rolling(window, min_periods=1).mean().pow(0.5)


def rolling_zscore(history: pd.DataFrame, window: int, floor: float | pd.Series) -> pd.DataFrame:
    """z-score of each residual against the ``window`` rows before it.

    ``floor`` is the smallest spread [sensor unit], one number or one per sensor (column).
    The first row of each sensor has no past and scores NaN.
    """
    past = history.shift(1).rolling(window, min_periods=2)
    spread = past.std(ddof=0)
    spread = spread.clip(lower=floor, axis=1) if isinstance(floor, pd.Series) else spread.clip(
        lower=floor
    )
    return (history - past.mean()) / spread
