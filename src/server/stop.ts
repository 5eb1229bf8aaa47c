/**
 * Stopping a vane: stop accepting, tell every HTTP connection its next answer is the
 * last, wait up to the grace for open connections to finish, then close what is left
 * and say the log lines a rate limit still holds.
 */
import type { VaneParts } from "./reload.ts";
import type { StopOptions } from "./types.ts";
import { limited } from "../telemetry/log-limit.ts";

/** How often the drain looks whether every client connection has gone. */
const DRAIN_POLL_MS = 50;

export async function stopVane(parts: VaneParts, graceMs: number, options: StopOptions = {}): Promise<void> {
  const { ctx, listeners, checks, status } = parts;
  const { log, clients } = ctx;
  ctx.draining = true;
  listeners.stopAccepting();
  // The process that took over binds the status port as soon as it is free.
  if (options.handover) await status.close();
  // Every HTTP answer from now says `Connection: close`; idle keep-alive connections
  // close within a second of their last answer (at once if they were quiet longer).
  for (const c of ctx.conns.httpConns.list()) c.retire();
  for (const h of ctx.hops.values()) await h.close();
  ctx.hops.clear();
  checks.stop();
  parts.fleet.stop();
  ctx.acme.stop();
  if (clients.size > 0 && graceMs > 0) {
    log.info("draining", { connections: clients.size, graceMs });
    const deadline = performance.now() + graceMs;
    while (clients.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(DRAIN_POLL_MS, deadline - performance.now())));
    }
  }
  if (clients.size > 0) log.warn("closing connections still open after grace", { connections: clients.size });
  for (const c of clients.list()) c.conn.close();
  clients.clear();
  ctx.upstreams.closeAll();
  ctx.h2Upstreams.closeAll();
  ctx.redisRates.close();
  listeners.closeAll();
  await status.close();
  // Repeats counted but not yet summed up are said now, not lost with the process.
  limited(log).flush();
  ctx.access?.close();
}
