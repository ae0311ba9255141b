// Entry of the /portal page.
import { CUSTOMER_ROLES, initI18n, languageToggle, logout, requireLogin, t } from "../common.js";

const user = requireLogin(CUSTOMER_ROLES);
if (user) {
  await initI18n("portal");
  languageToggle(document.getElementById("language"));
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("who").textContent = `${user.username} (${t("role." + user.role)})`;
}
