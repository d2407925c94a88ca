"use strict";
// The operators' dashboard: draws GET /api/live once, then redraws from every `live` event of the
// SSE stream, so the page never reloads. Silent localities are not in the stream: polled instead.
// Every text comes from the catalogue the worker serves (messages.json, from schemas/messages.toml) in
// the language of ?lang= (default: the worker's P06_LANG); numbers and dates by Intl in that locale.

const TASKS_PER_PROVINCE = 225;
const SILENT_REFRESH_MS = 15000;
const SILENT_SHOWN = 8;
const QUIET_CHECK_MS = 15000;

// Metrics where a higher number is bad news: shown in the warning colour when not zero.
const BAD = new Set(["villages_without_electricity", "villages_without_internet", "systems_failed", "open_findings"]);

let texts = null; // {lang, locale, day, timezone, messages, languages}: GET messages.json
let num, percent, points, moment; // Intl formats in texts.locale, set by loadTexts()
const $ = (sel) => document.querySelector(sel);
const share = (part, whole) => (whole ? part / whole : null);
const pct = (v) => (v == null ? "—" : percent.format(v));

// The catalogue's text for key, {name} placeholders filled from values.
function t(key, values = {}) {
  const text = texts.messages[key];
  if (text === undefined) {
    console.error(`no message ${key} in the catalogue`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => String(values[name] ?? whole));
}

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
  if (!iso) return t("dashboard.never");
  const s = Math.max(0, (Date.now() + clockSkewMs - Date.parse(iso)) / 1000);
  if (s < 90) return t("dashboard.seconds_ago", { n: num.format(Math.round(s)) });
  if (s < 5400) return t("dashboard.minutes_ago", { n: num.format(Math.round(s / 60)) });
  if (s < 172800) return t("dashboard.hours_ago", { n: num.format(Math.round(s / 3600)) });
  return t("dashboard.days_ago", { n: num.format(Math.round(s / 86400)) });
}

// ---- national figures -------------------------------------------------------------------------

function buildNation() {
  const box = $("#nation");
  for (const m of registry.metrics) {
    const card = el("div", { class: "card" + (BAD.has(m) ? " bad" : "") });
    card.append(el("span", { class: "label" }, t(`metric.${m}`)), el("span", { class: "value", "data-metric": m }, "—"));
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

// The placeholders of a "done of total" note, formatted.
const counts = (done, total, more = {}) => ({ ...more, done: num.format(done), total: num.format(total) });

function bar(id, title, done, total, note) {
  const v = share(done, total);
  const row = el("div", { class: "target", id });
  const head = el("div", { class: "target-head" });
  head.append(el("span", {}, title), el("strong", { "data-value": v ?? "" }, pct(v)));
  const track = el("div", { class: "track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" });
  track.setAttribute("aria-valuenow", v == null ? "0" : (v * 100).toFixed(1));
  const fill = el("div", { class: "fill" });
  fill.style.width = `${Math.min(100, (v ?? 0) * 100)}%`;
  track.append(fill);
  row.append(head, track, el("div", { class: "note" }, note));
  return row;
}

function drawTargets(body) {
  const f = body.nation;
  const provinces = Object.keys(registry.provinces).length;
  const allDone = Object.values(body.provinces).filter((p) => p.tasks_completed >= TASKS_PER_PROVINCE).length;
  const fresh = body.freshness.nation;
  const power = f.villages - f.villages_without_electricity, internet = f.villages - f.villages_without_internet;
  const tasks = TASKS_PER_PROVINCE * provinces;
  $("#targets").replaceChildren(
    bar("target-power", t("dashboard.target_power"), power, f.villages, t("dashboard.villages_of", counts(power, f.villages))),
    bar("target-internet", t("dashboard.target_internet"), internet, f.villages, t("dashboard.villages_of", counts(internet, f.villages))),
    bar("target-tasks", t("dashboard.target_tasks", { tasks: TASKS_PER_PROVINCE }), f.tasks_completed, tasks,
      t("dashboard.tasks_of", counts(f.tasks_completed, tasks, { tasks: TASKS_PER_PROVINCE, provinces, all_done: num.format(allDone) }))),
    bar("target-coverage", t("dashboard.target_coverage"), fresh.wards_reported_last_day, fresh.wards,
      t("dashboard.part_of", counts(fresh.wards_reported_last_day, fresh.wards))),
  );
}

// ---- urban / rural gap ------------------------------------------------------------------------

// Each row: an indicator (its short title from the catalogue) and its share in a scope's figures.
const GAP_ROWS = [
  ["villages_with_electricity_share", withPower],
  ["villages_with_internet_share", withInternet],
  ["dossiers_online_share", (f) => share(f.dossiers_online, f.dossiers_received)],
  ["dossiers_on_time_share", (f) => share(f.dossiers_on_time, f.dossiers_received)],
  ["systems_failed_share", (f) => share(f.systems_failed, f.systems_assessed)],
];

function drawGap(urban, rural) {
  const rows = GAP_ROWS.map(([indicator, rate]) => {
    const u = rate(urban), r = rate(rural);
    const gap = u == null || r == null ? "—" : t("unit.points", { value: points.format((u - r) * 100) });
    const tr = el("tr");
    tr.append(el("th", { scope: "row", title: t(`indicator.${indicator}`) }, t(`indicator_short.${indicator}`)), el("td", {}, pct(u)), el("td", {}, pct(r)), el("td", {}, gap));
    return tr;
  });
  const counts = el("tr");
  counts.append(el("th", { scope: "row" }, t("metric.villages")), el("td", {}, num.format(urban.villages)),
    el("td", {}, num.format(rural.villages)), el("td", {}, ""));
  $("#gap tbody").replaceChildren(...rows, counts);
}

// ---- provinces table --------------------------------------------------------------------------

// Each column: key (for sorting and data-metric), header, tooltip, value of a row, text of a value.
const COLUMNS = [];

function buildTable() {
  const values = { tasks: TASKS_PER_PROVINCE, provinces: Object.keys(registry.provinces).length };
  COLUMNS.push(
    { key: "name", head: t("dashboard.col_province"), title: t("dashboard.col_province_title"), value: (r) => r.name, text: (v) => v },
    { key: "tasks_share", head: t("dashboard.col_tasks", values), title: t("dashboard.col_tasks_title", values),
      value: (r) => share(r.f.tasks_completed, TASKS_PER_PROVINCE * r.provinces), text: pct },
    { key: "power_share", head: t("dashboard.col_power"), title: t("dashboard.target_power"), value: (r) => withPower(r.f), text: pct },
    { key: "internet_share", head: t("dashboard.col_internet"), title: t("dashboard.target_internet"), value: (r) => withInternet(r.f), text: pct },
    { key: "coverage", head: t("dashboard.col_coverage"), title: t("dashboard.col_coverage_title"),
      value: (r) => r.fresh.wards_reported_last_day_share, text: pct },
  );
  for (const m of registry.metrics) {
    COLUMNS.push({ key: m, head: t(`metric_short.${m}`), title: t(`metric.${m}`), value: (r) => r.f[m], text: (v) => num.format(v) });
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
  for (const col of COLUMNS) foot.append(col.key === "name" ? el("th", { scope: "row" }, t("scope.nation")) : el("td", { "data-metric": col.key }));
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
  const order = typeof x === "string" ? x.localeCompare(y, "vi") : x - y; // names are Vietnamese in both languages
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
    `${pct(n.wards_reported_last_day_share)} (${t("dashboard.part_of", counts(n.wards_reported_last_day, n.wards))})`);
  $("#newest").textContent = age(n.last_reported_at);
  $("#as-of").textContent = moment.format(new Date(body.as_of));
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
  put($("#silent-summary"), body.count, t("dashboard.silent_summary",
    { count: num.format(body.count), hours: num.format(body.silent_after_hours), provinces: num.format(provincesSilent) }));
  const top = [...byProvince.entries()].sort((a, b) => b[1].wards - a[1].wards || a[0].localeCompare(b[0])).slice(0, SILENT_SHOWN);
  $("#silent").replaceChildren(...top.filter(([, p]) => p.wards || p.itself).map(([code, p]) => {
    const li = el("li", { "data-code": code });
    const total = registry.provinces[code].wards;
    li.append(el("span", { lang: "vi" }, registry.provinces[code].name),
      el("span", { class: "count" }, t("dashboard.silent_wards", { n: num.format(p.wards), total: num.format(total) })
        + (p.itself ? ` · ${t("dashboard.silent_province_too")}` : "")));
    return li;
  }));
}

// ---- reporting periods (through the worker to the sink's /periods, which applies the rules) ----

const PERIODS_REFRESH_MS = 60000;
const STATUS_TEXT = {
  open: () => t("period.status_open"),
  approved: () => t("period.status_approved"),
  accepted: () => t("period.status_accepted"),
  overdue: () => t("period.status_overdue"),
};
const ACTION_TEXT = { approve: () => t("period.approve"), accept: () => t("period.accept"), reopen: () => t("period.reopen") };

// The buttons this account may press on a province's period in this status (the sink checks again).
function pressable(status) {
  const national = me.role === "national";
  if (status === "open" || status === "overdue") return ["approve"];
  if (status === "approved") return national ? ["accept", "reopen"] : ["reopen"];
  if (status === "accepted") return national ? ["reopen"] : [];
  return [];
}

async function press(period, code, action, status) {
  const res = await fetch(`/api/periods/${period}/${code}`, {
    method: "POST", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf ?? "" },  // the sink checks it
    body: JSON.stringify({ action, expected: status === "overdue" ? "open" : status }),
  });
  const body = await res.json();
  const name = registry.provinces[code]?.name ?? code;
  $("#period-outcome").textContent = res.status === 200
    ? t("period.applied", { province: name, status: STATUS_TEXT[body.status_after]() })
    : t("period.refused", { reason: body.reason ?? body.error ?? `HTTP ${res.status}` });
  $("#period-outcome").dataset.outcome = res.status === 200 ? "applied" : "refused";
  await drawPeriods();
}

function periodRow(period, code, row) {
  const tr = el("tr", { "data-code": code, "data-status": row.status });
  const ratio = (n) => `${pct(share(n, row.wards))} (${t("dashboard.part_of", counts(n, row.wards))})`;
  tr.append(el("td", { lang: "vi" }, registry.provinces[code]?.name ?? code),
    el("td", { class: `status-${row.status}` }, STATUS_TEXT[row.status]()),
    el("td", { class: "num" }, ratio(row.reported)), el("td", { class: "num" }, ratio(row.on_time)));
  const cell = el("td");
  for (const action of pressable(row.status)) {
    const button = el("button", { type: "button", "data-action": action }, ACTION_TEXT[action]());
    button.addEventListener("click", () => press(period.period, code, action, row.status).catch(console.error));
    cell.append(button);
  }
  tr.append(cell);
  return tr;
}

async function drawPeriods() {
  let body;
  try {
    body = await getJSON("/api/periods");
  } catch (err) {
    $("#period-summary").textContent = t("period.unavailable", { message: err.message });
    return;
  }
  const period = body.periods.find((p) => p.ended);
  if (!period) {
    $("#period-summary").textContent = t("period.none");
    return;
  }
  $("#period-summary").textContent = t("period.summary", { period: period.period, deadline: moment.format(new Date(period.deadline)) });
  $("#periods tbody").replaceChildren(...Object.entries(period.provinces).map(([code, row]) => periodRow(period, code, row)));
}

// ---- wiring -----------------------------------------------------------------------------------

// ---- business alerts (pushed over the stream, as the account may see them; one per province and kind) ----

const WARDS_SHOWN = 5;
const ALERT_TEXT = {
  silent: () => t("alerts.kind_silent"),
  wrong_way: () => t("alerts.kind_wrong_way"),
  dead_letters: () => t("alerts.kind_dead_letters"),
  deadline: () => t("alerts.kind_deadline"),
  after_approval: () => t("alerts.kind_after_approval"),
  info: () => t("alerts.severity_info"),
  warning: () => t("alerts.severity_warning"),
  critical: () => t("alerts.severity_critical"),
  firing: () => t("alerts.state_firing"),
  resolved: () => t("alerts.state_resolved"),
};
const alertText = (word) => (ALERT_TEXT[word] ?? (() => word))();

async function acknowledge(id) {
  await fetch(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST", headers: { "X-CSRF-Token": me.csrf ?? "" } });
}

function alertRow(a) {
  const name = (code) => registry.provinces[code]?.name ?? code;
  const wardNames = a.wards.slice(0, WARDS_SHOWN).join(", ")
    + (a.wards.length > WARDS_SHOWN ? ` ${t("alerts.more_wards", { n: num.format(a.wards.length - WARDS_SHOWN) })}` : "");
  const who = el("td", {}, a.acknowledged_by ?? "");
  if (!a.acknowledged_by && a.state === "firing") {
    const button = el("button", { type: "button", "data-action": "ack" }, t("alerts.ack"));
    button.addEventListener("click", () => acknowledge(a.id).catch(console.error));
    who.append(button);
  }
  const tr = el("tr", { "data-id": a.id, "data-state": a.state, "data-severity": a.severity });
  tr.append(el("td", {}, alertText(a.kind)), el("td", {}, name(a.scope)), el("td", {}, alertText(a.severity)),
    el("td", {}, moment.format(new Date(a.since))), el("td", {}, wardNames), el("td", {}, alertText(a.state)), who);
  return tr;
}

function drawAlerts(body) {
  const firing = body.alerts.filter((a) => a.state === "firing").length;
  $("#alert-summary").textContent = body.alerts.length
    ? t("alerts.summary", { firing: num.format(firing), resolved: num.format(body.alerts.length - firing) })
    : t("alerts.none");
  $("#alerts tbody").replaceChildren(...body.alerts.map(alertRow));
}

async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (res.status === 401) { // the session expired or was revoked: log in again, back to this page in its language
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
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
  source.onopen = () => setStatus("live", t("dashboard.live"));
  // EventSource reconnects by itself; say so, so nobody trusts figures that stopped moving.
  source.onerror = () => setStatus("down", t("dashboard.reconnecting"));
  source.addEventListener("live", (e) => draw(JSON.parse(e.data)));
  source.addEventListener("alerts", (e) => drawAlerts(JSON.parse(e.data)));
}

// The stream is quiet while no figure changes, and a hung worker looks just as quiet: ask directly.
async function checkQuiet() {
  if (Date.now() - drawnAt < QUIET_CHECK_MS) return;
  drawnAt = Date.now();
  try {
    draw(await getJSON("/api/live"));
  } catch {
    setStatus("down", t("dashboard.no_answer"));
    connect();
  }
}

// Who is logged in, a way out, and for a province operator only what their province has.
function scopeTo(account) {
  const scope = account.role === "province" ? t("dashboard.scope_province", { code: account.province }) : t("dashboard.scope_national");
  const who = el("span", { id: "account" }, `${account.name} (${scope}) · `);
  const out = el("form", { method: "post", action: `/logout?lang=${texts.lang}`, class: "logout" });
  // The token bound to this session (/api/me): a logout posted by another site carries none.
  out.append(el("input", { type: "hidden", name: "csrf", value: account.csrf ?? "" }));
  out.append(el("button", { type: "submit" }, t("dashboard.logout")));
  who.append(out);
  $("#freshness").append(who);
  if (account.role !== "province") return;
  const name = registry.provinces[account.province].name;
  $("h1").textContent = t("dashboard.heading_province", { name });
  document.title = `p06 · ${name}`;
  for (const id of ["#nation", "#targets-title", "#gap-title"]) $(id).closest("section").remove();
  $("#provinces-title").textContent = t("dashboard.your_province");
  $("#provinces tfoot").remove();
}

// The catalogue in the language asked for by ?lang=; an unknown one falls back to the default language.
async function loadTexts() {
  const asked = new URLSearchParams(location.search).get("lang");
  try {
    texts = await getJSON(asked ? `messages.json?lang=${encodeURIComponent(asked)}` : "messages.json");
  } catch (err) {
    console.warn(`${err.message}: the page stays in the default language`);
    texts = await getJSON("messages.json");
  }
  num = new Intl.NumberFormat(texts.locale);
  percent = new Intl.NumberFormat(texts.locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  points = new Intl.NumberFormat(texts.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "always" });
  moment = new Intl.DateTimeFormat(texts.locale, {
    ...texts.day, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: texts.timezone,
  }); // the country's clock (P06_TIMEZONE), wherever the browser is
}

// The static texts of the page (elements naming a key), its language, and the switch to the others.
function translatePage() {
  document.documentElement.lang = texts.lang;
  const values = { tasks: TASKS_PER_PROVINCE, n: num.format(Object.keys(registry.provinces).length) };
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n, values);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  const links = Object.entries(texts.languages).map(([code, name]) => {
    if (code === texts.lang) return el("strong", { lang: code, "aria-current": "true" }, name);
    const url = new URL(location.href);
    url.searchParams.set("lang", code);
    return el("a", { href: url.search, lang: code, hreflang: code, "data-lang": code }, name);
  });
  $("#languages").replaceChildren(...links);
}

async function start() {
  await loadTexts();
  [registry, me] = await Promise.all([getJSON("/api/registry"), getJSON("/api/me")]);
  translatePage();
  buildNation();
  buildTable();
  scopeTo(me);
  draw(await getJSON("/api/live"));
  connect();
  drawPeriods().catch(console.error);
  setInterval(() => drawPeriods().catch(console.error), PERIODS_REFRESH_MS);
  setInterval(() => {
    if (latest) $("#newest").textContent = age(freshnessOf(latest).last_reported_at);
    if (Date.now() - silentFetchedAt > SILENT_REFRESH_MS) refreshSilent().catch(console.error);
    checkQuiet();
  }, 1000);
}

start().catch((err) => {
  setStatus("down", texts ? t("dashboard.error", { message: err.message }) : `error: ${err.message}`);
  console.error(err);
});
