// My connection applications (用水报装): the list, and one application followed live on its
// timeline with the SLA clock (working days, due date) and the applicant's own moves
// (accept the quote — step 2 of the standard process — or withdraw).
import { ApiError, announce, api, esc, formatNumber, formatTime, t } from "../common.js";
import { attempt, days, show, showNotFound } from "./ui.js";

const REFRESH_MS = 5_000;
/** Work stages of each process, in order (as waterops.model.connections declares them). */
const STAGES = {
  standard: ["application", "acceptance_survey", "design_quote", "construction", "meter_installation"],
  enterprise_park: ["application", "acceptance_survey", "design_quote", "construction", "meter_installation"],
  express: ["application", "acceptance_survey", "meter_installation"],
};
const FINAL = ["water_on", "rejected", "withdrawn"];

export function stagesOf(app) {
  const stages = STAGES[app.template].filter((s) => app.external_works || s !== "construction");
  return [...stages, "water_on"];
}

export async function renderApplications(ctx) {
  const page = await api("/connections?limit=100");
  const rows = page.items.map((a) => `
    <tr>
      <td><a href="#applications/${a.id}">${esc(t("portal.app.number", { id: a.id }))}</a></td>
      <td>${esc(a.address)}</td>
      <td>${esc(t("template." + a.template))}</td>
      <td><span class="badge state-${esc(a.state)}">${esc(t("state." + a.state))}</span></td>
      <td>${esc(formatTime(a.created_at))}</td>
    </tr>`).join("");
  show(ctx.view, `
    <h2>${esc(t("portal.apps.heading"))}</h2>
    <p><a class="button" href="#apply">${esc(t("portal.apps.new"))}</a></p>
    ${page.items.length ? `
    <table id="applications-table">
      <caption class="sr-only">${esc(t("portal.apps.heading"))}</caption>
      <thead><tr><th scope="col">${esc(t("portal.app.col.number"))}</th><th scope="col">${esc(t("portal.app.address"))}</th>
        <th scope="col">${esc(t("portal.app.template"))}</th><th scope="col">${esc(t("common.status"))}</th>
        <th scope="col">${esc(t("portal.app.submitted"))}</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>` : `<p class="panel" id="no-applications">${esc(t("portal.apps.none"))}</p>`}`);
}

export async function renderApplication(ctx, id) {
  let timer = null;
  const load = async () => {
    try {
      const [app, timeline, sla] = await Promise.all([
        api(`/connections/${id}`),
        api(`/connections/${id}/timeline?limit=200`),
        api(`/connections/${id}/sla`),
      ]);
      const doc = await api(`/documents/${app.document_id}`).catch(() => null);
      return { app, timeline: timeline.items, sla, doc };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  };
  const data = await load();
  if (!data) { showNotFound(ctx.view, "portal.kind.application", id, "#applications"); return; }
  draw(ctx.view, data);
  bind(ctx.view, id, async () => { const again = await load(); if (again) draw(ctx.view, again, true); });
  // live progress: staff move the application; the page follows without a reload
  timer = setInterval(async () => {
    const again = await load().catch(() => null);
    if (again && again.timeline.length !== ctx.view.querySelectorAll("#timeline li").length) {
      draw(ctx.view, again, true);
      announce(t("portal.app.updated", { state: t("state." + again.app.state) }));
    }
  }, REFRESH_MS);
  ctx.onLeave = () => { clearInterval(timer); ctx.view.onclick = null; };
}

function draw(view, { app, timeline, sla, doc }, keepFocus = false) {
  const focused = keepFocus ? document.activeElement?.id : null;
  const reached = new Map();
  for (const e of timeline) if (!reached.has(e.state_after)) reached.set(e.state_after, e.at);
  const stages = stagesOf(app);
  const current = app.state === "paused" ? app.paused_from : app.state;
  const currentIndex = stages.indexOf(current);
  const steps = stages.map((stage, i) => {
    const stopped = app.state === "rejected" || app.state === "withdrawn";
    const done = app.state === "water_on" || (stopped ? reached.has(stage) : i < currentIndex);
    const here = stage === current && app.state !== "water_on";
    const status = done ? "done" : here ? "current" : stopped ? "skipped" : "todo";
    const when = reached.get(stage);
    const clock = here ? sla.stages.filter((c) => c.stage === stage).at(-1) : null;
    const due = clock && clock.status.due_at && app.state !== "paused"
      ? `<span class="stage-time stage-due">${esc(t("portal.stage.due", { at: formatTime(clock.status.due_at) }))}</span>` : "";
    return `<li class="stage ${status}" data-stage="${esc(stage)}" ${here ? 'aria-current="step"' : ""}>
        <span class="stage-name">${esc(t("state." + stage))}</span>
        <span class="stage-status">${esc(t("portal.stage." + status))}</span>
        ${when ? `<span class="stage-time">${esc(formatTime(when))}</span>` : ""}${due}
      </li>`;
  }).join("");
  const entries = timeline.map((e) => `
      <li><time datetime="${esc(e.at)}">${esc(formatTime(e.at))}</time>
        <strong>${esc(t("state." + e.state_after))}</strong>
        <span class="muted">${esc(t("action." + e.action))}</span>
        ${e.note ? `<span class="note">${esc(e.note)}</span>` : ""}</li>`).join("");
  const e2e = sla.end_to_end;
  const clock = FINAL.includes(app.state) ? "" : `
    <div class="panel sla sla-${esc(e2e.state)}" id="sla">
      <h3>${esc(t("portal.sla.heading"))}</h3>
      <p>${esc(t("portal.sla.summary", { used: days(e2e.used_days), budget: days(e2e.budget_days), remaining: days(e2e.remaining_days) }))}</p>
      <p>${esc(t("portal.sla.due"))}: <strong>${esc(formatTime(e2e.due_at))}</strong>
        · <span class="badge ${e2e.state === "breached" ? "critical" : e2e.state === "warning" ? "warning" : "ok"}">${esc(t("sla." + e2e.state))}</span>
        ${e2e.paused ? `· ${esc(t("portal.sla.paused"))}` : ""}</p>
    </div>`;
  const actions = [];
  if (app.state === "design_quote") {
    actions.push(`<button type="button" id="accept-quote">${esc(t("portal.app.accept_quote"))}</button>`);
  }
  if (!FINAL.includes(app.state)) {
    actions.push(`<button type="button" class="secondary" id="withdraw">${esc(t("portal.app.withdraw"))}</button>`);
  }
  show(view, `
    <h2>${esc(t("portal.app.number", { id: app.id }))} · ${esc(app.address)}</h2>
    <p><a href="#applications">${esc(t("portal.back"))}</a></p>
    <div class="app-summary panel">
      <p>${esc(t("portal.app.template"))}: <strong>${esc(t("template." + app.template))}</strong></p>
      <p>${esc(t("common.status"))}: <strong id="app-state">${esc(t("state." + app.state))}</strong></p>
      ${doc ? `<p>${esc(t("portal.app.document"))}: <span id="app-document">${esc(doc.original_name)}</span>
        <span class="muted">(${esc(doc.media_type)}, ${esc(formatNumber(doc.size_bytes / 1024, 1))} kB)</span></p>` : ""}
      ${app.water_on_at ? `<p>${esc(t("portal.app.water_on_at"))}: <strong>${esc(formatTime(app.water_on_at))}</strong></p>` : ""}
    </div>
    <h3>${esc(t("portal.app.stages"))}</h3>
    <ol class="stages" id="stages">${steps}</ol>
    ${clock}
    <div class="actions" id="app-actions">${actions.join(" ")}</div>
    <div id="withdraw-confirm" hidden class="panel">
      <p>${esc(t("portal.app.withdraw_confirm"))}</p>
      <button type="button" class="danger" id="withdraw-yes">${esc(t("portal.app.withdraw_yes"))}</button>
      <button type="button" class="secondary" id="withdraw-no">${esc(t("common.cancel"))}</button>
    </div>
    <h3>${esc(t("portal.app.timeline"))}</h3>
    <ol class="timeline" id="timeline">${entries}</ol>
    <button type="button" class="secondary" id="refresh">${esc(t("common.refresh"))}</button>`);
  view.dataset.appId = String(app.id);
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function bind(view, id, reload) {
  // one delegated listener: the content is redrawn, the listener stays
  view.onclick = async (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.id === "refresh") { await reload(); announce(t("portal.refreshed")); }
    if (target.id === "accept-quote") {
      const done = await attempt(() => api(`/connections/${id}/actions`, { method: "POST", body: { action: "accept_quote" } }));
      if (done) { await reload(); announce(t("portal.app.updated", { state: t("state." + done.state) })); }
    }
    if (target.id === "withdraw") {
      view.querySelector("#withdraw-confirm").hidden = false;
      view.querySelector("#withdraw-yes").focus();
    }
    if (target.id === "withdraw-no") {
      view.querySelector("#withdraw-confirm").hidden = true;
      view.querySelector("#withdraw")?.focus();
    }
    if (target.id === "withdraw-yes") {
      const done = await attempt(() => api(`/connections/${id}/actions`, { method: "POST", body: { action: "withdraw" } }));
      if (done) { await reload(); announce(t("portal.app.updated", { state: t("state." + done.state) })); }
    }
  };
}
