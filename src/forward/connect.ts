/**
 * Connects a client to a pool: pick a target, connect (trying each of its addresses),
 * and on failure mark it down and go on to the next candidate, so the client sees no
 * error while any target is alive. The number of attempts is bounded by the pool size.
 */
import type { Runtime, SocketAddress, TcpConn } from "../runtime/types.ts";
import type { EndpointSpec } from "../config/model.ts";
import type { Pick, Pool, QueueRefusal, Taken } from "../balance/pool.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import { errorTextWithCode, type Failure } from "../errors/mod.ts";
import { localErrorCode } from "../health/local-error.ts";
import { formatAddress } from "../config/address.ts";

/**
 * A connection to one address of a pool's target: plain TCP, or TLS when the pool says
 * `tls` (SNI: the pool's server-name, else the target's host name; none for an IP).
 * `alpn`: protocols to offer (HTTP/2 pools offer h2).
 */
export function dialTarget(
  rt: Runtime,
  pool: Pool,
  target: { spec: EndpointSpec; addr: SocketAddress },
  timeoutMs: number,
  alpn?: string[],
): Promise<TcpConn> {
  const tls = pool.tls;
  if (tls === null) return rt.connectTcp(target.addr, timeoutMs);
  const spec = target.spec;
  return rt.connectTls(target.addr, {
    servername: tls.serverName ?? (spec.kind === "dns" ? spec.host : null),
    verify: tls.verify,
    ...(alpn ? { alpn } : {}),
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
  }, timeoutMs);
}

export interface Upstream {
  conn: TcpConn;
  entry: TargetHealth;
  address: string;
  /** Taken from an idle keep-alive pool rather than connected now. */
  reused: boolean;
}

/**
 * A connection and the slot it holds on its target (Pool.take): the caller gives the
 * slot back with `pool.give(upstream.entry)` when done. A failure holds none; `queue`
 * says the pool's maxconn queue refused it (full or timed out).
 */
export type ConnectOutcome =
  | { ok: true; upstream: Upstream; attempts: number }
  | (Failure & { attempts: number; queue?: "full" | "timeout" });

const MAX_ATTEMPTS = 16;

/** How connections to a pool's targets are made; made once per pool route (HTTP) or connection (L4). */
export interface Connector {
  readonly rt: Runtime;
  /** Hears of each connect's success or failure (passive health). */
  readonly registry: HealthRegistry;
  readonly connectMs: number;
  /**
   * An idle connection to the picked target, if one is kept (HTTP keep-alive), so the
   * strategy still chooses per request and only the connect is saved. @default none
   */
  readonly reuse?: (entry: TargetHealth) => TcpConn | null;
}

/**
 * A connection to one of the pool's targets. An idle one (`connector.reuse`) comes back
 * at once, without a promise: the common case of a keep-alive HTTP request.
 */
export function connectToPool(
  pool: Pool,
  connector: Connector,
  /** Targets not to pick (an HTTP request retried elsewhere after its target failed it). */
  exclude?: ReadonlySet<TargetHealth>,
  /** The request's key for a keyed strategy (Pool.keyOn): retries rank the others by it too. */
  key?: string,
): ConnectOutcome | Promise<ConnectOutcome> {
  return connectFromTake(pool, connector, pool.take(exclude, key), exclude, key);
}

/**
 * connectToPool from `pool.take(exclude, key)`'s answer, which the caller asked for
 * (an HTTP route first looks for an idle connection to the pick itself).
 */
export function connectFromTake(
  pool: Pool,
  connector: Connector,
  first: Taken | Promise<Taken>,
  exclude: ReadonlySet<TargetHealth> | undefined,
  key: string | undefined,
): ConnectOutcome | Promise<ConnectOutcome> {
  if (first instanceof Promise) return first.then((f) => connectTaken(pool, connector, f, exclude, key));
  return connectTaken(pool, connector, first, exclude, key);
}

/** Goes on from the first pick (a slot taken on it), or says why there is none. */
function connectTaken(
  pool: Pool,
  connector: Connector,
  first: Taken,
  exclude: ReadonlySet<TargetHealth> | undefined,
  key: string | undefined,
): ConnectOutcome | Promise<ConnectOutcome> {
  if (first === null) return { ok: false, reason: exclude ? NONE_OTHER : NONE_ALIVE, attempts: 0 };
  if ("queue" in first) return queueRefused(first, 0);
  const idle = connector.reuse?.(first.entry);
  if (idle) return reused(first, idle, 1);
  return connectFrom(pool, connector, first, exclude, key);
}

function queueRefused(refusal: QueueRefusal, attempts: number): ConnectOutcome {
  return { ok: false, reason: `pool queue: ${refusal.reason}`, queue: refusal.queue, attempts };
}

const NONE_ALIVE = "no target is alive in the pool or its fallback";
const NONE_OTHER = "no other target is alive in the pool or its fallback";

function reused(pick: Pick, conn: TcpConn, attempts: number): ConnectOutcome {
  const address = pick.entry.address ?? pick.entry.key;
  return { ok: true, upstream: { conn, entry: pick.entry, address, reused: true }, attempts };
}

/**
 * Connects to `first`, then to further picks while targets fail, each marked down. The
 * slot of each pick that failed is given back before the next is taken.
 */
async function connectFrom(
  pool: Pool,
  connector: Connector,
  first: Pick,
  exclude: ReadonlySet<TargetHealth> | undefined,
  key: string | undefined,
): Promise<ConnectOutcome> {
  const { registry, reuse } = connector;
  // Made at the first failure: most connections never need it.
  let failed: Set<TargetHealth> | null = exclude ? new Set(exclude) : null;
  let attempts = 0;
  let lastError = "";
  // Without `retry-on: conn-failure`, a failed connect is the client's answer (HAProxy's `retry-on none`).
  const limit = pool.config.retryOn.includes("conn-failure")
    ? Math.min(MAX_ATTEMPTS, pool.primary.length + pool.fallback.length)
    : 1;
  let pick: Pick = first;
  for (;;) {
    attempts++;
    const idle = pick === first ? null : reuse?.(pick.entry);
    if (idle) return reused(pick, idle, attempts);
    const entry = pick.entry;
    const tried = await dialPick(pool, connector, pick);
    if (tried.ok) return { ok: true, upstream: tried.upstream, attempts };
    pool.give(entry);
    // This host is short of descriptors or ports: not the target's fault, and the next target would fare no better.
    if (tried.local) {
      registry.localFailure(entry, tried.error);
      return { ok: false, reason: `${entry.key}: ${tried.error}`, attempts };
    }
    (failed ??= new Set()).add(entry);
    lastError = `${entry.key}: ${tried.error}`;
    registry.passiveFailure(entry, tried.error);
    if (attempts >= limit) break;
    const next = await pool.take(failed, key);
    if (next === null) break;
    if ("queue" in next) return queueRefused(next, attempts);
    pick = next;
  }
  return { ok: false, reason: `all attempts failed, last: ${lastError}`, attempts };
}

/** A connection to one of the pick's addresses (in order), or the last error and whether it was this host's. */
async function dialPick(
  pool: Pool,
  connector: Connector,
  pick: Pick,
): Promise<{ ok: true; upstream: Upstream } | { ok: false; error: string; local: boolean }> {
  const { rt, registry, connectMs } = connector;
  const entry = pick.entry;
  const port = entry.spec.port;
  let error = "";
  for (const host of pick.addresses) {
    const started = performance.now();
    try {
      const conn = await dialTarget(rt, pool, { spec: entry.spec, addr: { hostname: host, port } }, connectMs);
      entry.observeLatency(performance.now() - started);
      registry.passiveSuccess(entry);
      const address = entry.address = formatAddress(host, port);
      return { ok: true, upstream: { conn, entry, address, reused: false } };
    } catch (err) {
      error = errorTextWithCode(err);
      if (localErrorCode(err) !== null) return { ok: false, error, local: true };
    }
  }
  return { ok: false, error, local: false };
}
