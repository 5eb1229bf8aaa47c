/**
 * Follows the `srv:` targets of the newest generation: each SRV name is resolved before
 * the generation serves, then again each time its TTL runs out (resolve/srv-cache.ts),
 * and its records' targets are put into every pool that lists it. What came and went is
 * handed to `onChange` (the health checks follow it). A lookup that fails keeps the
 * last good targets; the failure and the recovery are logged once each.
 */
import type { Logger } from "../telemetry/logger.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { Generation } from "./generation.ts";
import type { SrvEntry } from "../resolve/srv-cache.ts";
import { expandSrv } from "../resolve/srv-expand.ts";
import { NEGATIVE_TTL_SECONDS } from "../resolve/dns-cache.ts";
import { errorText } from "../errors/mod.ts";
import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../runtime/clock.ts";

export type SrvChange = (added: TargetHealth[], removed: TargetHealth[]) => void;

export class SrvDiscovery {
  #gen: Generation | null = null;
  readonly #timers = new Map<string, TimerHandle>();
  /** The last failure said per name (null: answering), so each change is logged once. */
  readonly #said = new Map<string, string | null>();

  readonly #log: Logger;
  readonly #onChange: SrvChange;
  readonly #clock: Clock;
  constructor(log: Logger, onChange: SrvChange, clock: Clock = SYSTEM_CLOCK) {
    this.#log = log;
    this.#onChange = onChange;
    this.#clock = clock;
  }

  /** Expands the SRV names of `gen` into its pools (waiting for DNS), then follows their TTLs. */
  async start(gen: Generation): Promise<void> {
    this.stop();
    this.#gen = gen;
    const names = new Set([...gen.pools.values()].flatMap((p) => p.srvTargets().map((t) => t.spec.name)));
    await Promise.all([...names].map(async (name) => this.#apply(gen, name, await gen.deps.srv.get(name), false)));
  }

  stop(): void {
    this.#gen = null;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }

  #apply(gen: Generation, name: string, entry: SrvEntry, notify: boolean): void {
    if (this.#gen !== gen) return;
    this.#say(name, entry);
    const added: TargetHealth[] = [];
    const removed: TargetHealth[] = [];
    for (const pool of gen.pools.values()) {
      for (const { role, spec } of pool.srvTargets()) {
        if (spec.name !== name) continue;
        const change = pool.expand(role, spec, expandSrv(spec, entry.records));
        added.push(...change.added);
        removed.push(...change.removed);
        if (notify && change.added.length + change.removed.length > 0) {
          this.#log.info("SRV targets changed", {
            pool: pool.name,
            srv: name,
            added: change.added.map((e) => e.key).join(",") || "-",
            removed: change.removed.map((e) => e.key).join(",") || "-",
          });
        }
      }
    }
    if (notify && added.length + removed.length > 0) this.#onChange(added, removed);
    const delay = Math.max(0, entry.expiresAt - this.#clock.now());
    this.#timers.set(name, this.#clock.setTimeout(() => this.#again(gen, name), delay));
  }

  async #again(gen: Generation, name: string): Promise<void> {
    const srv = gen.deps.srv;
    // The cache turns lookup failures into entries: a throw here is a bug, kept as a failure.
    const entry = await srv.refresh(name).catch((err): SrvEntry => ({
      records: srv.peek(name)?.records ?? [],
      error: errorText(err),
      expiresAt: this.#clock.now() + NEGATIVE_TTL_SECONDS * 1000,
    }));
    this.#apply(gen, name, entry, true);
  }

  #say(name: string, entry: SrvEntry): void {
    const before = this.#said.get(name);
    if (before === entry.error) return;
    this.#said.set(name, entry.error);
    if (entry.error !== null) {
      this.#log.warn("SRV lookup failed; the last good targets stay", {
        srv: name,
        targets: entry.records.length,
        error: entry.error,
      });
    } else if (before !== undefined) {
      this.#log.info("SRV lookup answers again", { srv: name, records: entry.records.length });
    }
  }
}
