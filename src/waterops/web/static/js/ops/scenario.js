// The scenario page: close a pipe or valve (typed, or clicked on the map) and see which nodes
// lose water and where pressure falls (/scenarios/close, the closure simulated under
// pressure-driven demand), drawn on the map with counts.
import { announce, api, esc, formatNumber, t, units } from "../common.js";
import { PLOT_CONFIG, baseLayout, linkTraces, loadNetwork, plotlyReady } from "./map.js";

let ctx;
let net = null;
let drawnBase = false;

const DROP_EDGES_M = [2, 5, 10, 20]; // pressure-drop bins [m]
const DROP_COLOURS = ["#fc8d59", "#e34a33", "#b30000", "#67000d"]; // [2,5), [5,10), [10,20), ≥20 m

export function initScenario(context) {
  ctx = context;
  document.getElementById("scenario-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("scenario-link").value.trim();
    if (id) location.hash = `#scenario/${encodeURIComponent(id)}`;
  });
}

export async function showScenario(arg) {
  const result = document.getElementById("scenario-result");
  try {
    net = await loadNetwork();
  } catch (error) {
    result.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.scenario.heading")))}</p>`;
    return;
  }
  if (!drawnBase) { await draw(null, null); drawnBase = true; }
  if (!arg) return;
  const id = decodeURIComponent(arg);
  document.getElementById("scenario-link").value = id;
  if (!net.linkIndex.has(id)) {
    result.innerHTML = `<p class="error" id="scenario-error">${esc(t("ops.scenario.unknown", { id }))}</p>`;
    return;
  }
  result.innerHTML = `<p class="muted">${esc(t("ops.scenario.running", { id }))}</p>`;
  let effect;
  try {
    effect = await api("/scenarios/close", { method: "POST", body: { link_ids: [id] } });
  } catch (error) {
    const message = error.status === 404 && !error.problem.type
      ? t("ops.scenario.unavailable") : ctx.fail(error, t("ops.scenario.heading"));
    result.innerHTML = `<p class="error" id="scenario-error">${esc(message)}</p>`;
    await draw(id, null);
    return;
  }
  const lost = effect.cut_off_nodes || [];
  const hyd = effect.hydraulics || {};
  const drops = hyd.pressure_drop_m || {};
  await draw(id, { lost, drops });
  const dropped = Object.values(drops).filter((d) => d >= DROP_EDGES_M[0]).length;
  const critical = effect.critical_users || [];
  result.innerHTML = `
    <dl class="facts" id="scenario-facts" data-lost="${lost.length}" data-dropped="${dropped}" data-customers="${effect.customer_count}">
      <dt>${esc(t("ops.scenario.closed"))}</dt><dd>${esc(id)}</dd>
      <dt>${esc(t("ops.scenario.lost"))}</dt><dd id="scenario-lost">${lost.length}</dd>
      <dt>${esc(t("ops.scenario.customers"))}</dt><dd id="scenario-customers">${effect.customer_count}</dd>
      <dt>${esc(t("ops.scenario.cut_off_demand"))}</dt><dd>${esc(formatNumber(effect.demand_cut_off_ls, 2))} L/s</dd>
      <dt>${esc(t("ops.scenario.dropped", { m: DROP_EDGES_M[0] }))}</dt><dd id="scenario-dropped">${dropped}</dd>
      ${hyd.unsupplied_ls !== undefined ? `<dt>${esc(t("ops.scenario.unsupplied"))}</dt><dd>${esc(formatNumber(hyd.unsupplied_ls, 2))} L/s</dd>` : ""}
      ${hyd.newly_low_nodes ? `<dt>${esc(t("ops.scenario.newly_low", { mpa: formatNumber(units.mpa(hyd.threshold_m), 2) }))}</dt><dd>${hyd.newly_low_nodes.length}</dd>` : ""}
    </dl>
    ${critical.length ? `<h3>${esc(t("ops.scenario.critical"))}</h3><ul>${critical.map((c) => `<li>${esc(c.name)} (${esc(c.kind)}, ${esc(c.node_id)})</li>`).join("")}</ul>` : ""}
    ${lost.length ? `<h3>${esc(t("ops.scenario.lost_list"))}</h3><p class="node-list">${lost.slice(0, 200).map(esc).join(", ")}${lost.length > 200 ? " …" : ""}</p>` : ""}
    ${largest(drops)}`;
  announce(t("ops.scenario.done", { id, lost: lost.length, dropped }));
}

function largest(drops) {
  const top = Object.entries(drops).filter(([, d]) => d > 0).sort((p, q) => q[1] - p[1]).slice(0, 10);
  if (!top.length) return "";
  return `<h3>${esc(t("ops.scenario.largest"))}</h3><table><thead><tr><th scope="col">${esc(t("ops.scenario.node"))}</th><th scope="col">${esc(t("ops.scenario.drop"))}</th></tr></thead>
    <tbody>${top.map(([id, d]) => `<tr><td>${esc(id)}</td><td>${esc(formatNumber(units.mpa(d), 3))} MPa (${esc(formatNumber(d, 1))} m)</td></tr>`).join("")}</tbody></table>`;
}

async function draw(closed, effect) {
  const div = document.getElementById("scenario-map");
  const groups = [{ color: "#b8c0ca", width: 1, links: net.link_ids.map((_, i) => i).filter((i) => net.link_ids[i] !== closed) }];
  if (closed) groups.push({ color: "#000000", width: 6, links: [net.linkIndex.get(closed)] });
  const { traces, count } = linkTraces(net, groups);
  if (effect) {
    const bins = DROP_COLOURS.map(() => []);
    for (const [id, d] of Object.entries(effect.drops)) {
      if (!(d >= DROP_EDGES_M[0])) continue;
      let b = 0;
      while (b < DROP_EDGES_M.length - 1 && d >= DROP_EDGES_M[b + 1]) b += 1;
      bins[b].push(id);
    }
    bins.forEach((ids, b) => traces.push(nodeMarkers(ids, DROP_COLOURS[b], 5, "drop")));
    traces.push(nodeMarkers(effect.lost, "#7b0099", 8, "lost"));
  }
  await plotlyReady();
  await Plotly.react(div, traces, baseLayout(net), PLOT_CONFIG);
  div.dataset.linksDrawn = String(count);
  div.dataset.closed = closed || "";
  div.dataset.state = "drawn";
  if (!div.dataset.bound) {
    div.dataset.bound = "1";
    div.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && point.customdata && net.linkIndex.has(String(point.customdata))) {
        document.getElementById("scenario-link").value = String(point.customdata);
        document.getElementById("scenario-link").focus();
      }
    });
  }
}

function nodeMarkers(ids, color, size, name) {
  const x = [], y = [];
  for (const id of ids) {
    const i = net.index.get(id);
    if (i === undefined) continue;
    x.push(net.node_x[i]); y.push(net.node_y[i]);
  }
  return { type: "scattergl", mode: "markers", x, y, text: ids, name, customdata: ids,
    hovertemplate: "%{text}<extra></extra>", marker: { color, size }, showlegend: false };
}
