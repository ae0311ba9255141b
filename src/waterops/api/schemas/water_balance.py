"""The water balance at the HTTP edge: volumes in m³, ratios as fractions (0.1 = 10 %),
losses per day in L/day as IWA quotes them; read-only (no Create/Update)."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
from pydantic import BaseModel

from waterops.planning.leakage_indices import Cjj92Rates, IwaIndices
from waterops.planning.water_balance import Component, WaterBalance


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


class ComponentPublic(BaseModel):
    """A volume of the balance and the half-width of its 95 % confidence interval [m³]."""

    m3: float
    ci95_m3: float

    @classmethod
    def of(cls, c: Component) -> ComponentPublic:
        return cls(m3=c.m3, ci95_m3=c.ci95_m3)


class IwaIndicesPublic(BaseModel):
    """IWA real-loss indicators: CARL and UARL [L/day], ILI [-], per connection
    [L/connection/day], per km of mains [m³/km/day]."""

    carl_l_d: float
    uarl_l_d: float
    ili: float
    real_losses_l_conn_d: float | None
    real_losses_m3_km_d: float | None
    connection_density_per_km: float | None
    uarl_reliable: bool

    @classmethod
    def of(cls, i: IwaIndices) -> IwaIndicesPublic:
        return cls(carl_l_d=i.carl_l_d, uarl_l_d=i.uarl_l_d, ili=i.ili,
                   real_losses_l_conn_d=_finite(i.real_losses_l_conn_d),
                   real_losses_m3_km_d=_finite(i.real_losses_m3_km_d),
                   connection_density_per_km=_finite(i.connection_density_per_km),
                   uarl_reliable=i.uarl_reliable)


class Cjj92Public(BaseModel):
    """CJJ 92-2016 rates (fractions) and the grade (``grade 1``, ``grade 2``, ``not met``)."""

    overall_loss_rate: float
    r1_household_metering: float
    r2_pipe_length: float
    r3_pressure: float
    r4_frost: float
    correction: float
    leakage_rate: float
    nrw_ratio: float
    pipe_km_per_1e4m3: float | None
    grade: str
    grade_zh: str

    @classmethod
    def of(cls, r: Cjj92Rates) -> Cjj92Public:
        return cls(overall_loss_rate=r.overall_loss_rate,
                   r1_household_metering=r.r1_household_metering,
                   r2_pipe_length=r.r2_pipe_length, r3_pressure=r.r3_pressure,
                   r4_frost=r.r4_frost, correction=r.correction, leakage_rate=r.leakage_rate,
                   nrw_ratio=r.nrw_ratio, pipe_km_per_1e4m3=_finite(r.pipe_km_per_1e4m3),
                   grade=r.grade.value, grade_zh=r.grade.zh)


class WaterBalancePublic(BaseModel):
    """The IWA water balance of one system or DMA and period, with its indices."""

    scope: str
    scope_id: str
    system_id: str
    period: str
    period_start: date
    period_end: date
    period_days: int
    system_input: ComponentPublic
    authorised: ComponentPublic
    billed_authorised: ComponentPublic
    unbilled_authorised: ComponentPublic
    water_losses: ComponentPublic
    apparent_losses: ComponentPublic
    real_losses: ComponentPublic
    non_revenue_water: ComponentPublic
    nrw_ratio: float
    real_loss_ratio: float
    iwa: IwaIndicesPublic | None
    cjj92: Cjj92Public | None
    warnings: list[str]

    @classmethod
    def of(cls, b: WaterBalance) -> WaterBalancePublic:
        i = b.input
        return cls(
            scope=i.scope, scope_id=i.scope_id, system_id=i.system_id, period=i.period,
            period_start=i.period_start, period_end=i.period_end, period_days=i.period_days,
            system_input=ComponentPublic.of(b.system_input),
            authorised=ComponentPublic.of(b.authorised),
            billed_authorised=ComponentPublic.of(b.billed_authorised),
            unbilled_authorised=ComponentPublic.of(b.unbilled_authorised),
            water_losses=ComponentPublic.of(b.water_losses),
            apparent_losses=ComponentPublic.of(b.apparent_losses),
            real_losses=ComponentPublic.of(b.real_losses),
            non_revenue_water=ComponentPublic.of(b.non_revenue_water),
            nrw_ratio=b.nrw_ratio, real_loss_ratio=b.real_loss_ratio,
            iwa=IwaIndicesPublic.of(b.iwa) if b.iwa else None,
            cjj92=Cjj92Public.of(b.cjj92) if b.cjj92 else None,
            warnings=list(b.warnings))


class NightFlowPublic(BaseModel):
    """One night of a DMA: flows in L/s as operators read them, leakage in m³/day."""

    night: date
    mnf_time: datetime
    mnf_ls: float
    legitimate_night_use_ls: float
    net_night_flow_ls: float
    pressure_at_mnf_m: float | None
    night_day_factor_h: float | None
    leakage_m3_per_day: float | None

    @classmethod
    def of(cls, night: object, row: pd.Series) -> NightFlowPublic:
        def opt(name: str) -> float | None:
            return _finite(float(row[name]))

        return cls(night=date.fromisoformat(str(night)),
                   mnf_time=pd.Timestamp(row["mnf_time"]).to_pydatetime(),
                   mnf_ls=1000 * float(row["mnf_m3s"]),
                   legitimate_night_use_ls=1000 * float(row["legitimate_night_use_m3s"]),
                   net_night_flow_ls=1000 * float(row["net_night_flow_m3s"]),
                   pressure_at_mnf_m=opt("pressure_at_mnf_m"),
                   night_day_factor_h=opt("night_day_factor_h"),
                   leakage_m3_per_day=opt("leakage_m3_per_day"))
