// The KPI tiles: safe-operation days of the trunk main, water delivered today and in total,
// non-revenue water, open alarms, applications in progress, complaints today. Read from
// /kpis at start and on every ``kpi`` event of the stream (people's units: m³, %, d).
import { api, esc, formatNumber, t } from "../common.js";

let ctx;

/** Tile key → how to read it from the /kpis answer (first field found wins) and show it. */
const TILES = [
  { key: "trunk_main_safe_days", fields: ["trunk_main_safe_days"], unit: "d", digits: 1 },
  { key: "delivered_today_m3", fields: ["delivered_today_m3"], unit: "m³", digits: 0 },
  { key: "delivered_total_m3", fields: ["delivered_total_m3"], unit: "m³", digits: 0 },
  { key: "nrw", fields: ["nrw_percent"], unit: "%", digits: 1 },
  { key: "open_alarms", fields: ["open_alarms"], unit: "", digits: 0 },
  { key: "applications_in_progress", fields: ["applications_in_progress"], unit: "", digits: 0 },
  { key: "complaints_today", fields: ["complaints_today"], unit: "", digits: 0 },
];

function pick(data, path) {
  let value = data;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !(part in value)) return undefined;
    value = value[part];
  }
  return value;
}

function read(data, tile) {
  for (const field of tile.fields) {
    const value = pick(data, field);
    if (value !== undefined) return typeof value === "object" && value !== null ? value.value ?? null : value;
  }
  return undefined;
}

export function initKpis(context, first = null) {
  ctx = context;
  const list = document.getElementById("kpi-tiles");
  list.innerHTML = TILES.map((tile) => `
    <li class="kpi" data-kpi="${tile.key}">
      <span class="kpi-label">${esc(t("ops.kpi." + tile.key))}</span>
      <span class="kpi-value" aria-live="off">…</span>
    </li>`).join("");
  load(first);
}

/** Fill the tiles from ``first`` (a pending /kpis answer, or an error) or a new call. */
async function load(first) {
  const answer = await (first || api("/kpis").catch((error) => error));
  if (answer instanceof Error) updateKpis({}, answer);
  else updateKpis(answer);
}

/** Fill the tiles from a /kpis answer (or a stream ``kpi`` event carrying the same fields). */
export function updateKpis(data, error = null) {
  const list = document.getElementById("kpi-tiles");
  for (const tile of TILES) {
    const li = list.querySelector(`[data-kpi="${tile.key}"]`);
    const raw = read(data, tile);
    if (raw === undefined && li.dataset.filled) continue; // a partial event keeps the rest
    const out = li.querySelector(".kpi-value");
    if (raw === undefined || raw === null) {
      out.textContent = "–";
      out.title = error ? error.message : t("ops.kpi.unknown");
      li.dataset.available = "false";
    } else {
      const value = Number(raw) * (tile.scale || 1);
      out.textContent = `${formatNumber(value, tile.digits)}${tile.unit ? " " + tile.unit : ""}`;
      out.title = "";
      li.dataset.available = "true";
    }
    li.dataset.filled = "1";
  }
  list.dataset.state = error ? "error" : "filled";
  if (!ctx.hooks.marks.kpis) ctx.hooks.marks.kpis = performance.now();
}
