/**
 * Runs the active checks: once for every target before listeners accept, then every
 * interval per target. Each target has its own timer chain, started at a random
 * offset so a large pool does not check all its targets in the same millisecond.
 */
import type { Runtime } from "../runtime/types.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import type { HealthRegistry, TargetHealth } from "./registry.ts";
import { tcpCheck } from "./tcp-check.ts";
import { localErrorCode } from "./local-error.ts";
import { DEFAULT_EXPECT } from "../config/model.ts";
import { httpCheck } from "./http-check.ts";
import type { EndpointSpec } from "../config/model.ts";
import { errorText } from "../errors/mod.ts";
import { type Clock, type Random, SYSTEM_CLOCK, type TimerHandle } from "../runtime/clock.ts";

/** What a HealthChecker times and draws its offsets with (a test's fakes). */
export interface CheckerOptions {
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Draws each target's first offset within its interval. @default Math.random */
  random?: Random;
}

export class HealthChecker {
  /** Each checked target's next check. */
  #timers = new Map<TargetHealth, TimerHandle>();
  /** Targets no longer checked (an SRV answer dropped them) while a check of theirs ran. */
  #forgotten = new WeakSet<TargetHealth>();
  #stopped = false;
  readonly #clock: Clock;
  readonly #random: Random;

  readonly #rt: Runtime;
  readonly #resolver: TargetResolver;
  readonly #registry: HealthRegistry;
  constructor(
    rt: Runtime,
    resolver: TargetResolver,
    registry: HealthRegistry,
    options: CheckerOptions = {},
  ) {
    this.#rt = rt;
    this.#resolver = resolver;
    this.#registry = registry;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#random = options.random ?? Math.random;
  }

  /** Checks every target once and records the verdicts; resolves when all are in. */
  async initial(entries: TargetHealth[]): Promise<void> {
    await Promise.all(entries.map(async (e) => {
      if (e.health.check === "none") return;
      const outcome = await this.#check(e);
      this.#registry.initial(e, outcome);
    }));
  }

  /** Starts the periodic checks. */
  start(entries: TargetHealth[]): void {
    for (const e of entries) {
      if (e.health.check === "none") continue;
      this.#schedule(e, this.#random() * e.health.intervalMs);
    }
  }

  /** Stops checking `e` (a target that left its pool); a check under way is not recorded. */
  forget(e: TargetHealth): void {
    this.#forgotten.add(e);
    const timer = this.#timers.get(e);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#timers.delete(e);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }

  #schedule(e: TargetHealth, delayMs: number): void {
    if (this.#stopped || this.#forgotten.has(e)) return;
    const timer = this.#clock.setTimeout(async () => {
      this.#timers.delete(e);
      try {
        const outcome = await this.#check(e);
        if (this.#stopped || this.#forgotten.has(e)) return;
        if (outcome.ok) this.#registry.success(e, outcome.latencyMs);
        // Out of descriptors here says nothing about the target (health/local-error.ts).
        else if (localErrorCode(outcome.reason) !== null) this.#registry.localFailure(e, outcome.reason);
        else this.#registry.failure(e, outcome.reason);
      } catch (err) {
        // A check that throws is a failed check, never the end of the checking.
        this.#registry.failure(e, errorText(err));
      } finally {
        this.#schedule(e, e.health.intervalMs);
      }
    }, delayMs);
    this.#timers.set(e, timer);
  }

  async #check(e: TargetHealth) {
    const h = e.health;
    const outcome = h.check === "http"
      ? await httpCheck(this.#rt, this.#resolver, e.spec, {
        path: h.path ?? "/",
        expect: h.expect ?? DEFAULT_EXPECT,
        timeoutMs: h.timeoutMs,
        hostHeader: hostHeaderFor(e.spec),
      })
      : await tcpCheck(this.#rt, this.#resolver, e.spec, h.timeoutMs);
    if (outcome.address) e.address = outcome.address;
    return outcome;
  }
}

/**
 * The Host an HTTP check sends: the target's name as configured (a DNS name, or
 * IP:PORT); a node target has no public name, so its node name stands in.
 */
function hostHeaderFor(spec: EndpointSpec): string {
  if (spec.kind === "node") return `${spec.node}:${spec.port}`;
  return spec.kind === "ip" && spec.host.includes(":") ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
}
