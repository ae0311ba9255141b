// Outage notices (停水通知) for my address, and the tariff book with a bill calculator.
import { api, announce, esc, formatNumber, formatTime, t } from "../common.js";
import { attempt, described, field, pick, setInvalid, show } from "./ui.js";

export async function renderNotices(ctx) {
  const [page, contacts] = await Promise.all([api("/notices?limit=100"), api("/notices/contacts/mine")]);
  const accounts = contacts.length
    ? t("portal.notices.accounts", { accounts: contacts.map((c) => c.account_id).join(", ") })
    : t("portal.notices.no_account");
  const items = page.items.map((n) => `
    <li class="panel notice notice-${esc(n.kind)}">
      <h3>${esc(n.area)} · ${esc(t("notice." + n.kind))}</h3>
      <p><strong>${esc(formatTime(n.starts_at))} – ${esc(formatTime(n.ends_at))}</strong></p>
      <p>${esc(t("portal.notices.reason", { reason: n.reason }))}</p>
      <p>${esc(pick(n.body, n.body_zh))}</p>
      <p class="muted">${esc(t("portal.notices.issued", { at: formatTime(n.issued_at) }))}</p>
    </li>`).join("");
  show(ctx.view, `
    <h2>${esc(t("portal.notices.heading"))}</h2>
    <p class="muted" id="my-accounts">${esc(accounts)}</p>
    ${page.items.length ? `<ul class="notices" id="notices-list">${items}</ul>`
      : `<p class="panel" id="no-notices">${esc(t("portal.notices.none"))}</p>`}`);
}

/** ``key`` in the page's language, or ``fallback`` (the API's own words) when the bundles do
 *  not know the key: a utility may add tariffs and charges the bundles have no words for. */
function wordOr(key, fallback, vars = {}) {
  const text = t(key, vars);
  return text === key ? fallback : text;
}

/** A tariff's name in the page's language, by its code (its name in the tariff book). */
export function tariffName(code) {
  return wordOr("portal.tariffs.name." + code, code);
}

/** A charge line's name (water-resource fee, sewage charge) by its code, else the book's name. */
function chargeName(code, name) {
  return code ? wordOr("portal.tariffs.charge." + code, name) : name;
}

/** A bill line's label in the page's language, from its kind (the API's English label for a
 *  kind this page does not know). */
function billLineLabel(line) {
  if (line.kind === "tier") return t("portal.tariffs.tier", { n: line.tier });
  if (line.kind === "water") return t("portal.bill.water");
  if (line.kind === "surcharge") return t("portal.bill.surcharge", { factor: formatNumber(line.factor) });
  if (line.kind === "charge") return chargeName(line.code, line.label);
  return line.label;
}

/** A tariff's tiers as table rows: volume band [m³ per billing period] and price [yuan/m³]. */
export function tierRows(tariff) {
  if (tariff.kind === "block") {
    let lower = 0;
    return tariff.tiers.map((tier, i) => {
      const band = tier.upper_m3 === null
        ? t("portal.tariffs.above", { lower: formatNumber(lower) })
        : t("portal.tariffs.band", { lower: formatNumber(lower), upper: formatNumber(tier.upper_m3) });
      lower = tier.upper_m3 ?? lower;
      return `<tr><td>${esc(t("portal.tariffs.tier", { n: i + 1 }))}</td><td>${esc(band)}</td>
        <td>${esc(formatNumber(tier.price_yuan_m3))}</td></tr>`;
    }).join("");
  }
  const base = `<tr><td>${esc(t("portal.tariffs.base"))}</td><td>${tariff.quota_m3 === null ? "–"
    : esc(t("portal.tariffs.band", { lower: 0, upper: formatNumber(tariff.quota_m3) }))}</td>
    <td>${esc(formatNumber(tariff.base_price_yuan_m3))}</td></tr>`;
  return base + tariff.tiers.map((band) => `<tr><td>${esc(t("portal.tariffs.surcharge"))}</td>
    <td>${esc(band.upper_excess === null ? t("portal.tariffs.excess_above")
      : t("portal.tariffs.excess", { pct: formatNumber(band.upper_excess * 100, 0) }))}</td>
    <td>× ${esc(formatNumber(band.factor))}</td></tr>`).join("");
}

export function tariffTable(tariff) {
  const charges = Object.entries(tariff.charges).map(([name, price]) =>
    `<li>${esc(t("portal.tariffs.charge_price", { charge: chargeName(tariff.charge_codes[name], name), price: formatNumber(price) }))}</li>`).join("");
  return `<table class="tariff" data-tariff="${esc(tariff.name)}">
      <caption>${esc(tariffName(tariff.name))} · ${esc(t("portal.tariffs.class." + tariff.customer_class))} · ${esc(t("portal.tariffs.period." + tariff.period))}</caption>
      <thead><tr><th scope="col">${esc(t("portal.tariffs.col.tier"))}</th><th scope="col">${esc(t("portal.tariffs.col.volume"))}</th>
        <th scope="col">${esc(t("portal.tariffs.col.price"))}</th></tr></thead>
      <tbody>${tierRows(tariff)}</tbody>
    </table>${charges ? `<ul class="charges">${charges}</ul>` : ""}`;
}

export async function renderTariffs(ctx) {
  const tariffs = await api("/tariffs");
  const mine = ctx.user.role === "enterprise_customer" ? "non_household" : "household";
  const shown = tariffs.filter((x) => x.customer_class === mine);
  const options = tariffs.map((x) => `<option value="${esc(x.name)}" ${x === shown[0] ? "selected" : ""}>${esc(tariffName(x.name))}</option>`).join("");
  show(ctx.view, `
    <h2>${esc(t("portal.tariffs.heading"))}</h2>
    <p class="muted">${esc(t("portal.tariffs.intro"))}</p>
    <div class="tariffs">${(shown.length ? shown : tariffs).map(tariffTable).join("")}</div>
    <form id="bill-form" class="panel" novalidate>
      <h3>${esc(t("portal.bill.heading"))}</h3>
      ${field("bill-tariff", "portal.bill.tariff", `<select id="bill-tariff" name="tariff" ${described("bill-tariff")}>${options}</select>`)}
      ${field("bill-volume", "portal.bill.volume", `<input id="bill-volume" name="volume_m3" inputmode="decimal" ${described("bill-volume")}>`)}
      <button type="submit">${esc(t("portal.bill.submit"))}</button>
    </form>
    <div id="bill-result"></div>`);
  const form = ctx.view.querySelector("#bill-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const volume = Number(form.volume_m3.value);
    const ok = form.volume_m3.value.trim() !== "" && Number.isFinite(volume) && volume >= 0;
    if (!setInvalid(form.volume_m3, ok ? "" : t("portal.invalid.volume"))) { form.volume_m3.focus(); return; }
    const bill = await attempt(() => api("/tariffs/bill", { method: "POST", body: { volume_m3: volume, tariff: form.tariff.value } }), { form });
    if (!bill) return;
    ctx.view.querySelector("#bill-result").innerHTML = `
      <table class="panel" id="bill-lines">
        <caption>${esc(t("portal.bill.result", { tariff: tariffName(bill.tariff), volume: formatNumber(bill.volume_m3) }))}</caption>
        <thead><tr><th scope="col">${esc(t("portal.bill.line"))}</th><th scope="col">${esc(t("portal.bill.col.volume"))}</th>
          <th scope="col">${esc(t("portal.tariffs.col.price"))}</th><th scope="col">${esc(t("portal.bill.amount"))}</th></tr></thead>
        <tbody>${bill.lines.map((l) => `<tr><td>${esc(billLineLabel(l))}</td><td>${esc(formatNumber(l.volume_m3))}</td>
          <td>${esc(formatNumber(l.price_yuan_m3))}</td><td>${esc(formatNumber(l.amount_yuan))}</td></tr>`).join("")}</tbody>
        <tfoot><tr><th scope="row" colspan="3">${esc(t("portal.bill.total"))}</th><td id="bill-total">${esc(formatNumber(bill.total_yuan))}</td></tr></tfoot>
      </table>`;
    announce(t("portal.bill.total_is", { total: formatNumber(bill.total_yuan) }));
  });
}
