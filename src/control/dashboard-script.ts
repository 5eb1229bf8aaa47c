/**
 * The dashboard page's script (served inline by dashboard.ts; kept apart from the
 * markup so each stays readable). Plain ES2017 for any current browser, no modules,
 * no dependency: the page must work offline and from the compiled binary.
 *
 * What it does: reads /status, /pools and /metrics every 2 s (rates are counter
 * deltas between two reads), follows /events so a health verdict shows at once,
 * draws one latency line per target, and drains or undrains through the admin API
 * with the token kept in sessionStorage. Every server-provided string reaches the
 * page through textContent or setAttribute, never as markup.
 *
 * It is a string, so deno lint does not see it: test/unit/control-dashboard.test.ts
 * parses it, and test/integration/dashboard.test.ts runs it in Chromium and fails on
 * any console error. Keep `${` and backticks out of it (it lives in a template literal).
 */
/** State, reading and rates. */
const DATA = String.raw`
"use strict";
var REFRESH_MS = 2000;
var SAMPLES = 60;
var TOKEN_KEY = "vane.adminToken";
var COLORS = ["#2f7ed8", "#e4572e", "#29a36a", "#a05dd6", "#d4a017", "#17a2b8", "#c2185b", "#6d8b00"];

var state = {
  status: null,
  pools: null,
  requests: null,
  rates: { pools: {}, targets: {} },
  history: {},
  overrides: {},
  events: [],
  lastRead: null,
  busy: false,
  refreshes: 0,
};
window.vaneDashboard = state;

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  });
  return node;
}

function svg(tag, attrs) {
  var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var name in attrs) node.setAttribute(name, String(attrs[name]));
  return node;
}

function byId(id) {
  return document.getElementById(id);
}

function fmt(n, digits) {
  if (n === null || n === undefined || !isFinite(n)) return "–";
  return n.toFixed(digits === undefined ? 1 : digits);
}

function notice(text, kind) {
  var box = byId("notice");
  box.textContent = text || "";
  box.className = text ? "notice " + (kind || "error") : "notice";
}

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (e) {
    return "";
  }
}

function showToken() {
  byId("token-state").textContent = token() ? "token set for this tab" : "no token";
}

function saveToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) {
    notice("this browser keeps no sessionStorage for this page, so the token cannot be kept", "error");
  }
  byId("token").value = "";
  showToken();
}

/** Prometheus text: the vane_requests_total samples as [{labels, value}]. */
function requestSamples(text) {
  var out = [];
  text.split("\n").forEach(function (line) {
    var m = /^vane_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) return;
    var labels = {};
    var re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    var l;
    while ((l = re.exec(m[1])) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    out.push({ labels: labels, value: Number(m[2]) });
  });
  return out;
}

/** Per pool: responses and 5xx responses so far. */
function requestTotals(samples) {
  var totals = {};
  samples.forEach(function (s) {
    var t = totals[s.labels.pool] || (totals[s.labels.pool] = { all: 0, errors: 0 });
    t.all += s.value;
    if (Number(s.labels.code) >= 500) t.errors += s.value;
  });
  return totals;
}

function targetKey(pool, target) {
  return pool + "\u0000" + target;
}

function eachTarget(status, fn) {
  Object.keys(status.pools).forEach(function (pool) {
    var p = status.pools[pool];
    p.targets.forEach(function (t) { fn(pool, "primary", t); });
    p.fallback.forEach(function (t) { fn(pool, "fallback", t); });
  });
}

/** Rates from the counters' growth since the previous read (none on the first). */
function computeRates(prev, status, requests, seconds) {
  var rates = { pools: {}, targets: {} };
  if (!prev || seconds <= 0) return rates;
  Object.keys(requests).forEach(function (pool) {
    var now = requests[pool];
    var before = prev.requests[pool] || { all: 0, errors: 0 };
    var all = Math.max(0, now.all - before.all);
    var errors = Math.max(0, now.errors - before.errors);
    rates.pools[pool] = { rps: all / seconds, errorRate: all > 0 ? (100 * errors) / all : null };
  });
  var before = {};
  eachTarget(prev.status, function (pool, role, t) { before[targetKey(pool, t.target)] = t; });
  eachTarget(status, function (pool, role, t) {
    var was = before[targetKey(pool, t.target)];
    if (was === undefined || t.requests === undefined || was.requests === undefined) return;
    var all = Math.max(0, t.requests - was.requests);
    var errors = Math.max(0, t.errors - was.errors);
    rates.targets[targetKey(pool, t.target)] = { rps: all / seconds, errorRate: all > 0 ? (100 * errors) / all : null };
  });
  return rates;
}

function recordLatency(status) {
  eachTarget(status, function (pool, role, t) {
    var perPool = state.history[pool] || (state.history[pool] = {});
    var samples = perPool[t.target] || (perPool[t.target] = []);
    samples.push(t.healthy ? t.latencyMs : null);
    if (samples.length > SAMPLES) samples.shift();
  });
}

async function getJson(path) {
  var res = await fetch(path, { cache: "no-store" });
  if (!res.ok) throw new Error(path + ": " + res.status + " " + (await res.text()).trim());
  return res.json();
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  var started = performance.now();
  try {
    var answers = await Promise.all([
      getJson("/status"),
      getJson("/pools"),
      fetch("/metrics", { cache: "no-store" }).then(function (r) { return r.ok ? r.text() : ""; }),
    ]);
    var requests = requestTotals(requestSamples(answers[2]));
    var prev = state.lastRead;
    state.rates = computeRates(prev, answers[0], requests, prev ? (started - prev.at) / 1000 : 0);
    state.lastRead = { at: started, status: answers[0], requests: requests };
    state.status = answers[0];
    state.pools = answers[1].pools;
    // A verdict from /events older than this read is in the read now.
    Object.keys(state.overrides).forEach(function (k) {
      if (state.overrides[k].at < started) delete state.overrides[k];
    });
    recordLatency(answers[0]);
    state.refreshes++;
    byId("stale").textContent = "";
    render();
  } catch (err) {
    byId("stale").textContent = "cannot read vane: " + (err && err.message ? err.message : String(err));
  } finally {
    state.busy = false;
  }
}

/** up, down, draining, drained or ejected: the admin state, then a newer verdict, then ejection. */
function targetState(pool, t, admin) {
  var s = admin ? admin.state : (t.healthy ? "up" : "down");
  if (s === "draining" || s === "drained") return s;
  var o = state.overrides[targetKey(pool, t.target)];
  if (o && !(admin && admin.manual)) s = o.up ? "up" : "down";
  if (t.ejected && s === "up") return "ejected";
  return s;
}

function adminTarget(pool, target) {
  var p = state.pools && state.pools[pool];
  if (!p) return null;
  for (var i = 0; i < p.targets.length; i++) if (p.targets[i].target === target) return p.targets[i];
  return null;
}
`;

/** Drawing: the header, listeners, pools with their targets and charts, recent events. */
const RENDER = String.raw`
function render() {
  var s = state.status;
  byId("meta").textContent = "vane " + s.version + " on " + s.runtime + " · config generation " +
    s.config.generation + " · up " + Math.round(s.uptimeSeconds) + " s · " + s.workers.length + " process" +
    (s.workers.length === 1 ? "" : "es");
  byId("listeners").replaceChildren(listenersTable(s.listeners));
  byId("pools").replaceChildren.apply(byId("pools"), Object.keys(s.pools).map(poolCard));
}

/** The pools a listener's flow proxies to, found anywhere in its rules. */
function flowPools(flow) {
  var names = [];
  (function walk(v) {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== "object") return;
    Object.keys(v).forEach(function (k) {
      if (k === "proxy" && typeof v[k] === "string" && names.indexOf(v[k]) < 0) names.push(v[k]);
      else walk(v[k]);
    });
  })(flow);
  return names;
}

function listenersTable(listeners) {
  var head = el("tr", {}, [el("th", {}, ["listen"]), el("th", {}, ["protocol"]), el("th", {}, ["bound"]),
    el("th", {}, ["to pools"])]);
  var rows = listeners.map(function (l) {
    return el("tr", { "data-listen": l.listen }, [el("td", {}, [l.listen]), el("td", {}, [l.protocol]),
      el("td", {}, [l.address]), el("td", {}, [flowPools(l.flow).join(", ") || "–"])]);
  });
  return el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]);
}

function poolCard(name) {
  var p = state.status.pools[name];
  var rate = state.rates.pools[name] || {};
  var facts = [p.strategy, fmt(rate.rps) + " req/s", fmt(rate.errorRate) + "% 5xx"];
  if (p.queue) facts.push("queue " + p.queue.length + "/" + p.queue.maxqueue);
  var rows = [];
  p.targets.concat(p.fallback).forEach(function (t, i) { rows.push(targetRow(name, t, i)); });
  return el("section", { class: "pool", "data-pool": name }, [
    el("header", {}, [el("h3", {}, [name]), el("span", { class: "facts" }, [facts.join(" · ")])]),
    latencyChart(name, p.targets.concat(p.fallback)),
    el("table", {}, [el("thead", {}, [targetHead()]), el("tbody", {}, rows)]),
  ]);
}

function targetHead() {
  return el("tr", {}, ["", "target", "state", "latency ms", "active", "req/s", "5xx %", "requests", "connections",
    "last error", ""]
    .map(function (h) { return el("th", {}, [h]); }));
}

function targetRow(pool, t, i) {
  var admin = adminTarget(pool, t.target);
  var st = targetState(pool, t, admin);
  var role = admin ? admin.role : "primary";
  var draining = admin ? admin.draining : false;
  var swatch = el("span", { class: "swatch" });
  swatch.style.background = COLORS[i % COLORS.length];
  var active = t.maxconn !== undefined ? t.activeConnections + "/" + t.maxconn : t.activeConnections;
  var rate = state.rates.targets[targetKey(pool, t.target)] || {};
  var button = el("button", { class: "drain", "data-op": draining ? "undrain" : "drain", type: "button" },
    [draining ? "undrain" : "drain"]);
  button.addEventListener("click", function () { adminCall(pool, t.target, button.getAttribute("data-op"), button); });
  var label = [t.target];
  if (role === "fallback") label.push(el("span", { class: "role" }, ["fallback"]));
  if (admin && admin.weight !== 1) label.push(el("span", { class: "role" }, ["weight " + admin.weight]));
  return el("tr", { "data-pool": pool, "data-target": t.target, "data-role": role }, [
    el("td", {}, [swatch]),
    el("td", { class: "name" }, label),
    el("td", {}, [el("span", { class: "state " + st, "data-state": st }, [st])]),
    el("td", { class: "num" }, [fmt(t.latencyMs)]),
    el("td", { class: "num" }, [active]),
    el("td", { class: "num" }, [fmt(rate.rps)]),
    el("td", { class: "num" }, [fmt(rate.errorRate)]),
    el("td", { class: "num requests" }, [t.requests === undefined ? "–" : t.requests]),
    el("td", { class: "num" }, [t.totalConnections]),
    el("td", { class: "err" }, [t.lastError || ""]),
    el("td", {}, [button]),
  ]);
}

/** One line per target over the last SAMPLES reads; a gap where it was down or unmeasured. */
function latencyChart(pool, targets) {
  var w = 360, h = 70, pad = 4;
  var series = targets.map(function (t) { return (state.history[pool] || {})[t.target] || []; });
  var max = 1;
  series.forEach(function (xs) { xs.forEach(function (v) { if (v !== null && v > max) max = v; }); });
  // Stretched to the card's width; the strokes keep their width (non-scaling-stroke).
  var chart = svg("svg", { class: "chart", viewBox: "0 0 " + w + " " + h, width: "100%", height: h, role: "img",
    preserveAspectRatio: "none" });
  series.forEach(function (xs, i) {
    var offset = SAMPLES - xs.length;
    var points = [];
    var flush = function () {
      if (points.length > 0) chart.appendChild(svg("polyline", { points: points.join(" "), fill: "none",
        stroke: COLORS[i % COLORS.length], "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
      points = [];
    };
    xs.forEach(function (v, j) {
      if (v === null) return flush();
      var x = pad + ((offset + j) * (w - 2 * pad)) / (SAMPLES - 1);
      var y = h - pad - (v / max) * (h - 2 * pad);
      points.push(x.toFixed(1) + "," + y.toFixed(1));
      if (points.length === 1 && (j === xs.length - 1 || xs[j + 1] === null)) points.push((x + 2).toFixed(1) + "," + y.toFixed(1));
    });
    flush();
  });
  var title = svg("title", {});
  title.textContent = "connect latency of each target in pool " + pool + ", last " + SAMPLES + " reads";
  chart.appendChild(title);
  return el("div", { class: "chart-box" }, [chart, el("span", { class: "chart-label" }, ["latency, max " +
    fmt(max) + " ms"])]);
}

function addEvent(e) {
  state.events.unshift(e);
  if (state.events.length > 20) state.events.pop();
  byId("events").replaceChildren.apply(byId("events"), state.events.map(function (ev) {
    return el("li", {}, [el("time", {}, [String(ev.time || "").slice(11, 19)]), " ", el("b", {}, [ev.type]), " ",
      describe(ev)]);
  }));
}

function describe(ev) {
  if (ev.type === "health") return ev.pool + " " + ev.target + " " + (ev.up ? "up" : "down") +
    (ev.reason ? " (" + ev.reason + ")" : "");
  if (ev.type === "admin") return ev.change + " " + [ev.pool, ev.target].filter(Boolean).join(" ") + " by " + ev.by;
  if (ev.type === "reload") return ev.ok ? "generation " + ev.generation : "refused: " + (ev.errors || []).join("; ");
  return "";
}
`;

/** Changes through the admin API, the live event stream, and the start. */
const ACTIONS = String.raw`
async function adminCall(pool, target, op, button) {
  var headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  button.disabled = true;
  var path = "/pools/" + encodeURIComponent(pool) + "/targets/" + encodeURIComponent(target) + "/" + op;
  try {
    var res = await fetch(path, { method: "POST", headers: headers, cache: "no-store" });
    var body = await res.json().catch(function () { return { ok: false, errors: [res.status + " " + res.statusText] }; });
    if (res.ok && body.ok !== false) {
      notice(op + " " + pool + " " + target + ": done", "ok");
    } else {
      var why = (body.errors || []).join("; ") || res.status + " " + res.statusText;
      if (res.status === 401) why += " (type the admin token above)";
      notice(op + " " + pool + " " + target + " refused (" + res.status + "): " + why, "error");
    }
  } catch (err) {
    notice(op + " " + pool + " " + target + " failed: " + (err && err.message ? err.message : String(err)), "error");
  } finally {
    button.disabled = false;
    refresh();
  }
}

function follow() {
  var source = new EventSource("/events?types=health,admin,reload");
  var live = byId("live");
  source.onopen = function () {
    live.textContent = "live";
    live.className = "live on";
  };
  source.onerror = function () {
    live.textContent = "reconnecting";
    live.className = "live off";
  };
  source.addEventListener("health", function (m) {
    var e = JSON.parse(m.data);
    state.overrides[targetKey(e.pool, e.target)] = { up: e.up === true, at: performance.now() };
    addEvent(e);
    if (state.status) render();
  });
  ["admin", "reload"].forEach(function (type) {
    source.addEventListener(type, function (m) {
      addEvent(JSON.parse(m.data));
      refresh();
    });
  });
}

function start() {
  byId("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    saveToken(byId("token").value.trim());
  });
  byId("token-forget").addEventListener("click", function () { saveToken(""); });
  showToken();
  follow();
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
`;

export const DASHBOARD_SCRIPT: string = DATA + RENDER + ACTIONS;
