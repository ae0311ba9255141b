"""Treatment dosing: coagulant and ozone dose ranges learned from the plant's history, and
outlet water drifting towards the GB 5749-2022 limits (pure: numpy, scipy, pandas).

Dose models
-----------
Coagulant demand grows less than proportionally with raw turbidity, rises with organics
(natural organic matter takes coagulant) and in cold water (slower floc formation); jar tests
are commonly summarised by power laws in turbidity (AWWA, *Water Quality & Treatment*, 6th ed.,
ch. 8; Edzwald 1993). Ozone demand follows the organics and the ammonia of the raw water. Both
are fitted here as log-linear least-squares models of the history::

    ln(coagulant) = b0 + b1 ln(turbidity) + b2 temperature + b3 CODMn + b4 ammonia
    ln(ozone)     = b0 + b1 CODMn + b2 ammonia + b3 temperature + b4 ln(turbidity)

with an ordinary least-squares prediction interval on the log scale (Student t with n - p
degrees of freedom and the leverage of the new point), mapped back by ``exp``: the midpoint is
the median dose and the range holds the dose the operators would have set with the stated
probability. :func:`validate_dose_model` fits on the older part of the history and scores the
most recent part it has not seen (MAE, coverage of the interval).

Outlet drift
------------
:func:`outlet_drift_flags` looks at the recent plant-outlet series (turbidity, free chlorine,
pH …) against the limits of :func:`waterops.detection.thresholds.gb5749_limits` for the plant
outlet: a quantity is flagged ``beyond`` when its recent mean already breaks the limit,
``approaching`` when it sits within a warning band of it, ``trending`` when its least-squares
trend heads towards the limit significantly (|t| >= 2) and would reach it within the horizon.

The synthetic history of :func:`synthetic_plant_history` (for the demo and the tests) follows
documented jar-test-like relations with multiplicative noise; its coefficients are our
assumptions, not a plant's data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from waterops.detection.thresholds import Limit, SamplingPoint, Side, gb5749_limits
from waterops.errors import QualityDataError

RAW_COLUMNS = ("turbidity_ntu", "temperature_c", "ammonia_mg_l", "codmn_mg_l")
"""Raw-water quality the models use: turbidity [NTU], temperature [°C], ammonia as N [mg/L],
permanganate index CODMn as O2 [mg/L]."""
DOSE_COLUMNS = ("coagulant_mg_l", "ozone_mg_l")
"""Doses in the history [mg/L]: coagulant as product, ozone transferred."""

COAGULANT_TERMS = ("ln_turbidity", "temperature_c", "codmn_mg_l", "ammonia_mg_l")
OZONE_TERMS = ("codmn_mg_l", "ammonia_mg_l", "temperature_c", "ln_turbidity")

_VALID_RANGE = {"turbidity_ntu": (0.01, 5000.0), "temperature_c": (-1.0, 40.0),
                "ammonia_mg_l": (0.0, 20.0), "codmn_mg_l": (0.0, 50.0),
                "coagulant_mg_l": (0.01, 500.0), "ozone_mg_l": (0.01, 20.0)}
"""Physically possible values; outside them a record is an error, not a data point."""


@dataclass(frozen=True)
class RawWater:
    """Raw-water quality at the plant intake (see :data:`RAW_COLUMNS` for the units)."""

    turbidity_ntu: float
    temperature_c: float
    ammonia_mg_l: float
    codmn_mg_l: float

    def __post_init__(self) -> None:
        for name in RAW_COLUMNS:
            _check_value(name, getattr(self, name), "raw water")

    def frame(self) -> pd.DataFrame:
        """One-row frame of the raw-water columns."""
        return pd.DataFrame([{name: getattr(self, name) for name in RAW_COLUMNS}])


def _check_value(name: str, value: float, where: str) -> None:
    low, high = _VALID_RANGE[name]
    if not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise QualityDataError(where, f"{name} must be within [{low:g}, {high:g}], "
                                      f"got {value!r}")


def _design(frame: pd.DataFrame, terms: Sequence[str]) -> np.ndarray:
    columns = [np.ones(len(frame))]
    for term in terms:
        if term == "ln_turbidity":
            columns.append(np.log(frame["turbidity_ntu"].to_numpy(dtype=float)))
        else:
            columns.append(frame[term].to_numpy(dtype=float))
    return np.column_stack(columns)


def check_history(history: pd.DataFrame, source: str = "plant history") -> pd.DataFrame:
    """The history with its rows checked: raw columns and doses present, values possible.

    Rows with a missing value are dropped (a day without a jar test); impossible values raise
    :class:`QualityDataError` naming the column and the row's time."""
    missing = [c for c in (*RAW_COLUMNS, *DOSE_COLUMNS) if c not in history.columns]
    if missing:
        raise QualityDataError(source, f"missing column(s) {', '.join(missing)}")
    kept = history.dropna(subset=[*RAW_COLUMNS, *DOSE_COLUMNS])
    for name in (*RAW_COLUMNS, *DOSE_COLUMNS):
        low, high = _VALID_RANGE[name]
        values = kept[name].to_numpy(dtype=float)
        bad = ~((values >= low) & (values <= high))
        if bad.any():
            first = int(bad.argmax())
            raise QualityDataError(source, f"{name} = {float(values[first])!r} at "
                                           f"{kept.index[first]} is outside [{low:g}, {high:g}]")
    return kept


@dataclass(frozen=True)
class DoseModel:
    """A fitted log-linear dose model (see the module docstring).

    Attributes
    ----------
    target : the dose column (``coagulant_mg_l`` or ``ozone_mg_l``)
    terms : the regressors after the intercept
    coefficients : least-squares coefficients, intercept first
    xtx_inv : (XᵀX)⁻¹ of the fit, for the leverage of new points
    sigma : residual standard deviation on the log scale [-]
    dof : residual degrees of freedom n - p
    ranges : training range of each raw column (min, max), to flag extrapolation
    r2 : coefficient of determination on the log scale [-]
    """

    target: str
    terms: tuple[str, ...]
    coefficients: np.ndarray
    xtx_inv: np.ndarray
    sigma: float
    dof: int
    ranges: Mapping[str, tuple[float, float]]
    r2: float

    def predict(self, raw: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
        """Median dose and the ``level`` prediction interval [mg/L] for each row of ``raw``:
        columns ``dose_mg_l``, ``low_mg_l``, ``high_mg_l``."""
        if not 0 < level < 1:
            raise QualityDataError("dose model", f"level must be in (0, 1), got {level}")
        x = _design(raw, self.terms)
        mean = x @ self.coefficients
        leverage = np.einsum("ij,jk,ik->i", x, self.xtx_inv, x)
        t = float(stats.t.ppf(0.5 + level / 2, self.dof))
        half = t * self.sigma * np.sqrt(1.0 + leverage)
        return pd.DataFrame({"dose_mg_l": np.exp(mean), "low_mg_l": np.exp(mean - half),
                             "high_mg_l": np.exp(mean + half)}, index=raw.index)

    def outside_training(self, raw: RawWater) -> tuple[str, ...]:
        """The raw columns of ``raw`` outside the range the model was fitted on."""
        return tuple(name for name in RAW_COLUMNS
                     if not self.ranges[name][0] <= getattr(raw, name) <= self.ranges[name][1])


def fit_dose_model(history: pd.DataFrame, target: str, terms: Sequence[str] | None = None,
                   *, source: str = "plant history") -> DoseModel:
    """Fit the log-linear model of ``target`` on a checked history."""
    if target not in DOSE_COLUMNS:
        raise QualityDataError(source, f"unknown dose {target!r}; known: {DOSE_COLUMNS}")
    terms = tuple(terms or (COAGULANT_TERMS if target == "coagulant_mg_l" else OZONE_TERMS))
    data = check_history(history, source)
    x = _design(data, terms)
    n, p = x.shape
    if n < p + 10:
        raise QualityDataError(source, f"{n} complete records; the {target} model needs at "
                                       f"least {p + 10}")
    y = np.log(data[target].to_numpy(dtype=float))
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coefficients
    dof = n - p
    sigma = float(np.sqrt(residuals @ residuals / dof))
    xtx_inv = np.linalg.pinv(x.T @ x)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(residuals @ residuals) / total if total > 0 else math.nan
    ranges = {c: (float(data[c].min()), float(data[c].max())) for c in RAW_COLUMNS}
    return DoseModel(target, terms, coefficients, xtx_inv, sigma, dof, ranges, r2)


@dataclass(frozen=True)
class DoseValidation:
    """Scores of a dose model on held-back (most recent) records.

    Attributes
    ----------
    target : the dose scored
    n_train, n_test : records fitted on / held back
    mae_mg_l : mean absolute error of the median dose [mg/L]
    mape : mean absolute percentage error [-]
    level : nominal probability of the interval [-]
    coverage : share of held-back doses inside their interval [-]
    mean_width_mg_l : mean width of the interval [mg/L]
    baseline_mae_mg_l : MAE of the naive practice "always the median training dose" [mg/L]
    """

    target: str
    n_train: int
    n_test: int
    mae_mg_l: float
    mape: float
    level: float
    coverage: float
    mean_width_mg_l: float
    baseline_mae_mg_l: float


def validate_dose_model(history: pd.DataFrame, target: str, *, test_fraction: float = 0.2,
                        level: float = 0.9, source: str = "plant history") -> DoseValidation:
    """Fit on the oldest ``1 - test_fraction`` of the history (by time), score the rest."""
    if not 0 < test_fraction < 1:
        raise QualityDataError(source, f"test_fraction must be in (0, 1), got {test_fraction}")
    data = check_history(history.sort_index(), source)
    split = round(len(data) * (1 - test_fraction))
    train, test = data.iloc[:split], data.iloc[split:]
    if len(test) == 0:
        raise QualityDataError(source, "nothing left to hold back")
    model = fit_dose_model(train, target, source=source)
    predicted = model.predict(test, level)
    actual = test[target].to_numpy(dtype=float)
    error = np.abs(predicted["dose_mg_l"].to_numpy() - actual)
    inside = (actual >= predicted["low_mg_l"].to_numpy()) & \
        (actual <= predicted["high_mg_l"].to_numpy())
    width = predicted["high_mg_l"].to_numpy() - predicted["low_mg_l"].to_numpy()
    baseline = float(np.abs(actual - float(train[target].median())).mean())
    return DoseValidation(target, len(train), len(test), float(error.mean()),
                          float((error / actual).mean()), level, float(inside.mean()),
                          float(width.mean()), baseline)


@dataclass(frozen=True)
class DoseRange:
    """A recommended dose [mg/L]: the median of the history's practice and its interval."""

    dose_mg_l: float
    low_mg_l: float
    high_mg_l: float


@dataclass(frozen=True)
class DoseRecommendation:
    """Coagulant and ozone doses for one raw water, with what to be careful about."""

    raw: RawWater
    level: float
    coagulant: DoseRange
    ozone: DoseRange
    outside_training: tuple[str, ...]


@dataclass(frozen=True)
class DoseAdvisor:
    """The two fitted dose models of a plant."""

    coagulant: DoseModel
    ozone: DoseModel

    @classmethod
    def fit(cls, history: pd.DataFrame, source: str = "plant history") -> DoseAdvisor:
        """Fit both models on the whole history."""
        return cls(fit_dose_model(history, "coagulant_mg_l", source=source),
                   fit_dose_model(history, "ozone_mg_l", source=source))

    def recommend(self, raw: RawWater, level: float = 0.9) -> DoseRecommendation:
        """Dose ranges for ``raw``; ``outside_training`` names raw values the plant has not
        seen (the range is then an extrapolation: confirm with a jar test)."""
        frame = raw.frame()
        ranges = []
        for model in (self.coagulant, self.ozone):
            row = model.predict(frame, level).iloc[0]
            ranges.append(DoseRange(float(row["dose_mg_l"]), float(row["low_mg_l"]),
                                    float(row["high_mg_l"])))
        return DoseRecommendation(raw, level, ranges[0], ranges[1],
                                  self.coagulant.outside_training(raw))


# --- synthetic history ------------------------------------------------------------------------


def coagulant_jar_test_mg_l(turbidity_ntu: np.ndarray, temperature_c: np.ndarray,
                            codmn_mg_l: np.ndarray) -> np.ndarray:
    """The synthetic plant's coagulant practice [mg/L] (our assumption, jar-test-like):
    ``6 x (turbidity/10)^0.4 x exp(-0.012 (T - 15)) x exp(0.09 (CODMn - 3))``."""
    return (6.0 * (turbidity_ntu / 10.0) ** 0.4 * np.exp(-0.012 * (temperature_c - 15.0))
            * np.exp(0.09 * (codmn_mg_l - 3.0)))


def ozone_practice_mg_l(codmn_mg_l: np.ndarray, ammonia_mg_l: np.ndarray) -> np.ndarray:
    """The synthetic plant's ozone practice [mg/L] (our assumption):
    ``0.35 + 0.22 CODMn + 0.6 NH3-N``."""
    return 0.35 + 0.22 * codmn_mg_l + 0.6 * ammonia_mg_l


def synthetic_plant_history(days: int = 730, *, step_h: int = 6, seed: int = 7,
                            start: str = "2024-12-01") -> pd.DataFrame:
    """A plant's raw water and doses, every ``step_h`` hours (aware UTC index).

    Raw water: temperature 5-28 °C over the year; turbidity lognormal around a seasonal median
    (6 NTU in winter, 25 NTU in the summer rains) with storm days; ammonia higher in cold
    water; CODMn 2-6 mg/L rising with turbidity. Doses follow
    :func:`coagulant_jar_test_mg_l` and :func:`ozone_practice_mg_l` with lognormal operator
    scatter (σ 0.10 and 0.08 on the log scale).
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days * 24 // step_h, freq=f"{step_h}h", tz="UTC")
    day = (index - index[0]).total_seconds().to_numpy() / 86_400.0
    season = np.sin(2 * np.pi * (day - 100.0) / 365.25)  # +1 mid-summer
    temperature = 16.5 + 11.5 * season + rng.normal(0, 0.8, len(day))
    storm = rng.random(len(day)) < 0.03
    turbidity = np.exp(np.log(12.0) + 0.7 * season + rng.normal(0, 0.45, len(day))
                       + storm * rng.uniform(1.0, 2.5, len(day)))
    ammonia = np.clip(0.25 - 0.15 * season + rng.normal(0, 0.06, len(day)), 0.02, None)
    codmn = np.clip(3.0 + 0.5 * np.log(turbidity / 12.0) + rng.normal(0, 0.4, len(day)), 1.0,
                    None)
    coagulant = coagulant_jar_test_mg_l(turbidity, temperature, codmn) * \
        np.exp(rng.normal(0, 0.10, len(day)))
    ozone = ozone_practice_mg_l(codmn, ammonia) * np.exp(rng.normal(0, 0.08, len(day)))
    return pd.DataFrame({"turbidity_ntu": turbidity, "temperature_c": temperature,
                         "ammonia_mg_l": ammonia, "codmn_mg_l": codmn,
                         "coagulant_mg_l": coagulant, "ozone_mg_l": ozone}, index=index)


# --- outlet drift -----------------------------------------------------------------------------

DEFAULT_WARNING_BANDS = {"turbidity": 0.5, "free_chlorine": 0.1, "ph": 0.3,
                         "permanganate_index": 0.5, "ammonia_n": 0.1, "bromate": 0.002,
                         "total_chlorine": 0.1, "chlorine_dioxide": 0.05, "ozone": 0.05}
"""How close to a limit [its unit] the recent mean may come before it is ``approaching``:
our operating choice (half the turbidity limit, as plants keep outlet turbidity under 0.5 NTU
in practice), not a figure of the standard."""


@dataclass(frozen=True)
class DriftFlag:
    """Outlet water heading for a GB 5749-2022 limit.

    Attributes
    ----------
    quantity : the measured quantity (``turbidity`` …)
    limit : the limit concerned (its ``clause`` cites the standard)
    state : ``beyond``, ``approaching`` or ``trending``
    level : mean of the recent window [unit]
    slope_per_day : least-squares trend [unit/day]
    days_to_limit : at that trend, days until the limit is reached (``None`` when moving away)
    """

    quantity: str
    limit: Limit
    state: str
    level: float
    slope_per_day: float
    days_to_limit: float | None


def outlet_drift_flags(outlet: pd.DataFrame, *, limits: Iterable[Limit] | None = None,
                       window_days: float = 7.0, horizon_days: float = 14.0,
                       bands: Mapping[str, float] | None = None) -> list[DriftFlag]:
    """Flags for the plant-outlet series in ``outlet`` (aware time index, one column per
    quantity, in the limits' units) over the last ``window_days``."""
    index = outlet.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise QualityDataError("outlet series", "needs a timezone-aware DatetimeIndex")
    limits = tuple(limits if limits is not None
                   else gb5749_limits(SamplingPoint.PLANT_OUTLET, ozone_plant=True))
    bands = {**DEFAULT_WARNING_BANDS, **(bands or {})}
    if outlet.empty:
        return []
    recent = outlet[index >= index.max() - pd.Timedelta(days=window_days)]
    flags = []
    for limit in limits:
        if limit.quantity not in recent.columns:
            continue
        series = recent[limit.quantity].dropna()
        if len(series) < 3:
            continue
        t_days = (pd.DatetimeIndex(series.index) - series.index[0]).total_seconds() / 86_400.0
        flag = _drift(limit, t_days.to_numpy(), series.to_numpy(dtype=float),
                      bands.get(limit.quantity, 0.0), horizon_days)
        if flag is not None:
            flags.append(flag)
    return flags


def _drift(limit: Limit, t: np.ndarray, y: np.ndarray, band: float,
           horizon_days: float) -> DriftFlag | None:
    level = float(y.mean())
    toward = 1.0 if limit.side is Side.UPPER else -1.0  # + when the value moves towards it
    distance = toward * (limit.bound - level)  # > 0 while compliant
    slope, t_stat = _trend(t, y)
    approach = toward * slope  # > 0 when heading for the limit
    days = distance / approach if approach > 0 and distance > 0 else None
    state = None
    if distance < 0:
        state = "beyond"
    elif distance <= band:
        state = "approaching"
    elif approach > 0 and abs(t_stat) >= 2.0 and days is not None and days <= horizon_days:
        state = "trending"
    if state is None:
        return None
    return DriftFlag(limit.quantity, limit, state, level, slope, days)


def _trend(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and its t statistic (0 when the time span is nil)."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    if sxx <= 0:
        return 0.0, 0.0
    slope = float(tc @ (y - y.mean())) / sxx
    residuals = y - y.mean() - slope * tc
    dof = len(y) - 2
    if dof <= 0:
        return slope, 0.0
    se = math.sqrt(float(residuals @ residuals) / dof / sxx)
    return slope, (slope / se if se > 0 else math.inf * np.sign(slope))
