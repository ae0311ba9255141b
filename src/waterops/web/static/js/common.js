// waterops pages: the shared part (API calls with the session's token, languages, units).
// Every page is an ES module that imports from here; nothing is loaded from the internet.

const TOKEN_KEY = "waterops.token";
const USER_KEY = "waterops.user";
const LANG_KEY = "waterops.lang";

export const API = "/api/v1";
export const LANGUAGES = ["zh-CN", "en"];
export const CUSTOMER_ROLES = ["household_customer", "enterprise_customer"];
export const STAFF_ROLES = [
  "dispatcher", "water_quality_engineer", "service_agent", "field_crew", "planner", "administrator",
];

/** An error answered by the API (a problem-details body), or a network failure. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// ------------------------------------------------------------------ session

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

/** The logged-in user as the API returned it at log-in ({id, username, role, ...}), or null. */
export function currentUser() {
  const raw = sessionStorage.getItem(USER_KEY);
  return raw ? JSON.parse(raw) : null;
}

export function isStaff(user) { return !!user && STAFF_ROLES.includes(user.role); }

export async function login(username, password) {
  const answer = await api("/auth/login", { method: "POST", body: { username, password }, anonymous: true });
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(answer.user));
  return answer.user;
}

export async function logout() {
  try { if (token()) await api("/auth/logout", { method: "POST" }); } catch (e) { /* token already gone */ }
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  location.assign("/");
}

/** The page a user lands on after log-in. */
export function homeOf(user) { return isStaff(user) ? "/ops" : "/portal"; }

/** Send the visitor to the log-in page unless logged in with one of ``roles`` (all roles if omitted). */
export function requireLogin(roles) {
  const user = currentUser();
  if (!user || !token()) { location.replace("/"); return null; }
  if (roles && !roles.includes(user.role)) { location.replace(homeOf(user)); return null; }
  return user;
}

// ------------------------------------------------------------------ API

/**
 * Call the API. ``body`` is sent as JSON, ``form`` (a FormData) as multipart. Answers the parsed
 * JSON (or null for 204); throws ApiError with the problem details otherwise. A 401 ends the session.
 */
export async function api(path, { method = "GET", body, form, anonymous = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (!anonymous && token()) headers.Authorization = `Bearer ${token()}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: payload, signal });
  } catch (e) {
    throw new ApiError(0, { title: t("error.network"), detail: String(e) });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    if (response.status === 401 && !anonymous) {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(USER_KEY);
    }
    throw new ApiError(response.status, typeof data === "object" ? data : { detail: data });
  }
  return data;
}

/** Server-sent events of the API (``/stream``); the token goes in the query (EventSource has no headers). */
export function eventStream(path = "/stream") {
  const sep = path.includes("?") ? "&" : "?";
  return new EventSource(`${API}${path}${sep}token=${encodeURIComponent(token() || "")}`);
}

// ------------------------------------------------------------------ languages

let messages = {};
let language = "en";

export function lang() { return language; }

function chooseLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.includes(asked)) { localStorage.setItem(LANG_KEY, asked); return asked; }
  const kept = localStorage.getItem(LANG_KEY);
  if (LANGUAGES.includes(kept)) return kept;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** Load the ``common`` messages and those of ``bundles`` (e.g. "ops") in the chosen language. */
export async function initI18n(...bundles) {
  language = chooseLanguage();
  document.documentElement.lang = language;
  messages = {};
  for (const bundle of ["common", ...bundles]) {
    const response = await fetch(`/static/i18n/${bundle}.${language}.json`);
    if (response.ok) Object.assign(messages, await response.json());
  }
  applyI18n(document);
  // a marker for people's tools and the browser tests: the page now speaks its language
  document.documentElement.dataset.i18nReady = language;
  return language;
}

/** The message ``key`` in the current language, with ``{name}`` placeholders filled from ``vars``. */
export function t(key, vars = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fill elements marked ``data-i18n`` (text), ``data-i18n-label`` (aria-label),
 *  ``data-i18n-placeholder`` and ``data-i18n-title``. */
export function applyI18n(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

/** Make ``button`` switch between the languages (the page reloads in the other one). */
export function languageToggle(button) {
  const other = language === "en" ? "zh-CN" : "en";
  button.textContent = other === "en" ? "English" : "中文";
  button.setAttribute("lang", other);
  button.addEventListener("click", () => {
    localStorage.setItem(LANG_KEY, other);
    const url = new URL(location.href);
    const had = url.searchParams.has("lang");
    url.searchParams.delete("lang");
    // assigning an address that differs only in its #view does not reload: reload then
    if (had) location.assign(url.toString()); else location.reload();
  });
}

// ------------------------------------------------------------------ units (SI inside, people's units here)

export const units = {
  /** m of water head → MPa (1 m H2O = 0.00980665 MPa at 4 °C, g = 9.80665 m/s²). */
  mpa: (m) => m * 0.00980665,
  /** m³/s → L/s */
  ls: (m3s) => m3s * 1000,
  /** m³/s → m³/d */
  m3d: (m3s) => m3s * 86400,
  /** s → h */
  hours: (s) => s / 3600,
};

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(language, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatTime(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(language, { timeZone: "Asia/Shanghai", hour12: false });
}

/** Escape text for HTML built by string templates. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

/** Show ``message`` in the page's live status region (role=status or alert). */
export function announce(message, { error = false } = {}) {
  const region = document.getElementById(error ? "alert-region" : "status-region");
  if (region) region.textContent = message;
}
