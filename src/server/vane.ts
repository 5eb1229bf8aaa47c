/**
 * One running vane: listeners, generations of config, the health registry and
 * checker, the status endpoint. `start()` resolves names and checks every target
 * before any listener accepts; `reload()` swaps in a new config without dropping a
 * connection; `stop()` stops accepting and lets open connections finish within the
 * grace.
 *
 * This is the composition root; each step lives in its own file of src/server/:
 * context.ts (the state the parts share), loader.ts (config -> generation),
 * checks.ts (health), listeners.ts (sockets), status.ts (control endpoint),
 * reload.ts (install and reload), stop.ts (drain), file-limit.ts (max-conns).
 */
import type { Config } from "../config/model.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { StopOptions, Vane, VaneOptions } from "./types.ts";
import { VaneContext } from "./context.ts";
import { applyFileLimit } from "./file-limit.ts";
import { GenerationLoader } from "./loader.ts";
import { HealthChecks } from "./checks.ts";
import { FleetDrains } from "./fleet-drains.ts";
import { Listeners } from "./listeners.ts";
import { StatusEndpoint } from "./status.ts";
import { install, Reloader, type VaneParts } from "./reload.ts";
import { stopVane } from "./stop.ts";
import { reopenAccessLog } from "./access.ts";
import { AdminService } from "./admin.ts";
import { applyOverrides } from "../control/runtime-state.ts";

export type { BoundListener, ClusterHooks, StopOptions, Vane, VaneOptions } from "./types.ts";

/**
 * Builds a vane on the given runtime without starting it: nothing listens until
 * `start()`. `startVane` in mod.ts does both on the current runtime.
 *
 * @param initial The config for the first generation.
 * @param rt The runtime adapter (`runtime()` from src/runtime/mod.ts picks Deno or Bun).
 * @param log Where its log lines go.
 * @param options Plugin functions, the reload source, cluster hooks, the admin token.
 * @returns The vane; its `start()` rejects when a listener cannot bind (the others are closed again).
 *
 * @example
 * ```ts
 * import { createVane, silentLogger } from "./mod.ts";
 * import { runtime } from "./src/runtime/mod.ts";
 * const vane = createVane(config, runtime(), silentLogger);
 * await vane.start();
 * await vane.stop(0);
 * ```
 */
export function createVane(initial: Config, rt: Runtime, log: Logger, options: VaneOptions = {}): Vane {
  const ctx = new VaneContext(initial, rt, log, options);
  options.cluster?.acme?.(ctx.acme);
  const loader = new GenerationLoader(ctx);
  const listeners = new Listeners(ctx);
  const fleet = new FleetDrains(ctx);
  const status: StatusEndpoint = new StatusEndpoint(ctx, listeners, {
    token: () => loader.adminToken(ctx.gen),
    reload: options.source ? () => reloader.reloadFromSource() : null,
    upgrade: options.upgrade ?? null,
    admin: new AdminService(ctx, {
      snapshot: () => status.fullSnapshot(),
      reload: (base) => reloader.reload(base),
      fleet,
    }),
  });
  const parts: VaneParts = { ctx, loader, checks: new HealthChecks(ctx), fleet, listeners, status };
  const reloader = new Reloader(parts);

  async function start(): Promise<void> {
    applyFileLimit(ctx);
    const first = await loader.load(initial);
    // Resolve and check everything once, so the first connection already has a verdict.
    await parts.checks.start(first);
    await fleet.start(first);
    try {
      await install(first, parts);
      ctx.announced = first;
    } catch (err) {
      // A listener that cannot bind must not leave the others half-started.
      await stop(0);
      throw err;
    }
  }

  function stop(graceMs = ctx.config.timeouts.graceMs, stopOptions: StopOptions = {}): Promise<void> {
    return stopVane(parts, graceMs, stopOptions);
  }

  return {
    start,
    stop,
    stopAccepting: () => listeners.stopAccepting(),
    reload: (config) => reloader.reload(config),
    reloadFromSource: () => reloader.reloadFromSource(),
    reopenLogs: () => reopenAccessLog(ctx.access, log),
    get listeners() {
      return listeners.bound.map((b) => ({ config: b.plan.config, addr: b.addr }));
    },
    get statusAddr() {
      return status.addr;
    },
    get generation() {
      return ctx.gen?.id ?? 0;
    },
    get config() {
      return ctx.config;
    },
    snapshot: () => status.snapshot(),
    registry: ctx.registry,
    events: ctx.events,
    get overrides() {
      return ctx.runtime.overrides;
    },
    setOverrides(overrides) {
      ctx.runtime = { ...ctx.runtime, overrides };
      if (ctx.gen) applyOverrides(ctx.gen.entries(), overrides);
    },
  };
}
