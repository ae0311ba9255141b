// Planning (issue 10): the IWA water balance of the systems and DMAs (volumes in m³, NRW and
// real-loss ratios, ILI, CJJ 92-2016 grade) with the report as HTML or PDF; renewal plans of a
// pipe register: made with budgets per year (万元 on the form, yuan to the API), compared side
// by side, exported as CSV and GeoJSON, and drawn on the map (the plan's pipes by year).
// Downloads go through fetch with the session's token (a plain link carries no token).
import { API, announce, api, esc, formatNumber, t, token } from "../common.js";
import { PLOT_CONFIG, baseLayout, linkTraces, loadNetwork, plotlyReady } from "./map.js";

let ctx;
let bound = false;
const PLANS_KEY = "waterops.renewal.plans";
const YEAR_COLOURS = ["#b2182b", "#ef8a62", "#e0b050", "#2166ac", "#1b7837"];
export const YUAN_PER_WAN = 10_000; // 1 万元 = 10 000 yuan

export function initPlanning(context) { ctx = context; }

export async function showPlanning(arg) {
  const body = document.getElementById("planning-body");
  const balance = ctx.can("water_balance"), renewal = ctx.can("renewal");
  if (!bound) {
    bound = true;
    body.innerHTML = `${balance ? balanceFrame() : ""}${renewal ? renewalFrame() : ""}`;
    if (balance) {
      body.querySelector("#wb-html").addEventListener("click", () => download("/water-balance/report.html", "water-balance-report.html"));
      body.querySelector("#wb-pdf").addEventListener("click", () => download("/water-balance/report.pdf", "water-balance-report.pdf"));
    }
    if (renewal) {
      body.querySelector("#plan-form").addEventListener("submit", makePlan);
      body.querySelector("#plan-open").addEventListener("submit", (e) => {
        e.preventDefault();
        const id = Number(e.target.plan_id.value);
        if (id > 0) { remember(id); plans(); showPlan(id); }
      });
      body.querySelector("#plan-compare").addEventListener("click", compare);
      body.querySelector("#plan-rows").addEventListener("click", onPlanClick);
    }
  }
  const jobs = [];
  if (balance) jobs.push(balances());
  if (renewal) jobs.push(plans());
  await Promise.all(jobs);
  if (renewal && arg) await showPlan(Number(arg));
}

// ------------------------------------------------------------------ downloads

/** Fetch ``path`` of the API with the session's token and save it as ``name``. */
export async function download(path, name) {
  try {
    const response = await fetch(API + path, { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try { const p = await response.json(); detail = p.detail || p.title || detail; } catch (e) { /* not JSON */ }
      throw Object.assign(new Error(detail), { status: response.status });
    }
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    announce(t("ops.pl.downloaded", { name }));
  } catch (error) {
    ctx.fail(error, name);
  }
}

// ------------------------------------------------------------------ water balance

function balanceFrame() {
  return `<div class="panel">
    <div class="view-head"><h3>${esc(t("ops.pl.balance"))}</h3>
      <button type="button" id="wb-html">${esc(t("ops.pl.report_html"))}</button>
      <button type="button" id="wb-pdf">${esc(t("ops.pl.report_pdf"))}</button></div>
    <div id="wb-systems"></div><div id="wb-dmas"></div>
  </div>`;
}

async function balances() {
  const systems = document.getElementById("wb-systems"), dmas = document.getElementById("wb-dmas");
  try {
    const [s, d] = await Promise.all([api("/water-balance?limit=100"), api("/water-balance/dmas?limit=100")]);
    systems.innerHTML = balanceTable(s.items, "ops.pl.systems", "wb-system-rows");
    dmas.innerHTML = balanceTable(d.items, "ops.pl.dmas", "wb-dma-rows");
  } catch (error) {
    systems.innerHTML = `<p class="error" id="wb-error">${esc(ctx.fail(error, t("ops.pl.balance")))}</p>`;
    dmas.innerHTML = "";
  }
}

function balanceTable(items, caption, id) {
  const m3 = (c) => `${formatNumber(c.m3, 0)} ± ${formatNumber(c.ci95_m3, 0)}`;
  const pct = (x) => `${formatNumber(x * 100, 1)} %`;
  const rows = items.map((b) => `<tr data-scope="${esc(b.scope_id)}" data-period="${esc(b.period)}">
    <th scope="row">${esc(b.scope_id)}</th><td>${esc(b.period)}</td><td>${esc(m3(b.system_input))}</td>
    <td>${esc(m3(b.non_revenue_water))}</td><td class="nrw">${esc(pct(b.nrw_ratio))}</td><td>${esc(m3(b.real_losses))}</td>
    <td>${b.iwa ? esc(formatNumber(b.iwa.ili, 2)) : "–"}</td>
    <td>${b.cjj92 ? esc(t("ops.pl.grade." + b.cjj92.grade.replace(/\s+/g, "_"))) : "–"}</td></tr>`);
  return `<table><caption>${esc(t(caption))}</caption>
    <thead><tr><th scope="col">${esc(t("ops.pl.scope"))}</th><th scope="col">${esc(t("ops.pl.period"))}</th>
      <th scope="col">${esc(t("ops.pl.input"))}</th><th scope="col">${esc(t("ops.pl.nrw"))}</th><th scope="col">${esc(t("ops.pl.nrw_ratio"))}</th>
      <th scope="col">${esc(t("ops.pl.real_losses"))}</th><th scope="col">ILI</th><th scope="col">${esc(t("ops.pl.grade"))}</th></tr></thead>
    <tbody id="${id}">${rows.join("")}</tbody></table>
    ${items.length ? "" : `<p class="muted">${esc(t("common.none"))}</p>`}`;
}

// ------------------------------------------------------------------ renewal plans

function renewalFrame() {
  const year = new Date().getFullYear() + 1;
  return `<div class="map-layout">
    <div class="panel map-panel">
      <h3>${esc(t("ops.pl.renewal"))}</h3>
      <form id="plan-form" class="em-form" style="display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:0 12px;align-items:end">
        <div><label for="plan-system">${esc(t("ops.pl.system"))}</label><input id="plan-system" name="system" required maxlength="64" value="demo"></div>
        <div><label for="plan-name">${esc(t("ops.pl.name"))}</label><input id="plan-name" name="name" required maxlength="200"></div>
        <div><label for="plan-budgets">${esc(t("ops.pl.budgets"))}</label><input id="plan-budgets" name="budgets" required placeholder="500, 500, 500"></div>
        <div><label for="plan-start">${esc(t("ops.pl.start_year"))}</label><input id="plan-start" name="start_year" type="number" min="2000" max="2100" required value="${year}"></div>
        <div><label for="plan-method">${esc(t("ops.pl.method"))}</label>
        <select id="plan-method" name="method"><option value="mip">${esc(t("ops.pl.method.mip"))}</option><option value="greedy">${esc(t("ops.pl.method.greedy"))}</option></select></div>
        <p><button type="submit">${esc(t("ops.pl.make"))}</button></p>
      </form>
      <div id="plan-map" class="map" role="region" aria-label="${esc(t("ops.pl.map"))}"></div>
      <div id="plan-legend" class="legend"></div>
    </div>
    <aside class="panel">
      <h3>${esc(t("ops.pl.plans"))}</h3>
      <form id="plan-open" class="row"><label for="plan-open-id" class="sr-only">${esc(t("ops.pl.open_id"))}</label>
        <input id="plan-open-id" name="plan_id" type="number" min="1" step="1" placeholder="${esc(t("ops.pl.open_id"))}"><button type="submit">${esc(t("ops.pl.open"))}</button></form>
      <table><caption class="sr-only">${esc(t("ops.pl.plans"))}</caption>
        <thead><tr><th scope="col">${esc(t("ops.pl.compare_pick"))}</th><th scope="col">${esc(t("ops.pl.name"))}</th><th scope="col">${esc(t("ops.alarms.actions"))}</th></tr></thead>
        <tbody id="plan-rows"></tbody></table>
      <p><button type="button" id="plan-compare">${esc(t("ops.pl.compare"))}</button></p>
      <div id="plan-detail" aria-live="polite"></div>
    </aside>
  </div>
  <div class="panel" id="plan-comparison" aria-live="polite"></div>`;
}

/** Plan ids made or opened on this browser (the API has no list of plans). */
function remembered() {
  try { return JSON.parse(localStorage.getItem(PLANS_KEY) || "[]").filter((n) => Number.isInteger(n)); } catch (e) { return []; }
}

function remember(id) {
  const ids = remembered().filter((n) => n !== id);
  ids.unshift(id);
  localStorage.setItem(PLANS_KEY, JSON.stringify(ids.slice(0, 20)));
}

function forget(id) { localStorage.setItem(PLANS_KEY, JSON.stringify(remembered().filter((n) => n !== id))); }

/** Budgets typed in 万元, separated by commas or spaces → yuan. */
export function parseBudgets(text) {
  const parts = text.split(/[,，\s]+/).filter(Boolean).map(Number);
  if (!parts.length || parts.length > 5 || parts.some((x) => !(x > 0))) throw new Error(t("ops.pl.bad_budgets"));
  return parts.map((x) => x * YUAN_PER_WAN);
}

async function makePlan(event) {
  event.preventDefault();
  const d = Object.fromEntries(new FormData(event.target).entries());
  let budgets;
  try { budgets = parseBudgets(d.budgets); } catch (error) { announce(error.message, { error: true }); return; }
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  announce(t("ops.pl.making"));
  try {
    const plan = await api("/renewal/plans", { method: "POST", body: {
      system: d.system.trim(), name: d.name.trim(), budgets_yuan: budgets,
      start_year: Number(d.start_year), method: d.method } });
    remember(plan.id);
    await plans();
    await showPlan(plan.id);
    announce(t("ops.pl.made", { id: plan.id, pipes: plan.pipes.length }));
  } catch (error) {
    ctx.fail(error, t("ops.pl.make"));
  } finally {
    button.disabled = false;
  }
}

async function plans() {
  const rows = document.getElementById("plan-rows");
  const ids = remembered();
  const found = await Promise.all(ids.map((id) => api(`/renewal/plans/${id}`).catch((error) => {
    if (error.status === 404) forget(id);
    return null;
  })));
  rows.innerHTML = found.filter(Boolean).map((p) => `<tr data-plan="${p.id}">
    <td><input type="checkbox" class="plan-pick" value="${p.id}" aria-label="${esc(t("ops.pl.pick", { id: p.id }))}"></td>
    <td>#${p.id} ${esc(p.name)}</td>
    <td class="actions"><button type="button" data-show="${p.id}" aria-label="${esc(t("ops.pl.show_label", { id: p.id }))}">${esc(t("ops.pl.show"))}</button>
      <button type="button" data-csv="${p.id}" aria-label="${esc(t("ops.pl.csv_label", { id: p.id }))}">CSV</button>
      <button type="button" data-geojson="${p.id}" aria-label="${esc(t("ops.pl.geojson_label", { id: p.id }))}">GeoJSON</button></td></tr>`).join("");
}

function onPlanClick(event) {
  const b = event.target.closest("button");
  if (!b) return;
  if (b.dataset.show) showPlan(Number(b.dataset.show));
  else if (b.dataset.csv) download(`/renewal/plans/${b.dataset.csv}/csv`, `renewal-plan-${b.dataset.csv}.csv`);
  else if (b.dataset.geojson) download(`/renewal/plans/${b.dataset.geojson}/geojson`, `renewal-plan-${b.dataset.geojson}.geojson`);
}

const yuanToWan = (y) => formatNumber(y / YUAN_PER_WAN, 1);

async function showPlan(id) {
  const box = document.getElementById("plan-detail");
  let p;
  try {
    p = await api(`/renewal/plans/${id}`);
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.pl.plan", { id })))}</p>`;
    return;
  }
  const years = p.years.map((y) => `<tr><td>${esc(y.calendar_year ?? "")}</td><td>${esc(yuanToWan(y.cost_yuan ?? 0))}</td>
    <td>${esc(formatNumber((y.length_m ?? 0) / 1000, 2))}</td><td>${esc(formatNumber(y.failures_avoided ?? null, 1))}</td></tr>`);
  box.innerHTML = `<h4 id="plan-shown" data-plan="${p.id}">${esc(t("ops.pl.plan", { id: p.id }))}: ${esc(p.name)}</h4>
    <dl class="facts">
      <dt>${esc(t("ops.pl.method"))}</dt><dd>${esc(t("ops.pl.method." + p.method))} (${esc(p.status)})</dd>
      <dt>${esc(t("ops.pl.cost"))}</dt><dd>${esc(yuanToWan(p.cost_yuan))} ${esc(t("ops.pl.wan"))}</dd>
      <dt>${esc(t("ops.pl.risk_reduction"))}</dt><dd>${esc(yuanToWan(p.risk_reduction_yuan))} ${esc(t("ops.pl.wan"))}</dd>
      <dt>${esc(t("ops.pl.pipes"))}</dt><dd id="plan-pipes">${p.pipes.length}</dd>
    </dl>
    <table><caption>${esc(t("ops.pl.years"))}</caption><thead><tr><th scope="col">${esc(t("ops.pl.year"))}</th>
      <th scope="col">${esc(t("ops.pl.cost"))} (${esc(t("ops.pl.wan"))})</th><th scope="col">${esc(t("ops.pl.length_km"))}</th><th scope="col">${esc(t("ops.pl.failures_avoided"))}</th></tr></thead>
      <tbody>${years.join("")}</tbody></table>`;
  await drawPlan(p);
}

/** The network in grey and the plan's pipes coloured by the year they are renewed. */
async function drawPlan(p) {
  const div = document.getElementById("plan-map");
  let net;
  try { net = await loadNetwork(); } catch (error) { div.dataset.state = "unavailable"; return; }
  const years = [...new Set(p.pipes.map((x) => x.year))].sort((a, b) => a - b);
  const groups = [{ color: "#c9d1dc", width: 1, links: [] }];
  years.forEach((_, k) => groups.push({ color: YEAR_COLOURS[k % YEAR_COLOURS.length], width: 4, links: [] }));
  const yearOf = new Map(p.pipes.map((x) => [x.pipe_id, x.year]));
  let missing = 0;
  net.link_ids.forEach((id, i) => {
    const y = yearOf.get(id);
    if (y === undefined) groups[0].links.push(i);
    else groups[1 + years.indexOf(y)].links.push(i);
  });
  for (const x of p.pipes) if (!net.linkIndex.has(x.pipe_id)) missing += 1;
  const { traces, count } = linkTraces(net, groups);
  await plotlyReady();
  await Plotly.react(div, traces, baseLayout(net), PLOT_CONFIG);
  div.dataset.state = "drawn";
  div.dataset.plan = String(p.id);
  div.dataset.planLinks = String(p.pipes.length - missing);
  div.dataset.linksDrawn = String(count);
  document.getElementById("plan-legend").innerHTML = `<ul>${years.map((y, k) => `<li><span class="swatch" style="background:${YEAR_COLOURS[k % YEAR_COLOURS.length]}"></span>${esc(p.start_year + y - 1)} (${groups[k + 1].links.length})</li>`).join("")}</ul>
    ${missing ? `<p class="muted">${esc(t("ops.pl.not_on_map", { n: missing }))}</p>` : ""}`;
}

async function compare() {
  const box = document.getElementById("plan-comparison");
  const ids = [...document.querySelectorAll(".plan-pick:checked")].map((c) => c.value);
  if (!ids.length) { announce(t("ops.pl.pick_some"), { error: true }); return; }
  try {
    const rows = await api(`/renewal/plans/compare?${ids.map((i) => `ids=${i}`).join("&")}`);
    const line = (key, f) => `<tr><th scope="row">${esc(t("ops.pl.cmp." + key))}</th>${rows.map((r) => `<td>${esc(f(r))}</td>`).join("")}</tr>`;
    box.innerHTML = `<table id="plan-compare-table"><caption>${esc(t("ops.pl.comparison"))}</caption>
      <thead><tr><td></td>${rows.map((r) => `<th scope="col" data-plan="${r.plan_id}">#${r.plan_id} ${esc(r.name)}</th>`).join("")}</tr></thead>
      <tbody>
        ${line("method", (r) => t("ops.pl.method." + r.method))}
        ${line("years", (r) => `${r.start_year}–${r.start_year + r.years - 1}`)}
        ${line("budget", (r) => `${yuanToWan(r.budget_yuan)} ${t("ops.pl.wan")}`)}
        ${line("cost", (r) => `${yuanToWan(r.cost_yuan)} ${t("ops.pl.wan")}`)}
        ${line("length", (r) => `${formatNumber(r.length_m / 1000, 2)} km`)}
        ${line("pipes", (r) => String(r.pipes))}
        ${line("roads", (r) => String(r.roads))}
        ${line("risk", (r) => `${yuanToWan(r.risk_reduction_yuan)} ${t("ops.pl.wan")}`)}
        ${line("failures", (r) => formatNumber(r.failures_avoided, 1))}
        ${line("gap", (r) => (r.mip_gap === null ? "–" : `${formatNumber(r.mip_gap * 100, 2)} %`))}
      </tbody></table>`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.pl.compare")))}</p>`;
  }
}
