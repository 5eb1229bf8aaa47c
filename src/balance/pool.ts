/**
 * A pool at run time: its targets' health entries and its strategy. `pick` resolves,
 * drops what is down or unresolved (and, of SRV targets, all but the lowest priority
 * with a live one), and lets the strategy choose; when nothing in the primary set is
 * alive, the fallback set is asked the same way.
 *
 * `take` is `pick` plus a slot: every forwarded request (HTTP) and connection (L4)
 * holds one on its target's `activeConnections` from the pick until `give`. With
 * `maxconn`, a target whose slots are all held is not a candidate, and when every
 * candidate is full the request waits in the pool's queue (pool-queue.ts) for the
 * first slot given back. Without `maxconn` there is no queue and no extra work.
 */
import {
  DEFAULT_MAXQUEUE,
  DEFAULT_QUEUE_TIMEOUT_MS,
  type EndpointSpec,
  type EtcdTargetSpec,
  type PoolConfig,
  type SrvTargetSpec,
  type TargetSpec,
} from "../config/model.ts";
import type { HealthRegistry, TargetHealth, TargetRole } from "../health/registry.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import { type Clock, SYSTEM_CLOCK } from "../runtime/clock.ts";
import { createStrategy, type KeyOn, type Strategy } from "./mod.ts";
import { type OfferResult, PoolQueue, type QueueRefusal } from "./pool-queue.ts";
import { StickyStrategy } from "./sticky.ts";
import { servingPriority } from "./srv-priority.ts";

export type { QueueRefusal } from "./pool-queue.ts";

export interface Pick {
  entry: TargetHealth;
  /** Addresses to try in order (a DNS name or node may have several). */
  addresses: string[];
}

/** What `take` asked for, kept while it waits in the queue. */
interface TakeArgs {
  exclude: ReadonlySet<TargetHealth>;
  key: string | undefined;
}

/** A slot on a target, none alive (null), or the queue's refusal. */
export type Taken = Pick | null | QueueRefusal;

/** A target that stands for the targets discovery finds: an SRV name or an etcd prefix. */
export type DiscoveredSpec = SrvTargetSpec | EtcdTargetSpec;

const isDiscovered = (spec: TargetSpec): spec is DiscoveredSpec => spec.kind === "srv" || spec.kind === "etcd";

/** `#pickFrom` found live targets, all at their maxconn. */
const FULL = "full";

/** A pool's `tls` as connections use it: the PEM text of its files rather than their paths. */
export interface LoadedTargetTls {
  serverName: string | null;
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export class Pool {
  /**
   * The targets in list order, an `srv:` or `etcd:` target standing for the targets its
   * discovery found last (set by `expand`). Replaced whole when an answer changes, never edited in place:
   * a pick or a status that holds the old list finishes with it.
   */
  primary: TargetHealth[];
  fallback: TargetHealth[];
  /** Per role and discovered target (`srv:NAME`, `etcd:PREFIX`): the entries it gave last. */
  readonly #expanded = new Map<string, TargetHealth[]>();
  readonly #hasSrv: boolean;
  readonly #registry: HealthRegistry;
  readonly #strategy: Strategy;
  // The fallback set keeps its own rotation so it does not disturb the primary one.
  readonly #fallbackStrategy: Strategy;

  readonly #resolver: TargetResolver;
  /**
   * Each target's last Pick, handed out again while its addresses are the same: nobody
   * modifies a Pick, and one per request was garbage. Weak: targets go with their pool.
   */
  readonly #picks = new WeakMap<TargetHealth, Pick>();
  /** The last Pick handed out, looked at before #picks (a WeakMap lookup costs JavaScriptCore more). */
  #lastPick: Pick | null = null;
  /**
   * The pool's `tls` with its files read (the generation reads them as it loads): how
   * connections to its targets are encrypted. Null: plain TCP.
   */
  tls: LoadedTargetTls | null = null;
  readonly #now: () => number;
  /** The per-target limit; 0: none (the usual case, one comparison per candidate). */
  readonly #maxconn: number;
  /** Null without `maxconn`. */
  readonly queue: PoolQueue<TakeArgs, Pick | null> | null;
  /**
   * The pool of the same name a reload made after this one (null: this is the newest).
   * Requests of the old config still give their slots back here; the new pool's waiters
   * must hear of them too, since both count on the same entries.
   */
  #successor: Pool | null = null;
  constructor(
    readonly config: PoolConfig,
    registry: HealthRegistry,
    resolver: TargetResolver,
    now: () => number = () => performance.now(),
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.#resolver = resolver;
    this.#now = now;
    this.#maxconn = config.maxconn ?? 0;
    this.queue = this.#maxconn === 0 ? null : new PoolQueue(
      config.maxqueue ?? DEFAULT_MAXQUEUE,
      config.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
      clock,
    );
    this.#registry = registry;
    this.#hasSrv = this.srvTargets().length > 0;
    this.primary = this.#entriesOf("primary");
    this.fallback = this.#entriesOf("fallback");
    this.#strategy = createStrategy(config.strategy);
    this.#fallbackStrategy = createStrategy(config.strategy);
    let named = newest.get(registry);
    if (named === undefined) newest.set(registry, named = new Map());
    const before = named.get(config.name);
    if (before !== undefined) before.#successor = this;
    named.set(config.name, this);
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

  /** The pool's `srv:` and `etcd:` targets, with the set each is in. */
  discoveredTargets(): Array<{ role: TargetRole; spec: DiscoveredSpec }> {
    const of = (role: TargetRole, list: TargetSpec[]) =>
      list.flatMap((spec) => isDiscovered(spec) ? [{ role, spec }] : []);
    return [...of("primary", this.config.targets), ...of("fallback", this.config.fallback)];
  }

  /** The pool's `srv:` targets, with the set each is in. */
  srvTargets(): Array<{ role: TargetRole; spec: SrvTargetSpec }> {
    return this.discoveredTargets().flatMap((t) => t.spec.kind === "srv" ? [{ role: t.role, spec: t.spec }] : []);
  }

  /**
   * Puts the targets discovery found for `from` (an SRV answer, resolve/srv-expand.ts;
   * an etcd prefix's values, resolve/etcd-expand.ts) in its place in `role`. A target that
   * stays keeps its entry and so its health; the entries that came and went are returned
   * for the checks to follow.
   */
  expand(
    role: TargetRole,
    from: DiscoveredSpec,
    specs: EndpointSpec[],
  ): { added: TargetHealth[]; removed: TargetHealth[] } {
    const key = `${role}\u0000${from.raw}`;
    const before = this.#expanded.get(key) ?? [];
    const c = this.config;
    const after = specs.map((spec) => this.#registry.entry(c.name, role, spec, c.health, c.passive));
    this.#expanded.set(key, after);
    if (role === "primary") this.primary = this.#entriesOf(role);
    else this.fallback = this.#entriesOf(role);
    // Discovered targets come after the generation set up outlier detection: they join it
    // (and its max-ejected share counts them) as the listed ones did.
    this.#registry.outlierDetection(c.name, c.outlier, this.entries());
    return {
      added: after.filter((e) => !before.includes(e)),
      removed: before.filter((e) => !after.includes(e)),
    };
  }

  #entriesOf(role: TargetRole): TargetHealth[] {
    const c = this.config;
    return (role === "primary" ? c.targets : c.fallback).flatMap((spec) =>
      isDiscovered(spec)
        ? this.#expanded.get(`${role}\u0000${spec.raw}`) ?? []
        : [this.#registry.entry(c.name, role, spec, c.health, c.passive)]
    );
  }

  /**
   * A live target not in `exclude`, or null when none is left anywhere. `key`: the
   * request's key for a keyed strategy (see `keyOn`).
   */
  pick(exclude: ReadonlySet<TargetHealth> = EMPTY, key?: string): Pick | null {
    const got = this.#pickAny(exclude, key);
    return got === FULL ? null : got;
  }

  /**
   * A live target not in `exclude` with a slot taken on it (give it back with `give`),
   * or null when none is alive. With `maxconn` and every candidate full: a promise
   * that waits in the queue, or the queue's refusal at once when it is full.
   */
  take(exclude: ReadonlySet<TargetHealth> = EMPTY, key?: string): Taken | Promise<Taken> {
    const got = this.#pickAny(exclude, key);
    if (got === FULL) return this.queue!.enter({ exclude, key });
    if (got !== null) got.entry.activeConnections++;
    return got;
  }

  /** Gives back the slot `take` took on `entry`: exactly once per take that gave a target. */
  give(entry: TargetHealth): void {
    entry.activeConnections--;
    this.#offerFreed();
  }

  /** A slot was given back (here or to an older pool of this name): the waiters, then the newer pool's. */
  #offerFreed(): void {
    if (this.queue !== null && this.queue.length > 0) this.queue.offer(this.#serveWaiter);
    const newer = this.#successor;
    if (newer !== null) newer.#offerFreed();
  }

  /** A waiter's pick now that a slot is free: it leaves with a slot, stays, or nobody can be served. */
  readonly #serveWaiter = (args: TakeArgs): { value: Pick | null } | OfferResult => {
    const got = this.#pickAny(args.exclude, args.key);
    // A waiter that excludes no target sees what every later one would: no room for anyone.
    if (got === FULL) return args.exclude.size === 0 ? "stop" : "passed";
    if (got !== null) got.entry.activeConnections++;
    return { value: got };
  };

  /** The primary set's pick; the fallback's only when no primary is alive (full ones wait, as HAProxy's backups). */
  #pickAny(exclude: ReadonlySet<TargetHealth>, key: string | undefined): Pick | null | typeof FULL {
    const primary = this.#pickFrom(this.primary, this.#strategy, exclude, key);
    return primary ?? this.#pickFrom(this.fallback, this.#fallbackStrategy, exclude, key);
  }

  #pickFrom(
    set: TargetHealth[],
    strategy: Strategy,
    exclude: ReadonlySet<TargetHealth>,
    key: string | undefined,
  ): Pick | null | typeof FULL {
    // The clock is read only for a target benched by passive failures or ejected (not per request otherwise).
    let now = 0;
    const max = this.#maxconn;
    let full = false;
    // The usual case, every target a candidate, asks for no array of its own.
    let live: TargetHealth[] | null = null;
    // The addresses of the last target resolved in the loop: the pick, when it is that one.
    let resolved: TargetHealth | null = null;
    let resolvedAddresses: string[] = NO_ADDRESSES;
    for (let i = 0; i < set.length; i++) {
      const e = set[i];
      if ((e.benchedUntil > 0 || e.ejectedUntil > 0) && now === 0) now = this.#now();
      // Weight 0 drains a target (HAProxy's meaning): alive, but given no new traffic.
      let candidate = e.weight !== 0 && !exclude.has(e) && e.alive(now);
      if (candidate) {
        resolved = e;
        resolvedAddresses = this.#resolver.current(e.spec).addresses;
        candidate = resolvedAddresses.length > 0;
      }
      if (max !== 0 && candidate && e.activeConnections >= max) {
        full = true;
        candidate = false;
      }
      if (candidate) live?.push(e);
      else live ??= set.slice(0, i);
    }
    if (live === null) live = set;
    if (this.#hasSrv) live = servingPriority(live);
    if (live.length === 0) return full ? FULL : null;
    const entry = strategy.pick(live, key) as TargetHealth;
    const addresses = entry === resolved ? resolvedAddresses : this.#resolver.current(entry.spec).addresses;
    // The target's last pick, while its addresses are the same (see #picks).
    let last: Pick | null | undefined = this.#lastPick;
    if (last === null || last.entry !== entry) last = this.#picks.get(entry);
    if (last !== undefined && last.addresses === addresses) return (this.#lastPick = last);
    const pick = { entry, addresses };
    this.#picks.set(entry, pick);
    return (this.#lastPick = pick);
  }
}

const EMPTY: ReadonlySet<TargetHealth> = new Set();
const NO_ADDRESSES: string[] = [];

/** Per health registry (one per vane), the newest pool of each name: what a reload's new pool follows. */
const newest = new WeakMap<HealthRegistry, Map<string, Pool>>();
