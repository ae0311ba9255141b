// A visitor opens a customer account (household or enterprise), then is logged in.
import { announce, api, esc, login, t } from "../common.js";
import { attempt, described, field, setInvalid, show } from "./ui.js";

const USERNAME = /^[A-Za-z0-9._@-]{3,64}$/; // as the API's schema (api/schemas/common.py)
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const MIN_PASSWORD = 10;

export async function renderRegister(ctx) {
  show(ctx.view, `
    <h2>${esc(t("portal.register.heading"))}</h2>
    <form id="register-form" class="panel narrow" novalidate>
      <fieldset class="choices"><legend>${esc(t("portal.register.kind"))}</legend>
        <div class="choice"><input type="radio" name="role" id="role-household" value="household_customer" checked>
          <label for="role-household">${esc(t("role.household_customer"))}</label></div>
        <div class="choice"><input type="radio" name="role" id="role-enterprise" value="enterprise_customer">
          <label for="role-enterprise">${esc(t("role.enterprise_customer"))}</label></div>
      </fieldset>
      ${field("reg-username", "login.username", `<input id="reg-username" name="username" autocomplete="username" required maxlength="64" ${described("reg-username", true)}>`, { hintKey: "portal.register.username_hint" })}
      ${field("reg-display-name", "portal.register.display_name", `<input id="reg-display-name" name="display_name" autocomplete="name" maxlength="200" ${described("reg-display-name")}>`)}
      ${field("reg-email", "portal.register.email", `<input id="reg-email" name="email" type="email" autocomplete="email" maxlength="200" ${described("reg-email")}>`)}
      ${field("reg-password", "login.password", `<input id="reg-password" name="password" type="password" autocomplete="new-password" required ${described("reg-password", true)}>`, { hintKey: "portal.register.password_hint" })}
      ${field("reg-password2", "portal.register.password_again", `<input id="reg-password2" name="password2" type="password" autocomplete="new-password" required ${described("reg-password2")}>`)}
      <button type="submit" id="register-submit">${esc(t("portal.register.submit"))}</button>
      <p><a href="/">${esc(t("portal.register.have_account"))}</a></p>
    </form>`);
  const form = ctx.view.querySelector("#register-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const email = form.email.value.trim();
    const ok = [
      setInvalid(form.username, USERNAME.test(username) ? "" : t("portal.invalid.username")),
      setInvalid(form.email, !email || EMAIL.test(email) ? "" : t("portal.invalid.email")),
      setInvalid(form.password, form.password.value.length >= MIN_PASSWORD ? "" : t("portal.invalid.password")),
      setInvalid(form.password2, form.password2.value === form.password.value ? "" : t("portal.invalid.password_again")),
    ].every(Boolean);
    if (!ok) {
      announce(t("portal.invalid.form"), { error: true });
      form.querySelector("[aria-invalid=true]").focus();
      return;
    }
    const body = {
      username, password: form.password.value,
      role: form.querySelector("input[name=role]:checked").value,
    };
    if (form.display_name.value.trim()) body.display_name = form.display_name.value.trim();
    if (email) body.email = email;
    const button = form.querySelector("#register-submit");
    button.disabled = true;
    try {
      const made = await attempt(() => api("/users/register", { method: "POST", body, anonymous: true }), { form });
      if (!made) return;
      await login(username, body.password);
      announce(t("portal.register.done", { username }));
      location.hash = "#applications";
    } finally {
      button.disabled = false;
    }
  });
}
