"""Break-rate models: fitted on the failure history, checked on held-back years.

The model is the exponential ageing law of Shamir & Howard (1979), "An analytic approach to
scheduling pipe replacement", Journal AWWA 71(5):248-258, ``N(t) = N(t0) · e^{A (t - t0)}``
[breaks/km/year], with one (N0, A) per material, fitted as a Poisson regression (a GLM with
log link and the pipe-years' length as exposure) by maximum likelihood::

    failures of pipe i in year t ~ Poisson(L_i[km] · exp(β_m + A_m · age_it))

``β_m = ln N0_m`` is the rate of a new pipe of material m, ``A_m`` its yearly growth rate
[1/year], ``age = year - install_year``. The Poisson form of the Shamir-Howard law is the one
of e.g. Kleiner & Rajani (2001), "Comprehensive review of structural deterioration of water
mains: statistical models", Urban Water 3:131-150. A material with too few failures (fewer
than ``min_failures``) takes the ageing rate A of all pipes together and only its own level.

The log-likelihood depends on the data only through, per material and age, the failures and
the km-years of exposure, so fitting aggregates first: a register of 100,000 pipes over 15
years fits in well under a second (Newton's method on two parameters; standard errors from the
inverse Fisher information).

Validation (:func:`validate`) fits on the earlier years and predicts held-back later years:
observed vs predicted failures per material, the Poisson deviance of the model against the null
model (one rate per km for all pipes), and the *capture* of the top decile: the share of the
held-back failures that fall on the 10 % of pipe length ranked riskiest (lift = capture / 0.1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import RegisterError
from waterops.planning.register import BREAK_KINDS, PipeRegister

MIN_FAILURES = 20
"""Failures a material needs for its own ageing rate; fewer: the pooled rate is used."""


@dataclass(frozen=True)
class MaterialRate:
    """The fitted Shamir-Howard law of one material.

    Attributes
    ----------
    material : material code
    log_n0 : ln of the failure rate of a new pipe [ln(1/km/year)]
    ageing_per_year : A, the yearly growth rate of the failure rate [1/year]
    log_n0_se, ageing_se : their standard errors (NaN when not estimated)
    failures : failures fitted on
    km_years : exposure fitted on [km·year]
    pooled_ageing : whether A was taken from all pipes (too few failures of this material)
    """

    material: str
    log_n0: float
    ageing_per_year: float
    log_n0_se: float
    ageing_se: float
    failures: int
    km_years: float
    pooled_ageing: bool

    @property
    def n0_per_km_year(self) -> float:
        """Failure rate of a new pipe [failures/km/year]."""
        return math.exp(self.log_n0)

    def rate_per_km_year(self, age_years: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Failure rate at ``age_years`` [failures/km/year] (negative ages count as 0)."""
        age = np.maximum(np.asarray(age_years, dtype=np.float64), 0.0)
        return np.asarray(np.exp(self.log_n0 + self.ageing_per_year * age), dtype=np.float64)


@dataclass(frozen=True)
class BreakRateModel:
    """Shamir-Howard failure rates per material, fitted on a register's history.

    Attributes
    ----------
    materials : fitted law per material code
    pooled : the law of all pipes together (used for materials not seen in fitting)
    kinds : failure kinds fitted on (``break``, ``leak``)
    fitted_years : (first, last) year of the history fitted on
    """

    materials: dict[str, MaterialRate]
    pooled: MaterialRate
    kinds: tuple[str, ...]
    fitted_years: tuple[int, int]

    def law(self, material: str) -> MaterialRate:
        """The law of ``material`` (the pooled law when it was not fitted)."""
        return self.materials.get(material, self.pooled)

    def rate_per_km_year(self, pipes: pd.DataFrame, year: int) -> pd.Series:
        """Failure rate of each pipe in ``year`` [failures/km/year]."""
        rate = np.empty(len(pipes))
        material = pipes["material"].to_numpy()
        age = year - pipes["install_year"].to_numpy(dtype=np.float64)
        for code in np.unique(material):
            rows = material == code
            rate[rows] = self.law(str(code)).rate_per_km_year(age[rows])
        return pd.Series(rate, index=pipes.index, name="rate_per_km_year")

    def expected_failures(self, pipes: pd.DataFrame, year: int) -> pd.Series:
        """Expected failures of each pipe in ``year`` [failures/year]."""
        rate = self.rate_per_km_year(pipes, year)
        return (rate * pipes["length_m"] / 1000.0).rename("failures_per_year")

    def growth_per_year(self, pipes: pd.DataFrame) -> pd.Series:
        """Yearly growth factor of each pipe's failure rate, ``e^A`` [-]."""
        factor = {code: math.exp(self.law(code).ageing_per_year)
                  for code in pipes["material"].unique()}
        return pipes["material"].map(factor).astype(float).rename("risk_growth")

    def table(self) -> pd.DataFrame:
        """The fitted laws, one row per material (and ``*`` for all pipes)."""
        rows = [*self.materials.values(), self.pooled]
        return pd.DataFrame([{
            "material": r.material, "n0_per_km_year": r.n0_per_km_year,
            "log_n0": r.log_n0, "log_n0_se": r.log_n0_se,
            "ageing_per_year": r.ageing_per_year, "ageing_se": r.ageing_se,
            "failures": r.failures, "km_years": r.km_years, "pooled_ageing": r.pooled_ageing,
        } for r in rows])


def exposure(register: PipeRegister, years: tuple[int, int],
             kinds: Iterable[str] = BREAK_KINDS) -> pd.DataFrame:
    """Pipe-years in ``years`` (pipes in the ground): pipe_id, material, year, age, km, failures.

    A pipe counts from the year after its install year (the install year is partial).
    """
    first, last = years
    pipes = register.pipes
    span = np.arange(first, last + 1)
    install = pipes["install_year"].to_numpy()
    in_ground = span[None, :] > install[:, None]
    pipe_pos, year_pos = np.nonzero(in_ground)
    frame = pd.DataFrame({
        "pipe_id": pipes.index.to_numpy()[pipe_pos],
        "material": pipes["material"].to_numpy()[pipe_pos],
        "year": span[year_pos],
        "age": span[year_pos] - install[pipe_pos],
        "km": pipes["length_m"].to_numpy()[pipe_pos] / 1000.0,
    })
    counts = register.failures_per_pipe_year(kinds)
    if len(counts):
        keys = pd.MultiIndex.from_arrays([frame["pipe_id"], frame["year"]])
        frame["failures"] = counts.reindex(keys, fill_value=0).to_numpy()
    else:
        frame["failures"] = 0
    return frame


def _newton(age: npt.NDArray[np.float64], km: npt.NDArray[np.float64],
            failures: npt.NDArray[np.float64], fixed_ageing: float | None
            ) -> tuple[float, float, float, float]:
    """Poisson MLE of (β, A) on aggregated (age, km-years, failures); A fixed if given."""
    total_f, total_km = failures.sum(), km.sum()
    beta = math.log(max(total_f, 0.5) / total_km)
    ageing = 0.0 if fixed_ageing is None else fixed_ageing
    if fixed_ageing is not None or total_f == 0 or np.ptp(age) == 0:
        ageing = fixed_ageing or 0.0
        beta = math.log(max(total_f, 0.5) / float(km @ np.exp(ageing * age)))
        se = 1.0 / math.sqrt(max(total_f, 0.5))
        return beta, ageing, se, math.nan
    centre = float((age * km).sum() / total_km)  # centring keeps Newton well conditioned
    x = age - centre
    beta += 0.0
    for _ in range(100):
        mu = km * np.exp(beta + ageing * x)
        grad = np.array([failures.sum() - mu.sum(), (failures - mu) @ x])
        hess = np.array([[mu.sum(), mu @ x], [mu @ x, mu @ (x * x)]])
        step = np.linalg.solve(hess, grad)
        beta, ageing = beta + step[0], ageing + step[1]
        if np.abs(step).max() < 1e-10:
            break
    mu = km * np.exp(beta + ageing * x)
    info = np.array([[mu.sum(), mu @ x], [mu @ x, mu @ (x * x)]])
    cov = np.linalg.inv(info)
    # back from the centred age: log_n0 = β - A·centre
    grad_back = np.array([1.0, -centre])
    log_n0_se = math.sqrt(float(grad_back @ cov @ grad_back))
    return beta - ageing * centre, ageing, log_n0_se, math.sqrt(float(cov[1, 1]))


def _aggregate(frame: pd.DataFrame) -> tuple[npt.NDArray[np.float64], ...]:
    grouped = frame.groupby("age", sort=True).agg(km=("km", "sum"), failures=("failures", "sum"))
    return (grouped.index.to_numpy(dtype=np.float64), grouped["km"].to_numpy(dtype=np.float64),
            grouped["failures"].to_numpy(dtype=np.float64))


def fit_break_model(register: PipeRegister, years: tuple[int, int] | None = None, *,
                    kinds: Iterable[str] = BREAK_KINDS,
                    min_failures: int = MIN_FAILURES) -> BreakRateModel:
    """Fit the Shamir-Howard law per material on the history in ``years`` (default: all).

    Raises
    ------
    RegisterError
        if ``years`` lies outside the register's history or no pipe was in the ground.
    """
    kinds = tuple(kinds)
    first, last = years or register.history_years
    h_first, h_last = register.history_years
    if not h_first <= first <= last <= h_last:
        raise RegisterError("register", f"fitting years {first}-{last} are outside the "
                                        f"history {h_first}-{h_last}")
    frame = exposure(register, (first, last), kinds)
    if frame.empty or frame["km"].sum() <= 0:
        raise RegisterError("register", f"no pipe was in the ground in {first}-{last}")
    age, km, failures = _aggregate(frame)
    b, a, b_se, a_se = _newton(age, km, failures, None)
    pooled = MaterialRate("*", b, a, b_se, a_se, int(failures.sum()), float(km.sum()), False)
    laws = {}
    for material, part in frame.groupby("material", sort=True):
        age, km, failures = _aggregate(part)
        own = failures.sum() >= min_failures and np.ptp(age) > 0
        b, a, b_se, a_se = _newton(age, km, failures, None if own else pooled.ageing_per_year)
        laws[str(material)] = MaterialRate(str(material), b, a, b_se, a_se,
                                           int(failures.sum()), float(km.sum()), not own)
    return BreakRateModel(laws, pooled, kinds, (first, last))


@dataclass(frozen=True)
class Validation:
    """How well a model fitted on earlier years predicts held-back years.

    Attributes
    ----------
    by_material : per material: observed and predicted failures in the held-back years
    deviance : Poisson deviance of the model on the held-back pipe-years
    null_deviance : the same for one rate per km for all pipes (fitted on the same years)
    top_decile_capture : share of held-back failures on the riskiest 10 % of pipe length
    lift : top_decile_capture / 0.1
    held_back_years : (first, last) held-back year
    """

    by_material: pd.DataFrame
    deviance: float
    null_deviance: float
    top_decile_capture: float
    lift: float
    held_back_years: tuple[int, int]


def _poisson_deviance(observed: npt.NDArray[np.float64], expected: npt.NDArray[np.float64]
                      ) -> float:
    expected = np.maximum(expected, 1e-300)
    ratio = np.where(observed > 0, observed * np.log(np.where(observed > 0, observed, 1.0)
                                                     / expected), 0.0)
    return float(2.0 * np.sum(ratio - (observed - expected)))


def validate(register: PipeRegister, held_back: int = 3, *,
             kinds: Iterable[str] = BREAK_KINDS,
             min_failures: int = MIN_FAILURES) -> tuple[BreakRateModel, Validation]:
    """Fit on all but the last ``held_back`` history years; score on those years.

    Returns the model fitted on the earlier years and its :class:`Validation`.
    """
    kinds = tuple(kinds)
    first, last = register.history_years
    if not 1 <= held_back <= last - first:
        raise RegisterError("register", f"cannot hold back {held_back} of the "
                                        f"{last - first + 1} history years")
    model = fit_break_model(register, (first, last - held_back), kinds=kinds,
                            min_failures=min_failures)
    test = exposure(register, (last - held_back + 1, last), kinds)
    pipes = register.pipes
    expected = np.zeros(len(test))
    for year in np.unique(test["year"]):
        rows = (test["year"] == year).to_numpy()
        year_expected = model.expected_failures(pipes, int(year))
        expected[rows] = year_expected.reindex(test.loc[rows, "pipe_id"]).to_numpy()
    observed = test["failures"].to_numpy(dtype=np.float64)
    null_rate = model.pooled.failures / model.pooled.km_years
    null_expected = test["km"].to_numpy() * null_rate
    test = test.assign(expected=expected)
    by_material = test.groupby("material").agg(
        observed=("failures", "sum"), predicted=("expected", "sum"), km_years=("km", "sum"))
    # rank pipes by predicted rate per km over the held-back years
    grouped = test.groupby("pipe_id").agg(km=("km", "first"), expected=("expected", "sum"),
                                          failures=("failures", "sum"))
    per_pipe = grouped.assign(rate=grouped["expected"] / grouped["km"]).sort_values(
        "rate", ascending=False, kind="stable")
    top = per_pipe["km"].cumsum() <= 0.1 * per_pipe["km"].sum()
    total = float(per_pipe["failures"].sum())
    capture = float(per_pipe.loc[top, "failures"].sum()) / total if total else math.nan
    return model, Validation(by_material.reset_index(), _poisson_deviance(observed, expected),
                             _poisson_deviance(observed, null_expected), capture,
                             capture / 0.1, (last - held_back + 1, last))
