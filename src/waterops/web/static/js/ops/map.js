// The network map (Plotly scattergl): pipes binned by colour, one trace per bin (a bin's links
// joined with null breaks), nodes, and markers for sensors, pump rooms, sources, the plant and
// open alarms. Colours in people's units: pressure MPa, flow L/s, water age h, chlorine mg/L,
// diameter mm. Click → the element's details.
import { api, esc, formatNumber, formatTime, t, units } from "../common.js";

let ctx;
let networkPromise = null;
let drawn = false;
let drawing = null;
let refreshTimer = null;

/** The service pressure threshold [m]: the end pressure commonly asked of Chinese utilities
 *  (14 m ≈ 0.14 MPa; waterops.emergency.closure DEFAULT threshold, glossary). */
export const SERVICE_PRESSURE_M = 14;

const RED_TO_BLUE = ["#b2182b", "#ef8a62", "#e0b050", "#67a9cf", "#2166ac", "#0b2f6b"];
const SEQUENTIAL = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"];
const NO_VALUE = "#9aa3ad";

/** What each colour-by choice reads and how it is shown. */
const QUANTITIES = {
  pressure: { source: "nodes", unit: "MPa", convert: units.mpa, digits: 2, palette: RED_TO_BLUE,
    edges: [SERVICE_PRESSURE_M, 20, 28, 35, 50].map(units.mpa) },
  water_age: { source: "nodes", unit: "h", convert: units.hours, digits: 1, palette: SEQUENTIAL },
  // GB 5749-2022: free chlorine >= 0.05 mg/L at the tap, >= 0.3 mg/L at the plant outlet,
  // <= 2 mg/L (glossary; verify each clause)
  chlorine: { source: "nodes", unit: "mg/L", convert: (v) => v, digits: 2,
    palette: ["#b2182b", "#ef8a62", "#67a9cf", "#2166ac", "#6a3d9a"], edges: [0.05, 0.3, 1.0, 2.0] },
  flow: { source: "links", quantity: "flow", unit: "L/s", convert: (v) => Math.abs(units.ls(v)), digits: 1, palette: SEQUENTIAL },
  diameter: { source: "static", unit: "mm", convert: (v) => v * 1000, digits: 0, palette: SEQUENTIAL },
};

const MARKERS = {
  sensor: { symbol: "circle", color: "#0b5cad", size: 6 },
  pump_room: { symbol: "square", color: "#6a3d9a", size: 8 },
  source: { symbol: "triangle-up", color: "#1e6b35", size: 14 },
  plant: { symbol: "diamond", color: "#0d2b4e", size: 14 },
  alarm: { symbol: "x", color: "#b3261e", size: 14 },
};

let plotlyPromise = null;

/** Resolves once plotly.js (a deferred classic script) has run: the page's module is async. */
export function plotlyReady() {
  if (!plotlyPromise) {
    plotlyPromise = window.Plotly ? Promise.resolve(window.Plotly) : new Promise((resolve, reject) => {
      const script = document.getElementById("plotly-js");
      script.addEventListener("load", () => resolve(window.Plotly));
      script.addEventListener("error", () => reject(new Error("plotly.js did not load")));
      if (window.Plotly) resolve(window.Plotly);
    });
  }
  return plotlyPromise;
}

export function initMap(context) {
  ctx = context;
  document.getElementById("colour-by").addEventListener("change", () => redraw());
  document.getElementById("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("find-id").value.trim();
    if (id) showDetails(id);
  });
}

/** The network's map (fetched once per page). */
export function loadNetwork() {
  if (!networkPromise) {
    networkPromise = api("/network/map").then(prepare);
    networkPromise.catch(() => { networkPromise = null; });
  }
  return networkPromise;
}

function prepare(map) {
  const index = new Map(map.node_ids.map((id, i) => [id, i]));
  const linkIndex = new Map(map.link_ids.map((id, i) => [id, i]));
  return { ...map, index, linkIndex };
}

/** The points of link ``i``: start node, interior vertices, end node (null if unplaced). */
export function linkPoints(net, i) {
  const a = net.index.get(net.link_from[i]);
  const b = net.index.get(net.link_to[i]);
  if (a === undefined || b === undefined) return null;
  const xa = net.node_x[a], ya = net.node_y[a], xb = net.node_x[b], yb = net.node_y[b];
  if (xa === null || ya === null || xb === null || yb === null) return null;
  return [[xa, ya], ...(net.link_vertices[i] || []), [xb, yb]];
}

/** Traces drawing every link of ``groups`` (list of {name, color, width, links: [i…]}). */
export function linkTraces(net, groups) {
  let count = 0;
  const traces = groups.map((group) => {
    const x = [], y = [], data = [];
    for (const i of group.links) {
      const points = linkPoints(net, i);
      if (!points) continue;
      count += 1;
      for (const [px, py] of points) { x.push(px); y.push(py); data.push(net.link_ids[i]); }
      x.push(null); y.push(null); data.push(null);
    }
    return { type: "scattergl", mode: "lines", x, y, customdata: data, name: group.name,
      line: { color: group.color, width: group.width || 2 }, hoverinfo: "skip", showlegend: false,
      meta: { role: "links" } };
  });
  return { traces, count };
}

export function nodeTrace(net, { color = "#56606b", size = 3, name = "nodes" } = {}) {
  return { type: "scattergl", mode: "markers", x: net.node_x, y: net.node_y, customdata: net.node_ids,
    name, marker: { color, size }, text: net.node_ids, hovertemplate: "%{text}<extra></extra>",
    showlegend: false, meta: { role: "nodes" } };
}

/** Axis ranges around the bulk of the nodes (2nd–98th percentile, padded): the 106 km raw-water
 *  main would otherwise shrink the city to a corner; double-click shows everything. */
function bulkRanges(net) {
  const range = (values) => {
    const v = values.filter((x) => x !== null).sort((p, q) => p - q);
    if (!v.length) return undefined;
    const lo = v[Math.floor(v.length * 0.02)], hi = v[Math.ceil(v.length * 0.98) - 1];
    const pad = Math.max((hi - lo) * 0.08, 50);
    return [lo - pad, hi + pad];
  };
  return { x: range(net.node_x), y: range(net.node_y) };
}

export function baseLayout(net) {
  const ranges = net ? bulkRanges(net) : {};
  return {
    margin: { l: 0, r: 0, t: 0, b: 0 }, dragmode: "pan", hovermode: "closest", showlegend: false,
    xaxis: { visible: false, range: ranges.x }, yaxis: { visible: false, scaleanchor: "x", scaleratio: 1, range: ranges.y },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", uirevision: "keep",
  };
}

export const PLOT_CONFIG = { displaylogo: false, responsive: true, scrollZoom: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };

/** Show the map view: fetch the network once, draw it, colour it. */
export async function showMap() {
  if (!drawn) await redraw();
  else (await plotlyReady()).Plots.resize(document.getElementById("map"));
}

/** Re-colour the map with the twin's newest values (at most every 5 s). */
export function refreshMapValues() {
  if (!drawn || refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; if (!document.getElementById("view-map").hidden) redraw(); }, 5000);
}

async function redraw() {
  if (drawing) return drawing;
  drawing = draw().finally(() => { drawing = null; });
  return drawing;
}

const prefetched = {};

function fetchValues(choice) {
  const spec = QUANTITIES[choice];
  if (spec.source === "static") return Promise.resolve(null);
  return spec.source === "links" ? api(`/twin/links?quantity=${spec.quantity}`) : api(`/twin/nodes?quantity=${choice}`);
}

/** Ask for the twin's values of ``choice`` now (used by the next draw). */
export function prefetchValues(choice) {
  prefetched[choice] = fetchValues(choice);
  prefetched[choice].catch(() => null);
}

async function values(net, choice) {
  const spec = QUANTITIES[choice];
  const pending = prefetched[choice] || fetchValues(choice);
  delete prefetched[choice];
  if (spec.source === "static") return { time: null, converged: null, link: net.link_diameter_m.map((d) => (d === null ? null : spec.convert(d))) };
  if (spec.source === "links") {
    const answer = await pending;
    return { time: answer.time, converged: answer.hydraulics_converged, link: answer.values.map((v) => (v === null ? null : spec.convert(v))) };
  }
  const answer = await pending;
  const node = answer.values;
  const link = net.link_ids.map((_, i) => {
    const a = node[net.index.get(net.link_from[i])], b = node[net.index.get(net.link_to[i])];
    const known = [a, b].filter((v) => v !== null && v !== undefined);
    return known.length ? spec.convert(known.reduce((s, v) => s + v, 0) / known.length) : null;
  });
  return { time: answer.time, converged: answer.hydraulics_converged, link };
}

/** Bin edges: the quantity's fixed ones, else quantiles of the values (unique, ascending). */
function edgesOf(spec, known) {
  if (spec.edges) return spec.edges;
  if (!known.length) return [];
  const sorted = [...known].sort((p, q) => p - q);
  const bins = spec.palette.length;
  const edges = [];
  for (let k = 1; k < bins; k += 1) {
    const e = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / bins))];
    if (!edges.length || e > edges[edges.length - 1]) edges.push(e);
  }
  return edges;
}

async function draw() {
  const div = document.getElementById("map");
  const note = document.getElementById("map-note");
  const choice = document.getElementById("colour-by").value;
  const spec = QUANTITIES[choice];
  let net;
  try {
    net = await loadNetwork();
  } catch (error) {
    note.textContent = ctx.fail(error, t("ops.map.heading"));
    div.dataset.state = "unavailable";
    return;
  }
  const markerPromise = markers(net); // in parallel with the values
  let linkValues = null, time = null, converged = null;
  note.textContent = "";
  try {
    ({ link: linkValues, time, converged } = await values(net, choice));
  } catch (error) {
    note.textContent = t("ops.map.no_values", { quantity: t("ops.q." + choice), detail: error.message });
  }
  let measured = null;
  if (!linkValues && choice === "chlorine") {
    measured = await measuredChlorine(net, spec);
    if (measured) note.textContent += " · " + t("ops.map.chlorine_measured", { count: measured.count });
  }
  const known = linkValues ? linkValues.filter((v) => v !== null) : [];
  const edges = edgesOf(spec, known);
  const groups = [{ name: "none", color: NO_VALUE, width: 1, links: [] }];
  const palette = known.length ? spec.palette.slice(0, edges.length + 1) : [];
  palette.forEach((color) => groups.push({ color, width: 2, links: [] }));
  net.link_ids.forEach((_, i) => {
    const v = linkValues ? linkValues[i] : null;
    if (v === null || v === undefined) { groups[0].links.push(i); return; }
    let bin = 0;
    while (bin < edges.length && v >= edges[bin]) bin += 1;
    groups[bin + 1].links.push(i);
  });
  const { traces, count } = linkTraces(net, groups);
  const markerTraces = await markerPromise;
  await plotlyReady();
  const all = [...traces, nodeTrace(net), ...markerTraces, ...(measured ? measured.traces : [])];
  await Plotly.react(div, all, baseLayout(net), PLOT_CONFIG);
  if (!div.dataset.bound) {
    div.dataset.bound = "1";
    div.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && point.customdata) showDetails(String(point.customdata));
    });
  }
  div.dataset.linksDrawn = String(count);
  div.dataset.linksTotal = String(net.link_ids.length);
  div.dataset.colourBy = choice;
  div.dataset.state = "drawn";
  ctx.hooks.linksDrawn = count;
  if (measured) legend(spec, choice, spec.edges, spec.palette, groups[0].links.length, markerTraces);
  else legend(spec, choice, edges, palette, groups[0].links.length, markerTraces);
  document.getElementById("map-time").textContent = time ? t("ops.map.time", { time: formatTime(time) }) : "";
  twinHealth(converged);
  drawn = true;
  if (!ctx.hooks.marks.map) ctx.hooks.marks.map = performance.now();
}

/** Say beside the twin's time when its hydraulics did not converge (``converged`` false):
 *  the colours then show an unbalanced solution. Null (no twin values): nothing. */
function twinHealth(converged) {
  const badge = document.getElementById("map-twin-health");
  badge.hidden = converged !== false;
  badge.className = badge.hidden ? "" : "badge warning"; // a badge's display beats [hidden]
  badge.textContent = converged === false ? t("ops.map.not_converged") : "";
  badge.title = converged === false ? t("ops.map.not_converged_hint") : "";
  document.getElementById("map").dataset.twinConverged = converged === null ? "" : String(converged);
}

/** The twin does not model chlorine: the latest measured free chlorine at the chlorine
 *  sensors, one marker trace per colour bin (null when there is none). */
async function measuredChlorine(net, spec) {
  try {
    const sensors = [];
    for (let offset = 0; ; offset += 200) {
      const page = await api(`/telemetry/sensors?quantity=chlorine&limit=200&offset=${offset}`);
      sensors.push(...page.items);
      if (!page.items.length || sensors.length >= page.total) break;
    }
    if (!sensors.length) return null;
    const latest = await api(`/telemetry/latest?${sensors.map((s) => `sensor=${encodeURIComponent(s.id)}`).join("&")}`);
    const value = new Map(latest.items.filter((r) => r.value !== null).map((r) => [r.sensor_id, r.value]));
    const bins = spec.palette.map(() => ({ x: [], y: [], ids: [], text: [] }));
    let count = 0;
    for (const s of sensors) {
      const v = value.get(s.id);
      const i = s.element_kind === "node" ? net.index.get(s.element_id) : undefined;
      if (v === undefined || i === undefined || net.node_x[i] === null) continue;
      let b = 0;
      while (b < spec.edges.length && v >= spec.edges[b]) b += 1;
      bins[b].x.push(net.node_x[i]); bins[b].y.push(net.node_y[i]); bins[b].ids.push(s.element_id);
      bins[b].text.push(`${s.id}: ${formatNumber(v, 2)} mg/L`);
      count += 1;
    }
    if (!count) return null;
    const traces = bins.map((bin, b) => ({ type: "scattergl", mode: "markers", x: bin.x, y: bin.y, customdata: bin.ids,
      text: bin.text, hovertemplate: "%{text}<extra></extra>", showlegend: false, meta: { role: "chlorine" },
      marker: { color: spec.palette[b], size: 12, symbol: "hexagon", line: { color: "#ffffff", width: 1 } } }));
    return { traces, count };
  } catch (error) {
    return null;
  }
}

async function markers(net) {
  const byKind = {};
  for (const m of net.markers) {
    if (m.x === null || m.y === null) continue;
    (byKind[m.kind] = byKind[m.kind] || []).push(m);
  }
  // open alarms at their source (a sensor, pump room or element that has a place on the map)
  try {
    const open = await api("/alarms?state=raised&state=acknowledged&state=assigned&limit=200");
    const place = new Map(net.markers.map((m) => [m.id, m]));
    const alarms = [];
    for (const a of open.items) {
      const at = place.get(a.source) || (net.index.has(a.source)
        ? { x: net.node_x[net.index.get(a.source)], y: net.node_y[net.index.get(a.source)] } : null);
      if (at && at.x !== null) alarms.push({ id: a.source, x: at.x, y: at.y, label: a.message });
    }
    byKind.alarm = alarms;
  } catch (error) { /* the alarm list says why; the map still draws */ }
  return Object.entries(byKind).map(([kind, list]) => {
    const style = MARKERS[kind] || MARKERS.sensor;
    return { type: "scattergl", mode: "markers", name: kind, x: list.map((m) => m.x), y: list.map((m) => m.y),
      customdata: list.map((m) => m.element_id || m.id), text: list.map((m) => `${m.label || m.id}`),
      hovertemplate: "%{text}<extra></extra>", showlegend: false, meta: { role: "markers", kind },
      marker: { symbol: style.symbol, color: style.color, size: style.size, line: { color: "#ffffff", width: 1 } } };
  });
}

function legend(spec, choice, edges, palette, missing, markerTraces) {
  const fmt = (v) => formatNumber(v, spec.digits);
  const rows = palette.map((color, k) => {
    const low = k === 0 ? null : edges[k - 1], high = k < edges.length ? edges[k] : null;
    const range = low === null ? `< ${fmt(high)}` : high === null ? `≥ ${fmt(low)}` : `${fmt(low)} – ${fmt(high)}`;
    return `<li><span class="swatch" style="background:${color}"></span>${esc(range)} ${esc(spec.unit)}</li>`;
  });
  if (missing) rows.push(`<li><span class="swatch" style="background:${NO_VALUE}"></span>${esc(t("ops.map.no_value"))} (${missing})</li>`);
  const kinds = markerTraces.filter((tr) => tr.x.length).map((tr) => {
    const style = MARKERS[tr.meta.kind] || MARKERS.sensor;
    return `<li><span class="swatch round" style="background:${style.color}"></span>${esc(t("ops.marker." + tr.meta.kind))} (${tr.x.length})</li>`;
  });
  document.getElementById("legend").innerHTML =
    `<h3>${esc(t("ops.q." + choice))} (${esc(spec.unit)})</h3><ul>${rows.join("")}</ul><ul>${kinds.join("")}</ul>`;
}

/** The details panel of one node or link. */
export async function showDetails(id) {
  const box = document.getElementById("details");
  box.innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  try {
    const e = await api(`/network/elements/${encodeURIComponent(id)}`);
    const rows = Object.entries(e.properties || {}).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`);
    const twin = Object.entries(e.twin || {}).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(twinValue(k, v))}</td></tr>`);
    const sensors = (e.sensors || []).map((s) => `<li><a href="#sensors/${encodeURIComponent(s)}">${esc(s)}</a></li>`);
    box.innerHTML = `
      <h3 data-element="${esc(e.id)}">${esc(e.id)} <span class="muted">${esc(t("ops.kind." + e.kind))}</span></h3>
      ${e.dma ? `<p>${esc(t("ops.details.dma"))}: ${esc(e.dma)}</p>` : ""}
      <table class="props"><tbody>${rows.join("")}</tbody></table>
      ${twin.length ? `<h4>${esc(t("ops.details.twin"))}</h4><table class="props"><tbody>${twin.join("")}</tbody></table>` : ""}
      ${sensors.length ? `<h4>${esc(t("ops.details.sensors"))}</h4><ul>${sensors.join("")}</ul>` : ""}
      ${e.element === "link" && ctx.can("scenario") ? `<p><a href="#scenario/${encodeURIComponent(e.id)}">${esc(t("ops.details.close_it"))}</a></p>` : ""}`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(error.status === 404 ? t("ops.details.not_found", { id }) : error.message)}</p>`;
  }
}

/** A twin value (SI) in people's units. */
function twinValue(key, v) {
  if (v === null || v === undefined) return "–";
  if (key === "pressure_m") return `${formatNumber(units.mpa(v), 3)} MPa`;
  if (key === "head_m") return `${formatNumber(v, 2)} m`;
  if (key === "demand_m3s" || key === "flow_m3s") return `${formatNumber(units.ls(v), 2)} L/s`;
  if (key === "water_age_s") return `${formatNumber(units.hours(v), 1)} h`;
  if (key === "velocity_ms") return `${formatNumber(v, 2)} m/s`;
  return formatNumber(v, 3);
}
