/**
 * Active health checks across generations: a new target is checked once before its
 * generation serves, so the first connection already has a verdict; a target a reload
 * keeps keeps its verdict. In a cluster worker the primary checks, and the worker
 * follows its verdicts (ClusterHooks.follow).
 */
import type { TargetHealth } from "../health/registry.ts";
import type { Generation } from "./generation.ts";
import type { VaneContext } from "./context.ts";
import { HealthChecker } from "../health/checker.ts";

export class HealthChecks {
  readonly #ctx: VaneContext;
  /** Targets that had their first check; a reload that keeps one keeps its verdict. */
  readonly #checked = new WeakSet<TargetHealth>();
  #checker: HealthChecker | null = null;

  constructor(ctx: VaneContext) {
    this.#ctx = ctx;
  }

  /** Starts health checks for `next`: new targets are checked once before they serve. */
  async start(next: Generation): Promise<void> {
    const { rt, registry, options } = this.#ctx;
    const entries = [...new Set(next.entries())];
    const fresh = entries.filter((e) => !this.#checked.has(e));
    for (const e of fresh) this.#checked.add(e);
    const follow = options.cluster?.follow;
    if (follow) {
      follow(fresh);
      registry.retain(entries);
      return;
    }
    const nextChecker = new HealthChecker(rt, next.resolver, registry);
    await nextChecker.initial(fresh);
    this.#checker?.stop();
    this.#checker = nextChecker;
    this.#checker.start(entries);
    registry.retain(entries);
  }

  stop(): void {
    this.#checker?.stop();
  }
}
