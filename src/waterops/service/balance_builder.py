"""Build water-balance inputs from what the utility measures: DMA inflows from the telemetry
store, mains lengths from the network model, customers from the layout, billed volumes from
the billing system's export.

- **System input of a DMA**: its boundary meters ``Q-<link>`` (hourly means from the store,
  Σ sign x flow, :class:`waterops.model.utility.MeteredInlet`) integrated over the period;
  hours where a boundary meter has no reading are filled at the period's mean rate, and a
  period with less than :data:`MIN_COVERAGE` of its hours measured is refused.
- **System input of a system**: the billing row's ``system_input_m3`` (the production meters'
  report) when given, else the sum of its DMAs' inputs (junctions outside every DMA are then
  not counted: say so when reporting).
- **Infrastructure of a DMA**, unless the billing row gives it: mains length = pipes with both
  ends in the DMA, plus half of each boundary pipe [km]; DN 75+ likewise; connections =
  customer accounts at its junctions in the layout; average pressure = mean of the DMA's
  inlet pressure logger over the period (a stand-in for the average zone point).
- **Billed and unbilled volumes, apparent-loss estimates**: the billing CSV, one row per
  system or DMA and period, with the keys of :mod:`waterops.planning.balance_inputs` except
  ``system_input_m3`` for DMAs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from waterops.errors import BalanceInputError, UnknownSensorError
from waterops.model.network import Network
from waterops.model.utility import CustomerKind, Dma, UtilityLayout
from waterops.planning.balance_inputs import parse_balance_record
from waterops.planning.night_flow import NightFlowAnalysis, night_flow_analysis
from waterops.planning.water_balance import VOLUME_FIELDS, BalanceInput, Infrastructure
from waterops.store.telemetry_store import TelemetryStore

MIN_COVERAGE = 0.9
"""Share of a period's hours that must be measured at every boundary meter of a DMA."""
HOUR_S = 3600


def _period_bounds(start: date, end: date, utc_offset_s: int) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting ``start`` and ending ``end`` (included)."""
    offset = timedelta(seconds=utc_offset_s)
    first = datetime.combine(start, time(0), tzinfo=UTC) - offset
    last = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC) - offset
    return first, last


def dma_inflow_m3s(store: TelemetryStore, dma: Dma, start: datetime, end: datetime
                   ) -> pd.Series:
    """Hourly net inflow of a DMA [m³/s] (hours where every boundary meter has a reading)."""
    total: pd.Series | None = None
    for inlet in dma.inlets:
        sensor_id = f"Q-{inlet.link_id}"
        try:
            hourly = store.resample(sensor_id, start, end, HOUR_S)
        except UnknownSensorError:
            raise BalanceInputError(f"DMA {dma.id}", f"boundary meter {sensor_id} is not "
                                                     f"registered in the store") from None
        flow = pd.Series(inlet.sign * hourly["mean"].to_numpy(dtype=float),
                         index=pd.DatetimeIndex(hourly["time"]))
        total = flow if total is None else total.add(flow, fill_value=np.nan).dropna()
    return pd.Series(dtype=float) if total is None else total.dropna()


def dma_system_input_m3(store: TelemetryStore, dma: Dma, start: datetime, end: datetime,
                        *, min_coverage: float = MIN_COVERAGE) -> tuple[float, float]:
    """(volume [m³], share of hours measured) of a DMA's inflow over [start, end)."""
    inflow = dma_inflow_m3s(store, dma, start, end)
    hours = (end - start).total_seconds() / HOUR_S
    coverage = len(inflow) / hours if hours > 0 else 0.0
    if coverage < min_coverage:
        raise BalanceInputError(
            f"DMA {dma.id}", f"boundary meters measured {coverage:.0%} of the hours from "
                             f"{start.isoformat()} to {end.isoformat()}; at least "
                             f"{min_coverage:.0%} needed")
    return float(inflow.mean()) * hours * HOUR_S, coverage


def dma_infrastructure(net: Network, layout: UtilityLayout, dma: Dma) -> dict[str, float]:
    """Mains km, DN75+ km and connections of a DMA from the network and layout."""
    members = set(dma.junctions)
    pipes = net.pipes
    inside = pipes["node1"].isin(members).to_numpy().astype(float) + \
        pipes["node2"].isin(members).to_numpy().astype(float)
    weight = inside / 2.0  # 1 inside, 0.5 on the boundary
    length_km = pipes["length_m"].to_numpy(dtype=float) / 1000.0
    dn75 = pipes["diameter_m"].to_numpy(dtype=float) >= 0.075 - 1e-9
    connections = sum(1 for c in layout.customers if c.node in members)
    return {"mains_km": float((weight * length_km).sum()),
            "mains_dn75_km": float((weight * length_km * dn75).sum()),
            "connections": float(connections)}


def _mean_pressure_m(store: TelemetryStore, dma: Dma, start: datetime, end: datetime
                     ) -> float | None:
    try:
        hourly = store.resample(f"P-{dma.pressure_node}", start, end, HOUR_S)
    except UnknownSensorError:
        return None
    return float(hourly["mean"].mean()) if not hourly.empty else None


def balance_inputs_from_store(store: TelemetryStore, layout: UtilityLayout, net: Network,
                              billing_csv: str | Path, *, utc_offset_s: int = 8 * 3600,
                              min_coverage: float = MIN_COVERAGE) -> list[BalanceInput]:
    """Balance inputs for every row of the billing CSV, measured parts from the store.

    Periods are local days (``utc_offset_s``, Asia/Shanghai by default)."""
    path = Path(billing_csv)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BalanceInputError(path, f"cannot read: {exc.strerror or exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    dmas = {d.id: d for d in layout.dmas}
    rows: list[tuple[str, dict[str, str]]] = []
    for row in reader:
        values = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
        rows.append((f"{path}:{reader.line_num}", values))
    if not rows:
        raise BalanceInputError(path, "no billing rows")
    dma_inputs: dict[tuple[str, str, str], float] = {}
    out: list[BalanceInput] = []
    for where, values in rows:
        if values.get("scope") != "dma":
            continue
        dma = dmas.get(values.get("scope_id", ""))
        if dma is None:
            raise BalanceInputError(where, f"unknown DMA {values.get('scope_id')!r}; the "
                                           f"layout has {', '.join(sorted(dmas))}")
        values.setdefault("system_id", dma.system_id)
        try:
            start, end = _period_bounds(date.fromisoformat(values["period_start"]),
                                        date.fromisoformat(values["period_end"]), utc_offset_s)
        except (KeyError, ValueError):
            raise BalanceInputError(where, "period_start and period_end must be ISO dates "
                                           "(YYYY-MM-DD)") from None
        if "system_input_m3" not in values:
            volume, _ = dma_system_input_m3(store, dma, start, end, min_coverage=min_coverage)
            values["system_input_m3"] = repr(volume)
        key = (values["system_id"], values["period_start"], values["period_end"])
        dma_inputs[key] = dma_inputs.get(key, 0.0) + float(values["system_input_m3"])
        for name, value in dma_infrastructure(net, layout, dma).items():
            values.setdefault(name, repr(value))
        if "pressure_m" not in values:
            pressure = _mean_pressure_m(store, dma, start, end)
            if pressure is not None:
                values["pressure_m"] = repr(pressure)
        out.append(parse_balance_record(values, where))
    for where, values in rows:
        if values.get("scope") == "dma":
            continue
        if "system_input_m3" not in values:
            system_key = (values.get("scope_id", ""), values.get("period_start", ""),
                          values.get("period_end", ""))
            if system_key not in dma_inputs:
                raise BalanceInputError(where, "no system_input_m3 and no DMA rows of this "
                                               "system and period to sum")
            values["system_input_m3"] = repr(dma_inputs[system_key])
        out.append(parse_balance_record(values, where))
    return out


def balance_input_table(inputs: Sequence[BalanceInput]) -> pd.DataFrame:
    """Inputs as a balance-input table (the CSV columns of
    :mod:`waterops.planning.balance_inputs`)."""
    rows = []
    for r in inputs:
        row: dict[str, object] = {"scope": r.scope, "scope_id": r.scope_id,
                                  "system_id": r.system_id,
                                  "period_start": r.period_start.isoformat(),
                                  "period_end": r.period_end.isoformat()}
        for name in VOLUME_FIELDS:
            volume = getattr(r, name)
            row[f"{name}_m3"] = volume.m3
            row[f"{name}_accuracy_pct"] = round(100 * volume.accuracy, 6)
        for f in fields(Infrastructure):
            value = getattr(r.infrastructure, f.name)
            row[f.name] = "" if value is None else value
        rows.append(row)
    return pd.DataFrame(rows)


def write_balance_inputs(inputs: Sequence[BalanceInput], path: str | Path) -> Path:
    """Write inputs as a balance CSV that :func:`read_balance_inputs` reads back."""
    path = Path(path)
    balance_input_table(inputs).to_csv(path, index=False)
    return path


def dma_night_flow(store: TelemetryStore, layout: UtilityLayout, dma_id: str,
                   start: datetime, end: datetime,
                   analysis: NightFlowAnalysis | None = None) -> pd.DataFrame:
    """Night-flow analysis of a DMA from the store: hourly net inflow of its boundary meters,
    its inlet pressure logger as the pressure series, households and enterprises counted from
    the layout's customer accounts at its junctions (the demo layout models up to three
    household accounts per junction: the legitimate night use is then a lower bound)."""
    dmas = {d.id: d for d in layout.dmas}
    if dma_id not in dmas:
        raise BalanceInputError(f"DMA {dma_id}", f"unknown DMA; the layout has "
                                                 f"{', '.join(sorted(dmas))}")
    dma = dmas[dma_id]
    members = set(dma.junctions)
    households = sum(1 for c in layout.customers
                     if c.node in members and c.kind is CustomerKind.HOUSEHOLD)
    others = sum(1 for c in layout.customers
                 if c.node in members and c.kind is not CustomerKind.HOUSEHOLD)
    inflow = dma_inflow_m3s(store, dma, start, end)
    if inflow.empty:
        raise BalanceInputError(f"DMA {dma_id}", f"no boundary-meter readings from "
                                                 f"{start.isoformat()} to {end.isoformat()}")
    pressure: pd.Series | None = None
    try:
        hourly = store.resample(f"P-{dma.pressure_node}", start, end, HOUR_S)
        if not hourly.empty:
            pressure = pd.Series(hourly["mean"].to_numpy(dtype=float),
                                 index=pd.DatetimeIndex(hourly["time"]))
    except UnknownSensorError:
        pressure = None
    return night_flow_analysis(_aware(inflow), households=households, non_households=others,
                               pressure_m=None if pressure is None else _aware(pressure),
                               analysis=analysis or NightFlowAnalysis())


def _aware(series: pd.Series) -> pd.Series:
    index = pd.DatetimeIndex(series.index)
    return series.set_axis(index.tz_localize("UTC") if index.tz is None else index)
