/**
 * Turns a pool into what the HTTP engine needs: a way to lease a connection to one of
 * the pool's targets per request (the strategy picks each time; an idle keep-alive
 * connection to the picked target is reused) and to give it back; and the way the
 * engine tells the health registry how a target answered (passive health).
 */
import type { Runtime, TcpConn } from "../runtime/types.ts";
import type { Pool } from "../balance/pool.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import { connectFromTake, type ConnectOutcome } from "../forward/connect.ts";
import type { HttpRoute, UpstreamLease } from "./types.ts";
import { proxyHeaderFor } from "../forward/proxy-header.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { asReplay } from "../forward/replay-conn.ts";
import { formatAddress } from "../config/address.ts";
import type { EndpointSpec } from "../config/model.ts";
import { errorText, type Failure, failure } from "../errors/mod.ts";
import type { HeaderEdit } from "./headers.ts";
import { requestKey } from "./request-key.ts";
import { avoided, leased, RetryControl } from "./retry.ts";

export interface PoolRouteDeps {
  rt: Runtime;
  registry: HealthRegistry;
  upstreams: UpstreamPool;
  connectMs: number;
  /**
   * For pools with `protocol: h2c`: a connection-like object that carries one HTTP/1.1
   * request as an HTTP/2 stream to one of the pool's targets (src/http2/h1-bridge.ts).
   * Absent: such a pool cannot take HTTP/1.1 requests.
   */
  h2c?: (pool: Pool, exclude?: ReadonlySet<TargetHealth>) => BridgedConn;
}

/** The HTTP/1.1-over-HTTP/2 connection of an h2c pool's lease: the target its stream went to, once picked. */
export interface BridgedConn extends TcpConn {
  readonly entry: TargetHealth | null;
}

/** A lease that knows its target's health entry, to count it back in. */
class PoolLease implements UpstreamLease {
  constructor(
    readonly conn: TcpConn,
    /** Idle connections are kept per pool, role and target, as health is: the entry's id. */
    readonly key: string,
    readonly reused: boolean,
    readonly entry: TargetHealth,
    readonly responseEdit: HeaderEdit | undefined,
  ) {}

  counted(code: number): void {
    this.entry.requests++;
    if (code >= 500) this.entry.errors++;
  }

  /** Asked only for an HTTP/1.0 request without Host: not made per request. */
  get authority(): string {
    return hostField(this.entry.spec, this.entry.address);
  }
}

/**
 * A target as a Host field names it, as nginx's `$proxy_host` does: the name or IP
 * the config gave, with the port unless it is 80. A node of the registry is not a
 * host name: it is named by the address connected to (`IP:PORT`).
 */
export function hostField(spec: EndpointSpec, address: string | null): string {
  if (spec.kind === "node") return address ?? spec.node;
  const host = formatAddress(spec.host, spec.port);
  return spec.port === 80 ? host.slice(0, host.lastIndexOf(":")) : host;
}

/** The HttpRoute of one pool; the route's name (for metrics) is the pool's. */
export function poolRoute(pool: Pool, deps: PoolRouteDeps): HttpRoute {
  // A PROXY header speaks for one client, so such connections are never shared
  // (HAProxy keeps them private the same way): no reuse, a header on each.
  const reuse = (e: TargetHealth) => pool.config.sendProxy ? null : deps.upstreams.take(e.id);
  const connector = { rt: deps.rt, registry: deps.registry, connectMs: deps.connectMs, reuse };
  const stickyCookie = stickyCookieOf(pool);
  const lease = (conn: TcpConn, entry: TargetHealth, reused: boolean, key: string | undefined): PoolLease => {
    if (!reused) entry.totalConnections++;
    // The engine reads through a ReplayConn; the pool must get that same one back.
    return new PoolLease(asReplay(conn), entry.id, reused, entry, stickyCookie?.(entry, key));
  };
  const leaseOf = (outcome: ConnectOutcome, key?: string): PoolLease | Failure => {
    if (!outcome.ok) return outcome;
    // The slot the pick took on the target (Pool.take) is the lease's until release.
    const { conn, entry, reused } = outcome.upstream;
    return lease(conn, entry, reused, key);
  };
  // Only a keyed strategy (hash, sticky) reads anything more of the request.
  const keyOf = pool.keyOn === null ? null : requestKey(pool.keyOn);
  if (pool.config.protocol !== "http1") return h2Route(pool, deps.h2c, deps.registry);
  return {
    name: pool.name,
    pool: pool.name,
    retryOn: pool.config.retryOn,
    retry: new RetryControl(pool.config.retry, () => leased(pool.entries())),
    protocol: pool.config.protocol,
    acquire(peer, avoid, head) {
      const exclude = avoid
        ? avoided((avoid as readonly PoolLease[]).map((l) => l.entry), pool.primary.length + pool.fallback.length)
        : undefined;
      const key = keyOf === null ? undefined : keyOf(peer.client, head);
      const first = pool.take(exclude, key);
      // The usual keep-alive request: an idle connection to the pick, leased at once
      // (connectToPool would say so in two objects more per request).
      if (first !== null && !(first instanceof Promise) && !("queue" in first)) {
        const idle = reuse(first.entry);
        if (idle !== null) return lease(idle, first.entry, true, key);
      }
      const outcome = connectFromTake(pool, connector, first, exclude, key);
      if (!(outcome instanceof Promise)) return leaseOf(outcome, key);
      const sendProxy = pool.config.sendProxy;
      if (!sendProxy) return key === undefined ? outcome.then(leaseOf) : outcome.then((o) => leaseOf(o, key));
      return outcome.then(async (o) => {
        if (!o.ok) return o;
        try {
          await o.upstream.conn.write(proxyHeaderFor(sendProxy, peer.client, peer.local));
        } catch (err) {
          o.upstream.conn.close();
          pool.give(o.upstream.entry);
          return failure(`${o.upstream.entry.key}: ${errorText(err)}`);
        }
        return leaseOf(o, key);
      });
    },
    release(lease, reusable) {
      pool.give((lease as PoolLease).entry);
      if (reusable && !pool.config.sendProxy) deps.upstreams.put(lease.key, lease.conn);
      else lease.conn.close();
    },
    answered(lease, status) {
      const entry = (lease as PoolLease).entry;
      // Per response: only a target in a run of failures, or judged by outlier detection, has anything to do.
      if (entry.passiveFailures > 0 || entry.outlier !== null) deps.registry.answered(entry, status);
    },
    faulted(lease, kind, error) {
      deps.registry.passiveFailure((lease as PoolLease).entry, error, kind);
    },
  };
}

/**
 * For a sticky pool: the Set-Cookie edit a lease on `entry` carries when the request's
 * cookie (`key`) did not name it (a new client, or its target left), made once per
 * target. The value is the target's opaque id, never its address.
 */
function stickyCookieOf(pool: Pool): ((entry: TargetHealth, key: string | undefined) => HeaderEdit | undefined) | null {
  const sticky = pool.sticky;
  if (sticky === null) return null;
  const edits = new Map<TargetHealth, HeaderEdit>();
  return (entry, key) => {
    const id = sticky.idOf(entry.key);
    if (key === id) return undefined;
    let edit = edits.get(entry);
    if (edit === undefined) {
      edit = { op: "add", name: "Set-Cookie", value: `${sticky.cookie}=${id}; Path=/; HttpOnly; SameSite=Lax` };
      edits.set(entry, edit);
    }
    return edit;
  };
}

/** Why an HTTP/1.1 request cannot reach an h2c pool when nothing bridges it. */
const H2C_ONLY = "the pool speaks h2c and this vane has no bridge from HTTP/1.1 to it";

/**
 * An h2c pool's route. HTTP/2 clients' requests go to it as HTTP/2 streams (the HTTP/2
 * session forwards them, src/http2/forward.ts); an HTTP/1.1 request gets a lease whose
 * "connection" opens one HTTP/2 stream on a shared connection (the target is picked,
 * and health is told of connect failures, where the stream is opened).
 */
function h2Route(pool: Pool, bridge: PoolRouteDeps["h2c"], registry: HealthRegistry): HttpRoute {
  return {
    name: pool.name,
    pool: pool.name,
    retryOn: pool.config.retryOn,
    // Retries of bridged requests are budgeted and spaced as an HTTP/1.1 pool's are.
    retry: new RetryControl(pool.config.retry, () => leased(pool.entries())),
    protocol: pool.config.protocol,
    acquire: (_peer, avoid) => {
      if (bridge === undefined) return failure(H2C_ONLY);
      // A retry goes to a target not tried yet: those the earlier streams went to.
      const tried = avoid === undefined ? [] : (avoid as readonly BridgedLease[]).flatMap((l) => l.bridged.entry ?? []);
      const exclude = tried.length === 0 ? undefined : avoided(tried, pool.primary.length + pool.fallback.length);
      return new BridgedLease(bridge(pool, exclude), pool.name);
    },
    release: (lease) => lease.conn.close(),
    // Connect failures and resets are counted where the stream met them (upstreams.ts);
    // a timeout is the engine's own verdict (the stream then looks reset by vane).
    faulted(lease, kind, error) {
      const entry = (lease as BridgedLease).bridged.entry;
      if (kind !== "timeout" || entry === null) return;
      entry.requests++;
      entry.errors++;
      registry.passiveFailure(entry, error, kind);
    },
  };
}

/** An h2c pool's lease: one HTTP/1.1 request carried as a stream (src/http2/h1-bridge.ts). */
class BridgedLease implements UpstreamLease {
  readonly conn: TcpConn;
  readonly key: string;
  readonly reused = false;
  constructor(readonly bridged: BridgedConn, readonly authority: string) {
    this.conn = asReplay(bridged);
    this.key = `h2c|${authority}`;
  }
}
