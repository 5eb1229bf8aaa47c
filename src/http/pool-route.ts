/**
 * Turns a pool into what the HTTP engine needs: a way to lease a connection to one of
 * the pool's targets per request (the strategy picks each time; an idle keep-alive
 * connection to the picked target is reused) and to give it back.
 */
import type { Runtime } from "../runtime/types.ts";
import type { Pool } from "../balance/pool.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import { connectToPool } from "../forward/connect.ts";
import type { HttpRoute, UpstreamLease } from "./engine.ts";
import { proxyHeaderFor } from "../forward/proxy-header.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { asReplay } from "../forward/replay-conn.ts";

export interface PoolRouteDeps {
  rt: Runtime;
  registry: HealthRegistry;
  upstreams: UpstreamPool;
  connectTimeoutMs: number;
}

/** Idle connections are kept per pool and target, as health is. */
const keyOf = (e: TargetHealth) => `${e.pool}\u0000${e.role}\u0000${e.key}`;

/** The HttpRoute of one pool; the route's name (for metrics) is the pool's. */
export function poolRoute(pool: Pool, deps: PoolRouteDeps): HttpRoute {
  const leased = new WeakMap<UpstreamLease, TargetHealth>();
  return {
    name: pool.name,
    pool: pool.name,
    async acquire(peer) {
      // A PROXY header speaks for one client, so such connections are never shared
      // (HAProxy keeps them private the same way): no reuse, a header on each.
      const sendProxy = pool.config.sendProxy;
      const reuse = sendProxy ? undefined : (e: TargetHealth) => deps.upstreams.take(keyOf(e));
      const outcome = await connectToPool(deps.rt, pool, deps.registry, deps.connectTimeoutMs, reuse);
      if (!outcome.ok) return { error: outcome.reason };
      const { conn, entry, reused } = outcome.upstream;
      if (sendProxy) {
        try {
          await conn.write(proxyHeaderFor(sendProxy, peer.client, peer.local));
        } catch (err) {
          conn.close();
          return { error: `${entry.key}: ${err instanceof Error ? err.message : String(err)}` };
        }
      }
      entry.activeConnections++;
      if (!reused) entry.totalConnections++;
      // The engine reads through a ReplayConn; the pool must get that same one back.
      const lease: UpstreamLease = { conn: asReplay(conn), key: keyOf(entry), reused };
      leased.set(lease, entry);
      return lease;
    },
    release(lease, reusable) {
      const entry = leased.get(lease);
      if (entry) entry.activeConnections--;
      leased.delete(lease);
      if (reusable && !pool.config.sendProxy) deps.upstreams.put(lease.key, lease.conn);
      else lease.conn.close();
    },
  };
}
