"""A labelled water-quality data set of one monitoring station (documented stochastic model).

The station sits on a distribution main and reports every ``step_s`` seconds: free chlorine
[mg/L], turbidity [NTU], pH [1], conductivity [µS/cm], redox potential ORP [mV], TOC [mg/L],
temperature [°C] and flow [m³/s]. The model, seeded and reproducible:

- **Flow** follows a two-peak diurnal demand pattern (07:00 and 19:00, night minimum at 03:00)
  with slowly varying day-to-day scale and 3 % noise.
- **Chlorine** is the plant's dose (a slow mean-reverting random walk around 0.8 mg/L) decayed
  over the travel time to the station, which is longer at night when the flow is low
  (first-order bulk decay, ``k = 0.5 /day``), plus 0.01 mg/L instrument noise.
- **ORP** follows free chlorine (``ORP = 650 + 90 · log10(Cl / 0.5)`` mV) with 4 mV noise.
- **pH**, **conductivity**, **TOC** and **temperature** drift slowly with the source water
  (mean-reverting random walks) with instrument noise; temperature has a 0.3 °C daily swing;
  turbidity rises a little with the morning demand (scour) and is log-normal.

Sensor faults (labelled *not* an event, one sensor each): stuck (a reading frozen for 2–8 h),
drift (a linear drift over 6–24 h, as a fouling electrode), spikes (single readings 5–20
times the normal spread), and gaps (NaN for up to 2 h).

Contamination events (labelled event) of three kinds, strength 0.5–2 (by default) and 1–8 h
long, rising
over 20–40 min as the contaminated plug arrives and falling off as it passes:

- *organic* (e.g. wastewater intrusion): chlorine demand — chlorine and ORP fall, TOC,
  turbidity and conductivity rise;
- *inorganic* (e.g. a chemical, pesticide formulation): conductivity rises, pH shifts,
  chlorine falls a little;
- *untreated water* (e.g. a cross-connection or backflow): turbidity and conductivity rise,
  chlorine falls, temperature moves toward the other water's.

The training file carries the ``EVENT`` label column; the test file does not (its labels are
in a separate truth file), so a detector cannot see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from waterops.errors import ConfigError

VARIABLES = ("chlorine_mg_l", "turbidity_ntu", "ph", "conductivity_us_cm", "orp_mv",
             "toc_mg_l", "temperature_degc", "flow_m3s")
"""Columns of the station data (the unit is in the name)."""

LABEL_COLUMN = "EVENT"
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
DAY_S = 86_400


@dataclass(frozen=True)
class QualityDatasetSpec:
    """Size and content of a generated data set.

    Parameters
    ----------
    train_days, test_days : length of the training and test periods [day]
    step_s : reporting interval [s]
    events_per_week : mean number of contamination events per week (test and training)
    faults_per_week : mean number of sensor faults per week
    weakest_event, strongest_event : range of event strengths (1 = chlorine −0.25 mg/L in an
        organic event; see :func:`inject_event`)
    start : time of the first row (UTC)
    """

    train_days: float = 14.0
    test_days: float = 28.0
    step_s: float = 300.0
    events_per_week: float = 3.0
    faults_per_week: float = 6.0
    weakest_event: float = 0.5
    strongest_event: float = 2.0
    start: str = "2026-03-01T00:00:00Z"

    def __post_init__(self) -> None:
        if not (self.train_days > 0 and self.test_days > 0 and 0 < self.step_s <= 3600):
            raise ConfigError(
                f"data set needs train_days > 0, test_days > 0 and 0 < step_s <= 3600 s "
                f"(got {self.train_days}, {self.test_days}, {self.step_s})")
        if self.events_per_week < 0 or self.faults_per_week < 0:
            raise ConfigError("events_per_week and faults_per_week must be >= 0")
        if not 0 < self.weakest_event <= self.strongest_event:
            raise ConfigError(f"event strengths must satisfy 0 < weakest <= strongest "
                              f"(got {self.weakest_event}, {self.strongest_event})")


@dataclass(frozen=True)
class Injection:
    """One injected event or sensor fault (the data set's ground truth)."""

    part: str  # "train" or "test"
    kind: str  # event: organic / inorganic / untreated; fault: stuck / drift / spike / gap
    is_event: bool
    start: pd.Timestamp
    end: pd.Timestamp
    strength: float
    variable: str  # the faulty sensor (faults) or "" (events)


def _mean_reverting(rng: np.random.Generator, n: int, sd: float, memory_rows: float
                    ) -> np.ndarray:
    """An AR(1) series of stationary spread ``sd`` and memory ``memory_rows`` rows."""
    phi = float(np.exp(-1.0 / memory_rows))
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


def normal_station(rng: np.random.Generator, times: pd.DatetimeIndex, step_s: float
                   ) -> pd.DataFrame:
    """Normal water at the station (no event, no fault): one column per variable."""
    n = len(times)
    day = 1.0 * DAY_S / step_s  # rows per day
    # local time, Asia/Shanghai (UTC+8): demand follows the customers' clock
    hour = np.asarray((times.hour + times.minute / 60 + 8) % 24, dtype=float)
    pattern = (0.55 + 0.45 * np.exp(-((hour - 7.5) / 1.8) ** 2)
               + 0.40 * np.exp(-((hour - 19.5) / 2.2) ** 2) - 0.2 * np.exp(-((hour - 3) / 2) ** 2))
    scale = 1.0 + _mean_reverting(rng, n, 0.05, 3 * day)
    flow = 0.08 * pattern * scale * (1 + rng.normal(0, 0.03, n))
    travel_days = 0.35 / np.clip(pattern * scale, 0.2, None) / 2.4  # hours→ about 3–8 h
    dose = 0.8 + _mean_reverting(rng, n, 0.06, day)
    chlorine_true = dose * np.exp(-0.5 * travel_days)
    temperature = (16.0 + 0.3 * np.sin(2 * np.pi * (hour - 9) / 24)
                   + _mean_reverting(rng, n, 0.4, 5 * day) + rng.normal(0, 0.02, n))
    ph = 7.6 + _mean_reverting(rng, n, 0.05, 2 * day) + rng.normal(0, 0.01, n)
    conductivity = 420.0 + _mean_reverting(rng, n, 12.0, 2 * day) + rng.normal(0, 1.5, n)
    toc = 1.6 + _mean_reverting(rng, n, 0.08, 2 * day) + rng.normal(0, 0.03, n)
    scour = 0.05 * np.exp(-((hour - 7.0) / 1.0) ** 2)
    turbidity = (0.12 + scour) * np.exp(rng.normal(0, 0.06, n))
    return pd.DataFrame({
        "chlorine_mg_l": chlorine_true + rng.normal(0, 0.01, n),
        "turbidity_ntu": turbidity,
        "ph": ph,
        "conductivity_us_cm": conductivity,
        "orp_mv": 650.0 + 90.0 * np.log10(np.clip(chlorine_true, 0.02, None) / 0.5)
                  + rng.normal(0, 4.0, n),
        "toc_mg_l": toc,
        "temperature_degc": temperature,
        "flow_m3s": flow,
    }, index=times)


def _plug(n_rows: int, rise_rows: int) -> np.ndarray:
    """Shape of a passing plug: rises over ``rise_rows``, holds, falls over ``rise_rows``."""
    ramp = np.minimum(1.0, (np.arange(n_rows) + 1) / max(rise_rows, 1))
    return np.minimum(ramp, ramp[::-1])


def inject_event(frame: pd.DataFrame, rows: slice, kind: str, strength: float,
                 rng: np.random.Generator) -> None:
    """Move several variables of ``frame`` over ``rows`` as a contamination would."""
    n = rows.stop - rows.start
    shape = strength * _plug(n, int(rng.integers(4, 9)))
    col = {name: frame.columns.get_loc(name) for name in VARIABLES}
    values = frame.to_numpy(copy=True)
    chlorine_before = values[rows, col["chlorine_mg_l"]].copy()
    if kind == "organic":
        values[rows, col["chlorine_mg_l"]] -= 0.25 * shape
        values[rows, col["toc_mg_l"]] += 0.8 * shape
        values[rows, col["turbidity_ntu"]] += 0.25 * shape
        values[rows, col["conductivity_us_cm"]] += 25.0 * shape
    elif kind == "inorganic":
        values[rows, col["conductivity_us_cm"]] += 60.0 * shape
        values[rows, col["ph"]] += rng.choice([-1.0, 1.0]) * 0.25 * shape
        values[rows, col["chlorine_mg_l"]] -= 0.08 * shape
    elif kind == "untreated":
        values[rows, col["turbidity_ntu"]] += 0.6 * shape
        values[rows, col["conductivity_us_cm"]] += 40.0 * shape
        values[rows, col["chlorine_mg_l"]] -= 0.2 * shape
        values[rows, col["temperature_degc"]] += rng.choice([-1.0, 1.0]) * 1.0 * shape
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    chlorine = np.clip(values[rows, col["chlorine_mg_l"]], 0.0, None)
    values[rows, col["chlorine_mg_l"]] = chlorine
    # redox follows the free chlorine that is left
    values[rows, col["orp_mv"]] += 90.0 * np.log10(np.clip(chlorine, 0.02, None)
                                                   / np.clip(chlorine_before, 0.02, None))
    frame.iloc[:, :] = values


def inject_fault(frame: pd.DataFrame, rows: slice, kind: str, variable: str,
                 rng: np.random.Generator) -> None:
    """Corrupt one sensor of ``frame`` over ``rows`` (not a water-quality event)."""
    j = frame.columns.get_loc(variable)
    values = frame.to_numpy(copy=True)
    spread = float(np.std(np.diff(values[:, j])) / np.sqrt(2)) or 1e-3
    if kind == "stuck":
        values[rows, j] = values[rows.start, j]
    elif kind == "drift":
        n = rows.stop - rows.start
        values[rows, j] += np.linspace(0, rng.choice([-1, 1]) * 30 * spread, n)
    elif kind == "spike":
        values[rows.start, j] += rng.choice([-1, 1]) * rng.uniform(5, 20) * spread
    elif kind == "gap":
        values[rows, j] = np.nan
    else:
        raise ValueError(f"unknown fault kind {kind!r}")
    frame.iloc[:, :] = values


def _period(rng: np.random.Generator, spec: QualityDatasetSpec, part: str, days: float,
            start: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray, list[Injection]]:
    step = pd.Timedelta(seconds=spec.step_s)
    n = round(days * DAY_S / spec.step_s)
    times = pd.date_range(start, periods=n, freq=step)
    frame = normal_station(rng, times, spec.step_s)
    labels = np.zeros(n, dtype=int)
    injections: list[Injection] = []
    rows_per_hour = 3600 / spec.step_s
    weeks = days / 7
    busy = np.zeros(n, dtype=bool)  # keep events and faults apart so each row has one cause
    n_events = int(rng.poisson(spec.events_per_week * weeks))
    for _ in range(n_events):
        length = int(rng.uniform(1, 8) * rows_per_hour)
        begin = _free_slot(rng, busy, length, int(6 * rows_per_hour))
        if begin is None:
            continue
        kind = str(rng.choice(["organic", "inorganic", "untreated"]))
        strength = float(rng.uniform(spec.weakest_event, spec.strongest_event))
        inject_event(frame, slice(begin, begin + length), kind, strength, rng)
        labels[begin:begin + length] = 1
        injections.append(Injection(part, kind, True, times[begin], times[begin + length - 1],
                                    strength, ""))
    n_faults = int(rng.poisson(spec.faults_per_week * weeks))
    for _ in range(n_faults):
        kind = str(rng.choice(["stuck", "drift", "spike", "gap"]))
        hours = {"stuck": (2, 8), "drift": (6, 24), "spike": (0, 0), "gap": (0.2, 2)}[kind]
        length = max(1, int(rng.uniform(*hours) * rows_per_hour))
        begin = _free_slot(rng, busy, length, int(2 * rows_per_hour))
        if begin is None:
            continue
        variable = str(rng.choice(VARIABLES))
        inject_fault(frame, slice(begin, begin + length), kind, variable, rng)
        injections.append(Injection(part, kind, False, times[begin], times[begin + length - 1],
                                    0.0, variable))
    return frame, labels, injections


def _free_slot(rng: np.random.Generator, busy: np.ndarray, length: int, margin: int
               ) -> int | None:
    for _ in range(50):
        begin = int(rng.integers(margin, max(margin + 1, busy.size - length - margin)))
        if not busy[max(0, begin - margin):begin + length + margin].any():
            busy[begin:begin + length] = True
            return begin
    return None


def generate_quality_dataset(seed: int, spec: QualityDatasetSpec | None = None
                             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series,
                                        list[Injection]]:
    """Generate the training and test periods.

    Returns
    -------
    train : station data with the ``EVENT`` label column (1 = event row)
    test : station data without labels
    test_labels : the test period's ``EVENT`` labels
    injections : every injected event and fault
    """
    spec = spec or QualityDatasetSpec()
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(spec.start)
    train, train_labels, inj_train = _period(rng, spec, "train", spec.train_days, start)
    test_start = start + pd.Timedelta(days=spec.train_days)
    test, test_labels, inj_test = _period(rng, spec, "test", spec.test_days, test_start)
    train = train.assign(**{LABEL_COLUMN: train_labels})
    return train, test, pd.Series(test_labels, index=test.index, name=LABEL_COLUMN), \
        inj_train + inj_test


def write_quality_dataset(out_dir: str | Path, seed: int,
                          spec: QualityDatasetSpec | None = None) -> dict[str, Path]:
    """Write ``train.csv``, ``test.csv``, ``test_truth.csv`` and ``injections.csv``.

    The first column of each is ``time`` (ISO 8601 UTC). Files are written beside each other
    under temporary names and renamed at the end, so a failed run leaves none half-written.

    Returns
    -------
    file role -> path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train, test, truth, injections = generate_quality_dataset(seed, spec)
    tables = {
        "train": train,
        "test": test,
        "test_truth": truth.to_frame(),
        "injections": pd.DataFrame([vars(i) for i in injections]).assign(
            end=lambda t: t["end"].dt.strftime(ISO_UTC)).set_index("start"),
    }
    paths: dict[str, Path] = {}
    staged: list[tuple[Path, Path]] = []
    try:
        for role, table in tables.items():
            final = out / f"{role}.csv"
            temp = out / f".{role}.csv.partial"
            table = table.copy()
            if isinstance(table.index, pd.DatetimeIndex):
                table.index = table.index.strftime(ISO_UTC)
            table.index.name = "time" if role != "injections" else "start"
            table.to_csv(temp, float_format="%.6g")
            staged.append((temp, final))
            paths[role] = final
        for temp, final in staged:
            temp.replace(final)
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
    return paths
