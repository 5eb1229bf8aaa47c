/**
 * Where a `rate-limit` action keeps its counts: the seam between the flow and the
 * counting. One process alone counts in its own TokenBuckets (flow/rate-limit.ts),
 * with no store object at all. With `--workers N` the processes of one host count
 * together: the primary holds the authoritative buckets (cluster/rate-authority.ts)
 * and each worker serves from tokens leased from them (cluster/rate-leases.ts).
 *
 * A store shared by several hosts plugs in here as one more `RateStores`: an action with
 * `rate-limit: { store: redis://... }` counts in Redis (store/redis/rates.ts, leasing
 * tokens the same way), whatever --workers says. The flow only ever calls
 * `take`/`takeNow`, so nothing above this file changes.
 */
import type { RateStoreSpec } from "../config/model.ts";

/** What a rate-limit action allows: `burst` tokens at most, `rate` more per second. */
export interface RateLimitSpec {
  readonly rate: number;
  readonly burst: number;
  /** Where the action says its counts are kept (Redis); absent: where the process keeps them. */
  readonly store?: RateStoreSpec;
}

/** The counts of one rate-limit action, per key. */
export interface RateStore {
  /**
   * Takes one token for `key`: true when there was one. A promise when the answer
   * waits on another process (bounded: the store judges on its own share if the
   * answer is late). Per request, so a boolean whenever the store can: the flow stays
   * synchronous then (see flow.runNow).
   */
  take(key: string): boolean | Promise<boolean>;
  /** Same, answered at once (UDP's synchronous flow): judged on what this process holds when an answer would wait. */
  takeNow(key: string): boolean;
}

/** Where one rate-limit action sits in the config: the same in every process serving that config. */
export interface RateLimitPlace {
  /** The generation (this process's number) whose flow holds the action: a reload starts new counts. */
  readonly generation: number;
  /** The config of that generation (a worker names the counts by the primary's number for it). */
  readonly config: object;
  /** The listener and the action's order in its flow, e.g. "t0.1" (UDP listeners: "u0.1"). */
  readonly where: string;
}

/** Makes the stores of a generation's rate-limit actions. */
export interface RateStores {
  open(limit: RateLimitSpec, place: RateLimitPlace): RateStore;
}

/**
 * The stores a process has: `host` for the limits counted by the processes of this host
 * together (--workers), `redis` for those whose action names a `store` (store/redis/).
 */
export interface RateStoreKinds {
  readonly host?: RateStores;
  readonly redis?: RateStores;
}

/**
 * The opener of one listener's flow: numbers its rate-limit actions in the order the
 * flow compiles them (the same order in every process), nested flows included. Null
 * for an action no store takes: it counts alone in this process.
 */
export function limitOpener(
  stores: RateStoreKinds,
  place: Omit<RateLimitPlace, "where"> & { listener: string },
): (limit: RateLimitSpec) => RateStore | null {
  let n = 0;
  const { generation, config, listener } = place;
  return (limit) => {
    const where = `${listener}.${n++}`;
    const kind = limit.store === undefined ? stores.host : stores.redis;
    return kind ? kind.open(limit, { generation, config, where }) : null;
  };
}
