"""Tariffs: bills worked out by hand, volumes exactly at tier and quota limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.errors import TariffError
from waterops.model.tariffs import (
    DEMO_TARIFF_TOML,
    BlockTariff,
    CustomerClass,
    QuotaTariff,
    demo_tariff_book,
    parse_tariff_book,
    to_fen,
)

BOOK = demo_tariff_book()
MONTHLY = BOOK.get("household-monthly")
YEARLY = BOOK.get("household-yearly")
NON_HOUSEHOLD = BOOK.get("non-household")


def amounts(volume_m3: float, tariff_name: str) -> list[tuple[str, float, float]]:
    bill = BOOK.get(tariff_name).bill(volume_m3)
    return [(line.label, line.volume_m3, line.amount_yuan) for line in bill.lines]


@pytest.mark.parametrize(("volume_m3", "total_yuan"), [
    (0.0, 0.0),
    (10.0, 10 * 2.00 + 10 * 0.40 + 10 * 0.95),                     # 33.50
    (15.0, 30.00 + 6.00 + 14.25),                                  # exactly at tier 1's end
    (15.5, 30.00 + 1.50 + 6.20 + 14.73),                           # 14.725 rounds half up
    (22.0, 30.00 + 21.00 + 8.80 + 20.90),                          # exactly at tier 2's end
    (25.0, 30.00 + 21.00 + 18.00 + 10.00 + 23.75),                 # 3 m³ in tier 3
])
def test_household_monthly_bill_by_hand(volume_m3: float, total_yuan: float) -> None:
    assert MONTHLY.bill(volume_m3).total_yuan == pytest.approx(total_yuan, abs=1e-9)


def test_volume_at_a_tier_limit_stays_in_the_lower_tier() -> None:
    assert amounts(15.0, "household-monthly")[:1] == [("tier 1", 15.0, 30.0)]
    assert [a[0] for a in amounts(15.0, "household-monthly")] == [
        "tier 1", "water-resource fee", "sewage charge"]
    assert [a[:2] for a in amounts(22.0, "household-monthly")[:2]] == [
        ("tier 1", 15.0), ("tier 2", 7.0)]
    assert [a[:2] for a in amounts(22.001, "household-monthly")[:3]] == [
        ("tier 1", 15.0), ("tier 2", 7.0), ("tier 3", pytest.approx(0.001))]


def test_household_yearly_bill_by_hand() -> None:
    # 200 m³ a year: 180 × 2.00 + 20 × 3.00 = 420; 200 × 0.40 = 80; 200 × 0.95 = 190
    assert YEARLY.bill(200.0).total_yuan == pytest.approx(690.0)
    assert YEARLY.bill(260.0).total_yuan == pytest.approx(360 + 240 + 104 + 247)
    assert YEARLY.bill(300.0).total_yuan == pytest.approx(360 + 240 + 240 + 120 + 285)


@pytest.mark.parametrize(("volume_m3", "total_yuan"), [
    (5000.0, 17500 + 3000 + 7000),                                 # exactly the quota
    (6000.0, 21000 + 1000 * 1.75 + 3600 + 8400),                   # exactly 20 % above
    (7000.0, 24500 + 1750 + 1000 * 3.50 + 4200 + 9800),            # exactly 40 % above
    (8000.0, 28000 + 1750 + 3500 + 1000 * 7.00 + 4800 + 11200),    # into the last band
])
def test_non_household_quota_surcharge_by_hand(volume_m3: float, total_yuan: float) -> None:
    assert NON_HOUSEHOLD.bill(volume_m3).total_yuan == pytest.approx(total_yuan)


def test_surcharge_part_and_flat_price() -> None:
    assert isinstance(NON_HOUSEHOLD, QuotaTariff)
    assert NON_HOUSEHOLD.surcharge_yuan(5000.0) == 0.0
    assert NON_HOUSEHOLD.surcharge_yuan(8000.0) == pytest.approx(1750 + 3500 + 7000)
    flat = BOOK.get("non-household-flat")
    assert flat.bill(8000.0).total_yuan == pytest.approx(8000 * (3.50 + 0.60 + 1.40))


def test_annual_cost_of_a_steady_use() -> None:
    # 0.5 m³/day on the monthly tariff: 12 months of 0.5 × 365 / 12 = 15.2083 m³:
    # 30.00 + 0.2083 × 3 = 0.63; 6.08; 14.45 -> 51.16 a month
    assert MONTHLY.annual_cost_yuan(0.5) == pytest.approx(12 * 51.16)
    # yearly blocks: 182.5 m³: 360 + 2.5 × 3 = 367.50; 73.00; 173.38 (173.375 half up)
    assert YEARLY.annual_cost_yuan(0.5) == pytest.approx(367.50 + 73.00 + 173.38)


def test_guideline_ratio_of_2013() -> None:
    assert isinstance(MONTHLY, BlockTariff)
    assert MONTHLY.guideline_ratio_ok()
    low = parse_tariff_book(DEMO_TARIFF_TOML.replace("price = 6.00", "price = 5.00"))
    tariff = low.get("household-monthly")
    assert isinstance(tariff, BlockTariff)
    assert not tariff.guideline_ratio_ok()


def test_defaults_per_customer_class() -> None:
    assert BOOK.default_for(CustomerClass.HOUSEHOLD).name == "household-monthly"
    assert BOOK.default_for(CustomerClass.NON_HOUSEHOLD).name == "non-household"


def test_rounding_half_up_to_the_fen() -> None:
    assert to_fen(14.725) == 14.73
    assert to_fen(0.005) == 0.01
    assert to_fen(2.675) == 2.68


@pytest.mark.parametrize(("text", "message"), [
    ("not = [toml", "not TOML"),
    ("x = 1", r"no \[tariffs\.NAME\]"),
    ('household_default = "a"\nnon_household_default = "a"\n[tariffs.a]\nclass = "household"\n'
     'period = "month"\nblocks = [{upper_m3 = 20, price = 2}, {upper_m3 = 10, price = 3}, '
     '{price = 6}]', "tier 2 ends at 10"),
    ('household_default = "a"\nnon_household_default = "a"\n[tariffs.a]\nclass = "household"\n'
     'period = "week"\nblocks = [{price = 2}]', "'week'"),
    ('household_default = "a"\nnon_household_default = "b"\n[tariffs.a]\nclass = "household"\n'
     'period = "month"\nblocks = [{price = 2}]', "no tariff 'b'"),
    ('household_default = "a"\nnon_household_default = "a"\n[tariffs.a]\nclass = "household"\n'
     'period = "month"\nblocks = [{upper_m3 = 10, price = 2}]', "last tier"),
    ('household_default = "a"\nnon_household_default = "a"\n[tariffs.a]\n'
     'class = "non_household"\nperiod = "month"\nbase_price = "3"', "'base_price' must be"),
])
def test_bad_tariff_books_are_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(TariffError, match=message):
        parse_tariff_book(text, "tariffs.toml")


def test_a_negative_volume_is_refused() -> None:
    with pytest.raises(TariffError, match="household-monthly"):
        MONTHLY.bill(-1.0)
    with pytest.raises(TariffError, match="no tariff 'nope'"):
        BOOK.get("nope")


def test_the_tariff_book_comes_from_the_configured_file(tmp_path: Path) -> None:
    from waterops.service.enterprise_service import configured_tariff_book, load_tariff_book

    path = tmp_path / "tariffs.toml"
    path.write_text(DEMO_TARIFF_TOML.replace("price = 6.00", "price = 7.50"), encoding="utf-8")
    book = configured_tariff_book({"WATEROPS_TARIFF_FILE": str(path)})
    # 25 m³: 30.00 + 21.00 + 3 × 7.50 + 10.00 + 23.75
    assert book.get("household-monthly").bill(25.0).total_yuan == pytest.approx(107.25)
    assert configured_tariff_book({}).get("household-monthly").bill(25.0).total_yuan == 102.75
    with pytest.raises(TariffError, match="cannot read the tariff book"):
        load_tariff_book(tmp_path / "missing.toml")
