/**
 * The control endpoint: health, status and metrics over HTTP. It only reads the
 * snapshot it is given, so it runs the same under Deno, Bun and `app.request()`.
 */

import { Hono } from "hono";
import { formatMetrics } from "./metrics.ts";
import type { StatusSnapshot, TargetStatus } from "./snapshot.ts";

const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `/status` body: the snapshot minus `bytes`, which only `/metrics` reports. */
export type StatusBody = Omit<StatusSnapshot, "bytes" | "detections" | "requests">;

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
    totalConnections: t.totalConnections,
    lastError: t.lastError,
  };
}

function toStatusBody(s: StatusSnapshot): StatusBody {
  const pools: StatusBody["pools"] = {};
  for (const [name, pool] of Object.entries(s.pools)) {
    pools[name] = {
      strategy: pool.strategy,
      targets: pool.targets.map(toTargetBody),
      fallback: pool.fallback.map(toTargetBody),
    };
  }
  return {
    version: s.version,
    runtime: s.runtime,
    uptimeSeconds: s.uptimeSeconds,
    listeners: s.listeners.map(({ listen, protocol, routes }) => ({
      listen,
      protocol,
      routes: routes.map(({ match, pool }) => ({ match, pool })),
    })),
    pools,
  };
}

export function createControlApp(snapshot: () => StatusSnapshot): Hono {
  const app = new Hono();

  // The explicit 200 makes Hono set the content type itself; its bare `c.text()` falls
  // back to `new Response(text)`, whose headers Bun leaves empty until it serves them.
  app.get("/healthz", (c) => c.text("ok", 200));
  app.get("/status", (c) => c.json(toStatusBody(snapshot())));
  app.get("/metrics", (c) =>
    c.body(formatMetrics(snapshot()), 200, { "Content-Type": METRICS_CONTENT_TYPE }));

  // Hono answers HEAD from the GET handlers; any other method on these paths is a
  // client mistake worth telling apart from a typo in the path.
  for (const path of ["/healthz", "/status", "/metrics"]) {
    app.all(path, (c) => c.text("method not allowed\n", 405, { Allow: "GET, HEAD" }));
  }

  app.notFound((c) => c.text("not found\n", 404));

  return app;
}
