/**
 * The YAML config file, read into the same Config model the CLI builds. Every problem
 * is reported with its line, column and key path, and all of them at once: an
 * operator fixing a file should not have to run vane once per typo. The text comes
 * from the caller (start-up, reload), so this module does no I/O.
 */
import { httpsRedirectFlow } from "./https-redirect.ts";
import { isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { formatIpBytes, parseCidr, parseCidrList, parseIpBytes } from "./cidr.ts";
import {
  type Config,
  type ControlConfig,
  DEFAULT_CONTROL_LISTEN,
  DEFAULT_HTTP,
  DEFAULT_LOG,
  DEFAULT_TIMEOUTS,
  ENCODED_SLASH,
  HEADER_LINE_EXPECTED,
  HEADER_LINE_MAX,
  HEADER_LINE_MIN,
  type HttpConfig,
  type ListenerConfig,
  PARTIAL_HEADS_EXPECTED,
  type PoolConfig,
  type TimeoutsConfig,
  type TlsFiles,
} from "./model.ts";
import {
  isPoolName,
  isValidName,
  parseBindAddress,
  parseHostPort,
  parseIp,
  parseListen,
  POOL_NAME_EXPECTED,
  q,
} from "./target.ts";
import { checkNamed, readPool } from "./yaml-pools.ts";
import { uncheckUdpPools } from "./udp-pools.ts";
import { defaultPool, LOG_FORMATS, LOG_LEVELS, MAX_CONNS_EXPECTED, MAX_WORKERS, WORKERS_EXPECTED } from "./model.ts";
import { type FlowState, readFlow, readTlsList } from "./yaml-flow.ts";
import { checkAcmeNames, readTopTls } from "./yaml-acme.ts";
import { withAcmeHttpListener } from "./acme.ts";
import { type ConfigIssue, type Entry, index, Reader } from "./yaml-reader.ts";
import { readTlsPolicy, TLS_POLICY_KEYS } from "./yaml-tls-policy.ts";
import { readAccessLog } from "./yaml-access-log.ts";
import { readEtcdCluster } from "./yaml-etcd.ts";

export type { ConfigIssue };

export interface LoadOptions {
  /** Names of functions registered by embedding code (plugin `function:` steps); absent = none known. */
  functions?: ReadonlySet<string>;
}

/**
 * What `loadConfigText` gives: the config, or every issue found in the text.
 *
 * @example
 * ```ts
 * import { type LoadResult, loadConfigText } from "./mod.ts";
 * const result: LoadResult = loadConfigText(text);
 * if (!result.ok) console.error(result.issues.length, "problems");
 * ```
 */
export type LoadResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

const TOP_KEYS = [
  "listeners",
  "pools",
  "nodes",
  "control",
  "timeouts",
  "http",
  "log",
  "access-log",
  "tls",
  ...TLS_POLICY_KEYS,
  "resolver",
  "workers",
  "max-conns",
  "state-dir",
  "etcd",
];
const LISTENER_KEYS = [
  "listen",
  "accept-proxy",
  "allow",
  "deny",
  "max-conns-per-client",
  "max-conns",
  "tls",
  "flow",
  "redirect",
  "client-auth",
  ...TLS_POLICY_KEYS,
];
const TIMEOUT_KEYS: ReadonlyArray<readonly [string, keyof TimeoutsConfig]> = [
  ["connect", "connectMs"],
  ["idle", "idleMs"],
  ["grace", "graceMs"],
  ["udp-idle", "udpIdleMs"],
  ["upstream", "upstreamMs"],
  ["request-head", "requestHeadMs"],
  ["keep-alive", "keepAliveMs"],
  ["body", "bodyMs"],
];
const HTTP_KEYS = ["max-header-line", "max-partial-heads", "encoded-slash"];
const CONFIG_EXPECTED = "a config (a map with listeners, pools, ...)";
const NAME_EXPECTED = `name (letters, digits, "-", "_" and ".")`;
const LISTEN_EXPECTED = "a listen address like tcp://0.0.0.0:8443, http://:8080 or udp://[::]:53";

/**
 * One issue as one line, `FILE:LINE:COL: PATH: MESSAGE` (PATH omitted when empty, e.g. a
 * YAML syntax error), the form `vane check` prints.
 *
 * @param file The file name to print in front.
 * @param issue An issue from `loadConfigText`.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./mod.ts";
 * formatIssue("vane.yaml", { line: 3, col: 7, path: "pools.web.strategy", message: "expected serial, random or fastest" });
 * // "vane.yaml:3:7: pools.web.strategy: expected serial, random or fastest"
 * ```
 */
export function formatIssue(file: string, issue: ConfigIssue): string {
  return `${file}:${issue.line}:${issue.col}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

/**
 * Reads and validates a YAML config. It never throws on bad input: every problem in
 * the text comes back at once, each with its line, column and key path.
 *
 * @param text The YAML text.
 * @param opts `functions`: names the embedding program registers for `plugin: { function: NAME }` steps.
 * @returns `{ ok: true, config }`, or `{ ok: false, issues }`.
 *
 * @example
 * ```ts
 * import { formatIssue, loadConfigText } from "./mod.ts";
 * const loaded = loadConfigText("listeners: [{ listen: http://127.0.0.1:8080, flow: [{ proxy: [127.0.0.1:9000] }] }]");
 * if (!loaded.ok) for (const issue of loaded.issues) console.error(formatIssue("vane.yaml", issue));
 * ```
 */
export function loadConfigText(text: string, opts: LoadOptions = {}): LoadResult {
  const lines = new LineCounter();
  // Duplicate keys are left to Reader.entries, which can name the key path.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    // After a syntax error the tree is the parser's guess; checking it would mostly report the guess.
    const issues = doc.errors.map((e): ConfigIssue => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { line, col, path: "", message: `invalid YAML: ${e.message}` };
    });
    return { ok: false, issues };
  }
  const r = new Reader(doc, lines);
  const contents = r.resolve(doc.contents);
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    const message = `expected ${CONFIG_EXPECTED}; got an empty file`;
    return { ok: false, issues: [{ line: 1, col: 1, path: "", message }] };
  }
  const config = readConfig(r, contents, opts.functions ?? new Set());
  if (config === undefined || r.issues.length > 0) {
    // Sorted by position, so the list reads top to bottom like the file; sort is stable.
    const issues = [...r.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, issues };
  }
  return { ok: true, config };
}

function readConfig(r: Reader, node: Node, functions: ReadonlySet<string>): Config | undefined {
  const e = r.entries(node, "", CONFIG_EXPECTED, TOP_KEYS);
  if (!e) return undefined;
  // An optional section left empty (everything under it commented out) means its defaults.
  for (const [key, entry] of e) {
    if (key !== "listeners" && isScalar(entry.value) && entry.value.value === null) e.delete(key);
  }
  // Nodes, certificates and pools first: listeners refer to them.
  const nodes = readNodes(r, e.get("nodes"));
  const tlsEntry = e.get("tls");
  const top = tlsEntry ? readTopTls(r, tlsEntry) : { files: [], acme: undefined, acmeNode: null };
  const tls = top.files;
  const pools = readPools(r, e.get("pools"), nodes);
  const st: FlowState = {
    r,
    pools: new Map(pools),
    nodes,
    // A broken tls: was reported already; do not add "no certificates" on top.
    hasGlobalTls: tls === undefined || tls.length > 0 || top.acmeNode !== null,
    functions,
    inline: [],
  };
  const l = r.required(e, "listeners", node, "");
  const read = l ? readListeners(st, l) : [];
  const listeners = withAcmeHttpListener({ acme: top.acme, listeners: read });
  if (top.acme && top.acmeNode) checkAcmeNames(r, top.acmeNode, { listeners, tls: tls ?? [] });
  nameInlinePools(st, pools);
  uncheckUdpPools(pools.values(), listeners, (p) => checkNamed(p.health));
  const tlsServer = readTlsPolicy(r, e);
  return {
    ...(tlsServer ? { tlsServer } : {}),
    listeners,
    pools: Object.fromEntries(pools),
    nodes: Object.fromEntries(nodes),
    timeouts: readTimeouts(r, e.get("timeouts")),
    http: readHttp(r, e.get("http")),
    control: readControl(r, e.get("control")),
    log: readLog(r, e.get("log")),
    ...readAccessLog(r, e.get("access-log")),
    tls: tls ?? [],
    resolver: readResolver(r, e.get("resolver")),
    workers: readWorkers(r, e.get("workers")),
    maxConns: readMaxConns(r, e.get("max-conns")),
    ...(top.acme ? { acme: top.acme } : {}),
    ...readStateDir(r, e.get("state-dir")),
    ...readEtcdKey(r, e.get("etcd")),
  };
}

/**
 * Inline pools (`proxy: [targets]` or `proxy: {targets: ...}`) become `inline-1`,
 * `inline-2`, ... in the order they appear in the file, whatever order the walk met
 * them in, so the names are predictable from the text. Names of named pools are skipped.
 */
function nameInlinePools(st: FlowState, pools: Map<string, PoolConfig>): void {
  let n = 1;
  for (const { action, pool } of [...st.inline].sort((a, b) => a.offset - b.offset)) {
    while (pools.has(`inline-${n}`)) n++;
    const name = `inline-${n}`;
    pools.set(name, { ...pool, name });
    action.pool = name;
  }
}

/** `nodes: { NAME: [IP, ...] }`; a single string (comma-separated) also works. */
function readNodes(r: Reader, entry: Entry | undefined): Map<string, string[]> {
  const nodes = new Map<string, string[]>();
  if (!entry) return nodes;
  const e = r.entries(entry.value, entry.path, "a map of node names to IP lists, like {db: [10.0.0.5]}");
  for (const { key, keyNode, value, path } of e?.values() ?? []) {
    if (!isValidName(key)) r.error(keyNode, path, `expected a node ${NAME_EXPECTED}; got ${q(key)}`);
    // Registered even when its addresses are bad, so targets naming it do not add errors.
    nodes.set(key, readIps(r, value, path) ?? []);
  }
  return nodes;
}

function readIps(r: Reader, node: Node, path: string): string[] | undefined {
  if (isScalar(node) && typeof node.value === "string") {
    const text = node.value;
    return r.attempt(node, path, () => text.split(",").map((t) => parseIp(t.trim())));
  }
  const items = r.list(node, path, "a list of IP addresses");
  if (!items) return undefined;
  if (items.length === 0) return r.fail(node, path, "at least one IP address");
  const ips = items.map((n, i) => r.parse(n, index(path, i), "an IP address like 10.0.0.1 or ::1", parseIp));
  return ips.every((x) => x !== undefined) ? (ips as string[]) : undefined;
}

function readPools(r: Reader, entry: Entry | undefined, nodes: ReadonlyMap<string, unknown>): Map<string, PoolConfig> {
  // A Map, so that a pool named "__proto__" is just a name.
  const pools = new Map<string, PoolConfig>();
  if (!entry) return pools;
  const e = r.entries(entry.value, entry.path, "a map of pool names to pools, like {web: {targets: [...]}}");
  for (const { key, keyNode, value, path } of e?.values() ?? []) {
    if (!isPoolName(key)) r.error(keyNode, path, `expected a pool ${POOL_NAME_EXPECTED}; got ${q(key)}`);
    // A broken pool still exists as a name, so rules using it add no "unknown pool" errors.
    pools.set(key, readPool(r, value, path, key, nodes) ?? defaultPool(key, []));
  }
  return pools;
}

function readListeners(st: FlowState, entry: Entry): ListenerConfig[] {
  const { r } = st;
  const items = r.list(entry.value, entry.path, "a list of listeners like [{listen: tcp://:8443, flow: [...]}]");
  if (!items) return [];
  if (items.length === 0) r.fail(entry.value, entry.path, "at least one listener");
  // TCP-family listeners (tcp, http, https) share the TCP port space; udp has its own.
  const seen = new Map<string, { path: string; raw: string }>();
  const out: ListenerConfig[] = [];
  const redirects: number[] = [];
  items.forEach((item, i) => {
    const path = index(entry.path, i);
    const e = r.entries(item, path, "a listener (a map with listen and flow)", LISTENER_KEYS);
    if (!e) return;
    const l = r.required(e, "listen", item, path);
    const address = l && r.parse(l.value, l.path, LISTEN_EXPECTED, parseListen);
    const ap = e.get("accept-proxy");
    const acceptProxy = ap ? readCidrs(r, ap) : [];
    const listenerMax = readMaxConns(r, e.get("max-conns"));
    const filter = {
      ...readAddressFilter(r, e),
      ...readPerClient(r, e.get("max-conns-per-client")),
      ...(listenerMax !== null ? { maxConns: listenerMax } : {}),
    };
    const t = e.get("tls");
    const tlsList = t ? readTlsList(r, t.value, t.path) : [];
    const tls: TlsFiles[] = tlsList ?? [];
    if (l && address?.protocol === "https" && tlsList?.length === 0 && !st.hasGlobalTls) {
      r.error(
        l.value,
        l.path,
        "expected certificates for an https:// listener (tls: [{cert, key}] here or at the top level); got none",
      );
    }
    if (l && address && address.port !== 0) {
      const family = address.protocol === "udp" ? "UDP" : "TCP";
      // Compared in canonical form: "[::]" and "[0::0]" are one address.
      const bytes = parseIpBytes(address.host);
      const host = bytes ? formatIpBytes(bytes) : address.host;
      const hostPort = `${host.includes(":") ? `[${host}]` : host}:${address.port}`;
      const first = seen.get(`${family} ${hostPort}`);
      if (first) {
        r.error(
          l.value,
          l.path,
          `expected each ${family} address once; got ${hostPort} again (${first.path} is ${q(first.raw)})`,
        );
      } else seen.set(`${family} ${hostPort}`, { path: l.path, raw: address.raw });
    }
    const redirect = e.get("redirect");
    if (redirect) {
      // `redirect: https` is the whole flow: every request to the same URL over HTTPS.
      if (e.has("flow")) r.error(redirect.keyNode, redirect.path, "expected either flow or redirect; got both");
      else if (address && address.protocol !== "http") {
        r.error(redirect.value, redirect.path, "expected redirect only on an http:// listener");
      } else if (r.keyword(redirect.value, redirect.path, ["https"]) !== undefined && address) {
        // The flow is made once every listener is read: it names the https:// one's port.
        redirects.push(out.length);
        out.push({ address, flow: [], acceptProxy, tls, ...filter });
      }
      return;
    }
    const f = r.required(e, "flow", item, path);
    // A listener whose address is broken is checked as tcp://, the one that allows everything.
    const flow = f && readFlow(st, f.value, f.path, { protocol: address?.protocol ?? "tcp", inTerminate: false });
    const ca = e.get("client-auth");
    const clientAuth = ca ? readClientAuth(r, ca, address?.protocol) : undefined;
    const tlsServer = readListenerTlsPolicy(r, e, address?.protocol);
    const extra = { ...(clientAuth ? { clientAuth } : {}), ...(tlsServer ? { tlsServer } : {}), ...filter };
    if (address && flow) out.push({ address, flow, acceptProxy, tls, ...extra });
  });
  const https = out.find((l) => l.address.protocol === "https")?.address.port ?? 443;
  for (const i of redirects) out[i].flow = httpsRedirectFlow(https);
  return out;
}

/** `tls-min-version` and `tls-ciphers` on a listener: https:// only (`terminate` takes the top level's). */
function readListenerTlsPolicy(r: Reader, e: Map<string, Entry>, protocol: string | undefined) {
  const policy = readTlsPolicy(r, e);
  if (policy === undefined || protocol === undefined || protocol === "https") return policy;
  for (const key of TLS_POLICY_KEYS) {
    const entry = e.get(key);
    if (entry) r.error(entry.keyNode, entry.path, `expected ${key} only on an https:// listener (or at the top level)`);
  }
  return undefined;
}

/** `client-auth: { ca: FILE, mode: require|request }`, on https:// listeners only. */
function readClientAuth(r: Reader, { value, path }: Entry, protocol: string | undefined) {
  if (protocol !== undefined && protocol !== "https") {
    r.error(value, path, "expected client-auth only on an https:// listener");
    return undefined;
  }
  const e = r.entries(value, path, "a map with ca and mode", ["ca", "mode"]);
  if (!e) return undefined;
  const caEntry = r.required(e, "ca", value, path);
  const ca = caEntry && r.nonEmpty(caEntry.value, caEntry.path, "a PEM file of CA certificates");
  const modeEntry = e.get("mode");
  const mode = modeEntry ? r.keyword(modeEntry.value, modeEntry.path, ["require", "request"]) : "require";
  return ca && mode ? { ca, require: mode === "require" } : undefined;
}

/** A listener's `allow` and `deny` lists, each present only when written. */
function readAddressFilter(r: Reader, e: Map<string, Entry>): { allow?: string[]; deny?: string[] } {
  const allow = e.get("allow");
  const deny = e.get("deny");
  return { ...(allow ? { allow: readCidrs(r, allow) } : {}), ...(deny ? { deny: readCidrs(r, deny) } : {}) };
}

/** CIDRs, validated and kept as written (the model stays printable), like --accept-proxy. */
function readCidrs(r: Reader, { value, path }: Entry): string[] {
  if (isScalar(value) && typeof value.value === "string") {
    const text = value.value;
    return r.attempt(value, path, () => parseCidrList(text).map((c) => c.raw)) ?? [];
  }
  const items = r.list(value, path, "a list of CIDRs like [10.0.0.0/8, fd00::/8]") ?? [];
  return items.flatMap((n, i) => {
    const c = r.parse(n, index(path, i), "a CIDR like 10.0.0.0/8 or fd00::/8", parseCidr);
    return c ? [c.raw] : [];
  });
}

function readTimeouts(r: Reader, entry: Entry | undefined): TimeoutsConfig {
  const t: TimeoutsConfig = { ...DEFAULT_TIMEOUTS };
  if (!entry) return t;
  const e = r.entries(entry.value, entry.path, "a map of timeouts", TIMEOUT_KEYS.map(([k]) => k));
  for (const [key, field] of TIMEOUT_KEYS) {
    const x = e?.get(key);
    // grace 0s means "stop at once"; any other zero would mean "fail everything".
    if (x) t[field] = r.duration(x.value, x.path, key === "grace") ?? t[field];
  }
  return t;
}

/** `http: { max-header-line: 8192, max-partial-heads: 32, encoded-slash: reject }`. */
function readHttp(r: Reader, entry: Entry | undefined): HttpConfig {
  const h: HttpConfig = { ...DEFAULT_HTTP };
  if (!entry) return h;
  const e = r.entries(entry.value, entry.path, "a map of HTTP settings", HTTP_KEYS);
  const line = e?.get("max-header-line");
  if (line) h.maxHeaderLine = intIn(r, line, HEADER_LINE_MIN, HEADER_LINE_MAX, HEADER_LINE_EXPECTED) ?? h.maxHeaderLine;
  const partial = e?.get("max-partial-heads");
  if (partial) {
    h.maxPartialHeads = intIn(r, partial, 0, Number.MAX_SAFE_INTEGER, PARTIAL_HEADS_EXPECTED) ?? h.maxPartialHeads;
  }
  const slash = e?.get("encoded-slash");
  if (slash) h.encodedSlash = r.keyword(slash.value, slash.path, ENCODED_SLASH) ?? h.encodedSlash;
  return h;
}

/** An integer in min..max, or an issue saying `expected`. */
function intIn(r: Reader, { value, path }: Entry, min: number, max: number, expected: string): number | undefined {
  const v = isScalar(value) ? value.value : undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  return r.fail(value, path, expected);
}

function readControl(r: Reader, entry: Entry | undefined): ControlConfig {
  const c: ControlConfig = { listen: { ...DEFAULT_CONTROL_LISTEN }, token: null };
  if (!entry) return c;
  const e = r.entries(entry.value, entry.path, "{listen: 127.0.0.1:9901, token-file: PATH}", [
    "listen",
    "token",
    "token-file",
  ]);
  const l = e?.get("listen");
  if (l) {
    c.listen = isScalar(l.value) && l.value.value === "off"
      ? null
      : r.parse(l.value, l.path, "an address like 127.0.0.1:9901, or off", parseBindAddress) ?? c.listen;
  }
  const t = e?.get("token");
  if (t) c.token = r.nonEmpty(t.value, t.path, "a non-empty token") ?? null;
  // The file is read at start (and at each reload), where a missing one is named with this position.
  const f = e?.get("token-file");
  if (f && t) r.error(f.keyNode, f.path, "expected either token or token-file; got both");
  else if (f) {
    const path = r.nonEmpty(f.value, f.path, "the path of a file whose first line is the token");
    if (path !== undefined) c.tokenFile = path;
  }
  return c;
}

/**
 * Where the value at `keys` stands in `text` (e.g. ["control", "token-file"]), as an
 * issue with `message`: for what is found wrong after loading, like a token file that
 * cannot be read. Line 1, column 1 when the text has no such key.
 */
export function issueAt(text: string, keys: Array<string | number>, message: string): ConfigIssue {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const node = doc.getIn(keys, true) as Node | undefined;
  const { line, col } = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
  const path = keys.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("").replace(/^\./, "");
  return { line, col, path, message };
}

function readLog(r: Reader, entry: Entry | undefined): Config["log"] {
  const log: Config["log"] = { ...DEFAULT_LOG };
  if (!entry) return log;
  const e = r.entries(entry.value, entry.path, "{format: text, level: info}", ["format", "level"]);
  const f = e?.get("format");
  const l = e?.get("level");
  if (f) log.format = r.keyword(f.value, f.path, LOG_FORMATS) ?? log.format;
  if (l) log.level = r.keyword(l.value, l.path, LOG_LEVELS) ?? log.level;
  return log;
}

/** `etcd: {endpoints, prefix, ...}`: the cluster of `etcd:` targets and fleet-wide drains. */
function readEtcdKey(r: Reader, entry: Entry | undefined): Pick<Config, "etcd"> {
  const etcd = entry && readEtcdCluster(r, entry);
  return etcd ? { etcd } : {};
}

/** `workers: N` or `workers: auto` (one per CPU, the default). */
function readWorkers(r: Reader, entry: Entry | undefined): number | null {
  if (!entry) return null;
  const v = entry.value;
  if (isScalar(v) && v.value === "auto") return null;
  if (isScalar(v) && Number.isInteger(v.value) && (v.value as number) >= 1 && (v.value as number) <= MAX_WORKERS) {
    return v.value as number;
  }
  return r.fail(v, entry.path, WORKERS_EXPECTED) ?? null;
}

/** `max-conns: N` or `max-conns: auto` (derived from the open-file limit, the default). */
/** A listener's `max-conns-per-client`: an integer, 1 or more. */
function readPerClient(r: Reader, entry: Entry | undefined): { maxConnsPerClient?: number } {
  if (!entry) return {};
  const v = entry.value;
  if (isScalar(v) && Number.isSafeInteger(v.value) && (v.value as number) >= 1) {
    return { maxConnsPerClient: v.value as number };
  }
  r.fail(v, entry.path, PER_CLIENT_EXPECTED);
  return {};
}

const PER_CLIENT_EXPECTED = "an integer, 1 or more (connections one client address may hold open)";

function readMaxConns(r: Reader, entry: Entry | undefined): number | null {
  if (!entry) return null;
  const v = entry.value;
  if (isScalar(v) && v.value === "auto") return null;
  if (isScalar(v) && Number.isSafeInteger(v.value) && (v.value as number) >= 1) return v.value as number;
  return r.fail(v, entry.path, MAX_CONNS_EXPECTED) ?? null;
}

/** A DNS server as IP:PORT (it cannot itself need DNS); null or absent: the system's. */
function readResolver(r: Reader, entry: Entry | undefined): Config["resolver"] {
  if (!entry) return null;
  const hp = r.parse(
    entry.value,
    entry.path,
    "an IP:PORT like 127.0.0.1:53",
    (t) => parseHostPort(t, { ipOnly: true }),
  );
  return hp ? { host: hp.host, port: hp.port } : null;
}

/** `state-dir: PATH`: where state kept across restarts goes (ACME); absent: the default. */
function readStateDir(r: Reader, entry: Entry | undefined): { stateDir?: string } {
  if (!entry) return {};
  const d = r.nonEmpty(entry.value, entry.path, "a directory path");
  return d === undefined ? {} : { stateDir: d };
}
