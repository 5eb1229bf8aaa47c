/**
 * Putting a generation in service (at start and at each reload), and reloads: one at
 * a time, in the order asked; each builds and checks the next generation beside the
 * running one, then installs it. Any failure before the install leaves the running
 * config whole, and the outcome says why.
 */
import type { Config } from "../config/model.ts";
import type { ReloadOutcome } from "../control/app.ts";
import type { Generation } from "./generation.ts";
import type { VaneContext } from "./context.ts";
import type { GenerationLoader } from "./loader.ts";
import type { HealthChecks } from "./checks.ts";
import type { FleetDrains } from "./fleet-drains.ts";
import type { Listeners } from "./listeners.ts";
import type { StatusEndpoint } from "./status.ts";
import { errorText } from "../errors/mod.ts";
import { applyOverrides } from "../control/runtime-state.ts";
import { effectiveConfig } from "./effective-config.ts";

/** The parts of one running vane (server/vane.ts makes them). */
export interface VaneParts {
  ctx: VaneContext;
  loader: GenerationLoader;
  checks: HealthChecks;
  /** Drains shared through etcd (the config's `etcd`). */
  fleet: FleetDrains;
  listeners: Listeners;
  status: StatusEndpoint;
}

/**
 * Puts `next` in service. New sockets are bound before anything changes, so a port
 * that cannot be bound leaves the running config whole; then kept sockets take the
 * new plans, removed ones close, and the old generation's TLS hops stop accepting.
 */
export async function install(next: Generation, parts: VaneParts): Promise<void> {
  const { ctx, listeners, status } = parts;
  await listeners.install(next);
  await ctx.acme.sync(next.config);
  // Drains, weights and manual marks carry over to the entries of the new generation.
  applyOverrides(next.entries(), ctx.runtime.overrides);
  const previous = ctx.gen;
  ctx.gen = next;
  // Connections of older configs are retired: the answer in flight or the next one
  // says `Connection: close`, and one idle for a second closes, so clients reconnect
  // and meet the new config without losing a request sent as the reload happened.
  // Tunnels (WebSocket, TCP) are not requests: they keep going.
  let retired = 0;
  for (const c of ctx.conns.httpConns.list()) {
    if (c.gen !== next) {
      c.retire();
      retired++;
    }
  }
  if (retired > 0) ctx.log.debug("retired keep-alive connections of the older config", { connections: retired });
  if (previous) {
    const h = ctx.hops.get(previous);
    ctx.hops.delete(previous);
    void h?.close();
  }
  await status.sync(previous?.config ?? null, next.config);
}

export class Reloader {
  readonly #parts: VaneParts;
  // Reloads run one at a time, in the order asked.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(parts: VaneParts) {
    this.#parts = parts;
  }

  reload(config: Config): Promise<ReloadOutcome> {
    const run = () => this.#run(config);
    const result = this.#queue.then(run, run);
    this.#queue = result;
    return result;
  }

  /** Reloads from `options.source` (the config file read again). */
  async reloadFromSource(): Promise<ReloadOutcome> {
    const { options, log } = this.#parts.ctx;
    if (!options.source) return { ok: false, errors: ["vane was started without a config file; nothing to reload"] };
    const next = await options.source();
    if (!next.ok) {
      this.#parts.ctx.events.publish("reload", { ok: false, errors: next.errors });
      log.error("reload refused: the config has errors; the running config stays", { errors: next.errors.length });
      for (const e of next.errors) log.error(e);
      return next;
    }
    return this.reload(next.config);
  }

  async #run(config: Config): Promise<ReloadOutcome> {
    const { ctx, loader, checks } = this.#parts;
    if (!ctx.gen || ctx.draining) return { ok: false, errors: ["vane is not running"] };
    const effective = this.#effective(config);
    try {
      const next = await loader.load(effective);
      await checks.start(next);
      await this.#parts.fleet.start(next);
      await install(next, this.#parts);
      ctx.base = config;
      await ctx.options.cluster?.reloaded?.(config);
      ctx.announced = next;
      ctx.log.info("config loaded", { generation: next.id });
      ctx.events.publish("reload", { ok: true, generation: next.id });
      return { ok: true, generation: next.id, loadedAt: next.loadedAt.toISOString() };
    } catch (err) {
      const error = errorText(err);
      // The generation in service now: the new one when only the workers' reload failed.
      ctx.log.error("reload failed; the running config stays", { generation: ctx.gen.id, error });
      ctx.events.publish("reload", { ok: false, errors: [error] });
      return { ok: false, errors: [error] };
    }
  }

  /**
   * `config` with the admin's changes merged in; without them when they no longer fit
   * (said in the log), so that a reload of the file is never refused for them.
   */
  #effective(config: Config): Config {
    const { ctx } = this.#parts;
    const out = effectiveConfig(config, ctx.runtime, new Set(ctx.functions.keys()));
    if (out.ok) return out.config;
    ctx.log.error("the admin's changes do not fit the reloaded config; serving it without them", {
      errors: out.errors.join("; "),
    });
    return config;
  }
}
