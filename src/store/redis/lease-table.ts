/**
 * One rate-limit action counted in Redis (`rate-limit: { store: redis://... }`): per key,
 * the tokens this vane took from the shared bucket (bucket-script.ts) a batch at a time.
 * A request spends one at once; when the batch runs low the next one is asked for in
 * the background, so most requests pay no Redis round trip. The same lease idea as a
 * worker's under `--workers N` (cluster/rate-lease-table.ts), with Redis as the primary.
 *
 * The arithmetic (docs/fleet.md says it for operators):
 * - A batch is a tenth of a second's tokens (rate / 10), at most half the burst, at
 *   least one. Every token admitted came out of the shared bucket once; tokens taken
 *   and not spent within LEASE_MS go back. So over any interval a fleet of N vanes
 *   admits at most burst + rate * t + N batches per key (the batches taken before the
 *   interval and spent in it), and under-admits by at most as much (batches held unused).
 * - A batch short of the ask means the bucket is dry: waiting requests are refused,
 *   and new ones for DRY_MS at most, so a flood of refused requests costs one round
 *   trip per key and DRY_MS, not one per request.
 * - Redis down, late (the client's command timeout) or answering an error: the
 *   requests that wait and those that come until it is back are judged by `on-error`,
 *   at once: `open` admits, `closed` refuses (429). Tokens already leased are spent.
 * - UDP's synchronous flow (takeNow) cannot wait: a key with no tokens yet is judged on
 *   a bucket of this vane's own (the whole limit) while its first batch is asked for.
 */
import { MAX_KEYS, TokenBuckets } from "../../flow/rate-limit.ts";
import type { RateLimitSpec, RateStore } from "../../flow/rate-store.ts";
import { bucketTtlMs } from "./bucket-script.ts";
import type { Clock } from "../../runtime/clock.ts";

/** What a table needs of its Redis (link.ts is the real one; a test passes a fake). */
export interface BucketLink {
  readonly clock: Clock;
  /** Whether asking is worth it now (false while Redis is known to be down). */
  readonly available: boolean;
  /** Takes up to `n` tokens of bucket `key` (negative: gives `-n` back): how many it got. */
  bucket(key: string, rate: number, burst: number, n: number, ttlMs: number): Promise<number>;
}

/** How long taken tokens may sit unused in a vane before they go back to Redis. */
export const LEASE_MS = 1000;
/** How long a vane refuses a key by itself after Redis said its bucket is dry, at most. */
export const DRY_MS = 100;

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
}

export class RedisLeaseTable implements RateStore {
  readonly #leases = new Map<string, Lease>();
  readonly #link: BucketLink;
  readonly #prefix: string;
  readonly #limit: RateLimitSpec;
  readonly #failOpen: boolean;
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  #local: TokenBuckets | null = null;
  #sweeping = false;
  /** Tokens asked for at a time. */
  readonly batch: number;

  /** `prefix`: the Redis key of the action, to which each request's key is appended. */
  constructor(prefix: string, limit: RateLimitSpec, failOpen: boolean, link: BucketLink, maxKeys = MAX_KEYS) {
    this.#prefix = prefix;
    this.#limit = limit;
    this.#failOpen = failOpen;
    this.#link = link;
    this.#maxKeys = maxKeys;
    this.#ttlMs = bucketTtlMs(limit.rate, limit.burst);
    this.batch = Math.max(1, Math.min(Math.floor(limit.burst / 2), Math.floor(limit.rate / 10)));
  }

  /** How many keys hold tokens, an ask or a dry mark. */
  get size(): number {
    return this.#leases.size;
  }

  take(key: string): boolean | Promise<boolean> {
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (!this.#link.available) return this.#failOpen;
    if (lease !== undefined && lease.dryUntil > this.#link.clock.now()) return false;
    const l = lease ?? this.#newLease(key);
    if (l === null) return this.#failOpen;
    return new Promise((resolve) => {
      l.waiting.push(resolve);
      if (l.asking === 0) this.#ask(key, l);
    });
  }

  takeNow(key: string): boolean {
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (!this.#link.available) return this.#failOpen;
    if (lease !== undefined && lease.dryUntil > this.#link.clock.now()) return false;
    const l = lease ?? this.#newLease(key);
    if (l !== null && l.asking === 0) this.#ask(key, l);
    const now = () => this.#link.clock.now();
    this.#local ??= new TokenBuckets(this.#limit.rate, this.#limit.burst, now, this.#maxKeys);
    return this.#local.take(key);
  }

  #spend(key: string, lease: Lease): true {
    lease.tokens -= 1;
    // Running low: the next batch is asked for now, before a request has to wait for it.
    if (this.batch > 1 && lease.tokens < this.batch / 2 && lease.asking === 0 && this.#link.available) {
      if (lease.dryUntil <= this.#link.clock.now()) this.#ask(key, lease);
    }
    this.#forgetIfIdle(key, lease, this.#link.clock.now());
    return true;
  }

  #ask(key: string, lease: Lease): void {
    const want = Math.min(Math.max(this.batch, lease.waiting.length), Math.max(1, Math.floor(this.#limit.burst)));
    lease.asking = want;
    const { rate, burst } = this.#limit;
    this.#link.bucket(this.#prefix + key, rate, burst, want, this.#ttlMs).then(
      (got) => this.#granted(key, lease, want, got),
      () => this.#failed(key, lease),
    );
  }

  #granted(key: string, l: Lease, asked: number, got: number): void {
    const now = this.#link.clock.now();
    l.asking = 0;
    if (this.#leases.get(key) !== l) {
      // Evicted meanwhile: nobody here will spend them.
      if (got > 0) this.#giveBack(key, got);
      return;
    }
    l.tokens += got;
    l.until = now + LEASE_MS;
    if (got < asked) l.dryUntil = now + Math.min(DRY_MS, 1000 / this.#limit.rate);
    while (l.waiting.length > 0 && l.tokens >= 1) {
      l.tokens -= 1;
      l.waiting.shift()!(true);
    }
    if (l.waiting.length > 0) {
      // Dry: whoever still waits is refused. Otherwise more came than were asked for: ask again.
      if (l.dryUntil > now) { for (const resolve of l.waiting.splice(0)) resolve(false); }
      else this.#ask(key, l);
    }
    this.#forgetIfIdle(key, l, now);
  }

  /** No answer (Redis down, late, or an error): whoever waits is judged by on-error. */
  #failed(key: string, l: Lease): void {
    l.asking = 0;
    for (const resolve of l.waiting.splice(0)) resolve(this.#failOpen);
    if (this.#leases.get(key) === l) this.#forgetIfIdle(key, l, this.#link.clock.now());
  }

  #giveBack(key: string, n: number): void {
    if (!this.#link.available) return;
    const { rate, burst } = this.#limit;
    // Lost if Redis does not answer: the bucket then holds fewer tokens than it could, never more.
    this.#link.bucket(this.#prefix + key, rate, burst, -n, this.#ttlMs).catch(() => {});
  }

  #newLease(key: string): Lease | null {
    if (this.#leases.size >= this.#maxKeys) this.#evict();
    if (this.#leases.size >= this.#maxKeys) return null;
    const l: Lease = { tokens: 0, until: this.#link.clock.now() + LEASE_MS, dryUntil: 0, waiting: [], asking: 0 };
    this.#leases.set(key, l);
    if (!this.#sweeping) {
      this.#sweeping = true;
      this.#link.clock.setTimeout(() => this.#sweep(), LEASE_MS / 2);
    }
    return l;
  }

  /** Every LEASE_MS / 2 while keys hold leases: old leases give their tokens back, idle ones go. */
  #sweep(): void {
    this.#sweeping = false;
    const now = this.#link.clock.now();
    for (const [key, l] of this.#leases) {
      if (l.until > now) continue;
      if (l.tokens >= 1) this.#giveBack(key, Math.floor(l.tokens));
      l.tokens = 0;
      this.#forgetIfIdle(key, l, now);
    }
    if (this.#leases.size > 0) {
      this.#sweeping = true;
      this.#link.clock.setTimeout(() => this.#sweep(), LEASE_MS / 2);
    }
  }

  /** Frees a tenth of the table: the oldest leases nobody waits on go, their tokens back. */
  #evict(): void {
    const target = this.#maxKeys - Math.max(1, Math.floor(this.#maxKeys / 10));
    for (const [key, l] of this.#leases) {
      if (this.#leases.size <= target) break;
      if (l.asking > 0 || l.waiting.length > 0) continue;
      if (l.tokens >= 1) this.#giveBack(key, Math.floor(l.tokens));
      this.#leases.delete(key);
    }
  }

  /** A lease with no token, no ask, nobody waiting and no dry mark says nothing: forgotten. */
  #forgetIfIdle(key: string, l: Lease, now: number): void {
    if (l.tokens >= 1 || l.asking > 0 || l.waiting.length > 0 || l.dryUntil > now) return;
    this.#leases.delete(key);
  }
}
