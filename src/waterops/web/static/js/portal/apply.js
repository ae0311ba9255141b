// A new connection application in two steps and one document: step 1 who/where/what, step 2
// upload ONE document (PDF, JPEG or PNG, read by its content on the server) and submit.
// "Express: apply today, water tomorrow" is offered for connections without external works.
import { announce, api, esc, t } from "../common.js";
import { attempt, described, field, setInvalid, show } from "./ui.js";

const PHONE = /^\+?[0-9][0-9 -]{3,30}$/; // as the API's schema (api/schemas/connections.py)
const METER_SIZES_MM = [15, 20, 25, 32, 40, 50, 80, 100, 150, 200, 300];
const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export async function renderApply(ctx) {
  const enterprise = ctx.user.role === "enterprise_customer";
  const templates = ["standard", "express", ...(enterprise ? ["enterprise_park"] : [])];
  const radios = templates.map((name, i) => `
      <div class="choice">
        <input type="radio" name="template" id="template-${name}" value="${name}" ${i === 0 ? "checked" : ""}
          aria-describedby="template-${name}-text">
        <label for="template-${name}">${esc(t("template." + name))}</label>
        <span class="hint" id="template-${name}-text">${esc(t("template." + name + ".text"))}</span>
      </div>`).join("");
  const sizes = METER_SIZES_MM.map((mm) => `<option value="${mm}">DN${mm}</option>`).join("");
  show(ctx.view, `
    <h2>${esc(t("portal.apply.heading"))}</h2>
    <p class="muted">${esc(t("portal.apply.intro"))}</p>
    <ol class="steps" aria-label="${esc(t("portal.apply.steps"))}">
      <li id="step-1-marker" aria-current="step">${esc(t("portal.apply.step1"))}</li>
      <li id="step-2-marker">${esc(t("portal.apply.step2"))}</li>
    </ol>
    <form id="apply-form" class="panel" novalidate>
      <fieldset id="step-1">
        <legend>${esc(t("portal.apply.step1"))}</legend>
        <fieldset class="choices"><legend>${esc(t("portal.app.template"))}</legend>${radios}</fieldset>
        ${field("address", "portal.app.address", `<input id="address" name="address" autocomplete="street-address" required maxlength="200" ${described("address")}>`)}
        ${field("contact-phone", "portal.app.phone", `<input id="contact-phone" name="contact_phone" type="tel" autocomplete="tel" required maxlength="32" ${described("contact-phone", true)}>`, { hintKey: "portal.app.phone_hint" })}
        ${field("meter-size", "portal.app.meter", `<select id="meter-size" name="meter_size_mm" ${described("meter-size")}>${sizes}</select>`)}
        <div class="choice">
          <input type="checkbox" id="external-works" name="external_works" aria-describedby="external-works-hint">
          <label for="external-works">${esc(t("portal.app.external_works"))}</label>
          <span class="hint" id="external-works-hint">${esc(t("portal.app.external_works_hint"))}</span>
        </div>
        <div id="park-field" hidden>
          ${field("park-id", "portal.app.park", `<input id="park-id" name="park_id" maxlength="200" ${described("park-id")}>`)}
        </div>
        <button type="button" id="next">${esc(t("portal.apply.next"))}</button>
      </fieldset>
      <fieldset id="step-2" hidden>
        <legend>${esc(t("portal.apply.step2"))}</legend>
        <dl class="summary" id="apply-summary"></dl>
        ${field("document", "portal.apply.document", `<input id="document" name="document" type="file" accept="application/pdf,image/jpeg,image/png" required ${described("document", true)}>`, { hintKey: "portal.apply.document_hint" })}
        <button type="button" class="secondary" id="back">${esc(t("portal.apply.back"))}</button>
        <button type="submit" id="submit-application">${esc(t("portal.apply.submit"))}</button>
      </fieldset>
    </form>`);

  const form = ctx.view.querySelector("#apply-form");
  const step1 = form.querySelector("#step-1");
  const step2 = form.querySelector("#step-2");
  const external = form.querySelector("#external-works");
  let uploaded = null; // {file, id}: a document already stored is not uploaded twice

  const template = () => form.querySelector("input[name=template]:checked").value;
  const syncTemplate = () => {
    const express = template() === "express";
    external.disabled = express;
    if (express) external.checked = false;
    form.querySelector("#park-field").hidden = template() !== "enterprise_park";
  };
  form.querySelectorAll("input[name=template]").forEach((r) => r.addEventListener("change", syncTemplate));
  syncTemplate();

  const checkStep1 = () => {
    const checks = [
      setInvalid(form.address, form.address.value.trim() ? "" : t("portal.invalid.required")),
      setInvalid(form.contact_phone, PHONE.test(form.contact_phone.value.trim()) ? "" : t("portal.invalid.phone")),
    ];
    if (template() === "enterprise_park") {
      checks.push(setInvalid(form.park_id, form.park_id.value.trim() ? "" : t("portal.invalid.required")));
    }
    return checks.every(Boolean);
  };
  const showStep = (n) => {
    step1.hidden = n !== 1;
    step2.hidden = n !== 2;
    document.getElementById("step-1-marker").toggleAttribute("aria-current", n === 1);
    document.getElementById("step-2-marker").toggleAttribute("aria-current", n === 2);
    if (n === 1) document.getElementById("step-1-marker").setAttribute("aria-current", "step");
    if (n === 2) document.getElementById("step-2-marker").setAttribute("aria-current", "step");
  };

  form.querySelector("#next").addEventListener("click", () => {
    if (!checkStep1()) {
      announce(t("portal.invalid.form"), { error: true });
      form.querySelector("[aria-invalid=true]").focus();
      return;
    }
    announce("", { error: true });
    form.querySelector("#apply-summary").innerHTML = `
      <dt>${esc(t("portal.app.template"))}</dt><dd>${esc(t("template." + template()))}</dd>
      <dt>${esc(t("portal.app.address"))}</dt><dd>${esc(form.address.value.trim())}</dd>
      <dt>${esc(t("portal.app.phone"))}</dt><dd>${esc(form.contact_phone.value.trim())}</dd>
      <dt>${esc(t("portal.app.meter"))}</dt><dd>DN${esc(form.meter_size_mm.value)}</dd>`;
    showStep(2);
    announce(t("portal.apply.step2"));
    form.document.focus();
  });
  form.querySelector("#back").addEventListener("click", () => { showStep(1); form.address.focus(); });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (step2.hidden) { form.querySelector("#next").click(); return; }
    const file = form.document.files[0];
    const problem = !file ? t("portal.invalid.document")
      : file.size > MAX_DOCUMENT_BYTES ? t("portal.invalid.document_size") : "";
    if (!setInvalid(form.document, problem)) {
      announce(problem, { error: true });
      form.document.focus();
      return;
    }
    const button = form.querySelector("#submit-application");
    button.disabled = true;
    try {
      if (!uploaded || uploaded.file !== file) {
        const data = new FormData();
        data.append("file", file, file.name);
        const doc = await attempt(() => api("/documents", { method: "POST", form: data }), { form });
        if (!doc) return;
        uploaded = { file, id: doc.id };
      }
      const body = {
        template: template(),
        address: form.address.value.trim(),
        contact_phone: form.contact_phone.value.trim(),
        meter_size_mm: Number(form.meter_size_mm.value),
        external_works: external.checked,
        document_id: uploaded.id,
      };
      if (template() === "enterprise_park") body.park_id = form.park_id.value.trim();
      const app = await attempt(() => api("/connections", { method: "POST", body }), { form });
      if (!app) return;
      announce(t("portal.apply.done", { id: app.id }));
      location.hash = `#applications/${app.id}`;
    } finally {
      button.disabled = false;
    }
  });
}
