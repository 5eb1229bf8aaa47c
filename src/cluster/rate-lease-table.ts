/**
 * One rate limit in a worker of `--workers N`: per key, the tokens this worker leased
 * from the primary's authoritative bucket (cluster/rate-authority.ts). A request takes
 * one from the lease at once; when the lease is spent the request waits for the next
 * one, asked with the other keys of the same turn in one message (cluster/rate-leases.ts).
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
import type { LimitId } from "./rate-messages.ts";

/** How long leased tokens may sit unused in a worker before they go back to the primary. */
export const LEASE_MS = 1000;
/** How long a request waits for the primary's answer before its worker judges alone. */
export const ASK_TIMEOUT_MS = 500;
/** How long a worker refuses a key by itself after the primary said its bucket is dry, at most. */
export const DRY_MS = 100;

/** What the tables of a worker share: the clock, and the way to the primary (cluster/rate-leases.ts). */
export interface LeaseLink {
  readonly clock: Clock;
  /** The primary is gone: every table counts alone, with its share. */
  readonly lost: boolean;
  /** Asks for tokens for `key` in this turn's message (the amount is settled as it goes: `startAsk`). */
  want(table: LeaseTable, key: string): void;
  /** Gives `n` unused tokens back in this turn's message. */
  back(table: LeaseTable, key: string, n: number): void;
  /** The table holds leases (grants must reach it, its leases expire) or none any more. */
  active(table: LeaseTable, on: boolean): void;
}

interface Lease {
  tokens: number;
  /** When unused tokens go back to the primary, in ms of the clock. */
  until: number;
  /** Until when the primary's bucket counts as dry (refused without asking). */
  dryUntil: number;
  /** Requests waiting for the answer to an ask, in order. */
  waiting: Array<(ok: boolean) => void>;
  /** Tokens asked and not yet answered; 0: no ask out. */
  asking: number;
  /** Which ask is out, so a timeout does not judge a later one. */
  askId: number;
}

let nextAskId = 1;

export class LeaseTable implements RateStore {
  /** Leases by key, least recently granted first. */
  readonly #leases = new Map<string, Lease>();
  readonly #link: LeaseLink;
  readonly #workers: number;
  readonly #maxKeys: number;
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
    this.#link = link;
    this.#workers = Math.max(1, workers);
    this.#maxKeys = maxKeys;
    const ofBurst = Math.floor(limit.burst / (2 * this.#workers));
    const ofRate = Math.ceil((limit.rate * LEASE_MS) / 1000);
    this.batch = Math.max(1, Math.min(ofBurst, ofRate));
  }

  /** How many keys hold a lease (or an ask, or a dry mark). */
  get size(): number {
    return this.#leases.size;
  }

  take(key: string): boolean | Promise<boolean> {
    if (this.#link.lost) return this.#shareTake(key);
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (lease !== undefined && lease.dryUntil > this.#link.clock.now()) return false;
    const l = lease ?? this.#newLease(key);
    if (l === null) return this.#shareTake(key);
    return new Promise((resolve) => {
      l.waiting.push(resolve);
      if (l.asking === 0) this.#link.want(this, key);
    });
  }

  takeNow(key: string): boolean {
    if (this.#link.lost) return this.#shareTake(key);
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.tokens >= 1) return this.#spend(key, lease);
    if (lease !== undefined && lease.dryUntil > this.#link.clock.now()) return false;
    // No answer can wait here: judged on the share, and a lease asked for the next time.
    const l = lease ?? this.#newLease(key);
    if (l !== null && l.asking === 0) this.#link.want(this, key);
    return this.#shareTake(key);
  }

  /** The ask for `key` goes out now: how many tokens (0: none needed any more). */
  startAsk(key: string): number {
    const l = this.#leases.get(key);
    if (l === undefined || l.asking > 0) return 0;
    l.asking = Math.min(Math.max(this.batch, l.waiting.length), Math.max(1, Math.floor(this.limit.burst)));
    l.askId = nextAskId++;
    return l.asking;
  }

  /** Which ask is out for `key` (0: none), for `timedOut`. */
  askOf(key: string): number {
    const l = this.#leases.get(key);
    return l !== undefined && l.asking > 0 ? l.askId : 0;
  }

  /** The primary's answer for `key`: `granted` tokens. */
  granted(key: string, granted: number): void {
    const l = this.#leases.get(key);
    if (l === undefined) {
      if (granted > 0) this.#link.back(this, key, granted);
      return;
    }
    const now = this.#link.clock.now();
    const asked = l.asking;
    l.asking = 0;
    l.tokens += granted;
    l.until = now + LEASE_MS;
    if (asked > 0 && granted < asked) l.dryUntil = now + Math.min(DRY_MS, 1000 / this.limit.rate);
    // Least recently granted first: the sweep finds the old ones at the front.
    this.#leases.delete(key);
    this.#leases.set(key, l);
    while (l.waiting.length > 0 && l.tokens >= 1) {
      l.tokens -= 1;
      l.waiting.shift()!(true);
    }
    if (l.waiting.length > 0) {
      // Dry: whoever still waits is refused. Otherwise more came than were asked for: ask again.
      if (l.dryUntil > now) this.#judge(l.waiting.splice(0), () => false);
      else this.#link.want(this, key);
    }
    this.#forgetIfIdle(key, l, now);
  }

  /** Ask `askId` for `key` went unanswered too long: its waiting requests are judged on the share. */
  timedOut(key: string, askId: number): void {
    const l = this.#leases.get(key);
    if (l === undefined || l.asking === 0 || l.askId !== askId) return;
    l.asking = 0;
    this.#judge(l.waiting.splice(0), () => this.#shareTake(key));
    this.#forgetIfIdle(key, l, this.#link.clock.now());
  }

  /** The primary is gone: whoever waits is judged on the share, and the leases are forgotten. */
  lose(): void {
    for (const [key, l] of this.#leases) this.#judge(l.waiting.splice(0), () => this.#shareTake(key));
    this.#leases.clear();
    this.#link.active(this, false);
  }

  /** Gives back the tokens of leases older than LEASE_MS and forgets the idle ones. */
  sweep(): void {
    const now = this.#link.clock.now();
    for (const [key, l] of this.#leases) {
      if (l.until > now) continue;
      if (l.tokens >= 1) this.#link.back(this, key, Math.floor(l.tokens));
      l.tokens = 0;
      this.#forgetIfIdle(key, l, now);
    }
  }

  #spend(key: string, lease: Lease): true {
    lease.tokens -= 1;
    this.#forgetIfIdle(key, lease, this.#link.clock.now());
    return true;
  }

  #shareTake(key: string): boolean {
    this.#share ??= new TokenBuckets(
      this.limit.rate / this.#workers,
      Math.max(1, Math.floor(this.limit.burst / this.#workers)),
      () => this.#link.clock.now(),
      this.#maxKeys,
    );
    return this.#share.take(key);
  }

  #judge(waiting: Array<(ok: boolean) => void>, verdict: () => boolean): void {
    for (const resolve of waiting) resolve(verdict());
  }

  /** A lease for a new key, or null when the table is full of keys waiting for answers. */
  #newLease(key: string): Lease | null {
    if (this.#leases.size >= this.#maxKeys) this.#evict();
    if (this.#leases.size >= this.#maxKeys) return null;
    const l: Lease = {
      tokens: 0,
      until: this.#link.clock.now() + LEASE_MS,
      dryUntil: 0,
      waiting: [],
      asking: 0,
      askId: 0,
    };
    this.#leases.set(key, l);
    if (this.#leases.size === 1) this.#link.active(this, true);
    return l;
  }

  /** Frees a tenth of the table: the oldest leases nobody waits on go, their tokens back to the primary. */
  #evict(): void {
    const target = this.#maxKeys - Math.max(1, Math.floor(this.#maxKeys / 10));
    for (const [key, l] of this.#leases) {
      if (this.#leases.size <= target) break;
      if (l.asking > 0 || l.waiting.length > 0) continue;
      if (l.tokens >= 1) this.#link.back(this, key, Math.floor(l.tokens));
      this.#leases.delete(key);
    }
  }

  /** A lease with no token, no ask, nobody waiting and no dry mark says nothing: forgotten. */
  #forgetIfIdle(key: string, l: Lease, now: number): void {
    if (l.tokens >= 1 || l.asking > 0 || l.waiting.length > 0 || l.dryUntil > now) return;
    this.#leases.delete(key);
    if (this.#leases.size === 0) this.#link.active(this, false);
  }
}
