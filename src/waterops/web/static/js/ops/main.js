// Entry of the /ops page.
import { STAFF_ROLES, initI18n, languageToggle, logout, requireLogin, t } from "../common.js";

const user = requireLogin(STAFF_ROLES);
if (user) {
  await initI18n("ops");
  languageToggle(document.getElementById("language"));
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("who").textContent = `${user.username} (${t("role." + user.role)})`;
}
