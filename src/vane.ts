/**
 * One running vane: listeners, generations of config, the health registry and
 * checker, the status endpoint. `start()` resolves names and checks every target
 * before any listener accepts; `reload()` swaps in a new config without dropping a
 * connection; `stop()` stops accepting and lets open connections finish within the
 * grace.
 */
import type { Config, ListenerConfig } from "./config/model.ts";
import type { FileLimit, HttpServer, Runtime, TcpConn, TcpListener, UdpSocket } from "./runtime/types.ts";
import type { LogFields, Logger } from "./telemetry/logger.ts";
import type { StatusSnapshot, TargetStatus } from "./control/snapshot.ts";
import type { TargetHealth } from "./health/registry.ts";
import type { FlowFunction } from "./flow/flow.ts";
import { HealthRegistry } from "./health/registry.ts";
import { HealthChecker } from "./health/checker.ts";
import { DnsCache } from "./resolve/dns-cache.ts";
import { type HostsTable, loadHosts } from "./resolve/hosts.ts";
import { StaticNodeRegistry, TargetResolver } from "./resolve/resolver.ts";
import { listenUdp, UDP_RECEIVE_BUFFER_BYTES, type UdpForwarder } from "./forward/udp.ts";
import { UpstreamPool } from "./http/upstream-pool.ts";
import { TrafficCounters } from "./telemetry/counters.ts";
import { createControlApp, type ReloadOutcome } from "./control/app.ts";
import { formatAddress } from "./resolve/address.ts";
import { VERSION } from "./version.ts";
import { Generation, type ListenerPlan } from "./generation.ts";
import { PartialHeads } from "./http/partial-heads.ts";
import { type ConnectionDeps, handleConnection, handleDecrypted, type HopOrigin, type OpenClient } from "./connection.ts";
import { Members } from "./members.ts";
import { ClientSlots, defaultMaxConns, fdReserve } from "./connection-limit.ts";
import { TerminateHops } from "./terminate.ts";
import { ConnKeys } from "./flow/conn-keys.ts";
import { configToDocument } from "./config/print.ts";
import { readAdminToken } from "./control/token.ts";
import { redactConfig } from "./control/redact.ts";
import { udpOnlyPools } from "./config/udp-pools.ts";
import { limited } from "./telemetry/log-limit.ts";

/**
 * Idle keep-alive connections kept per target, and for how long. The bound is high
 * (HAProxy keeps every idle server connection by default): a pool smaller than the
 * number of concurrent clients closes and reopens upstream connections all the time.
 */
const UPSTREAM_IDLE = { maxIdlePerKey: 1024, idleMs: 30_000 };

export interface BoundListener {
  config: ListenerConfig;
  /** The address actually bound (port 0 becomes the ephemeral port). */
  addr: { hostname: string; port: number };
}

export interface VaneOptions {
  /** TypeScript functions that flows can call as plugin steps (`plugin: { function: NAME }`). */
  functions?: ReadonlyMap<string, FlowFunction> | Record<string, FlowFunction>;
  /**
   * Where the next config comes from, for `POST /reload` (and whoever calls
   * `reloadFromSource`): e.g. the config file read again. Absent: /reload says so.
   */
  source?: () => Promise<{ ok: true; config: Config } | { ok: false; errors: string[] }>;
  /** Set when this vane is one of several worker processes (src/cluster/). */
  cluster?: ClusterHooks;
  /**
   * The admin token when the config names none (neither `token` nor `token-file`):
   * the executable passes `VANE_ADMIN_TOKEN`.
   */
  adminToken?: string;
}

/**
 * What changes when vane runs as one of several workers: its sockets are opened with
 * SO_REUSEPORT, and the primary (worker 0) decides health and answers for everyone.
 */
export interface ClusterHooks {
  /** This process's worker number; 0 is the primary. */
  index: number;
  /** Set in workers: health comes from the primary; called with new entries instead of checking them. */
  follow?: (entries: TargetHealth[]) => void;
  /** Set in the primary: what the status endpoint shows, this process's snapshot plus the workers'. */
  aggregate?: (own: StatusSnapshot) => Promise<StatusSnapshot>;
  /** Set in the primary: a reload is in service here; resolves once every worker has it too. */
  reloaded?: (config: Config) => Promise<void>;
}

export interface Vane {
  start(): Promise<void>;
  /** Stops accepting, waits up to `graceMs` for open connections, then closes them. */
  stop(graceMs?: number): Promise<void>;
  /**
   * Swaps in `config`: unchanged listeners keep their sockets, connections in flight
   * keep the config they started with, health of unchanged targets is kept. On any
   * failure the running config stays and the outcome says why.
   */
  reload(config: Config): Promise<ReloadOutcome>;
  /** Reloads from `options.source`. */
  reloadFromSource(): Promise<ReloadOutcome>;
  readonly listeners: BoundListener[];
  readonly statusAddr: { hostname: string; port: number } | null;
  /** The config generation serving new connections (1 after start). */
  readonly generation: number;
  readonly config: Config;
  snapshot(): StatusSnapshot;
  readonly registry: HealthRegistry;
}

/** A bound socket; `plan` is swapped by a reload and read at each accept. */
interface Bound {
  key: string;
  plan: ListenerPlan;
  addr: { hostname: string; port: number };
  tcp: TcpListener | null;
  udp: { socket: UdpSocket; forwarder: UdpForwarder } | null;
}

/**
 * What makes a socket reusable across a reload: the same address and kind of socket.
 * An https:// socket holds its certificates, so new ones (rotation) mean a new socket.
 */
function socketKey(l: ListenerConfig, gen: Generation): string {
  const a = l.address;
  const kind = a.protocol === "udp" ? "udp" : a.protocol === "https" ? "tls" : "tcp";
  const certs = a.protocol === "https" ? JSON.stringify(gen.certificatesFor(l.tls)) : "";
  return `${kind}|${a.host}|${a.port}|${certs}`;
}

/** Two sockets that cannot be bound at once. */
const sameAddress = (a: ListenerConfig, b: ListenerConfig) =>
  (a.address.protocol === "udp") === (b.address.protocol === "udp") &&
  a.address.host === b.address.host && a.address.port === b.address.port && a.address.port !== 0;

export function createVane(initial: Config, rt: Runtime, log: Logger, options: VaneOptions = {}): Vane {
  // Lines every process would say alike (what it listens on, its limits) are said by
  // the primary; workers keep them at debug level.
  const worker = (options.cluster?.index ?? 0) > 0;
  const primaryInfo = (msg: string, fields?: LogFields) => (worker ? log.debug(msg, fields) : log.info(msg, fields));
  const primaryWarn = (msg: string, fields?: LogFields) => (worker ? log.debug(msg, fields) : log.warn(msg, fields));
  const registry = new HealthRegistry(log);
  const counters = new TrafficCounters();
  const functions = options.functions instanceof Map
    ? options.functions
    : new Map(Object.entries(options.functions ?? {}));
  const startedAt = performance.now();
  const upstreams = new UpstreamPool(UPSTREAM_IDLE);
  /** The open-file limit, read (and raised) at start; the default max-conns follows from it. */
  let fileLimit: FileLimit | null = null;
  let derivedMaxConns = defaultMaxConns(null);
  const clients = new ClientSlots<OpenClient>(() => (gen?.config ?? initial).maxConns ?? derivedMaxConns, log);
  const hops = new Map<Generation, TerminateHops<HopOrigin>>();
  let bound: Bound[] = [];
  let gen: Generation | null = null;
  /** The generation /status reports; with workers it follows `gen` once they all have it. */
  let announced: Generation | null = null;
  let checker: HealthChecker | null = null;
  let status: HttpServer | null = null;
  let draining = false;
  /** The UDP receive buffer is reported for the first UDP listener bound, once. */
  let udpBufferSaid = false;
  let hosts: HostsTable | null = null;
  let dns: { cache: DnsCache; server: string } | null = null;
  // Reloads run one at a time, in the order asked.
  let reloading: Promise<unknown> = Promise.resolve();
  /** Targets that had their first check; a reload that keeps one keeps its verdict. */
  const checked = new WeakSet<TargetHealth>();
  /** The admin token each generation read (from `token`, `token-file` or options.adminToken). */
  const adminTokens = new WeakMap<Generation, string | null>();
  /** The flow each generation shows on /status, secrets redacted; made on first ask. */
  const shownFlows = new WeakMap<Generation, Array<{ flow: unknown[] }>>();

  const deps: ConnectionDeps = {
    rt,
    log,
    registry,
    counters,
    clients,
    draining: () => draining,
    current: () => gen,
    httpConns: new Members(),
    partialHeads: new PartialHeads(log),
    hopsOf(g) {
      let h = hops.get(g);
      if (!h) {
        h = new TerminateHops<HopOrigin>(rt, log, (step, conn, origin) => void handleDecrypted(step, conn, origin, deps));
        hops.set(g, h);
      }
      return h;
    },
  };

  /** The DNS cache, kept across reloads unless the resolver changes. */
  function dnsFor(config: Config): DnsCache {
    const server = config.resolver ? formatAddress(config.resolver.host, config.resolver.port) : "";
    if (dns && dns.server === server) return dns.cache;
    const addr = config.resolver ? { hostname: config.resolver.host, port: config.resolver.port } : undefined;
    dns = { cache: new DnsCache((name, type) => rt.resolveDns(name, type, addr), hosts!), server };
    return dns.cache;
  }

  async function buildGeneration(config: Config): Promise<Generation> {
    hosts ??= await loadHosts(rt.readTextFile);
    const resolver = new TargetResolver(dnsFor(config), new StaticNodeRegistry(config.nodes));
    const token = config.control.listen === null
      ? { ok: true as const, token: null }
      : await readAdminToken(config.control, (path) => rt.readTextFile(path), options.adminToken ?? null);
    if (!token.ok) throw new Error(`control.token-file: ${token.reason}`);
    const next = await Generation.build((gen?.id ?? 0) + 1, config, { rt, log, registry, resolver, upstreams, functions });
    adminTokens.set(next, token.token);
    return next;
  }

  /** Starts health checks for `next`: new targets are checked once before they serve. */
  async function startChecks(next: Generation): Promise<void> {
    const entries = [...new Set(next.entries())];
    const fresh = entries.filter((e) => !checked.has(e));
    for (const e of fresh) checked.add(e);
    const follow = options.cluster?.follow;
    if (follow) {
      follow(fresh);
      registry.retain(entries);
      return;
    }
    const nextChecker = new HealthChecker(rt, next.resolver, registry);
    await nextChecker.initial(fresh);
    checker?.stop();
    checker = nextChecker;
    checker.start(entries);
    registry.retain(entries);
  }

  async function bind(plan: ListenerPlan): Promise<Bound> {
    const l = plan.config;
    const key = socketKey(l, plan.gen);
    const addr = { hostname: l.address.host, port: l.address.port };
    if (l.address.protocol === "udp") {
      const b: Bound = { key, plan, addr, tcp: null, udp: null };
      // Workers share the port where the runtime can (SO_REUSEPORT); where it cannot,
      // the primary alone binds UDP (cluster/worker-config.ts leaves it out of workers').
      const u = await listenUdp(addr, {
        pick: (client) => pickUdp(b.plan, client),
        idleMs: plan.gen.config.timeouts.udpIdleMs,
        logger: log,
        bindUdp: rt.bindUdp,
      }, { reusePort: options.cluster !== undefined && rt.udpReusePort, receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES });
      b.udp = u;
      b.addr = u.socket.addr;
      primaryInfo("listening", { listen: l.address.raw, port: b.addr.port });
      if (!udpBufferSaid) {
        udpBufferSaid = true;
        const granted = u.socket.receiveBufferBytes;
        if (granted === null) {
          primaryInfo("UDP receive buffer: the system default (net.core.rmem_default); this runtime cannot set SO_RCVBUF", {
            runtime: rt.name,
          });
        } else if (granted < 2 * UDP_RECEIVE_BUFFER_BYTES) {
          // Linux reports twice what it grants (bookkeeping), and grants at most rmem_max.
          primaryInfo("UDP receive buffer capped by net.core.rmem_max (raise it to absorb bigger bursts)", {
            asked: UDP_RECEIVE_BUFFER_BYTES,
            got: granted / 2,
          });
        } else primaryInfo("UDP receive buffer", { bytes: granted / 2 });
      }
      return b;
    }
    const b: Bound = { key, plan, addr, tcp: null, udp: null };
    const accept = (c: TcpConn & { sni?: string | null }) => void handleConnection(b.plan, c, deps);
    const shared = { reusePort: options.cluster !== undefined, gate: clients };
    b.tcp = l.address.protocol === "https"
      ? await rt.listenTls(addr, plan.gen.certificatesFor(l.tls), ["http/1.1"], accept, shared)
      : await rt.listenTcp(addr, accept, shared);
    b.addr = b.tcp.addr;
    // Said once for all workers, by the primary.
    primaryInfo("listening", { listen: l.address.raw, port: b.addr.port });
    return b;
  }

  function unbind(b: Bound): void {
    b.tcp?.close();
    if (b.udp) {
      b.udp.forwarder.close();
      b.udp.socket.close();
    }
  }

  /** A new UDP session's target: the flow, run on the client's address alone. */
  function pickUdp(plan: ListenerPlan, client: { hostname: string; port: number }) {
    const keys = new ConnKeys({
      ip: client.hostname,
      port: client.port,
      listenerPort: plan.config.address.port,
      protocol: null,
      sni: null,
      alpn: null,
    });
    const o = plan.flow.runSync(keys).outcome;
    if (o.kind !== "proxy") return null;
    const p = plan.gen.pools.get(o.pool)?.pick();
    return p ? { key: p.entry.key, address: p.addresses[0], port: p.entry.spec.port } : null;
  }

  function warnings(config: Config): void {
    for (const l of config.listeners) {
      if (l.address.protocol === "https" && l.acceptProxy.length > 0) {
        log.warn("accept-proxy is not applied to https:// listeners", { listener: l.address.raw });
      }
    }
    // Said once per load: a UDP pool is either unchecked (the default) or judged by TCP.
    // Workers that share UDP listeners leave it to the primary.
    for (const name of udpOnlyPools(config.listeners)) {
      const check = config.pools[name]?.health.check;
      if (check === "none") primaryInfo("UDP pool: no active health check runs; its targets count as up", { pool: name });
      else if (check) {
        primaryWarn(`UDP pool: the ${check} check judges its targets by TCP, not by the UDP service it proxies`, {
          pool: name,
          check,
        });
      }
    }
  }

  /**
   * Puts `next` in service. New sockets are bound before anything changes, so a port
   * that cannot be bound leaves the running config whole; then kept sockets take the
   * new plans, removed ones close, and the old generation's TLS hops stop accepting.
   */
  async function install(next: Generation): Promise<void> {
    const kept = new Map<Bound, ListenerPlan>();
    const toBind: ListenerPlan[] = [];
    const unclaimed = new Set(bound);
    for (const plan of next.listeners) {
      const key = socketKey(plan.config, next);
      const reuse = [...unclaimed].find((b) => b.key === key);
      if (reuse) {
        unclaimed.delete(reuse);
        kept.set(reuse, plan);
      } else {
        toBind.push(plan);
      }
    }
    // Addresses that an old socket holds (a changed certificate, a tcp:// turned udp://
    // keeps the port free) are bound after that socket closes.
    const later = toBind.filter((p) => [...unclaimed].some((b) => sameAddress(b.plan.config, p.config)));
    const now = toBind.filter((p) => !later.includes(p));
    const fresh: Bound[] = [];
    try {
      for (const plan of now) fresh.push(await bind(plan));
    } catch (err) {
      for (const b of fresh) unbind(b);
      throw err;
    }
    for (const [b, plan] of kept) b.plan = plan;
    for (const b of unclaimed) {
      unbind(b);
      log.info("listener closed", { listen: b.plan.config.address.raw });
    }
    const rebound: Bound[] = [];
    for (const plan of later) {
      try {
        rebound.push(await bind(plan));
      } catch (err) {
        log.error("cannot listen again after reload", {
          listen: plan.config.address.raw,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    bound = [...kept.keys(), ...fresh, ...rebound];
    // Keep the configured order for status and `listeners`.
    const order = new Map(next.listeners.map((p, i) => [p, i]));
    bound.sort((a, b) => order.get(a.plan)! - order.get(b.plan)!);
    const previous = gen;
    gen = next;
    // Connections of older configs are retired: the answer in flight or the next one
    // says `Connection: close`, and one idle for a second closes, so clients reconnect
    // and meet the new config without losing a request sent as the reload happened.
    // Tunnels (WebSocket, TCP) are not requests: they keep going.
    let retired = 0;
    for (const c of deps.httpConns.list()) {
      if (c.gen !== next) {
        c.retire();
        retired++;
      }
    }
    if (retired > 0) log.debug("retired keep-alive connections of the older config", { connections: retired });
    if (previous) {
      const h = hops.get(previous);
      hops.delete(previous);
      void h?.close();
    }
    await syncStatus(previous?.config ?? null, next.config);
  }

  /** The status endpoint follows `control.listen`; the token is read per request. */
  async function syncStatus(before: Config | null, after: Config): Promise<void> {
    const was = before?.control.listen ?? null;
    const want = after.control.listen;
    if (status && JSON.stringify(was) === JSON.stringify(want)) return;
    await status?.close();
    status = null;
    if (!want) return;
    const aggregate = options.cluster?.aggregate;
    let server: HttpServer | null = null;
    const app = createControlApp({
      snapshot: aggregate ? () => aggregate(snapshot()) : snapshot,
      token: () => (gen && adminTokens.get(gen)) ?? null,
      reload: options.source ? reloadFromSource : null,
      address: () => server?.addr ?? null,
    });
    server = await rt.serveHttp({ hostname: want.host, port: want.port }, (req, peer) => app.fetch(req, peer));
    status = server;
    log.info("status endpoint", { listen: formatAddress(status.addr.hostname, status.addr.port) });
  }

  /** Raises the open-file limit and says it, with the max-conns it makes (once per process). */
  function applyFileLimit(): void {
    fileLimit = rt.raiseFileLimit();
    derivedMaxConns = defaultMaxConns(fileLimit?.soft ?? null);
    const soft = fileLimit?.soft ?? null;
    const maxConns = initial.maxConns ?? derivedMaxConns;
    if (soft === null) {
      primaryInfo("file descriptors: limit unknown", { maxConns });
    } else {
      const raised = fileLimit!.raisedFrom === null ? "" : ` (raised from ${fileLimit!.raisedFrom})`;
      primaryInfo(`file descriptors: limit ${soft}${raised}`, { maxConns, reserve: Number.isFinite(soft) ? fdReserve(soft) : null });
    }
    if (initial.maxConns !== null && soft !== null && initial.maxConns > derivedMaxConns) {
      log.warn("max-conns is more than the open-file limit allows; vane may run out of descriptors", {
        maxConns: initial.maxConns,
        fits: derivedMaxConns,
        limit: soft,
      });
    }
  }

  async function start(): Promise<void> {
    applyFileLimit();
    const first = await buildGeneration(initial);
    warnings(initial);
    // Resolve and check everything once, so the first connection already has a verdict.
    await startChecks(first);
    try {
      await install(first);
      announced = first;
    } catch (err) {
      // A listener that cannot bind must not leave the others half-started.
      await stop(0);
      throw err;
    }
  }

  function reload(config: Config): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      if (!gen || draining) return { ok: false, errors: ["vane is not running"] };
      try {
        const next = await buildGeneration(config);
        warnings(config);
        await startChecks(next);
        await install(next);
        await options.cluster?.reloaded?.(config);
        announced = next;
        log.info("config loaded", { generation: next.id });
        return { ok: true, generation: next.id, loadedAt: next.loadedAt.toISOString() };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log.error("reload failed; the running config stays", { generation: gen.id, error });
        return { ok: false, errors: [error] };
      }
    };
    const result = reloading.then(run, run);
    reloading = result;
    return result;
  }

  async function reloadFromSource(): Promise<ReloadOutcome> {
    if (!options.source) return { ok: false, errors: ["vane was started without a config file; nothing to reload"] };
    const next = await options.source();
    if (!next.ok) {
      log.error("reload refused: the config has errors; the running config stays", { errors: next.errors.length });
      for (const e of next.errors) log.error(e);
      return next;
    }
    return reload(next.config);
  }

  function targetStatus(e: TargetHealth): TargetStatus {
    const now = performance.now();
    const res = gen!.resolver.current(e.spec);
    return {
      target: e.key,
      address: e.address ?? (res.addresses[0] ? formatAddress(res.addresses[0], e.spec.port) : null),
      healthy: e.alive(now) && res.addresses.length > 0,
      latencyMs: e.latencyMs === null ? null : Math.round(e.latencyMs * 1000) / 1000,
      activeConnections: e.activeConnections,
      totalConnections: e.totalConnections,
      lastError: e.lastError ?? res.error,
    };
  }

  function snapshot(): StatusSnapshot {
    const g = gen!;
    let shown = shownFlows.get(g);
    if (!shown) {
      shown = (configToDocument(redactConfig(g.config)) as { listeners: Array<{ flow: unknown[] }> }).listeners;
      shownFlows.set(g, shown);
    }
    return {
      version: VERSION,
      runtime: `${rt.name} ${rt.version}`,
      uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
      // The generation every worker serves: a reload shows once all of them have it.
      config: { generation: (announced ?? g).id, loadedAt: (announced ?? g).loadedAt.toISOString() },
      listeners: bound.map((b) => ({
        listen: b.plan.config.address.raw,
        protocol: b.plan.config.address.protocol,
        address: formatAddress(b.addr.hostname, b.addr.port),
        flow: shown[g.listeners.indexOf(b.plan)]?.flow ?? [],
      })),
      pools: Object.fromEntries([...g.pools.values()].map((p) => [p.name, {
        strategy: p.config.strategy,
        targets: p.primary.map(targetStatus),
        fallback: p.fallback.map(targetStatus),
      }])),
      bytes: {
        upstream: counters.upstreamBytes + bound.reduce((n, b) => n + (b.udp?.forwarder.bytesUpstream ?? 0), 0),
        downstream: counters.downstreamBytes + bound.reduce((n, b) => n + (b.udp?.forwarder.bytesDownstream ?? 0), 0),
      },
      detections: { ...counters.detections },
      requests: [...counters.requests].map(([key, count]) => {
        const [route, pool, code] = key.split("\u0000");
        return { route, pool, code: Number(code), count };
      }),
      workers: [{
        worker: options.cluster?.index ?? 0,
        pid: rt.pid,
        connections: counters.accepted,
        open: clients.size,
        ...(bound.some((b) => b.udp) ? { datagrams: bound.reduce((n, b) => n + (b.udp?.forwarder.datagramsFromClients ?? 0), 0) } : {}),
      }],
    };
  }

  async function stop(graceMs = gen?.config.timeouts.graceMs ?? initial.timeouts.graceMs): Promise<void> {
    draining = true;
    for (const b of bound) b.tcp?.close();
    // Every HTTP answer from now says `Connection: close`; idle keep-alive connections
    // close within a second of their last answer (at once if they were quiet longer).
    for (const c of deps.httpConns.list()) c.retire();
    for (const h of hops.values()) await h.close();
    hops.clear();
    checker?.stop();
    if (clients.size > 0 && graceMs > 0) {
      log.info("draining", { connections: clients.size, graceMs });
      const deadline = performance.now() + graceMs;
      while (clients.size > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(50, deadline - performance.now())));
      }
    }
    if (clients.size > 0) log.warn("closing connections still open after grace", { connections: clients.size });
    for (const c of clients.list()) c.conn.close();
    clients.clear();
    upstreams.closeAll();
    for (const b of bound) unbind(b);
    await status?.close();
    status = null;
    // Repeats counted but not yet summed up are said now, not lost with the process.
    limited(log).flush();
  }

  return {
    start,
    stop,
    reload,
    reloadFromSource,
    get listeners() {
      return bound.map((b) => ({ config: b.plan.config, addr: b.addr }));
    },
    get statusAddr() {
      return status ? status.addr : null;
    },
    get generation() {
      return gen?.id ?? 0;
    },
    get config() {
      return gen?.config ?? initial;
    },
    snapshot,
    registry,
  };
}
