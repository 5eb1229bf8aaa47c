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
import { SrvDiscovery } from "./srv-discovery.ts";
import { EtcdDiscovery } from "./etcd-discovery.ts";
import { applyOverrides } from "../control/runtime-state.ts";

export class HealthChecks {
  readonly #ctx: VaneContext;
  /** Targets that had their first check; a reload that keeps one keeps its verdict. */
  readonly #checked = new WeakSet<TargetHealth>();
  #checker: HealthChecker | null = null;
  /** The pools' `srv:` targets: their answers come and go between generations. */
  readonly #discovery: SrvDiscovery;
  /** The pools' `etcd:` targets: services register and leave while vane serves. */
  readonly #etcd: EtcdDiscovery;

  constructor(ctx: VaneContext) {
    this.#ctx = ctx;
    const follow = (added: TargetHealth[], removed: TargetHealth[]) => this.#follow(added, removed);
    this.#discovery = new SrvDiscovery(ctx.log, follow);
    this.#etcd = new EtcdDiscovery(ctx.log, follow);
  }

  /**
   * Starts health checks for `next`, its SRV names and etcd prefixes expanded first:
   * new targets are checked once before they serve.
   */
  async start(next: Generation): Promise<void> {
    await Promise.all([this.#discovery.start(next), this.#etcd.start(next)]);
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
    this.#discovery.stop();
    this.#etcd.stop();
    this.#checker?.stop();
  }

  /**
   * An SRV answer or an etcd prefix changed the targets: the new ones are checked (they serve once a
   * check passes, as at start), the gone ones no longer. A gone target takes no new
   * connections (it left its pool); those it has finish.
   */
  #follow(added: TargetHealth[], removed: TargetHealth[]): void {
    const { registry, options } = this.#ctx;
    for (const e of removed) {
      this.#checker?.forget(e);
      registry.forget(e);
    }
    // An admin's drain, weight or manual state for this HOST:PORT holds for it too.
    applyOverrides(added, this.#ctx.runtime.overrides);
    const fresh = added.filter((e) => !this.#checked.has(e));
    for (const e of fresh) this.#checked.add(e);
    const follow = options.cluster?.follow;
    if (follow) return follow(fresh);
    const checker = this.#checker;
    if (!checker) return;
    void checker.initial(fresh).then(() => checker.start(fresh));
  }
}
