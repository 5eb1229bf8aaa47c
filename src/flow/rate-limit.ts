/**
 * Token buckets for the `rate-limit` action: one bucket per key, `burst` tokens at
 * most, refilled continuously at `rate` tokens per second. A new key starts full.
 *
 * The keys come from clients (an IP, a header), so the table is bounded. When it is
 * full and a new key arrives, buckets that have refilled completely are dropped first
 * (forgetting them changes nothing: a new bucket starts full too); if that frees too
 * little, the least recently used ones go. Each sweep frees at least a tenth of the
 * table, so a flood of new keys costs one O(n) sweep per n/10 keys, not one per key.
 */

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms of the injected clock. */
  at: number;
}

export const MAX_KEYS = 100_000;

export class TokenBuckets {
  /** In least-recently-used order: a bucket is moved to the end each time it is used. */
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;

  readonly #now: () => number;
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: () => number,
    readonly maxKeys: number = MAX_KEYS,
  ) {
    this.#now = now;
    this.#perMs = rate / 1000;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key`: true when there was one. */
  take(key: string): boolean {
    return this.takeUpTo(key, 1) === 1;
  }

  /** Same answer, at once: a bucket never waits (RateStore, flow/rate-store.ts). */
  takeNow(key: string): boolean {
    return this.takeUpTo(key, 1) === 1;
  }

  /** Takes up to `n` whole tokens for `key` (a worker's lease, cluster/rate-authority.ts): how many it got. */
  takeUpTo(key: string, n: number): number {
    const b = this.#touch(key, this.#now());
    const got = Math.min(n, Math.floor(b.tokens));
    if (got <= 0) return 0;
    b.tokens -= got;
    return got;
  }

  /** Puts back `n` tokens taken and not used (capped at burst); a key forgotten since starts full anyway. */
  giveBack(key: string, n: number): void {
    const b = this.#buckets.get(key);
    if (!b) return;
    const now = this.#now();
    b.tokens = Math.min(this.burst, this.#level(b, now) + n);
    b.at = now;
  }

  /** The key's bucket brought up to date and made the most recently used (a new key's starts full). */
  #touch(key: string, now: number): Bucket {
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      b.tokens = this.#level(b, now);
      b.at = now;
    } else {
      if (this.#buckets.size >= this.maxKeys) this.#sweep(now);
      b = { tokens: this.burst, at: now };
    }
    this.#buckets.set(key, b);
    return b;
  }

  #level(b: Bucket, now: number): number {
    // max(0, ...): a clock that steps back must not drain a bucket.
    return Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.#perMs);
  }

  #sweep(now: number): void {
    const target = this.maxKeys - Math.max(1, Math.floor(this.maxKeys / 10));
    for (const [key, b] of this.#buckets) {
      if (this.#level(b, now) >= this.burst) this.#buckets.delete(key);
    }
    // Still too full: the least recently used go, oldest first (Map order).
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= target) break;
      this.#buckets.delete(key);
    }
  }
}
