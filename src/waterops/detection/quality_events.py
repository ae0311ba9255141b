"""Water-quality event detection in multivariate station data, in the spirit of USEPA CANARY.

A monitoring station reports chlorine, turbidity, pH, conductivity, redox (ORP), temperature,
flow… every few minutes. Normal water varies (demand cycles, plant changes); a contamination
moves several of these at once (chlorine demand: free chlorine and ORP fall, TOC and
conductivity rise). The detector follows CANARY's recipe (Hart et al., USEPA CANARY User's
Manual, EPA/600/R-08/040):

1. **Prediction.** Each variable is predicted from its own recent past by a linear filter
   (an autoregression of order ``order`` with intercept) learned on a training period of
   normal water (:func:`fit_quality_model`).
2. **Residuals.** ``z = (measured − predicted) / sigma``; sigma is the larger of the trained
   residual spread and a running (exponentially weighted) spread of recent normal residuals.
3. **Outliers.** A variable is outlying when ``|z| > outlier_threshold``. Its history then
   keeps the prediction instead of the measurement when the row is an outlier row (below), so
   a sustained change keeps standing out instead of being learned as the new normal; after
   ``event_timeout_rows`` such rows in a row the measurement is accepted again (the water has
   changed for good, e.g. a new source). A reading that is not outlying enters the history
   clipped to ``accept_limit`` sigma of its prediction, so a change that creeps in over
   several rows, each step too small to stand out, still builds up a residual. When at most
   half of the variables that moved together are still outlying for ``end_after_rows`` rows,
   the plug has passed: the histories restart from the measurements (what still stands out
   is the water's own drift while they were frozen). If variables restarted that way later
   stand out again back near their level before the event, that is the plug's tail leaving,
   not a new event: they restart again instead of freezing.
4. **Robustness to one faulty sensor.** A row is an outlier row only when at least
   ``min_variables`` (default 2) trusted variables are outlying together; a variable whose
   reading is NaN or has been exactly constant for ``stuck_rows`` rows (a stuck sensor) is not
   trusted. A single stuck, drifting or spiking sensor therefore never raises an event.
5. **Binomial event discrimination (BED).** Over the last ``bed_window`` rows, the number of
   outlier rows ``X`` is compared with a binomial law of ``p = outlier_probability``; the event
   probability is ``P(Bin(n, p) ≤ X)``, and an event is declared while it is at least
   ``event_probability`` and the last ``end_after_rows`` rows held an outlier row.

Each output row depends only on rows up to it (online). :class:`QualityEventDetector` is the
online form (``step`` per row, state carried); :func:`detect_quality_events` runs a table.
:func:`robust_zscore_events` is the baseline it is compared with: a median/MAD z-score per
variable, any variable beyond ``k`` is an event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from waterops.errors import QualityDataError

MAD_TO_SIGMA = 1.4826
"""Factor from the median absolute deviation to the standard deviation of a normal law."""


@dataclass(frozen=True)
class QualityModel:
    """Learned normal variation of a station: one autoregression per variable.

    Attributes
    ----------
    variables : column names, in order
    coefficients : ``(n_variables, order)`` weights of the last ``order`` values (most recent
        first)
    intercepts : ``(n_variables,)`` [variable unit]
    sigma : ``(n_variables,)`` robust spread of the one-step residuals on normal rows
        [variable unit]
    centre, spread : ``(n_variables,)`` median and robust spread (MAD × 1.4826) of the
        values on normal rows [variable unit] (used by the z-score baseline)
    """

    variables: tuple[str, ...]
    coefficients: np.ndarray
    intercepts: np.ndarray
    sigma: np.ndarray
    centre: np.ndarray
    spread: np.ndarray

    @property
    def order(self) -> int:
        """Number of past values each prediction uses."""
        return int(self.coefficients.shape[1])


@dataclass(frozen=True)
class CanarySettings:
    """Settings of the event detector (counts are rows of the input, not seconds).

    Parameters
    ----------
    outlier_threshold : ``|z|`` beyond which a variable is outlying
    min_variables : trusted variables that must be outlying together for an outlier row
    bed_window : rows of the binomial event discrimination window
    outlier_probability : probability of an outlier row in normal water (the BED's ``p``)
    event_probability : event probability at or above which an event is declared
    event_timeout_rows : outlying rows in a row after which a variable's new level is learned
    end_after_rows : an event ends once this many rows in a row are not outlier rows, even
        while the BED window still holds enough outlier rows (no tail after the event)
    stuck_rows : identical readings in a row after which a variable is not trusted
    spread_weight : weight of a new normal residual in the running spread, in (0, 1]
    accept_limit : a reading that is not outlying enters the history moved at most this many
        sigma from its prediction, so a change creeping in over several rows builds up a
        residual instead of being learned row by row
    """

    outlier_threshold: float = 4.0
    min_variables: int = 2
    bed_window: int = 8
    outlier_probability: float = 0.1
    event_probability: float = 0.99
    event_timeout_rows: int = 144
    end_after_rows: int = 3
    stuck_rows: int = 12
    spread_weight: float = 0.02
    accept_limit: float = 2.0

    def __post_init__(self) -> None:
        if self.min_variables < 1 or self.bed_window < 1 or self.stuck_rows < 2:
            raise ValueError("min_variables, bed_window must be >= 1 and stuck_rows >= 2")
        if not 0.0 < self.outlier_probability < 1.0:
            raise ValueError(f"outlier_probability must be in (0, 1), not "
                             f"{self.outlier_probability}")
        if not 0.0 < self.spread_weight <= 1.0:
            raise ValueError(f"spread_weight must be in (0, 1], not {self.spread_weight}")


def _robust_spread(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def _sigma_floor(centre: float) -> float:
    # a constant training series (spread 0) must not turn rounding into alarms
    return 1e-6 * (1.0 + abs(centre))


def fit_quality_model(train: pd.DataFrame, labels: pd.Series | np.ndarray | None = None,
                      order: int = 3, source: str = "training data") -> QualityModel:
    """Learn each variable's normal variation from a training table.

    Parameters
    ----------
    train : one numeric column per variable, rows in time order, NaN for gaps
    labels : optional event label per row (non-zero = event); event rows, and predictions
        that would use them, are left out of the fit
    order : past values per prediction
    source : name of the data, for error messages

    Returns
    -------
    The :class:`QualityModel`. Outlying training rows (faulty readings beyond 5 robust sigma
    of a first fit) are dropped and the fit repeated, so spikes in the training period do not
    bend the model.
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, not {order}")
    values = _numeric(train, source)
    n_rows, n_var = values.shape
    normal = np.ones(n_rows, dtype=bool)
    if labels is not None:
        lab = np.asarray(labels, dtype=float)
        if lab.shape != (n_rows,):
            raise QualityDataError(source, f"{lab.size} labels for {n_rows} rows")
        normal = ~(np.nan_to_num(lab, nan=0.0) != 0)
    coefficients = np.zeros((n_var, order))
    intercepts = np.zeros(n_var)
    sigma = np.zeros(n_var)
    centre = np.zeros(n_var)
    spread = np.zeros(n_var)
    for j, name in enumerate(train.columns):
        x = values[:, j]
        good = np.isfinite(x) & normal
        if good.sum() < 10 * (order + 1):
            raise QualityDataError(
                source, f"column {name!r} has {int(good.sum())} usable normal rows; "
                f"at least {10 * (order + 1)} are needed to learn it")
        centre[j] = float(np.median(x[good]))
        spread[j] = max(_robust_spread(x[good]), _sigma_floor(centre[j]))
        coef, icpt, sig = _fit_autoregression(x, good, order)
        coefficients[j], intercepts[j] = coef, icpt
        # a perfectly predictable training series must not turn rounding into alarms
        sigma[j] = max(sig, _sigma_floor(centre[j]), 1e-3 * spread[j])
    return QualityModel(tuple(str(c) for c in train.columns), coefficients, intercepts, sigma,
                        centre, spread)


def _fit_autoregression(x: np.ndarray, good: np.ndarray, order: int
                        ) -> tuple[np.ndarray, float, float]:
    n = x.size
    lags = np.column_stack([x[order - k - 1:n - k - 1] for k in range(order)])
    target = x[order:]
    usable = good[order:].copy()
    for k in range(order):
        usable &= good[order - k - 1:n - k - 1]
    if usable.sum() < 5 * (order + 1):
        # too few complete windows (many gaps): predict the last value
        return np.eye(1, order).ravel(), 0.0, _robust_spread(np.diff(x[good]))
    design = np.column_stack([lags, np.ones(n - order)])
    fit = usable
    sigma = 0.0
    solution = np.zeros(order + 1)
    for _ in range(2):
        solution, *_ = np.linalg.lstsq(design[fit], target[fit], rcond=None)
        residual = target - design @ solution
        sigma = _robust_spread(residual[usable])
        fit = usable & (np.abs(residual) <= 5.0 * max(sigma, 1e-12))
        if fit.sum() < 5 * (order + 1):
            break
    return solution[:order], float(solution[order]), sigma


def _numeric(frame: pd.DataFrame, source: str) -> np.ndarray:
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise QualityDataError(source, f"column {name!r} is not numeric")
    values = frame.to_numpy(dtype=float, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def _binomial_cdf(n: int, p: float) -> np.ndarray:
    """``P(Bin(n, p) <= x)`` for x = 0..n."""
    pmf = [math.comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(n + 1)]
    cdf: np.ndarray = np.minimum(np.cumsum(pmf), 1.0)
    return cdf


class QualityEventDetector:
    """Online event detector of one station (state carried between rows).

    Parameters
    ----------
    model : the learned normal variation (:func:`fit_quality_model`)
    settings : detector settings
    """

    def __init__(self, model: QualityModel, settings: CanarySettings | None = None) -> None:
        self.model = model
        self.settings = settings or CanarySettings()
        n_var = len(model.variables)
        self._history = np.full((n_var, model.order), np.nan)  # most recent first
        self._variance = model.sigma**2
        self._outlying_run = np.zeros(n_var, dtype=int)
        self._same_run = np.zeros(n_var, dtype=int)
        self._last = np.full(n_var, np.nan)
        self._seen = np.zeros(n_var, dtype=int)
        self._window = np.zeros(self.settings.bed_window, dtype=bool)
        self._position = 0
        self._quiet_rows = 0
        self._peak = 0  # most variables outlying together in the current outlier episode
        self._fewer_rows = 0  # rows in a row with at most half of them still outlying
        # levels before and during an event of the variables restarted while it lasted
        self._before = np.full(n_var, np.nan)
        self._during = np.full(n_var, np.nan)
        self._memory_rows = np.zeros(n_var, dtype=int)
        self._cdf = _binomial_cdf(self.settings.bed_window, self.settings.outlier_probability)
        self.outlying: tuple[str, ...] = ()
        """Variables outlying at the last row (for the alarm's description)."""

    def _tail_of_plug(self, x: np.ndarray, counted: np.ndarray) -> bool:
        """True when the outlying variables that were restarted during an event are all back
        near their level before it (nearer than half the event's shift)."""
        remembered = counted & ~np.isnan(self._before) & ~np.isnan(x)
        if not remembered.any():
            return False
        gap = np.abs(x[remembered] - self._before[remembered])
        shift = np.abs(self._during[remembered] - self._before[remembered])
        return bool(np.all(gap < 0.5 * shift))

    def step(self, values: np.ndarray) -> tuple[bool, float]:
        """Take one row; return (event, event probability).

        Parameters
        ----------
        values : one reading per variable, in the model's order [variable units]; NaN for a
            missing reading
        """
        s, m = self.settings, self.model
        x = np.asarray(values, dtype=float)
        x = np.where(np.isfinite(x), x, np.nan)
        present = ~np.isnan(x)
        same = present & (x == self._last)
        self._same_run = np.where(same, self._same_run + 1, 0)
        self._last = np.where(present, x, self._last)
        # an empty history (start, or a variable never seen yet) starts from the reading
        empty = np.isnan(self._history[:, 0])
        if empty.any():
            self._history[empty] = np.where(present[empty], x[empty], np.nan)[:, None]
        self._history = np.where(np.isnan(self._history), self._history[:, :1], self._history)
        self._seen += present
        # a variable is judged once its history holds real readings, not start-up filling
        ready = self._seen > m.order
        predicted = np.einsum("ij,ij->i", m.coefficients, np.nan_to_num(self._history))
        predicted += m.intercepts
        sigma = np.maximum(m.sigma, np.sqrt(self._variance))
        z = np.where(present & ready, (np.nan_to_num(x) - predicted) / sigma, 0.0)
        outlying = np.abs(z) > s.outlier_threshold
        trusted = present & ready & (self._same_run + 1 < s.stuck_rows)
        counted = outlying & trusted
        outlier_row = int(counted.sum()) >= s.min_variables
        # only an outlier row freezes the history: one variable outlying alone is a sensor's
        # business (spike, drift, recalibration) and is learned as it comes
        frozen = outlying & outlier_row
        n_out = int(counted.sum())
        self._peak = max(self._peak, n_out) if outlier_row or self._peak else 0
        self._fewer_rows = self._fewer_rows + 1 if self._peak and 2 * n_out <= self._peak else 0
        if self._fewer_rows >= s.end_after_rows:
            # most of the variables that moved together are back: the plug has passed. What
            # still stands out is the water's own drift while the history was frozen, so the
            # measurements are taken as they are again.
            restart = frozen & present
            frozen[:] = False
            self._peak = self._fewer_rows = 0
            # remember where they were before and during, to know the plug's tail later
            self._before = np.where(restart, predicted, self._before)
            self._during = np.where(restart, x, self._during)
            self._memory_rows = np.where(restart, s.event_timeout_rows, self._memory_rows)
        elif outlier_row and self._tail_of_plug(x, counted):
            # the variables restarted at their event level are back where they were before
            # the event: the tail of the plug passing, not a new event; restart them again
            restart = counted & present
            frozen[:] = False
            self._peak = self._fewer_rows = 0
            self._memory_rows[restart] = 0
        else:
            restart = np.zeros_like(frozen)
        self._memory_rows = np.maximum(self._memory_rows - 1, 0)
        self._before = np.where(self._memory_rows > 0, self._before, np.nan)
        self._outlying_run = np.where(frozen, self._outlying_run + 1, 0)
        accept = present & (~frozen | (self._outlying_run > s.event_timeout_rows))
        normal = present & ~outlying
        w = s.spread_weight
        self._variance = np.where(normal, (1 - w) * self._variance + w * z**2 * sigma**2,
                                  self._variance)
        # the history keeps the prediction where the reading is missing or outlying
        # a reading accepted into the history moves it by at most ``accept_limit`` sigma, so
        # a change that creeps in over several rows piles up a residual instead of being
        # learned step by step
        clipped = predicted + np.clip(z, -s.accept_limit, s.accept_limit) * sigma
        measured = np.nan_to_num(x)
        newest = np.where(accept, np.where(frozen | ~ready, measured, clipped), predicted)
        newest = np.where(~np.isnan(self._history[:, 0]) | present, newest, np.nan)
        self._history = np.concatenate([newest[:, None], self._history[:, :-1]], axis=1)
        self._history[restart] = np.nan_to_num(x)[restart, None]
        self.outlying = tuple(v for v, c in zip(m.variables, counted, strict=True) if c)
        self._window[self._position] = outlier_row
        self._position = (self._position + 1) % s.bed_window
        self._quiet_rows = 0 if outlier_row else self._quiet_rows + 1
        probability = float(self._cdf[int(self._window.sum())])
        event = probability >= s.event_probability and self._quiet_rows < s.end_after_rows
        return event, probability


def detect_quality_events(frame: pd.DataFrame, model: QualityModel | None = None,
                          settings: CanarySettings | None = None, warmup_rows: int = 288,
                          source: str = "input") -> pd.DataFrame:
    """Run the online detector over a table, row by row.

    Parameters
    ----------
    frame : one numeric column per variable (the model's variables, any order), rows in time
        order; the index is kept
    model : learned normal variation; ``None`` learns it from the first ``warmup_rows`` rows
        of ``frame`` itself, and those rows are reported as no event (score 0)
    settings : detector settings
    warmup_rows : rows learned from when no model is given
    source : name of the data, for error messages

    Returns
    -------
    Columns ``event`` (bool) and ``score`` (event probability, 0–1), same index as ``frame``.
    """
    if model is None:
        if len(frame) <= warmup_rows:
            return pd.DataFrame({"event": np.zeros(len(frame), dtype=bool),
                                 "score": np.zeros(len(frame))}, index=frame.index)
        model = fit_quality_model(frame.iloc[:warmup_rows], source=source)
        start = warmup_rows
    else:
        start = 0
    values = _numeric(_in_model_order(frame, model, source), source)
    detector = QualityEventDetector(model, settings)
    event = np.zeros(len(frame), dtype=bool)
    score = np.zeros(len(frame))
    for i in range(start, len(frame)):
        event[i], score[i] = detector.step(values[i])
    return pd.DataFrame({"event": event, "score": score}, index=frame.index)


def _in_model_order(frame: pd.DataFrame, model: QualityModel, source: str) -> pd.DataFrame:
    missing = [v for v in model.variables if v not in frame.columns]
    extra = [c for c in frame.columns if c not in model.variables]
    if missing or extra:
        raise QualityDataError(
            source, f"columns differ from the training data: missing {missing}, "
            f"not trained {extra}")
    return frame[list(model.variables)]


def robust_zscore_events(frame: pd.DataFrame, model: QualityModel, k: float = 4.0,
                         source: str = "input") -> pd.DataFrame:
    """Baseline: a robust z-score per variable, any variable beyond ``k`` is an event.

    Parameters
    ----------
    frame : one numeric column per variable of ``model``
    model : gives each variable's median and robust spread (MAD × 1.4826) on normal rows
    k : threshold on ``|value − median| / spread``

    Returns
    -------
    Columns ``event`` (bool) and ``score`` (largest ``|z|`` of the row), same index.
    """
    values = _numeric(_in_model_order(frame, model, source), source)
    z = np.abs(values - model.centre) / model.spread
    score = np.nan_to_num(np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=1), neginf=0.0)
    return pd.DataFrame({"event": score > k, "score": score}, index=frame.index)
