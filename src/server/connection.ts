/**
 * The life of one accepted TCP connection: a PROXY header from a trusted peer, then
 * the listener's flow. On a tcp:// listener whose flow asks about protocol, TLS or
 * requests, the first bytes are peeked: HTTP carries on in the L7 engine on the same
 * socket (the flow then runs per request); TLS and the rest run the flow once for the
 * connection, which is then relayed to a pool (passthrough), terminated, or closed.
 * http:// and https:// listeners go straight to the engine.
 */
import type { ClientCounts } from "./client-counts.ts";
import type { ClientCert, Runtime, SocketAddress, TcpConn } from "../runtime/types.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { HealthRegistry } from "../health/registry.ts";
import type { TrafficCounters } from "../telemetry/counters.ts";
import type { Generation, ListenerPlan } from "./generation.ts";
import type { CompiledFlow, Outcome, TerminateStep } from "../flow/flow.ts";
import type { TerminateHops } from "./terminate.ts";
import { ReplayConn } from "../forward/replay-conn.ts";
import { peek } from "../forward/peek.ts";
import { type Detection, detectProtocol, MAX_DETECT_BYTES } from "../detect/detect.ts";
import { readProxyHeader } from "../forward/proxy-header.ts";
import { cidrContains } from "../config/cidr.ts";
import { serveHttp1 } from "../http/engine.ts";
import type { Decision, HttpContext } from "../http/types.ts";
import { serveHttp2 } from "../http2/session.ts";
import type { H2Upstreams } from "../http2/upstreams.ts";
import type { PartialHeads } from "../http/partial-heads.ts";
import { decider } from "../flow/http-decide.ts";
import { AcceptedFacts, type ConnFacts, ConnKeys } from "../flow/conn-keys.ts";
import type { Member, Members } from "../forward/members.ts";
import { errorText } from "../errors/mod.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import { type ClientRelease, proxyConnection } from "./l4-proxy.ts";

/**
 * How long a connection may stay silent before it is routed as raw TCP (caddy-l4's
 * matching timeout is 3 s; TLS and HTTP clients speak at once).
 */
const DETECT_TIMEOUT_MS = 3000;

/**
 * Where a connection's requests come from: its listener's plan, its facts, and who is
 * talking to whom. A decrypted connection brings it across the internal TLS hop.
 */
export interface HopOrigin {
  plan: ListenerPlan;
  client: SocketAddress;
  local: SocketAddress;
  facts: ConnFacts;
}

export interface ConnectionDeps {
  rt: Runtime;
  log: Logger;
  registry: HealthRegistry;
  counters: TrafficCounters;
  /** The access log. @default null (off) */
  access?: AccessLog | null;
  /** Every client connection open now, for the drain on stop. */
  clients: Members<OpenClient>;
  /** Connections open per listener and client address, for `max-conns-per-client`. */
  perClient: ClientCounts;
  draining(): boolean;
  /** The generation serving new connections. */
  current(): Generation | null;
  /** HTTP connections, with the generation they run on and whether they wait for a request. */
  httpConns: Members<HttpKeepAlive>;
  /** HTTP/2 connections to h2c pools' targets, for HTTP/2 clients' requests routed there. */
  h2Upstreams: H2Upstreams;
  hopsOf(gen: Generation): TerminateHops<HopOrigin>;
  /** Unfinished request heads per client address, for `http.max-partial-heads` (this process's). */
  partialHeads: PartialHeads;
  /** The ACME HTTP-01 answer for a request path (plain HTTP only), or null. @default none */
  acmeHttp?: (path: string) => string | null;
  /**
   * What the detection and HTTP deadlines are timed with: a test's fake clock.
   * @default SYSTEM_CLOCK
   */
  clock?: Clock;
}

/** A client connection, as the drain on stop knows it. */
export interface OpenClient extends Member {
  readonly conn: TcpConn;
}

/**
 * An accepted connection's place among the open ones, and its per-client count: both
 * given back once, with the client closed, by `release()`.
 */
class ClientHold implements OpenClient, ClientRelease {
  slot = -1;
  /** The per-client count this connection holds (`max-conns-per-client`), to give back. */
  counted: string | null = null;
  /** Set when the L4 path took the connection over: it releases it, as its relay ends. */
  handedOver = false;

  constructor(readonly conn: TcpConn, readonly deps: ConnectionDeps) {
    deps.clients.add(this);
  }

  release(): void {
    this.conn.close();
    this.deps.clients.delete(this);
    if (this.counted !== null) this.deps.perClient.leave(this.counted);
  }
}

/** An HTTP connection's standing, for a reload or a shutdown to retire it. */
export interface HttpKeepAlive extends Member {
  readonly conn: TcpConn;
  readonly gen: Generation;
  /**
   * Its config was retired or vane is stopping: a wait for the next request ends soon
   * (see RETIRE_QUIET_MS), and the next answer is the last. Set once the session starts.
   */
  retire: () => void;
}

export async function handleConnection(
  plan: ListenerPlan,
  raw: TcpConn & { sni?: string | null; clientCert?: ClientCert | null },
  deps: ConnectionDeps,
): Promise<void> {
  // A connection the kernel accepted before the listener closed is served even while
  // vane drains: its client sent a request already, and an HTTP one gets a single
  // answer saying `Connection: close` (the session sees `retired()`).
  const { log, counters } = deps;
  counters.accepted++;
  const scheme = plan.config.address.protocol;
  const listen = plan.config.address.raw;
  // Only listeners that look at first bytes (the flow asks, PROXY headers, HTTP) wrap
  // the connection for replay; pure L4 keeps the bare one.
  const reads = plan.flow.needsDetection || plan.trusted.length > 0 || scheme === "http";
  const client = reads ? new ReplayConn(raw, deps.clock) : raw;
  const hold = new ClientHold(client, deps);
  const facts = new AcceptedFacts(raw, scheme === "http" ? "http" : scheme === "https" ? "tls" : null, raw.sni ?? null);
  if (raw.clientCert) facts.clientCert = raw.clientCert;
  // Bun cannot tell a closed socket's addresses: read them now if the per-connection
  // debug line or access record will name the client after the relay.
  if (log.debugging !== false || deps.access) facts.client();
  try {
    if (client instanceof ReplayConn && plan.trusted.some((c) => cidrContains(c, facts.ip))) {
      if (!(await acceptProxyHeader(client, listen, facts, deps))) return;
    }
    if (plan.filter !== null && !plan.filter.admits(facts.ip)) {
      counters.countRefused("deny");
      log.debug("connection refused by allow/deny", { listener: listen, client: facts.peer() });
      return;
    }
    const perClient = plan.config.maxConnsPerClient;
    if (perClient !== undefined) {
      hold.counted = deps.perClient.enter(listen, facts.ip, perClient);
      if (hold.counted === null) {
        counters.countRefused("client-limit");
        limited(log).warn("connection refused: too many open from this client", "listener", {
          listener: listen,
          client: facts.ip,
          max: perClient,
        });
        return;
      }
    }
    if (scheme === "http" || scheme === "https") {
      return await serveRequests(client, plan.flow, originOf(plan, facts), deps);
    }

    if (client instanceof ReplayConn && plan.flow.needsDetection) {
      if (!(await detectFirstBytes(client, listen, facts, deps))) return;
      if (facts.protocol === "http") {
        return await serveRequests(client, plan.flow, originOf(plan, facts), deps);
      }
    }

    // Nearly every flow decides without waiting: no promise then.
    const decided = plan.flow.runNow(new ConnKeys(facts));
    const { outcome } = decided instanceof Promise ? await decided : decided;
    if (outcome.kind === "proxy") {
      // Not awaited: an idle relay keeps no frame of this function (and its locals)
      // alive. The L4 path releases the client, and its promise never rejects.
      hold.handedOver = true;
      return proxyConnection(hold, client, plan, outcome.pool, facts, deps);
    }
    return await route(outcome, client, plan, facts, deps);
  } catch (err) {
    limited(log).error("connection failed", "listener", {
      listener: listen,
      client: facts.peer(),
      error: errorText(err),
    });
  } finally {
    if (!hold.handedOver) hold.release();
  }
}

/** Reads the PROXY header a trusted peer must open with; false: none came, the connection closes. */
async function acceptProxyHeader(
  client: ReplayConn,
  listen: string,
  facts: AcceptedFacts,
  deps: ConnectionDeps,
): Promise<boolean> {
  const header = await readProxyHeader(client, DETECT_TIMEOUT_MS);
  if (!header.ok) {
    deps.counters.countDetection("invalid");
    limited(deps.log).warn("connection closed: PROXY header required from this peer", "listener", {
      listener: listen,
      client: facts.peer(),
      reason: header.reason,
    });
    return false;
  }
  if (header.source) facts.useSource(header.source);
  return true;
}

/** Peeks the first bytes into `facts` (protocol, SNI, ALPN); false: malformed, the connection closes. */
async function detectFirstBytes(
  client: ReplayConn,
  listen: string,
  facts: AcceptedFacts,
  deps: ConnectionDeps,
): Promise<boolean> {
  const detection = await detect(client);
  deps.counters.countDetection(detection.protocol);
  if (detection.protocol === "invalid") {
    limited(deps.log).warn("connection closed: malformed first bytes", "listener", {
      listener: listen,
      client: facts.peer(),
      reason: detection.reason,
    });
    return false;
  }
  facts.protocol = detection.protocol;
  if (detection.protocol === "tls") {
    facts.sni = detection.sni;
    facts.alpn = detection.alpn;
  }
  return true;
}

/**
 * Acts on the flow's outcome for a whole connection other than a relay to a pool
 * (l4-proxy.ts): terminate its TLS, or close it with a line saying why.
 */
function route(
  o: Exclude<Outcome, { kind: "proxy" }>,
  client: TcpConn,
  plan: ListenerPlan,
  facts: AcceptedFacts,
  deps: ConnectionDeps,
): Promise<void> | undefined {
  const { log } = deps;
  const listen = plan.config.address.raw;
  const what = facts.protocol === "tls" ? `tls sni=${facts.sni ?? "(none)"}` : "raw tcp";
  switch (o.kind) {
    case "terminate":
      if (facts.protocol !== "tls") {
        limited(log).warn("connection closed: terminate needs a TLS client", "listener", {
          listener: listen,
          client: facts.peer(),
          for: what,
        });
        return;
      }
      return deps.hopsOf(plan.gen).forward(
        o.step,
        plan.gen.certificatesFor(o.step.tls),
        client,
        { plan, client: facts.client(), local: facts.local(), facts },
        {
          connectMs: plan.gen.config.timeouts.connectMs,
          idleMs: plan.gen.config.timeouts.idleMs,
          counters: { upstream() {}, downstream() {} },
          policy: plan.gen.tlsPolicyFor(),
        },
      );
    case "respond":
      limited(log).warn("connection closed: respond needs HTTP", "listener", {
        listener: listen,
        client: facts.peer(),
        for: what,
      });
      return;
    case "abort":
      log.debug("connection aborted by the flow", { listener: listen, client: facts.peer(), for: what });
      return;
    case "limited":
      log.debug("connection closed: rate limit", { listener: listen, client: facts.peer(), for: what });
      return;
    case "none":
      limited(log).warn("connection closed: no route", "listener", {
        listener: listen,
        client: facts.peer(),
        for: what,
      });
      return;
  }
}

/** A decrypted connection out of a terminate step's hop: its flow runs per request. */
export async function handleDecrypted(
  step: TerminateStep,
  conn: TcpConn,
  origin: HopOrigin,
  deps: ConnectionDeps,
): Promise<void> {
  const open: OpenClient = { conn, slot: -1 };
  deps.clients.add(open);
  try {
    await serveRequests(conn, step.flow, origin, deps);
  } finally {
    conn.close();
    deps.clients.delete(open);
  }
}

async function detect(client: ReplayConn): Promise<Detection> {
  const out = await peek(client, detectProtocol, MAX_DETECT_BYTES, DETECT_TIMEOUT_MS);
  if (out.kind === "decided") return out.value;
  if (out.kind === "too-big") return { protocol: "invalid", reason: "no decision within the size bound" };
  return { protocol: "other" };
}

/** A connection accepted on a listener of `plan`: its requests come from the client its facts name. */
function originOf(plan: ListenerPlan, facts: AcceptedFacts): HopOrigin {
  return { plan, facts, client: facts.client(), local: facts.local() };
}

/** The connection's requests, each decided by `flow`, served by the HTTP engine. */
function serveRequests(conn: TcpConn, flow: CompiledFlow, origin: HopOrigin, deps: ConnectionDeps): Promise<void> {
  const { plan, facts, client, local } = origin;
  const gen = plan.gen;
  const tls = facts.protocol === "tls";
  // Registered once per connection, not per request (a map update per request was a
  // measurable share of the L7 path).
  const state: HttpKeepAlive = { conn, gen, slot: -1, retire: () => {} };
  deps.httpConns.add(state);
  return serveHttp1(conn, {
    client,
    local,
    proto: tls ? "https" : "http",
    decide: withAcmeHttp(
      decider(flow, new ConnKeys(facts), (pool) => gen.httpRoute(pool), tls ? 421 : 404),
      tls ? undefined : deps.acmeHttp,
    ),
    upstreamMs: gen.config.timeouts.upstreamMs,
    http: gen.config.http,
    idleMs: gen.config.timeouts.idleMs,
    requestHeadMs: gen.config.timeouts.requestHeadMs,
    keepAliveMs: gen.config.timeouts.keepAliveMs,
    bodyMs: gen.config.timeouts.bodyMs,
    partialHeads: deps.partialHeads,
    log: deps.log,
    clock: deps.clock,
    retired: () => deps.current() !== gen || deps.draining(),
    onRetire: (retire) => (state.retire = retire),
    onResponse: (r) => deps.counters.countResponse(r.route, r.pool, r.code),
    onRetrySkipped: (pool, reason) => deps.counters.countRetrySkipped(pool, reason),
    access: !deps.access ? null : {
      log: deps.access,
      site: { listener: plan.config.address.raw, tls: tls ? "tls" : null, sni: facts.sni },
    },
    h2: (client, ctx) => serveHttp2(client, ctx, { pool: (name) => gen.pools.get(name), upstreams: deps.h2Upstreams }),
  }).finally(() => deps.httpConns.delete(state));
}

/**
 * ACME HTTP-01 (RFC 8555 §8.3): /.well-known/acme-challenge/TOKEN is answered with the
 * key authorization before the flow runs, on every plain HTTP listener, so that a
 * redirecting or routing flow cannot keep the CA from it.
 */
function withAcmeHttp(
  decide: HttpContext["decide"],
  answer: ((path: string) => string | null) | undefined,
): HttpContext["decide"] {
  if (!answer) return decide;
  return (head, target): Decision | Promise<Decision> => {
    const body = target.path.startsWith("/.well-known/acme-challenge/") ? answer(target.path) : null;
    if (body === null) return decide(head, target);
    return { kind: "respond", status: 200, headers: [["content-type", "text/plain"]], body, response: [] };
  };
}
