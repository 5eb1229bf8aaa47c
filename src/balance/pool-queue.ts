/**
 * A pool's queue for `maxconn` (HAProxy's backend queue): a request or connection that
 * finds every eligible target at its maxconn waits here, in arrival order, instead of
 * failing. At most `maxqueue` wait (one more is refused at once: 503, or a closed L4
 * connection), each at most `queue-timeout` (then refused too). A slot given back is
 * offered to the waiters oldest first (Pool.give); the queue itself never picks.
 */
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Failure } from "../errors/mod.ts";

/** Why a pool with `maxconn` gave a request no target: its queue was full, or the wait timed out. */
export interface QueueRefusal extends Failure {
  readonly queue: "full" | "timeout";
}

/** A waiting request: what it asked of the pool, and how it is answered. */
export interface Waiter<A, T> {
  readonly args: A;
  settle(value: T | QueueRefusal): void;
  timer: TimerHandle;
}

/** What an offer did for one waiter besides serving it: passed it over, or found no room for anyone (stop). */
export type OfferResult = "passed" | "stop";

export class PoolQueue<A, T> {
  readonly #waiters: Array<Waiter<A, T>> = [];
  /** Refused since start, because the queue was full or the wait timed out (for /status and metrics). */
  readonly rejected = { full: 0, timeout: 0 };

  constructor(
    readonly maxqueue: number,
    readonly timeoutMs: number,
    readonly clock: Clock,
  ) {}

  /** Requests waiting now. */
  get length(): number {
    return this.#waiters.length;
  }

  /**
   * Waits in line with `args` until a slot is offered (resolves with what the offer
   * gave) or the timeout passes; refused at once when `maxqueue` already wait.
   */
  enter(args: A): Promise<T | QueueRefusal> | QueueRefusal {
    if (this.#waiters.length >= this.maxqueue) {
      this.rejected.full++;
      return { ok: false, reason: `the queue is full (maxqueue ${this.maxqueue})`, queue: "full" };
    }
    return new Promise((resolve) => {
      const waiter: Waiter<A, T> = { args, settle: resolve, timer: null };
      waiter.timer = this.clock.setTimeout(() => this.#expire(waiter), this.timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Offers a freed slot to the waiters, oldest first: `offer` serves one (settling it),
   * passes it over (what it asked cannot use this room, e.g. it excludes the target),
   * or says there is no room left for anyone.
   */
  offer(serve: (args: A) => { value: T } | OfferResult): void {
    for (let i = 0; i < this.#waiters.length;) {
      const waiter = this.#waiters[i];
      const got = serve(waiter.args);
      if (got === "stop") return;
      if (got === "passed") {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      this.clock.clearTimeout(waiter.timer);
      waiter.settle(got.value);
    }
  }

  #expire(waiter: Waiter<A, T>): void {
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return;
    this.#waiters.splice(at, 1);
    this.rejected.timeout++;
    waiter.settle({
      ok: false,
      reason: `no target had room within the queue timeout (${this.timeoutMs} ms)`,
      queue: "timeout",
    });
  }
}
