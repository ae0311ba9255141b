// Complaints and repair requests (投诉/报修): file one with where it is (my account, a customer
// account number, a network node, or a map point in WGS 84 degrees), see the automatic diagnosis
// from telemetry and the callback promised within two minutes; my complaints, their history,
// reopen, and the satisfaction survey after closing.
import { ApiError, announce, api, esc, formatNumber, formatTime, t } from "../common.js";
import { attempt, described, field, pick, setInvalid, show, showNotFound } from "./ui.js";

const CATEGORIES = ["low_pressure", "no_water", "water_quality", "leak", "billing", "meter"];
const WHERE = ["mine", "account", "node", "point"];
const ELEMENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/; // as the API's schema (api/schemas/complaints.py)
const PHONE = /^(\+?[0-9][0-9 -]{3,30})?$/;

export async function renderComplaints(ctx) {
  const page = await api("/complaints?limit=100");
  const categories = CATEGORIES.map((c) => `<option value="${c}">${esc(t("category." + c))}</option>`).join("");
  const where = WHERE.map((w, i) => `
      <div class="choice"><input type="radio" name="where" id="where-${w}" value="${w}" ${i === 0 ? "checked" : ""}>
        <label for="where-${w}">${esc(t("portal.where." + w))}</label></div>`).join("");
  show(ctx.view, `
    <h2>${esc(t("portal.complaints.heading"))}</h2>
    <form id="complaint-form" class="panel" novalidate>
      <h3>${esc(t("portal.complaints.file"))}</h3>
      ${field("category", "portal.complaint.category", `<select id="category" name="category" ${described("category")}>${categories}</select>`)}
      ${field("description", "portal.complaint.description", `<textarea id="description" name="description" rows="3" maxlength="2000" ${described("description")}></textarea>`)}
      ${field("location-text", "portal.complaint.location_text", `<input id="location-text" name="location_text" maxlength="2000" autocomplete="street-address" ${described("location-text")}>`)}
      <fieldset class="choices" id="where"><legend>${esc(t("portal.complaint.where"))}</legend>${where}</fieldset>
      <div data-where="account" hidden>${field("account-id", "portal.complaint.account", `<input id="account-id" name="account_id" maxlength="64" ${described("account-id")}>`)}</div>
      <div data-where="node" hidden>${field("node-id", "portal.complaint.node", `<input id="node-id" name="node_id" maxlength="64" ${described("node-id")}>`)}</div>
      <div data-where="point" hidden class="pair">
        ${field("longitude", "portal.complaint.longitude", `<input id="longitude" name="longitude" inputmode="decimal" ${described("longitude")}>`)}
        ${field("latitude", "portal.complaint.latitude", `<input id="latitude" name="latitude" inputmode="decimal" ${described("latitude")}>`)}
        <button type="button" class="secondary" id="locate-me">${esc(t("portal.complaint.locate_me"))}</button>
      </div>
      ${field("complaint-phone", "portal.app.phone", `<input id="complaint-phone" name="contact_phone" type="tel" autocomplete="tel" maxlength="32" ${described("complaint-phone")}>`)}
      <button type="submit" id="file-complaint">${esc(t("portal.complaints.submit"))}</button>
    </form>
    <div id="complaint-result"></div>
    <h3>${esc(t("portal.complaints.mine"))}</h3>
    ${page.items.length ? `
    <table id="complaints-table">
      <caption class="sr-only">${esc(t("portal.complaints.mine"))}</caption>
      <thead><tr><th scope="col">${esc(t("portal.app.col.number"))}</th><th scope="col">${esc(t("portal.complaint.category"))}</th>
        <th scope="col">${esc(t("common.status"))}</th><th scope="col">${esc(t("portal.complaint.received"))}</th>
        <th scope="col">${esc(t("portal.complaint.diagnosis"))}</th></tr></thead>
      <tbody>${page.items.map((c) => `
        <tr><td><a href="#complaints/${c.id}">${esc(t("portal.complaint.number", { id: c.id }))}</a></td>
          <td>${esc(t("category." + c.category))}</td>
          <td><span class="badge">${esc(t("complaint_state." + c.state))}</span></td>
          <td>${esc(formatTime(c.received_at))}</td>
          <td>${esc(pick(c.diagnosis, c.diagnosis_zh))}</td></tr>`).join("")}</tbody>
    </table>` : `<p class="panel" id="no-complaints">${esc(t("portal.complaints.none"))}</p>`}`);

  const form = ctx.view.querySelector("#complaint-form");
  const syncWhere = () => {
    const chosen = form.querySelector("input[name=where]:checked").value;
    form.querySelectorAll("[data-where]").forEach((el) => { el.hidden = el.dataset.where !== chosen; });
  };
  form.querySelectorAll("input[name=where]").forEach((r) => r.addEventListener("change", syncWhere));
  syncWhere();
  form.querySelector("#locate-me").addEventListener("click", () => {
    if (!navigator.geolocation) { announce(t("portal.complaint.no_geolocation"), { error: true }); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => { form.longitude.value = p.coords.longitude.toFixed(6); form.latitude.value = p.coords.latitude.toFixed(6); },
      () => announce(t("portal.complaint.no_geolocation"), { error: true }),
    );
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = checkComplaint(form);
    if (!body) {
      announce(t("portal.invalid.form"), { error: true });
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const button = form.querySelector("#file-complaint");
    button.disabled = true;
    try {
      const complaint = await attempt(() => api("/complaints", { method: "POST", body }), { form });
      if (!complaint) return;
      announce(t("portal.complaint.filed", { id: complaint.id }));
      location.hash = `#complaints/${complaint.id}`;
    } finally {
      button.disabled = false;
    }
  });
}

/** The request body of the complaint form, or null (and the fields marked) when it is wrong. */
function checkComplaint(form) {
  const where = form.querySelector("input[name=where]:checked").value;
  const body = {
    channel: "web",
    category: form.category.value,
    description: form.description.value.trim(),
    location_text: form.location_text.value.trim(),
    contact_phone: form.contact_phone.value.trim(),
  };
  let ok = setInvalid(form.contact_phone, PHONE.test(body.contact_phone) ? "" : t("portal.invalid.phone"));
  if (where === "account") {
    body.account_id = form.account_id.value.trim();
    ok = setInvalid(form.account_id, ELEMENT_ID.test(body.account_id) ? "" : t("portal.invalid.element_id")) && ok;
  } else if (where === "node") {
    body.node_id = form.node_id.value.trim();
    ok = setInvalid(form.node_id, ELEMENT_ID.test(body.node_id) ? "" : t("portal.invalid.element_id")) && ok;
  } else if (where === "point") {
    const lon = Number(form.longitude.value);
    const lat = Number(form.latitude.value);
    const lonOk = form.longitude.value.trim() !== "" && Number.isFinite(lon) && lon >= -180 && lon <= 180;
    const latOk = form.latitude.value.trim() !== "" && Number.isFinite(lat) && lat >= -90 && lat <= 90;
    ok = setInvalid(form.longitude, lonOk ? "" : t("portal.invalid.longitude")) && ok;
    ok = setInvalid(form.latitude, latOk ? "" : t("portal.invalid.latitude")) && ok;
    body.longitude = lon;
    body.latitude = lat;
  }
  return ok ? body : null;
}

export async function renderComplaint(ctx, id) {
  let complaint;
  let history;
  try {
    [complaint, history] = await Promise.all([
      api(`/complaints/${id}`), api(`/complaints/${id}/history?limit=200`)]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      showNotFound(ctx.view, "portal.kind.complaint", id, "#complaints");
      return;
    }
    throw e;
  }
  const c = complaint;
  const findings = c.findings.map((f) => `<li>${esc(pick(f.text, f.text_zh))}</li>`).join("");
  const callback = c.callback_done_at
    ? t("portal.complaint.callback_done", { at: formatTime(c.callback_done_at) })
      + (c.time_to_callback_s === null ? "" : ` ${t("portal.complaint.callback_after", { s: formatNumber(c.time_to_callback_s, 0) })}`)
    : c.callback_due_at ? t("portal.complaint.callback_due", { at: formatTime(c.callback_due_at) }) : "";
  const canReopen = c.allowed_actions.includes("reopen");
  const canRate = c.state === "closed" && c.satisfaction_score === null;
  show(ctx.view, `
    <h2>${esc(t("portal.complaint.number", { id: c.id }))} · ${esc(t("category." + c.category))}</h2>
    <p><a href="#complaints">${esc(t("portal.back"))}</a></p>
    <div class="panel">
      <p>${esc(t("common.status"))}: <strong id="complaint-state">${esc(t("complaint_state." + c.state))}</strong></p>
      <p>${esc(t("portal.complaint.received"))}: ${esc(formatTime(c.received_at))}</p>
      ${c.location_text ? `<p>${esc(t("portal.complaint.location_text"))}: ${esc(c.location_text)}</p>` : ""}
      ${c.description ? `<p>${esc(c.description)}</p>` : ""}
    </div>
    <section class="panel diagnosis" id="diagnosis" aria-labelledby="diagnosis-heading">
      <h3 id="diagnosis-heading">${esc(t("portal.complaint.diagnosis"))}</h3>
      <p id="diagnosis-text">${esc(pick(c.diagnosis, c.diagnosis_zh) || t("portal.complaint.no_diagnosis"))}</p>
      ${findings ? `<ul class="findings">${findings}</ul>` : ""}
      ${callback ? `<p id="callback"><strong>${esc(callback)}</strong></p>` : ""}
      ${c.satisfaction_score ? `<p>${esc(t("portal.complaint.rated", { score: c.satisfaction_score }))}</p>` : ""}
    </section>
    ${canReopen ? `<button type="button" id="reopen" class="secondary">${esc(t("portal.complaint.reopen"))}</button>` : ""}
    ${canRate ? `
    <form id="survey-form" class="panel" novalidate>
      <fieldset class="choices"><legend>${esc(t("portal.complaint.survey"))}</legend>
        ${[5, 4, 3, 2, 1].map((s) => `<div class="choice"><input type="radio" name="score" id="score-${s}" value="${s}" ${s === 5 ? "checked" : ""}>
          <label for="score-${s}">${esc(t("portal.score." + s))}</label></div>`).join("")}
      </fieldset>
      ${field("survey-comment", "portal.complaint.comment", `<textarea id="survey-comment" name="comment" rows="2" maxlength="2000" ${described("survey-comment")}></textarea>`)}
      <button type="submit">${esc(t("common.submit"))}</button>
    </form>` : ""}
    <h3>${esc(t("portal.complaint.history"))}</h3>
    <ol class="timeline" id="complaint-history">${history.items.map((e) => `
      <li><time datetime="${esc(e.at)}">${esc(formatTime(e.at))}</time>
        <strong>${esc(t("complaint_state." + e.state_after))}</strong>
        ${e.note ? `<span class="note">${esc(e.note)}</span>` : ""}</li>`).join("")}</ol>`);

  const again = () => renderComplaint(ctx, id).then(() => ctx.view.querySelector("h2").focus());
  ctx.view.querySelector("#reopen")?.addEventListener("click", async () => {
    const done = await attempt(() => api(`/complaints/${id}/actions`, { method: "POST", body: { action: "reopen" } }));
    if (done) { announce(t("portal.complaint.reopened")); await again(); }
  });
  ctx.view.querySelector("#survey-form")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const body = { score: Number(form.querySelector("input[name=score]:checked").value), comment: form.comment.value.trim() };
    const done = await attempt(() => api(`/complaints/${id}/survey`, { method: "POST", body }), { form });
    if (done) { announce(t("portal.complaint.thanks")); await again(); }
  });
}
