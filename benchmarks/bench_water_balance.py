"""Water balance, night-flow analysis, report and dose models against raw numpy/pandas work.

Run: ``.venv/bin/python -m benchmarks.bench_water_balance [--scopes 14] [--months 60]
[--repeat 5]``

Timed, interleaved in the same process, median of ``repeat``:

- **balance**: raw = the balance arithmetic (losses, real losses, 95 % limits) on numpy arrays
  of all records at once; ours = :func:`read_balance_inputs` of the CSV plus
  :func:`compute_water_balance` per record (checks, IWA and CJJ 92 indices, warnings);
- **report**: ours = the HTML report (plotly.js inline) and the PDF report of all balances,
  against the raw balance arithmetic again (what a bare table would cost);
- **night flow**: raw = pandas hourly resample and the minimum per local night of a year of
  15-minute inflow; ours = :func:`night_flow_analysis` with the pressure series (NDF per day);
- **dose models**: raw = one ``numpy.linalg.lstsq`` on the coagulant design matrix of two
  years every 6 hours; ours = :meth:`DoseAdvisor.fit` (checks, both models, intervals) and
  :func:`validate_dose_model` of both doses.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from waterops.detection.treatment import (
    DoseAdvisor,
    synthetic_plant_history,
    validate_dose_model,
)
from waterops.planning.balance_inputs import read_balance_inputs
from waterops.planning.balance_report import render_balance_html, render_balance_pdf
from waterops.planning.night_flow import night_flow_analysis
from waterops.planning.water_balance import compute_water_balance


def _median_s(task: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        task()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _balance_csv(path: Path, scopes: int, months: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for s in range(scopes):
        scope = "system" if s == 0 else "dma"
        for m in range(months):
            year, month = 2022 + m // 12, m % 12 + 1
            start = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
            siv = rng.uniform(8e4, 1.2e5) * (10 if s == 0 else 1)
            rows.append({"scope": scope, "scope_id": "city" if s == 0 else f"DMA-{s:02d}",
                         "system_id": "city", "period_start": start.isoformat(),
                         "period_end": date.fromordinal(end).isoformat(),
                         "system_input_m3": siv, "billed_metered_m3": siv * 0.78,
                         "unbilled_unmetered_m3": siv * 0.01,
                         "metering_inaccuracy_m3": siv * 0.02,
                         "mains_km": 500 if s == 0 else 40, "connections": 25_000 if s == 0
                         else 1_900, "pressure_m": 45})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def _raw_balance(frame: pd.DataFrame) -> np.ndarray:
    siv = frame["system_input_m3"].to_numpy()
    bm = frame["billed_metered_m3"].to_numpy()
    uu = frame["unbilled_unmetered_m3"].to_numpy()
    mi = frame["metering_inaccuracy_m3"].to_numpy()
    real = siv - bm - uu - mi
    half = np.sqrt((0.02 * siv) ** 2 + (0.05 * bm) ** 2 + (0.3 * uu) ** 2 + (0.3 * mi) ** 2)
    return np.column_stack([real, half])


def _night_series(days: int) -> tuple[pd.Series, pd.Series]:
    index = pd.date_range("2026-01-01", periods=days * 96, freq="15min", tz="Asia/Shanghai")
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    phase = 2 * np.pi * (hour - 3) / 24
    rng = np.random.default_rng(5)
    pressure = 40 + 10 * np.cos(phase) + rng.normal(0, 0.3, len(index))
    inflow = 0.001 + 0.01 * (1 - np.cos(phase)) + 0.005 * pressure / 50 \
        + rng.normal(0, 2e-4, len(index))
    utc = index.tz_convert("UTC")
    return pd.Series(inflow, utc), pd.Series(pressure, utc)


def _raw_night(inflow: pd.Series) -> pd.Series:
    hourly = inflow.tz_convert("Asia/Shanghai").resample("1h").mean()
    night = hourly[hourly.index.hour < 5]
    return night.groupby(night.index.date).min()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=14)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "balance.csv"
        frame = _balance_csv(path, args.scopes, args.months)
        balances = [compute_water_balance(r) for r in read_balance_inputs(path)]
        inflow, pressure = _night_series(args.days)
        history = synthetic_plant_history()
        x = np.column_stack([np.ones(len(history)), np.log(history["turbidity_ntu"]),
                             history["temperature_c"], history["codmn_mg_l"],
                             history["ammonia_mg_l"]])
        y = np.log(history["coagulant_mg_l"].to_numpy())
        tasks: dict[str, Callable[[], object]] = {
            "raw balance arithmetic (numpy, all records)": lambda: _raw_balance(frame),
            "read CSV + compute_water_balance": lambda: [
                compute_water_balance(r) for r in read_balance_inputs(path)],
            "HTML report": lambda: render_balance_html(balances),
            "PDF report": lambda: render_balance_pdf(balances),
            "raw night minimum (pandas resample + groupby)": lambda: _raw_night(inflow),
            "night_flow_analysis (MNF, NNF, NDF)": lambda: night_flow_analysis(
                inflow, households=1900, non_households=40, pressure_m=pressure),
            "raw lstsq (coagulant design)": lambda: np.linalg.lstsq(x, y, rcond=None),
            "DoseAdvisor.fit (both models)": lambda: DoseAdvisor.fit(history),
            "validate_dose_model (both doses)": lambda: [
                validate_dose_model(history, t) for t in ("coagulant_mg_l", "ozone_mg_l")],
        }
        results = {name: [] for name in tasks}  # type: dict[str, list[float]]
        for _ in range(args.repeat):  # interleaved: each round runs every task once
            for name, task in tasks.items():
                results[name].append(_median_s(task, 1))
    medians = {name: statistics.median(v) for name, v in results.items()}
    raw_of = {"read CSV + compute_water_balance": "raw balance arithmetic (numpy, all records)",
              "HTML report": "raw balance arithmetic (numpy, all records)",
              "PDF report": "raw balance arithmetic (numpy, all records)",
              "night_flow_analysis (MNF, NNF, NDF)":
                  "raw night minimum (pandas resample + groupby)",
              "DoseAdvisor.fit (both models)": "raw lstsq (coagulant design)",
              "validate_dose_model (both doses)": "raw lstsq (coagulant design)"}
    print(f"{len(balances)} balances ({args.scopes} scopes x {args.months} months), "
          f"{args.days} days of 15-min night flow, {len(history)} plant records; "
          f"{platform.machine()}, Python {platform.python_version()}, median of "
          f"{args.repeat}")
    print("| task | seconds | × raw |\n| --- | ---: | ---: |")
    for name, seconds in medians.items():
        base = raw_of.get(name)
        ratio = 1.0 if base is None else seconds / medians[base]
        print(f"| {name} | {seconds:.4f} | {ratio:,.1f} |")


if __name__ == "__main__":
    main()
