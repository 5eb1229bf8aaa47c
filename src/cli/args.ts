/**
 * Turns argv into a validated Config. Flag syntax is node:util's parseArgs (strict);
 * values go through the shared config parsers, and every failure becomes a one-line
 * CliError of the form `--flag: expected X; got "Y"`.
 */
import { parseArgs } from "node:util";
import { DURATION_EXPECTED, parseDuration } from "../config/duration.ts";
import { ConfigError } from "../config/errors.ts";
import {
  type Config,
  DEFAULT_HTTP,
  DEFAULT_TIMEOUTS,
  defaultPool,
  ENCODED_SLASH,
  HEADER_LINE_EXPECTED,
  HEADER_LINE_MAX,
  HEADER_LINE_MIN,
  type HealthConfig,
  type HttpConfig,
  type ListenerConfig,
  MAX_CONNS_EXPECTED,
  MAX_WORKERS,
  PARTIAL_HEADS_EXPECTED,
  type PoolConfig,
  RETRY_ON,
  type RetryOn,
  type RouteConfig,
  STRATEGIES,
  type StrategyName,
  type TargetSpec,
  WORKERS_EXPECTED,
} from "../config/model.ts";
import { routesToFlow } from "./routes-to-flow.ts";
import { uncheckUdpPools } from "../config/udp-pools.ts";
import {
  isValidName,
  parseBindAddress,
  parseHostPort,
  parseIp,
  parseListen,
  parseRouteMatch,
  parseTargetList,
  q,
} from "../config/target.ts";
import { parseCidrList } from "../config/cidr.ts";
import { parseExpect, parseHealthSpec } from "../config/health-spec.ts";
import { CliError } from "./errors.ts";

/**
 * What the command line asks for. `apply` builds the Config from the flags on top of
 * a config file's (flags win), or from the flags alone; a reload calls it again on
 * the re-read file. Without a file, `config` is that result, already validated.
 */
export type CliResult =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "check"; file: string; apply: (base: Config) => Config; adminTokenFile: string | null }
  | {
    kind: "run";
    file: string | null;
    /** `--admin-token-file` as given: a token file that cannot be read is then a flag error. */
    adminTokenFile: string | null;
    printConfig: boolean;
    config: Config | null;
    apply: (base: Config | null) => Config;
  };

export const DEFAULT_LISTEN = "0.0.0.0:8080";
export const DEFAULT_STATUS = "127.0.0.1:9901";
const ROUTE_EXAMPLE = "--route '*=127.0.0.1:9000'";

export const OPTIONS = {
  listen: { type: "string", multiple: true },
  route: { type: "string", multiple: true },
  pool: { type: "string", multiple: true },
  node: { type: "string", multiple: true },
  // multiple only so that a second --fallback can be detected and refused.
  fallback: { type: "string", multiple: true },
  strategy: { type: "string" },
  health: { type: "string" },
  "health-expect": { type: "string" },
  "health-interval": { type: "string" },
  "health-timeout": { type: "string" },
  rise: { type: "string" },
  fall: { type: "string" },
  "retry-on": { type: "string" },
  "connect-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  grace: { type: "string" },
  "udp-idle-timeout": { type: "string" },
  "upstream-timeout": { type: "string" },
  "request-head-timeout": { type: "string" },
  "keep-alive-timeout": { type: "string" },
  "body-timeout": { type: "string" },
  "max-header-line": { type: "string" },
  "max-partial-heads": { type: "string" },
  "encoded-slash": { type: "string" },
  status: { type: "string" },
  "log-format": { type: "string" },
  resolver: { type: "string" },
  "proxy-protocol": { type: "string" },
  "accept-proxy": { type: "string", multiple: true },
  tls: { type: "string", multiple: true },
  config: { type: "string" },
  "print-config": { type: "boolean" },
  "admin-token": { type: "string" },
  "admin-token-file": { type: "string" },
  "log-level": { type: "string" },
  workers: { type: "string" },
  "max-conns": { type: "string" },
  version: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type FlagName = keyof typeof OPTIONS;

/** Every flag vane knows, without the "--" (for --help coverage tests). */
export const FLAG_NAMES = Object.keys(OPTIONS) as FlagName[];

/** What each value flag expects, for "missing value" messages. */
const EXPECTED: Record<FlagName, string> = {
  listen: "[tcp://|http://|https://|udp://]HOST:PORT, :PORT or [IPv6]:PORT",
  route: `MATCH=TARGETS, e.g. ${ROUTE_EXAMPLE}`,
  pool: "NAME=TARGETS",
  node: "NAME=IP[,IP...]",
  fallback: "a comma-separated target list",
  strategy: "random, serial or fastest",
  health: "tcp, none or http:/PATH",
  "health-expect": "a status or range like 200-299",
  "health-interval": DURATION_EXPECTED,
  "health-timeout": DURATION_EXPECTED,
  rise: "an integer 1..100",
  fall: "an integer 1..100",
  "retry-on": `${RETRY_ON.join(", ")} (comma-separated) or none`,
  "connect-timeout": DURATION_EXPECTED,
  "idle-timeout": DURATION_EXPECTED,
  grace: DURATION_EXPECTED,
  "udp-idle-timeout": DURATION_EXPECTED,
  "upstream-timeout": DURATION_EXPECTED,
  "request-head-timeout": DURATION_EXPECTED,
  "keep-alive-timeout": DURATION_EXPECTED,
  "body-timeout": DURATION_EXPECTED,
  "max-header-line": HEADER_LINE_EXPECTED,
  "max-partial-heads": PARTIAL_HEADS_EXPECTED,
  "encoded-slash": "reject or keep",
  status: "HOST:PORT, :PORT, [IPv6]:PORT or off",
  "log-format": "text or json",
  resolver: "IP:PORT of a DNS server",
  "proxy-protocol": "v1 or v2",
  "accept-proxy": "CIDR[,CIDR...], e.g. 10.0.0.0/8,::1",
  tls: "CERT.pem,KEY.pem",
  config: "a YAML config FILE",
  workers: WORKERS_EXPECTED,
  "max-conns": MAX_CONNS_EXPECTED,
  "print-config": "no value",
  "admin-token": "a non-empty token",
  "admin-token-file": "a FILE whose first line is the admin token",
  "log-level": "debug, info, warn or error",
  version: "no value",
  help: "no value",
};

/**
 * Parses vane's command line: flags, the `run`/`check` commands and their FILE.
 *
 * @param argv The arguments after the executable's name.
 * @returns What to do: help, version, check a file, or run (with the config built from flags, or a way to build it over a file's).
 * @throws {CliError} On a bad flag or value, with a one-line message naming the flag, what was expected and what was given.
 *
 * @example
 * ```ts
 * import { parseCli } from "./mod.ts";
 * const cli = parseCli(["--listen", "127.0.0.1:8080", "--route", "*=127.0.0.1:9000"]);
 * if (cli.kind === "run" && cli.config) console.log(cli.config.listeners[0].address.port); // 8080
 * ```
 */
export function parseCli(argv: string[]): CliResult {
  // --help and --version win over everything, even over otherwise bad arguments.
  const flags = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  if (flags.includes("--help") || flags.includes("-h")) return { kind: "help" };
  if (flags.includes("--version")) return { kind: "version" };

  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true }));
  } catch (err) {
    throw explainParseError(argv, err);
  }
  const v = values;
  // `vane run FILE` and `vane check FILE` are the only words vane takes without a flag.
  const [command, file, ...rest] = positionals;
  if (command !== undefined && command !== "run" && command !== "check") {
    throw new CliError(`unexpected argument ${q(command)}: every value must follow a flag, e.g. ${ROUTE_EXAMPLE}`);
  }
  if (command !== undefined && file === undefined) {
    throw new CliError(`${command}: expected a config FILE; got nothing`);
  }
  if (rest.length > 0) throw new CliError(`unexpected argument ${q(rest[0])}: ${command} takes one FILE`);
  if (command !== undefined && v.config !== undefined) {
    throw new CliError(`--config: expected either --config FILE or ${command} FILE; got both`);
  }
  const adminTokenFile = v["admin-token-file"] ?? null;
  if (command === "check") return { kind: "check", file, apply: (base) => buildConfig(v, base), adminTokenFile };
  const configFile = file ?? v.config ?? null;
  return {
    kind: "run",
    file: configFile,
    adminTokenFile,
    printConfig: v["print-config"] === true,
    config: configFile === null ? buildConfig(v, null) : null,
    apply: (base) => buildConfig(v, base),
  };
}

/**
 * parseArgs' messages span lines and vary by runtime, so re-read argv as tokens
 * (non-strict, which never throws) and say precisely what is wrong.
 */
function explainParseError(argv: string[], err: unknown): CliError {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    if (!Object.hasOwn(OPTIONS, t.name)) return new CliError(`unknown flag ${t.rawName} (see --help)`);
    const name = t.name as FlagName;
    const flag = `--${name}`;
    if (OPTIONS[name].type === "boolean") {
      if (t.value !== undefined) return new CliError(`${flag}: expected no value; got ${q(t.value)}`);
    } else if (t.value === undefined) {
      return new CliError(`${flag}: expected ${EXPECTED[name]}; got nothing`);
    } else if (!t.inlineValue && t.value.startsWith("-")) {
      // parseArgs refuses "--listen --route ..." as ambiguous: the value is most likely missing.
      return new CliError(
        `${flag}: expected ${EXPECTED[name]}; got the flag ${
          q(t.value)
        } (write ${flag}=VALUE if it really starts with "-")`,
      );
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(message.split("\n")[0]);
}

/** Runs a config parser and prefixes its ConfigError with the flag it came from. */
function forFlag<T>(flag: FlagName, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`--${flag}: ${err.message}`);
    throw err;
  }
}

/** Splits `LEFT=RIGHT` at the first "="; both sides must be non-empty. */
function splitPair(flag: FlagName, text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function oneOf<T extends string>(flag: FlagName, text: string | undefined, allowed: readonly T[], dflt: T): T {
  if (text === undefined) return dflt;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
}

/** `--retry-on conn-failure,empty-response` (kept in RETRY_ON's order, as YAML keeps it), or `none`. */
function retryOnList(text: string): RetryOn[] {
  if (text === "none") return [];
  const words = text.split(",").map((w) => w.trim());
  for (const w of words) {
    if (!(RETRY_ON as readonly string[]).includes(w)) {
      throw new CliError(`--retry-on: expected ${EXPECTED["retry-on"]}; got ${q(w)}`);
    }
  }
  return RETRY_ON.filter((w) => words.includes(w));
}

function duration(flag: FlagName, text: string | undefined, dflt: number, allowZero = false): number {
  if (text === undefined) return dflt;
  const ms = forFlag(flag, () => parseDuration(text));
  if (ms === 0 && !allowZero) throw new CliError(`--${flag}: expected a duration greater than 0; got ${q(text)}`);
  return ms;
}

function count(flag: FlagName, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 100)) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return n;
}

/** A whole number in min..max, written in decimal digits. */
function integer(flag: FlagName, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return n;
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/**
 * The Config the flags describe. Alone (`base` null) they must define a route; on top
 * of a config file, each flag given replaces what the file says (see `overlay`).
 */
function buildConfig(v: Values, base: Config | null): Config {
  if (base === null && !v.route?.length) {
    throw new CliError(`--route: at least one route is required, e.g. ${ROUTE_EXAMPLE}`);
  }
  const spec: ReturnType<typeof parseHealthSpec> | undefined = v.health === undefined
    ? undefined
    : forFlag("health", () => parseHealthSpec(v.health!));
  if (v["health-expect"] !== undefined && spec?.check !== "http") {
    throw new CliError(`--health-expect: expected --health http:/PATH alongside; got --health ${spec?.check ?? "tcp"}`);
  }
  // Each pool flag given replaces that setting in every pool; the rest keep their own.
  const poolFlags = {
    strategy: v.strategy === undefined ? undefined : oneOf<StrategyName>("strategy", v.strategy, STRATEGIES, "serial"),
    health: (h: HealthConfig): HealthConfig => {
      const check = spec ?? (h.check === "http" ? { check: "http" as const, path: h.path! } : { check: h.check });
      const out: HealthConfig = {
        check: check.check,
        intervalMs: duration("health-interval", v["health-interval"], h.intervalMs),
        timeoutMs: duration("health-timeout", v["health-timeout"], h.timeoutMs),
        rise: count("rise", v.rise, h.rise),
        fall: count("fall", v.fall, h.fall),
      };
      if (check.check === "http") {
        out.path = check.path;
        const expect = v["health-expect"];
        // A new --health check starts from the default statuses, not the file's.
        out.expect = expect !== undefined
          ? forFlag("health-expect", () => parseExpect(expect))
          : (spec ? undefined : h.expect) ?? [200, 399];
      }
      return out;
    },
    sendProxy: v["proxy-protocol"] === undefined
      ? undefined
      : oneOf("proxy-protocol", v["proxy-protocol"], ["v1", "v2"] as const, "v1"),
    retryOn: v["retry-on"] === undefined ? undefined : retryOnList(v["retry-on"]),
  };

  const nodes = new Map(Object.entries(base?.nodes ?? {}));
  for (const [name, ips] of parseNodes(v.node ?? [])) nodes.set(name, ips);
  // A target naming an undefined node can never resolve: refuse it at startup.
  const targets = (flag: FlagName, text: string): TargetSpec[] => {
    const list = forFlag(flag, () => parseTargetList(text));
    for (const t of list) {
      if (t.kind === "node" && !nodes.has(t.node)) {
        throw new CliError(`--${flag}: node ${q(t.node)} is not defined; add --node ${t.node}=IP[,IP...]`);
      }
    }
    return list;
  };
  if ((v.fallback?.length ?? 0) > 1) {
    throw new CliError(`--fallback: expected to be given once; got it ${v.fallback!.length} times`);
  }
  const fallback = v.fallback ? targets("fallback", v.fallback[0]) : undefined;

  // A Map, not an object, so that a pool named "__proto__" is just a name.
  const pools = new Map<string, PoolConfig>();
  for (const p of Object.values(base?.pools ?? {})) pools.set(p.name, structuredClone(p));
  const flagPools = new Set<string>();
  for (const text of v.pool ?? []) {
    const [name, list] = splitPair("pool", text);
    if (!isValidName(name)) {
      throw new CliError(`--pool: expected a pool NAME of letters, digits, "-", "_", "."; got ${q(name)}`);
    }
    if (flagPools.has(name)) throw new CliError(`--pool: expected each pool name once; got ${q(name)} twice`);
    flagPools.add(name);
    pools.set(name, defaultPool(name, targets("pool", list)));
  }

  let routes: RouteConfig[] | null = null;
  if (v.route?.length) {
    const namedPools = new Set(pools.keys());
    const routePools = new Set<string>();
    routes = v.route.map((text) => {
      const [raw, rhs] = splitPair("route", text);
      const match = forFlag("route", () => parseRouteMatch(raw));
      // Pool names cannot contain ":" and every inline target has one, so this is unambiguous.
      if (!rhs.includes(":")) {
        if (namedPools.has(rhs)) return { raw, match, pool: rhs };
        throw new CliError(`--route: ${q(rhs)} is neither a --pool name nor a target list`);
      }
      const list = targets("route", rhs);
      const stem = match.kind === "any" ? "default" : raw;
      let name = stem;
      for (let n = 2; routePools.has(name) || flagPools.has(name); n++) name = `${stem}#${n}`;
      routePools.add(name);
      pools.set(name, defaultPool(name, list));
      return { raw, match, pool: name };
    });
  }
  for (const p of pools.values()) {
    // Pools made by flags take every pool flag; a file's pools only those given.
    const fromFlags = !base || flagPools.has(p.name) || !Object.hasOwn(base.pools, p.name);
    if (poolFlags.strategy !== undefined) p.strategy = poolFlags.strategy;
    if (poolFlags.sendProxy !== undefined) p.sendProxy = poolFlags.sendProxy;
    if (poolFlags.retryOn !== undefined) p.retryOn = [...poolFlags.retryOn];
    if (fallback !== undefined) p.fallback = [...fallback];
    if (fromFlags || spec || v["health-interval"] || v["health-timeout"] || v.rise || v.fall) {
      p.health = poolFlags.health(p.health);
    }
  }

  // Certificate files are read at start, where a missing one is reported by name.
  const tls = v.tls === undefined ? (base?.tls ?? []) : v.tls.map((text) => {
    const parts = text.split(",");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new CliError(`--tls: expected ${EXPECTED.tls}; got ${q(text)}`);
    }
    return { certPath: parts[0], keyPath: parts[1] };
  });
  // Validated here, kept as written: the model stays printable as config text.
  const acceptProxy = v["accept-proxy"]?.flatMap((text) =>
    forFlag("accept-proxy", () => parseCidrList(text)).map((c) => c.raw)
  );

  const listeners = buildListeners(v, base, routes, acceptProxy);
  // A pool of the flags that only udp:// listeners use takes no TCP check unless --health names one.
  const fromFile = (name: string) => base !== null && !flagPools.has(name) && Object.hasOwn(base.pools, name);
  uncheckUdpPools(pools.values(), listeners, (p) => spec !== undefined || fromFile(p.name));
  const https = listeners.find((l) => l.address.protocol === "https" && l.tls.length === 0);
  if (https && tls.length === 0) {
    throw new CliError(`--tls: expected at least one CERT.pem,KEY.pem for ${q(https.address.raw)}; got none`);
  }

  const t = base?.timeouts ?? DEFAULT_TIMEOUTS;
  const timeouts = {
    connectMs: duration("connect-timeout", v["connect-timeout"], t.connectMs),
    idleMs: duration("idle-timeout", v["idle-timeout"], t.idleMs),
    graceMs: duration("grace", v.grace, t.graceMs, true),
    udpIdleMs: duration("udp-idle-timeout", v["udp-idle-timeout"], t.udpIdleMs),
    upstreamMs: duration("upstream-timeout", v["upstream-timeout"], t.upstreamMs),
    requestHeadMs: duration("request-head-timeout", v["request-head-timeout"], t.requestHeadMs),
    keepAliveMs: duration("keep-alive-timeout", v["keep-alive-timeout"], t.keepAliveMs),
    bodyMs: duration("body-timeout", v["body-timeout"], t.bodyMs),
  };
  const h = base?.http ?? DEFAULT_HTTP;
  const http: HttpConfig = {
    maxHeaderLine: integer("max-header-line", v["max-header-line"], h.maxHeaderLine, HEADER_LINE_MIN, HEADER_LINE_MAX),
    maxPartialHeads: integer(
      "max-partial-heads",
      v["max-partial-heads"],
      h.maxPartialHeads,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    encodedSlash: oneOf("encoded-slash", v["encoded-slash"], ENCODED_SLASH, h.encodedSlash),
  };
  const statusText = v.status ?? (base ? undefined : DEFAULT_STATUS);
  const listen = statusText === undefined
    ? base!.control.listen
    : statusText === "off"
    ? null
    : forFlag("status", () => parseBindAddress(statusText));
  const control = adminToken(v, listen, base);
  const log = {
    format: oneOf("log-format", v["log-format"], ["text", "json"] as const, base?.log.format ?? "text"),
    level: oneOf("log-level", v["log-level"], ["debug", "info", "warn", "error"] as const, base?.log.level ?? "info"),
  };
  const resolverText = v.resolver;
  const resolver = resolverText === undefined ? (base?.resolver ?? null) : forFlag("resolver", () => {
    const { host, port } = parseHostPort(resolverText, { ipOnly: true });
    return { host, port };
  });

  return {
    listeners,
    pools: Object.fromEntries(pools),
    nodes: Object.fromEntries(nodes),
    timeouts,
    http,
    control,
    log,
    resolver,
    tls,
    workers: v.workers === undefined ? (base?.workers ?? null) : parseWorkers(v.workers),
    maxConns: v["max-conns"] === undefined ? (base?.maxConns ?? null) : parseMaxConns(v["max-conns"]),
  };
}

/**
 * --admin-token or --admin-token-file (one of them), else the file's token or token-file.
 * The token file is only named here; it is read at start, where a bad one names this flag.
 */
function adminToken(v: Values, listen: Config["control"]["listen"], base: Config | null): Config["control"] {
  const token = v["admin-token"];
  const file = v["admin-token-file"];
  if (token !== undefined && file !== undefined) {
    throw new CliError(`--admin-token-file: expected either --admin-token or --admin-token-file; got both`);
  }
  if (token === "") throw new CliError(`--admin-token: expected ${EXPECTED["admin-token"]}; got ""`);
  if (file === "") throw new CliError(`--admin-token-file: expected ${EXPECTED["admin-token-file"]}; got ""`);
  if (token !== undefined) return { listen, token };
  if (file !== undefined) return { listen, token: null, tokenFile: file };
  const control: Config["control"] = { listen, token: base?.control.token ?? null };
  if (base?.control.tokenFile !== undefined) control.tokenFile = base.control.tokenFile;
  return control;
}

/**
 * Listeners from --listen, --route and --accept-proxy. Over a file: --route replaces
 * every listener's flow, --accept-proxy every listener's trusted peers, and --listen
 * the address of a file with one listener (with several, which one would be meant?).
 */
function buildListeners(
  v: Values,
  base: Config | null,
  routes: RouteConfig[] | null,
  acceptProxy: string[] | undefined,
): ListenerConfig[] {
  const flow = routes ? routesToFlow(routes) : null;
  // Datagrams carry no host: a UDP listener takes the routes without one (`*`).
  const flowFor = (protocol: string) => (flow && protocol === "udp" ? flow.filter((r) => r.when === null) : flow);
  let listeners: ListenerConfig[];
  if (base === null || v.listen !== undefined) {
    if (base !== null && base.listeners.length > 1) {
      throw new CliError(
        `--listen: expected a config file with one listener to override; it has ${base.listeners.length} (edit them in the file)`,
      );
    }
    const template = base?.listeners[0];
    listeners = (v.listen ?? [DEFAULT_LISTEN]).map((text) => {
      const address = forFlag("listen", () => parseListen(text));
      const rules = flowFor(address.protocol);
      return {
        address,
        flow: structuredClone(rules ?? template!.flow),
        acceptProxy: [...(template?.acceptProxy ?? [])],
        tls: structuredClone(template?.tls ?? []),
      };
    });
  } else {
    listeners = base.listeners.map((l) => {
      const rules = flowFor(l.address.protocol);
      return { ...structuredClone(l), ...(rules ? { flow: structuredClone(rules) } : {}) };
    });
  }
  if (acceptProxy) { for (const l of listeners) l.acceptProxy = [...acceptProxy]; }
  return listeners;
}

/** `--max-conns N` or `--max-conns auto` (derived from the open-file limit). */
function parseMaxConns(text: string): number | null {
  if (text === "auto") return null;
  return integer("max-conns", text, 0, 1, Number.MAX_SAFE_INTEGER);
}

/** `--workers N` or `--workers auto`. */
function parseWorkers(text: string): number | null {
  if (text === "auto") return null;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new CliError(`--workers: expected ${WORKERS_EXPECTED}; got ${q(text)}`);
  return n;
}

/** `--node NAME=IP[,IP...]`: a static registry of IP literals, one entry per name. */
function parseNodes(texts: string[]): Map<string, string[]> {
  const nodes = new Map<string, string[]>();
  for (const text of texts) {
    const [name, list] = splitPair("node", text);
    if (!isValidName(name)) {
      throw new CliError(`--node: expected a node NAME of letters, digits, "-", "_", "."; got ${q(name)}`);
    }
    if (nodes.has(name)) throw new CliError(`--node: expected each node name once; got ${q(name)} twice`);
    const ips = list.split(",").map((ip) => forFlag("node", () => parseIp(ip.trim())));
    const dup = ips.find((ip, i) => ips.indexOf(ip) !== i);
    if (dup !== undefined) {
      throw new CliError(`--node: expected each IP once per node; got ${q(dup)} twice in ${q(text)}`);
    }
    nodes.set(name, ips);
  }
  return nodes;
}
