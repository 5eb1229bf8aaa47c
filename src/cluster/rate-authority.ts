/**
 * The primary's side of rate limits counted across `--workers N`: it holds the one
 * authoritative token bucket per (limit, key) of the host. The primary's own requests
 * take from it directly; a worker takes a few tokens at a time (a lease, see
 * cluster/rate-leases.ts) and serves from them without asking per request. Every token
 * admitted anywhere came out of these buckets once, so the host never admits more than
 * one process would.
 *
 * Limits are named by the primary's generation and their place in the config, so a
 * reload starts new counts as in one process, while connections of the old generation
 * go on with the old ones. A limit's table is dropped once it went unused long enough
 * for every bucket in it to be full again: forgetting it then changes nothing.
 */
import type { Clock } from "../runtime/clock.ts";
import { TokenBuckets } from "../flow/rate-limit.ts";
import type { RateLimitPlace, RateLimitSpec, RateStore, RateStores } from "../flow/rate-store.ts";
import type { LimitId, RateAsk, RateGrants } from "./rate-messages.ts";

/** One limit's buckets and when they were last used. */
interface Table {
  readonly buckets: TokenBuckets;
  usedAt: number;
  /** How long unused until every bucket is full again, in ms. */
  readonly refillMs: number;
  /** Set when the table was forgotten: a store still holding it looks it up again. */
  dropped: boolean;
}

export class RateAuthority implements RateStores {
  readonly #tables = new Map<LimitId, Table>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** How many limits have a table now. */
  get size(): number {
    return this.#tables.size;
  }

  /** The primary's own store for an action: it takes from the authoritative buckets directly. */
  open(limit: RateLimitSpec, place: RateLimitPlace): RateStore {
    const id = `${place.generation}/${place.where}`;
    let table = this.#table(id, limit);
    const current = () => (table.dropped ? (table = this.#table(id, limit)) : table);
    return {
      take: (key) => this.#use(current()).take(key),
      takeNow: (key) => this.#use(current()).take(key),
    };
  }

  /** A worker's turn: its unused tokens go back first, then its wants are granted from what is there. */
  answer(ask: RateAsk): RateGrants {
    this.#sweep();
    for (const [id, key, n] of ask.back) this.#tables.get(id)?.buckets.giveBack(key, n);
    const grants: RateGrants = [];
    for (const [id, key, n] of ask.want) {
      const spec = ask.limits[id];
      if (!spec) continue;
      const table = this.#use(this.#table(id, { rate: spec[0], burst: spec[1] }));
      grants.push([id, key, table.takeUpTo(key, n)]);
    }
    return grants;
  }

  #use(table: Table): TokenBuckets {
    table.usedAt = this.#clock.now();
    return table.buckets;
  }

  #table(id: LimitId, limit: RateLimitSpec): Table {
    let table = this.#tables.get(id);
    if (table) return table;
    this.#sweep();
    const now = () => this.#clock.now();
    const refillMs = limit.rate > 0 ? (limit.burst / limit.rate) * 1000 : Infinity;
    table = { buckets: new TokenBuckets(limit.rate, limit.burst, now), usedAt: now(), refillMs, dropped: false };
    this.#tables.set(id, table);
    return table;
  }

  /** Forgets the tables whose buckets are all full again. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const [id, table] of this.#tables) {
      if (now - table.usedAt < table.refillMs) continue;
      table.dropped = true;
      this.#tables.delete(id);
    }
  }
}
