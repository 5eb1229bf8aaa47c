/**
 * The pools the flags describe, with the nodes they name and the routes to them:
 * --node, --pool, --fallback, --route's inline target lists, and the pool flags
 * (--strategy, --health and its timings, --proxy-protocol, --retry-on, --maxconn,
 * --maxqueue, --queue-timeout, --retries, --retry-budget, --outlier) laid over every
 * pool they apply to.
 */
import {
  type Config,
  DEFAULT_EXPECT,
  DEFAULT_UPSTREAM_PROTOCOL,
  defaultPool,
  type HealthConfig,
  MAX_POOL_SLOTS,
  MAX_RETRIES,
  type PoolConfig,
  type RouteConfig,
  type StrategyName,
  type TargetSpec,
  type UpstreamProtocol,
} from "../config/model.ts";
import { isValidName, parseIp, parseRouteMatch, parseTargetList, q } from "../config/target.ts";
import { parseExpect, parseHealthSpec } from "../config/health-spec.ts";
import { parseStrategy, strategyText } from "../config/strategy-spec.ts";
import { CliError } from "./errors.ts";
import type { FlagName, Values } from "./flags.ts";
import { count, duration, forFlag, integer, oneOf, retryOnList, splitPair } from "./flag-values.ts";
import { parseOutlierSpec, parsePercent } from "../config/outlier-spec.ts";

type HealthSpec = ReturnType<typeof parseHealthSpec>;

export interface FlagPools {
  /** By name; a Map, not an object, so that a pool named "__proto__" is just a name. */
  pools: Map<string, PoolConfig>;
  nodes: Map<string, string[]>;
  /** From --route, or null without one (the file's flows stay). */
  routes: RouteConfig[] | null;
  /** --health as given. */
  spec: HealthSpec | undefined;
  /** Whether a pool is the config file's own, not made or replaced by a flag. */
  fromFile(name: string): boolean;
}

/** Turns a target list into specs, refusing a node no --node (or file) defines. */
type TargetReader = (flag: FlagName, text: string) => TargetSpec[];

/** The pools, nodes and routes of the flags over `base` (null: the flags alone). */
export function buildPools(v: Values, base: Config | null): FlagPools {
  const spec = healthSpec(v);
  const poolFlags = readPoolFlags(v, spec);
  const nodes = new Map(Object.entries(base?.nodes ?? {}));
  for (const [name, ips] of parseNodes(v.node ?? [])) nodes.set(name, ips);
  // A target naming an undefined node can never resolve: refuse it at startup.
  const targets: TargetReader = (flag, text) => {
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

  const pools = new Map<string, PoolConfig>();
  for (const p of Object.values(base?.pools ?? {})) pools.set(p.name, structuredClone(p));
  const flagPools = namedPools(v.pool ?? [], pools, targets);
  const routes = v.route?.length ? routePools(v.route, pools, flagPools, targets) : null;
  const fromFile = (name: string) => base !== null && !flagPools.has(name) && Object.hasOwn(base.pools, name);
  for (const p of pools.values()) {
    // Pools made by flags take every pool flag; a file's pools only those given.
    const fromFlags = !fromFile(p.name);
    if (poolFlags.strategy !== undefined) p.strategy = poolFlags.strategy;
    if (poolFlags.sendProxy !== undefined) p.sendProxy = poolFlags.sendProxy;
    if (poolFlags.protocol !== undefined) p.protocol = poolFlags.protocol;
    if (poolFlags.retryOn !== undefined) p.retryOn = [...poolFlags.retryOn];
    queueFlags(v, p);
    if (poolFlags.retries !== undefined) p.retry.retries = poolFlags.retries;
    if (poolFlags.retryBudget !== undefined) p.retry.budgetPercent = poolFlags.retryBudget;
    if (poolFlags.outlier !== undefined) p.outlier = poolFlags.outlier === null ? null : { ...poolFlags.outlier };
    if (fallback !== undefined) p.fallback = [...fallback];
    if (fromFlags || spec || v["health-interval"] || v["health-timeout"] || v.rise || v.fall) {
      p.health = poolFlags.health(p.health);
    }
  }
  return { pools, nodes, routes, spec, fromFile };
}

/**
 * --maxconn, --maxqueue and --queue-timeout over pool `p`; the last two only where a
 * maxconn applies (a queue holds requests waiting for a target under its maxconn).
 */
function queueFlags(v: Values, p: PoolConfig): void {
  if (v.maxconn !== undefined) p.maxconn = integer("maxconn", v.maxconn, 0, 1, MAX_POOL_SLOTS);
  if (v.maxqueue !== undefined) p.maxqueue = integer("maxqueue", v.maxqueue, 0, 0, MAX_POOL_SLOTS);
  if (v["queue-timeout"] !== undefined) p.queueTimeoutMs = duration("queue-timeout", v["queue-timeout"], 0);
  for (const flag of ["maxqueue", "queue-timeout"] as const) {
    if (v[flag] !== undefined && p.maxconn === undefined) {
      throw new CliError(`--${flag}: expected --maxconn N alongside (or maxconn in pool ${q(p.name)}); got none`);
    }
  }
}

/** --health, and --health-expect only alongside an http check. */
function healthSpec(v: Values): HealthSpec | undefined {
  const spec: HealthSpec | undefined = v.health === undefined
    ? undefined
    : forFlag("health", () => parseHealthSpec(v.health!));
  if (v["health-expect"] !== undefined && spec?.check !== "http") {
    throw new CliError(`--health-expect: expected --health http:/PATH alongside; got --health ${spec?.check ?? "tcp"}`);
  }
  return spec;
}

/** Each pool flag given replaces that setting in every pool; the rest keep their own. */
function readPoolFlags(v: Values, spec: HealthSpec | undefined) {
  return {
    strategy: v.strategy === undefined
      ? undefined
      : strategyText(forFlag("strategy", () => parseStrategy(v.strategy!))) as StrategyName,
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
          : (spec ? undefined : h.expect) ?? DEFAULT_EXPECT;
      }
      return out;
    },
    sendProxy: v["proxy-protocol"] === undefined
      ? undefined
      : oneOf("proxy-protocol", v["proxy-protocol"], ["v1", "v2"] as const, "v1"),
    retryOn: v["retry-on"] === undefined ? undefined : retryOnList(v["retry-on"]),
    retries: v.retries === undefined ? undefined : integer("retries", v.retries, 1, 0, MAX_RETRIES),
    retryBudget: v["retry-budget"] === undefined
      ? undefined
      : forFlag("retry-budget", () => parsePercent(v["retry-budget"]!)),
    outlier: v.outlier === undefined ? undefined : forFlag("outlier", () => parseOutlierSpec(v.outlier!)),
    protocol: v.protocol === undefined ? undefined : upstreamProtocol(v.protocol),
  };
}

/** --protocol: http1, h2c, or h2 (over TLS to the targets, verified against the system's CAs). */
function upstreamProtocol(value: string): UpstreamProtocol {
  return oneOf<UpstreamProtocol>("protocol", value, ["http1", "h2c", "h2"], DEFAULT_UPSTREAM_PROTOCOL);
}

/** `--pool NAME=TARGETS` into `pools`; returns the names the flags made. */
function namedPools(texts: string[], pools: Map<string, PoolConfig>, targets: TargetReader): Set<string> {
  const flagPools = new Set<string>();
  for (const text of texts) {
    const [name, list] = splitPair("pool", text);
    if (!isValidName(name)) {
      throw new CliError(`--pool: expected a pool NAME of letters, digits, "-", "_", "."; got ${q(name)}`);
    }
    if (flagPools.has(name)) throw new CliError(`--pool: expected each pool name once; got ${q(name)} twice`);
    flagPools.add(name);
    pools.set(name, defaultPool(name, targets("pool", list)));
  }
  return flagPools;
}

/** `--route MATCH=POOL` or `MATCH=TARGETS`; an inline target list becomes a pool of its own in `pools`. */
function routePools(
  texts: string[],
  pools: Map<string, PoolConfig>,
  flagPools: Set<string>,
  targets: TargetReader,
): RouteConfig[] {
  const namedPools = new Set(pools.keys());
  const routePools = new Set<string>();
  return texts.map((text) => {
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
