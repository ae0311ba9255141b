// Work orders (工单): the list with each order's SLA clock and a breach badge, filters, a new
// order from an open alarm, and the moves of the order (assign, depart, arrive, repair, close
// with cause and materials, cancel). Buttons only for what the role may do: the copy of
// waterops.model.work_orders.STAFF_ABILITIES below (tests/web/test_ops_more.py keeps them
// equal); a field crew sees only its own orders (the API answers only those).
import { announce, api, esc, formatNumber, formatTime, t } from "../common.js";

/** What each staff role may do with work orders and the trunk main's record. */
export const ABILITIES = {
  dispatcher: ["work_orders:read_all", "work_orders:create", "work_orders:dispatch",
    "work_orders:field", "trunk_main:read", "trunk_main:record_failure"],
  water_quality_engineer: ["work_orders:read_all", "work_orders:create", "trunk_main:read"],
  service_agent: ["work_orders:read_all", "work_orders:create", "trunk_main:read"],
  field_crew: ["work_orders:field", "trunk_main:read"],
  planner: ["work_orders:read_all", "trunk_main:read"],
  administrator: ["work_orders:read_all", "work_orders:create", "work_orders:dispatch",
    "work_orders:field", "trunk_main:read", "trunk_main:record_failure"],
};

export function able(role, ability) { return (ABILITIES[role] || []).includes(ability); }

const DISPATCH = ["assign", "close", "cancel"];
const FIELD = ["depart", "arrive", "repair"];
const CAUSES = ["pipe_burst", "leak", "pump_trip", "valve_fault", "booster_fault", "building_tank_empty",
  "upstream_network_low", "local_fault", "power_failure", "source_outage", "water_quality",
  "sensor_fault", "planned_work", "false_alarm"];
const KINDS = ["pipe_burst", "leak", "pump_room", "trunk_main", "valve", "meter", "water_quality",
  "low_pressure", "other"];

let ctx;
let body;
let bound = false;
const crews = new Map(); // field-crew account id → crew name, from the orders seen (suggestions)

export function initWorkOrders(context) { ctx = context; }

/** Show the view (``arg``: an order id to open its history). */
export async function showWorkOrders(arg) {
  body = document.getElementById("workorders-body");
  if (!bound) {
    bound = true;
    body.innerHTML = frame();
    body.querySelector("#wo-filters").addEventListener("change", () => list());
    const create = body.querySelector("#wo-create");
    if (create) create.addEventListener("submit", createFromAlarm);
    body.querySelector("#wo-rows").addEventListener("click", onRowClick);
  }
  if (able(ctx.user.role, "work_orders:create")) await openAlarms();
  await list();
  if (arg) await history(Number(arg));
}

function frame() {
  const kinds = KINDS.map((k) => `<option value="${k}">${esc(t("ops.wo.kind." + k))}</option>`).join("");
  return `
    <form id="wo-filters" class="view-head wo-filters">
      <label for="wo-open" class="inline">${esc(t("ops.wo.show"))}</label>
      <select id="wo-open" name="open"><option value="open">${esc(t("ops.wo.open"))}</option><option value="all">${esc(t("ops.wo.all"))}</option></select>
      <label for="wo-kind" class="inline">${esc(t("ops.wo.kind"))}</label>
      <select id="wo-kind" name="kind"><option value="">${esc(t("ops.wo.any"))}</option>${kinds}</select>
      <label for="wo-breached" class="inline">${esc(t("ops.wo.sla"))}</label>
      <select id="wo-breached" name="breached"><option value="">${esc(t("ops.wo.any"))}</option>
        <option value="true">${esc(t("ops.wo.breached"))}</option><option value="false">${esc(t("ops.wo.in_time"))}</option></select>
    </form>
    <table class="workorders">
      <caption class="sr-only">${esc(t("ops.nav.workorders"))}</caption>
      <thead><tr>
        <th scope="col">${esc(t("ops.wo.id"))}</th><th scope="col">${esc(t("ops.wo.title"))}</th>
        <th scope="col">${esc(t("ops.wo.kind"))}</th><th scope="col">${esc(t("ops.wo.priority"))}</th>
        <th scope="col">${esc(t("common.status"))}</th><th scope="col">${esc(t("ops.wo.crew"))}</th>
        <th scope="col">${esc(t("ops.wo.sla"))}</th><th scope="col">${esc(t("ops.alarms.actions"))}</th>
      </tr></thead>
      <tbody id="wo-rows"></tbody>
    </table>
    <p id="wo-empty" class="muted" hidden>${esc(t("ops.wo.none"))}</p>
    <div id="wo-history" aria-live="polite"></div>
    ${able(ctx.user.role, "work_orders:create") ? `
    <form id="wo-create" class="panel inject">
      <h3>${esc(t("ops.wo.from_alarm"))}</h3>
      <label for="wo-alarm">${esc(t("ops.wo.alarm"))}</label>
      <select id="wo-alarm" name="alarm_id" required></select>
      <label for="wo-create-title">${esc(t("ops.wo.title_optional"))}</label>
      <input id="wo-create-title" name="title" maxlength="200">
      <label for="wo-diameter">${esc(t("ops.wo.diameter"))}</label>
      <input id="wo-diameter" name="diameter_mm" type="number" min="1" max="9999" step="any">
      <p><button type="submit">${esc(t("ops.wo.create"))}</button></p>
    </form>` : ""}`;
}

async function openAlarms() {
  const select = body.querySelector("#wo-alarm");
  try {
    const page = await api("/alarms?state=raised&state=acknowledged&state=assigned&limit=200");
    select.innerHTML = page.items.map((a) => `<option value="${a.id}">#${a.id} ${esc(a.source)}: ${esc(a.message)}</option>`).join("");
    select.disabled = !page.items.length;
    body.querySelector("#wo-create button").disabled = !page.items.length;
  } catch (error) {
    ctx.fail(error, t("ops.wo.from_alarm"));
  }
}

async function createFromAlarm(event) {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target).entries());
  const payload = { alarm_id: Number(data.alarm_id) };
  if (data.title.trim()) payload.title = data.title.trim();
  if (data.diameter_mm) payload.diameter_mm = Number(data.diameter_mm);
  try {
    const order = await api("/work-orders/from-record", { method: "POST", body: payload });
    announce(t("ops.wo.created", { id: order.id }));
    event.target.reset();
    await list();
  } catch (error) {
    ctx.fail(error, t("ops.wo.from_alarm"));
  }
}

function query() {
  const form = body.querySelector("#wo-filters");
  const q = new URLSearchParams({ limit: "200" });
  if (form.open.value === "open") q.set("open", "true");
  if (form.kind.value) q.set("kind", form.kind.value);
  if (form.breached.value) q.set("breached", form.breached.value);
  return q.toString();
}

async function list() {
  const rows = body.querySelector("#wo-rows");
  let page;
  try {
    page = await api(`/work-orders?${query()}`);
  } catch (error) {
    rows.innerHTML = "";
    ctx.fail(error, t("ops.nav.workorders"));
    return;
  }
  for (const o of page.items) if (o.assignee_id !== null) crews.set(o.assignee_id, o.crew || "");
  rows.innerHTML = page.items.map(row).join("");
  body.querySelector("#wo-empty").hidden = page.items.length > 0;
  rows.dataset.count = String(page.items.length);
}

/** The SLA clock in words: time left (or overdue) to be on site, then to be fixed. */
function clock(order) {
  const s = order.sla;
  const final = order.state === "closed" || order.state === "cancelled";
  const span = (seconds) => {
    const h = Math.abs(seconds) / 3600;
    return h >= 1 ? `${formatNumber(h, 1)} h` : `${formatNumber(Math.abs(seconds) / 60, 0)} min`;
  };
  const parts = [];
  if (!order.on_site_at && s.on_site_remaining_s !== null && !final) {
    parts.push(t(s.on_site_remaining_s >= 0 ? "ops.wo.on_site_in" : "ops.wo.on_site_late", { span: span(s.on_site_remaining_s) }));
  }
  if (!order.repaired_at && s.fixed_remaining_s !== null && !final) {
    parts.push(t(s.fixed_remaining_s >= 0 ? "ops.wo.fixed_in" : "ops.wo.fixed_late", { span: span(s.fixed_remaining_s) }));
  }
  const badge = s.breached ? `<span class="badge major wo-breach">${esc(t("ops.wo.breached"))}</span> ` : "";
  if (final) return `${badge}–`;
  return `${badge}${esc(parts.join("; ") || t("ops.wo.due", { time: formatTime(s.fixed_due || s.on_site_due) }))}`;
}

function mayDo(action) {
  if (DISPATCH.includes(action)) return able(ctx.user.role, "work_orders:dispatch");
  if (FIELD.includes(action)) return able(ctx.user.role, "work_orders:field");
  return false;
}

function row(o) {
  const actions = o.allowed_actions.filter(mayDo);
  const buttons = actions.map((a) => `<button type="button" data-action="${a}" data-order="${o.id}"
      aria-label="${esc(t("ops.wo.action_label", { action: t("ops.wo.action." + a), id: o.id }))}">${esc(t("ops.wo.action." + a))}</button>`);
  return `<tr data-order="${o.id}" data-state="${esc(o.state)}" data-breached="${o.sla.breached}">
    <td><a href="#workorders/${o.id}">#${o.id}</a></td><td>${esc(o.title)}</td>
    <td>${esc(t("ops.wo.kind." + o.kind))}</td><td>${esc(t("ops.wo.priority." + o.priority))}</td>
    <td class="state">${esc(t("ops.wo.state." + o.state))}</td><td>${esc(o.crew || "–")}</td>
    <td class="sla">${clock(o)}</td>
    <td class="actions">${buttons.join(" ") || `<span class="muted">${esc(t("ops.wo.view_only"))}</span>`}
      <div class="action-slot"></div></td></tr>`;
}

function onRowClick(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const id = Number(button.dataset.order);
  const action = button.dataset.action;
  const slot = button.closest("td").querySelector(".action-slot");
  if (action === "depart" || action === "arrive") { act(id, { action }); return; }
  slot.innerHTML = actionForm(id, action);
  const form = slot.querySelector("form");
  form.addEventListener("submit", (e) => { e.preventDefault(); submitAction(id, action, form); });
  form.querySelector("input, select, textarea").focus();
}

function actionForm(id, action) {
  const f = (name) => `wo-${action}-${id}-${name}`;
  const causes = CAUSES.map((c) => `<option value="${c}">${esc(t("ops.cause." + c))}</option>`).join("");
  let fields = "";
  if (action === "assign") {
    fields = `<label for="${f("assignee")}">${esc(t("ops.wo.assignee"))}</label>
      <input id="${f("assignee")}" name="assignee_id" type="number" min="1" step="1" required list="${f("crews")}">
      <datalist id="${f("crews")}">${[...crews].map(([id, name]) => `<option value="${id}">${esc(name)}</option>`).join("")}</datalist>
      <label for="${f("crew")}">${esc(t("ops.wo.crew_name"))}</label><input id="${f("crew")}" name="crew" maxlength="64">`;
  } else if (action === "repair" || action === "close") {
    fields = `<label for="${f("cause")}">${esc(t("ops.wo.cause"))}</label>
      <select id="${f("cause")}" name="cause">${action === "close" ? `<option value="">${esc(t("ops.wo.cause_given"))}</option>` : ""}${causes}</select>
      <label for="${f("materials")}">${esc(t("ops.wo.materials"))}</label>
      <textarea id="${f("materials")}" name="materials" rows="2" placeholder="DN300 clamp; 1; pcs"></textarea>`;
  }
  const noteRequired = action === "cancel" ? " required" : "";
  fields += `<label for="${f("note")}">${esc(t(action === "cancel" ? "ops.wo.reason" : "ops.wo.note"))}</label>
    <input id="${f("note")}" name="note" maxlength="500"${noteRequired}>`;
  return `<form class="alarm-form">${fields}<button type="submit">${esc(t("ops.wo.action." + action))}</button></form>`;
}

/** Materials typed one a line as "name; quantity; unit" (e.g. "DN300 clamp; 1; pcs"). */
export function parseMaterials(text) {
  const out = [];
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const [name, quantity, unit] = line.split(";").map((p) => (p || "").trim());
    const q = Number(quantity);
    if (!name || !(q > 0) || !unit) throw new Error(t("ops.wo.bad_material", { line }));
    out.push({ name, quantity: q, unit });
  }
  return out;
}

async function submitAction(id, action, form) {
  const data = Object.fromEntries(new FormData(form).entries());
  const payload = { action, note: (data.note || "").trim() };
  try {
    if (action === "assign") {
      payload.assignee_id = Number(data.assignee_id);
      payload.crew = (data.crew || "").trim();
    }
    if (data.cause) payload.cause = data.cause;
    if (data.materials !== undefined) payload.materials = parseMaterials(data.materials);
  } catch (error) {
    announce(error.message, { error: true });
    return;
  }
  await act(id, payload);
}

async function act(id, payload) {
  try {
    const order = await api(`/work-orders/${id}/actions`, { method: "POST", body: payload });
    announce(t("ops.wo.moved", { id, state: t("ops.wo.state." + order.state) }));
    await list();
  } catch (error) {
    ctx.fail(error, t("ops.wo.order", { id }));
  }
}

async function history(id) {
  const box = body.querySelector("#wo-history");
  try {
    const [order, events] = await Promise.all([api(`/work-orders/${id}`), api(`/work-orders/${id}/history?limit=200`)]);
    const materials = order.materials.map((m) => `${esc(m.name)} ${esc(formatNumber(m.quantity, 2))} ${esc(m.unit)}`).join(", ");
    box.innerHTML = `<h3>${esc(t("ops.wo.order", { id }))}: ${esc(order.title)}</h3>
      <dl class="facts">
        <dt>${esc(t("common.status"))}</dt><dd>${esc(t("ops.wo.state." + order.state))}</dd>
        <dt>${esc(t("ops.wo.where"))}</dt><dd>${esc(order.node_id || order.link_id || order.location_text || "–")}</dd>
        <dt>${esc(t("ops.wo.cause"))}</dt><dd>${esc(order.cause ? t("ops.cause." + order.cause) : "–")}</dd>
        <dt>${esc(t("ops.wo.materials_used"))}</dt><dd>${materials || "–"}</dd>
      </dl>
      <table><caption class="sr-only">${esc(t("ops.wo.history"))}</caption>
        <thead><tr><th scope="col">${esc(t("common.time"))}</th><th scope="col">${esc(t("ops.wo.step"))}</th><th scope="col">${esc(t("ops.wo.by"))}</th><th scope="col">${esc(t("ops.wo.note"))}</th></tr></thead>
        <tbody>${events.items.map((e) => `<tr><td>${esc(formatTime(e.at))}</td><td>${esc(t("ops.wo.state." + e.state_after))}</td><td>${esc(e.actor)}</td><td>${esc(e.note)}</td></tr>`).join("")}</tbody></table>`;
  } catch (error) {
    box.innerHTML = `<p class="error">${esc(ctx.fail(error, t("ops.wo.order", { id })))}</p>`;
  }
}
