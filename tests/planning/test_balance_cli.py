"""``waterops balance compute|report|night-flow``: output, files and one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from waterops.cli.main import main

INPUT = """scope,scope_id,system_id,period_start,period_end,system_input_m3,billed_metered_m3,metering_inaccuracy_m3,mains_km,connections,pressure_m
system,city,,2026-01-01,2026-12-31,1000000,700000,25000,500,25000,50
dma,DMA-01,city,2026-01-01,2026-12-31,73000,62050,,,,
"""  # noqa: E501


@pytest.fixture
def balance_csv(tmp_path: Path) -> Path:
    path = tmp_path / "balance.csv"
    path.write_text(INPUT, encoding="utf-8")
    return path


def test_compute_prints_and_writes(balance_csv: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "table.csv"
    assert main(["balance", "compute", "--input", str(balance_csv), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # real losses 1,000,000 - 700,000 - 25,000 = 275,000 m³/year = 753 m³/day
    assert "753" in text and "DMA-01" in text and "30.0 %" in text
    rows = list(csv.DictReader(out.open()))
    assert [r["scope_id"] for r in rows] == ["city", "DMA-01"]
    assert float(rows[0]["real_losses_m3"]) == 275_000
    # ILI = 275,000,000 L / 365 d / 1,450,000 L/d
    assert float(rows[0]["ili"]) == pytest.approx(275e6 / 365 / 1.45e6)
    assert main(["balance", "compute", "--input", str(balance_csv), "--scope", "dma"]) == 0
    assert "city" not in capsys.readouterr().out.split("DMA-01")[1]


def test_report_html_and_pdf(balance_csv: Path, tmp_path: Path) -> None:
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    assert main(["balance", "report", "--input", str(balance_csv), "--out", str(html)]) == 0
    assert "275,000" in html.read_text(encoding="utf-8")
    assert main(["balance", "report", "--input", str(balance_csv), "--out", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_errors_are_one_line(balance_csv: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(INPUT.replace("73000", "-3"), encoding="utf-8")
    assert main(["balance", "compute", "--input", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"waterops: error: {bad}:3: system_input_m3") and "\n" not in err
    assert main(["balance", "report", "--input", str(balance_csv), "--out",
                 str(tmp_path / "r.docx")]) == 2
    assert "use a .html or .pdf" in capsys.readouterr().err
    assert not (tmp_path / "r.docx").exists()


def test_night_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    times = pd.date_range("2026-11-01", periods=96, freq="15min", tz="Asia/Shanghai")
    hour = times.hour.to_numpy()
    flow_ls = 2.0 + 5.0 + 8.0 * (1 - np.cos(2 * np.pi * (hour - 3) / 24))  # min 7 L/s at 03:00
    (tmp_path / "in.csv").write_text(
        "time,flow_ls\n" + "".join(f"{t.isoformat()},{f}\n" for t, f in zip(times, flow_ls,
                                                                          strict=True)))
    out = tmp_path / "nights.csv"
    # 4,235 households x 1.7 L/h = 7,199.5 L/h = 2.0 L/s legitimate night use
    assert main(["balance", "night-flow", "--inflow", str(tmp_path / "in.csv"),
                 "--households", "4235", "--out", str(out)]) == 0
    night = pd.read_csv(out).iloc[0]
    assert night["mnf_m3s"] == pytest.approx(0.007)
    assert night["net_night_flow_m3s"] == pytest.approx(0.007 - 4235 * 1.7 / 3.6e6)
    assert night["leakage_m3_per_day"] == pytest.approx(night["net_night_flow_m3s"] * 86_400)
    (tmp_path / "bad.csv").write_text("time,flow\n2026-11-01T00:00+08:00,1\n")
    assert main(["balance", "night-flow", "--inflow", str(tmp_path / "bad.csv"),
                 "--households", "1"]) == 2
    assert "missing column(s) flow_ls" in capsys.readouterr().err
