/**
 * A pool at run time: its targets' health entries and its strategy. `pick` resolves,
 * drops what is down or unresolved, and lets the strategy choose; when nothing in the
 * primary set is alive, the fallback set is asked the same way.
 */
import type { PoolConfig } from "../config/model.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import { createStrategy, type KeyOn, type Strategy } from "./mod.ts";
import { StickyStrategy } from "./sticky.ts";

export interface Pick {
  entry: TargetHealth;
  /** Addresses to try in order (a DNS name or node may have several). */
  addresses: string[];
}

/** A pool's `tls` as connections use it: the PEM text of its files rather than their paths. */
export interface LoadedTargetTls {
  serverName: string | null;
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export class Pool {
  readonly primary: TargetHealth[];
  readonly fallback: TargetHealth[];
  readonly #strategy: Strategy;
  // The fallback set keeps its own rotation so it does not disturb the primary one.
  readonly #fallbackStrategy: Strategy;

  readonly #resolver: TargetResolver;
  /**
   * The pool's `tls` with its files read (the generation reads them as it loads): how
   * connections to its targets are encrypted. Null: plain TCP.
   */
  tls: LoadedTargetTls | null = null;
  readonly #now: () => number;
  constructor(
    readonly config: PoolConfig,
    registry: HealthRegistry,
    resolver: TargetResolver,
    now: () => number = () => performance.now(),
  ) {
    this.#resolver = resolver;
    this.#now = now;
    this.primary = config.targets.map((t) => registry.entry(config.name, "primary", t, config.health, config.passive));
    this.fallback = config.fallback.map((t) =>
      registry.entry(config.name, "fallback", t, config.health, config.passive)
    );
    this.#strategy = createStrategy(config.strategy);
    this.#fallbackStrategy = createStrategy(config.strategy);
  }

  /** What the pool's strategy keys its picks on (null: nothing, no key is made per request). */
  get keyOn(): KeyOn | null {
    return this.#strategy.keyOn ?? null;
  }

  /**
   * For a sticky pool: the cookie's name and the id it gives each target (by its
   * configured key). Null for the other strategies.
   */
  get sticky(): StickyStrategy | null {
    return this.#strategy instanceof StickyStrategy ? this.#strategy : null;
  }

  get name(): string {
    return this.config.name;
  }

  entries(): TargetHealth[] {
    return [...this.primary, ...this.fallback];
  }

  /**
   * A live target not in `exclude`, or null when none is left anywhere. `key`: the
   * request's key for a keyed strategy (see `keyOn`).
   */
  pick(exclude: ReadonlySet<TargetHealth> = EMPTY, key?: string): Pick | null {
    return this.#pickFrom(this.primary, this.#strategy, exclude, key) ??
      this.#pickFrom(this.fallback, this.#fallbackStrategy, exclude, key);
  }

  #pickFrom(
    set: TargetHealth[],
    strategy: Strategy,
    exclude: ReadonlySet<TargetHealth>,
    key: string | undefined,
  ): Pick | null {
    // The clock is read only for a target benched by passive failures or ejected (not per request otherwise).
    let now = 0;
    // The usual case, every target a candidate, asks for no array of its own.
    let live: TargetHealth[] | null = null;
    for (let i = 0; i < set.length; i++) {
      const e = set[i];
      if ((e.benchedUntil > 0 || e.ejectedUntil > 0) && now === 0) now = this.#now();
      // Weight 0 drains a target (HAProxy's meaning): alive, but given no new traffic.
      const candidate = e.weight !== 0 && !exclude.has(e) && e.alive(now) &&
        this.#resolver.current(e.spec).addresses.length > 0;
      if (candidate) live?.push(e);
      else live ??= set.slice(0, i);
    }
    if (live === null) live = set;
    if (live.length === 0) return null;
    const entry = strategy.pick(live, key) as TargetHealth;
    return { entry, addresses: this.#resolver.current(entry.spec).addresses };
  }
}

const EMPTY: ReadonlySet<TargetHealth> = new Set();
