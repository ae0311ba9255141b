// Entry of the /ops page (operations centre, staff): the header, the views behind hash routes
// (#map, #alarms, #sensors, #incidents[/<id>], #scenario), the KPI tiles and the live stream.
//
// Hooks for tests and the benchmark live on ``window.waterops``: ``marks`` (performance.now()
// when the map was drawn and the KPI tiles filled), ``readings`` (the last reading of each
// sensor seen on the stream, with the time it arrived), and ``linksDrawn`` on the map element.
import {
  STAFF_ROLES, ApiError, announce, api, applyI18n, eventStream, initI18n, languageToggle, logout,
  requireLogin, t,
} from "../common.js";
import { can } from "./roles.js";
import { initKpis, updateKpis } from "./kpis.js";
import { initMap, loadNetwork, prefetchValues, showMap, refreshMapValues } from "./map.js";
import { initAlarms, showAlarms, alarmEvent } from "./alarms.js";
import { initSensors, showSensors, readingEvent } from "./sensors.js";
import { showIncidents } from "./incidents.js";
import { initScenario, showScenario } from "./scenario.js";
import { initWorkOrders, showWorkOrders } from "./workorders.js";
import { initTrunkMain, showTrunkMain } from "./trunkmain.js";
import { initEmergency, showEmergency } from "./emergency.js";
import { initTreatment, showTreatment } from "./treatment.js";
import { initPlanning, showPlanning } from "./planning.js";

const hooks = window.waterops = window.waterops || { marks: {}, readings: {}, events: 0 };

const VIEWS = ["map", "alarms", "sensors", "incidents", "scenario", "workorders", "trunkmain",
  "emergency", "treatment", "planning"];
const VIEW_CAPABILITY = { scenario: "scenario", emergency: "emergency", treatment: "treatment",
  planning: "planning" };

const user = requireLogin(STAFF_ROLES);
if (user) await start(user);

async function start(user) {
  // this module is async (it may run before the document is parsed): ask the API for the
  // map and the key figures first, then wait for the document
  const early = { kpis: api("/kpis").catch((error) => error) };
  if (location.hash === "" || location.hash.startsWith("#map")) {
    loadNetwork().catch(() => null);
    prefetchValues("pressure"); // the map's first colouring
  }
  if (document.readyState === "loading") {
    await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
  }
  await initI18n("ops", "ops-more");
  languageToggle(document.getElementById("language"));
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("who").textContent = `${user.username} (${t("role." + user.role)})`;
  document.body.dataset.role = user.role;

  // hide what the role may not use (the API refuses it anyway)
  document.querySelectorAll("[data-capability]").forEach((el) => {
    if (!can(user.role, el.dataset.capability)) el.closest("li").hidden = true;
  });

  const ctx = { user, can: (capability) => can(user.role, capability), fail, hooks };
  initKpis(ctx, early.kpis);
  initMap(ctx);
  initAlarms(ctx);
  initSensors(ctx);
  initScenario(ctx);
  [initWorkOrders, initTrunkMain, initEmergency, initTreatment, initPlanning].forEach((init) => init(ctx));

  window.addEventListener("hashchange", route);
  route();
  connectStream(ctx);
}

/** Show a refused or failed call in the alert region, in words. */
export function fail(error, where) {
  let message;
  if (error instanceof ApiError && error.status === 403) message = t("ops.error.forbidden", { where });
  else if (error instanceof ApiError && error.status === 409) message = t("ops.error.unavailable", { where, detail: error.message });
  else message = t("error.generic", { detail: `${where}: ${error.message}` });
  announce(message, { error: true });
  return message;
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "map";
  const [name, ...rest] = hash.split("/");
  let view = VIEWS.includes(name) ? name : "map";
  const capability = VIEW_CAPABILITY[view];
  if (capability && !can(user.role, capability)) view = "denied";
  document.querySelectorAll("main .view").forEach((section) => { section.hidden = section.dataset.view !== view; });
  document.querySelectorAll(".ops-nav a").forEach((a) => {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = `${t("ops.nav." + (view === "denied" ? "map" : view))} · ${t("nav.ops")}`;
  announce(""); // clear the last view's message
  document.getElementById("alert-region").textContent = "";
  const arg = rest.join("/") || null;
  if (view === "map") showMap();
  else if (view === "alarms") showAlarms();
  else if (view === "sensors") showSensors(arg);
  else if (view === "incidents") showIncidents(arg, { user, can: (c) => can(user.role, c), fail });
  else if (view === "scenario") showScenario(arg);
  else if (view === "workorders") showWorkOrders(arg);
  else if (view === "trunkmain") showTrunkMain();
  else if (view === "emergency") showEmergency();
  else if (view === "treatment") showTreatment();
  else if (view === "planning") showPlanning(arg);
}

// ------------------------------------------------------------------ the live stream

function connectStream(ctx) {
  const badge = document.getElementById("live-state");
  const label = document.getElementById("live-label");
  const setState = (state) => {
    badge.dataset.state = state;
    label.dataset.i18n = `ops.live.${state}`;
    applyI18n(badge);
  };
  let source;
  try {
    source = eventStream("/stream");
  } catch (e) {
    setState("off");
    return;
  }
  hooks.stream = source;
  source.onopen = () => setState("on");
  source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "off" : "retry");
  const parse = (event) => {
    hooks.events += 1;
    try { return JSON.parse(event.data); } catch (e) { return null; }
  };
  source.addEventListener("reading", (event) => { const d = parse(event); if (d) readingEvent(d); });
  source.addEventListener("alarm", (event) => { const d = parse(event); if (d) alarmEvent(d); });
  source.addEventListener("kpi", (event) => { const d = parse(event); if (d) updateKpis(d); });
  source.addEventListener("twin", () => { parse({ data: "null" }); refreshMapValues(); });
  source.addEventListener("message", (event) => { parse(event); });
}
