"use strict";
// The operators' dashboard: draws GET /api/live once, then redraws from every `live` event of the
// SSE stream, so the page never reloads. Silent localities are not in the stream: polled instead.

const TASKS_PER_PROVINCE = 225;
const SILENT_REFRESH_MS = 15000;
const SILENT_SHOWN = 8;
const QUIET_CHECK_MS = 15000;

const LABELS = {
  tasks_reported: ["Tasks reported", "Tasks reported"],
  tasks_completed: ["Tasks completed", "Tasks done"],
  villages: ["Villages reported", "Villages"],
  villages_without_electricity: ["Villages without electricity", "No power"],
  villages_without_internet: ["Villages without internet", "No internet"],
  eid_activations: ["e-ID activations", "e-ID"],
  dossiers_received: ["Dossiers received", "Dossiers"],
  dossiers_online: ["Dossiers filed online", "Online"],
  dossiers_on_time: ["Dossiers on time", "On time"],
  systems_assessed: ["Systems assessed", "Systems"],
  systems_failed: ["Systems failed", "Failed"],
  open_findings: ["Open security findings", "Findings"],
};
// Metrics where a higher number is bad news: shown in the warning colour when not zero.
const BAD = new Set(["villages_without_electricity", "villages_without_internet", "systems_failed", "open_findings"]);

const num = new Intl.NumberFormat("en-US");
const $ = (sel) => document.querySelector(sel);
const share = (part, whole) => (whole ? part / whole : null);
const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);

const withPower = (f) => share(f.villages - f.villages_without_electricity, f.villages);
const withInternet = (f) => share(f.villages - f.villages_without_internet, f.villages);

let registry = null; // {metrics, provinces: {code: {name, wards}}}: the provinces this account sees
let me = null; // {name, role, province, scope}: who is logged in (GET /api/me)
let latest = null; // the last /api/live body drawn
let clockSkewMs = 0; // server time minus browser time, so ages are right on a skewed laptop
const sortBy = { key: "code", dir: 1 };

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Sets a cell's text and raw value; a changed value flashes so the eye finds what moved.
function put(node, value, text) {
  const raw = value == null ? "" : String(value);
  if (node.dataset.value === raw && node.textContent === text) return;
  const first = node.dataset.value === undefined;
  node.dataset.value = raw;
  node.textContent = text;
  if (!first) {
    node.classList.remove("changed");
    void node.offsetWidth; // restart the animation
    node.classList.add("changed");
  }
}

// The flash ends for good: a row moved by a re-sort must not flash again.
document.addEventListener("animationend", (e) => e.target.classList.remove("changed"));

function age(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() + clockSkewMs - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

// ---- national figures -------------------------------------------------------------------------

function buildNation() {
  const box = $("#nation");
  for (const m of registry.metrics) {
    const card = el("div", { class: "card" + (BAD.has(m) ? " bad" : "") });
    card.append(el("span", { class: "label" }, LABELS[m]?.[0] ?? m), el("span", { class: "value", "data-metric": m }, "—"));
    box.append(card);
  }
}

function drawNation(nation) {
  for (const m of registry.metrics) {
    const node = $(`#nation [data-metric="${m}"]`);
    put(node, nation[m], num.format(nation[m]));
    node.parentElement.classList.toggle("nonzero", nation[m] > 0);
  }
}

// ---- targets ----------------------------------------------------------------------------------

function bar(id, title, done, total, extra = "") {
  const v = share(done, total);
  const row = el("div", { class: "target", id });
  const head = el("div", { class: "target-head" });
  head.append(el("span", {}, title), el("strong", { "data-value": v ?? "" }, pct(v)));
  const track = el("div", { class: "track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" });
  track.setAttribute("aria-valuenow", v == null ? "0" : (v * 100).toFixed(1));
  const fill = el("div", { class: "fill" });
  fill.style.width = `${Math.min(100, (v ?? 0) * 100)}%`;
  track.append(fill);
  row.append(head, track, el("div", { class: "note" }, `${num.format(done)} of ${num.format(total)}${extra}`));
  return row;
}

function drawTargets(body) {
  const f = body.nation;
  const provinces = Object.keys(registry.provinces).length;
  const allDone = Object.values(body.provinces).filter((p) => p.tasks_completed >= TASKS_PER_PROVINCE).length;
  const fresh = body.freshness.nation;
  $("#targets").replaceChildren(
    bar("target-power", "Villages with electricity", f.villages - f.villages_without_electricity, f.villages, " villages reported"),
    bar("target-internet", "Villages with internet", f.villages - f.villages_without_internet, f.villages, " villages reported"),
    bar("target-tasks", "The 225 tasks, completed", f.tasks_completed, TASKS_PER_PROVINCE * provinces,
      ` (225 × ${provinces}); ${allDone} provinces done`),
    bar("target-coverage", "Wards reported in the last day", fresh.wards_reported_last_day, fresh.wards),
  );
}

// ---- urban / rural gap ------------------------------------------------------------------------

const GAP_ROWS = [
  ["Villages with electricity", withPower],
  ["Villages with internet", withInternet],
  ["Dossiers filed online", (f) => share(f.dossiers_online, f.dossiers_received)],
  ["Dossiers on time", (f) => share(f.dossiers_on_time, f.dossiers_received)],
  ["Systems failing assessment", (f) => share(f.systems_failed, f.systems_assessed)],
];

function drawGap(urban, rural) {
  const rows = GAP_ROWS.map(([title, rate]) => {
    const u = rate(urban), r = rate(rural);
    const gap = u == null || r == null ? "—" : `${u >= r ? "+" : "−"}${(Math.abs(u - r) * 100).toFixed(1)} pt`;
    const tr = el("tr");
    tr.append(el("th", { scope: "row" }, title), el("td", {}, pct(u)), el("td", {}, pct(r)), el("td", {}, gap));
    return tr;
  });
  const counts = el("tr");
  counts.append(el("th", { scope: "row" }, "Villages reported"), el("td", {}, num.format(urban.villages)),
    el("td", {}, num.format(rural.villages)), el("td", {}, ""));
  $("#gap tbody").replaceChildren(...rows, counts);
}

// ---- provinces table --------------------------------------------------------------------------

// Each column: key (for sorting and data-metric), header, tooltip, value of a row, text of a value.
const COLUMNS = [
  { key: "name", head: "Province", title: "Province (click to sort by name)", value: (r) => r.name, text: (v) => v },
  { key: "tasks_share", head: "Tasks /225", title: "Tasks completed out of the 225 (nation: 225 × 34)",
    value: (r) => share(r.f.tasks_completed, TASKS_PER_PROVINCE * r.provinces), text: pct },
  { key: "power_share", head: "Power", title: "Villages with electricity", value: (r) => withPower(r.f), text: pct },
  { key: "internet_share", head: "Internet", title: "Villages with internet", value: (r) => withInternet(r.f), text: pct },
  { key: "coverage", head: "Wards in 24 h", title: "Share of wards that reported in the last day", value: (r) => r.fresh.wards_reported_last_day_share, text: pct },
];

function buildTable() {
  for (const m of registry.metrics) {
    COLUMNS.push({ key: m, head: LABELS[m]?.[1] ?? m, title: LABELS[m]?.[0] ?? m, value: (r) => r.f[m], text: (v) => num.format(v) });
  }
  const head = $("#provinces thead tr");
  for (const col of COLUMNS) {
    const th = el("th", { scope: "col", title: col.title, "data-key": col.key, "aria-sort": "none" });
    th.append(el("button", { type: "button" }, col.head));
    th.addEventListener("click", () => {
      sortBy.dir = sortBy.key === col.key ? -sortBy.dir : col.key === "name" ? 1 : -1; // numbers: largest first
      sortBy.key = col.key;
      drawTable(latest);
    });
    head.append(th);
  }
  const body = $("#provinces tbody");
  for (const [code, p] of Object.entries(registry.provinces)) {
    const tr = el("tr", { "data-code": code });
    for (const col of COLUMNS) {
      tr.append(col.key === "name" ? el("th", { scope: "row", lang: "vi", "data-metric": "name" }, p.name) : el("td", { "data-metric": col.key }));
    }
    body.append(tr);
  }
  const foot = el("tr", { "data-code": "nation" });
  for (const col of COLUMNS) foot.append(col.key === "name" ? el("th", { scope: "row" }, "Nation") : el("td", { "data-metric": col.key }));
  $("#provinces tfoot").append(foot);
}

function rowsOf(body) {
  return Object.entries(registry.provinces).map(([code, p]) => ({
    code, name: p.name, provinces: 1, f: body.provinces[code], fresh: body.freshness.provinces[code],
  }));
}

function compare(a, b) {
  if (sortBy.key === "code") return a.code.localeCompare(b.code);
  const col = COLUMNS.find((c) => c.key === sortBy.key);
  const x = col.value(a), y = col.value(b);
  if (x == null || y == null) return (x == null) - (y == null) || a.code.localeCompare(b.code); // no data: last either way
  const order = typeof x === "string" ? x.localeCompare(y, "vi") : x - y;
  return sortBy.dir * order || a.code.localeCompare(b.code);
}

function fillRow(tr, row) {
  for (const col of COLUMNS) {
    if (col.key === "name") continue;
    const v = col.value(row);
    put(tr.querySelector(`[data-metric="${col.key}"]`), v, col.text(v));
  }
}

function drawTable(body) {
  const tbody = $("#provinces tbody");
  const rows = rowsOf(body).sort(compare);
  for (const row of rows) fillRow(tbody.querySelector(`tr[data-code="${row.code}"]`), row);
  // Move rows only when the order changed: a moved row would restart its cells' flashes.
  const order = rows.map((r) => r.code).join();
  if ([...tbody.rows].map((tr) => tr.dataset.code).join() !== order) {
    for (const row of rows) tbody.append(tbody.querySelector(`tr[data-code="${row.code}"]`));
  }
  if (body.nation) fillRow($("#provinces tfoot tr"), { provinces: rows.length, f: body.nation, fresh: body.freshness.nation });
  for (const th of document.querySelectorAll("#provinces thead th")) {
    th.setAttribute("aria-sort", th.dataset.key !== sortBy.key ? "none" : sortBy.dir > 0 ? "ascending" : "descending");
  }
}

// ---- freshness and silent localities ----------------------------------------------------------

// A province operator's body has no nation: its own province's freshness stands in.
const freshnessOf = (body) => body.freshness.nation ?? Object.values(body.freshness.provinces)[0];

function drawFreshness(body) {
  const n = freshnessOf(body);
  put($("#coverage"), n.wards_reported_last_day_share,
    `${pct(n.wards_reported_last_day_share)} (${num.format(n.wards_reported_last_day)} of ${num.format(n.wards)})`);
  $("#newest").textContent = age(n.last_reported_at);
  $("#as-of").textContent = new Date(body.as_of).toLocaleTimeString("en-GB");
}

let silentFetchedAt = 0;

async function refreshSilent() {
  silentFetchedAt = Date.now();
  const body = await getJSON("/api/live/silent");
  const byProvince = new Map();
  for (const loc of body.localities) {
    const p = byProvince.get(loc.province) ?? { wards: 0, itself: false };
    if (loc.level === "province") p.itself = true;
    else p.wards += 1;
    byProvince.set(loc.province, p);
  }
  const provincesSilent = [...byProvince.values()].filter((p) => p.itself).length;
  put($("#silent-summary"), body.count,
    `${num.format(body.count)} localities silent for over ${body.silent_after_hours} h, ` +
    `${provincesSilent} of them provinces. Most silent wards:`);
  const top = [...byProvince.entries()].sort((a, b) => b[1].wards - a[1].wards || a[0].localeCompare(b[0])).slice(0, SILENT_SHOWN);
  $("#silent").replaceChildren(...top.filter(([, p]) => p.wards || p.itself).map(([code, p]) => {
    const li = el("li", { "data-code": code });
    const total = registry.provinces[code].wards;
    li.append(el("span", { lang: "vi" }, registry.provinces[code].name),
      el("span", { class: "count" }, `${num.format(p.wards)} of ${num.format(total)} wards${p.itself ? " · province too" : ""}`));
    return li;
  }));
}

// ---- wiring -----------------------------------------------------------------------------------

async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (res.status === 401) location.assign("/login?next=/dashboard/"); // the session expired or was revoked
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

function draw(body) {
  latest = body;
  drawnAt = Date.now();
  clockSkewMs = Date.parse(body.as_of) - Date.now();
  if (body.nation) {
    drawNation(body.nation);
    drawTargets(body);
    drawGap(body.urban, body.rural);
  }
  drawTable(body);
  drawFreshness(body);
  if (Date.now() - silentFetchedAt > SILENT_REFRESH_MS) refreshSilent().catch(console.error);
}

function setStatus(state, text) {
  const s = $("#status");
  s.dataset.state = state;
  s.textContent = text;
}

let source = null;
let drawnAt = 0;

function connect() {
  source?.close();
  source = new EventSource("/api/live/stream");
  source.onopen = () => setStatus("live", "● live");
  // EventSource reconnects by itself; say so, so nobody trusts figures that stopped moving.
  source.onerror = () => setStatus("down", "reconnecting…");
  source.addEventListener("live", (e) => draw(JSON.parse(e.data)));
}

// The stream is quiet while no figure changes, and a hung worker looks just as quiet: ask directly.
async function checkQuiet() {
  if (Date.now() - drawnAt < QUIET_CHECK_MS) return;
  drawnAt = Date.now();
  try {
    draw(await getJSON("/api/live"));
  } catch {
    setStatus("down", "no answer from the worker");
    connect();
  }
}

// Who is logged in, a way out, and for a province operator only what their province has.
function scopeTo(account) {
  const who = el("span", { id: "account" }, `${account.name} (${account.scope}) · `);
  const out = el("form", { method: "post", action: "/logout", class: "logout" });
  out.append(el("button", { type: "submit" }, "Log out"));
  who.append(out);
  $("#freshness").append(who);
  if (account.role !== "province") return;
  const name = registry.provinces[account.province].name;
  $("h1").textContent = `Project 06 · live figures of ${name}`;
  document.title = `p06 · ${name}`;
  for (const id of ["#nation", "#targets-title", "#gap-title"]) $(id).closest("section").remove();
  $("#provinces-title").textContent = "Your province";
  $("#provinces tfoot").remove();
}

async function start() {
  [registry, me] = await Promise.all([getJSON("/api/registry"), getJSON("/api/me")]);
  buildNation();
  buildTable();
  scopeTo(me);
  draw(await getJSON("/api/live"));
  connect();
  setInterval(() => {
    if (latest) $("#newest").textContent = age(freshnessOf(latest).last_reported_at);
    if (Date.now() - silentFetchedAt > SILENT_REFRESH_MS) refreshSilent().catch(console.error);
    checkQuiet();
  }, 1000);
}

start().catch((err) => {
  setStatus("down", `error: ${err.message}`);
  console.error(err);
});
