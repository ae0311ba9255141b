// Incidents: the alarm service's incidents (alarms grouped by cause) with their diagnosis and
// the customers affected, and, in the demo, starting an incident in the simulator (dispatcher,
// administrator) and the simulator's ground truth.
import { announce, api, esc, formatNumber, formatTime, lang, t } from "../common.js";
import { sensorList } from "./sensors.js";

const TYPES = ["pipe_burst", "background_leak", "pump_trip", "booster_failure", "prv_failure",
  "contamination", "chlorine_loss", "sensor_stuck", "sensor_drift", "source_outage"];

let ctx;

export async function showIncidents(id, context) {
  ctx = context;
  const body = document.getElementById("incident-body");
  body.innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  if (id) await one(body, Number(id));
  else await list(body);
}

async function list(body) {
  let page;
  try {
    page = await api("/incidents?limit=100");
  } catch (error) {
    body.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.incidents.heading")))}</p>`;
    return;
  }
  const rows = page.items.map((i) => `<tr data-incident="${i.id}">
      <td><a href="#incidents/${i.id}">${esc(i.title)}</a></td>
      <td><span class="badge ${esc(i.severity)}">${esc(t("ops.severity." + i.severity))}</span></td>
      <td>${esc(t("ops.incident_state." + i.state))}</td>
      <td>${esc(formatTime(i.opened_at))}</td><td>${i.alarm_ids.length}</td></tr>`);
  body.innerHTML = `
    <table><caption class="sr-only">${esc(t("ops.incidents.heading"))}</caption>
      <thead><tr><th scope="col">${esc(t("ops.incidents.title"))}</th><th scope="col">${esc(t("ops.alarms.severity"))}</th>
      <th scope="col">${esc(t("common.status"))}</th><th scope="col">${esc(t("ops.incidents.opened"))}</th><th scope="col">${esc(t("ops.incidents.alarms"))}</th></tr></thead>
      <tbody>${rows.join("")}</tbody></table>
    ${page.items.length ? "" : `<p class="muted">${esc(t("ops.incidents.none"))}</p>`}
    ${ctx.can("inject") ? injectForm() : ""}
    <div id="injected"></div>`;
  if (ctx.can("inject")) {
    body.querySelector("#inject-form").addEventListener("submit", inject);
    groundTruth();
  }
}

function injectForm() {
  return `<form id="inject-form" class="panel inject">
    <h3>${esc(t("ops.inject.heading"))}</h3>
    <p class="muted">${esc(t("ops.inject.hint"))}</p>
    <label for="inject-type">${esc(t("ops.inject.type"))}</label>
    <select id="inject-type" name="type">${TYPES.map((k) => `<option value="${k}">${esc(t("ops.incident_type." + k))}</option>`).join("")}</select>
    <label for="inject-element">${esc(t("ops.inject.element"))}</label>
    <input id="inject-element" name="element" required maxlength="64" pattern="[A-Za-z0-9_.:\\-]+">
    <label for="inject-size">${esc(t("ops.inject.size"))}</label>
    <input id="inject-size" name="size" type="number" min="0" step="any">
    <p><button type="submit">${esc(t("ops.inject.submit"))}</button></p>
  </form>`;
}

async function inject(event) {
  event.preventDefault();
  const form = event.target;
  const data = Object.fromEntries(new FormData(form).entries());
  const body = { type: data.type, element: data.element.trim() };
  if (data.size) body.size = Number(data.size);
  try {
    const made = await api("/incidents", { method: "POST", body });
    announce(t("ops.inject.done", { id: made.id, element: made.element }));
    groundTruth();
  } catch (error) {
    ctx.fail(error, t("ops.inject.heading"));
  }
}

async function groundTruth() {
  const box = document.getElementById("injected");
  if (!box) return;
  try {
    const page = await api("/incidents/injected?limit=20");
    box.innerHTML = `<h3>${esc(t("ops.inject.truth"))}</h3><ul>${page.items.map((i) =>
      `<li>${esc(i.id)}: ${esc(t("ops.incident_type." + i.type))} @ ${esc(i.element)} · ${esc(formatTime(i.start))}${i.active ? ` <span class="badge warning">${esc(t("ops.inject.active"))}</span>` : ""}</li>`).join("")}</ul>`;
  } catch (error) {
    box.innerHTML = `<p class="muted">${esc(t("ops.inject.unavailable", { detail: error.message }))}</p>`;
  }
}

async function one(body, id) {
  let incident;
  try {
    const page = await api("/incidents?limit=200");
    incident = page.items.find((i) => i.id === id);
  } catch (error) {
    body.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.incidents.heading")))}</p>`;
    return;
  }
  if (!incident) { body.innerHTML = `<p class="error">${esc(t("ops.incidents.not_found", { id }))}</p>`; return; }
  const alarms = [];
  for (const alarmId of incident.alarm_ids) {
    try { alarms.push(await api(`/alarms/${alarmId}`)); } catch (error) { /* listed as missing below */ }
  }
  const msg = (a) => (lang() === "zh-CN" && a.message_zh ? a.message_zh : a.message);
  const diagnosis = alarms.filter((a) => a.diagnosis).map((a) => `<li>${esc(a.diagnosis)}</li>`);
  const evidence = alarms.flatMap((a) => a.evidence.map((e) => `<li>${esc(e.sensor_id)}: ${esc(formatNumber(e.value, 3))} ${esc(e.unit)} · ${esc(formatTime(e.time))}${e.note ? " · " + esc(e.note) : ""}</li>`));
  body.innerHTML = `
    <p><a href="#incidents">← ${esc(t("ops.incidents.back"))}</a></p>
    <h3 data-incident="${incident.id}">${esc(incident.title)} <span class="badge ${esc(incident.severity)}">${esc(t("ops.severity." + incident.severity))}</span></h3>
    <p>${esc(t("ops.incident_state." + incident.state))} · ${esc(t("ops.incidents.opened"))} ${esc(formatTime(incident.opened_at))}${incident.cause ? ` · ${esc(t("ops.cause." + incident.cause))}` : ""}</p>
    <h4>${esc(t("ops.incidents.diagnosis"))}</h4>
    ${diagnosis.length ? `<ul id="incident-diagnosis">${diagnosis.join("")}</ul>` : `<p class="muted" id="incident-diagnosis">${esc(t("ops.incidents.no_diagnosis"))}</p>`}
    <h4>${esc(t("ops.incidents.alarms"))}</h4>
    <ul>${alarms.map((a) => `<li>${esc(a.source)}: ${esc(msg(a))} (${esc(t("ops.state." + a.state))})</li>`).join("")}</ul>
    ${evidence.length ? `<h4>${esc(t("ops.incidents.evidence"))}</h4><ul>${evidence.join("")}</ul>` : ""}
    <h4>${esc(t("ops.incidents.affected"))}</h4>
    <div id="incident-affected"><p class="muted">${esc(t("common.loading"))}</p></div>`;
  affected(alarms);
}

/** Customers affected: an isolation plan for the element the alarms point at (the pipe or node
 *  named by the alarm source or its evidence sensors), from /isolation/plan. */
async function affected(alarms) {
  const box = document.getElementById("incident-affected");
  if (!ctx.can("scenario")) { box.innerHTML = `<p class="muted">${esc(t("ops.incidents.affected_role"))}</p>`; return; }
  // candidates: the alarm sources that are network elements, then the elements of the
  // evidence sensors and of the sensors at the source's site; nodes first
  const nodes = [], links = [];
  const add = (kind, id) => { if (!id) return; const list = kind === "link" ? links : nodes; if (!list.includes(id)) list.push(id); };
  let sensors = new Map();
  try { sensors = await sensorList(); } catch (error) { /* the elements of the sources only */ }
  for (const a of alarms) {
    const net = await api(`/network/elements/${encodeURIComponent(a.source)}`).catch(() => null);
    if (net) add(net.element, net.id);
    for (const s of [...a.evidence.map((e) => sensors.get(e.sensor_id)), ...[...sensors.values()].filter((s) => s.site_id === a.source)]) {
      if (s) add(s.element_kind, s.element_id);
    }
  }
  const candidates = [...nodes.map((id) => ({ node_id: id })), ...links.map((id) => ({ pipe_id: id }))];
  if (!candidates.length) { box.innerHTML = `<p class="muted">${esc(t("ops.incidents.no_element"))}</p>`; return; }
  let lastError = null;
  for (const body of candidates.slice(0, 5)) {
    try {
      const plan = await api("/isolation/plan", { method: "POST", body });
      const id = body.node_id || body.pipe_id;
      const critical = plan.critical_users || [];
      const kinds = Object.entries(plan.customers_by_kind || {}).map(([k, n]) => `<li>${esc(k)}: ${n}</li>`);
      box.innerHTML = `
        <p id="affected-count" data-count="${plan.customer_count}" data-element="${esc(id)}">${esc(t("ops.incidents.affected_count", { count: plan.customer_count, element: id }))}</p>
        <ul>${kinds.join("")}</ul>
        ${critical.length ? `<p>${esc(t("ops.incidents.critical", { names: critical.map((c) => c.name).join(", ") }))}</p>` : ""}
        <p>${esc(t("ops.incidents.valves", { valves: plan.valves_to_close.map((v) => v.valve_id).join(", ") || "–" }))}</p>`;
      return;
    } catch (error) { lastError = error; }
  }
  box.innerHTML = `<p class="muted">${esc(t("ops.incidents.affected_unavailable", { detail: lastError.message }))}</p>`;
}
