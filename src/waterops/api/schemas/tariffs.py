"""Tariffs (水价) and bills at the HTTP edge: volumes in m³, prices in yuan/m³, money in yuan."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.model.tariffs import (
    Bill,
    BillingPeriod,
    BlockTariff,
    CustomerClass,
    LineKind,
    QuotaTariff,
    Tariff,
)


class BillCreate(BaseModel):
    """A bill to work out: a period's volume on a named tariff (or the class's default)."""

    model_config = ConfigDict(extra="forbid")

    volume_m3: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False,
                                      description="volume used in one billing period [m³]")]
    tariff: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    customer_class: CustomerClass = CustomerClass.HOUSEHOLD


class BillLinePublic(BaseModel):
    """One printed line: volume [m³] × price [yuan/m³] = amount [yuan].

    ``label`` is the line in English; ``kind`` with ``tier`` (a tier's number), ``factor`` (a
    surcharge's) or ``code`` (a charge's stable code, as in ``TariffPublic.charge_codes``) let
    a client word the line in its own language.
    """

    label: str
    volume_m3: float
    price_yuan_m3: float
    amount_yuan: float
    kind: LineKind
    tier: int | None = None
    factor: float | None = None
    code: str | None = None


class BillPublic(BaseModel):
    """A bill, its lines and total [yuan]."""

    tariff: str
    period: BillingPeriod
    volume_m3: float
    lines: list[BillLinePublic]
    total_yuan: float

    @classmethod
    def of(cls, b: Bill) -> BillPublic:
        return cls(tariff=b.tariff, period=b.period, volume_m3=b.volume_m3,
                   lines=[BillLinePublic(label=x.label, volume_m3=x.volume_m3,
                                         price_yuan_m3=x.price_yuan_m3,
                                         amount_yuan=x.amount_yuan, kind=x.kind, tier=x.tier,
                                         factor=x.factor, code=x.code) for x in b.lines],
                   total_yuan=b.total_yuan)


class TierPublic(BaseModel):
    """A tier up to ``upper_m3`` per period (None: no end) or a surcharge band above the
    quota up to ``upper_excess`` (fraction of the quota)."""

    upper_m3: float | None = None
    upper_excess: float | None = None
    price_yuan_m3: float | None = None
    factor: float | None = None


class TariffPublic(BaseModel):
    """A tariff of the tariff book: ``name`` is its stable code in the book; ``charges`` the
    price [yuan/m³] of each charge line by name, ``charge_codes`` each one's stable code."""

    name: str
    customer_class: CustomerClass
    period: BillingPeriod
    kind: str
    tiers: list[TierPublic]
    base_price_yuan_m3: float | None
    quota_m3: float | None
    charges: dict[str, float]
    charge_codes: dict[str, str]
    guideline_ratio_ok: bool | None

    @classmethod
    def of(cls, t: Tariff) -> TariffPublic:
        charges = {c.name: c.price_yuan_m3 for c in t.charges}
        codes = {c.name: c.code for c in t.charges}
        if isinstance(t, BlockTariff):
            return cls(name=t.name, customer_class=t.customer_class, period=t.period,
                       kind="block", tiers=[TierPublic(upper_m3=b.upper_m3,
                                                       price_yuan_m3=b.price_yuan_m3)
                                            for b in t.blocks],
                       base_price_yuan_m3=None, quota_m3=None, charges=charges,
                       charge_codes=codes, guideline_ratio_ok=t.guideline_ratio_ok())
        assert isinstance(t, QuotaTariff)
        return cls(name=t.name, customer_class=t.customer_class, period=t.period,
                   kind="quota" if t.quota_m3 is not None else "single price",
                   tiers=[TierPublic(upper_excess=b.upper_excess, factor=b.factor)
                          for b in t.bands],
                   base_price_yuan_m3=t.base_price_yuan_m3, quota_m3=t.quota_m3,
                   charges=charges, charge_codes=codes, guideline_ratio_ok=None)
