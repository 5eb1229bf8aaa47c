/**
 * Pools in the YAML file: a named pool under `pools:`, or an inline body under a
 * rule's `proxy:`; both read the same keys here. Targets naming a node are checked
 * against `nodes:` right away, so the error points at the target as written.
 */
import { DEFAULT_TARGET_TLS, defaultPool, MAX_POOL_SLOTS, type TargetTls, UPSTREAM_PROTOCOLS } from "./model.ts";
import { isMap, isScalar, type Node } from "yaml";
import { parseExpect, parseHealthSpec } from "./health-spec.ts";
import {
  DEFAULT_EXPECT,
  DEFAULT_HEALTH,
  DEFAULT_PASSIVE,
  type HealthConfig,
  PASSIVE_KINDS,
  type PassiveConfig,
  type PoolConfig,
  RETRY_ON,
  type RetryOn,
  type TargetSpec,
} from "./model.ts";
import { undefinedMessage } from "./suggest.ts";
import { readStrategy } from "./yaml-strategy.ts";
import {
  ETCD_TARGET_EXPECTED,
  MAX_WEIGHT,
  parseEtcdTarget,
  parseTarget,
  parseTargetList,
  q,
  TARGET_EXPECTED,
} from "./target.ts";
import { ALLOW_EMPTY, index, join, NON_EMPTY, type Reader } from "./yaml-reader.ts";
import { readOutlier, readRetryKey, RETRY_KEYS } from "./yaml-outlier.ts";

export const POOL_KEYS = [
  "targets",
  "strategy",
  "fallback",
  "health",
  "passive",
  "retry-on",
  ...RETRY_KEYS,
  "outlier",
  "proxy-protocol",
  "protocol",
  "tls",
  "maxconn",
  "maxqueue",
  "queue-timeout",
];

const TLS_KEYS = ["server-name", "ca", "verify", "cert", "key"];
const HEALTH_KEYS = ["check", "path", "expect", "interval", "timeout", "rise", "fall"];
const HEALTH_CHECKS = ["tcp", "http", "none"] as const;
const PROXY_PROTOCOLS = ["v1", "v2", "off"] as const;

/** Health configs whose `check` the file names; the others may take a UDP pool's default (udp-pools.ts). */
const namedChecks = new WeakSet<HealthConfig>();

/** Whether the file named this health config's `check` (rather than leaving the default). */
export function checkNamed(h: HealthConfig): boolean {
  return namedChecks.has(h);
}

/** The body of a pool (`pools.NAME` or an inline `proxy: {...}`). */
export function readPool(
  r: Reader,
  node: Node,
  path: string,
  name: string,
  nodes: ReadonlyMap<string, unknown>,
): PoolConfig | undefined {
  const e = r.entries(node, path, "a pool (a map with targets, strategy, health, ...)", POOL_KEYS);
  if (!e) return undefined;
  const pool = defaultPool(name, []);
  const targets = r.required(e, "targets", node, path);
  if (targets) pool.targets = readTargets(r, targets.value, targets.path, nodes, NON_EMPTY) ?? [];
  for (const { key, value, path: p } of e.values()) {
    if (key === "strategy") pool.strategy = readStrategy(r, value, p) ?? pool.strategy;
    else if (key === "fallback") pool.fallback = readTargets(r, value, p, nodes, ALLOW_EMPTY) ?? [];
    else if (key === "health") pool.health = readHealth(r, value, p) ?? pool.health;
    else if (key === "passive") pool.passive = readPassive(r, value, p) ?? pool.passive;
    else if (key === "retry-on") pool.retryOn = readRetryOn(r, value, p) ?? pool.retryOn;
    else if (RETRY_KEYS.includes(key)) readRetryKey(r, pool.retry, key, value, p);
    else if (key === "outlier") {
      const outlier = readOutlier(r, value, p);
      if (outlier !== undefined) pool.outlier = outlier;
    } else if (key === "proxy-protocol") {
      const v = r.keyword(value, p, PROXY_PROTOCOLS);
      pool.sendProxy = v === "v1" || v === "v2" ? v : null;
    } else if (key === "protocol") pool.protocol = r.keyword(value, p, UPSTREAM_PROTOCOLS) ?? pool.protocol;
    else if (key === "tls") pool.tls = readTargetTls(r, value, p);
    else if (key === "maxconn") pool.maxconn = r.int(value, p, 1, MAX_POOL_SLOTS);
    else if (key === "maxqueue") pool.maxqueue = r.int(value, p, 0, MAX_POOL_SLOTS);
    else if (key === "queue-timeout") pool.queueTimeoutMs = r.duration(value, p);
  }
  dropUnset(pool);
  // The queue holds requests waiting for a target under its maxconn: without one, nothing ever waits.
  for (const key of ["maxqueue", "queue-timeout"]) {
    const x = e.get(key);
    if (x && !e.has("maxconn")) r.error(x.keyNode, x.path, `expected ${key} only alongside maxconn; got no maxconn`);
  }
  // HTTP/2 over TLS implies TLS; HTTP checks would speak plain HTTP to a TLS port.
  if (pool.protocol === "h2" && pool.tls === null) pool.tls = { ...DEFAULT_TARGET_TLS };
  const health = e.get("health");
  if (pool.tls !== null && pool.health.check === "http" && health) {
    r.error(
      health.value,
      health.path,
      "expected check: tcp or none on a pool with tls (HTTP checks over TLS are not supported yet)",
    );
  }
  return pool;
}

/** Optional keys a bad value left undefined are left out, so the pool prints and compares as if never given. */
function dropUnset(pool: PoolConfig): void {
  if (pool.maxconn === undefined) delete pool.maxconn;
  if (pool.maxqueue === undefined) delete pool.maxqueue;
  if (pool.queueTimeoutMs === undefined) delete pool.queueTimeoutMs;
}

/** `tls: on|off`, or a map of server-name, ca, verify, cert and key. */
function readTargetTls(r: Reader, node: Node, path: string): TargetTls | null {
  if (isScalar(node) && (node.value === "on" || node.value === true)) return { ...DEFAULT_TARGET_TLS };
  if (isScalar(node) && (node.value === "off" || node.value === false)) return null;
  const e = r.entries(node, path, "on, off or a map with server-name, ca, verify, cert and key", TLS_KEYS);
  if (!e) return null;
  const tls: TargetTls = { ...DEFAULT_TARGET_TLS };
  const file = (key: "ca" | "cert" | "key") => {
    const x = e.get(key);
    return x ? r.nonEmpty(x.value, x.path, "a PEM file") ?? null : null;
  };
  const name = e.get("server-name");
  if (name) tls.serverName = r.nonEmpty(name.value, name.path, "a host name") ?? null;
  const verify = e.get("verify");
  if (verify) {
    if (isScalar(verify.value) && typeof verify.value.value === "boolean") tls.verify = verify.value.value;
    else r.fail(verify.value, verify.path, "true or false");
  }
  tls.ca = file("ca");
  tls.cert = file("cert");
  tls.key = file("key");
  if ((tls.cert === null) !== (tls.key === null)) {
    r.error(node, path, "expected cert and key together (a client certificate needs its key)");
  }
  return tls;
}

/**
 * A target list: a YAML list of `HOST:PORT[@W]` strings, `{target, weight}` maps or
 * `{etcd: /PREFIX}` maps, one comma-separated string like the CLI takes, or one
 * `{etcd: /PREFIX}` map alone. Each target at most once: health
 * is kept per target, and a larger share is what the weight is for.
 */
export function readTargets(
  r: Reader,
  node: Node,
  path: string,
  nodes: ReadonlyMap<string, unknown>,
  allowEmpty: boolean,
): TargetSpec[] | undefined {
  const checkNode = (t: TargetSpec, at: Node, p: string): TargetSpec | undefined => {
    if (t.kind !== "node" || nodes.has(t.node)) return t;
    return r.error(at, p, undefinedMessage("node", t.node, [...nodes.keys()], "add it under nodes:"));
  };
  if (isScalar(node) && typeof node.value === "string") {
    const text = node.value;
    const list = r.attempt(node, path, () => parseTargetList(text));
    if (!list) return undefined;
    const ok = list.filter((t) => checkNode(t, node, path));
    return ok.length === list.length ? list : undefined;
  }
  // `targets: { etcd: /services/api }`: the registered services are the whole list.
  const items = isEtcdMap(node) ? [node] : r.list(node, path, "a list of targets");
  if (!items) return undefined;
  if (items.length === 0 && !allowEmpty) return r.fail(node, path, "at least one target");
  const out: TargetSpec[] = [];
  const seen = new Set<string>();
  let bad = false;
  items.forEach((item, i) => {
    const p = item === node ? path : index(path, i);
    const t = readTarget(r, item, p);
    if (!t) return void (bad = true);
    if (seen.has(t.raw)) {
      bad = true;
      return void r.error(
        item,
        p,
        `expected each target once per list (use @WEIGHT for a larger share); got ${q(t.raw)} twice`,
      );
    }
    seen.add(t.raw);
    if (!checkNode(t, item, p)) return void (bad = true);
    out.push(t);
  });
  return bad ? undefined : out;
}

/** A map `{etcd: ...}`: an etcd target written as YAML. */
function isEtcdMap(node: Node): boolean {
  return isMap(node) && node.items.some((p) => isScalar(p.key) && p.key.value === "etcd");
}

/** `{etcd: /PREFIX}`: the same target as `etcd:/PREFIX`. */
function readEtcdTarget(r: Reader, node: Node, path: string): TargetSpec | undefined {
  const e = r.entries(node, path, "an etcd target like {etcd: /services/api}", ["etcd", "weight"]);
  const w = e?.get("weight");
  if (w) return r.error(w.keyNode, w.path, ETCD_NO_WEIGHT);
  const p = e?.get("etcd");
  return p && r.parse(p.value, p.path, ETCD_TARGET_EXPECTED, (text) => parseEtcdTarget(`etcd:${text}`));
}

const ETCD_NO_WEIGHT = "expected no weight: on an etcd: target (each registered value carries its own)";

/** `HOST:PORT[@W]`, `{target: HOST:PORT, weight: W}` or `{etcd: /PREFIX}`. */
function readTarget(r: Reader, node: Node, path: string): TargetSpec | undefined {
  if (!isMap(node)) return r.parse(node, path, TARGET_EXPECTED, parseTarget);
  if (isEtcdMap(node)) return readEtcdTarget(r, node, path);
  const e = r.entries(node, path, "a target", ["target", "weight"]);
  if (!e) return undefined;
  const t = r.required(e, "target", node, path);
  const spec = t && r.parse(t.value, t.path, TARGET_EXPECTED, parseTarget);
  const w = e.get("weight");
  if (!w || !spec) return spec;
  if (spec.kind === "srv") {
    return r.error(w.keyNode, w.path, `expected no weight: on an srv: target (its records carry the weights)`);
  }
  if (spec.kind === "etcd") return r.error(w.keyNode, w.path, ETCD_NO_WEIGHT);
  // "a:80@3" with `weight: 2` would leave one of them silently ignored.
  if (spec.raw !== (r.scalarText(t.value) ?? "")) {
    return r.error(w.keyNode, w.path, `expected the weight once; got both "@" in the target and weight:`);
  }
  const weight = r.int(w.value, w.path, 0, MAX_WEIGHT);
  return weight === undefined ? undefined : { ...spec, weight };
}

function readHealth(r: Reader, node: Node, path: string): HealthConfig | undefined {
  const e = r.entries(node, path, "a health check (a map with check, interval, ...)", HEALTH_KEYS);
  if (!e) return undefined;
  const checkEntry = e.get("check");
  const check = checkEntry ? r.keyword(checkEntry.value, checkEntry.path, HEALTH_CHECKS) : "tcp";
  const h: HealthConfig = { ...DEFAULT_HEALTH, check: check ?? "tcp" };
  if (checkEntry) namedChecks.add(h);
  if (check === "http") {
    const p = r.required(e, "path", node, path, "check: http asks for it");
    const text = p && r.string(p.value, p.path, "a path like /healthz");
    if (p && text !== undefined) {
      if (isRequestPath(text)) h.path = text;
      else r.fail(p.value, p.path, `a path like /healthz (starting with one "/", no spaces or control characters)`);
    }
    h.expect = [...DEFAULT_EXPECT];
    const x = e.get("expect");
    const expectText = x && r.text(x.value, x.path, "a status or range like 200-299");
    if (x && expectText !== undefined) h.expect = r.attempt(x.value, x.path, () => parseExpect(expectText)) ?? h.expect;
  } else if (check !== undefined) {
    for (const key of ["path", "expect"]) {
      const x = e.get(key);
      if (x) r.error(x.keyNode, x.path, `expected ${key} only with check: http; got check: ${check}`);
    }
  }
  for (const { key, value, path: p } of e.values()) {
    if (key === "interval") h.intervalMs = r.duration(value, p) ?? h.intervalMs;
    else if (key === "timeout") h.timeoutMs = r.duration(value, p) ?? h.timeoutMs;
    else if (key === "rise") h.rise = r.int(value, p, 1, 100) ?? h.rise;
    else if (key === "fall") h.fall = r.int(value, p, 1, 100) ?? h.fall;
  }
  return h;
}

/** `{failures: N, on: [connect, timeout, reset]}` (0 = off; each key optional) or `off`. */
function readPassive(r: Reader, node: Node, path: string): PassiveConfig | undefined {
  if (isScalar(node) && node.value === "off") return { failures: 0, on: [...DEFAULT_PASSIVE.on] };
  const e = r.entries(node, path, "{failures: N, on: [...]} or off", ["failures", "on"]);
  if (!e) return undefined;
  const f = e.get("failures");
  const o = e.get("on");
  const on = o ? wordSet(r, o.value, o.path, PASSIVE_KINDS, "none") : [...DEFAULT_PASSIVE.on];
  return {
    failures: f ? r.int(f.value, join(path, "failures"), 0, 100) ?? 0 : DEFAULT_PASSIVE.failures,
    on: on ?? [...DEFAULT_PASSIVE.on],
  };
}

/** `retry-on: [conn-failure, empty-response, response-timeout]`, one of them alone, or `none`. */
function readRetryOn(r: Reader, node: Node, path: string): RetryOn[] | undefined {
  return wordSet(r, node, path, RETRY_ON, "none");
}

/**
 * A list of keywords from `words`, each at most once, kept in `words`' order (so that
 * printing gives one form); or one keyword alone, or `none` for the empty list.
 */
function wordSet<T extends string>(
  r: Reader,
  node: Node,
  path: string,
  words: readonly T[],
  none: string,
): T[] | undefined {
  const expected = `a list of ${words.join(", ")}, or ${none}`;
  const one = isScalar(node) && typeof node.value === "string" ? node.value : undefined;
  if (one === none) return [];
  if (one !== undefined && (words as readonly string[]).includes(one)) return [one as T];
  const items = r.list(node, path, expected);
  if (!items) return undefined;
  const got = new Set<string>();
  for (const [i, n] of items.entries()) {
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== "string" || !(words as readonly string[]).includes(v)) {
      return r.error(n, index(path, i), `expected one of ${words.join(", ")}; got ${JSON.stringify(v ?? null)}`);
    }
    got.add(v);
  }
  return words.filter((w) => got.has(w));
}

/** parseHealthSpec knows what a safe request path is; its message speaks of the CLI form, so ask it yes or no. */
function isRequestPath(text: string): boolean {
  try {
    return parseHealthSpec("http:" + text).check === "http";
  } catch {
    return false;
  }
}
