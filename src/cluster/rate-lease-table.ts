/**
 * One rate limit in a worker of `--workers N`: per key, the tokens this worker leased
 * from the primary's authoritative bucket (cluster/rate-authority.ts). A request takes
 * one from the lease at once; when the lease is spent the request waits for the next
 * one, asked with the other keys of the same turn in one message (cluster/rate-leases.ts).
 * The lease bookkeeping is flow/lease-table.ts's, shared with the Redis store; this file
 * is the worker's side of it: the batch size, the share it falls back to, and the hooks
 * rate-leases.ts drives (asks by message, with ids and a timeout).
 *
 * The arithmetic, and why it is exact enough:
 * - A lease is a batch: a share of the burst (burst / 2N) but no more than the rate
 *   brings in a lease's time, at least one token. More requests waiting than that ask
 *   for as many as wait.
 * - Every token admitted came out of the primary's bucket once, so the host admits at
 *   most what one process would. Unused tokens go back after LEASE_MS; until then the
 *   host may admit less than one process would, by at most a batch per worker and key.
 * - A grant short of the ask means the bucket is dry: the requests still waiting are
 *   refused, and so are new ones for DRY_MS at most (shorter than a token takes to come
 *   back at the rate), so a flood of refused requests costs one message per key and
 *   DRY_MS, not one per request.
 * - An answer later than ASK_TIMEOUT_MS (a stalled primary), or a primary gone, has the
 *   waiting requests judged on this worker's share, rate/N and burst/N, counted alone.
 */
import type { Clock } from "../runtime/clock.ts";
import { MAX_KEYS, TokenBuckets } from "../flow/rate-limit.ts";
import type { RateLimitSpec, RateStore } from "../flow/rate-store.ts";
import { LEASE_MS, LeaseTable } from "../flow/lease-table.ts";
import type { LimitId } from "./rate-messages.ts";

export { DRY_MS, LEASE_MS } from "../flow/lease-table.ts";
/** How long a request waits for the primary's answer before its worker judges alone. */
export const ASK_TIMEOUT_MS = 500;

/** What the tables of a worker share: the clock, and the way to the primary (cluster/rate-leases.ts). */
export interface LeaseLink {
  readonly clock: Clock;
  /** The primary is gone: every table counts alone, with its share. */
  readonly lost: boolean;
  /** Asks for tokens for `key` in this turn's message (the amount is settled as it goes: `startAsk`). */
  want(table: WorkerLeaseTable, key: string): void;
  /** Gives `n` unused tokens back in this turn's message. */
  back(table: WorkerLeaseTable, key: string, n: number): void;
  /** The table holds leases (grants must reach it, its leases expire) or none any more. */
  active(table: WorkerLeaseTable, on: boolean): void;
}

export class WorkerLeaseTable implements RateStore {
  readonly #leases: LeaseTable;
  readonly #workers: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;
  /** This worker's share of the limit, used alone (see the top of the file); made on first use. */
  #share: TokenBuckets | null = null;
  /** Tokens asked for at a time. */
  readonly batch: number;

  constructor(
    readonly id: LimitId,
    readonly limit: RateLimitSpec,
    workers: number,
    link: LeaseLink,
    maxKeys = MAX_KEYS,
  ) {
    this.#workers = Math.max(1, workers);
    this.#maxKeys = maxKeys;
    this.#clock = link.clock;
    const ofBurst = Math.floor(limit.burst / (2 * this.#workers));
    const ofRate = Math.ceil((limit.rate * LEASE_MS) / 1000);
    this.batch = Math.max(1, Math.min(ofBurst, ofRate));
    const source = {
      clock: link.clock,
      get available() {
        return !link.lost;
      },
      want: (key: string) => link.want(this, key),
      back: (key: string, n: number) => link.back(this, key, n),
      active: (on: boolean) => link.active(this, on),
    };
    const share = (key: string) => this.#shareTake(key);
    // Leases by key, least recently granted first: a full table frees the old ones.
    const options = { maxKeys, orderByGrant: true };
    this.#leases = new LeaseTable(limit, this.batch, source, { judge: share, judgeNow: share }, options);
  }

  /** How many keys hold a lease (or an ask, or a dry mark). */
  get size(): number {
    return this.#leases.size;
  }

  take(key: string): boolean | Promise<boolean> {
    return this.#leases.take(key);
  }

  takeNow(key: string): boolean {
    return this.#leases.takeNow(key);
  }

  /** The ask for `key` goes out now: how many tokens (0: none needed any more). */
  startAsk(key: string): number {
    return this.#leases.startAsk(key);
  }

  /** Which ask is out for `key` (0: none), for `timedOut`. */
  askOf(key: string): number {
    return this.#leases.askOf(key);
  }

  /** The primary's answer for `key`: `granted` tokens. */
  granted(key: string, granted: number): void {
    this.#leases.granted(key, granted);
  }

  /** Ask `askId` for `key` went unanswered too long: its waiting requests are judged on the share. */
  timedOut(key: string, askId: number): void {
    this.#leases.failed(key, askId);
  }

  /** The primary is gone: whoever waits is judged on the share, and the leases are forgotten. */
  lose(): void {
    this.#leases.lose();
  }

  /** Gives back the tokens of leases older than LEASE_MS and forgets the idle ones. */
  sweep(): void {
    this.#leases.sweep();
  }

  #shareTake(key: string): boolean {
    this.#share ??= new TokenBuckets(
      this.limit.rate / this.#workers,
      Math.max(1, Math.floor(this.limit.burst / this.#workers)),
      () => this.#clock.now(),
      this.#maxKeys,
    );
    return this.#share.take(key);
  }
}
