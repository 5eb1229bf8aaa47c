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
  DEFAULT_HEALTH,
  DEFAULT_TIMEOUTS,
  type HealthConfig,
  type PoolConfig,
  type RouteConfig,
  type StrategyName,
  type TargetSpec,
} from "../config/model.ts";
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
import { parseExpect, parseHealthSpec } from "../health/http-check.ts";
import { CliError } from "./errors.ts";

export type CliResult = { kind: "run"; config: Config } | { kind: "help" } | { kind: "version" };

export const DEFAULT_LISTEN = "0.0.0.0:8080";
export const DEFAULT_STATUS = "127.0.0.1:9901";
const ROUTE_EXAMPLE = "--route '*=127.0.0.1:9000'";

const OPTIONS = {
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
  "connect-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  grace: { type: "string" },
  "udp-idle-timeout": { type: "string" },
  "upstream-timeout": { type: "string" },
  status: { type: "string" },
  "log-format": { type: "string" },
  resolver: { type: "string" },
  "proxy-protocol": { type: "string" },
  "accept-proxy": { type: "string", multiple: true },
  tls: { type: "string", multiple: true },
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
  "connect-timeout": DURATION_EXPECTED,
  "idle-timeout": DURATION_EXPECTED,
  grace: DURATION_EXPECTED,
  "udp-idle-timeout": DURATION_EXPECTED,
  "upstream-timeout": DURATION_EXPECTED,
  status: "HOST:PORT, :PORT, [IPv6]:PORT or off",
  "log-format": "text or json",
  resolver: "IP:PORT of a DNS server",
  "proxy-protocol": "v1 or v2",
  "accept-proxy": "CIDR[,CIDR...], e.g. 10.0.0.0/8,::1",
  tls: "CERT.pem,KEY.pem",
  version: "no value",
  help: "no value",
};

export function parseCli(argv: string[]): CliResult {
  // --help and --version win over everything, even over otherwise bad arguments.
  const flags = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  if (flags.includes("--help") || flags.includes("-h")) return { kind: "help" };
  if (flags.includes("--version")) return { kind: "version" };

  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw explainParseError(argv, err);
  }
  return { kind: "run", config: buildConfig(values) };
}

/**
 * parseArgs' messages span lines and vary by runtime, so re-read argv as tokens
 * (non-strict, which never throws) and say precisely what is wrong.
 */
function explainParseError(argv: string[], err: unknown): CliError {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === "positional") {
      return new CliError(`unexpected argument ${q(t.value)}: every value must follow a flag, e.g. ${ROUTE_EXAMPLE}`);
    }
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

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

function buildConfig(v: Values): Config {
  const strategy = oneOf<StrategyName>("strategy", v.strategy, ["random", "serial", "fastest"], "serial");
  const spec: ReturnType<typeof parseHealthSpec> = v.health === undefined
    ? { check: "tcp" }
    : forFlag("health", () => parseHealthSpec(v.health!));
  if (v["health-expect"] !== undefined && spec.check !== "http") {
    throw new CliError(`--health-expect: expected --health http:/PATH alongside; got --health ${spec.check}`);
  }
  const health: HealthConfig = {
    check: spec.check,
    ...(spec.check === "http"
      ? { path: spec.path, expect: forFlag("health-expect", () => parseExpect(v["health-expect"] ?? "200-399")) }
      : {}),
    intervalMs: duration("health-interval", v["health-interval"], DEFAULT_HEALTH.intervalMs),
    timeoutMs: duration("health-timeout", v["health-timeout"], DEFAULT_HEALTH.timeoutMs),
    rise: count("rise", v.rise, DEFAULT_HEALTH.rise),
    fall: count("fall", v.fall, DEFAULT_HEALTH.fall),
  };
  const timeouts = {
    connectMs: duration("connect-timeout", v["connect-timeout"], DEFAULT_TIMEOUTS.connectMs),
    idleMs: duration("idle-timeout", v["idle-timeout"], DEFAULT_TIMEOUTS.idleMs),
    graceMs: duration("grace", v.grace, DEFAULT_TIMEOUTS.graceMs, true),
    udpIdleMs: duration("udp-idle-timeout", v["udp-idle-timeout"], DEFAULT_TIMEOUTS.udpIdleMs),
    upstreamMs: duration("upstream-timeout", v["upstream-timeout"], DEFAULT_TIMEOUTS.upstreamMs),
  };
  const statusText = v.status ?? DEFAULT_STATUS;
  const status = statusText === "off" ? null : forFlag("status", () => parseBindAddress(statusText));
  const log = { format: oneOf("log-format", v["log-format"], ["text", "json"] as const, "text") };
  const resolverText = v.resolver;
  const resolver = resolverText === undefined ? null : forFlag("resolver", () => {
    const { host, port } = parseHostPort(resolverText, { ipOnly: true });
    return { host, port };
  });

  const sendProxy = v["proxy-protocol"] === undefined
    ? null
    : oneOf("proxy-protocol", v["proxy-protocol"], ["v1", "v2"] as const, "v1");
  // Validated here, kept as written: the model stays printable as config text.
  const acceptProxy = (v["accept-proxy"] ?? []).flatMap((text) =>
    forFlag("accept-proxy", () => parseCidrList(text)).map((c) => c.raw)
  );

  const nodes = parseNodes(v.node ?? []);
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
  const fallback = v.fallback ? targets("fallback", v.fallback[0]) : [];
  // Each pool gets its own copies so that nothing downstream can change two pools at once.
  const makePool = (name: string, list: TargetSpec[]): PoolConfig => ({
    name,
    strategy,
    targets: list,
    fallback: [...fallback],
    health: { ...health },
    sendProxy,
  });

  // A Map, not an object, so that a pool named "__proto__" is just a name.
  const pools = new Map<string, PoolConfig>();
  for (const text of v.pool ?? []) {
    const [name, list] = splitPair("pool", text);
    if (!isValidName(name)) {
      throw new CliError(`--pool: expected a pool NAME of letters, digits, "-", "_", "."; got ${q(name)}`);
    }
    if (pools.has(name)) throw new CliError(`--pool: expected each pool name once; got ${q(name)} twice`);
    pools.set(name, makePool(name, targets("pool", list)));
  }
  const namedPools = new Set(pools.keys());

  if (!v.route?.length) throw new CliError(`--route: at least one route is required, e.g. ${ROUTE_EXAMPLE}`);
  const routes: RouteConfig[] = v.route.map((text) => {
    const [raw, rhs] = splitPair("route", text);
    const match = forFlag("route", () => parseRouteMatch(raw));
    // Pool names cannot contain ":" and every inline target has one, so this is unambiguous.
    if (!rhs.includes(":")) {
      if (namedPools.has(rhs)) return { raw, match, pool: rhs };
      throw new CliError(`--route: ${q(rhs)} is neither a --pool name nor a target list`);
    }
    const list = targets("route", rhs);
    const base = match.kind === "any" ? "default" : raw;
    let name = base;
    for (let n = 2; pools.has(name); n++) name = `${base}#${n}`;
    pools.set(name, makePool(name, list));
    return { raw, match, pool: name };
  });

  // Certificate files are read at start, where a missing one is reported by name.
  const tls = (v.tls ?? []).map((text) => {
    const parts = text.split(",");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new CliError(`--tls: expected ${EXPECTED.tls}; got ${q(text)}`);
    }
    return { certPath: parts[0], keyPath: parts[1] };
  });

  const listenTexts = v.listen ?? [DEFAULT_LISTEN];
  const listeners = listenTexts.map((text) => ({
    address: forFlag("listen", () => parseListen(text)),
    routes: [...routes],
    acceptProxy: [...acceptProxy],
  }));
  const https = listeners.find((l) => l.address.protocol === "https");
  if (https && tls.length === 0) {
    throw new CliError(`--tls: expected at least one CERT.pem,KEY.pem for ${q(https.address.raw)}; got none`);
  }

  return {
    listeners,
    pools: Object.fromEntries(pools),
    nodes: Object.fromEntries(nodes),
    timeouts,
    status,
    log,
    resolver,
    tls,
  };
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
