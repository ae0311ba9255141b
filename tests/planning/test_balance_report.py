"""The report renders: HTML holds the numbers and plotly.js inline; PDF has pages."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from waterops.errors import BalanceInputError
from waterops.planning.balance_report import (
    render_balance_html,
    render_balance_pdf,
    write_balance_report,
)
from waterops.planning.water_balance import (
    BalanceInput,
    Infrastructure,
    Volume,
    WaterBalance,
    compute_water_balance,
)

INFRA = Infrastructure(mains_km=500, connections=25_000, pressure_m=50, mains_dn75_km=400,
                       household_metered_m3=30_000)


def monthly(months: int = 3) -> list[WaterBalance]:
    out = []
    for m in range(1, months + 1):
        end = date(2026, m + 1, 1).toordinal() - 1
        out.append(compute_water_balance(BalanceInput(
            scope="system", scope_id="city", system_id="city", period_start=date(2026, m, 1),
            period_end=date.fromordinal(end), system_input=Volume(100_000 + m * 1000, 0.02),
            billed_metered=Volume(75_000, 0.05), metering_inaccuracy=Volume(2_000, 0.3),
            infrastructure=INFRA)))
    out.append(compute_water_balance(BalanceInput(
        scope="dma", scope_id="DMA-07", system_id="city", period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31), system_input=Volume(9_000, 0.02),
        billed_metered=Volume(7_777, 0.05))))
    return out


def test_html_has_numbers_and_inline_plotly() -> None:
    balances = monthly()
    html = render_balance_html(balances)
    march = balances[2]
    assert f"{march.real_losses.m3:,.0f}" in html  # 103,000 - 75,000 - 2,000 = 26,000
    assert "26,000" in html
    assert "DMA-07" in html and "7,777" in html
    assert "2026-01" in html and "2026-03" in html
    assert "grade" in html
    assert march.iwa is not None and f"{march.iwa.ili:,.2f}" in html
    # no script is loaded from anywhere: plotly.js is inline
    assert not re.search(r"<script[^>]*\ssrc=", html)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is inside


def test_pdf_has_pages() -> None:
    pdf = render_balance_pdf(monthly())
    assert pdf.startswith(b"%PDF")
    # one trend page, two balance pages (city, DMA-07), one index page
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 4


def test_write_by_suffix(tmp_path: Path) -> None:
    assert write_balance_report(monthly(1), tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(BalanceInputError, match=r"use \.html or \.pdf"):
        write_balance_report(monthly(1), tmp_path / "r.docx")
    with pytest.raises(BalanceInputError, match="no balances"):
        render_balance_html([])


def test_dma_trend_chart_when_dmas_have_periods() -> None:
    balances = monthly()
    dma_feb = compute_water_balance(BalanceInput(
        scope="dma", scope_id="DMA-07", system_id="city", period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28), system_input=Volume(8_000, 0.02),
        billed_metered=Volume(7_000, 0.05)))
    html = render_balance_html([*balances, dma_feb])
    assert "DMAs: real losses" in html
    assert "DMAs: real losses" not in render_balance_html(balances)
