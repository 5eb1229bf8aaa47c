/**
 * One loaded config, ready to serve: its pools, each listener's compiled flow and
 * trusted peers, the HTTP routes of its pools and its certificates. A reload builds
 * a new generation next to the running one; connections keep the generation they
 * were accepted under, so a reload never changes a connection in flight.
 */
import { AddressFilter } from "./address-filter.ts";
import type { Action, Config, ListenerConfig, Rule, TlsFiles, TlsServerPolicy } from "../config/model.ts";
import type { Runtime, TlsCertificate } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import type { SrvCache } from "../resolve/srv-cache.ts";
import type { UpstreamPool } from "../http/upstream-pool.ts";
import type { HttpRoute } from "../http/engine.ts";
import { type LoadedTargetTls, Pool } from "../balance/pool.ts";
import { type Cidr, parseCidr } from "../config/cidr.ts";
import { type CompiledFlow, compileFlow, type FlowFunction } from "../flow/flow.ts";
import { poolRoute } from "../http/pool-route.ts";
import { errorText } from "../errors/mod.ts";
import type { H2Upstreams } from "../http2/upstreams.ts";
import { H1OverH2Conn } from "../http2/h1-bridge.ts";
import { limitOpener, type RateStores } from "../flow/rate-store.ts";

export interface GenerationDeps {
  rt: Runtime;
  log: Logger;
  registry: HealthRegistry;
  resolver: TargetResolver;
  /** SRV answers for the pools' `srv:` targets (server/srv-discovery.ts expands them). */
  srv: SrvCache;
  upstreams: UpstreamPool;
  functions: ReadonlyMap<string, FlowFunction>;
  /** HTTP/2 connections to h2c pools' targets, for HTTP/1.1 requests routed there. Absent: such requests get 502. */
  h2Upstreams?: H2Upstreams;
  /** Where rate-limit actions count when several processes share them (--workers); absent: each flow alone. */
  rates?: RateStores;
  /** Where rate-limit actions with a `store` (Redis) count; absent: such actions count alone. */
  redisRates?: RateStores;
}

/** Each pool's `tls` with its files read; says once per load that a pool does not verify its targets. */
async function loadTargetTls(config: Config, deps: GenerationDeps): Promise<Map<string, LoadedTargetTls>> {
  const out = new Map<string, LoadedTargetTls>();
  for (const p of Object.values(config.pools)) {
    const t = p.tls;
    if (t === null) continue;
    const loaded: LoadedTargetTls = { serverName: t.serverName, verify: t.verify };
    if (t.ca !== null) loaded.ca = await readFile(deps.rt, t.ca, "CA bundle");
    if (t.cert !== null && t.key !== null) {
      loaded.cert = await readFile(deps.rt, t.cert, "client certificate");
      loaded.key = await readFile(deps.rt, t.key, "client key");
    }
    if (!t.verify) deps.log.warn("TLS to this pool's targets is not verified (tls.verify: false)", { pool: p.name });
    out.set(p.name, loaded);
  }
  return out;
}

/** Where the bridged stream of an HTTP/1.1 request to an h2c pool says it goes, for logs. */
const H2C_PEER = { hostname: "h2c", port: 0 };

export interface ListenerPlan {
  readonly config: ListenerConfig;
  readonly flow: CompiledFlow;
  /** Peers that must open with a PROXY header. */
  readonly trusted: Cidr[];
  /** Who the listener serves (`allow`, `deny`); null: everyone. */
  readonly filter: AddressFilter | null;
  readonly gen: Generation;
}

export class Generation {
  readonly pools = new Map<string, Pool>();
  readonly listeners: ListenerPlan[];
  readonly #routes = new Map<string, HttpRoute>();

  readonly #certs: Map<string, TlsCertificate>;

  // `private`, not `#`: JavaScript has no private constructors. Only `build` makes one.
  private constructor(
    readonly id: number,
    readonly config: Config,
    readonly loadedAt: Date,
    readonly deps: GenerationDeps,
    certs: Map<string, TlsCertificate>,
  ) {
    this.#certs = certs;
    for (const p of Object.values(config.pools)) {
      const pool = new Pool(p, deps.registry, deps.resolver);
      this.pools.set(p.name, pool);
      deps.registry.outlierDetection(p.name, p.outlier, pool.entries());
    }
    const places = listenerPlaces(config.listeners);
    this.listeners = config.listeners.map((l, i) => ({
      config: l,
      flow: compileFlow(l.flow, {
        log: deps.log,
        functions: deps.functions,
        limits: limitOpener({ host: deps.rates, redis: deps.redisRates }, {
          generation: id,
          config,
          listener: places[i],
        }),
      }),
      // A PROXY header would have to come before the TLS handshake, which the
      // runtime's TLS listener reads first: not honoured on https:// listeners.
      trusted: l.address.protocol === "https" ? [] : l.acceptProxy.map(parseCidr),
      filter: AddressFilter.of(l),
      gen: this,
    }));
  }

  /**
   * Builds a generation, reading every certificate it names first: a file that cannot
   * be read fails the start (or the reload) by name, before anything changes.
   */
  static async build(id: number, config: Config, deps: GenerationDeps): Promise<Generation> {
    const certs = new Map<string, TlsCertificate>();
    for (const files of certificateFiles(config)) {
      const key = certKey(files);
      if (certs.has(key)) continue;
      certs.set(key, {
        cert: await readFile(deps.rt, files.certPath, "certificate"),
        key: await readFile(deps.rt, files.keyPath, "key"),
      });
    }
    const tls = await loadTargetTls(config, deps);
    for (const l of config.listeners) {
      const path = l.clientAuth?.ca;
      if (path !== undefined && !certs.has(`ca|${path}`)) {
        certs.set(`ca|${path}`, { cert: await readFile(deps.rt, path, "client CA bundle"), key: "" });
      }
    }
    const gen = new Generation(id, config, new Date(), deps, certs);
    for (const [name, loaded] of tls) gen.pools.get(name)!.tls = loaded;
    return gen;
  }

  /** What an https:// listener's `client-auth` asks for, its CA file read; undefined: none. */
  clientAuthFor(l: ListenerConfig): { ca: string; require: boolean } | undefined {
    if (!l.clientAuth) return undefined;
    return { ca: this.#certs.get(`ca|${l.clientAuth.ca}`)!.cert, require: l.clientAuth.require };
  }

  /** The certificates for a listener or terminate step (empty: the config's list). */
  certificatesFor(files: readonly TlsFiles[]): TlsCertificate[] {
    const list = files.length > 0 ? files : this.config.tls;
    return list.map((f) => this.#certs.get(certKey(f))!);
  }

  /** The TLS versions and suites of an https:// listener (its own over the config's), or of `terminate` (the config's). */
  tlsPolicyFor(l?: ListenerConfig): TlsServerPolicy {
    return { ...this.config.tlsServer, ...l?.tlsServer };
  }

  /** The engine's route to a pool, one per pool and generation, made on first use. */
  httpRoute(pool: string): HttpRoute | null {
    let r = this.#routes.get(pool);
    if (r) return r;
    const p = this.pools.get(pool);
    if (!p) return null;
    const h2c = this.deps.h2Upstreams;
    r = poolRoute(p, {
      rt: this.deps.rt,
      registry: this.deps.registry,
      upstreams: this.deps.upstreams,
      connectMs: this.config.timeouts.connectMs,
      h2c: h2c === undefined ? undefined : (pool, exclude) =>
        new H1OverH2Conn(
          (fields, end, picked) => h2c.request(pool, fields, end, exclude, picked),
          H2C_PEER,
          H2C_PEER,
        ),
    });
    this.#routes.set(pool, r);
    return r;
  }

  get resolver(): TargetResolver {
    return this.deps.resolver;
  }

  entries(): TargetHealth[] {
    return [...this.pools.values()].flatMap((p) => p.entries());
  }
}

/**
 * Each listener's name in its rate limits' places: "t<i>" for the i-th TCP-side one,
 * "u<i>" for the i-th UDP one. Workers may be handed the TCP-side listeners alone
 * (cluster/worker-config.ts), so these names stay the same in every process.
 */
function listenerPlaces(listeners: readonly ListenerConfig[]): string[] {
  let tcp = 0;
  let udp = 0;
  return listeners.map((l) => (l.address.protocol === "udp" ? `u${udp++}` : `t${tcp++}`));
}

const certKey = (f: TlsFiles) => `${f.certPath}\u0000${f.keyPath}`;

async function readFile(rt: Runtime, path: string, what: string): Promise<string> {
  try {
    return await rt.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read the TLS ${what} ${path}: ${errorText(err)}`, { cause: err });
  }
}

/** Every certificate the config can use: global, per listener, per terminate step. */
function certificateFiles(config: Config): TlsFiles[] {
  const out: TlsFiles[] = [];
  const needsGlobal = config.listeners.some((l) => l.address.protocol === "https" && l.tls.length === 0);
  if (needsGlobal || config.tls.length > 0) out.push(...config.tls);
  for (const l of config.listeners) {
    out.push(...l.tls);
    walk(l.flow, (a) => {
      if (a.kind === "terminate") out.push(...(a.tls.length > 0 ? a.tls : config.tls));
    });
  }
  return out;
}

/** Calls `visit` on every action, nested ones included. */
export function walk(rules: readonly Rule[], visit: (a: Action) => void): void {
  for (const r of rules) {
    const a = r.action;
    visit(a);
    if (a.kind === "flow") walk(a.rules, visit);
    if (a.kind === "terminate") walk(a.flow, visit);
    if (a.kind === "plugin") {
      for (const b of Object.values(a.branches)) walk(b, visit);
      if (a.failure) walk(a.failure, visit);
    }
  }
}
