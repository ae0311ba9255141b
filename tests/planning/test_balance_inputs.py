"""Reading balance inputs: CSV and TOML give the same records; errors name file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterops.errors import BalanceInputError
from waterops.planning.balance_inputs import (
    parse_balance_csv,
    parse_balance_toml,
    read_balance_inputs,
)

CSV = (
    "scope,scope_id,system_id,period_start,period_end,system_input_m3,"
    "system_input_accuracy_pct,billed_metered_m3,unbilled_unmetered_m3,"
    "metering_inaccuracy_m3,mains_km,connections,pressure_m\n"
    """system,city,,2026-01-01,2026-12-31,1000000,2,700000,10000,20000,500,25000,50
dma,DMA-01,city,2026-01-01,2026-12-31,50000,1.5,40000,,,,,
""")

TOML = """
[[balance]]
scope = "system"
scope_id = "city"
period_start = 2026-01-01
period_end = 2026-12-31
system_input_m3 = 1000000
system_input_accuracy_pct = 2
billed_metered_m3 = 700000
unbilled_unmetered_m3 = 10000
metering_inaccuracy_m3 = 20000
mains_km = 500
connections = 25000
pressure_m = 50

[[balance]]
scope = "dma"
scope_id = "DMA-01"
system_id = "city"
period_start = "2026-01-01"
period_end = "2026-12-31"
system_input_m3 = 50000
system_input_accuracy_pct = 1.5
billed_metered_m3 = 40000
"""


def test_csv_and_toml_agree(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text(CSV)
    (tmp_path / "b.toml").write_text(TOML)
    from_csv = read_balance_inputs(tmp_path / "b.csv")
    from_toml = read_balance_inputs(tmp_path / "b.toml")
    strip = [(r.scope, r.scope_id, r.system_id, r.period_start, r.period_end, r.system_input,
              r.billed_metered, r.unbilled_unmetered, r.metering_inaccuracy, r.infrastructure)
             for r in from_csv]
    assert strip == [(r.scope, r.scope_id, r.system_id, r.period_start, r.period_end,
                      r.system_input, r.billed_metered, r.unbilled_unmetered,
                      r.metering_inaccuracy, r.infrastructure) for r in from_toml]
    city, dma = from_csv
    assert city.system_id == "city" and city.system_input.accuracy == pytest.approx(0.02)
    assert city.billed_metered.accuracy == pytest.approx(0.05)  # default
    assert city.infrastructure.connections == 25_000
    assert dma.infrastructure.mains_km is None
    assert dma.source.endswith("b.csv:3")


@pytest.mark.parametrize(("text", "message"), [
    (CSV.replace("pressure_m\n", "pressure_bar\n"), r"b\.csv:1: unknown key\(s\) pressure_bar"),
    (CSV.replace(",billed_metered_m3,", ",billed_m3,"), "unknown key"),
    (CSV.replace("1000000", "lots"), r"b\.csv:2: system_input_m3 must be a number"),
    (CSV.replace("2026-12-31,50000", "31/12/2026,50000"), r"b\.csv:3: period_end must be an ISO"),
    (CSV.replace("dma,DMA-01,city", "dma,DMA-01,"), r"b\.csv:3: system_id is needed"),
    (CSV + CSV.splitlines()[1] + "\n", r"b\.csv:4: system city 2026 appears twice"),
    (CSV.replace(",50\n", ",-50\n"), "pressure_m must be a finite number >= 0"),
    (CSV.splitlines()[0] + "\n", "no records"),
])
def test_csv_errors_name_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.csv"
    path.write_text(text)
    with pytest.raises(BalanceInputError, match=message):
        read_balance_inputs(path)


def test_toml_errors() -> None:
    with pytest.raises(BalanceInputError, match=r"\[\[balance\]\] #2: missing key\(s\) scope_id"):
        parse_balance_toml(TOML.replace('scope_id = "DMA-01"', ""), "b.toml")
    with pytest.raises(BalanceInputError, match="not valid TOML"):
        parse_balance_toml("[[balance]\n", "b.toml")
    with pytest.raises(BalanceInputError, match="expected one or more"):
        parse_balance_toml("x = 1\n", "b.toml")


def test_unknown_file_type_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BalanceInputError, match=r"use \.csv or \.toml"):
        read_balance_inputs(tmp_path / "b.xlsx")
    with pytest.raises(BalanceInputError, match="cannot read"):
        read_balance_inputs(tmp_path / "missing.csv")
    with pytest.raises(BalanceInputError, match="empty file"):
        parse_balance_csv("", "b.csv")


def test_the_documented_example_reads_and_balances() -> None:
    from waterops.planning.water_balance import compute_water_balance

    example = Path(__file__).parents[2] / "docs" / "examples" / "water-balance.csv"
    balances = [compute_water_balance(r) for r in read_balance_inputs(example)]
    assert len(balances) == 5
    nov = balances[2]
    # 2,980,000 - (2,290,000 + 14,000 + 11,000 + 17,000) - (9,000 + 60,000) = 579,000 m³
    assert nov.real_losses.m3 == 579_000
    assert nov.iwa is not None and nov.cjj92 is not None
