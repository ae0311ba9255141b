// Emergencies (issue 9): a contamination's forward spread from a node and time (nodes,
// customers and households reached within 1, 6 and 24 h; the reached nodes drawn on the map by
// first arrival), source tracing from sensor readings (candidates, best first), the
// do-not-drink notice draft of the spread's area; the sources' early-warning levels and the
// plan to switch to the backup source. Times in h, concentrations in mg/L, flows in L/s.
import { announce, api, esc, formatNumber, formatTime, t, units } from "../common.js";
import { PLOT_CONFIG, baseLayout, linkTraces, loadNetwork, nodeTrace, plotlyReady } from "./map.js";

let ctx;
let bound = false;
let lastSpread = null; // the body of the last spread asked (the notice drafts its area)

/** Bins of first arrival [h] and their colours (the exposure windows of /contamination/spread). */
export const ARRIVAL_BINS_H = [1, 6, 24];
const ARRIVAL_COLOURS = ["#67000d", "#d7301f", "#fc8d59", "#fdcc8a"]; // ≤1, ≤6, ≤24, later

export function initEmergency(context) { ctx = context; }

export async function showEmergency() {
  const body = document.getElementById("emergency-body");
  if (!bound) {
    bound = true;
    body.innerHTML = frame();
    body.querySelector("#cont-form").addEventListener("submit", spread);
    body.querySelector("#trace-form").addEventListener("submit", trace);
    body.querySelector("#dnd-button").addEventListener("click", notice);
    body.querySelector("#switch-form").addEventListener("submit", switchPlan);
    body.querySelector("#sources-refresh").addEventListener("click", () => sources());
    drawSpread(null);
  }
  await sources();
}

function frame() {
  const field = (id, key, attrs) => `<div><label for="${id}">${esc(t(key))}</label><input id="${id}" ${attrs}></div>`;
  return `
  <div class="map-layout">
    <div class="panel map-panel">
      <h3>${esc(t("ops.em.spread"))}</h3>
      <p class="muted">${esc(t("ops.em.click_hint"))}</p>
      <form id="cont-form" class="em-form" style="display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:0 12px;align-items:end">
        ${field("cont-node", "ops.em.node", 'name="node_id" required maxlength="64" autocomplete="off"')}
        ${field("cont-start", "ops.em.start_h", 'name="start_h" type="number" min="0" max="168" step="any" value="0" required')}
        ${field("cont-duration", "ops.em.duration_h", 'name="duration_h" type="number" min="0.1" max="168" step="any" value="1" required')}
        ${field("cont-conc", "ops.em.concentration", 'name="concentration_mg_l" type="number" min="0.001" step="any" value="10" required')}
        ${field("cont-horizon", "ops.em.horizon_h", 'name="horizon_h" type="number" min="1" max="168" step="any" value="24" required')}
        <p><button type="submit">${esc(t("ops.em.run_spread"))}</button></p>
      </form>
      <div id="cont-map" class="map" role="region" aria-label="${esc(t("ops.em.map"))}"></div>
      <div id="cont-legend" class="legend"></div>
    </div>
    <aside class="panel">
      <h3>${esc(t("ops.em.result"))}</h3>
      <div id="cont-result" aria-live="polite"><p class="muted">${esc(t("ops.em.hint"))}</p></div>
      <p><button type="button" id="dnd-button" disabled>${esc(t("ops.em.draft_notice"))}</button></p>
      <div id="dnd-draft" aria-live="polite"></div>
    </aside>
  </div>
  <div class="panel">
    <h3>${esc(t("ops.em.trace"))}</h3>
    <form id="trace-form">
      <label for="trace-readings">${esc(t("ops.em.readings"))}</label>
      <textarea id="trace-readings" name="readings" rows="4" required placeholder="Q-SENSOR-1, 2026-12-07T08:00:00+08:00, 0.8"></textarea>
      <label for="trace-members">${esc(t("ops.em.members"))}</label>
      <input id="trace-members" name="members" type="number" min="1" max="50" step="1" value="10">
      <p><button type="submit">${esc(t("ops.em.run_trace"))}</button></p>
    </form>
    <div id="trace-result" aria-live="polite"></div>
  </div>
  <div class="panel">
    <div class="view-head"><h3>${esc(t("ops.em.sources"))}</h3><button type="button" id="sources-refresh">${esc(t("common.refresh"))}</button></div>
    <div id="sources-status"></div>
    <form id="switch-form">
      <label for="switch-failed">${esc(t("ops.em.failed_source"))}</label><select id="switch-failed" name="failed" required></select>
      <label for="switch-backup">${esc(t("ops.em.backup_source"))}</label><select id="switch-backup" name="backup"></select>
      <p><button type="submit">${esc(t("ops.em.run_switch"))}</button></p>
    </form>
    <div id="switch-result" aria-live="polite"></div>
  </div>`;
}

// ------------------------------------------------------------------ contamination spread

function spreadBody(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  return { node_id: data.node_id.trim(), start_s: Math.round(Number(data.start_h) * 3600),
    duration_s: Math.round(Number(data.duration_h) * 3600),
    concentration_mg_l: Number(data.concentration_mg_l), horizon_h: Number(data.horizon_h) };
}

async function spread(event) {
  event.preventDefault();
  const result = document.getElementById("cont-result");
  const asked = spreadBody(event.target);
  result.innerHTML = `<p class="muted">${esc(t("ops.em.running"))}</p>`;
  document.getElementById("dnd-button").disabled = true;
  document.getElementById("dnd-draft").innerHTML = "";
  let r;
  try {
    r = await api("/contamination/spread", { method: "POST", body: asked });
  } catch (error) {
    const message = error.status === 404 || error.status === 422
      ? t("ops.em.refused", { detail: error.message }) : ctx.fail(error, t("ops.em.spread"));
    result.innerHTML = `<p class="error" id="cont-error">${esc(message)}</p>`;
    lastSpread = null;
    await drawSpread(null);
    return;
  }
  lastSpread = asked;
  const exposure = r.exposure.map((e) => `<tr data-within="${e.within_h}"><th scope="row">${esc(t("ops.em.within", { h: formatNumber(e.within_h, 0) }))}</th>
      <td class="n-nodes">${e.nodes}</td><td>${e.customers}</td><td>${e.households}</td><td>${e.enterprises}</td></tr>`);
  const flushing = r.flushing.slice(0, 10).map((s) => `<li>${esc(s.hydrant_id)} (${esc(s.node_id)}): ${esc(formatNumber(s.flow_ls, 1))} L/s, ${esc(formatNumber(units.hours(s.duration_s), 1))} h, ${esc(formatNumber(s.volume_m3, 0))} m³</li>`);
  result.innerHTML = `
    <p id="cont-summary" data-reached="${r.nodes_reached}">${esc(t("ops.em.reached", { n: r.nodes_reached, node: r.node_id, h: formatNumber(r.horizon_s / 3600, 0) }))}</p>
    <table id="cont-exposure"><caption>${esc(t("ops.em.exposure"))}</caption>
      <thead><tr><th scope="col">${esc(t("ops.em.window"))}</th><th scope="col">${esc(t("ops.em.nodes"))}</th><th scope="col">${esc(t("ops.em.customers"))}</th>
        <th scope="col">${esc(t("ops.em.households"))}</th><th scope="col">${esc(t("ops.em.enterprises"))}</th></tr></thead>
      <tbody>${exposure.join("")}</tbody></table>
    <p>${esc(t("ops.em.area", { nodes: r.area.nodes.length, accounts: r.area.accounts, mg: formatNumber(r.area.threshold_mg_l, 3), dmas: r.area.dmas.join(", ") || "–" }))}</p>
    ${flushing.length ? `<h4>${esc(t("ops.em.flushing"))}</h4><ol>${flushing.join("")}</ol>` : ""}`;
  document.getElementById("dnd-button").disabled = r.area.nodes.length === 0;
  await drawSpread(r);
  announce(t("ops.em.spread_done", { n: r.nodes_reached }));
}

/** The network in grey, the injection node and the reached nodes coloured by first arrival. */
async function drawSpread(r) {
  const div = document.getElementById("cont-map");
  let net;
  try {
    net = await loadNetwork();
  } catch (error) {
    div.dataset.state = "unavailable";
    return;
  }
  const { traces } = linkTraces(net, [{ color: "#b8c0ca", width: 1, links: net.link_ids.map((_, i) => i) }]);
  traces.push(nodeTrace(net, { color: "#8a939e", size: 2 })); // clickable: the injection node
  const counts = [];
  if (r) {
    const bins = ARRIVAL_COLOURS.map(() => []);
    for (const n of r.nodes) {
      const h = n.first_arrival_s / 3600;
      let b = 0;
      while (b < ARRIVAL_BINS_H.length && h > ARRIVAL_BINS_H[b]) b += 1;
      bins[b].push(n.node_id);
    }
    bins.forEach((ids, b) => { traces.push(nodeMarkers(net, ids, ARRIVAL_COLOURS[b], 6, `arrival-${b}`)); counts.push(ids.length); });
    traces.push(nodeMarkers(net, [r.node_id], "#000000", 14, "injection", "star"));
  }
  await plotlyReady();
  await Plotly.react(div, traces, baseLayout(net), PLOT_CONFIG);
  if (!div.dataset.bound) { // a click on a node takes it as the injection point
    div.dataset.bound = "1";
    div.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && point.customdata && net.index.has(String(point.customdata))) {
        const input = document.getElementById("cont-node");
        input.value = String(point.customdata);
        input.focus();
      }
    });
  }
  div.dataset.state = "drawn";
  div.dataset.reachedDrawn = String(counts.reduce((s, c) => s + c, 0));
  const labels = [...ARRIVAL_BINS_H.map((h) => t("ops.em.within", { h })), t("ops.em.later")];
  document.getElementById("cont-legend").innerHTML = r
    ? `<ul>${ARRIVAL_COLOURS.map((c, b) => `<li><span class="swatch round" style="background:${c}"></span>${esc(labels[b])} (${counts[b]})</li>`).join("")}
       <li><span class="swatch round" style="background:#000000"></span>${esc(t("ops.em.injection"))}</li></ul>` : "";
}

function nodeMarkers(net, ids, color, size, name, symbol = "circle") {
  const x = [], y = [], kept = [];
  for (const id of ids) {
    const i = net.index.get(id);
    if (i === undefined || net.node_x[i] === null) continue;
    x.push(net.node_x[i]); y.push(net.node_y[i]); kept.push(id);
  }
  return { type: "scattergl", mode: "markers", x, y, text: kept, customdata: kept, name,
    hovertemplate: "%{text}<extra></extra>", marker: { color, size, symbol }, showlegend: false };
}

async function notice() {
  const box = document.getElementById("dnd-draft");
  if (!lastSpread) return;
  box.innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  try {
    const d = await api("/contamination/do-not-drink", { method: "POST", body: { spread: lastSpread } });
    box.innerHTML = `<h4 id="dnd-subject">${esc(d.subject)}</h4>
      <p class="muted">${esc(t("ops.em.notice_counts", { accounts: d.accounts, households: d.households, nodes: d.nodes }))}</p>
      <p lang="zh-CN">${esc(d.body_zh)}</p><p lang="en">${esc(d.body_en)}</p>
      <p class="muted">${esc(t("ops.em.draft_only"))}</p>`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.em.draft_notice")))}</p>`;
  }
}

// ------------------------------------------------------------------ tracing

/** Readings typed one a line: "sensor id, ISO time, mg/L". */
export function parseReadings(text) {
  const out = [];
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const [sensor, at, value] = line.split(",").map((p) => (p || "").trim());
    const c = Number(value);
    if (!sensor || !at || Number.isNaN(Date.parse(at)) || !(c >= 0) || value === "") {
      throw new Error(t("ops.em.bad_reading", { line }));
    }
    out.push({ sensor_id: sensor, at, concentration_mg_l: c });
  }
  return out;
}

async function trace(event) {
  event.preventDefault();
  const box = document.getElementById("trace-result");
  const data = Object.fromEntries(new FormData(event.target).entries());
  let readings;
  try {
    readings = parseReadings(data.readings);
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(error.message)}</p>`;
    return;
  }
  box.innerHTML = `<p class="muted">${esc(t("ops.em.running"))}</p>`;
  try {
    const r = await api("/contamination/trace", { method: "POST", body: { readings, members: Number(data.members) || 10 } });
    box.innerHTML = `<table><caption>${esc(t("ops.em.candidates", { n: r.readings_used }))}</caption>
      <thead><tr><th scope="col">${esc(t("ops.em.node"))}</th><th scope="col">${esc(t("ops.em.start"))}</th>
        <th scope="col">${esc(t("ops.em.consistency"))}</th><th scope="col">${esc(t("ops.em.all_members"))}</th><th scope="col">${esc(t("ops.em.concentration"))}</th></tr></thead>
      <tbody>${r.candidates.map((c) => `<tr><td>${esc(c.node_id)}</td><td>${esc(formatTime(c.start_at))}</td>
        <td>${esc(formatNumber(c.consistency * 100, 0))} %</td><td>${esc(formatNumber(c.members_consistent * 100, 0))} %</td>
        <td>${esc(formatNumber(c.concentration_mg_l, 3))}</td></tr>`).join("")}</tbody></table>`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.em.trace")))}</p>`;
  }
}

// ------------------------------------------------------------------ sources

async function sources() {
  const box = document.getElementById("sources-status");
  let list;
  try {
    list = await api("/sources/status", { method: "POST", body: {} });
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.em.sources")))}</p>`;
    return;
  }
  box.innerHTML = `<table id="sources-table"><caption class="sr-only">${esc(t("ops.em.sources"))}</caption>
    <thead><tr><th scope="col">${esc(t("ops.em.source"))}</th><th scope="col">${esc(t("ops.em.level"))}</th><th scope="col">${esc(t("ops.em.findings"))}</th></tr></thead>
    <tbody>${list.map((s) => `<tr data-source="${esc(s.source_id)}" data-level="${esc(s.level)}"><td>${esc(s.source_id)}</td>
      <td><span class="badge level-${esc(s.level)}">${esc(t("ops.em.level." + s.level))}</span></td>
      <td>${s.findings.length ? s.findings.map((f) => `${esc(f.parameter)} ${esc(formatNumber(f.value, 3))} ${esc(f.unit)} (${esc(t("ops.em.level." + f.level))}; ${esc(f.limit)})`).join("<br>") : esc(t("ops.em.no_findings"))}</td></tr>`).join("")}</tbody></table>`;
  const options = list.map((s) => `<option value="${esc(s.source_id)}">${esc(s.source_id)}</option>`).join("");
  document.getElementById("switch-failed").innerHTML = options;
  document.getElementById("switch-backup").innerHTML = `<option value="">${esc(t("ops.em.backup_auto"))}</option>${options}`;
}

async function switchPlan(event) {
  event.preventDefault();
  const box = document.getElementById("switch-result");
  const data = Object.fromEntries(new FormData(event.target).entries());
  const payload = { failed_source_id: data.failed };
  if (data.backup) payload.backup_source_id = data.backup;
  box.innerHTML = `<p class="muted">${esc(t("ops.em.switch_running"))}</p>`;
  try {
    const p = await api("/sources/switch-plan", { method: "POST", body: payload });
    const mpa = (m) => `${formatNumber(units.mpa(m), 3)} MPa`;
    box.innerHTML = `<p>${esc(t("ops.em.switch_from_to", { failed: p.failed_source, backup: p.backup_source }))}</p>
      <ol>${p.actions.map((a) => `<li>${esc(a)}</li>`).join("")}</ol>
      ${p.warnings.length ? `<ul class="warnings">${p.warnings.map((w) => `<li class="error">${esc(w)}</li>`).join("")}</ul>` : ""}
      <table><caption>${esc(t("ops.em.zones"))}</caption>
        <thead><tr><th scope="col">${esc(t("ops.em.zone"))}</th><th scope="col">${esc(t("ops.em.changes"))}</th><th scope="col">${esc(t("ops.em.effect_after"))}</th>
          <th scope="col">${esc(t("ops.em.pressure_before"))}</th><th scope="col">${esc(t("ops.em.pressure_after"))}</th><th scope="col">${esc(t("ops.em.chlorine_after"))}</th></tr></thead>
        <tbody>${p.zones.map((z) => `<tr><td>${esc(z.zone_id)}</td><td>${esc(t(z.changes_source ? "ops.em.yes" : "ops.em.no"))}</td>
          <td>${z.takes_effect_after_s === null ? "–" : esc(formatNumber(units.hours(z.takes_effect_after_s), 1)) + " h"}</td>
          <td>${esc(mpa(z.min_pressure_before_m))}</td><td>${esc(mpa(z.min_pressure_after_m))}</td>
          <td>${z.chlorine_after_mg_l === null ? "–" : esc(formatNumber(z.chlorine_after_mg_l, 2)) + " mg/L"}</td></tr>`).join("")}</tbody></table>
      <p>${esc(t("ops.em.lowest_after", { p: mpa(p.lowest_pressure_after_m), node: p.lowest_pressure_node }))}</p>`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.em.run_switch")))}</p>`;
  }
}
