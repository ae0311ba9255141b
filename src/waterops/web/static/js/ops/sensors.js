// Sensor charts: a sensor's readings (mean per interval, min–max band) against the twin's
// modelled values, in people's units; new readings from the stream are added as they arrive.
import { api, esc, formatNumber, formatTime, t, units } from "../common.js";
import { plotlyReady } from "./map.js";

let ctx;
let sensors = null; // id → sensor
let current = null; // the sensor on the chart
let liveTrace = -1; // index of the "live" trace on the chart

/** SI unit → (people's unit, conversion). */
const DISPLAY = {
  pressure: { unit: "MPa", convert: units.mpa },
  flow: { unit: "L/s", convert: units.ls },
};

export function display(quantity, unit) {
  if (DISPLAY[quantity]) return DISPLAY[quantity];
  if (unit === "m3/s") return { unit: "L/s", convert: units.ls };
  return { unit: unit || "", convert: (v) => v };
}

export function initSensors(context) {
  ctx = context;
  document.getElementById("sensor-pick").addEventListener("change", (event) => {
    location.hash = `#sensors/${encodeURIComponent(event.target.value)}`;
  });
  document.getElementById("sensor-hours").addEventListener("change", () => { if (current) chart(current); });
}

async function loadSensors() {
  if (sensors) return sensors;
  const found = new Map();
  let offset = 0;
  for (;;) {
    const page = await api(`/telemetry/sensors?limit=200&offset=${offset}`);
    page.items.forEach((s) => found.set(s.id, s));
    offset += page.items.length;
    if (!page.items.length || offset >= page.total) break;
  }
  sensors = found;
  const byQuantity = {};
  for (const s of found.values()) (byQuantity[s.quantity] = byQuantity[s.quantity] || []).push(s);
  document.getElementById("sensor-pick").innerHTML = Object.entries(byQuantity).map(([q, list]) =>
    `<optgroup label="${esc(t("ops.q." + q))}">${list.map((s) => `<option value="${esc(s.id)}">${esc(s.id)}${s.name && s.name !== s.id ? " · " + esc(s.name) : ""}</option>`).join("")}</optgroup>`).join("");
  return sensors;
}

/** The registered sensors (id → sensor), loaded once. */
export async function sensorList() { return loadSensors(); }

export async function showSensors(id) {
  const note = document.getElementById("sensor-note");
  try {
    await loadSensors();
  } catch (error) {
    note.textContent = ctx.fail(error, t("ops.sensors.heading"));
    return;
  }
  if (!sensors.size) { note.textContent = t("ops.sensors.none"); return; }
  const chosen = id && sensors.has(decodeURIComponent(id)) ? decodeURIComponent(id) : (current || sensors.keys().next().value);
  document.getElementById("sensor-pick").value = chosen;
  await chart(chosen);
}

async function chart(id) {
  current = id;
  const sensor = sensors.get(id);
  const { unit, convert } = display(sensor.quantity, sensor.unit);
  const div = document.getElementById("sensor-chart");
  const note = document.getElementById("sensor-note");
  const hours = Number(document.getElementById("sensor-hours").value);
  // the window ends at the sensor's latest reading (the demo's clock runs ahead of the wall's)
  let end = new Date();
  try {
    const latest = await api(`/telemetry/latest?sensor=${encodeURIComponent(id)}`);
    if (latest.items.length) end = new Date(new Date(latest.items[0].time).getTime() + 1000);
  } catch (error) { /* the series call below says what is wrong */ }
  const start = new Date(end.getTime() - hours * 3600 * 1000);
  const every = hours <= 6 ? "5min" : hours <= 24 ? "15min" : "1h";
  const query = `from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(end.toISOString())}&every=${every}`;
  let series, twinNote = "";
  try {
    series = await api(`/telemetry/series/${encodeURIComponent(id)}?${query}&with_twin=true`);
  } catch (error) {
    if (error.status !== 409) { note.textContent = ctx.fail(error, id); return; }
    series = await api(`/telemetry/series/${encodeURIComponent(id)}?${query}`);
    twinNote = t("ops.sensors.no_twin");
  }
  const points = series.points.filter((p) => p.mean !== null);
  const x = points.map((p) => new Date(p.time));
  const conv = (v) => (v === null ? null : convert(v));
  const traces = [
    { type: "scatter", mode: "lines", x, y: points.map((p) => conv(p.max)), line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { type: "scatter", mode: "lines", x, y: points.map((p) => conv(p.min)), fill: "tonexty", fillcolor: "rgba(11,92,173,0.15)", line: { width: 0 }, name: t("ops.sensors.range") },
    { type: "scatter", mode: "lines", x, y: points.map((p) => conv(p.mean)), name: t("ops.sensors.measured"), line: { color: "#0b5cad", width: 2 } },
  ];
  if (series.twin) {
    traces.push({ type: "scatter", mode: "lines", x: series.twin.map((p) => new Date(p.time)), y: series.twin.map((p) => convert(p.value)),
      name: t("ops.sensors.twin"), line: { color: "#b3261e", width: 2, dash: "dash" } });
    if (!series.twin.length) twinNote = t("ops.sensors.twin_empty");
  }
  traces.push({ type: "scatter", mode: "markers", x: [], y: [], name: t("ops.sensors.live"), marker: { color: "#1e6b35", size: 6 } });
  liveTrace = traces.length - 1;
  const layout = { margin: { l: 60, r: 10, t: 10, b: 40 }, legend: { orientation: "h" },
    yaxis: { title: { text: `${t("ops.q." + sensor.quantity)} (${unit})` } }, xaxis: { type: "date" } };
  await plotlyReady();
  await Plotly.react(div, traces, layout, { displaylogo: false, responsive: true });
  div.dataset.sensor = id;
  div.dataset.points = String(points.length);
  div.dataset.twinPoints = String(series.twin ? series.twin.length : 0);
  note.textContent = [points.length ? "" : t("ops.sensors.no_readings"), twinNote].filter(Boolean).join(" ");
  showLatest(id);
}

function showLatest(id) {
  const seen = ctx.hooks.readings[id];
  const sensor = sensors && sensors.get(id);
  let box = document.getElementById("sensor-latest");
  if (!box) {
    box = document.createElement("p");
    box.id = "sensor-latest";
    box.setAttribute("aria-live", "off");
    document.getElementById("sensor-chart").before(box);
  }
  if (!seen || !sensor) { box.textContent = ""; return; }
  const { unit, convert } = display(sensor.quantity, sensor.unit);
  box.dataset.sensor = id;
  box.dataset.value = String(seen.value);
  box.textContent = t("ops.sensors.latest", { value: `${formatNumber(convert(seen.value), 3)} ${unit}`, time: formatTime(seen.time) });
}

/** A ``reading`` event of the stream: aligned ``sensor_ids``, ``times``, ``values`` (SI). */
export function readingEvent(data) {
  const arrived = Date.now();
  const ids = data.sensor_ids || [];
  for (let i = 0; i < ids.length; i += 1) {
    ctx.hooks.readings[ids[i]] = { time: data.times[i], value: data.values[i], arrived };
  }
  if (current && ids.includes(current) && !document.getElementById("view-sensors").hidden) {
    const seen = ctx.hooks.readings[current];
    const sensor = sensors.get(current);
    const { convert } = display(sensor.quantity, sensor.unit);
    const div = document.getElementById("sensor-chart");
    if (liveTrace >= 0 && div.data) Plotly.extendTraces(div, { x: [[new Date(seen.time)]], y: [[convert(seen.value)]] }, [liveTrace], 500);
    showLatest(current);
  }
}
