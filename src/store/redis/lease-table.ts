/**
 * One rate-limit action counted in Redis (`rate-limit: { store: redis://... }`): per key,
 * the tokens this vane took from the shared bucket (bucket-script.ts) a batch at a time.
 * A request spends one at once; when the batch runs low the next one is asked for in
 * the background, so most requests pay no Redis round trip. The same lease bookkeeping
 * as a worker's under `--workers N` (flow/lease-table.ts), with Redis as the primary:
 * this file is how a batch is asked for (a bucket-script call) and what is judged
 * without one.
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
import { LEASE_MS, LeaseTable } from "../../flow/lease-table.ts";
import { bucketTtlMs } from "./bucket-script.ts";
import type { Clock } from "../../runtime/clock.ts";

export { DRY_MS, LEASE_MS } from "../../flow/lease-table.ts";

/** What a table needs of its Redis (link.ts is the real one; a test passes a fake). */
export interface BucketLink {
  readonly clock: Clock;
  /** Whether asking is worth it now (false while Redis is known to be down). */
  readonly available: boolean;
  /** Takes up to `n` tokens of bucket `key` (negative: gives `-n` back): how many it got. */
  bucket(key: string, rate: number, burst: number, n: number, ttlMs: number): Promise<number>;
}

export class RedisLeaseTable implements RateStore {
  readonly #leases: LeaseTable;
  readonly #link: BucketLink;
  readonly #prefix: string;
  readonly #limit: RateLimitSpec;
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
    this.#link = link;
    this.#maxKeys = maxKeys;
    this.#ttlMs = bucketTtlMs(limit.rate, limit.burst);
    this.batch = Math.max(1, Math.min(Math.floor(limit.burst / 2), Math.floor(limit.rate / 10)));
    const source = {
      clock: link.clock,
      get available() {
        return link.available;
      },
      want: (key: string) => this.#ask(key),
      back: (key: string, n: number) => this.#giveBack(key, n),
      active: (on: boolean) => this.#active(on),
    };
    const fallback = { judge: () => failOpen, judgeNow: (key: string) => this.#localTake(key) };
    this.#leases = new LeaseTable(limit, this.batch, source, fallback, { maxKeys, askEarly: true });
  }

  /** How many keys hold tokens, an ask or a dry mark. */
  get size(): number {
    return this.#leases.size;
  }

  take(key: string): boolean | Promise<boolean> {
    return this.#leases.take(key);
  }

  takeNow(key: string): boolean {
    return this.#leases.takeNow(key);
  }

  /** One round trip: a batch for `key`, or a failure (Redis down, late, or an error) judged by on-error. */
  #ask(key: string): void {
    const want = this.#leases.startAsk(key);
    if (want === 0) return;
    const askId = this.#leases.askOf(key);
    const { rate, burst } = this.#limit;
    this.#link.bucket(this.#prefix + key, rate, burst, want, this.#ttlMs).then(
      (got) => this.#leases.granted(key, got),
      () => this.#leases.failed(key, askId),
    );
  }

  #giveBack(key: string, n: number): void {
    if (!this.#link.available) return;
    const { rate, burst } = this.#limit;
    // Lost if Redis does not answer: the bucket then holds fewer tokens than it could, never more.
    this.#link.bucket(this.#prefix + key, rate, burst, -n, this.#ttlMs).catch(() => {});
  }

  /** UDP's takeNow for a key with no tokens yet: this vane's own bucket of the whole limit. */
  #localTake(key: string): boolean {
    const now = () => this.#link.clock.now();
    this.#local ??= new TokenBuckets(this.#limit.rate, this.#limit.burst, now, this.#maxKeys);
    return this.#local.take(key);
  }

  #active(on: boolean): void {
    if (!on || this.#sweeping) return;
    this.#sweeping = true;
    this.#link.clock.setTimeout(() => this.#sweep(), LEASE_MS / 2);
  }

  /** Every LEASE_MS / 2 while keys hold leases: old leases give their tokens back, idle ones go. */
  #sweep(): void {
    this.#sweeping = false;
    this.#leases.sweep();
    if (this.#leases.size > 0) this.#active(true);
  }
}
