// Small helpers shared by the portal's views.
import { ApiError, announce, esc, lang, t } from "../common.js";

/** Fill ``view`` with ``html`` (built with esc() around every value from the API). */
export function show(view, html) {
  view.innerHTML = html;
  return view;
}

/** The text of a bilingual pair as the page's language wants it. */
export function pick(en, zh) {
  return lang() === "zh-CN" && zh ? zh : en;
}

/** A record the user may not see or that does not exist: the API answers 404 for both, so the
 *  page says both (a customer must not learn whether another customer's record exists). */
export function showNotFound(view, kind, id, backHash) {
  show(view, `
    <h2>${esc(t("portal.not_found.heading", { kind: t(kind) }))}</h2>
    <p class="panel" id="not-found">${esc(t("portal.not_found.text", { kind: t(kind), id }))}</p>
    <p><a href="${esc(backHash)}">${esc(t("portal.back"))}</a></p>`);
  announce(t("portal.not_found.text", { kind: t(kind), id }), { error: true });
}

/** Run ``work``; an API error is announced (problem details' detail) and answered as null. */
export async function attempt(work, { form = null } = {}) {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    announce(t("error.generic", { detail: e.message }), { error: true });
    if (form) {
      const first = form.querySelector("[aria-invalid=true]") || form.querySelector("button[type=submit]");
      if (first) first.focus();
    }
    return null;
  }
}

/** Mark ``input`` invalid with ``message`` (or valid when message is empty); its message element
 *  is ``<id>-error`` and is tied to it by aria-describedby. */
export function setInvalid(input, message) {
  const box = document.getElementById(`${input.id}-error`);
  if (message) {
    input.setAttribute("aria-invalid", "true");
    if (box) box.textContent = message;
  } else {
    input.removeAttribute("aria-invalid");
    if (box) box.textContent = "";
  }
  return !message;
}

/** A labelled control with its error line: ``control`` is the input's HTML (id must be ``id``). */
export function field(id, labelKey, control, { hintKey = null } = {}) {
  const hint = hintKey ? `<span class="hint" id="${id}-hint">${esc(t(hintKey))}</span>` : "";
  return `<div class="field">
      <label for="${id}">${esc(t(labelKey))}</label>${hint}
      ${control}
      <span class="field-error" id="${id}-error"></span>
    </div>`;
}

/** ``aria-describedby`` of a field built by :func:`field`. */
export function described(id, withHint = false) {
  return `aria-describedby="${withHint ? `${id}-hint ` : ""}${id}-error"`;
}

/** Number of working days shown with one decimal. */
export function days(value) {
  return (Math.round(Number(value) * 10) / 10).toLocaleString(lang());
}
