"""Treatment at the HTTP edge: raw-water quality in (NTU, °C, mg/L), dose ranges out [mg/L]."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.detection.treatment import DoseRange, DoseValidation, DriftFlag, RawWater
from waterops.service.treatment import TreatmentAdvice


class RawWaterBase(BaseModel):
    """Raw-water quality at the plant intake."""

    model_config = ConfigDict(extra="forbid")

    turbidity_ntu: Annotated[float, Field(gt=0, le=5000, allow_inf_nan=False,
                                          description="raw turbidity [NTU]")]
    temperature_c: Annotated[float, Field(ge=-1, le=40, allow_inf_nan=False,
                                          description="water temperature [°C]")]
    ammonia_mg_l: Annotated[float, Field(ge=0, le=20, allow_inf_nan=False,
                                         description="ammonia as N [mg/L]")]
    codmn_mg_l: Annotated[float, Field(ge=0, le=50, allow_inf_nan=False,
                                       description="permanganate index CODMn as O2 [mg/L]")]

    def raw(self) -> RawWater:
        return RawWater(self.turbidity_ntu, self.temperature_c, self.ammonia_mg_l,
                        self.codmn_mg_l)


class RecommendationCreate(RawWaterBase):
    """A request for dose ranges, with the probability the ranges should hold."""

    level: Annotated[float, Field(ge=0.5, le=0.99, allow_inf_nan=False,
                                  description="probability of the range")] = 0.9


class DoseRangePublic(BaseModel):
    """A dose [mg/L]: median of the plant's practice for such water, and its range."""

    dose_mg_l: float
    low_mg_l: float
    high_mg_l: float

    @classmethod
    def of(cls, d: DoseRange) -> DoseRangePublic:
        return cls(dose_mg_l=d.dose_mg_l, low_mg_l=d.low_mg_l, high_mg_l=d.high_mg_l)


class ValidationPublic(BaseModel):
    """Scores of a dose model on the most recent records, held back from its fit."""

    target: str
    n_train: int
    n_test: int
    mae_mg_l: float
    mape: float
    level: float
    coverage: float
    mean_width_mg_l: float
    baseline_mae_mg_l: float

    @classmethod
    def of(cls, v: DoseValidation) -> ValidationPublic:
        return cls(target=v.target, n_train=v.n_train, n_test=v.n_test, mae_mg_l=v.mae_mg_l,
                   mape=v.mape, level=v.level, coverage=v.coverage,
                   mean_width_mg_l=v.mean_width_mg_l, baseline_mae_mg_l=v.baseline_mae_mg_l)


class RecommendationPublic(BaseModel):
    """Coagulant and ozone dose ranges for one raw water, with the evidence."""

    raw: RawWaterBase
    level: float
    coagulant: DoseRangePublic
    ozone: DoseRangePublic
    outside_training: list[str]
    validations: list[ValidationPublic]
    history_source: str
    history_records: int

    @classmethod
    def of(cls, a: TreatmentAdvice) -> RecommendationPublic:
        r = a.recommendation
        return cls(raw=RawWaterBase(turbidity_ntu=r.raw.turbidity_ntu,
                                    temperature_c=r.raw.temperature_c,
                                    ammonia_mg_l=r.raw.ammonia_mg_l, codmn_mg_l=r.raw.codmn_mg_l),
                   level=r.level, coagulant=DoseRangePublic.of(r.coagulant),
                   ozone=DoseRangePublic.of(r.ozone), outside_training=list(r.outside_training),
                   validations=[ValidationPublic.of(v) for v in a.validations],
                   history_source=a.history_source, history_records=a.history_records)


class DriftFlagPublic(BaseModel):
    """Plant-outlet water heading for a GB 5749-2022 limit."""

    quantity: str
    state: str
    limit: str
    bound: float
    unit: str
    clause: str
    level: float
    slope_per_day: float
    days_to_limit: float | None

    @classmethod
    def of(cls, f: DriftFlag) -> DriftFlagPublic:
        return cls(quantity=f.quantity, state=f.state, limit=f.limit.name, bound=f.limit.bound,
                   unit=f.limit.unit, clause=f.limit.clause, level=f.level,
                   slope_per_day=f.slope_per_day, days_to_limit=f.days_to_limit)


class OutletDriftPublic(BaseModel):
    """Drift flags of the plant outlet and how much data they rest on."""

    window_days: float
    hours_seen: dict[str, int]
    flags: list[DriftFlagPublic]
