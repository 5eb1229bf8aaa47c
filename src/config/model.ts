/**
 * The config model: one shape that the CLI, the YAML file and the library API all
 * build. Everything is already validated and normalised here: durations are
 * milliseconds, addresses are split, targets are parsed. It is plain data (no
 * functions, no classes), so it can be printed back as YAML and compared.
 */

/**
 * A target as the operator wrote it, parsed: an IP literal, a DNS name (re-resolved as
 * its TTL says), a node of the static registry (`node:NAME:PORT`), an SRV name
 * (`srv:_api._tcp.example.com`, expanded to its records) or an etcd prefix
 * (`etcd:/services/api/`, expanded to the services registered under it).
 *
 * @example
 * ```ts
 * import type { TargetSpec } from "./mod.ts";
 * const target: TargetSpec = { kind: "ip", host: "10.0.0.1", port: 80, weight: 1, raw: "10.0.0.1:80" };
 * ```
 */
export type TargetSpec = EndpointSpec | SrvTargetSpec | EtcdTargetSpec;

/**
 * A target that is one place to connect to: an IP literal, a DNS name and port, or a
 * node. The targets an SRV name expands to are these too, with `srv` saying where they
 * came from (their weight is the record's; see resolve/srv-expand.ts), and so are those
 * an etcd prefix expands to, with `etcd` (resolve/etcd-expand.ts).
 *
 * @example
 * ```ts
 * import type { EndpointSpec } from "./mod.ts";
 * const fromSrv: EndpointSpec = {
 *   kind: "dns", host: "a.example.com", port: 8080, weight: 3, raw: "a.example.com:8080",
 *   srv: { name: "_api._tcp.example.com", priority: 10 },
 * };
 * ```
 */
export type EndpointSpec =
  | { kind: "ip"; host: string; port: number; weight: number; raw: string; srv?: SrvOrigin; etcd?: EtcdOrigin }
  | { kind: "dns"; host: string; port: number; weight: number; raw: string; srv?: SrvOrigin; etcd?: EtcdOrigin }
  | { kind: "node"; node: string; port: number; weight: number; raw: string };

/**
 * `srv:_service._proto.name`: the SRV records of `name` (RFC 2782), each record one
 * target (its host, port and weight; the lowest priority with a live target serves).
 * No port and no `@WEIGHT`: the records carry both. `weight` is always 1.
 *
 * @example
 * ```ts
 * import type { SrvTargetSpec } from "./mod.ts";
 * const api: SrvTargetSpec = { kind: "srv", name: "_api._tcp.example.com", weight: 1, raw: "srv:_api._tcp.example.com" };
 * ```
 */
export interface SrvTargetSpec {
  kind: "srv";
  /** The SRV name, lowercased without a trailing dot, e.g. `_api._tcp.example.com`. */
  name: string;
  weight: number;
  raw: string;
}

/**
 * Which SRV name and record priority an expanded target came from.
 *
 * @example
 * ```ts
 * import type { SrvOrigin } from "./mod.ts";
 * const origin: SrvOrigin = { name: "_api._tcp.example.com", priority: 10 };
 * ```
 */
export interface SrvOrigin {
  name: string;
  priority: number;
}

/**
 * `etcd:/services/api/`: the services registered under an etcd prefix, each key one
 * target (its value `HOST:PORT[@WEIGHT]` or JSON `{"address", "weight", "zone"}`),
 * following puts and deletes (a lease that expires deletes its keys). The cluster is
 * the config's `etcd` (or, with the config in etcd, that one). No `@WEIGHT`: each value
 * carries its own. `weight` is always 1.
 *
 * @example
 * ```ts
 * import type { EtcdTargetSpec } from "./mod.ts";
 * const api: EtcdTargetSpec = { kind: "etcd", prefix: "/services/api/", weight: 1, raw: "etcd:/services/api/" };
 * ```
 */
export interface EtcdTargetSpec {
  kind: "etcd";
  /** The key prefix, always ending with "/", e.g. `/services/api/`. */
  prefix: string;
  weight: number;
  raw: string;
}

/**
 * Which etcd prefix and key an expanded target came from, and the zone its value named.
 *
 * @example
 * ```ts
 * import type { EtcdOrigin } from "./mod.ts";
 * const origin: EtcdOrigin = { prefix: "/services/api/", key: "/services/api/vm-1", zone: "eu-1" };
 * ```
 */
export interface EtcdOrigin {
  prefix: string;
  key: string;
  zone?: string;
}

/**
 * An etcd cluster and the prefix vane's own keys live under (`PREFIX/config`,
 * `PREFIX/drain/...`): the top-level `etcd:` key, the bootstrap file's `source.etcd`,
 * or `--etcd` and its companion flags. Files are paths, read when the client is made.
 *
 * @example
 * ```ts
 * import type { EtcdClusterConfig } from "./mod.ts";
 * const etcd: EtcdClusterConfig = { endpoints: ["http://10.0.0.2:2379"], prefix: "/vane" };
 * ```
 */
export interface EtcdClusterConfig {
  endpoints: string[];
  /** vane's own keys live under it. No trailing slash. @default "/vane" */
  prefix: string;
  user?: string;
  /** A file whose first line is the password (kept out of `ps` and of the config). */
  passwordFile?: string;
  /** PEM files: the CA of the members' certificates, and a client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where vane's own keys live in etcd when no prefix is given. */
export const DEFAULT_ETCD_PREFIX = "/vane";

/**
 * How a pool picks among its live targets, as written (canonical text; parsed by
 * `parseStrategy` in strategy-spec.ts): `serial` (round robin), `random`, `fastest`
 * (lowest measured latency), `leastconn`, `p2c`, `hash:ON[,bound=C]` and `sticky:cookie:NAME`.
 *
 * @example
 * ```ts
 * import type { StrategyName } from "./mod.ts";
 * const strategy: StrategyName = "hash:header:X-User";
 * ```
 */
export type StrategyName =
  | "random"
  | "serial"
  | "fastest"
  | "leastconn"
  | "p2c"
  | `hash:${string}`
  | `sticky:cookie:${string}`;
/** The strategies that take no argument (the keyed ones are `hash:...` and `sticky:cookie:NAME`). */
export const STRATEGIES: readonly StrategyName[] = ["random", "serial", "fastest", "leastconn", "p2c"];

/**
 * A pool's active health check: how often, how long to wait, and how many results in a
 * row bring a target back (`rise`) or take it out (`fall`).
 *
 * @example
 * ```ts
 * import type { HealthConfig } from "./mod.ts";
 * const health: HealthConfig = {
 *   check: "http", path: "/healthz", expect: [200, 399],
 *   intervalMs: 5_000, timeoutMs: 1_000, rise: 2, fall: 3,
 * };
 * ```
 */
export interface HealthConfig {
  /**
   * "tcp" connects; "http" sends `GET path` and expects a status in `expect`; "none"
   * disables active checks (passive failures still take a target out for one interval).
   */
  check: "tcp" | "http" | "none";
  /** For "http": the path to ask for. */
  path?: string;
  /** For "http": accepted statuses, inclusive. */
  expect?: [number, number];
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

/**
 * A named set of targets with its strategy, fallback, health checks, passive failure
 * detection and retry policy (`defaultPool` fills in every default).
 *
 * @example
 * ```ts
 * import type { PoolConfig, TargetSpec } from "./mod.ts";
 * const web: TargetSpec = { kind: "dns", host: "web.internal", port: 80, weight: 1, raw: "web.internal:80" };
 * const pool: PoolConfig = {
 *   name: "web", strategy: "serial", targets: [web], fallback: [],
 *   health: { check: "tcp", intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3 },
 *   sendProxy: null, passive: { failures: 1, on: ["connect"] }, retryOn: ["conn-failure"], protocol: "http1",
 *   retry: { retries: 1, budgetPercent: 20, budgetMin: 3, backoffMs: 25, backoffMaxMs: 250 }, outlier: null, tls: null,
 * };
 * ```
 */
export interface PoolConfig {
  name: string;
  strategy: StrategyName;
  targets: TargetSpec[];
  /** Used only when no target of `targets` is alive. */
  fallback: TargetSpec[];
  health: HealthConfig;
  /** PROXY protocol header sent to this pool's targets first, or null for none. */
  sendProxy: "v1" | "v2" | null;
  passive: PassiveConfig;
  /**
   * Which failures send a request on to another target (HAProxy's `retry-on`):
   * `conn-failure` (a connect that failed: the next target, for TCP and HTTP alike),
   * `empty-response` and `response-timeout` (HTTP: an idempotent request without a
   * body whose target closed, or said nothing within the upstream timeout, before any
   * response byte; once, on another target). Empty: never.
   */
  retryOn: RetryOn[];
  /** How many retries a request may get, how many may run at once, and the wait before each (HTTP). */
  retry: RetryPolicy;
  /** Passive outlier ejection (Envoy's outlier detection), or null for none. */
  outlier: OutlierConfig | null;
  /**
   * How vane speaks HTTP to the pool's targets: `http1` (HTTP/1.1, a keep-alive
   * connection per request in flight), `h2c` (HTTP/2 in clear, requests multiplexed
   * on shared connections, as gRPC needs) or `h2` (the same over TLS, chosen by ALPN;
   * it implies `tls`).
   */
  protocol: UpstreamProtocol;
  /** TLS to the targets (re-encryption), or null for plain TCP. */
  tls: TargetTls | null;
  /**
   * Requests (HTTP) or connections (L4) each target serves at once, per process
   * (HAProxy's server `maxconn`); more wait in the pool's queue. Absent: no limit.
   */
  maxconn?: number;
  /** Requests that may wait in the queue (with `maxconn`); one more gets 503. @default DEFAULT_MAXQUEUE */
  maxqueue?: number;
  /** How long one may wait in the queue before 503 (HAProxy's `timeout queue`). @default DEFAULT_QUEUE_TIMEOUT_MS */
  queueTimeoutMs?: number;
}

/**
 * How vane speaks TLS to a pool's targets.
 *
 * @example
 * ```ts
 * import type { TargetTls } from "./mod.ts";
 * const tls: TargetTls = { serverName: null, ca: "/etc/vane/ca.pem", verify: true, cert: null, key: null };
 * ```
 */
export interface TargetTls {
  /** The name sent by SNI and checked in the certificate; null: the target's host name (none for an IP). */
  serverName: string | null;
  /** A PEM file of CA certificates to verify against; null: the system store. */
  ca: string | null;
  /** False: the target's certificate is not checked (said as a warning at every load). */
  verify: boolean;
  /** A client certificate and its key (PEM files) for targets that ask for one (mTLS); null: none. */
  cert: string | null;
  key: string | null;
}

/** `tls: on` (or `protocol: h2` alone): the system's CAs, the target's own name. */
export const DEFAULT_TARGET_TLS: Readonly<TargetTls> = {
  serverName: null,
  ca: null,
  verify: true,
  cert: null,
  key: null,
};

/** What `protocol` a pool may name. */
export const UPSTREAM_PROTOCOLS = ["http1", "h2c", "h2"] as const;
/**
 * How vane speaks HTTP to a pool's targets (see PoolConfig.protocol).
 *
 * @example
 * ```ts
 * import type { UpstreamProtocol } from "./mod.ts";
 * const grpc: UpstreamProtocol = "h2c";
 * ```
 */
export type UpstreamProtocol = "http1" | "h2c" | "h2";
export const DEFAULT_UPSTREAM_PROTOCOL: UpstreamProtocol = "http1";

/**
 * Passive health: failures seen while forwarding. `failures` in a row of the kinds in
 * `on` take the target out until checks bring it back (with `check: none`, for one
 * interval); 0 turns it off.
 *
 * @example
 * ```ts
 * import type { PassiveConfig } from "./mod.ts";
 * const passive: PassiveConfig = { failures: 3, on: ["connect", "timeout"] };
 * ```
 */
export interface PassiveConfig {
  failures: number;
  on: PassiveKind[];
}

/**
 * What can fail while forwarding: the connect (refused, unreachable, connect timeout);
 * the wait for a response head (HTTP: none within the upstream timeout); or the
 * connection, closed or reset before a response head came (HTTP).
 *
 * @example
 * ```ts
 * import type { PassiveKind } from "./mod.ts";
 * const kinds: PassiveKind[] = ["connect", "reset"];
 * ```
 */
export type PassiveKind = "connect" | "timeout" | "reset";
export const PASSIVE_KINDS: readonly PassiveKind[] = ["connect", "timeout", "reset"];

/**
 * HAProxy's `retry-on` keywords that vane knows (see `PoolConfig.retryOn`).
 *
 * @example
 * ```ts
 * import type { RetryOn } from "./mod.ts";
 * const retryOn: RetryOn[] = ["conn-failure", "empty-response"];
 * ```
 */
export type RetryOn = "conn-failure" | "empty-response" | "response-timeout";
export const RETRY_ON: readonly RetryOn[] = ["conn-failure", "empty-response", "response-timeout"];
/** HAProxy's default: only a failed connect goes on to the next target. */
export const DEFAULT_RETRY_ON: readonly RetryOn[] = ["conn-failure"];

/**
 * A pool's retries (HTTP): up to `retries` per request, each on a target not yet tried
 * when one is left. Envoy's retry budget: retries in flight may be at most
 * `budgetPercent` of the pool's requests in flight, or `budgetMin` whichever is more.
 * Before each retry a random wait (full jitter) up to `backoffMs` × 2^(retry − 1),
 * capped at `backoffMaxMs`.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "./mod.ts";
 * const retry: RetryPolicy = { retries: 2, budgetPercent: 20, budgetMin: 3, backoffMs: 25, backoffMaxMs: 250 };
 * ```
 */
export interface RetryPolicy {
  retries: number;
  budgetPercent: number;
  budgetMin: number;
  backoffMs: number;
  backoffMaxMs: number;
}
/** The most retries a request may get (`retries`). */
export const MAX_RETRIES = 10;
export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  retries: 1,
  budgetPercent: 20,
  budgetMin: 3,
  backoffMs: 25,
  backoffMaxMs: 250,
};

/**
 * Passive outlier ejection (Envoy's outlier detection): a target that answers
 * `consecutive5xx` 5xx responses in a row, or fails `consecutiveResets` times in a row
 * (connect failures, resets, timeouts), takes no new requests for k × `baseEjectionMs`
 * (its k-th ejection), at most `maxEjectionMs`; at most `maxEjectedPercent` of the
 * pool's targets are out at once, and never all of them. 0 turns a trigger off.
 *
 * @example
 * ```ts
 * import type { OutlierConfig } from "./mod.ts";
 * const outlier: OutlierConfig = {
 *   consecutive5xx: 5, consecutiveResets: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedPercent: 50,
 * };
 * ```
 */
export interface OutlierConfig {
  consecutive5xx: number;
  consecutiveResets: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectedPercent: number;
}
/** `outlier: on`: Envoy's defaults, but for a 50% share (Envoy's 10% ejects nothing in a small pool). */
export const DEFAULT_OUTLIER: Readonly<OutlierConfig> = {
  consecutive5xx: 5,
  consecutiveResets: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedPercent: 50,
};

/**
 * What a CLI route matches on (`--route MATCH=TARGETS`). Routes exist only on the
 * command line: the CLI turns them into flow rules on the `host` and `req.path` keys.
 *
 * @example
 * ```ts
 * import type { RouteMatch } from "./mod.ts";
 * // --route '*.example.com/v1=...'
 * const match: RouteMatch = { kind: "wildcard", suffix: ".example.com", pathPrefix: "/v1" };
 * ```
 */
export type RouteMatch =
  | { kind: "any" }
  | { kind: "host"; host: string; pathPrefix?: string }
  | { kind: "wildcard"; suffix: string; pathPrefix?: string };

/**
 * One `--route MATCH=TARGETS` of the command line: what it matches and the pool it sends to.
 *
 * @example
 * ```ts
 * import type { RouteConfig } from "./mod.ts";
 * const route: RouteConfig = { raw: "api.example.com", match: { kind: "host", host: "api.example.com" }, pool: "api" };
 * ```
 */
export interface RouteConfig {
  /** As written by the operator, e.g. `*`, `api.example.com`, `*.example.com/v1`. */
  raw: string;
  match: RouteMatch;
  /** Name of a pool in `Config.pools`. */
  pool: string;
}

/**
 * Where a listener accepts, split from `[SCHEME://]HOST:PORT`.
 *
 * @example
 * ```ts
 * import type { ListenAddress } from "./mod.ts";
 * const address: ListenAddress = { protocol: "tcp", host: "0.0.0.0", port: 8443, raw: "tcp://0.0.0.0:8443" };
 * ```
 */
export interface ListenAddress {
  /**
   * tcp: detect TLS/HTTP/other when the flow asks; http: HTTP/1.1 only; https: TLS
   * terminated by vane, then HTTP/1.1; udp: datagrams.
   */
  protocol: "tcp" | "http" | "https" | "udp";
  host: string;
  port: number;
  /** As written by the operator, for status and logs. */
  raw: string;
}

/**
 * A certificate chain and its key, as file paths (read at start and on reload).
 *
 * @example
 * ```ts
 * import type { TlsFiles } from "./mod.ts";
 * const cert: TlsFiles = { certPath: "/etc/vane/example.pem", keyPath: "/etc/vane/example.key" };
 * ```
 */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

/**
 * What vane's TLS server offers instead of its defaults (TLS 1.2 and 1.3; on TLS 1.2
 * only ECDHE suites with AEAD ciphers): YAML `tls-min-version` and `tls-ciphers`.
 *
 * @example
 * ```ts
 * import type { TlsServerPolicy } from "./mod.ts";
 * const modern: TlsServerPolicy = { minVersion: "1.3" };
 * ```
 */
export interface TlsServerPolicy {
  /** The lowest TLS version accepted; absent: "1.2". */
  minVersion?: "1.2" | "1.3";
  /** TLS 1.2 suites, OpenSSL names joined by ":" (not on Deno); absent: ECDHE with AEAD ciphers. */
  ciphers?: string;
}

// ---------------------------------------------------------------------------
// The flow: per listener, an ordered list of rules; the first terminal action wins.
// ---------------------------------------------------------------------------

/**
 * The keys a flow can look at (`FLOW_KEYS`, plus `req.header.<name>` with the name
 * lowercased, and `plugin.<name>` set by a plugin's answer). A key without a value
 * (tls.sni of plain TCP, req.* before HTTP) matches nothing, and `not` of it matches.
 *
 * @example
 * ```ts
 * import type { FlowKey } from "./mod.ts";
 * const keys: FlowKey[] = ["conn.ip", "tls.sni", "req.path", "req.header.x-api-key"];
 * ```
 */
export type FlowKey = string;

/** Keys known at every layer: the client and the listener. */
export const CONN_KEYS = ["conn.ip", "conn.port", "listener.port"] as const;
/** Known once the first bytes were read (tcp:// listeners) or from the start (http, https). */
export const DETECT_KEYS = ["protocol", "host", "tls.sni", "tls.alpn", "tls.client.subject", "tls.client.san"] as const;
/** Known per HTTP request, plus `req.header.<name>`. */
export const REQUEST_KEYS = ["req.method", "req.host", "req.path", "req.query"] as const;
export const FLOW_KEYS: readonly string[] = [...CONN_KEYS, ...DETECT_KEYS, ...REQUEST_KEYS];
export const HEADER_KEY_PREFIX = "req.header.";
export const PLUGIN_KEY_PREFIX = "plugin.";
/** Keys whose values are host names: compared case-insensitively, without a trailing dot. */
export const HOST_KEYS: readonly string[] = ["host", "req.host", "tls.sni"];

/**
 * How one key's value is tested. String tests are case-sensitive except on host keys.
 *
 * @example
 * ```ts
 * import type { Matcher } from "./mod.ts";
 * // YAML: { not: { prefix: /internal/ } }
 * const matcher: Matcher = { op: "not", of: { op: "prefix", value: "/internal/" } };
 * ```
 */
export type Matcher =
  | { op: "equals"; value: string }
  /** `*` is any run of characters (dots included), `?` one character. */
  | { op: "glob"; pattern: string }
  | { op: "prefix"; value: string }
  | { op: "suffix"; value: string }
  /** JavaScript syntax, unanchored unless the pattern anchors itself. */
  | { op: "regex"; source: string }
  /** For address keys: CIDRs (or bare IPs) as written. */
  | { op: "cidr"; ranges: string[] }
  | { op: "in"; values: string[] }
  | { op: "not"; of: Matcher }
  | { op: "any"; of: Matcher[] }
  | { op: "all"; of: Matcher[] };

/**
 * A rule's `when`: one key tested by a matcher, or `not`/`any`/`all` of conditions
 * (a YAML map of several keys is `all` of them).
 *
 * @example
 * ```ts
 * import type { Condition } from "./mod.ts";
 * // YAML: when: { req.host: api.example.com, req.path: { prefix: /v1/ } }
 * const when: Condition = {
 *   kind: "all",
 *   of: [
 *     { kind: "key", key: "req.host", matcher: { op: "equals", value: "api.example.com" } },
 *     { kind: "key", key: "req.path", matcher: { op: "prefix", value: "/v1/" } },
 *   ],
 * };
 * ```
 */
export type Condition =
  | { kind: "key"; key: FlowKey; matcher: Matcher }
  | { kind: "not"; of: Condition }
  | { kind: "any"; of: Condition[] }
  | { kind: "all"; of: Condition[] };

/**
 * `[name, value]` pairs; values may hold `{{key}}` templates.
 *
 * @example
 * ```ts
 * import type { HeaderList } from "./mod.ts";
 * const headers: HeaderList = [["x-client-ip", "{{conn.ip}}"], ["cache-control", "no-store"]];
 * ```
 */
export type HeaderList = Array<[string, string]>;

/**
 * Which plugin a `plugin` rule asks: an HTTP endpoint, a command, or a function
 * registered by the embedding program (`startVane(config, { functions })`).
 *
 * @example
 * ```ts
 * import type { PluginSpec } from "./mod.ts";
 * const plugin: PluginSpec = { kind: "command", argv: ["/usr/local/bin/check-key", "--strict"] };
 * ```
 */
export type PluginSpec =
  /** POST the keys as JSON to this URL (http:// or https://). */
  | { kind: "http"; url: string }
  /** Run this command (no shell), keys as JSON on stdin, answer as JSON on stdout. */
  | { kind: "command"; argv: string[] }
  /** A function registered by code embedding vane (mod.ts), by name. */
  | { kind: "function"; name: string };

/**
 * What a `proxy` rule lets through that vane refuses by default: `connect` (CONNECT
 * tunnels, else 405), `trace` (TRACE, else 405: it echoes cookies back to scripts),
 * `h2c` (an `Upgrade: h2c` switch, else the upgrade is stripped: a tunnel past every
 * path rule).
 *
 * @example
 * ```ts
 * import type { Allowance } from "./mod.ts";
 * const allow: Allowance[] = ["connect"];
 * ```
 */
export type Allowance = "connect" | "trace" | "h2c";
export const ALLOWANCES: readonly Allowance[] = ["connect", "trace", "h2c"];

/**
 * What a rule does when its condition holds. `proxy`, `terminate`, `respond`,
 * `redirect` and `abort` end the flow; the others edit, limit or branch and go on.
 *
 * @example
 * ```ts
 * import type { Action } from "./mod.ts";
 * const toApi: Action = { kind: "proxy", pool: "api" };
 * const moved: Action = { kind: "redirect", status: 301, location: "https://example.com{{req.path}}" };
 * ```
 */
export type Action =
  /** Forward to a pool (inline targets in YAML become a pool of their own). */
  | { kind: "proxy"; pool: string; allow?: Allowance[] }
  /** Terminate TLS (tcp:// listeners, before any request), then run `flow` per request. */
  | { kind: "terminate"; tls: TlsFiles[]; flow: Rule[] }
  /** Answer from vane itself. HTTP only: a non-HTTP connection is closed. */
  | { kind: "respond"; status: number; headers: HeaderList; body: string }
  | { kind: "redirect"; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** Close the connection without an answer. */
  | { kind: "abort" }
  /** Non-terminal: edits the request sent upstream and the response sent back. */
  | { kind: "set-headers"; request: HeaderList; response: HeaderList }
  | { kind: "remove-headers"; request: string[]; response: string[] }
  /**
   * Non-terminal while tokens last: a token bucket per `key` (a template), `rate`
   * tokens per second up to `burst`. Empty -> 429 at L7, close at L4. With `store`, the
   * buckets are shared through Redis by every vane naming the same one (docs/fleet.md).
   */
  | { kind: "rate-limit"; rate: number; burst: number; key: string; store?: RateStoreSpec }
  /**
   * Asks a plugin with the keys as JSON; its answer `{"branch": NAME, "keys": {...}}`
   * picks `branches[NAME]` (an unknown branch goes on with the next rule); a timeout,
   * an error or a crash takes `failure` (null: go on). After `failures` failures in a
   * row it is not asked for `quietMs`, and counts as failed meanwhile.
   */
  | {
    kind: "plugin";
    plugin: PluginSpec;
    timeoutMs: number;
    failures: number;
    quietMs: number;
    branches: Record<string, Rule[]>;
    failure: Rule[] | null;
  }
  /** A nested flow; when it ends without a terminal action, the next rule goes on. */
  | { kind: "flow"; rules: Rule[] };

/**
 * One step of a flow: an action, taken when `when` holds.
 *
 * @example
 * ```ts
 * import type { Rule } from "./mod.ts";
 * // YAML: - when: { tls.sni: "*.example.com" }
 * //         proxy: web
 * const rule: Rule = {
 *   when: { kind: "key", key: "tls.sni", matcher: { op: "glob", pattern: "*.example.com" } },
 *   action: { kind: "proxy", pool: "web" },
 * };
 * ```
 */
export interface Rule {
  /** null: always. */
  when: Condition | null;
  action: Action;
}

/**
 * One listener: where it accepts, its flow, which peers may send a PROXY header, and
 * its certificates (https://).
 *
 * @example
 * ```ts
 * import type { ListenerConfig } from "./mod.ts";
 * const listener: ListenerConfig = {
 *   address: { protocol: "http", host: "127.0.0.1", port: 8080, raw: "http://127.0.0.1:8080" },
 *   flow: [{ when: null, action: { kind: "proxy", pool: "web" } }],
 *   acceptProxy: [],
 *   tls: [],
 * };
 * ```
 */
export interface ListenerConfig {
  address: ListenAddress;
  flow: Rule[];
  /**
   * Peers (CIDRs as written, e.g. `10.0.0.0/8`) whose connections start with a PROXY
   * protocol header (v1 or v2); its address then stands for the client everywhere.
   */
  acceptProxy: string[];
  /** Certificates for an https:// listener; empty: `Config.tls`. */
  tls: TlsFiles[];
  /**
   * https:// only: ask clients for a certificate verified against the PEM file `ca`;
   * `require` refuses a client without one at the handshake. Absent: none asked.
   */
  clientAuth?: { ca: string; require: boolean };
  /** https:// only: TLS versions and suites, over `Config.tlsServer`; absent: those. */
  tlsServer?: TlsServerPolicy;
  /**
   * Client addresses (CIDRs as written) this listener serves alone (`allow`), and those
   * it refuses (`deny`, which wins over `allow`); the address after a PROXY header.
   * Absent or empty: every client.
   */
  allow?: string[];
  deny?: string[];
  /**
   * Connections one client address may hold open on this listener at once (per
   * process); one more is closed unanswered. Absent: no limit.
   */
  maxConnsPerClient?: number;
  /**
   * Client connections this listener serves at once (per process), within the
   * process's `max-conns`; at the limit it stops accepting. Absent: only the process's.
   */
  maxConns?: number;
}

/**
 * Every deadline, in milliseconds (`DEFAULT_TIMEOUTS` holds the defaults).
 *
 * @example
 * ```ts
 * import type { TimeoutsConfig } from "./mod.ts";
 * const timeouts: TimeoutsConfig = {
 *   connectMs: 5_000, idleMs: 600_000, graceMs: 10_000, udpIdleMs: 30_000,
 *   upstreamMs: 60_000, requestHeadMs: 10_000, keepAliveMs: 60_000, bodyMs: 60_000,
 * };
 * ```
 */
export interface TimeoutsConfig {
  connectMs: number;
  idleMs: number;
  graceMs: number;
  /** A UDP session with no datagram either way for this long is closed. */
  udpIdleMs: number;
  /** HTTP: no response head from the target this long after the request -> 504. */
  upstreamMs: number;
  /**
   * HTTP: a request head must be whole this long after the connection began (its first
   * request) or after the head's first byte (later ones); else 408 and close. The whole
   * head, not each read: HAProxy's `timeout http-request`, nginx's `client_header_timeout`.
   */
  requestHeadMs: number;
  /** HTTP: the wait for the first byte of the next request on a kept-alive connection (then a silent close). */
  keepAliveMs: number;
  /** HTTP: a request or response body that moves no byte this long ends the exchange (408 where it still can). */
  bodyMs: number;
}

/**
 * A whole, validated config: what `loadConfigText` and `parseCli` build and what
 * `startVane`, `createVane` and `Vane.reload` take. Plain data, so `printConfig` can
 * write it back as YAML.
 *
 * @example
 * ```ts
 * import { type Config, loadConfigText } from "./mod.ts";
 * const loaded = loadConfigText("listeners: [{ listen: http://127.0.0.1:8080, flow: [{ proxy: [127.0.0.1:9000] }] }]");
 * const config: Config | null = loaded.ok ? loaded.config : null;
 * ```
 */
export interface Config {
  listeners: ListenerConfig[];
  pools: Record<string, PoolConfig>;
  /** Static node registry: node name -> its addresses. */
  nodes: Record<string, string[]>;
  timeouts: TimeoutsConfig;
  /** The HTTP edge's limits and path policy. */
  http: HttpConfig;
  control: ControlConfig;
  log: { format: "text" | "json"; level: "debug" | "info" | "warn" | "error" };
  /** One line per HTTP request and per L4 or UDP session (`access-log`, `--access-log`); absent: off. */
  accessLog?: AccessLogConfig;
  /** Certificates for https:// listeners and `terminate`, chosen by SNI; the first is the default. */
  tls: TlsFiles[];
  /** TLS versions and suites of every https:// listener and `terminate`; absent: the defaults. */
  tlsServer?: TlsServerPolicy;
  /**
   * Certificates obtained from an ACME CA (`tls.acme`, `--acme`) for every host an
   * https:// listener's flow names; absent: none.
   */
  acme?: AcmeConfig;
  /**
   * Where vane keeps what must outlive a restart (ACME account and certificates);
   * absent: $XDG_DATA_HOME/vane, else ~/.local/share/vane.
   */
  stateDir?: string;
  /**
   * The etcd cluster of `etcd:` targets and fleet-wide drains (`etcd:`); absent: none,
   * unless the config itself comes from etcd (then that cluster, set by the executable).
   */
  etcd?: EtcdClusterConfig;
  /** DNS server to ask instead of the system's (`HOST:PORT`), like nginx's `resolver`. */
  resolver: { host: string; port: number } | null;
  /**
   * Processes serving the listeners, each on its own SO_REUSEPORT socket; null means
   * one per CPU. The executable reads it; an embedded vane is always one event loop.
   */
  workers: number | null;
  /**
   * Client connections one process serves at once (HAProxy's `maxconn`); null means
   * derived from its open-file limit (src/server/client-slots.ts). Per process: each
   * worker has its own descriptors and its own count.
   */
  maxConns: number | null;
}

/**
 * Automatic HTTPS: certificates from an ACME CA (RFC 8555), such as Let's Encrypt.
 *
 * @example
 * ```ts
 * import type { AcmeConfig } from "./mod.ts";
 * const acme: AcmeConfig = {
 *   email: "ops@example.com",
 *   directory: "https://acme-v02.api.letsencrypt.org/directory",
 *   caRoot: null,
 *   challenge: "auto",
 * };
 * ```
 */
export interface AcmeConfig {
  /** The contact the CA's account is registered with (expiry notices). */
  email: string;
  /** The CA's directory URL. */
  directory: string;
  /** A PEM file of the root that the CA's HTTPS endpoint is verified against; null: the system's. */
  caRoot: string | null;
  /**
   * How names are proved: `http-01` (port 80), `tls-alpn-01` (the TLS port), or `auto`:
   * http-01 when vane has an http:// listener, tls-alpn-01 as well.
   */
  challenge: AcmeChallenge;
}

export const ACME_CHALLENGES = ["auto", "http-01", "tls-alpn-01"] as const;
/**
 * How ACME names are proved (`tls.acme.challenge`, `--acme-challenge`).
 *
 * @example
 * ```ts
 * import type { AcmeChallenge } from "./mod.ts";
 * const challenge: AcmeChallenge = "tls-alpn-01";
 * ```
 */
export type AcmeChallenge = typeof ACME_CHALLENGES[number];
/** Let's Encrypt's production directory, the default CA. */
export const DEFAULT_ACME_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/**
 * How the HTTP engine guards the edge: limits on what a client may send, and how
 * ambiguous paths are treated (see docs/security.md).
 *
 * @example
 * ```ts
 * import type { HttpConfig } from "./mod.ts";
 * const http: HttpConfig = { maxHeaderLine: 16_384, maxPartialHeads: 32, encodedSlash: "reject" };
 * ```
 */
export interface HttpConfig {
  /** Longest request header line in bytes; longer is 431. */
  maxHeaderLine: number;
  /** Connections from one client address that may be in the middle of a head at once; 0: no limit. */
  maxPartialHeads: number;
  /** `%2F`, `%5C`, `\` and `..;` in a path: refused with 400, or kept as data (not separators). */
  encodedSlash: "reject" | "keep";
}

export const DEFAULT_HTTP: HttpConfig = { maxHeaderLine: 8192, maxPartialHeads: 32, encodedSlash: "reject" };
export const ENCODED_SLASH: readonly HttpConfig["encodedSlash"][] = ["reject", "keep"];
/** The range `http.max-header-line` may take, in bytes. */
export const HEADER_LINE_MIN = 1024;
export const HEADER_LINE_MAX = 65536;
export const HEADER_LINE_EXPECTED = `an integer ${HEADER_LINE_MIN}..${HEADER_LINE_MAX} (bytes)`;
export const PARTIAL_HEADS_EXPECTED = "an integer 0 or more (0: no limit)";

/** The most workers a config may ask for. */
export const MAX_WORKERS = 64;
export const WORKERS_EXPECTED = `auto or an integer 1..${MAX_WORKERS}`;
export const MAX_CONNS_EXPECTED = "auto or an integer 1 or more (client connections per process)";

/**
 * The status and admin endpoint: where it listens and the token its admin calls need.
 *
 * @example
 * ```ts
 * import type { ControlConfig } from "./mod.ts";
 * const control: ControlConfig = { listen: { host: "127.0.0.1", port: 9901 }, token: null };
 * ```
 */
export interface ControlConfig {
  /** Status endpoint address, or null when off. */
  listen: { host: string; port: number } | null;
  /** When set, `POST /reload` (and any later admin call) needs `Authorization: Bearer TOKEN`. */
  token: string | null;
  /**
   * A file whose first line is the token (`token-file`, `--admin-token-file`), read at
   * start and at each reload; absent: none. Never set together with `token`.
   */
  tokenFile?: string;
}

/** The status endpoint when neither the config nor `--status` places it: loopback only, as it shows the config. */
export const DEFAULT_CONTROL_LISTEN: { readonly host: string; readonly port: number } = {
  host: "127.0.0.1",
  port: 9901,
};

/** The listener when the command line names none (`--listen`) and there is no config file. */
export const DEFAULT_LISTEN = "0.0.0.0:8080";

export const LOG_FORMATS = ["text", "json"] as const;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export const DEFAULT_LOG: Readonly<Config["log"]> = { format: "text", level: "info" };

/**
 * The access log (`access-log`): where its lines go, how they read, which are written,
 * and the request id and trace context that come with it.
 *
 * @example
 * ```ts
 * import type { AccessLogConfig } from "./mod.ts";
 * const accessLog: AccessLogConfig = { path: "-", format: "json", sample: 1, requestId: true, trace: false };
 * ```
 */
export interface AccessLogConfig {
  /** A file appended to (reopened on SIGUSR1), or "-" for stderr. */
  path: string;
  /** One JSON object per line, or nginx's combined layout. @default "json" */
  format: AccessLogFormat;
  /** The share of records written, 0..1. @default 1 */
  sample: number;
  /** Requests get an `X-Request-Id` (kept when they bring one), sent to the target. @default true */
  requestId: boolean;
  /** Start a trace (`traceparent`) for a request that comes without one. @default false */
  trace: boolean;
}

export const ACCESS_LOG_FORMATS = ["json", "combined"] as const;
/**
 * How access-log lines read: one JSON object each, or nginx's combined layout.
 *
 * @example
 * ```ts
 * import type { AccessLogFormat } from "./mod.ts";
 * const format: AccessLogFormat = "combined";
 * ```
 */
export type AccessLogFormat = typeof ACCESS_LOG_FORMATS[number];
export const DEFAULT_ACCESS_LOG: Readonly<Omit<AccessLogConfig, "path">> = {
  format: "json",
  sample: 1,
  requestId: true,
  trace: false,
};
export const ACCESS_LOG_SAMPLE_EXPECTED = "a number from 0 to 1, like 0.1";

/** The largest `maxconn` and `maxqueue` vane takes (far past what one process serves at once). */
export const MAX_POOL_SLOTS = 1_000_000;

/** Requests a pool with `maxconn` lets wait at most when `maxqueue` is not given. */
export const DEFAULT_MAXQUEUE = 1024;

/** How long a request waits in a pool's queue when `queue-timeout` is not given: the connect timeout's default. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 5_000;

/**
 * Where a rate limit counts when it is shared by a fleet: a Redis server
 * (`redis://[user:pass@]host:port[/db]`, config/redis-url.ts), and what a request is
 * told while Redis cannot answer: `open` admits it, `closed` refuses it (429).
 *
 * @example
 * ```ts
 * import type { RateStoreSpec } from "./mod.ts";
 * const store: RateStoreSpec = { url: "redis://10.0.0.9:6379/2", onError: "closed" };
 * ```
 */
export interface RateStoreSpec {
  readonly url: string;
  readonly onError: RateStoreOnError;
}

/**
 * What a shared rate limit does while its store cannot answer (`on-error`).
 *
 * @example
 * ```ts
 * import type { RateStoreOnError } from "./mod.ts";
 * const onError: RateStoreOnError = "open";
 * ```
 */
export type RateStoreOnError = "open" | "closed";

/**
 * A rate limit fails open by default when its store is down, as Envoy's global rate
 * limit does (failure_mode_deny: false): an outage of the counter must not become an
 * outage of the service.
 */
export const DEFAULT_RATE_STORE_ON_ERROR: RateStoreOnError = "open";

/** A pool's strategy when none is named. */
export const DEFAULT_STRATEGY: StrategyName = "serial";

/** Every kind counts, as nginx's `max_fails` counts `error` and `timeout` (its default is 1 too). */
export const DEFAULT_PASSIVE: PassiveConfig = { failures: 1, on: [...PASSIVE_KINDS] };

/** The statuses an http check accepts unless told otherwise (`health.expect`, `--health-expect`). */
export const DEFAULT_EXPECT: [number, number] = [200, 399];

/** A `plugin` rule's `timeout`, `failures` and `quiet` when not given. */
export const DEFAULT_PLUGIN = { timeoutMs: 1_000, failures: 3, quietMs: 30_000 } as const;

export const DEFAULT_HEALTH: HealthConfig = {
  check: "tcp",
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
};

export const DEFAULT_TIMEOUTS: TimeoutsConfig = {
  connectMs: 5_000,
  idleMs: 10 * 60_000,
  graceMs: 10_000,
  udpIdleMs: 30_000,
  upstreamMs: 60_000,
  requestHeadMs: 10_000,
  keepAliveMs: 60_000,
  bodyMs: 60_000,
};

/**
 * What a pool is when only its targets are given: the defaults of every other key.
 *
 * @param name The pool's name, as flows refer to it.
 * @param targets Its targets, already parsed.
 * @returns A pool with round robin, TCP health checks and the default passive and retry policies.
 *
 * @example
 * ```ts
 * import { defaultPool } from "./src/config/model.ts";
 * const pool = defaultPool("web", [{ kind: "ip", host: "10.0.0.1", port: 80, weight: 1, raw: "10.0.0.1:80" }]);
 * pool.strategy; // "serial"
 * ```
 */
export function defaultPool(name: string, targets: TargetSpec[]): PoolConfig {
  return {
    name,
    strategy: DEFAULT_STRATEGY,
    targets,
    fallback: [],
    health: { ...DEFAULT_HEALTH },
    sendProxy: null,
    passive: { ...DEFAULT_PASSIVE, on: [...DEFAULT_PASSIVE.on] },
    retryOn: [...DEFAULT_RETRY_ON],
    retry: { ...DEFAULT_RETRY },
    outlier: null,
    protocol: DEFAULT_UPSTREAM_PROTOCOL,
    tls: null,
  };
}
