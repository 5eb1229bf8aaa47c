/**
 * A pool's retries at run time (`retries`, `retry-budget`, `retry-backoff`): Envoy's
 * retry budget, so that retries cannot multiply the load on a pool already failing
 * (a retry storm), and full-jitter exponential backoff between a failure and its
 * retry, so that the retries of many clients do not arrive in step. Nothing here runs
 * unless a request failed.
 */
import { DEFAULT_RETRY_ON, type RetryOn, type RetryPolicy } from "../config/model.ts";

/** RFC 9110 §9.2.2: safe to send twice. */
export const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * Whether the pool lets a request that failed with `cause`, retried `retries` times so
 * far, go on once more: its `retry-on` names the cause and its `retries` is not spent
 * (one retry when the route has no RetryControl). Whether the request itself may go
 * again (its method, its body, what the client had of an answer) is the caller's.
 */
export function poolRetries(
  route: { readonly retryOn?: readonly RetryOn[]; readonly retry?: RetryControl },
  retries: number,
  cause: RetryOn,
): boolean {
  return retries < (route.retry?.policy.retries ?? 1) && (route.retryOn ?? DEFAULT_RETRY_ON).includes(cause);
}

/**
 * Whether one more retry may start: retries in flight stay below `percent` of the
 * requests in flight, or `min`, whichever allows more.
 */
export function budgetAllows(retriesInFlight: number, requestsInFlight: number, percent: number, min: number): boolean {
  return retriesInFlight < Math.max(min, Math.floor((requestsInFlight * percent) / 100));
}

/** The longest wait before the `retry`-th retry (1 for the first): base × 2^(retry − 1), capped. */
export function backoffCap(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.backoffMaxMs, policy.backoffMs * 2 ** Math.max(0, retry - 1));
}

/** The retry budget of one route (one pool in one config generation), and its backoff. */
export class RetryControl {
  #inFlight = 0;
  readonly #requestsInFlight: () => number;
  readonly #random: () => number;

  /**
   * @param requestsInFlight The pool's requests in flight now (asked only when a retry is considered).
   * @param random In [0, 1), for the jitter. @default Math.random
   */
  constructor(readonly policy: RetryPolicy, requestsInFlight: () => number, random: () => number = Math.random) {
    this.#requestsInFlight = requestsInFlight;
    this.#random = random;
  }

  /** Retries of this route in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes one retry from the budget (give it back with `done`), or false when it is spent. */
  take(): boolean {
    const { budgetPercent, budgetMin } = this.policy;
    if (!budgetAllows(this.#inFlight, this.#requestsInFlight(), budgetPercent, budgetMin)) return false;
    this.#inFlight++;
    return true;
  }

  /** A request that took a retry is over. */
  done(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** The wait before the `retry`-th retry: full jitter, uniform in [0, backoffCap). */
  backoffMs(retry: number): number {
    return Math.floor(this.#random() * backoffCap(this.policy, retry));
  }
}

/** Requests in flight to a pool: its targets' leased connections. */
export function leased(entries: readonly { activeConnections: number }[]): number {
  let n = 0;
  for (const e of entries) n += e.activeConnections;
  return n;
}

/**
 * The targets a retry avoids: every one tried so far, or, once they are all of the
 * pool's targets (`size`), only the last one, so that a retry still has somewhere to go.
 */
export function avoided<T>(tried: readonly T[], size: number): Set<T> {
  const set = new Set(tried);
  return set.size < size ? set : new Set([tried[tried.length - 1]]);
}
