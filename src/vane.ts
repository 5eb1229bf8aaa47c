/**
 * One running vane: listeners, pools, the health registry and checker, the status
 * endpoint. `start()` resolves names and checks every target before any listener
 * accepts; `stop()` stops accepting and lets open connections finish within the grace.
 */
import type { Config, ListenerConfig, RouteConfig } from "./config/model.ts";
import type { HttpServer, Runtime, TcpConn, TcpListener, TlsCertificate, UdpSocket } from "./runtime/types.ts";
import type { Logger } from "./telemetry/logger.ts";
import type { StatusSnapshot, TargetStatus } from "./control/snapshot.ts";
import type { TargetHealth } from "./health/registry.ts";
import { HealthRegistry } from "./health/registry.ts";
import { HealthChecker } from "./health/checker.ts";
import { Pool } from "./balance/pool.ts";
import { DnsCache } from "./resolve/dns-cache.ts";
import { loadHosts } from "./resolve/hosts.ts";
import { StaticNodeRegistry, TargetResolver } from "./resolve/resolver.ts";
import { connectToPool } from "./forward/connect.ts";
import { relay } from "./forward/tcp.ts";
import { RouteTable } from "./flow/route.ts";
import { ReplayConn } from "./forward/replay-conn.ts";
import { peek } from "./detect/peek.ts";
import { type Detection, detectProtocol, MAX_DETECT_BYTES } from "./detect/detect.ts";
import { type Endpoint, proxyHeaderFor, readProxyHeader } from "./forward/proxy-header.ts";
import { type Cidr, cidrContains, parseCidr } from "./config/cidr.ts";
import { listenUdp, type UdpForwarder } from "./forward/udp.ts";
import { type HttpContext, serveHttp1 } from "./http/engine.ts";
import { UpstreamPool } from "./http/upstream-pool.ts";
import { poolRouter } from "./http/pool-route.ts";
import { TrafficCounters } from "./telemetry/counters.ts";
import { createControlApp } from "./control/app.ts";
import { formatAddress } from "./resolve/address.ts";
import { VERSION } from "./version.ts";

/**
 * How long a connection may stay silent before it is routed as raw TCP (caddy-l4's
 * matching timeout is 3 s; TLS and HTTP clients speak at once).
 */
const DETECT_TIMEOUT_MS = 3000;

/** What a listener needs at hand for each connection, built once at start. */
interface ListenerContext {
  config: ListenerConfig;
  table: RouteTable;
  /** Peers that must open with a PROXY header. */
  trusted: Cidr[];
  /** The HTTP route for a request's host and path (the engine calls it per request). */
  httpRoute: HttpContext["route"];
}

/** Idle keep-alive connections kept per target, and for how long. */
const UPSTREAM_IDLE = { maxIdlePerKey: 32, idleMs: 30_000 };

export interface BoundListener {
  config: ListenerConfig;
  /** The address actually bound (port 0 becomes the ephemeral port). */
  addr: { hostname: string; port: number };
}

export interface Vane {
  start(): Promise<void>;
  /** Stops accepting, waits up to `graceMs` for open connections, then closes them. */
  stop(graceMs?: number): Promise<void>;
  readonly listeners: BoundListener[];
  readonly statusAddr: { hostname: string; port: number } | null;
  snapshot(): StatusSnapshot;
  readonly registry: HealthRegistry;
}

export function createVane(config: Config, rt: Runtime, log: Logger): Vane {
  const registry = new HealthRegistry(log);
  const counters = new TrafficCounters();
  const startedAt = performance.now();
  let resolver!: TargetResolver;
  let checker: HealthChecker | null = null;
  const pools = new Map<string, Pool>();
  const tcpListeners: TcpListener[] = [];
  const bound: BoundListener[] = [];
  const clients = new Set<TcpConn>();
  const udp: Array<{ socket: UdpSocket; forwarder: UdpForwarder }> = [];
  const upstreams = new UpstreamPool(UPSTREAM_IDLE);
  let status: HttpServer | null = null;
  let draining = false;

  /**
   * The route for a new connection. A connection wrapped for replay (the listener has
   * host routes) has its first bytes read to find a TLS ClientHello's SNI (TLS passthrough); raw TCP and a client
   * that stays silent take the catch-all. Returns null (with the reason logged) when
   * the connection is to be closed.
   */
  /**
   * What to do with a new connection. A connection wrapped for replay (the listener
   * routes by host) has its first bytes read: a TLS ClientHello is routed by its SNI
   * (passthrough), an HTTP request goes to the L7 engine, raw TCP and a client that
   * stays silent take the catch-all. null (with the reason logged): close it.
   */
  async function classify(
    ctx: ListenerContext,
    client: TcpConn,
    peer: string,
  ): Promise<{ http: true } | { http: false; route: RouteConfig } | null> {
    const listen = ctx.config.address.raw;
    const scheme = ctx.config.address.protocol;
    if (scheme === "http" || scheme === "https") return { http: true };
    let detection: Detection = { protocol: "other" };
    if (client instanceof ReplayConn && ctx.table.hasHostRoutes) {
      const out = await peek(client, detectProtocol, MAX_DETECT_BYTES, DETECT_TIMEOUT_MS);
      if (out.kind === "decided") detection = out.value;
      else if (out.kind === "too-big") detection = { protocol: "invalid", reason: "no decision within the size bound" };
      counters.countDetection(detection.protocol);
    }
    if (detection.protocol === "invalid") {
      log.warn("connection closed: malformed first bytes", { listener: listen, client: peer, reason: detection.reason });
      return null;
    }
    if (detection.protocol === "http") return { http: true };
    const sni = detection.protocol === "tls" ? detection.sni : null;
    const route = ctx.table.matchConnection(sni);
    if (!route) {
      const what = detection.protocol === "tls" ? `tls sni=${sni ?? "(none)"}` : "raw tcp";
      log.warn("connection closed: no route", { listener: listen, client: peer, for: what });
      return null;
    }
    return { http: false, route };
  }

  async function handle(ctx: ListenerContext, raw: TcpConn): Promise<void> {
    if (draining) return raw.close();
    const listen = ctx.config.address.raw;
    // Only listeners that look at first bytes (host routes, PROXY headers) wrap the
    // connection for replay; pure L4 keeps the bare one.
    const reads = ctx.table.hasHostRoutes || ctx.trusted.length > 0 || ctx.config.address.protocol === "http";
    const client = reads ? new ReplayConn(raw) : raw;
    clients.add(client);
    // The client as vane sees it; a trusted PROXY header replaces it.
    let origin: Endpoint = { address: raw.remote.hostname, port: raw.remote.port };
    try {
      if (client instanceof ReplayConn && ctx.trusted.some((c) => cidrContains(c, origin.address))) {
        const header = await readProxyHeader(client, DETECT_TIMEOUT_MS);
        if (!header.ok) {
          counters.countDetection("invalid");
          log.warn("connection closed: PROXY header required from this peer", {
            listener: listen,
            client: formatAddress(origin.address, origin.port),
            reason: header.reason,
          });
          return;
        }
        if (header.source) origin = header.source;
      }
      const peer = formatAddress(origin.address, origin.port);
      const what = await classify(ctx, client, peer);
      if (!what) return;
      if (what.http) {
        const tls = ctx.config.address.protocol === "https";
        await serveHttp1(client, {
          client: origin,
          local: { address: raw.local.hostname, port: raw.local.port },
          proto: tls ? "https" : "http",
          route: ctx.httpRoute,
          // Over terminated TLS, a host we do not route was misdirected to us (RFC 9110 §15.5.20).
          noRouteStatus: tls ? 421 : 404,
          upstreamTimeoutMs: config.timeouts.upstreamMs,
          idleMs: config.timeouts.idleMs,
          log,
          onResponse: (r) => counters.countResponse(r.route, r.pool, r.code),
        });
        return;
      }
      const route = what.route;
      const pool = pools.get(route.pool);
      if (!pool) return;
      const outcome = await connectToPool(rt, pool, registry, config.timeouts.connectMs);
      if (!outcome.ok) {
        log.error("connection closed: no target available", { pool: pool.name, client: peer, reason: outcome.reason });
        return;
      }
      const { conn, entry } = outcome.upstream;
      entry.activeConnections++;
      entry.totalConnections++;
      try {
        if (pool.config.sendProxy) {
          const local = { address: raw.local.hostname, port: raw.local.port };
          await conn.write(proxyHeaderFor(pool.config.sendProxy, origin, local));
        }
        const result = await relay(client, conn, config.timeouts.idleMs, {
          upstream: (n) => (counters.upstreamBytes += n),
          downstream: (n) => (counters.downstreamBytes += n),
        });
        log.debug("connection done", {
          pool: pool.name,
          target: entry.key,
          client: peer,
          up: result.upstreamBytes,
          down: result.downstreamBytes,
          reason: result.reason,
        });
      } finally {
        entry.activeConnections--;
      }
    } catch (err) {
      log.error("connection failed", {
        client: formatAddress(origin.address, origin.port),
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      client.close();
      clients.delete(client);
    }
  }

  function targetStatus(e: TargetHealth): TargetStatus {
    const now = performance.now();
    const res = resolver.current(e.spec);
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
    return {
      version: VERSION,
      runtime: `${rt.name} ${rt.version}`,
      uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
      listeners: bound.map((b) => ({
        listen: b.config.address.raw,
        protocol: b.config.address.protocol,
        routes: b.config.routes.map((r) => ({ match: r.raw, pool: r.pool })),
      })),
      pools: Object.fromEntries([...pools.values()].map((p) => [p.name, {
        strategy: p.config.strategy,
        targets: p.primary.map(targetStatus),
        fallback: p.fallback.map(targetStatus),
      }])),
      bytes: {
        upstream: counters.upstreamBytes + udp.reduce((n, u) => n + u.forwarder.bytesUpstream, 0),
        downstream: counters.downstreamBytes + udp.reduce((n, u) => n + u.forwarder.bytesDownstream, 0),
      },
      detections: { ...counters.detections },
      requests: [...counters.requests].map(([key, count]) => {
        const [route, pool, code] = key.split("\u0000");
        return { route, pool, code: Number(code), count };
      }),
    };
  }

  async function start(): Promise<void> {
    const hosts = await loadHosts(rt.readTextFile);
    const server = config.resolver ? { hostname: config.resolver.host, port: config.resolver.port } : undefined;
    const dns = new DnsCache((name, type) => rt.resolveDns(name, type, server), hosts);
    resolver = new TargetResolver(dns, new StaticNodeRegistry(config.nodes));
    for (const p of Object.values(config.pools)) pools.set(p.name, new Pool(p, registry, resolver));


    // Resolve and check everything once, so the first connection already has a verdict.
    const entries = [...pools.values()].flatMap((p) => p.entries());
    checker = new HealthChecker(rt, resolver, registry);
    await checker.initial(entries);
    checker.start(entries);

    try {
      for (const l of config.listeners) {
        if (l.address.protocol === "udp") {
          bound.push({ config: l, addr: await startUdp(l) });
          continue;
        }
        const table = new RouteTable(l.routes);
        const ctx: ListenerContext = {
          config: l,
          table,
          // A PROXY header would have to come before the TLS handshake, which the
          // runtime's TLS listener reads first: not honoured on https:// listeners.
          trusted: l.address.protocol === "https" ? [] : l.acceptProxy.map(parseCidr),
          httpRoute: poolRouter(table, pools, { rt, registry, upstreams, connectTimeoutMs: config.timeouts.connectMs }),
        };
        if (l.address.protocol === "https" && l.acceptProxy.length > 0) {
          log.warn("--accept-proxy is not applied to https:// listeners", { listener: l.address.raw });
        }
        if (!ctx.table.hasCatchAll && l.address.protocol === "tcp") {
          log.warn("listener has no '*' route; raw TCP connections to it will be closed", { listener: l.address.raw });
        }
        const addr = { hostname: l.address.host, port: l.address.port };
        const tl = l.address.protocol === "https"
          ? await rt.listenTls(addr, await loadCertificates(), ["http/1.1"], (c) => void handle(ctx, c))
          : await rt.listenTcp(addr, (c) => void handle(ctx, c));
        tcpListeners.push(tl);
        bound.push({ config: l, addr: tl.addr });
        log.info("listening", { listen: l.address.raw, port: tl.addr.port });
      }
      if (config.status) {
        const app = createControlApp(snapshot);
        status = await rt.serveHttp({ hostname: config.status.host, port: config.status.port }, (req) => app.fetch(req));
        log.info("status endpoint", { listen: formatAddress(status.addr.hostname, status.addr.port) });
      }
    } catch (err) {
      // A listener that cannot bind must not leave the others half-started.
      await stop(0);
      throw err;
    }
  }

  /**
   * A UDP listener: datagrams carry no host, so the catch-all route's pool serves
   * it; each client address becomes a session on one target.
   */
  async function startUdp(l: ListenerConfig) {
    const route = new RouteTable(l.routes).matchConnection(null);
    const pool = route ? pools.get(route.pool) : undefined;
    if (!pool) log.warn("udp listener has no '*' route; its datagrams will be dropped", { listener: l.address.raw });
    const pick = () => {
      const p = pool?.pick();
      return p ? { key: p.entry.key, address: p.addresses[0], port: p.entry.spec.port } : null;
    };
    const addr = { hostname: l.address.host, port: l.address.port };
    const u = await listenUdp(addr, { pick, idleMs: config.timeouts.udpIdleMs, logger: log, bindUdp: rt.bindUdp });
    udp.push(u);
    log.info("listening", { listen: l.address.raw, port: u.socket.addr.port });
    return u.socket.addr;
  }

  /** The --tls files, read once; a file that cannot be read stops the start, by name. */
  let certificates: TlsCertificate[] | null = null;
  async function loadCertificates(): Promise<TlsCertificate[]> {
    if (certificates) return certificates;
    const read = async (path: string, what: string) => {
      try {
        return await rt.readTextFile(path);
      } catch (err) {
        throw new Error(`cannot read the TLS ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    certificates = [];
    for (const t of config.tls) {
      certificates.push({ cert: await read(t.certPath, "certificate"), key: await read(t.keyPath, "key") });
    }
    return certificates;
  }

  async function stop(graceMs = config.timeouts.graceMs): Promise<void> {
    draining = true;
    for (const l of tcpListeners) l.close();
    tcpListeners.length = 0;
    checker?.stop();
    if (clients.size > 0 && graceMs > 0) {
      log.info("draining", { connections: clients.size, graceMs });
      const deadline = performance.now() + graceMs;
      while (clients.size > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(50, deadline - performance.now())));
      }
    }
    if (clients.size > 0) log.warn("closing connections still open after grace", { connections: clients.size });
    for (const c of clients) c.close();
    clients.clear();
    upstreams.closeAll();
    for (const u of udp.splice(0)) {
      u.forwarder.close();
      u.socket.close();
    }
    await status?.close();
    status = null;
  }

  return {
    start,
    stop,
    listeners: bound,
    get statusAddr() {
      return status ? status.addr : null;
    },
    snapshot,
    registry,
  };
}
