// Entry of the /portal page: the header, the navigation and the hash routes of the views.
//
//   #applications[/ID]   my connection applications, one with its timeline and SLA clock
//   #apply               a new application: step 1 who/where/what, step 2 one document
//   #complaints[/ID]     file a complaint with its location; my complaints, diagnosis, callback
//   #notices             outage notices for my address
//   #tariffs             the tariff book and a bill calculator
//   #enterprise          enterprise customers: consumption, savings advice, visits, problems
//   #register            a visitor opens a customer account (the only view without log-in)
import {
  ApiError, CUSTOMER_ROLES, announce, currentUser, initI18n, isStaff, languageToggle, logout, t, token,
} from "../common.js";
import { renderApplication, renderApplications } from "./applications.js";
import { renderApply } from "./apply.js";
import { renderComplaint, renderComplaints } from "./complaints.js";
import { renderEnterprise } from "./enterprise.js";
import { renderNotices, renderTariffs } from "./notices.js";
import { renderRegister } from "./register.js";

const VIEWS = {
  applications: (ctx, id) => (id ? renderApplication(ctx, id) : renderApplications(ctx)),
  apply: (ctx) => renderApply(ctx),
  complaints: (ctx, id) => (id ? renderComplaint(ctx, id) : renderComplaints(ctx)),
  notices: (ctx) => renderNotices(ctx),
  tariffs: (ctx) => renderTariffs(ctx),
  enterprise: (ctx) => renderEnterprise(ctx),
};

const loggedIn = currentUser() && token() ? currentUser() : null;
const wantsRegister = location.hash.startsWith("#register");

if (loggedIn && !CUSTOMER_ROLES.includes(loggedIn.role)) {
  location.replace(isStaff(loggedIn) ? "/ops" : "/");
} else if (!loggedIn && !wantsRegister) {
  location.replace("/");
} else {
  await initI18n("portal");
  const languageButton = document.getElementById("language");
  languageToggle(languageButton);
  // the shared toggle navigates to the same address; with only a hash that is no reload
  languageButton.addEventListener("click", () => {
    if (!new URLSearchParams(location.search).has("lang")) location.reload();
  });
  const view = document.getElementById("view");
  let cleanup = null;

  /** Show the view of the current hash; a stale view's timers are stopped first. */
  const route = async () => {
    if (cleanup) { cleanup(); cleanup = null; }
    announce("", { error: true });
    const [name, rawId] = location.hash.replace(/^#/, "").split("?")[0].split("/");
    const user = currentUser() && token() ? currentUser() : null;
    setHeader(user);
    if (!user) {
      if (name !== "register") { location.replace("/"); return; }
      await mount(view, (ctx) => renderRegister(ctx));
      return;
    }
    if (name === "register") { location.hash = "#applications"; return; }
    const key = name in VIEWS ? name : "applications";
    markCurrent(key);
    const id = rawId && /^\d+$/.test(rawId) ? Number(rawId) : null;
    if (rawId && id === null) {
      view.replaceChildren();
      announce(t("portal.bad_link", { link: location.hash }), { error: true });
      return;
    }
    cleanup = await mount(view, (ctx) => VIEWS[key](ctx, id), user);
  };

  window.addEventListener("hashchange", route);
  document.getElementById("logout").addEventListener("click", logout);
  await route();
}

/** Render one view into ``view``; the view's heading takes the focus (for keyboard and screen
 *  reader users the page "moves" as a new page would). Answers the view's clean-up, if any. */
async function mount(view, render, user = null) {
  view.replaceChildren();
  view.setAttribute("aria-busy", "true");
  const ctx = { view, user, onLeave: null };
  try {
    await render(ctx);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { location.replace("/"); return null; } // session ended
    announce(t("error.generic", { detail: e.message }), { error: true });
  } finally {
    view.removeAttribute("aria-busy");
  }
  const heading = view.querySelector("h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
  return ctx.onLeave;
}

function setHeader(user) {
  document.getElementById("portal-nav").hidden = !user;
  document.getElementById("logout").hidden = !user;
  document.getElementById("login-link").hidden = !!user;
  document.getElementById("who").textContent = user
    ? `${user.display_name || user.username} (${t("role." + user.role)})` : "";
  const enterprise = !!user && user.role === "enterprise_customer";
  document.querySelectorAll("[data-enterprise]").forEach((el) => { el.hidden = !enterprise; });
}

function markCurrent(key) {
  document.querySelectorAll("#portal-nav a[data-view]").forEach((a) => {
    if (a.dataset.view === key) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}
