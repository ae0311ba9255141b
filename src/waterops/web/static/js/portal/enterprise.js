// One-to-one service for enterprise customers: daily consumption (Plotly chart with a table of
// the same figures), night flow as a leak hint, water-saving and tiered-tariff advice in yuan per
// year, the account manager's visits, and the problems raised with their progress and rating.
import { ApiError, announce, api, esc, formatNumber, formatTime, t, units } from "../common.js";
import { attempt, show } from "./ui.js";
import { tariffName, tariffTable } from "./notices.js";

let plotlyLoading = null;

/** plotly.js from the installed plotly package (served by the web app), loaded once. */
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/vendor/plotly.min.js";
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("plotly.js could not be loaded"));
    document.head.append(script);
  });
  return plotlyLoading;
}

export async function renderEnterprise(ctx) {
  if (ctx.user.role !== "enterprise_customer") {
    show(ctx.view, `<h2>${esc(t("portal.enterprise.heading"))}</h2>
      <p class="panel" id="enterprise-only">${esc(t("portal.enterprise.only"))}</p>`);
    return;
  }
  const page = await api("/enterprises?limit=50");
  if (!page.items.length) {
    show(ctx.view, `<h2>${esc(t("portal.enterprise.heading"))}</h2>
      <p class="panel" id="no-enterprise">${esc(t("portal.enterprise.none"))}</p>`);
    return;
  }
  const chosen = Number(new URLSearchParams(location.hash.split("?")[1] || "").get("id")) || page.items[0].id;
  const ent = page.items.find((e) => e.id === chosen) || page.items[0];
  const [consumption, advice, visits, problems, tariffs] = await Promise.all([
    api(`/enterprises/${ent.id}/consumption`).catch(noData),
    api(`/enterprises/${ent.id}/advice`).catch(noData),
    api(`/enterprises/${ent.id}/visits?limit=100`),
    api(`/enterprises/${ent.id}/problems?limit=100`),
    api("/tariffs"),
  ]);
  const histories = new Map(await Promise.all(problems.items.map(async (p) =>
    [p.id, (await api(`/enterprises/problems/${p.id}`)).history])));
  const tariff = tariffs.find((x) => x.name === ent.tariff_name)
    || tariffs.find((x) => x.customer_class === "non_household");
  const switcher = page.items.length > 1 ? `<p>${page.items.map((e) =>
    `<a href="#enterprise?id=${e.id}" ${e.id === ent.id ? 'aria-current="true"' : ""}>${esc(e.name)}</a>`).join(" · ")}</p>` : "";

  show(ctx.view, `
    <h2>${esc(t("portal.enterprise.heading"))} · ${esc(ent.name)}</h2>
    ${switcher}
    <p class="muted">${esc(t("portal.enterprise.account", { account: ent.account_id, industry: ent.industry }))}</p>
    <section class="panel" aria-labelledby="consumption-heading" id="consumption">
      <h3 id="consumption-heading">${esc(t("portal.enterprise.consumption"))}</h3>
      ${consumption.problem ? `<p id="consumption-none">${esc(t("portal.enterprise.no_data", { detail: consumption.problem }))}</p>` : consumptionHtml(consumption)}
    </section>
    <section class="panel" aria-labelledby="advice-heading" id="advice">
      <h3 id="advice-heading">${esc(t("portal.enterprise.advice"))}</h3>
      ${advice.problem ? `<p>${esc(t("portal.enterprise.no_data", { detail: advice.problem }))}</p>` : adviceHtml(advice)}
      ${tariff ? `<h4>${esc(t("portal.enterprise.your_tariff"))}</h4>${tariffTable(tariff)}` : ""}
    </section>
    <section class="panel" aria-labelledby="visits-heading" id="visits">
      <h3 id="visits-heading">${esc(t("portal.enterprise.visits"))}</h3>
      ${visits.items.length ? `<ul>${visits.items.map((v) => `<li><strong>${esc(v.visited_on)}</strong>:
        ${esc(v.topics.join(", "))}${v.notes ? ` — ${esc(v.notes)}` : ""}</li>`).join("")}</ul>`
        : `<p>${esc(t("portal.enterprise.no_visits"))}</p>`}
    </section>
    <section class="panel" aria-labelledby="problems-heading" id="problems">
      <h3 id="problems-heading">${esc(t("portal.enterprise.problems"))}</h3>
      ${problems.items.length ? `<table id="problems-table">
        <caption class="sr-only">${esc(t("portal.enterprise.problems"))}</caption>
        <thead><tr><th scope="col">${esc(t("portal.enterprise.problem"))}</th><th scope="col">${esc(t("common.status"))}</th>
          <th scope="col">${esc(t("portal.enterprise.raised"))}</th><th scope="col">${esc(t("portal.enterprise.rating"))}</th></tr></thead>
        <tbody>${problems.items.map((p) => problemRow(p, histories.get(p.id) || [])).join("")}</tbody></table>`
        : `<p>${esc(t("portal.enterprise.no_problems"))}</p>`}
      <p><a href="#complaints">${esc(t("portal.enterprise.report"))}</a></p>
    </section>`);

  if (!consumption.problem && consumption.daily.length) await drawChart(ctx.view.querySelector("#consumption-chart"), consumption);
  ctx.view.querySelector("#problems").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const score = Number(form.score.value);
    const done = await attempt(() => api(`/enterprises/problems/${form.dataset.problem}/rating`, { method: "POST", body: { score } }), { form });
    if (done) {
      announce(t("portal.complaint.thanks"));
      form.replaceWith(Object.assign(document.createElement("span"), { textContent: `${score} / 5` }));
    }
  });
}

function noData(e) {
  if (e instanceof ApiError && (e.status === 422 || e.status === 409)) return { problem: e.message };
  throw e;
}

function consumptionHtml(c) {
  const rows = c.daily.map((d) => `<tr><td>${esc(d.day)}</td><td>${esc(formatNumber(d.volume_m3, 1))}</td><td>${d.hours}</td></tr>`).join("");
  return `
    <dl class="figures">
      <dt>${esc(t("portal.enterprise.average_flow"))}</dt><dd id="average-flow">${esc(formatNumber(units.ls(c.average_flow_m3s), 2))} L/s</dd>
      <dt>${esc(t("portal.enterprise.night_flow"))}</dt><dd id="night-flow">${esc(formatNumber(units.ls(c.night_flow_m3s), 2))} L/s</dd>
      <dt>${esc(t("portal.enterprise.night_ratio"))}</dt><dd>${esc(formatNumber(c.night_ratio * 100, 0))} %</dd>
    </dl>
    ${c.leak_hint ? `<p class="warning-box" id="leak-hint"><strong>${esc(t("portal.enterprise.leak_hint"))}</strong> ${esc(adviceText(c.leak_message, c.leak_figures))}</p>` : ""}
    ${c.peers && c.peers.percentile !== null ? `<p>${esc(t("portal.enterprise.peers", { pct: formatNumber(c.peers.percentile, 0), n: c.peers.peers }))}</p>` : ""}
    <div id="consumption-chart" class="chart" role="img" aria-label="${esc(t("portal.enterprise.chart_label", { days: c.daily.length }))}"></div>
    <details><summary>${esc(t("portal.enterprise.table"))}</summary>
      <table id="consumption-table"><thead><tr><th scope="col">${esc(t("portal.enterprise.day"))}</th>
        <th scope="col">${esc(t("portal.enterprise.volume"))}</th><th scope="col">${esc(t("portal.enterprise.hours"))}</th></tr></thead>
        <tbody>${rows}</tbody></table></details>`;
}

function adviceHtml(a) {
  const items = a.items.map((i) => `<li class="advice-item" data-kind="${esc(i.kind)}">
      <strong>${esc(t("portal.enterprise.saving", { title: t("advice." + i.kind), yuan: formatNumber(i.yuan_per_year, 0), m3: formatNumber(i.volume_m3_per_year, 0) }))}</strong>
      <span class="note">${esc(adviceText(i.message, i.figures))}</span></li>`).join("");
  return `
    <p>${esc(t("portal.enterprise.annual", { m3: formatNumber(a.annual_volume_m3, 0), yuan: formatNumber(a.annual_cost_yuan, 0), tariff: tariffName(a.tariff) }))}</p>
    ${items ? `<ul class="advice">${items}</ul>
    <p id="advice-total"><strong>${esc(t("portal.enterprise.total_saving", { yuan: formatNumber(a.total_yuan_per_year, 0) }))}</strong></p>`
      : `<p>${esc(t("portal.enterprise.no_advice"))}</p>`}`;
}

/** The sentence of an advice message (the API's ``message`` key and its SI ``figures``) in the
 *  page's language, with the figures in people's units: L/s, %, m³, yuan. */
function adviceText(message, f) {
  const ls = (m3s) => formatNumber(units.ls(m3s), 2);
  const pct = (share) => formatNumber(share * 100, 0);
  return t("advice.text." + message, {
    night: ls(f.night_flow_m3s), average: ls(f.average_flow_m3s), ratio: pct(f.night_ratio),
    justified: ls(f.justified_night_flow_m3s), excess: ls(f.excess_night_flow_m3s),
    limit: ls(f.excess_threshold_m3s), limit_ratio: pct(f.ratio_threshold),
    m3_year: formatNumber(f.volume_m3_per_year, 0), share: pct(f.reuse_share),
    m3_day: formatNumber(units.m3d(f.remaining_flow_m3s), 1), tariff: f.tariff ? tariffName(f.tariff) : "",
    period: f.period ? t("portal.tariffs.period." + f.period) : "",
    m3_period: formatNumber(f.period_volume_m3, 0), quota: formatNumber(f.quota_m3, 0),
    excess_m3: formatNumber(f.excess_m3, 0), excess_pct: pct(f.excess_ratio),
    yuan: formatNumber(f.surcharge_yuan_per_year, 0),
  });
}

function problemRow(p, history) {
  const rating = p.satisfaction !== null ? `${p.satisfaction} / 5`
    : ["closed", "not_rectifiable"].includes(p.state) ? `<form class="rate" data-problem="${p.id}" novalidate>
        <label for="rate-${p.id}" class="sr-only">${esc(t("portal.enterprise.rate_label", { title: p.title }))}</label>
        <select id="rate-${p.id}" name="score">${[5, 4, 3, 2, 1].map((s) => `<option value="${s}">${esc(t("portal.score." + s))}</option>`).join("")}</select>
        <button type="submit">${esc(t("portal.enterprise.rate"))}</button></form>` : "–";
  const steps = history.map((e) => `<li><time datetime="${esc(e.at)}">${esc(formatTime(e.at))}</time>
      <strong>${esc(t("problem_state." + e.state_after))}</strong>${e.note ? ` <span class="note">${esc(e.note)}</span>` : ""}</li>`).join("");
  return `<tr data-problem-id="${p.id}"><td><details><summary>${esc(p.title)}</summary>
      ${p.description ? `<p>${esc(p.description)}</p>` : ""}<ol class="timeline">${steps}</ol></details>
      ${p.reason ? `<span class="muted">${esc(p.reason)}</span>` : ""}</td>
    <td>${esc(t("problem_state." + p.state))}</td><td>${esc(formatTime(p.raised_at))}</td><td>${rating}</td></tr>`;
}

async function drawChart(element, c) {
  const Plotly = await loadPlotly();
  const days = c.daily.map((d) => d.day);
  await Plotly.newPlot(element, [{
    type: "bar", x: days, y: c.daily.map((d) => d.volume_m3), name: t("portal.enterprise.volume"),
    marker: { color: "#0b5cad" },
  }], {
    margin: { l: 60, r: 20, t: 20, b: 50 }, height: 300,
    yaxis: { title: { text: t("portal.enterprise.volume") } },
    font: { family: "Noto Sans CJK SC, system-ui, sans-serif" },
  }, { displayModeBar: false, responsive: true });
}
