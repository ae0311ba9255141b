// The raw-water trunk main (输水主干线): safe-operation days, the volume delivered today and
// since commissioning (m³, with the hours of readings behind them), each meter's latest
// reading (flow in L/s, pressure in MPa; stale ones marked) and the recorded failures; the
// dispatcher records a failure (it restarts the safe-operation counter).
import { announce, api, esc, formatNumber, formatTime, t, units } from "../common.js";
import { able } from "./workorders.js";

let ctx;
let bound = false;

export function initTrunkMain(context) { ctx = context; }

export async function showTrunkMain() {
  const body = document.getElementById("trunkmain-body");
  if (!bound) {
    bound = true;
    body.innerHTML = `<div id="tm-status" aria-live="polite"></div><div id="tm-failures"></div>
      ${able(ctx.user.role, "trunk_main:record_failure") ? failureForm() : ""}`;
    const form = body.querySelector("#tm-record");
    if (form) form.addEventListener("submit", record);
  }
  await Promise.all([status(), failures()]);
}

function meterValue(m) {
  if (m.value === null) return "–";
  if (m.quantity === "flow") return `${formatNumber(units.ls(m.value), 1)} L/s`;
  if (m.quantity === "pressure") return `${formatNumber(units.mpa(m.value), 3)} MPa`;
  return formatNumber(m.value, 3);
}

async function status() {
  const box = document.getElementById("tm-status");
  let s;
  try {
    s = await api("/trunk-main");
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.nav.trunkmain")))}</p>`;
    return;
  }
  const hours = (sec) => formatNumber(units.hours(sec), 1);
  const meters = s.meters.map((m) => `<tr data-meter="${esc(m.sensor_id)}"><td>${esc(m.sensor_id)}</td>
      <td>${esc(t("ops.q." + m.quantity))}</td><td>${m.chainage_m === null ? "–" : esc(formatNumber(m.chainage_m / 1000, 2)) + " km"}</td>
      <td>${esc(meterValue(m))}</td><td>${esc(formatTime(m.time))}</td>
      <td>${m.stale ? `<span class="badge minor">${esc(t("ops.tm.stale"))}</span>` : esc(t("ops.tm.fresh"))}</td></tr>`);
  box.innerHTML = `
    <h3>${esc(s.name)} <span class="muted">(${esc(formatNumber(s.length_m / 1000, 1))} km)</span></h3>
    <dl class="facts" id="tm-facts" data-safe-days="${s.safe_operation_days}">
      <dt>${esc(t("ops.tm.safe_days"))}</dt><dd id="tm-safe-days">${s.safe_operation_days}</dd>
      <dt>${esc(t("ops.tm.safe_since"))}</dt><dd>${esc(formatTime(s.safe_since))}</dd>
      <dt>${esc(t("ops.tm.today"))}</dt><dd>${esc(formatNumber(s.volume_today_m3, 0))} m³ <span class="muted">${esc(t("ops.tm.covered", { hours: hours(s.volume_today_covered_s) }))}</span></dd>
      <dt>${esc(t("ops.tm.total"))}</dt><dd>${esc(formatNumber(s.volume_total_m3, 0))} m³ <span class="muted">${esc(t("ops.tm.covered", { hours: hours(s.volume_total_covered_s) }))}</span></dd>
      <dt>${esc(t("ops.tm.last_failure"))}</dt><dd>${s.last_failure ? `${esc(formatTime(s.last_failure.occurred_at))}: ${esc(s.last_failure.description)}` : esc(t("ops.tm.no_failure"))}</dd>
    </dl>
    <table><caption>${esc(t("ops.tm.meters"))}</caption>
      <thead><tr><th scope="col">${esc(t("ops.tm.meter"))}</th><th scope="col">${esc(t("ops.tm.quantity"))}</th>
        <th scope="col">${esc(t("ops.tm.chainage"))}</th><th scope="col">${esc(t("ops.tm.value"))}</th>
        <th scope="col">${esc(t("common.time"))}</th><th scope="col">${esc(t("common.status"))}</th></tr></thead>
      <tbody>${meters.join("")}</tbody></table>`;
}

async function failures() {
  const box = document.getElementById("tm-failures");
  let page;
  try {
    page = await api("/trunk-main/failures?limit=50");
  } catch (error) {
    box.innerHTML = "";
    return;
  }
  box.innerHTML = `<table><caption>${esc(t("ops.tm.failures"))}</caption>
    <thead><tr><th scope="col">${esc(t("ops.tm.occurred"))}</th><th scope="col">${esc(t("ops.tm.description"))}</th>
      <th scope="col">${esc(t("ops.tm.link"))}</th><th scope="col">${esc(t("ops.tm.recorded_by"))}</th></tr></thead>
    <tbody id="tm-failure-rows">${page.items.map((f) => `<tr data-failure="${f.id}"><td>${esc(formatTime(f.occurred_at))}</td><td>${esc(f.description)}</td>
      <td>${esc(f.link_id || "–")}</td><td>${esc(f.recorded_by)}</td></tr>`).join("")}</tbody></table>
    ${page.items.length ? "" : `<p class="muted">${esc(t("ops.tm.no_failure"))}</p>`}`;
}

function failureForm() {
  return `<form id="tm-record" class="panel inject">
    <h3>${esc(t("ops.tm.record"))}</h3>
    <label for="tm-occurred">${esc(t("ops.tm.occurred"))}</label>
    <input id="tm-occurred" name="occurred_at" type="datetime-local" required>
    <label for="tm-description">${esc(t("ops.tm.description"))}</label>
    <input id="tm-description" name="description" required maxlength="500">
    <label for="tm-link">${esc(t("ops.tm.link"))}</label>
    <input id="tm-link" name="link_id" maxlength="64" pattern="[A-Za-z0-9_.:\\-]+">
    <p><button type="submit">${esc(t("ops.tm.record"))}</button></p>
  </form>`;
}

/** A datetime-local value (China Standard Time, UTC+8, no daylight saving) as ISO with offset. */
export function chinaTime(local) { return `${local.length === 16 ? local + ":00" : local}+08:00`; }

async function record(event) {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target).entries());
  const payload = { occurred_at: chinaTime(data.occurred_at), description: data.description.trim() };
  if (data.link_id.trim()) payload.link_id = data.link_id.trim();
  try {
    await api("/trunk-main/failures", { method: "POST", body: payload });
    announce(t("ops.tm.recorded"));
    event.target.reset();
    await Promise.all([status(), failures()]);
  } catch (error) {
    ctx.fail(error, t("ops.tm.record"));
  }
}
