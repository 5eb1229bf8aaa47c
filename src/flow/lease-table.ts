/**
 * Per key, the rate-limit tokens one process took from a bucket held elsewhere, a batch
 * at a time: the lease bookkeeping that a worker of `--workers N` (the primary holds the
 * bucket: cluster/rate-lease-table.ts) and a vane counting in Redis (Redis holds it:
 * store/redis/lease-table.ts) share. A request spends a leased token at once; one that
 * finds none waits for the next batch. How a batch is asked for is the source's
 * (`LeaseSource`: a Redis call, or one message per turn to the primary); what a request
 * is judged by when no batch can come is the fallback's (`LeaseFallback`: `on-error`, or
 * the worker's share of the limit). The batch size is the caller's too.
 *
 * The bookkeeping, and why it keeps the bounds the two callers document (docs/fleet.md):
 * - An ask is a batch, or as many tokens as requests wait when that is more (never more
 *   than the burst). Requests waiting when it is answered are served in order.
 * - Every token admitted came out of the shared bucket once. Tokens not spent within
 *   LEASE_MS go back (the sweep, every LEASE_MS / 2 while the table holds leases), so
 *   the process holds at most a batch per key that the bucket no longer has.
 * - A grant short of the ask means the bucket is dry: the requests still waiting are
 *   refused, and so are new ones for DRY_MS at most (shorter than a token takes to come
 *   back at the rate), so a flood of refused requests costs one ask per key and DRY_MS.
 * - No answer (the source failed, or a worker's ask timed out): whoever waits is judged
 *   by the fallback. While the source is unavailable, requests with no leased token are
 *   judged by it at once; tokens already leased are still spent.
 * - UDP's synchronous flow (takeNow) cannot wait: a key with no token yet is judged at
 *   once by the fallback while its first batch is asked for.
 * - At most `maxKeys` keys: a full table frees a tenth, the oldest leases nobody waits
 *   on, their tokens back; if every key waits on an answer, a new key is judged by the
 *   fallback.
 */
import type { Clock } from "../runtime/clock.ts";
import { MAX_KEYS } from "./rate-limit.ts";
import type { RateLimitSpec, RateStore } from "./rate-store.ts";

/** How long taken tokens may sit unused in a process before they go back to the bucket. */
export const LEASE_MS = 1000;
/** How long a process refuses a key by itself after the bucket was found dry, at most. */
export const DRY_MS = 100;

/** Where a table's tokens come from, and go back to. */
export interface LeaseSource {
  readonly clock: Clock;
  /** Whether asking is worth it now (false while Redis is known down, or once the primary is gone). */
  readonly available: boolean;
  /**
   * Asks for tokens for `key`, now or with other asks later: when the ask goes out, the
   * source calls the table's `startAsk(key)` for how many, then `granted` with the answer
   * or `failed` without one.
   */
  want(key: string): void;
  /** Gives `n` unused tokens of `key` back to the bucket. */
  back(key: string, n: number): void;
  /** The table holds leases (its `sweep` must run every LEASE_MS / 2) or none any more. */
  active(on: boolean): void;
}

/** What a table judges by when no leased token can serve a request. */
export interface LeaseFallback {
  /** A request the source cannot serve: unavailable, no answer, or a table full of keys waiting on answers. */
  judge(key: string): boolean;
  /** A request of the synchronous flow (takeNow) whose key has no token yet, while its batch is asked for. */
  judgeNow(key: string): boolean;
}

export interface LeaseTableOptions {
  /** @default MAX_KEYS */
  readonly maxKeys?: number;
  /**
   * Asks for the next batch as soon as less than half of one is left, so that most
   * requests never wait (a Redis round trip); otherwise when the lease is spent.
   * @default false
   */
  readonly askEarly?: boolean;
  /**
   * A grant moves its key to the end of the table, so a full table frees the least
   * recently granted keys; otherwise the least recently created.
   * @default false
   */
  readonly orderByGrant?: boolean;
}

interface Lease {
  tokens: number;
  /** When unused tokens go back, in ms of the clock. */
  until: number;
  /** Until when the bucket counts as dry (refused without asking). */
  dryUntil: number;
  /** Requests waiting for the answer to an ask, in order. */
  waiting: Array<(ok: boolean) => void>;
  /** Tokens asked and not yet answered; 0: no ask out. */
  asking: number;
  /** Which ask is out, so that a failure does not judge a later one. */
  askId: number;
}

let nextAskId = 1;

export class LeaseTable implements RateStore {
  readonly #leases = new Map<string, Lease>();
  readonly #source: LeaseSource;
  readonly #fallback: LeaseFallback;
  readonly #maxKeys: number;
  readonly #askEarly: boolean;
  readonly #orderByGrant: boolean;

  /** `batch`: tokens asked for at a time (at least one). */
  constructor(
    readonly limit: RateLimitSpec,
    readonly batch: number,
    source: LeaseSource,
    fallback: LeaseFallback,
    options: LeaseTableOptions = {},
  ) {
    this.#source = source;
    this.#fallback = fallback;
    this.#maxKeys = options.maxKeys ?? MAX_KEYS;
    this.#askEarly = options.askEarly ?? false;
    this.#orderByGrant = options.orderByGrant ?? false;
  }

  /** How many keys hold tokens, an ask or a dry mark. */
  get size(): number {
    return this.#leases.size;
  }

  take(key: string): boolean | Promise<boolean> {
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (!this.#source.available) return this.#fallback.judge(key);
    if (lease !== undefined && lease.dryUntil > this.#source.clock.now()) return false;
    const l = lease ?? this.#newLease(key);
    if (l === null) return this.#fallback.judge(key);
    return new Promise((resolve) => {
      l.waiting.push(resolve);
      if (l.asking === 0) this.#source.want(key);
    });
  }

  takeNow(key: string): boolean {
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (!this.#source.available) return this.#fallback.judge(key);
    if (lease !== undefined && lease.dryUntil > this.#source.clock.now()) return false;
    // No answer can wait here: judged at once, and a batch asked for the next time.
    const l = lease ?? this.#newLease(key);
    if (l !== null && l.asking === 0) this.#source.want(key);
    return this.#fallback.judgeNow(key);
  }

  /** The ask for `key` goes out now: how many tokens (0: none needed any more, or one is out). */
  startAsk(key: string): number {
    const l = this.#leases.get(key);
    if (l === undefined || l.asking > 0) return 0;
    l.asking = Math.min(Math.max(this.batch, l.waiting.length), Math.max(1, Math.floor(this.limit.burst)));
    l.askId = nextAskId++;
    return l.asking;
  }

  /** Which ask is out for `key` (0: none), for `failed`. */
  askOf(key: string): number {
    const l = this.#leases.get(key);
    return l !== undefined && l.asking > 0 ? l.askId : 0;
  }

  /** The source's answer for `key`: `n` tokens (fewer than asked: the bucket is dry). */
  granted(key: string, n: number): void {
    const l = this.#leases.get(key);
    if (l === undefined) {
      // Forgotten meanwhile: nobody here will spend them.
      if (n > 0) this.#source.back(key, n);
      return;
    }
    const now = this.#source.clock.now();
    const asked = l.asking;
    l.asking = 0;
    l.tokens += n;
    l.until = now + LEASE_MS;
    if (asked > 0 && n < asked) l.dryUntil = now + Math.min(DRY_MS, 1000 / this.limit.rate);
    if (this.#orderByGrant) {
      this.#leases.delete(key);
      this.#leases.set(key, l);
    }
    while (l.waiting.length > 0 && l.tokens >= 1) {
      l.tokens -= 1;
      l.waiting.shift()!(true);
    }
    if (l.waiting.length > 0) {
      // Dry: whoever still waits is refused. Otherwise more came than were asked for: ask again.
      if (l.dryUntil > now) { for (const resolve of l.waiting.splice(0)) resolve(false); }
      else this.#source.want(key);
    }
    this.#forgetIfIdle(key, l, now);
  }

  /** Ask `askId` for `key` had no answer (in time): whoever waits on it is judged by the fallback. */
  failed(key: string, askId: number): void {
    const l = this.#leases.get(key);
    if (l === undefined || l.asking === 0 || l.askId !== askId) return;
    l.asking = 0;
    for (const resolve of l.waiting.splice(0)) resolve(this.#fallback.judge(key));
    this.#forgetIfIdle(key, l, this.#source.clock.now());
  }

  /** The source is gone for good: whoever waits is judged by the fallback, and every lease is forgotten. */
  lose(): void {
    for (const [key, l] of this.#leases) {
      for (const resolve of l.waiting.splice(0)) resolve(this.#fallback.judge(key));
    }
    this.#leases.clear();
    this.#source.active(false);
  }

  /** Gives back the tokens of leases older than LEASE_MS and forgets the idle ones. */
  sweep(): void {
    const now = this.#source.clock.now();
    for (const [key, l] of this.#leases) {
      if (l.until > now) continue;
      if (l.tokens >= 1) this.#source.back(key, Math.floor(l.tokens));
      l.tokens = 0;
      this.#forgetIfIdle(key, l, now);
    }
  }

  #spend(key: string, lease: Lease): true {
    lease.tokens -= 1;
    const now = this.#source.clock.now();
    // Running low: the next batch is asked for now, before a request has to wait for it.
    if (this.#askEarly && this.batch > 1 && lease.tokens < this.batch / 2 && lease.asking === 0) {
      if (this.#source.available && lease.dryUntil <= now) this.#source.want(key);
    }
    this.#forgetIfIdle(key, lease, now);
    return true;
  }

  /** A lease for a new key, or null when the table is full of keys waiting for answers. */
  #newLease(key: string): Lease | null {
    if (this.#leases.size >= this.#maxKeys) this.#evict();
    if (this.#leases.size >= this.#maxKeys) return null;
    const now = this.#source.clock.now();
    const l: Lease = { tokens: 0, until: now + LEASE_MS, dryUntil: 0, waiting: [], asking: 0, askId: 0 };
    this.#leases.set(key, l);
    if (this.#leases.size === 1) this.#source.active(true);
    return l;
  }

  /** Frees a tenth of the table: the oldest leases nobody waits on go, their tokens back. */
  #evict(): void {
    const target = this.#maxKeys - Math.max(1, Math.floor(this.#maxKeys / 10));
    for (const [key, l] of this.#leases) {
      if (this.#leases.size <= target) break;
      if (l.asking > 0 || l.waiting.length > 0) continue;
      if (l.tokens >= 1) this.#source.back(key, Math.floor(l.tokens));
      this.#leases.delete(key);
    }
  }

  /** A lease with no token, no ask, nobody waiting and no dry mark says nothing: forgotten. */
  #forgetIfIdle(key: string, l: Lease, now: number): void {
    if (l.tokens >= 1 || l.asking > 0 || l.waiting.length > 0 || l.dryUntil > now) return;
    this.#leases.delete(key);
    if (this.#leases.size === 0) this.#source.active(false);
  }
}
