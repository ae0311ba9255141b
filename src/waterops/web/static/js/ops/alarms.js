// The alarm list: newest first, acknowledge / assign / resolve for the roles allowed to act
// (buttons only for the actions the alarm's state allows: the API's ``allowed_actions``).
// New alarms and state changes arrive on the stream without a reload.
import { announce, api, esc, formatNumber, formatTime, lang, t } from "../common.js";

let ctx;
const alarms = new Map(); // id → alarm
let loaded = false;
const OPEN = ["raised", "acknowledged", "assigned"];
const CAUSES = ["pipe_burst", "leak", "pump_trip", "valve_fault", "power_failure", "source_outage",
  "water_quality", "sensor_fault", "booster_fault", "building_tank_empty", "upstream_network_low",
  "local_fault", "planned_work", "false_alarm", "other"];

export function initAlarms(context) {
  ctx = context;
  document.getElementById("alarm-filter").addEventListener("change", render);
  document.getElementById("alarm-rows").addEventListener("click", onAction);
  document.getElementById("alarm-rows").addEventListener("submit", onForm);
}

export async function showAlarms() {
  if (!loaded) await load();
  render();
}

async function load() {
  try {
    const page = await api("/alarms?limit=200");
    page.items.forEach((a) => alarms.set(a.id, a));
    loaded = true;
  } catch (error) {
    ctx.fail(error, t("ops.alarms.heading"));
  }
}

/** An ``alarm`` event of the stream: the alarm after what happened to it. */
export function alarmEvent(data) {
  const alarm = data.alarm || data;
  if (!alarm || alarm.id === undefined) return;
  const isNew = !alarms.has(alarm.id);
  const old = alarms.get(alarm.id) || {};
  alarms.set(alarm.id, { ...old, ...alarm, allowed_actions: alarm.allowed_actions || allowedFor(alarm.state) });
  if (isNew && OPEN.includes(alarm.state)) announce(t("ops.alarms.new", { source: alarm.source, message: message(alarm) }));
  if (!document.getElementById("view-alarms").hidden) renderUnlessEditing();
}

let pending = false;

/** Re-draw the list, unless an operator is filling in an assign or resolve form (then after). */
function renderUnlessEditing() {
  if (document.querySelector("#alarm-rows form")) { pending = true; return; }
  pending = false;
  render();
}

function allowedFor(state) {
  if (state === "raised") return ["acknowledge", "assign", "resolve"];
  if (state === "acknowledged") return ["assign", "resolve"];
  if (state === "assigned") return ["assign", "resolve"];
  if (state === "cleared") return ["resolve"];
  return [];
}

function message(a) { return lang() === "zh-CN" && a.message_zh ? a.message_zh : a.message; }

function render() {
  const showAll = document.getElementById("alarm-filter").value === "all";
  const list = [...alarms.values()]
    .filter((a) => showAll || OPEN.includes(a.state))
    .sort((p, q) => (q.raised_at || "").localeCompare(p.raised_at || "") || q.id - p.id);
  const body = document.getElementById("alarm-rows");
  const act = ctx.can("alarm_actions");
  body.innerHTML = list.map((a) => `
    <tr data-alarm="${a.id}" data-state="${esc(a.state)}">
      <td>${esc(formatTime(a.raised_at))}</td>
      <td><span class="badge ${esc(a.severity)}">${esc(t("ops.severity." + a.severity))}</span></td>
      <td>${esc(a.source)}</td>
      <td>${esc(message(a))}${a.value !== null && a.value !== undefined ? ` <span class="muted">(${esc(formatNumber(a.value, 3))} ${esc(a.unit || "")})</span>` : ""}
        ${a.incident_id ? `<br><a href="#incidents/${a.incident_id}">${esc(t("ops.alarms.incident", { id: a.incident_id }))}</a>` : ""}
        ${a.assignee ? `<br><span class="muted">${esc(t("ops.alarms.assignee", { who: a.assignee }))}</span>` : ""}</td>
      <td class="state">${esc(t("ops.state." + a.state))}</td>
      <td class="actions">${act ? actions(a) : `<span class="muted">${esc(t("ops.alarms.view_only"))}</span>`}</td>
    </tr>`).join("");
  document.getElementById("alarm-empty").hidden = list.length > 0;
}

function actions(a) {
  const allowed = a.allowed_actions || [];
  const label = (action) => t(`ops.action.${action}`);
  const named = (action) => `${t("ops.action." + action)} ${a.source}`;
  let html = "";
  if (allowed.includes("acknowledge")) html += `<button type="button" data-action="acknowledge" aria-label="${esc(named("acknowledge"))}">${esc(label("acknowledge"))}</button> `;
  if (allowed.includes("assign")) html += `<button type="button" class="secondary" data-action="assign" aria-label="${esc(named("assign"))}">${esc(label("assign"))}</button> `;
  if (allowed.includes("resolve")) html += `<button type="button" class="secondary" data-action="resolve" aria-label="${esc(named("resolve"))}">${esc(label("resolve"))}</button>`;
  return html || `<span class="muted">–</span>`;
}

async function onAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("tr");
  const id = Number(row.dataset.alarm);
  const action = button.dataset.action;
  if (action === "acknowledge") { await send(id, "acknowledge", {}); return; }
  // assign and resolve ask for one more thing, in a small form under the buttons
  const cell = row.querySelector(".actions");
  cell.querySelector("form")?.remove();
  const form = document.createElement("form");
  form.className = "alarm-form";
  form.dataset.action = action;
  const field = `alarm-${id}-${action}`;
  form.innerHTML = action === "assign"
    ? `<label for="${field}">${esc(t("ops.alarms.assign_to"))}</label><input id="${field}" name="assignee" required maxlength="200" value="${esc(ctx.user.username)}">`
    : `<label for="${field}">${esc(t("ops.alarms.cause"))}</label><select id="${field}" name="cause">${CAUSES.map((c) => `<option value="${c}">${esc(t("ops.cause." + c))}</option>`).join("")}</select>`;
  form.innerHTML += `<label for="${field}-note">${esc(t("ops.alarms.note"))}</label><input id="${field}-note" name="note" maxlength="2000">
    <button type="submit">${esc(t("ops.action." + action))}</button> <button type="button" class="secondary" data-cancel>${esc(t("common.cancel"))}</button>`;
  cell.appendChild(form);
  form.querySelector("[data-cancel]").addEventListener("click", () => {
    form.remove();
    if (pending) renderUnlessEditing();
    document.querySelector(`#alarm-rows tr[data-alarm="${id}"] button[data-action="${action}"]`)?.focus();
  });
  form.querySelector("input, select").focus();
}

async function onForm(event) {
  event.preventDefault();
  const form = event.target;
  const id = Number(form.closest("tr").dataset.alarm);
  const data = Object.fromEntries(new FormData(form).entries());
  await send(id, form.dataset.action, data);
}

async function send(id, action, body) {
  try {
    const alarm = await api(`/alarms/${id}/${action}`, { method: "POST", body });
    alarms.set(alarm.id, alarm);
    pending = false;
    render();
    announce(t("ops.alarms.done", { action: t("ops.action." + action), source: alarm.source }));
    const row = document.querySelector(`#alarm-rows tr[data-alarm="${id}"]`);
    (row?.querySelector("button[data-action]") || document.getElementById("alarm-filter")).focus();
  } catch (error) {
    ctx.fail(error, t("ops.action." + action));
  }
}
