"""Treatment use cases: dose recommendations from the plant's history and outlet drift flags.

The history is a CSV file (``time`` plus :data:`~waterops.detection.treatment.RAW_COLUMNS`
and :data:`~waterops.detection.treatment.DOSE_COLUMNS`) named by ``WATEROPS_PLANT_HISTORY``;
without one the demo plant's synthetic history is used (seeded, documented relations) and
every answer says so. The models are fitted once per service and validated on the most
recent 20 % of the history, held back from the fit.

Outlet drift reads the plant-outlet analysers of the telemetry store (hourly means of the
last days): turbidity ``TU-WTP1-CLEARWELL`` and chlorine ``CL-WTP1-CLEARWELL`` of the demo
utility, the chlorine analyser read as free chlorine (the plant disinfects with chlorine).

Every use case checks :attr:`Permission.TREATMENT_READ` (water-quality engineers,
dispatchers, administrators).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from waterops.detection.treatment import (
    DOSE_COLUMNS,
    RAW_COLUMNS,
    DoseAdvisor,
    DoseRecommendation,
    DoseValidation,
    DriftFlag,
    RawWater,
    outlet_drift_flags,
    synthetic_plant_history,
    validate_dose_model,
)
from waterops.errors import QualityDataError, UnknownSensorError
from waterops.model.accounts import Permission, User
from waterops.service.auth import require
from waterops.store.telemetry_store import TelemetryStore

PLANT_HISTORY_ENV = "WATEROPS_PLANT_HISTORY"
"""Environment variable naming the plant-history CSV file."""
SYNTHETIC_SOURCE = "synthetic demo plant history (seed 7, 2 years, every 6 h)"
OUTLET_SENSORS: Mapping[str, str] = {"turbidity": "TU-WTP1-CLEARWELL",
                                     "free_chlorine": "CL-WTP1-CLEARWELL"}
"""GB 5749 quantity -> plant-outlet sensor id of the demo utility."""


def read_plant_history(path: str | Path) -> pd.DataFrame:
    """A plant history CSV as a frame indexed by aware UTC time."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise QualityDataError(path, f"cannot read CSV: {exc}") from exc
    wanted = ("time", *RAW_COLUMNS, *DOSE_COLUMNS)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise QualityDataError(path, f"missing column(s) {', '.join(missing)}; expected "
                                     f"{','.join(wanted)}")
    try:
        times = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise QualityDataError(path, f"column time: not ISO times ({exc})") from None
    values = frame[[*RAW_COLUMNS, *DOSE_COLUMNS]].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame[[*RAW_COLUMNS, *DOSE_COLUMNS]].notna()
    if bad.to_numpy().any():
        row, col = divmod(int(bad.to_numpy().argmax()), bad.shape[1])
        raise QualityDataError(f"{path}:{row + 2}", f"{bad.columns[col]} is not a number")
    values.index = pd.DatetimeIndex(times)
    history: pd.DataFrame = values.sort_index()
    return history


@dataclass(frozen=True)
class TreatmentAdvice:
    """A recommendation with the evidence behind it."""

    recommendation: DoseRecommendation
    validations: tuple[DoseValidation, ...]
    history_source: str
    history_records: int


class TreatmentService:
    """Dose advice and outlet drift for one plant."""

    def __init__(self, history_path: Path | None, telemetry: TelemetryStore | None = None, *,
                 clock: Callable[[], datetime] | None = None,
                 outlet_sensors: Mapping[str, str] = OUTLET_SENSORS) -> None:
        self.history_path = history_path
        self.telemetry = telemetry
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outlet_sensors = dict(outlet_sensors)
        self._lock = threading.Lock()
        self._fitted: tuple[DoseAdvisor, tuple[DoseValidation, ...], int] | None = None

    @classmethod
    def from_environment(cls, telemetry: TelemetryStore | None = None,
                         env: Mapping[str, str] | None = None,
                         clock: Callable[[], datetime] | None = None) -> TreatmentService:
        """The history of ``$WATEROPS_PLANT_HISTORY``, else the synthetic one."""
        name = (os.environ if env is None else env).get(PLANT_HISTORY_ENV)
        return cls(Path(name).expanduser() if name else None, telemetry, clock=clock)

    @property
    def history_source(self) -> str:
        """Where the history comes from."""
        return str(self.history_path) if self.history_path else SYNTHETIC_SOURCE

    def _fit(self) -> tuple[DoseAdvisor, tuple[DoseValidation, ...], int]:
        with self._lock:
            if self._fitted is None:
                history = (read_plant_history(self.history_path) if self.history_path
                           else synthetic_plant_history())
                source = self.history_source
                advisor = DoseAdvisor.fit(history, source)
                validations = tuple(validate_dose_model(history, target, source=source)
                                    for target in DOSE_COLUMNS)
                self._fitted = (advisor, validations, len(history))
            return self._fitted

    def recommend(self, user: User, raw: RawWater, level: float = 0.9) -> TreatmentAdvice:
        """Coagulant and ozone dose ranges for a raw water."""
        require(user, Permission.TREATMENT_READ)
        advisor, validations, n = self._fit()
        return TreatmentAdvice(advisor.recommend(raw, level), validations,
                               self.history_source, n)

    def validations(self, user: User) -> tuple[DoseValidation, ...]:
        """Held-back scores of the two models."""
        require(user, Permission.TREATMENT_READ)
        return self._fit()[1]

    def outlet_drift(self, user: User, *, window_days: float = 7.0,
                     horizon_days: float = 14.0) -> tuple[list[DriftFlag], pd.DataFrame]:
        """Drift flags of the plant-outlet analysers over the last ``window_days`` and the
        hourly series they were computed from."""
        require(user, Permission.TREATMENT_READ)
        if self.telemetry is None:
            raise QualityDataError("outlet drift", "no telemetry store")
        end = self.clock()
        start = end - timedelta(days=window_days)
        columns = {}
        for quantity, sensor_id in self.outlet_sensors.items():
            try:
                hourly = self.telemetry.resample(sensor_id, start, end, 3600)
            except UnknownSensorError:
                continue
            if not hourly.empty:
                columns[quantity] = pd.Series(hourly["mean"].to_numpy(dtype=float),
                                              index=pd.DatetimeIndex(hourly["time"]))
        frame = pd.DataFrame(columns)
        if frame.empty:
            return [], frame
        index = pd.DatetimeIndex(frame.index)
        frame.index = index.tz_localize("UTC") if index.tz is None else index
        flags = outlet_drift_flags(frame, window_days=window_days, horizon_days=horizon_days)
        return flags, frame
