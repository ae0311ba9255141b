// Treatment (水厂): the coagulant and ozone dose ranges for a raw water (turbidity NTU,
// temperature °C, ammonia-N and CODMn mg/L) with the evidence behind them, and the plant
// outlet's drift flags against GB 5749-2022 (turbidity, chlorine heading for a limit).
import { announce, api, esc, formatNumber, t } from "../common.js";

let ctx;
let bound = false;

export function initTreatment(context) { ctx = context; }

export async function showTreatment() {
  const body = document.getElementById("treatment-body");
  if (!bound) {
    bound = true;
    body.innerHTML = frame();
    body.querySelector("#dose-form").addEventListener("submit", recommend);
    body.querySelector("#drift-form").addEventListener("submit", (e) => { e.preventDefault(); drift(); });
  }
  await drift();
}

function frame() {
  const field = (id, key, name, attrs) => `<div><label for="${id}">${esc(t(key))}</label><input id="${id}" name="${name}" type="number" step="any" required ${attrs}></div>`;
  return `
  <div class="panel">
    <h3>${esc(t("ops.tr.dose"))}</h3>
    <form id="dose-form" class="em-form" style="display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:0 12px;align-items:end">
      ${field("dose-turbidity", "ops.tr.turbidity", "turbidity_ntu", 'min="0.01" max="5000" value="12"')}
      ${field("dose-temperature", "ops.tr.temperature", "temperature_c", 'min="-1" max="40" value="15"')}
      ${field("dose-ammonia", "ops.tr.ammonia", "ammonia_mg_l", 'min="0" max="20" value="0.2"')}
      ${field("dose-codmn", "ops.tr.codmn", "codmn_mg_l", 'min="0" max="50" value="3"')}
      ${field("dose-level", "ops.tr.level", "level", 'min="50" max="99" value="90"')}
      <p><button type="submit">${esc(t("ops.tr.recommend"))}</button></p>
    </form>
    <div id="dose-result" aria-live="polite"></div>
  </div>
  <div class="panel">
    <form id="drift-form" class="view-head">
      <h3>${esc(t("ops.tr.drift"))}</h3>
      <label for="drift-window" class="inline">${esc(t("ops.tr.window"))}</label>
      <select id="drift-window" name="window"><option value="7">7 d</option><option value="14">14 d</option><option value="30">30 d</option></select>
      <button type="submit">${esc(t("common.refresh"))}</button>
    </form>
    <div id="drift-result" aria-live="polite"></div>
  </div>`;
}

async function recommend(event) {
  event.preventDefault();
  const box = document.getElementById("dose-result");
  const d = Object.fromEntries(new FormData(event.target).entries());
  const payload = { turbidity_ntu: Number(d.turbidity_ntu), temperature_c: Number(d.temperature_c),
    ammonia_mg_l: Number(d.ammonia_mg_l), codmn_mg_l: Number(d.codmn_mg_l), level: Number(d.level) / 100 };
  box.innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  let r;
  try {
    r = await api("/treatment/recommendation", { method: "POST", body: payload });
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.tr.dose")))}</p>`;
    return;
  }
  const range = (x) => `${formatNumber(x.dose_mg_l, 2)} mg/L (${formatNumber(x.low_mg_l, 2)} – ${formatNumber(x.high_mg_l, 2)})`;
  const validations = r.validations.map((v) => `<tr><td>${esc(v.target)}</td><td>${esc(formatNumber(v.mae_mg_l, 3))}</td>
    <td>${esc(formatNumber(v.baseline_mae_mg_l, 3))}</td><td>${esc(formatNumber(v.coverage * 100, 0))} %</td><td>${v.n_train} / ${v.n_test}</td></tr>`);
  box.innerHTML = `
    <dl class="facts" id="dose-facts">
      <dt>${esc(t("ops.tr.coagulant"))}</dt><dd id="dose-coagulant" data-low="${r.coagulant.low_mg_l}" data-high="${r.coagulant.high_mg_l}">${esc(range(r.coagulant))}</dd>
      <dt>${esc(t("ops.tr.ozone"))}</dt><dd id="dose-ozone" data-low="${r.ozone.low_mg_l}" data-high="${r.ozone.high_mg_l}">${esc(range(r.ozone))}</dd>
      <dt>${esc(t("ops.tr.probability"))}</dt><dd>${esc(formatNumber(r.level * 100, 0))} %</dd>
      <dt>${esc(t("ops.tr.history"))}</dt><dd>${esc(t("ops.tr.records", { n: r.history_records, source: r.history_source }))}</dd>
    </dl>
    ${r.outside_training.length ? `<p class="error">${esc(t("ops.tr.outside", { what: r.outside_training.join(", ") }))}</p>` : ""}
    ${validations.length ? `<table><caption>${esc(t("ops.tr.validation"))}</caption>
      <thead><tr><th scope="col">${esc(t("ops.tr.target"))}</th><th scope="col">${esc(t("ops.tr.mae"))}</th><th scope="col">${esc(t("ops.tr.baseline"))}</th>
      <th scope="col">${esc(t("ops.tr.coverage"))}</th><th scope="col">${esc(t("ops.tr.records_split"))}</th></tr></thead>
      <tbody>${validations.join("")}</tbody></table>` : ""}`;
  announce(t("ops.tr.done"));
}

async function drift() {
  const box = document.getElementById("drift-result");
  const days = document.getElementById("drift-window").value;
  try {
    const r = await api(`/treatment/outlet-drift?window_days=${days}`);
    const seen = Object.entries(r.hours_seen).map(([q, n]) => `${esc(q)}: ${n} h`).join(", ");
    box.innerHTML = `<p class="muted">${esc(t("ops.tr.hours_seen"))}: ${seen || "–"}</p>
      ${r.flags.length ? `<table id="drift-flags"><caption class="sr-only">${esc(t("ops.tr.drift"))}</caption>
        <thead><tr><th scope="col">${esc(t("ops.tm.quantity"))}</th><th scope="col">${esc(t("common.status"))}</th><th scope="col">${esc(t("ops.tr.now"))}</th>
          <th scope="col">${esc(t("ops.tr.limit"))}</th><th scope="col">${esc(t("ops.tr.slope"))}</th><th scope="col">${esc(t("ops.tr.days_to_limit"))}</th></tr></thead>
        <tbody>${r.flags.map((f) => `<tr data-flag="${esc(f.quantity)}"><td>${esc(f.quantity)}</td>
          <td><span class="badge ${f.state === "beyond" ? "major" : "minor"}">${esc(t("ops.tr.state." + f.state))}</span></td>
          <td>${esc(formatNumber(f.level, 3))} ${esc(f.unit)}</td><td>${esc(f.limit)} ${esc(formatNumber(f.bound, 3))} ${esc(f.unit)} (${esc(f.clause)})</td>
          <td>${esc(formatNumber(f.slope_per_day, 4))} ${esc(f.unit)}/d</td><td>${f.days_to_limit === null ? "–" : esc(formatNumber(f.days_to_limit, 1))}</td></tr>`).join("")}</tbody></table>`
        : `<p id="drift-none">${esc(t("ops.tr.no_flags"))}</p>`}`;
  } catch (error) {
    box.innerHTML = `<p class="error" id="drift-error">${esc(ctx.fail(error, t("ops.tr.drift")))}</p>`;
  }
}
