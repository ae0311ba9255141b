"""The water-balance report: trends, the IWA balance table and the leakage indices, as a
self-contained HTML page (plotly.js inline from the installed ``plotly`` package, no CDN) or a
PDF (matplotlib).

Contents: per system, the trend of NRW and real losses (with 95 % limits), ILI and the CJJ
92-2016 leakage rate over the periods given; the IWA balance of the latest period of each
system and DMA; a table of every period's indices; the warnings of the balance; and, when
given, the night-flow leakage of each DMA.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from waterops.errors import BalanceInputError
from waterops.planning.water_balance import WaterBalance, balance_table

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warn { color: #a40; }
.note { color: #555; font-size: 0.85em; }
</style>
<script type="text/javascript">{{ plotly_js | safe }}</script>
</head><body>
<h1>{{ title }}</h1>
<p class="note">Generated {{ generated }}. IWA standard water balance (Alegre et al. 2006; AWWA M36,
4th ed.) with 95 % limits by the variance method; UARL/ILI after Lambert et al. (1999);
leakage rate and grade after CJJ 92-2016 §5.2 (2018 partial revision; check the coefficients
against the printed standard before reporting to a regulator).</p>
{% for figure in figures %}{{ figure | safe }}{% endfor %}
<h2>Water balance, latest period (水量平衡)</h2>
{% for b in latest %}
<h3>{{ b.scope }} {{ b.scope_id }} — {{ b.period }} ({{ b.days }} days)</h3>
<table><tr><th>component</th><th>volume [m³]</th><th>± 95 % [m³]</th><th>share of input</th></tr>
{% for row in b.rows %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td>
<td>{{ row[3] }}</td></tr>
{% endfor %}</table>
{% for w in b.warnings %}<p class="warn">⚠ {{ w }}</p>{% endfor %}
{% endfor %}
<h2>Indices by period (漏损指标)</h2>
<table><tr>{% for h in index_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in index_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if night %}<h2>Night-flow leakage by DMA (夜间最小流量)</h2>
<table><tr>{% for h in night_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in night %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
</body></html>
"""

_LABELS = (
    ("system_input", "System input volume (供水总量)"),
    ("authorised", "Authorised consumption (注册用户用水量)"),
    ("billed_authorised", "  billed authorised = revenue water (计费用水量)"),
    ("unbilled_authorised", "  unbilled authorised (免费用水量)"),
    ("water_losses", "Water losses (漏损水量)"),
    ("apparent_losses", "  apparent losses (表观漏损)"),
    ("real_losses", "  real losses (漏失水量)"),
    ("non_revenue_water", "Non-revenue water (产销差水量)"),
)
_INDEX_HEADER = ("scope", "id", "period", "NRW %", "real losses m³/d", "± 95 % m³/d",
                 "ILI", "L/conn/d", "R_WL %", "R_n %", "R_BL %", "CJJ 92 grade")
_NIGHT_HEADER = ("DMA", "nights", "mean MNF L/s", "legitimate night use L/s",
                 "mean net night flow L/s", "mean NDF h", "mean leakage m³/d")


def _fmt(value: float, digits: int = 0) -> str:
    return "–" if math.isnan(value) else f"{value:,.{digits}f}"


def _check(balances: Sequence[WaterBalance]) -> pd.DataFrame:
    if not balances:
        raise BalanceInputError("report", "no balances to report")
    return balance_table(list(balances))


def _latest(balances: Sequence[WaterBalance]) -> list[WaterBalance]:
    newest: dict[tuple[str, str], WaterBalance] = {}
    for b in balances:
        key = (b.input.scope, b.input.scope_id)
        if key not in newest or b.input.period_end > newest[key].input.period_end:
            newest[key] = b
    return sorted(newest.values(), key=lambda b: (b.input.scope != "system", b.input.scope_id))


def _balance_rows(b: WaterBalance) -> list[tuple[str, str, str, str]]:
    siv = b.system_input.m3
    rows = []
    for name, label in _LABELS:
        c = getattr(b, name)
        rows.append((label, _fmt(c.m3), _fmt(c.ci95_m3), f"{100 * c.m3 / siv:.1f} %"))
    return rows


def _index_rows(balances: Sequence[WaterBalance]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    order = {"system": 0, "dma": 1}
    for b in sorted(balances, key=lambda b: (order[b.input.scope], b.input.scope_id,
                                             b.input.period_start)):
        days = float(b.input.period_days)
        iwa, cjj = b.iwa, b.cjj92
        nan = math.nan
        rows.append((b.input.scope, b.input.scope_id, b.input.period, _fmt(100 * b.nrw_ratio, 1),
                     _fmt(b.real_losses.m3 / days), _fmt(b.real_losses.ci95_m3 / days),
                     _fmt(iwa.ili if iwa else nan, 2),
                     _fmt(iwa.real_losses_l_conn_d if iwa else nan, 0),
                     _fmt(100 * cjj.overall_loss_rate if cjj else nan, 2),
                     _fmt(100 * cjj.correction if cjj else nan, 2),
                     _fmt(100 * cjj.leakage_rate if cjj else nan, 2),
                     cjj.grade.value if cjj else "–"))
    return rows


def _night_rows(night_flows: Mapping[str, pd.DataFrame]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for dma, frame in sorted(night_flows.items()):
        if frame.empty:
            continue
        rows.append((dma, str(len(frame)), _fmt(1000 * frame["mnf_m3s"].mean(), 2),
                     _fmt(1000 * frame["legitimate_night_use_m3s"].mean(), 2),
                     _fmt(1000 * frame["net_night_flow_m3s"].mean(), 2),
                     _fmt(frame["night_day_factor_h"].mean(), 1),
                     _fmt(frame["leakage_m3_per_day"].mean(), 0)))
    return rows


def _trend_frames(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    systems = table[table["scope"] == "system"]
    return [(str(sid), g.sort_values("period_start")) for sid, g in systems.groupby("scope_id")]


def _plotly_figures(table: pd.DataFrame) -> list[str]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    html = []
    for sid, g in _trend_frames(table):
        days = g["period_days"].astype(float)
        fig = make_subplots(rows=1, cols=3, subplot_titles=(
            "NRW and real losses [% of input]", "Real losses [m³/day] ± 95 %",
            "ILI and CJJ 92 leakage rate"))
        x = list(g["period"])
        fig.add_trace(go.Scatter(x=x, y=100 * g["nrw_ratio"], name="NRW %"), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=100 * g["real_loss_ratio"], name="real losses %"), 1, 1)
        fig.add_trace(go.Bar(x=x, y=g["real_losses_m3"] / days, name="real losses m³/d",
                             error_y={"type": "data",
                                      "array": list(g["real_losses_ci95_m3"] / days)}), 1, 2)
        fig.add_trace(go.Scatter(x=x, y=g["ili"], name="ILI"), 1, 3)
        fig.add_trace(go.Scatter(x=x, y=100 * g["cjj92_leakage_rate"], name="R_BL %"), 1, 3)
        fig.update_layout(title=f"System {sid}: trends", height=380)
        html.append(fig.to_html(full_html=False, include_plotlyjs=False))
    dmas = table[table["scope"] == "dma"]
    if not dmas.empty and dmas["period"].nunique() > 1:
        fig = go.Figure()
        for dma_id, g in dmas.groupby("scope_id"):
            g = g.sort_values("period_start")
            fig.add_trace(go.Scatter(x=list(g["period"]), y=100 * g["real_loss_ratio"],
                                     name=str(dma_id), mode="lines+markers"))
        fig.update_layout(title="DMAs: real losses [% of system input]", height=380)
        html.append(fig.to_html(full_html=False, include_plotlyjs=False))
    return html


def render_balance_html(balances: Sequence[WaterBalance], *, title: str = "Water balance report",
                        night_flows: Mapping[str, pd.DataFrame] | None = None,
                        generated_at: datetime | None = None) -> str:
    """The report as one self-contained HTML page."""
    import jinja2
    from plotly.offline import get_plotlyjs

    table = _check(balances)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    latest = [{"scope": b.input.scope, "scope_id": b.input.scope_id, "period": b.input.period,
               "days": b.input.period_days, "rows": _balance_rows(b), "warnings": b.warnings}
              for b in _latest(balances)]
    return env.from_string(_TEMPLATE).render(
        title=title, generated=(generated_at or datetime.now(UTC)).isoformat(timespec="minutes"),
        plotly_js=get_plotlyjs(), figures=_plotly_figures(table), latest=latest,
        index_header=_INDEX_HEADER, index_rows=_index_rows(balances),
        night_header=_NIGHT_HEADER, night=_night_rows(night_flows or {}))


def render_balance_pdf(balances: Sequence[WaterBalance], *, title: str = "Water balance report",
                       night_flows: Mapping[str, pd.DataFrame] | None = None,
                       generated_at: datetime | None = None) -> bytes:
    """The report as PDF bytes: a trend page per system, then balance and index tables."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    table = _check(balances)
    buffer = io.BytesIO()
    stamp = (generated_at or datetime.now(UTC)).isoformat(timespec="minutes")
    with PdfPages(buffer, metadata={"Title": title, "Creator": "waterops"}) as pdf:
        for sid, g in _trend_frames(table):
            fig = Figure(figsize=(11.7, 8.3))
            fig.suptitle(f"{title} — system {sid} (generated {stamp})")
            axes = fig.subplots(2, 2)
            x = list(g["period"])
            days = g["period_days"].astype(float)
            axes[0, 0].plot(x, 100 * g["nrw_ratio"], marker="o", label="NRW")
            axes[0, 0].plot(x, 100 * g["real_loss_ratio"], marker="o", label="real losses")
            axes[0, 0].set_ylabel("% of system input")
            axes[0, 0].legend()
            axes[0, 1].bar(x, g["real_losses_m3"] / days, yerr=g["real_losses_ci95_m3"] / days,
                           capsize=4)
            axes[0, 1].set_ylabel("real losses [m³/day] ± 95 %")
            axes[1, 0].plot(x, g["ili"], marker="o")
            axes[1, 0].set_ylabel("ILI [-]")
            axes[1, 1].plot(x, 100 * g["cjj92_leakage_rate"], marker="o")
            axes[1, 1].axhline(10, color="green", linestyle="--", label="grade 1 (10 %)")
            axes[1, 1].axhline(12, color="orange", linestyle="--", label="grade 2 (12 %)")
            axes[1, 1].set_ylabel("CJJ 92 leakage rate R_BL [%]")
            axes[1, 1].legend()
            for ax in axes.flat:
                ax.tick_params(axis="x", labelrotation=45)
            fig.tight_layout()
            pdf.savefig(fig)
        for b in _latest(balances):
            _table_page(pdf, f"IWA water balance: {b.input.scope} {b.input.scope_id}, "
                             f"{b.input.period}",
                        ("component", "volume [m³]", "± 95 % [m³]", "share of input"),
                        [(label.split(" (")[0], *rest) for label, *rest in _balance_rows(b)],
                        b.warnings)
        _table_page(pdf, "Indices by period", _INDEX_HEADER, _index_rows(balances), ())
        night = _night_rows(night_flows or {})
        if night:
            _table_page(pdf, "Night-flow leakage by DMA", _NIGHT_HEADER, night, ())
    return buffer.getvalue()


def _table_page(pdf: object, heading: str, header: Sequence[str],
                rows: Sequence[Sequence[str]], notes: Sequence[str]) -> None:
    """Pages of a table drawn as monospaced text (matplotlib's ``table`` artist takes seconds
    per page; text takes milliseconds)."""
    import matplotlib
    from matplotlib.figure import Figure

    per_page = 45
    widths = [max(len(str(cell)) for cell in column)
              for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if k < 3 else str(c).rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths, strict=True)))

    # the PDF's own Courier (no glyphs to lay out and embed): three times faster
    with matplotlib.rc_context({"pdf.use14corefonts": True, "font.family": "monospace",
                                "font.monospace": ["Courier"], "font.weight": "medium"}):
        for start in range(0, max(len(rows), 1), per_page):
            fig = Figure(figsize=(11.7, 8.3))
            fig.text(0.04, 0.95, heading if start == 0 else f"{heading} (continued)",
                     fontsize=12)
            chunk = [line(r) for r in rows[start:start + per_page]]
            text = "\n".join([line(header), "-" * len(line(header)), *chunk])
            fig.text(0.04, 0.92, text.replace("–", "-"), fontsize=7, va="top")
            if notes and start == 0:
                fig.text(0.04, 0.04, "\n".join(f"warning: {n}" for n in notes), fontsize=8,
                         color="#a40", va="bottom")
            pdf.savefig(fig)  # type: ignore[attr-defined]


def write_balance_report(balances: Sequence[WaterBalance], path: str | Path, *,
                         title: str = "Water balance report",
                         night_flows: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write the report to ``path``: ``.html`` or ``.pdf`` by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".html":
        path.write_text(render_balance_html(balances, title=title, night_flows=night_flows),
                        encoding="utf-8")
    elif suffix == ".pdf":
        path.write_bytes(render_balance_pdf(balances, title=title, night_flows=night_flows))
    else:
        raise BalanceInputError(path, f"unknown report type {suffix!r}: use .html or .pdf")
    return path
