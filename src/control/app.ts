/**
 * The control endpoint: health, status and metrics over HTTP. It only reads the
 * snapshot it is given, so it runs the same under Deno, Bun and `app.request()`.
 */

import { Hono, type MiddlewareHandler } from "hono";
import type { HttpPeer, SocketAddress } from "../runtime/types.ts";
import { adminRefusal, hostRefusal } from "./guard.ts";
import { formatMetrics } from "./metrics.ts";
import type { StatusSnapshot, TargetStatus } from "./snapshot.ts";
import { addAdminRoutes, type AdminOps } from "./admin-routes.ts";
import { addDashboard } from "./dashboard.ts";

const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `/status` body: the snapshot minus `bytes`, which only `/metrics` reports. */
export type StatusBody = Omit<StatusSnapshot, "bytes" | "detections" | "refused" | "requests">;

/**
 * Copies field by field rather than spreading, so whatever else the proxy's objects
 * carry at runtime never leaks into the response and the shape stays exact.
 */
function toTargetBody(t: TargetStatus): TargetStatus {
  return {
    target: t.target,
    address: t.address,
    healthy: t.healthy,
    latencyMs: t.latencyMs,
    activeConnections: t.activeConnections,
    ...(t.maxconn !== undefined ? { maxconn: t.maxconn } : {}),
    totalConnections: t.totalConnections,
    ...(t.requests !== undefined ? { requests: t.requests, errors: t.errors ?? 0 } : {}),
    lastError: t.lastError,
    ...(t.ejected ? { ejected: { reason: t.ejected.reason, until: t.ejected.until, count: t.ejected.count } } : {}),
    ...(t.ejections ? { ejections: { ...t.ejections } } : {}),
    ...(t.srv ? { srv: { name: t.srv.name, priority: t.srv.priority } } : {}),
    ...(t.etcd ? { etcd: { ...t.etcd } } : {}),
  };
}

function toStatusBody(s: StatusSnapshot): StatusBody {
  const pools: StatusBody["pools"] = {};
  for (const [name, pool] of Object.entries(s.pools)) {
    pools[name] = {
      strategy: pool.strategy,
      targets: pool.targets.map(toTargetBody),
      fallback: pool.fallback.map(toTargetBody),
      ...(pool.queue
        ? {
          queue: {
            length: pool.queue.length,
            maxqueue: pool.queue.maxqueue,
            timeoutMs: pool.queue.timeoutMs,
            rejected: { full: pool.queue.rejected.full, timeout: pool.queue.rejected.timeout },
          },
        }
        : {}),
    };
  }
  return {
    version: s.version,
    runtime: s.runtime,
    uptimeSeconds: s.uptimeSeconds,
    config: { generation: s.config.generation, loadedAt: s.config.loadedAt },
    listeners: s.listeners.map(({ listen, protocol, address, flow }) => ({ listen, protocol, address, flow })),
    pools,
    workers: s.workers.map(({ worker, pid, connections, open, datagrams, silent }) => ({
      worker,
      pid,
      connections,
      open,
      ...(datagrams !== undefined ? { datagrams } : {}),
      ...(silent ? { silent } : {}),
    })),
    ...(s.certificates
      ? {
        certificates: s.certificates.map(({ name, state, notAfter, expiresInSeconds, lastError }) => ({
          name,
          state,
          notAfter,
          expiresInSeconds,
          lastError,
        })),
      }
      : {}),
  };
}

/**
 * What a reload came to: the new generation, or every reason it was refused (the
 * running config then stays).
 *
 * @example
 * ```ts
 * import type { ReloadOutcome } from "./mod.ts";
 * const outcome: ReloadOutcome = await vane.reload(next);
 * console.log(outcome.ok ? `generation ${outcome.generation}` : outcome.errors.join("; "));
 * ```
 */
export type ReloadOutcome = { ok: true; generation: number; loadedAt: string } | { ok: false; errors: string[] };

/**
 * What `vane upgrade` came to: the new process (`pid`) serves and this one (`from`)
 * drains; or it was `refused` (one is under way, vane is stopping, the ports cannot
 * be shared here) or `failed` (the new process did not come up; this one serves on).
 */
export type UpgradeOutcome =
  | { ok: true; pid: number; from: number }
  | { ok: false; reason: "refused" | "failed"; errors: string[] };

export interface ControlDeps {
  snapshot: () => StatusSnapshot | Promise<StatusSnapshot>;
  /** The admin token now in force (it can change with a reload), or null for none. */
  token?: () => string | null;
  /** Reloads the config from its source; null when there is none (no config file). */
  reload?: (() => Promise<ReloadOutcome>) | null;
  /** Starts `vane upgrade`; null when this vane cannot (it was not started by the vane executable). */
  upgrade?: (() => Promise<UpgradeOutcome>) | null;
  /**
   * The address the endpoint is bound to: requests must name it in their Host (see
   * guard.ts). Absent or null: no Host check (an app not served on a socket).
   */
  address?: () => SocketAddress | null;
  /** The admin API and /events (control/admin-routes.ts); absent: not served. */
  admin?: AdminOps;
}

/**
 * What `app.fetch(req, peer)` is given beside the request: the peer's address (from
 * the runtime's server), which admin calls without a token need to be from loopback.
 */
export type ControlEnv = { Bindings: Partial<HttpPeer> };

/** Compares without an early exit, so response timing does not reveal the token's prefix. */
function sameToken(given: string, want: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(want);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

/**
 * Admin calls (any method but GET and HEAD, on any path) change the proxy: with a
 * token configured, only its holder may; without, only loopback, and no other site's page.
 */
function adminGate(token: ControlDeps["token"]): MiddlewareHandler<ControlEnv> {
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    const want = token?.() ?? null;
    if (want !== null) {
      const auth = c.req.header("authorization") ?? "";
      const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!sameToken(given, want)) {
        return c.json({ ok: false, errors: ["an admin token is required: Authorization: Bearer TOKEN"] }, 401, {
          "WWW-Authenticate": 'Bearer realm="vane"',
        });
      }
      return await next();
    }
    const refusal = adminRefusal(c.env?.remote ?? null, c.req.header("origin"), c.req.header("host"));
    if (refusal) return c.json({ ok: false, errors: [refusal] }, 403);
    await next();
  };
}

export function createControlApp(deps: ControlDeps | ControlDeps["snapshot"]): Hono<ControlEnv> {
  const { snapshot, token, reload, upgrade, address, admin } = typeof deps === "function"
    ? { snapshot: deps } as ControlDeps
    : deps;
  const app = new Hono<ControlEnv>();

  // Every request names the endpoint by its address (DNS rebinding). /healthz says
  // nothing but "ok", so load balancers may keep asking for it by name.
  app.use("*", async (c, next) => {
    const bound = address?.() ?? null;
    if (bound && c.req.path !== "/healthz") {
      const refusal = hostRefusal(c.req.header("host"), bound);
      if (refusal) return c.text(`${refusal}\n`, 421);
    }
    await next();
  });

  app.use("*", adminGate(token));

  // The explicit 200 makes Hono set the content type itself; its bare `c.text()` falls
  // back to `new Response(text)`, whose headers Bun leaves empty until it serves them.
  app.get("/healthz", (c) => c.text("ok", 200));
  app.get("/status", async (c) => c.json(toStatusBody(await snapshot())));
  app.get(
    "/metrics",
    async (c) => c.body(formatMetrics(await snapshot()), 200, { "Content-Type": METRICS_CONTENT_TYPE }),
  );

  app.post("/reload", async (c) => {
    if (!reload) {
      return c.json({ ok: false, errors: ["vane was started without a config file; nothing to reload"] }, 409);
    }
    const outcome = await reload();
    return c.json(outcome, outcome.ok ? 200 : 422);
  });
  app.all("/reload", (c) => c.text("method not allowed\n", 405, { Allow: "POST" }));

  // Answers once the new process serves (or did not come up): `vane upgrade` waits on it.
  app.post("/upgrade", async (c) => {
    if (!upgrade) {
      return c.json(
        { ok: false, reason: "refused", errors: ["this vane was not started by the vane executable"] },
        409,
      );
    }
    const outcome = await upgrade();
    return c.json(outcome, outcome.ok ? 200 : outcome.reason === "refused" ? 409 : 500);
  });
  app.all("/upgrade", (c) => c.text("method not allowed\n", 405, { Allow: "POST" }));

  if (admin) addAdminRoutes(app, admin, () => (token?.() ?? null) !== null);
  // The page reads /pools and /events, which only the admin API serves.
  if (admin) addDashboard(app);

  // Hono answers HEAD from the GET handlers; any other method on these paths is a
  // client mistake worth telling apart from a typo in the path.
  for (const path of [...(admin ? ["/"] : []), "/healthz", "/status", "/metrics"]) {
    app.all(path, (c) => c.text("method not allowed\n", 405, { Allow: "GET, HEAD" }));
  }

  app.notFound((c) => c.text("not found\n", 404));

  return app;
}
