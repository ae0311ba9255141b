// The log-in page: a token for the user, then the page of their role.
import { announce, currentUser, homeOf, initI18n, languageToggle, login, t, token } from "./common.js";

await initI18n();
languageToggle(document.getElementById("language"));

const user = currentUser();
if (user && token()) location.replace(homeOf(user));

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const who = await login(form.username.value.trim(), form.password.value);
    location.assign(homeOf(who));
  } catch (e) {
    announce(t("login.failed", { detail: e.message }), { error: true });
    form.password.focus();
  } finally {
    button.disabled = false;
  }
});
