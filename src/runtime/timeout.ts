/**
 * Races a pending resource against a timer. When the timer wins, the promise rejects
 * with "`what` timed out after `ms`ms", and the resource that arrives later is handed
 * to `dispose`, so a slow connect that succeeds after its timeout does not leak a
 * socket. A resource in time is handed to `take` and resolves as what it returns (the
 * adapter's own connection object, without a promise and an await of its own).
 *
 * Every connect has a timeout and nearly all of them finish long before it, so no
 * timer is made per call: races with the same `ms` wait in one queue, in the order of
 * their deadlines, with one timer for the oldest pending one (see TimeoutQueue).
 */
export function withTimeout<T, R>(
  pending: Promise<T>,
  ms: number,
  what: string,
  dispose: (value: T) => void,
  take: (value: T) => R,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const entry = TimeoutQueue.for(ms).add(() => reject(new Error(`${what} timed out after ${ms}ms`)));
    pending.then(
      (value) => {
        if (entry.settle()) resolve(take(value));
        else dispose(value);
      },
      (err) => {
        if (entry.settle()) reject(err);
      },
    );
  });
}

/**
 * Calls `expire` `ms` from now unless the returned deadline is settled first (settle()
 * is then true): withTimeout's shared timer per duration, for a wait that is not one
 * promise. Cheap to set and settle once per request.
 */
export function deadline(ms: number, expire: () => void): { settle(): boolean } {
  return TimeoutQueue.for(ms).add(expire);
}

class Entry {
  /**
   * Dropped once the race is decided: a settled entry may wait in its queue for a
   * while (behind older ones), and through this closure it would keep the promise
   * and the connection it resolved to alive, past the young generation's collections
   * (on Bun, 4 MB more per collection under new connections, each needing a full one).
   */
  #expire: (() => void) | null;

  readonly #queue: TimeoutQueue;
  constructor(readonly at: number, expire: () => void, queue: TimeoutQueue) {
    this.#queue = queue;
    this.#expire = expire;
  }

  /** Ends the race for the resource; false when the timeout already won it. */
  settle(): boolean {
    if (this.#expire === null) return false;
    this.#expire = null;
    this.#queue.settled();
    return true;
  }

  /** Ends the race for the timer, unless the resource already won it. */
  fire(): void {
    const expire = this.#expire;
    if (expire === null) return;
    this.#expire = null;
    expire();
  }

  get done(): boolean {
    return this.#expire === null;
  }
}

/**
 * Deadlines of one length: added in order, so the oldest always expires first.
 *
 * The timer is left running when the queue empties, and re-armed only when it fires
 * with races still pending: connects come and go faster than their timeout, and a
 * timer set and cleared per connect costs 0.3 µs on Bun and 4.7 µs on Deno. It does
 * not keep the process running by itself (a pending connect's socket does).
 */
class TimeoutQueue {
  static readonly #byMs = new Map<number, TimeoutQueue>();

  static for(ms: number): TimeoutQueue {
    let q = TimeoutQueue.#byMs.get(ms);
    if (!q) TimeoutQueue.#byMs.set(ms, q = new TimeoutQueue(ms));
    return q;
  }

  readonly #entries: Entry[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  readonly #ms: number;

  // `private`, not `#`: JavaScript has no private constructors. One queue per duration, through `for`.
  private constructor(ms: number) {
    this.#ms = ms;
  }

  add(expire: () => void): Entry {
    const entry = new Entry(performance.now() + this.#ms, expire, this);
    this.#entries.push(entry);
    // A running timer is due no later than this deadline: it was set for an older one.
    if (this.#timer === null) this.#arm();
    return entry;
  }

  /** Drops settled races from the front, so the queue holds about what is pending. */
  settled(): void {
    const list = this.#entries;
    while (this.#head < list.length && list[this.#head].done) this.#head++;
    if (this.#head === list.length) {
      list.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > list.length) {
      list.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #arm(): void {
    const first = this.#entries[this.#head];
    this.#timer = unref(setTimeout(() => this.#expire(), Math.max(0, first.at - performance.now())));
  }

  #expire(): void {
    this.#timer = null;
    const now = performance.now();
    const list = this.#entries;
    while (this.#head < list.length && (list[this.#head].done || list[this.#head].at <= now)) {
      list[this.#head++].fire();
    }
    this.settled();
    if (this.#head < list.length && this.#timer === null) this.#arm();
  }
}

/** Lets the process end while `timer` is pending (Bun's timers have unref; Deno's are ids). */
export function unref(timer: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> {
  if (typeof timer === "number") (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(timer);
  else (timer as { unref?: () => void }).unref?.();
  return timer;
}
