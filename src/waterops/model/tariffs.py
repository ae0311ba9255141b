"""Water tariffs (水价): tiered household blocks, non-household prices with quota surcharges.

Pure: no I/O. A tariff book is read from TOML text (:func:`parse_tariff_book`); the demo book
(:data:`DEMO_TARIFF_TOML`) is documented below and used when no file is configured.

Household (居民) tariffs are *block* tariffs (阶梯水价): the price of each cubic metre rises
with the volume used in the billing period (a month or a year). The national guideline of
2013 — 国家发展改革委、住房城乡建设部《关于加快建立完善城镇居民用水阶梯价格制度的指导意见》
(发改价格〔2013〕2676号, issued 2013-12-31) — asks for at least three tiers: tier 1 covering
the monthly average use of about 80 % of households, tier 2 about 95 %, tier 3 the rest, with
prices of tiers 1, 2 and 3 in the ratio of *no less than* 1 : 1.5 : 3 (larger in water-short
areas). :meth:`BlockTariff.guideline_ratio_ok` checks the ratio.

Non-household (非居民) use pays one price per m³, and above its quota a progressive surcharge
(超定额累进加价): each band of excess over the quota pays the base price times a further
factor. Water-resource fee (水资源费/税) and sewage charge (污水处理费) are separate lines of
every bill, charged per m³ of all water billed (they never enter the tiers).

Money is in yuan (CNY), volumes in m³, prices in yuan/m³. Each bill line is rounded to the fen
(0.01 yuan) half up, as printed on a bill; the total is the sum of the printed lines.
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from waterops.errors import TariffError

DAYS_PER_YEAR = 365.0
MONTHS_PER_YEAR = 12


class BillingPeriod(enum.StrEnum):
    """The period whose volume the blocks or the quota apply to."""

    MONTH = "month"
    YEAR = "year"


class CustomerClass(enum.StrEnum):
    """Who a tariff is for."""

    HOUSEHOLD = "household"
    NON_HOUSEHOLD = "non_household"


def to_fen(amount_yuan: float) -> float:
    """``amount_yuan`` rounded half up to 0.01 yuan (as printed on a bill)."""
    return float(Decimal(repr(amount_yuan)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Block:
    """One tier: the volume up to ``upper_m3`` in the period (None: no upper end) [m³] at
    ``price_yuan_m3`` [yuan/m³]."""

    upper_m3: float | None
    price_yuan_m3: float


@dataclass(frozen=True)
class SurchargeBand:
    """One band of use above the quota (超定额累进加价).

    ``upper_excess`` is the upper end of the band as a fraction of the quota (0.2: up to 20 %
    above the quota; None: everything beyond); the band pays ``factor`` × the base price on top
    of the base price.
    """

    upper_excess: float | None
    factor: float


def charge_code(name: str) -> str:
    """The stable code of a charge named ``name``: lower-case words joined by ``_``
    (``"water-resource fee"`` → ``"water_resource_fee"``), for clients to word it themselves."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class ChargeLine:
    """A component charged per m³ of all water billed (water-resource fee, sewage charge)."""

    name: str
    price_yuan_m3: float

    @property
    def code(self) -> str:
        """:func:`charge_code` of the name."""
        return charge_code(self.name)


class LineKind(enum.StrEnum):
    """What a bill line is for: a tier of a block tariff, the base water price of a quota
    tariff, a surcharge band above the quota, or a per-m³ charge line."""

    TIER = "tier"
    WATER = "water"
    SURCHARGE = "surcharge"
    CHARGE = "charge"


@dataclass(frozen=True)
class BillLine:
    """One printed line of a bill: ``volume_m3`` [m³] × ``price_yuan_m3`` = ``amount_yuan``."""

    label: str
    volume_m3: float
    price_yuan_m3: float
    amount_yuan: float
    kind: LineKind = LineKind.CHARGE
    tier: int | None = None
    """The tier's number (from 1) of a :attr:`LineKind.TIER` line."""
    factor: float | None = None
    """The surcharge factor of a :attr:`LineKind.SURCHARGE` line."""

    @property
    def code(self) -> str | None:
        """The charge's code (:func:`charge_code`) of a :attr:`LineKind.CHARGE` line."""
        return charge_code(self.label) if self.kind == LineKind.CHARGE else None


@dataclass(frozen=True)
class Bill:
    """The bill of one period's volume [m³], its lines and total [yuan]."""

    tariff: str
    period: BillingPeriod
    volume_m3: float
    lines: tuple[BillLine, ...]

    @property
    def total_yuan(self) -> float:
        """Sum of the printed lines [yuan]."""
        return to_fen(sum(line.amount_yuan for line in self.lines))


def _line(label: str, volume_m3: float, price_yuan_m3: float, kind: LineKind = LineKind.CHARGE,
          *, tier: int | None = None, factor: float | None = None) -> BillLine:
    return BillLine(label, volume_m3, price_yuan_m3, to_fen(volume_m3 * price_yuan_m3), kind,
                    tier, factor)


@dataclass(frozen=True)
class Tariff:
    """What every tariff has: a name, a class, a period and per-m³ charge lines."""

    name: str
    customer_class: CustomerClass
    period: BillingPeriod
    charges: tuple[ChargeLine, ...]

    def water_lines(self, volume_m3: float) -> list[BillLine]:
        """The lines of the water price itself (overridden by each kind)."""
        raise NotImplementedError

    def bill(self, volume_m3: float) -> Bill:
        """The bill of ``volume_m3`` [m³] used in one period."""
        if not math.isfinite(volume_m3) or volume_m3 < 0:
            raise TariffError(f"tariff {self.name!r}: volume {volume_m3} m³ is not a volume")
        lines = self.water_lines(volume_m3)
        lines += [_line(c.name, volume_m3, c.price_yuan_m3) for c in self.charges]
        return Bill(self.name, self.period, volume_m3, tuple(lines))

    def annual_cost_yuan(self, daily_volume_m3: float) -> float:
        """Yearly cost [yuan] of a steady use of ``daily_volume_m3`` [m³/day].

        A monthly tariff bills 12 equal months of 365/12 days; a yearly one bills 365 days.
        """
        if self.period == BillingPeriod.MONTH:
            month_m3 = daily_volume_m3 * DAYS_PER_YEAR / MONTHS_PER_YEAR
            return MONTHS_PER_YEAR * self.bill(month_m3).total_yuan
        return self.bill(daily_volume_m3 * DAYS_PER_YEAR).total_yuan


@dataclass(frozen=True)
class BlockTariff(Tariff):
    """A tiered (block) tariff: ``blocks`` in rising order, the last without an upper end."""

    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        where = f"tariff {self.name!r}"
        if not self.blocks or self.blocks[-1].upper_m3 is not None:
            raise TariffError(f"{where}: the last tier must have no upper end")
        lower = 0.0
        for i, block in enumerate(self.blocks):
            if block.price_yuan_m3 < 0:
                raise TariffError(f"{where}: tier {i + 1} has a negative price")
            if block.upper_m3 is not None:
                if block.upper_m3 <= lower:
                    raise TariffError(f"{where}: tier {i + 1} ends at {block.upper_m3} m³, "
                                      f"not above {lower} m³")
                lower = block.upper_m3

    def water_lines(self, volume_m3: float) -> list[BillLine]:
        """One line per tier the volume reaches (a volume exactly at a limit stays below it)."""
        lines, lower = [], 0.0
        for i, block in enumerate(self.blocks):
            upper = math.inf if block.upper_m3 is None else block.upper_m3
            in_tier = min(volume_m3, upper) - lower
            if in_tier <= 0:
                break
            lines.append(_line(f"tier {i + 1}", in_tier, block.price_yuan_m3, LineKind.TIER,
                               tier=i + 1))
            lower = upper
        return lines or [_line("tier 1", 0.0, self.blocks[0].price_yuan_m3, LineKind.TIER,
                               tier=1)]

    def guideline_ratio_ok(self) -> bool:
        """Whether tiers 1-3 are priced at least 1 : 1.5 : 3 (发改价格〔2013〕2676号)."""
        if len(self.blocks) < 3:
            return False
        p1, p2, p3 = (b.price_yuan_m3 for b in self.blocks[:3])
        return p2 >= 1.5 * p1 - 1e-9 and p3 >= 3.0 * p1 - 1e-9


@dataclass(frozen=True)
class QuotaTariff(Tariff):
    """A non-household price ``base_price_yuan_m3`` [yuan/m³], with a surcharge above
    ``quota_m3`` per period [m³] in ``bands`` (no quota: a single price)."""

    base_price_yuan_m3: float = 0.0
    quota_m3: float | None = None
    bands: tuple[SurchargeBand, ...] = ()

    def __post_init__(self) -> None:
        where = f"tariff {self.name!r}"
        if self.base_price_yuan_m3 < 0:
            raise TariffError(f"{where}: negative base price")
        if self.quota_m3 is not None and (self.quota_m3 <= 0 or not self.bands):
            raise TariffError(f"{where}: a quota needs a positive volume and surcharge bands")
        if self.bands and self.bands[-1].upper_excess is not None:
            raise TariffError(f"{where}: the last surcharge band must have no upper end")

    def water_lines(self, volume_m3: float) -> list[BillLine]:
        """The base price on all water, then the surcharge of each band reached."""
        lines = [_line("water", volume_m3, self.base_price_yuan_m3, LineKind.WATER)]
        if self.quota_m3 is None:
            return lines
        lower = self.quota_m3
        for band in self.bands:
            upper = math.inf if band.upper_excess is None else \
                self.quota_m3 * (1.0 + band.upper_excess)
            in_band = min(volume_m3, upper) - lower
            if in_band <= 0:
                break
            label = f"surcharge above quota ×{band.factor:g}"
            lines.append(_line(label, in_band, band.factor * self.base_price_yuan_m3,
                               LineKind.SURCHARGE, factor=band.factor))
            lower = upper
        return lines

    def surcharge_yuan(self, volume_m3: float) -> float:
        """The part of a period's bill [yuan] paid for use above the quota."""
        return to_fen(sum(line.amount_yuan for line in self.water_lines(volume_m3)[1:]))


@dataclass(frozen=True)
class TariffBook:
    """The tariffs of a utility by name, and which one each customer class gets by default."""

    tariffs: Mapping[str, Tariff]
    household_default: str
    non_household_default: str

    def get(self, name: str) -> Tariff:
        """The tariff ``name`` or a :class:`TariffError` listing those there are."""
        try:
            return self.tariffs[name]
        except KeyError:
            raise TariffError(f"no tariff {name!r}; known: {', '.join(sorted(self.tariffs))}"
                              ) from None

    def default_for(self, customer_class: CustomerClass) -> Tariff:
        """The default tariff of a customer class."""
        return self.get(self.household_default if customer_class == CustomerClass.HOUSEHOLD
                        else self.non_household_default)


# -- reading a tariff book -----------------------------------------------------------------------

DEMO_TARIFF_TOML = """\
# Demo tariff book of the virtual utility: figures are illustrative, not any city's prices.
# Household tiers follow the 2013 guideline (发改价格〔2013〕2676号): three tiers priced
# 2.00 : 3.00 : 6.00 = 1 : 1.5 : 3; limits 15 and 22 m3/month (yearly: 180 and 260 m3).
household_default = "household-monthly"
non_household_default = "non-household"

[tariffs.household-monthly]
class = "household"
period = "month"
blocks = [{upper_m3 = 15, price = 2.00}, {upper_m3 = 22, price = 3.00}, {price = 6.00}]
charges = [{name = "water-resource fee", price = 0.40}, {name = "sewage charge", price = 0.95}]

[tariffs.household-yearly]
class = "household"
period = "year"
blocks = [{upper_m3 = 180, price = 2.00}, {upper_m3 = 260, price = 3.00}, {price = 6.00}]
charges = [{name = "water-resource fee", price = 0.40}, {name = "sewage charge", price = 0.95}]

# Non-household: 3.50 yuan/m3; above the monthly quota +50 % of the base price for the first
# 20 % of excess, +100 % up to 40 %, +200 % beyond (超定额累进加价).
[tariffs.non-household]
class = "non_household"
period = "month"
base_price = 3.50
quota_m3 = 5000
bands = [{upper_excess = 0.2, factor = 0.5}, {upper_excess = 0.4, factor = 1.0}, {factor = 2.0}]
charges = [{name = "water-resource fee", price = 0.60}, {name = "sewage charge", price = 1.40}]

[tariffs.non-household-flat]
class = "non_household"
period = "month"
base_price = 3.50
charges = [{name = "water-resource fee", price = 0.60}, {name = "sewage charge", price = 1.40}]
"""
"""The demo tariff book (TOML): the shape every tariff file has."""


def _number(entry: Mapping[str, Any], key: str, where: str, *, optional: bool = False
            ) -> float | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TariffError(f"{where}: {key!r} must be a number, not {value!r}")
    return float(value)


def _charges(entry: Mapping[str, Any], where: str) -> tuple[ChargeLine, ...]:
    out = []
    for i, c in enumerate(entry.get("charges", [])):
        at = f"{where} charge {i + 1}"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise TariffError(f"{at}: needs a name and a price")
        price = _number(c, "price", at)
        assert price is not None
        out.append(ChargeLine(c["name"], price))
    return tuple(out)


def _tariff(name: str, entry: Mapping[str, Any], source: str) -> Tariff:
    where = f"{source}: tariff {name!r}"
    try:
        customer_class = CustomerClass(str(entry.get("class")))
        period = BillingPeriod(str(entry.get("period")))
    except ValueError as exc:
        raise TariffError(f"{where}: {exc}") from None
    charges = _charges(entry, where)
    if "blocks" in entry:
        blocks = []
        for i, b in enumerate(entry["blocks"]):
            at = f"{where} tier {i + 1}"
            if not isinstance(b, dict):
                raise TariffError(f"{at}: must be a table")
            price = _number(b, "price", at)
            assert price is not None
            blocks.append(Block(_number(b, "upper_m3", at, optional=True), price))
        return BlockTariff(name, customer_class, period, charges, tuple(blocks))
    base = _number(entry, "base_price", where)
    assert base is not None
    bands = []
    for i, b in enumerate(entry.get("bands", [])):
        at = f"{where} band {i + 1}"
        if not isinstance(b, dict):
            raise TariffError(f"{at}: must be a table")
        factor = _number(b, "factor", at)
        assert factor is not None
        bands.append(SurchargeBand(_number(b, "upper_excess", at, optional=True), factor))
    return QuotaTariff(name, customer_class, period, charges, base,
                       _number(entry, "quota_m3", where, optional=True), tuple(bands))


def parse_tariff_book(text: str, source: str = "<tariffs>") -> TariffBook:
    """Read a tariff book from TOML ``text`` (see :data:`DEMO_TARIFF_TOML`).

    Raises
    ------
    TariffError
        naming ``source`` and the tariff, tier or line that is wrong.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TariffError(f"{source}: not TOML: {exc}") from None
    entries = data.get("tariffs")
    if not isinstance(entries, dict) or not entries:
        raise TariffError(f"{source}: no [tariffs.NAME] tables")
    tariffs = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            raise TariffError(f"{source}: tariff {name!r} must be a table")
        tariffs[name] = _tariff(name, entry, source)
    book = TariffBook(tariffs, str(data.get("household_default", "")),
                      str(data.get("non_household_default", "")))
    for customer_class in CustomerClass:
        book.default_for(customer_class)  # both defaults must name a tariff
    return book


def demo_tariff_book() -> TariffBook:
    """The documented demo tariff book."""
    return parse_tariff_book(DEMO_TARIFF_TOML, "demo tariff book")
