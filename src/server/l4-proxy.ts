/**
 * L4 proxying of one accepted connection: connect to the pool (with vane's retries),
 * then relay both ways until both directions end, then the access record, the debug
 * line and the target's slot given back.
 *
 * What an idle connection keeps matters (10,000 idle ones, docs/benchmarks.md, "Idle
 * memory"): once the relay runs, no async function of vane's waits for it. The
 * connection lives in one ProxiedConnection, which is the relay's counters and hears
 * of its end itself, so the relay holds no promise, closure or suspended frame of
 * this path; the client's side is given back through `ClientRelease`.
 */
import type { Runtime, TcpConn } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import type { TrafficCounters } from "../telemetry/counters.ts";
import type { ListenerPlan } from "./generation.ts";
import type { Pool } from "../balance/pool.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import type { AcceptedFacts } from "../flow/conn-keys.ts";
import { connectToPool } from "../forward/connect.ts";
import { proxyHeaderFor } from "../forward/proxy-header.ts";
import { type RelayCounters, type RelayDone, type RelayResult, startRelay } from "../forward/tcp.ts";
import { errorText } from "../errors/mod.ts";
import { recordTcp } from "./access.ts";

/** What the L4 path needs of the connection's deps (server/connection.ts's ConnectionDeps). */
export interface L4Deps {
  rt: Runtime;
  log: Logger;
  registry: HealthRegistry;
  counters: TrafficCounters;
  access?: AccessLog | null;
}

/** The accepted connection's hold on the listener: closes the client and forgets it, once. */
export interface ClientRelease {
  release(): void;
}

/**
 * Proxies `client` to the pool named `poolName`. From the call on, this path releases
 * the client (`hold`), on every outcome; the promise settles when the connection is over
 * and never rejects (a failure is logged here, as handleConnection logs its own).
 */
export async function proxyConnection(
  hold: ClientRelease,
  client: TcpConn,
  plan: ListenerPlan,
  poolName: string,
  facts: AcceptedFacts,
  deps: L4Deps,
): Promise<void> {
  let session: ProxiedConnection | null = null;
  try {
    const pool = plan.gen.pools.get(poolName);
    if (!pool) return;
    const access = deps.access ?? null;
    const startedAt = access === null ? 0 : performance.now();
    // A hash pool keys a connection by its client's address (no header, cookie or path
    // here); a sticky one, with no cookie to read, gives each the least loaded target.
    const key = pool.keyOn !== null && pool.sticky === null ? facts.client().hostname : undefined;
    const connectMs = plan.gen.config.timeouts.connectMs;
    const outcome = await connectToPool(pool, { rt: deps.rt, registry: deps.registry, connectMs }, undefined, key);
    if (!outcome.ok) {
      limited(deps.log).error("connection closed: no target available", "pool", {
        pool: pool.name,
        client: facts.peer(),
        reason: outcome.reason,
      });
      if (access !== null) recordTcp(access, l4Site(plan, facts), l4Record(facts, pool, null, null, startedAt, null));
      return;
    }
    // The pick took a slot on the target (Pool.take): given back once the relay is over.
    const connectedMs = access === null ? null : Math.round((performance.now() - startedAt) * 1000) / 1000;
    const { conn, entry } = outcome.upstream;
    entry.totalConnections++;
    session = new ProxiedConnection(hold, client, conn, pool, entry, plan, facts, deps, startedAt, connectedMs);
    if (pool.config.sendProxy) await conn.write(proxyHeaderFor(pool.config.sendProxy, facts.client(), facts.local()));
    // Not awaited: this frame ends here; the promise start() gives settles as the relay ends.
    return session.start(plan.gen.config.timeouts.idleMs);
  } catch (err) {
    logFailure(deps.log, plan, facts, err);
    session?.abandon();
    session = null;
  } finally {
    if (session === null) hold.release();
  }
}

/** One proxied connection while its relay runs: the relay's counters, told of its end. */
class ProxiedConnection implements RelayCounters, RelayDone {
  #resolve: (() => void) | null = null;

  constructor(
    readonly hold: ClientRelease,
    readonly client: TcpConn,
    readonly conn: TcpConn,
    readonly pool: Pool,
    readonly entry: TargetHealth,
    readonly plan: ListenerPlan,
    readonly facts: AcceptedFacts,
    readonly deps: L4Deps,
    readonly startedAt: number,
    /** How long the connect took (ms), for the access record; null when there is none. */
    readonly connectMs: number | null,
  ) {}

  /** Starts the relay; the promise settles as it ends. */
  start(idleMs: number): Promise<void> {
    const ended = new Promise<void>((resolve) => (this.#resolve = resolve));
    startRelay(this.client, this.conn, idleMs, this, this);
    return ended;
  }

  upstream(n: number): void {
    this.deps.counters.upstreamBytes += n;
  }

  downstream(n: number): void {
    this.deps.counters.downstreamBytes += n;
  }

  // Called from the relay's copy loops, which have no one to throw to: a failure to
  // report is logged here, and the connection is released all the same.
  relayEnded(result: RelayResult): void {
    try {
      this.#report(result);
    } catch (err) {
      logFailure(this.deps.log, this.plan, this.facts, err);
    }
    this.abandon();
    this.hold.release();
    this.#resolve?.();
  }

  /** Gives the target's slot back and closes the upstream connection. */
  abandon(): void {
    this.pool.give(this.entry);
    this.conn.close();
  }

  #report(result: RelayResult): void {
    const { access, log } = this.deps;
    const { facts, pool, entry } = this;
    if (access) {
      const record = l4Record(facts, pool, entry.key, result, this.startedAt, this.connectMs);
      recordTcp(access, l4Site(this.plan, facts), record);
    }
    if (log.debugging !== false) {
      log.debug("connection done", {
        pool: pool.name,
        target: entry.key,
        client: facts.peer(),
        up: result.upstreamBytes,
        down: result.downstreamBytes,
        reason: result.reason,
      });
    }
  }
}

/** The line handleConnection writes for a connection that failed, written here for the L4 path's own failures. */
function logFailure(log: Logger, plan: ListenerPlan, facts: AcceptedFacts, err: unknown): void {
  limited(log).error("connection failed", "listener", {
    listener: plan.config.address.raw,
    client: facts.peer(),
    error: errorText(err),
  });
}

/** An L4 session's access record. */
function l4Record(
  facts: AcceptedFacts,
  pool: Pool,
  target: string | null,
  result: RelayResult | null,
  startedAt: number,
  connectMs: number | null,
) {
  return {
    client: facts.client(),
    pool: pool.name,
    target,
    bytesIn: result?.upstreamBytes ?? 0,
    bytesOut: result?.downstreamBytes ?? 0,
    startedAt,
    connectMs,
  };
}

/** An L4 session's listener and TLS (passthrough: the SNI the ClientHello named), for its access record. */
function l4Site(
  plan: ListenerPlan,
  facts: AcceptedFacts,
): { listener: string; tls: string | null; sni: string | null } {
  return { listener: plan.config.address.raw, tls: facts.protocol === "tls" ? "tls" : null, sni: facts.sni };
}
