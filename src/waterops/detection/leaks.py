"""Leak and burst detection from pressure residuals, localised with leak signatures (pure).

The method, in three parts (each a function or class here; the hydraulic model that makes the
leak signatures lives in :mod:`waterops.service.leak_detection`):

1. **A learned reference of normal pressure.** Each pressure sensor is explained by the
   other pressure sensors (which follow source heads, tank levels and pump switching) and
   the flows a utility meters anyway (inflows and pump flows, and their squares, since head
   loss grows with flow²), by a ridge regression fitted on a leak-free training window
   (:class:`PressureReference`). The residual *measured − reference* [m] is what a leak
   changes; daily demand swings, pump switching and tank cycles are explained away. (The
   "learned reference" of many BattLeDIM 2020 entries, e.g. the LILA method of Daniel et
   al. 2022, and the data-driven twins of Romero-Ben et al. 2022.)
2. **Averaging and whitening.** Residuals are averaged over a trailing window (``window_s``)
   and divided by their spread in training [m], so each sensor speaks in standard units.
3. **Detection and localisation with leak signatures** (sensitivity-based localisation,
   Pérez et al. 2011, 2014; Casillas et al. 2013): a leak at pipe *j* moves the residual
   vector along its signature *s_j* (how each sensor's residual changes per m³/s of leak,
   computed on the hydraulic model and passed through the same reference). The detection
   score is the largest normalised projection ``max_j (s_j · z) / |s_j|`` of the whitened
   residual *z* on the signatures — the generalised likelihood ratio of a single leak in
   white noise — and the located pipe is its argmax.

Online and causal: :class:`OnlineLeakDetector` sees one time step at a time and never looks
ahead (:class:`OnlineLeakMonitor` adds the reference and the window, one row of readings at a
time); :func:`detect_leaks` runs it over a table. The detector watches the *change* of the
residual from a baseline: a change above ``threshold`` for ``confirm_s`` is suspected, located
``locate_after_s`` later (by default one window, when the window holds only the new state;
``waterops detect leaks`` uses :data:`LOCATE_AFTER_S`, half of it) and raised; the baseline
then takes the new state, so the next leak is seen on top of this one. A change like a leak raised
in the last ``growth_s`` (an incipient leak growing) or like a leak undone (a repair) moves the
baseline without an alarm, and between events the baseline follows slow drift (``drift_s``).

Limits, measured in ``docs/evaluation.md``: leaks are *seen* well, but with a few dozen
loggers many pipes in one logger's catchment have nearly the same signature, so a leak is
often placed several hundred metres from its pipe.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import ConfigError

FloatArray = npt.NDArray[np.float64]

HELD_OUT_SHARE = 0.3
"""Share of the training window kept out of the fit to measure the residual spread."""
MIN_SPREAD_M = 0.002
"""Floor of a sensor's residual spread [m]: a perfect fit must not make noise look huge."""


@dataclass(frozen=True)
class LeakDetectorSettings:
    """Tuning of the pressure-residual leak detector.

    Attributes
    ----------
    training_s : leak-free training window at the start of the data [s]
    window_s : trailing window over which residuals are averaged [s]
    threshold : score [standard units] above which a leak is suspected
    confirm_s : time the score must stay above ``threshold`` before a leak is raised [s]
    ridge : ridge penalty of the reference regression [-, relative to the feature variance]
    same_leak_likeness : a change whose signature is this alike (cosine) to a raised leak's
        is that leak growing, not a new one [-]
    tie_share : pipes scoring within this share of the best are not told apart and the leak
        is placed on their medoid along pipes (0 = the best pipe) [-]
    growth_s : how long after it is raised a leak may still grow (incipient leaks) [s]
    drift_s : time constant with which the baseline follows a slowly ageing reference [s]
    locate_after_s : wait after a leak is confirmed before it is located and raised [s]
        (``None``: one averaging window, when the window holds only the new state). The
        change of the window mean is then the fraction of the window since the leak times
        its full change: same direction, so it can be located earlier at some cost in noise
    hit_radius_m : with distances along pipes, place a leak on the pipe with the highest
        probability of lying within this distance of it (a Bayes decision for the 300 m rule
        of BattLeDIM) under the candidates' likelihoods; 0 = the best-matching pipe [m]
    likelihood_scale : the candidates' log-likelihoods are ``likelihood_scale × score² / 2``
        (1 = white Gaussian noise; below 1 widens the posterior for model error) [-]
    signature_error : relative error of the modelled signatures [-]: the noise of the change
        grows by this share of its size, so among strong changes pipes within a few
        ``signature_error²`` (relative) of the best score stay likely (0 = exact signatures)
    """

    training_s: float = 14 * 86_400.0
    window_s: float = 24 * 3600.0
    threshold: float = 5.0
    confirm_s: float = 3 * 3600.0
    ridge: float = 1e-4
    same_leak_likeness: float = 0.95
    tie_share: float = 0.0
    growth_s: float = 10 * 86_400.0
    drift_s: float = 20 * 86_400.0
    locate_after_s: float | None = None
    hit_radius_m: float = 0.0
    likelihood_scale: float = 1.0
    signature_error: float = 0.0

    def __post_init__(self) -> None:
        for name in ("training_s", "window_s", "threshold"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"leak detector: {name} must be > 0, got {getattr(self, name)}")
        if self.confirm_s < 0:
            raise ConfigError(f"leak detector: confirm_s must be >= 0, got {self.confirm_s}")
        if self.window_s >= self.training_s:
            raise ConfigError("leak detector: the averaging window must be shorter than the "
                              "training window")
        if self.locate_after_s is not None and not 0 <= self.locate_after_s <= self.window_s:
            raise ConfigError("leak detector: locate_after_s must lie between 0 and the "
                              f"averaging window, got {self.locate_after_s}")
        if self.hit_radius_m < 0:
            raise ConfigError(f"leak detector: hit_radius_m must be >= 0, got "
                              f"{self.hit_radius_m}")
        if self.signature_error < 0:
            raise ConfigError(f"leak detector: signature_error must be >= 0, got "
                              f"{self.signature_error}")
        if not self.likelihood_scale > 0:
            raise ConfigError(f"leak detector: likelihood_scale must be > 0, got "
                              f"{self.likelihood_scale}")

    @property
    def locate_delay_s(self) -> float:
        """Wait after a confirmed leak before it is located [s]."""
        return self.window_s if self.locate_after_s is None else self.locate_after_s


def boundary_features(flows_m3s: pd.DataFrame) -> pd.DataFrame:
    """Regressors of the pressure reference besides the other sensors: metered flows
    [m³/s] and flow·|flow| (head loss grows with the square of flow).

    Tank levels are left out on purpose: a leak drains tanks over days, so a reference
    that reads levels would slowly take the leak for normal. The other pressure sensors
    carry the tanks' heads anyway. Gaps are filled with the last value seen (causal).
    """
    flows = flows_m3s.ffill().fillna(0.0)
    signed_square = flows * flows.abs()
    return pd.concat([flows.add_prefix("flow:"), signed_square.add_prefix("flow2:")], axis=1)


LOCATE_AFTER_S = 12 * 3600.0
"""Wait from a confirmed leak to raising it used by ``waterops detect leaks`` [s] (half the
24 h window): tuned among 8, 12, 16 and 24 h on the data sets of seeds 11 (Net3) and 12
(ky4), not the reported ones; see docs/evaluation.md."""

PRESSURE_PREFIX = "pressure:"
"""Prefix of the other pressure sensors among a reference's features."""


@dataclass
class PressureReference:
    """Linear model of each pressure sensor on the *other* pressure sensors and the boundary
    features, fitted by ridge regression on a leak-free window.

    The other sensors carry what moves every pressure together (source heads, pump switching,
    total demand), which a model of flows alone cannot follow; what is left is local.

    Attributes
    ----------
    feature_names : columns of the design: ``pressure:<sensor>`` then boundary features
    sensor_ids : pressure sensors, in order
    mean : feature means of the training data
    scale : feature standard deviations of the training data (1 where constant)
    intercept : per sensor [m]
    coefficients : features x sensors [m per scaled unit]; a sensor's own column is 0
    """

    feature_names: list[str]
    sensor_ids: list[str]
    mean: FloatArray
    scale: FloatArray
    intercept: FloatArray
    coefficients: FloatArray

    @staticmethod
    def design(pressures_m: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
        """The regressors: every pressure sensor (gaps filled causally) and the features."""
        filled = pressures_m.ffill().fillna(0.0)  # causal: a gap repeats the last value
        return pd.concat([filled.add_prefix(PRESSURE_PREFIX), features], axis=1)

    @classmethod
    def fit(cls, pressures_m: pd.DataFrame, features: pd.DataFrame,
            ridge: float = 1e-4,
            neighbours: dict[str, set[str]] | None = None) -> PressureReference:
        """Fit on rows where every pressure is known (the training window).

        ``neighbours`` names, per sensor, the sensors that may *not* explain it (those near
        it, which a leak near it moves too: using them would hide the leak).

        Raises
        ------
        ConfigError
            when fewer rows than regressors are usable.
        """
        table = cls.design(pressures_m, features)
        usable = pressures_m.notna().all(axis=1).to_numpy()
        x = table.to_numpy(dtype=float)[usable]
        y = pressures_m.to_numpy(dtype=float)[usable]
        if len(x) <= x.shape[1] + 1:
            raise ConfigError(f"leak detector: {len(x)} complete training rows for "
                              f"{x.shape[1]} regressors; give a longer training window")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        xs = (x - mean) / scale
        y_mean = y.mean(axis=0)
        gram = xs.T @ xs + ridge * len(xs) * np.eye(xs.shape[1])
        cross = xs.T @ (y - y_mean)
        coefficients = np.zeros((xs.shape[1], y.shape[1]))
        names = list(pressures_m.columns)
        for i, sensor in enumerate(names):
            keep = np.arange(xs.shape[1]) != i  # a sensor does not explain itself
            for near in (neighbours or {}).get(sensor, set()):
                if near in names:
                    keep[names.index(near)] = False
            coefficients[keep, i] = np.linalg.solve(gram[np.ix_(keep, keep)], cross[keep, i])
        return cls(list(table.columns), list(pressures_m.columns), mean, scale, y_mean,
                   coefficients)

    def predict(self, pressures_m: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
        """Reference pressure [m] of every sensor at every row."""
        x = self.design(pressures_m[self.sensor_ids], features)[self.feature_names]
        xs = (x.to_numpy(dtype=float) - self.mean) / self.scale
        return pd.DataFrame(self.intercept + xs @ self.coefficients, index=x.index,
                            columns=self.sensor_ids)

    def feature_effect(self, feature_change: FloatArray) -> FloatArray:
        """Change of the reference [m, per sensor] for a change of the regressors."""
        return np.asarray((feature_change / self.scale) @ self.coefficients, dtype=float)


def trailing_mean(table: pd.DataFrame, window_s: float) -> pd.DataFrame:
    """Mean over the trailing ``window_s`` [s] of each column (causal; gaps skipped)."""
    return table.rolling(pd.Timedelta(seconds=window_s), min_periods=1).mean()


@dataclass(frozen=True)
class LeakSignatures:
    """How a leak on each candidate pipe changes what is measured, per m³/s of leak flow.

    Attributes
    ----------
    pressure : pressure sensor x pipe [m per m³/s]
    features : boundary feature x pipe (as :func:`boundary_features` names them) [feature
        unit per m³/s]
    """

    pressure: pd.DataFrame
    features: pd.DataFrame

    def residual_change(self, reference: PressureReference) -> pd.DataFrame:
        """Sensor x pipe: change of the residual *measured - reference* [m per m³/s].

        The reference sees the leak too (it raises the inflows), so part of the pressure
        drop is "explained" by it; what is left is what the detector can see.
        """
        pressure = self.pressure.loc[reference.sensor_ids]
        regressors = pd.concat([pressure.rename(index=lambda s: PRESSURE_PREFIX + s),
                                self.features])
        features = regressors.reindex(reference.feature_names).fillna(0.0)
        explained = reference.feature_effect(features.to_numpy(dtype=float).T).T
        return pressure - explained


@dataclass(frozen=True)
class LeakAlarm:
    """A leak raised by the detector.

    Attributes
    ----------
    pipe_id : most likely pipe
    detected_at : time the leak was raised (UTC)
    score : detection score at that time [standard units]
    """

    pipe_id: str
    detected_at: pd.Timestamp
    score: float


@dataclass
class OnlineLeakDetector:
    """Raises leaks one time step at a time from whitened, window-averaged residuals.

    The detector compares the residual with a *baseline*: what is already known (raised
    leaks, slow drift of the reference). A leak is suspected when the change from the
    baseline matches a pipe's signature above the threshold for ``confirm_s``; one window
    later, when the averaging window holds only the new state, it is located on the best
    matching pipe and raised, and the baseline takes the residual as it then is, so the next
    leak is seen on top of this one. A change that matches a leak already raised
    (an incipient leak growing) or a fall (a repair) moves the baseline without an alarm.
    Between events the baseline follows the residual slowly (``drift_s``), as the reference
    ages.

    Parameters
    ----------
    signatures : sensors x candidate pipes, residual change per leak flow [m per m³/s]
    spread_m : spread of each sensor's window-averaged residual in training [m]
    settings : thresholds and windows
    pipe_distance_m : candidates x candidates, distance along pipes [m]; with it, a leak is
        placed on the medoid of the pipes whose match is within ``tie_share`` of the best
        (pipes the sensors cannot tell apart), which lowers the expected distance to the leak
    """

    signatures: pd.DataFrame
    spread_m: FloatArray
    settings: LeakDetectorSettings
    pipe_distance_m: FloatArray | None = None
    _unit: FloatArray = field(init=False, repr=False)
    _baseline: FloatArray = field(init=False, repr=False)
    _known: list[tuple[int, pd.Timestamp]] = field(init=False, default_factory=list)
    _above_since: pd.Timestamp | None = field(init=False, default=None)
    _below_since: pd.Timestamp | None = field(init=False, default=None)
    _settle_at: pd.Timestamp | None = field(init=False, default=None)
    _quiet_until: pd.Timestamp | None = field(init=False, default=None)
    _last: pd.Timestamp | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        whitened = self.signatures.to_numpy(dtype=float) / self.spread_m[:, None]
        norms = np.linalg.norm(whitened, axis=0)
        norms[norms == 0] = np.inf  # a pipe no sensor sees cannot be located
        self._unit = whitened / norms
        self._baseline = np.zeros(len(self.spread_m))

    def _is_known(self, candidate: int, time: pd.Timestamp) -> bool:
        """Whether a candidate's signature is (like) that of a leak raised recently enough
        to still be growing."""
        growing_since = time - pd.Timedelta(seconds=self.settings.growth_s)
        recent = [pipe for pipe, raised_at in self._known if raised_at >= growing_since]
        if not recent:
            return False
        likeness = self._unit[:, recent].T @ self._unit[:, candidate]
        return bool(np.max(likeness) >= self.settings.same_leak_likeness)

    def update(self, time: pd.Timestamp, mean_residual_m: FloatArray) -> LeakAlarm | None:
        """Take the window-averaged residual of one time step [m]; return a leak if raised."""
        z = np.nan_to_num(mean_residual_m / self.spread_m)
        step_s = (time - self._last).total_seconds() if self._last is not None else 0.0
        self._last = time
        if self._settle_at is not None:
            if time < self._settle_at:
                return None  # the window is filling with the suspected leak
            return self._locate(time, z)
        if self._quiet_until is not None:
            if time < self._quiet_until:
                # a leak raised before the window held only its new state: the rest of its
                # change is still coming in and is not another leak
                self._baseline = z.copy()
                return None
            self._quiet_until = None
        change = z - self._baseline
        scores = self._unit.T @ change
        best, worst = int(np.argmax(scores)), int(np.argmin(scores))
        self._below_since = _since(self._below_since, time,
                                   float(scores[worst]) < -self.settings.threshold)
        if self._confirmed(self._below_since, time):
            self._baseline = z.copy()  # a repair (or a known leak shrinking)
            self._below_since = None
        self._above_since = _since(self._above_since, time,
                                   float(scores[best]) > self.settings.threshold)
        if not self._confirmed(self._above_since, time):
            weight = min(1.0, step_s / self.settings.drift_s)
            self._baseline += weight * (z - self._baseline)
            return None
        self._above_since = None
        if self._is_known(best, time) or -float(scores[worst]) >= float(scores[best]):
            # a raised leak growing, or a leak repaired (a fall in pressure undone matches a
            # signature with the opposite sign better than any leak)
            self._baseline = z.copy()
            return None
        # suspected: locate once the averaging window holds only the new state
        self._settle_at = time + pd.Timedelta(seconds=self.settings.locate_delay_s)
        self._quiet_until = time + pd.Timedelta(seconds=self.settings.window_s)
        return None

    def _locate(self, time: pd.Timestamp, z: FloatArray) -> LeakAlarm | None:
        """Raise the suspected leak on the pipe whose signature best matches the change."""
        self._settle_at = None
        scores = self._unit.T @ (z - self._baseline)
        self._baseline = z.copy()
        best, worst = int(np.argmax(scores)), int(np.argmin(scores))
        if (float(scores[best]) <= self.settings.threshold or self._is_known(best, time)
                or -float(scores[worst]) >= float(scores[best])):
            return None  # gone again (a transient), or a raised leak growing
        self._known.append((best, time))
        place = (self.most_probable_hit(scores) if self.settings.hit_radius_m > 0
                 else self._medoid(scores, best))
        return LeakAlarm(str(self.signatures.columns[place]), time, float(scores[best]))

    def posterior(self, scores: FloatArray) -> FloatArray:
        """Probability [-] of each candidate being the leak's pipe, given the scores.

        For a single leak of unknown size in white noise the log-likelihood of pipe *j*
        (the amplitude maximised out) is ``score_j² / 2``; ``likelihood_scale`` tempers it.
        Signatures off by a share ε of the change (``signature_error``) add noise of variance
        ε² × best² in standard units, which divides the log-likelihoods by 1 + ε² × best²:
        a strong change no longer singles out one pipe among near ties. Negative scores (a
        rise in pressure) are impossible for a leak and get none.
        """
        positive = np.maximum(scores, 0.0)
        variance = 1.0 + (self.settings.signature_error * float(positive.max())) ** 2
        log_like = 0.5 * self.settings.likelihood_scale * positive ** 2 / variance
        weight = np.exp(log_like - log_like.max())
        weight[scores <= 0] = 0.0
        total = float(weight.sum())
        return weight / total if total > 0 else np.full(len(scores), 1.0 / len(scores))

    def most_probable_hit(self, scores: FloatArray) -> int:
        """The pipe with the highest posterior probability that the leak lies within
        ``hit_radius_m`` of it along pipes (the argmax when no distances are known)."""
        if self.pipe_distance_m is None:
            return int(np.argmax(scores))
        weight = self.posterior(scores)
        likely = np.flatnonzero(weight >= 1e-6 * weight.max())
        near = self.pipe_distance_m[:, likely] <= self.settings.hit_radius_m
        hit_probability = near @ weight[likely]
        # ties (a whole neighbourhood) go to the best-matching pipe among them
        top = np.flatnonzero(hit_probability >= hit_probability.max() * (1 - 1e-9))
        return int(top[int(np.argmax(scores[top]))])

    def _medoid(self, scores: FloatArray, best: int) -> int:
        """The pipe nearest, along pipes, to all pipes matching about as well as the best."""
        if self.pipe_distance_m is None:
            return best
        ties = np.flatnonzero(scores >= scores[best] * (1.0 - self.settings.tie_share))
        within = self.pipe_distance_m[np.ix_(ties, ties)]
        return int(ties[int(np.argmin(within.sum(axis=1)))])

    def _confirmed(self, since: pd.Timestamp | None, time: pd.Timestamp) -> bool:
        return since is not None and (time - since).total_seconds() >= self.settings.confirm_s


def _since(since: pd.Timestamp | None, time: pd.Timestamp,
           condition: bool) -> pd.Timestamp | None:
    """When a condition that holds now started holding (``None`` when it does not hold)."""
    if not condition:
        return None
    return since if since is not None else time


class OnlineLeakMonitor:
    """The whole detector, online: one row of readings in, a leak or ``None`` out.

    Keeps the trailing window of residuals (a running sum: constant cost per reading) and
    the last value of every sensor (a gap repeats it as a regressor, and has no residual of
    its own). Equivalent to :func:`detect_leaks`
    after its training window, for a reference and detector built the same way.

    Parameters
    ----------
    reference : the fitted pressure reference
    detector : the online detector (signatures, spreads, settings)
    flow_ids : the flow sensors, in the order of the rows given to :meth:`update`
    """

    def __init__(self, reference: PressureReference, detector: OnlineLeakDetector,
                 flow_ids: list[str]) -> None:
        self.reference = reference
        self.detector = detector
        self.flow_ids = flow_ids
        self._window: deque[tuple[pd.Timestamp, FloatArray, npt.NDArray[np.bool_]]] = deque()
        self._sum = np.zeros(len(reference.sensor_ids))
        self._count = np.zeros(len(reference.sensor_ids), dtype=np.int64)
        self._last_p = np.zeros(len(reference.sensor_ids))
        self._last_q = np.zeros(len(flow_ids))

    def update(self, time: pd.Timestamp, pressures_m: FloatArray,
               flows_m3s: FloatArray) -> LeakAlarm | None:
        """Take one row: pressures [m] (reference's sensor order) and flows [m³/s]."""
        return self.detector.update(time, self.observe(time, pressures_m, flows_m3s))

    def observe(self, time: pd.Timestamp, pressures_m: FloatArray,
                flows_m3s: FloatArray) -> FloatArray:
        """Take one row into the window without detecting (warm-up); the window mean [m]."""
        p = np.where(np.isnan(pressures_m), self._last_p, pressures_m)
        q = np.where(np.isnan(flows_m3s), self._last_q, flows_m3s)
        self._last_p, self._last_q = p, q
        x = np.concatenate([p, q, q * np.abs(q)])
        predicted = self.reference.intercept + ((x - self.reference.mean) / self.reference.scale
                                                ) @ self.reference.coefficients
        residual = pressures_m - predicted  # a missing reading has no residual
        seen = ~np.isnan(residual)
        self._window.append((time, np.where(seen, residual, 0.0), seen))
        self._sum += self._window[-1][1]
        self._count += seen
        start = time - pd.Timedelta(seconds=self.detector.settings.window_s)
        while self._window[0][0] <= start:
            _, old, old_seen = self._window.popleft()
            self._sum -= old
            self._count -= old_seen
        with np.errstate(invalid="ignore", divide="ignore"):
            mean: FloatArray = np.where(self._count > 0, self._sum / self._count, np.nan)
        return mean


def residual_spread(mean_residual_m: pd.DataFrame) -> FloatArray:
    """Spread [m] of each sensor's window-averaged residual (floored at MIN_SPREAD_M)."""
    spread = mean_residual_m.std(axis=0).to_numpy(dtype=float)
    floored: FloatArray = np.maximum(np.nan_to_num(spread, nan=MIN_SPREAD_M), MIN_SPREAD_M)
    return floored


def held_out_spread(pressures_m: pd.DataFrame, features: pd.DataFrame,
                    settings: LeakDetectorSettings) -> FloatArray:
    """Spread [m] of window-averaged residuals on data the reference has not seen.

    In-sample residuals are too small (the fit follows them); the reference is fitted on
    the first part of the training window and judged on the last ``HELD_OUT_SHARE``, and the
    larger of the two spreads is kept.
    """
    times = pressures_m.index
    split = times[0] + (times[-1] - times[0]) * (1.0 - HELD_OUT_SHARE)
    first = times < split
    settled = times >= times[0] + pd.Timedelta(seconds=settings.window_s)
    full = PressureReference.fit(pressures_m, features, settings.ridge)
    inside = trailing_mean(pressures_m - full.predict(pressures_m, features), settings.window_s)
    part = PressureReference.fit(pressures_m[first], features[first], settings.ridge)
    held = trailing_mean(pressures_m - part.predict(pressures_m, features), settings.window_s)
    held_settled = ~first & (times >= split + pd.Timedelta(seconds=settings.window_s))
    return np.maximum(residual_spread(inside[settled]), residual_spread(held[held_settled]))


def detect_leaks(pressures_m: pd.DataFrame, features: pd.DataFrame,
                 signatures: LeakSignatures,
                 settings: LeakDetectorSettings | None = None,
                 pipe_distance_m: FloatArray | None = None) -> pd.DataFrame:
    """Run the detector online over a table of readings.

    Parameters
    ----------
    pressures_m : time (UTC) x pressure sensor [m]
    features : time x boundary feature, as :func:`boundary_features` makes them
    signatures : how a leak on each candidate pipe changes pressures and features
    pipe_distance_m : distances along pipes [m] between the signatures' pipes (optional)
    settings : tuning (default :class:`LeakDetectorSettings`)

    Returns
    -------
    One row per raised leak: ``pipe_id``, ``detected_at``, ``score``.

    Raises
    ------
    ConfigError
        when the data are shorter than the training window plus one step.
    """
    settings = settings or LeakDetectorSettings()
    times = pressures_m.index
    if len(times) < 2:
        raise ConfigError("leak detector: fewer than two time steps of pressure")
    train_end = times[0] + pd.Timedelta(seconds=settings.training_s)
    training = times < train_end
    reference = PressureReference.fit(pressures_m[training], features[training], settings.ridge)
    residual = pressures_m - reference.predict(pressures_m, features)
    mean_residual = trailing_mean(residual, settings.window_s)
    spread = held_out_spread(pressures_m[training], features[training], settings)
    detector = OnlineLeakDetector(signatures.residual_change(reference), spread, settings,
                                  pipe_distance_m)
    rows = []
    values = mean_residual.to_numpy(dtype=float)
    for k in np.flatnonzero(~training).tolist():
        alarm = detector.update(times[k], values[k])
        if alarm is not None:
            rows.append((alarm.pipe_id, alarm.detected_at, alarm.score))
    return pd.DataFrame({
        "pipe_id": pd.Series([r[0] for r in rows], dtype=object),
        "detected_at": pd.Series([r[1] for r in rows], dtype=times.dtype),
        "score": pd.Series([r[2] for r in rows], dtype=float),
    })
