/**
 * Flow rules in the YAML file: `when:` plus exactly one action, recursively (sub-flows,
 * terminate, plugin branches). What a rule may do depends on where it sits (FlowScope):
 * only a tcp:// connection can be terminated, once, and a udp:// listener can only
 * forward, drop, or rate-limit datagrams.
 */
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { isHttpToken, TOKEN_EXPECTED } from "./flow-keys.ts";
import type { Action, Allowance, HeaderList, PluginSpec, PoolConfig, Rule, TlsFiles } from "./model.ts";
import { ALLOWANCES, DEFAULT_PLUGIN, DEFAULT_RATE_STORE_ON_ERROR } from "./model.ts";
import type { RateStoreOnError, RateStoreSpec } from "./model.ts";
import { parseRedisUrl, REDIS_URL_EXPECTED } from "./redis-url.ts";
import { suggest, undefinedMessage, wordList } from "./suggest.ts";
import { q } from "./target.ts";
import { readPool, readTargets } from "./yaml-pools.ts";
import { defaultPool } from "./model.ts";
import { ALLOW_EMPTY, type Entry, index, NON_EMPTY, type Reader } from "./yaml-reader.ts";
import { ALLOW_ZERO } from "./duration.ts";
import { type FlowScope, readCondition, readTemplate } from "./yaml-when.ts";

export type { FlowScope };

/** What rules need from the rest of the file, and where inline pools are collected. */
export interface FlowState {
  r: Reader;
  /** The pools defined under `pools:`. */
  pools: ReadonlyMap<string, PoolConfig>;
  nodes: ReadonlyMap<string, unknown>;
  /** Whether the top-level `tls:` has certificates (for terminate without its own). */
  hasGlobalTls: boolean;
  functions: ReadonlySet<string>;
  /** Inline pools met so far; named `inline-N` in document order once the whole file is read. */
  inline: Array<{ offset: number; action: { kind: "proxy"; pool: string }; pool: PoolConfig }>;
}

export const ACTIONS = [
  "proxy",
  "terminate",
  "respond",
  "redirect",
  "abort",
  "set-headers",
  "remove-headers",
  "rate-limit",
  "plugin",
  "flow",
];
/** Beside `proxy`: what the rule lets through that vane refuses by default. */
const RULE_KEYS = ["when", "allow", ...ACTIONS];
const UDP_ACTIONS = ["proxy", "abort", "rate-limit", "flow"];
const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;
const PLUGIN_KINDS = ["http", "command", "function"];
const PLUGIN_KEYS = [...PLUGIN_KINDS, "timeout", "failures", "quiet", "branches", "failure"];
/** vane writes these itself (body framing, connection reuse); letting a rule change them would corrupt the stream. */
const FRAMING_HEADERS = ["content-length", "transfer-encoding", "connection"];
const TLS_EXPECTED = "a list of certificates like [{cert: a.pem, key: a.key}]";

/** A list of rules; a listener's flow, a sub-flow and terminate's flow may not be empty. */
export function readFlow(
  st: FlowState,
  node: Node,
  path: string,
  scope: FlowScope,
  allowEmpty = false,
): Rule[] | undefined {
  const items = st.r.list(node, path, "a list of rules");
  if (!items) return undefined;
  if (items.length === 0 && !allowEmpty) return st.r.fail(node, path, "at least one rule");
  const rules = items.map((n, i) => readRule(st, n, index(path, i), scope));
  return rules.every((x) => x !== undefined) ? (rules as Rule[]) : undefined;
}

function readRule(st: FlowState, node: Node, path: string, scope: FlowScope): Rule | undefined {
  const { r } = st;
  const e = r.entries(node, path, "a rule (a map with an action like proxy: POOL, and optionally when:)", RULE_KEYS);
  if (!e) return undefined;
  const w = e.get("when");
  const when = w ? readCondition(r, w.value, w.path, scope) : null;
  const actions = [...e.values()].filter((x) => x.key !== "when" && x.key !== "allow");
  if (actions.length === 0) {
    // An unknown key was already reported (likely the misspelt action): once is enough.
    if (r.complete(node, e)) r.error(node, path, `expected one action (${wordList(ACTIONS)}); got none`);
    return undefined;
  }
  if (actions.length > 1) {
    const names = wordList(actions.map((a) => a.key), "and");
    r.error(actions[1].keyNode, path, `expected one action per rule; got ${names} (give each a rule of its own)`);
  }
  // Each action is still read, so that its own errors show up in this run too.
  const read = actions.map((a) => readAction(st, a, scope));
  const a = e.get("allow");
  const allow = a ? readAllow(st, a, actions[0].key, scope) : [];
  if (actions.length > 1 || read[0] === undefined || when === undefined || allow === undefined) return undefined;
  const action = read[0];
  if (allow.length > 0 && action.kind === "proxy") action.allow = allow;
  return { when, action };
}

/** `allow: [connect, trace, h2c]`, only beside `proxy` on an HTTP-capable listener. */
function readAllow(st: FlowState, a: Entry, action: string, scope: FlowScope): Allowance[] | undefined {
  const { r } = st;
  if (action !== "proxy") {
    return r.error(a.keyNode, a.path, `expected allow only beside proxy; got it beside ${action}`);
  }
  if (scope.protocol === "udp") {
    return r.error(a.keyNode, a.path, "expected allow only on HTTP; got it in a udp:// listener");
  }
  const expected = `a list of ${wordList([...ALLOWANCES])}`;
  const items = r.list(a.value, a.path, expected);
  if (!items) return undefined;
  const out: Allowance[] = [];
  for (const [i, n] of items.entries()) {
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== "string" || !ALLOWANCES.includes(v as Allowance)) {
      r.error(n, index(a.path, i), `expected one of ${wordList([...ALLOWANCES])}; got ${JSON.stringify(v ?? null)}`);
      return undefined;
    }
    if (!out.includes(v as Allowance)) out.push(v as Allowance);
  }
  return out;
}

function readAction(st: FlowState, a: Entry, scope: FlowScope): Action | undefined {
  const { r } = st;
  const { key, keyNode, value, path } = a;
  if (key === "terminate") return readTerminate(st, a, scope);
  if (scope.protocol === "udp" && !UDP_ACTIONS.includes(key)) {
    const why = key === "plugin" ? "a plugin would stall datagrams" : "UDP has no protocol, TLS or HTTP to act on";
    return r.error(
      keyNode,
      path,
      `expected an action a udp:// listener can run (${wordList(UDP_ACTIONS)}); got ${key} (${why})`,
    );
  }
  switch (key) {
    case "proxy":
      return readProxy(st, value, path);
    case "respond":
      return readRespond(st, value, path, scope);
    case "redirect":
      return readRedirect(st, value, path, scope);
    case "abort":
      // `abort: true`, `abort:` and `abort: {}` all read naturally as "abort".
      if (
        (isScalar(value) && (value.value === true || value.value === null)) || (isMap(value) && !value.items.length)
      ) {
        return { kind: "abort" };
      }
      return r.fail(value, path, "true (abort: true)");
    case "set-headers":
      return readSetHeaders(st, value, path, scope);
    case "remove-headers":
      return readRemoveHeaders(st, value, path);
    case "rate-limit":
      return readRateLimit(st, value, path, scope);
    case "plugin":
      return readPlugin(st, value, path, scope);
    default: {
      const rules = readFlow(st, value, path, scope);
      return rules && { kind: "flow", rules };
    }
  }
}

/**
 * `proxy: NAME` names a pool; a target list or a pool body makes an inline pool.
 * Pool names cannot contain ":" and every target has one, so a string is unambiguous.
 */
function readProxy(st: FlowState, node: Node, path: string): Action | undefined {
  const { r } = st;
  let pool: PoolConfig | undefined;
  if (isScalar(node) && typeof node.value === "string" && !/[:,]/.test(node.value)) {
    const name = node.value;
    if (st.pools.has(name)) return { kind: "proxy", pool: name };
    return r.error(node, path, undefinedMessage("pool", name, [...st.pools.keys()], "add it under pools:"));
  }
  if (isMap(node)) pool = readPool(r, node, path, "", st.nodes);
  else if (isSeq(node) || (isScalar(node) && typeof node.value === "string")) {
    const targets = readTargets(r, node, path, st.nodes, NON_EMPTY);
    pool = targets && defaultPool("", targets);
  } else return r.fail(node, path, "a pool name, a list of targets or a pool body like {targets: [...]}");
  if (!pool) return undefined;
  const action = { kind: "proxy" as const, pool: "" };
  st.inline.push({ offset: r.offset(node), action, pool });
  return action;
}

function readTerminate(st: FlowState, a: Entry, scope: FlowScope): Action | undefined {
  const { r } = st;
  const where = scope.inTerminate
    ? "inside another terminate (the TLS was already terminated)"
    : scope.protocol === "https"
    ? "in an https:// listener (the TLS was already terminated)"
    : scope.protocol === "http"
    ? "in an http:// listener (it has no TLS; only a tcp:// connection can be terminated)"
    : scope.protocol === "udp"
    ? "in a udp:// listener (only a tcp:// connection can be terminated)"
    : "";
  if (where) return r.error(a.keyNode, a.path, `expected terminate only in a tcp:// listener; got it ${where}`);
  const e = r.entries(a.value, a.path, "{tls: [{cert, key}], flow: [RULE, ...]}", ["tls", "flow"]);
  if (!e) return undefined;
  const t = e.get("tls");
  const tls = t ? readTlsList(r, t.value, t.path) : [];
  if (tls && tls.length === 0 && !st.hasGlobalTls) {
    r.error(
      a.value,
      a.path,
      "expected certificates to terminate TLS with (tls: [{cert, key}] here or at the top level); got none",
    );
  }
  const f = r.required(e, "flow", a.value, a.path);
  const flow = f && readFlow(st, f.value, f.path, { ...scope, inTerminate: true });
  return tls && flow && { kind: "terminate", tls, flow };
}

/** Certificates as file paths; read (and checked) when vane starts, not here. */
export function readTlsList(r: Reader, node: Node, path: string): TlsFiles[] | undefined {
  const items = r.list(node, path, TLS_EXPECTED);
  if (!items) return undefined;
  const out = items.map((item, i): TlsFiles | undefined => {
    const p = index(path, i);
    const e = r.entries(item, p, "a certificate like {cert: a.pem, key: a.key}", ["cert", "key"]);
    if (!e) return undefined;
    const c = r.required(e, "cert", item, p);
    const k = r.required(e, "key", item, p);
    const certPath = c && r.nonEmpty(c.value, c.path, "a certificate file path");
    const keyPath = k && r.nonEmpty(k.value, k.path, "a key file path");
    return certPath !== undefined && keyPath !== undefined ? { certPath, keyPath } : undefined;
  });
  return out.every((x) => x !== undefined) ? (out as TlsFiles[]) : undefined;
}

function readRespond(st: FlowState, node: Node, path: string, scope: FlowScope): Action | undefined {
  const { r } = st;
  const e = r.entries(node, path, "a response like {status: 404, body: ...}", ["status", "headers", "body"]);
  if (!e) return undefined;
  const s = e.get("status");
  const h = e.get("headers");
  const b = e.get("body");
  const status = s ? r.int(s.value, s.path, 200, 599) : 200;
  const headers = h ? readHeaders(st, h.value, h.path, scope) : [];
  const body = b ? readTemplate(r, b.value, b.path, scope, "a body (text)") : "";
  if (status === undefined || headers === undefined || body === undefined || !r.complete(node, e)) return undefined;
  return { kind: "respond", status, headers, body };
}

function readRedirect(st: FlowState, node: Node, path: string, scope: FlowScope): Action | undefined {
  const { r } = st;
  const expected = "a URL, or {location: URL, status: 301|302|303|307|308}";
  if (isScalar(node)) {
    const location = readLocation(st, node, path, scope);
    return location === undefined ? undefined : { kind: "redirect", status: 302, location };
  }
  const e = r.entries(node, path, expected, ["location", "status"]);
  if (!e) return undefined;
  const l = r.required(e, "location", node, path);
  const location = l && readLocation(st, l.value, l.path, scope);
  const s = e.get("status");
  let status: (typeof REDIRECT_STATUSES)[number] | undefined = 302;
  if (s) {
    const v = isScalar(s.value) ? s.value.value : undefined;
    status = REDIRECT_STATUSES.find((x) => x === v);
    if (status === undefined) r.fail(s.value, s.path, wordList(REDIRECT_STATUSES.map(String)));
  }
  return location === undefined || status === undefined ? undefined : { kind: "redirect", status, location };
}

function readLocation(st: FlowState, node: Node, path: string, scope: FlowScope): string | undefined {
  const expected = "a URL to redirect to";
  if (!isScalar(node) || typeof node.value !== "string" || node.value === "") return st.r.fail(node, path, expected);
  return readTemplate(st.r, node, path, scope, expected);
}

/**
 * A header map `{Name: value}`, or a list of one-entry maps `[{Name: value}, ...]`
 * for the rare response that needs one name twice (Set-Cookie).
 */
/** For readHeaders: a `set-headers` list, whose values are set (not matched). */
const SETTING = true;
/** For headerName: Content-Length, Transfer-Encoding and Host may not be named here. */
const FORBID_FRAMING = true;

function readHeaders(
  st: FlowState,
  node: Node,
  path: string,
  scope: FlowScope,
  setting = false,
): HeaderList | undefined {
  const { r } = st;
  const expected = "headers like {X-Name: value}";
  let entries: Entry[] = [];
  let ok = true;
  if (isSeq(node)) {
    (r.list(node, path, expected) ?? []).forEach((item, i) => {
      const e = r.entries(item, index(path, i), "one header like {X-Name: value}");
      if (e && e.size === 1) entries.push(...e.values());
      else {
        if (e && r.complete(item, e)) r.fail(item, index(path, i), "one header like {X-Name: value}");
        ok = false;
      }
    });
  } else {
    const e = r.entries(node, path, expected);
    if (!e) return undefined;
    entries = [...e.values()];
    ok = r.complete(node, e);
  }
  const out: HeaderList = [];
  for (const { key, keyNode, value, path: p } of entries) {
    const name = headerName(r, key, keyNode, p, setting);
    const v = readTemplate(r, value, p, scope, "a header value");
    if (v !== undefined && /[\r\n\0]/.test(v)) {
      r.error(value, p, `expected a header value on one line (no CR, LF or NUL); got ${q(v)}`);
    }
    if (name === undefined || v === undefined || /[\r\n\0]/.test(v)) ok = false;
    else out.push([name, v]);
  }
  return ok ? out : undefined;
}

/** An HTTP token, kept as written; with `forbidFraming`, not one of the headers vane manages. */
function headerName(r: Reader, name: string, node: Node, path: string, forbidFraming: boolean): string | undefined {
  if (!isHttpToken(name)) return r.error(node, path, `expected ${TOKEN_EXPECTED}; got ${q(name)}`);
  if (forbidFraming && FRAMING_HEADERS.includes(name.toLowerCase())) {
    return r.error(
      node,
      path,
      `expected a header other than ${wordList(FRAMING_HEADERS)} (vane frames bodies and connections itself); got ${
        q(name)
      }`,
    );
  }
  return name;
}

function readSetHeaders(st: FlowState, node: Node, path: string, scope: FlowScope): Action | undefined {
  const { r } = st;
  const e = r.entries(node, path, "{request: {Name: value}, response: {Name: value}}", ["request", "response"]);
  if (!e) return undefined;
  const side = (key: string) => {
    const s = e.get(key);
    return s ? readHeaders(st, s.value, s.path, scope, SETTING) : [];
  };
  const request = side("request");
  const response = side("response");
  if (!request || !response || !r.complete(node, e)) return undefined;
  if (request.length + response.length === 0) {
    return r.fail(node, path, "at least one header under request or response");
  }
  return { kind: "set-headers", request, response };
}

function readRemoveHeaders(st: FlowState, node: Node, path: string): Action | undefined {
  const { r } = st;
  const e = r.entries(node, path, "{request: [Name, ...], response: [Name, ...]}", ["request", "response"]);
  if (!e) return undefined;
  const side = (key: string): string[] | undefined => {
    const s = e.get(key);
    if (!s) return [];
    // One name alone needs no brackets.
    const items = isScalar(s.value) ? [s.value] : r.list(s.value, s.path, "a list of header names");
    if (!items) return undefined;
    const names = items.map((n, i) => {
      const p = isScalar(s.value) ? s.path : index(s.path, i);
      const t = r.string(n, p, TOKEN_EXPECTED);
      return t === undefined ? undefined : headerName(r, t, n, p, FORBID_FRAMING);
    });
    return names.every((x) => x !== undefined) ? (names as string[]) : undefined;
  };
  const request = side("request");
  const response = side("response");
  if (!request || !response || !r.complete(node, e)) return undefined;
  if (request.length + response.length === 0) {
    return r.fail(node, path, "at least one header name under request or response");
  }
  return { kind: "remove-headers", request, response };
}

const RATE_RE = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?:\/([smh]))?$/;
const PER_SECOND: Record<string, number> = { s: 1, m: 60, h: 3600 };
const RATE_EXPECTED = "a rate like 10/s, 100/m or 5000/h";
const MAX_BURST = 1_000_000_000;

/** `N/s`, `N/m`, `N/h` or a bare number (per second), as tokens per second. */
function readRate(r: Reader, node: Node, path: string): number | undefined {
  let rate = NaN;
  if (isScalar(node) && typeof node.value === "number") rate = node.value;
  else if (isScalar(node) && typeof node.value === "string") {
    const m = RATE_RE.exec(node.value);
    if (m) rate = Number(m[1]) / PER_SECOND[m[2] ?? "s"];
  }
  if (rate > 0 && Number.isFinite(rate)) return rate;
  return r.fail(node, path, `${RATE_EXPECTED} (above 0)`);
}

function readRateLimit(st: FlowState, node: Node, path: string, scope: FlowScope): Action | undefined {
  const { r } = st;
  const e = r.entries(node, path, `{rate: 10/s, burst: 20, key: "{{conn.ip}}"}`, RATE_LIMIT_KEYS);
  if (!e) return undefined;
  const rt = r.required(e, "rate", node, path);
  const rate = rt && readRate(r, rt.value, rt.path);
  const b = e.get("burst");
  const k = e.get("key");
  // The default burst lets one second's worth through at once.
  const burst = b ? r.int(b.value, b.path, 1, MAX_BURST) : Math.max(1, Math.ceil(rate ?? 1));
  const key = k ? readTemplate(r, k.value, k.path, scope, "a key template like {{conn.ip}}") : "{{conn.ip}}";
  const store = readRateStore(r, e);
  if (rate === undefined || burst === undefined || key === undefined || store === false || !r.complete(node, e)) {
    return undefined;
  }
  return store === null ? { kind: "rate-limit", rate, burst, key } : { kind: "rate-limit", rate, burst, key, store };
}

const RATE_LIMIT_KEYS = ["rate", "burst", "key", "store", "on-error"];
const ON_ERROR: readonly RateStoreOnError[] = ["open", "closed"];

/** `store: redis://...` and `on-error: open|closed`: null without a store, false when either is bad (reported). */
function readRateStore(r: Reader, e: Map<string, Entry>): RateStoreSpec | null | false {
  const s = e.get("store");
  const o = e.get("on-error");
  if (!s) {
    if (o) r.error(o.value, o.path, "on-error applies to a shared rate limit: add store: redis://HOST:PORT");
    return o ? false : null;
  }
  const text = r.string(s.value, s.path, REDIS_URL_EXPECTED);
  const parsed = text === undefined ? undefined : parseRedisUrl(text);
  if (parsed !== undefined && !parsed.ok) r.error(s.value, s.path, parsed.reason);
  const onError = o ? r.keyword(o.value, o.path, ON_ERROR) : DEFAULT_RATE_STORE_ON_ERROR;
  if (text === undefined || !parsed?.ok || onError === undefined) return false;
  return { url: text, onError };
}

function readPlugin(st: FlowState, node: Node, path: string, scope: FlowScope): Action | undefined {
  const { r } = st;
  const e = r.entries(node, path, "a plugin like {http: URL} or {command: [argv...]}", PLUGIN_KEYS);
  if (!e) return undefined;
  const kinds = [...e.values()].filter((x) => PLUGIN_KINDS.includes(x.key));
  const expectedKinds = `one of ${wordList(PLUGIN_KINDS)}`;
  let plugin: PluginSpec | undefined;
  if (kinds.length === 0) r.error(node, path, `expected ${expectedKinds}; got none`);
  else if (kinds.length > 1) {
    r.error(kinds[1].keyNode, path, `expected ${expectedKinds}; got ${wordList(kinds.map((k) => k.key), "and")}`);
  } else plugin = readPluginSpec(st, kinds[0]);

  const get = <T>(key: string, fallback: T, read: (x: Entry) => T | undefined): T | undefined => {
    const x = e.get(key);
    return x ? read(x) : fallback;
  };
  const timeoutMs = get("timeout", DEFAULT_PLUGIN.timeoutMs, (x) => r.duration(x.value, x.path));
  const failures = get("failures", DEFAULT_PLUGIN.failures, (x) => r.int(x.value, x.path, 1, 100));
  const quietMs = get("quiet", DEFAULT_PLUGIN.quietMs, (x) => r.duration(x.value, x.path, ALLOW_ZERO));
  const branches = get("branches", {}, (x) => readBranches(st, x, scope));
  // `failure: null` (or empty) says "go on", the same as leaving it out.
  const failure = get<Rule[] | null>(
    "failure",
    null,
    (x) => isScalar(x.value) && x.value.value === null ? null : readFlow(st, x.value, x.path, scope, ALLOW_EMPTY),
  );
  if (
    plugin === undefined || timeoutMs === undefined || failures === undefined || quietMs === undefined ||
    branches === undefined || failure === undefined || !r.complete(node, e)
  ) return undefined;
  return { kind: "plugin", plugin, timeoutMs, failures, quietMs, branches, failure };
}

function readPluginSpec(st: FlowState, { key, value, path }: Entry): PluginSpec | undefined {
  const { r } = st;
  if (key === "http") {
    const url = r.string(value, path, "an http:// or https:// URL");
    if (url === undefined) return undefined;
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "http:" || u.protocol === "https:") && /^https?:\/\//i.test(url);
    } catch {
      // not a URL at all: reported below
    }
    return ok ? { kind: "http", url } : r.fail(value, path, "an http:// or https:// URL");
  }
  if (key === "command") {
    // A single string is split on whitespace; there is no shell, so no quoting either.
    let argv: string[] | undefined;
    if (isScalar(value) && typeof value.value === "string") argv = value.value.trim().split(/\s+/).filter(Boolean);
    else {
      const items = r.list(value, path, "a command like [/usr/bin/check, --fast] or a string");
      const args = items?.map((n, i) => r.text(n, index(path, i), "a command-line argument (text)"));
      if (!args || !args.every((x) => x !== undefined)) return undefined;
      argv = args as string[];
    }
    if (argv.length === 0 || argv[0] === "") return r.fail(value, path, "a command to run");
    return { kind: "command", argv };
  }
  const name = r.nonEmpty(value, path, "the name of a registered function");
  if (name === undefined) return undefined;
  if (st.functions.has(name)) return { kind: "function", name };
  const near = suggest(name, st.functions);
  if (near !== undefined) return r.error(value, path, `unknown function ${q(name)}; did you mean ${q(near)}?`);
  // The file cannot define one: say where functions come from, so nobody looks for the missing key.
  const known = st.functions.size ? `; registered: ${[...st.functions].join(", ")}` : "";
  return r.error(
    value,
    path,
    `unknown function ${q(name)}; functions are registered by the code embedding vane (mod.ts), ` +
      `not in the config file${known}`,
  );
}

/** `branches: { NAME: [RULE, ...] }`; an empty list is allowed (it goes on, like an unknown branch). */
function readBranches(st: FlowState, x: Entry, scope: FlowScope): Record<string, Rule[]> | undefined {
  const { r } = st;
  const e = r.entries(x.value, x.path, "a map of branch names to rules, like {allow: [...], deny: [...]}");
  if (!e) return undefined;
  // Built from entries so that a branch named like an Object.prototype member is just a name.
  const out: Array<[string, Rule[]]> = [];
  let ok = r.complete(x.value, e);
  for (const b of e.values()) {
    const rules = readFlow(st, b.value, b.path, scope, ALLOW_EMPTY);
    if (rules) out.push([b.key, rules]);
    else ok = false;
  }
  return ok ? Object.fromEntries(out) : undefined;
}
