/**
 * A connection that can give bytes back. Protocol detection reads a client's first
 * bytes, then `unread()`s them so whatever forwards the connection reads them again
 * first, untouched. A read that outlives a deadline stays pending here and is handed
 * to the next `read()`, so no bytes are lost and no two reads race on the socket; or a
 * deadline closes the connection (`closeAt`), which is all a wait for an HTTP head needs.
 */
import type { ReadNext, SocketAddress, TcpConn } from "../runtime/types.ts";
import { type Clock, DEADLINE_CLOCK, type TimerHandle } from "../runtime/clock.ts";
import { allocBytes } from "../runtime/byte-arrays.ts";

/**
 * The buffer outBuffer hands out, shared by every connection whose inner connection
 * has writeRange: that copies what it cannot write at once, so the buffer is free again
 * when writeOut returns, and filling it and writing it out are one synchronous step.
 */
let shared = new Uint8Array(4096);
/** A head this long or longer gets a buffer of its own rather than growing the shared one. */
const SHARED_MAX = 64 * 1024;

/**
 * The connection as a ReplayConn, wrapping it only if it is not one already (one
 * already wrapped keeps its own clock).
 */
export function asReplay(conn: TcpConn, clock: Clock = DEADLINE_CLOCK): ReplayConn {
  return conn instanceof ReplayConn ? conn : new ReplayConn(conn, clock);
}

/** Told when a watched connection's read ends with nobody reading (see ReplayConn.watch). */
export interface IdleWatcher {
  idleEnded(): void;
}

/** Never added to: a ReplayConn makes its own list at its first unread(). */
const NONE_GIVEN_BACK: Uint8Array[] = [];

/** Nothing held (see ReplayConn's #held). */
const NOTHING = undefined;

export class ReplayConn implements TcpConn {
  /** Bytes given back, oldest first; the shared empty list until there are any (most never have). */
  #replay: Uint8Array[] = NONE_GIVEN_BACK;
  #pending: Promise<Uint8Array | null> | null = null;
  /**
   * A watch's callback read on the inner connection is in flight: its result goes to
   * `#deliver` if a read waits for it, else it is held for the next one.
   */
  #inFlight = false;
  #deliver: ReadNext | null = null;
  #held: Uint8Array | null | Error | typeof NOTHING = NOTHING;
  /** Told when the watched read ends with nobody reading (see watch). */
  #watcher: IdleWatcher | null = null;
  /** Made once per connection: the watched read's callback. */
  #arrived: ReadNext | null = null;

  readonly #inner: TcpConn;
  /**
   * `clock`: what deadlines (`readBy`, `closeAt`) are times of, and what arms their
   * timer; callers compute deadlines with this same clock (`conn.clock.now()`). By
   * default DEADLINE_CLOCK (runtime/clock.ts), read once per batch of events where that pays.
   */
  readonly clock: Clock;
  constructor(inner: TcpConn, clock: Clock = DEADLINE_CLOCK) {
    this.#inner = inner;
    this.clock = clock;
  }

  get remote(): SocketAddress {
    return this.#inner.remote;
  }
  get local(): SocketAddress {
    return this.#inner.local;
  }
  get closed(): Promise<void> {
    return this.#inner.closed;
  }

  /** Bytes handed out again before anything new; the caller passes its own copy. */
  unread(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#replay === NONE_GIVEN_BACK) this.#replay = [];
    this.#replay.unshift(bytes);
  }

  /** Drops `n` bytes from the front of what would be replayed (a header consumed by vane). */
  skip(n: number): void {
    while (n > 0 && this.#replay.length > 0) {
      const first = this.#replay[0];
      if (first.length <= n) {
        n -= first.length;
        this.#replay.shift();
      } else {
        this.#replay[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  /** A read now would be answered at once, from bytes or an end already in hand (no wait, no deadline needed). */
  get buffered(): boolean {
    return this.#replay.length > 0 || this.#held !== NOTHING;
  }

  /** Who watched this connection last (see watch): a pool may reuse what it left there. */
  get watcher(): IdleWatcher | null {
    return this.#watcher;
  }

  /** Whether `readNext` goes without promises (the inner connection has it). */
  /** The connection this one wraps (an HTTP/2 stream may take more than bytes: http/types.ts HeadTaker). */
  get inner(): TcpConn {
    return this.#inner;
  }

  get callbacks(): boolean {
    return this.#inner.readNext !== undefined;
  }

  read(): Promise<Uint8Array | null> {
    // (shift() on the usual empty list is not free: looked at first.)
    if (this.#replay.length > 0) return Promise.resolve(this.#replay.shift()!);
    // A watch's read, held or in flight (only on a connection with readNext).
    if (this.#held !== NOTHING || this.#inFlight) {
      return new Promise((resolve, reject) => this.readNext((r) => r instanceof Error ? reject(r) : resolve(r)));
    }
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = null;
      return p;
    }
    return this.#inner.read();
  }

  /** `read()` to a callback (see TcpConn.readNext); through a promise when the inner connection has no readNext. */
  readNext(next: ReadNext): void {
    if (this.#replay.length > 0) return next(this.#replay.shift()!);
    if (this.#held !== NOTHING) {
      const held = this.#held;
      this.#held = NOTHING;
      return next(held);
    }
    if (this.#inFlight) {
      this.#deliver = next;
      return;
    }
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = null;
      p.then(next, next);
      return;
    }
    if (this.#inner.readNext !== undefined) return this.#inner.readNext(next);
    this.#inner.read().then(next, next);
  }

  /**
   * Starts a read now, if none is in flight, and keeps its result for the next read.
   * An idle pooled connection watches this way: data or EOF while idle means it is
   * over, and `watcher` is told when the read ends before anyone reads (a reader that
   * came first gets the result instead). An object rather than a callback: a pooled
   * connection is watched once per request, and a closure per watch was garbage.
   */
  watch(watcher: IdleWatcher): void {
    this.#watcher = watcher;
    // Bytes or an end already in hand: over before it began.
    if (this.#replay.length > 0 || this.#held !== NOTHING) return watcher.idleEnded();
    if (this.#pending !== null) {
      const ended = () => watcher.idleEnded();
      this.#pending.then(ended, ended);
      return;
    }
    if (this.#inFlight) return; // its end reaches #watcher
    if (this.#inner.readNext === undefined) {
      const p = this.#inner.read();
      this.#pending = p;
      const ended = () => watcher.idleEnded();
      p.then(ended, ended);
      return;
    }
    this.#inFlight = true;
    this.#inner.readNext(
      this.#arrived ??= (r) => {
        this.#inFlight = false;
        const deliver = this.#deliver;
        if (deliver !== null) {
          this.#deliver = null;
          return deliver(r);
        }
        this.#held = r;
        this.#watcher?.idleEnded();
      },
    );
  }

  /**
   * `read()` with a deadline: "timeout" when nothing came within `ms`. The chunk a
   * timed-out read brings later is what the next `read()` returns.
   *
   * There is no timer per call: one timer per connection is re-armed lazily, and when
   * it fires it times out the waiting read only if that read's own deadline has passed.
   */
  readWithin(ms: number): Promise<Uint8Array | null | "timeout"> {
    return this.readBy(this.clock.now() + ms);
  }

  /** `readWithin` to an absolute deadline (a `clock.now()` time). */
  readBy(deadline: number): Promise<Uint8Array | null | "timeout"> {
    const p = this.read();
    this.#deadline = deadline;
    if (this.#timer === null || this.#timerAt > deadline) this.#arm(deadline);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, p };
      this.#waiter = waiter;
      p.then(
        (chunk) => {
          if (this.#waiter !== waiter) return;
          this.#waiter = null;
          // At the end of the stream no deadline is needed any more: free the timer now.
          if (chunk === null) this.#disarm();
          resolve(chunk);
        },
        (err) => {
          if (this.#waiter !== waiter) return;
          this.#waiter = null;
          this.#disarm();
          reject(err);
        },
      );
    });
  }

  /**
   * Closes the connection at `at` (a `clock.now()` time) unless `clearCloseAt()`
   * comes first: how the HTTP engine bounds its waits for a head without wrapping
   * each read. A read pending then ends (null, or an error), and `timedOut` says why.
   * Shares the lazily re-armed timer of `readBy`.
   */
  closeAt(at: number): void {
    this.#closeAt = at;
    if (this.#timer === null || this.#timerAt > at) this.#arm(at);
  }

  clearCloseAt(): void {
    this.#closeAt = Infinity;
  }

  /** The connection was closed by `closeAt`. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  #waiter: { resolve: (r: "timeout") => void; p: Promise<Uint8Array | null> } | null = null;
  #deadline = 0;
  #closeAt = Infinity;
  #timedOut = false;
  #timer: TimerHandle | null = null;
  #timerAt = 0;

  #arm(at: number): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.clock.setTimeout(() => this.#expire(), Math.max(0, at - this.clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #expire(): void {
    this.#timer = null;
    const now = this.clock.now();
    if (this.#closeAt <= now) {
      this.#timedOut = true;
      this.close();
      return;
    }
    const w = this.#waiter;
    if (w !== null && this.#deadline <= now) {
      this.#waiter = null;
      this.#pending = w.p;
      w.resolve("timeout");
    }
    // Still to come: a moved deadline of the waiting read, or a close.
    const next = Math.min(this.#closeAt, this.#waiter !== null ? this.#deadline : Infinity);
    if (next !== Infinity) this.#arm(next);
  }

  write(data: Uint8Array): Promise<void> {
    return this.#inner.write(data);
  }

  /**
   * A buffer of at least `n` bytes to build the next write in, for writeOut. Where the
   * inner connection has writeRange (Bun), one buffer shared by all connections, so the
   * usual response head costs no allocation; else a new one of `n` bytes. Fill it and
   * call writeOut before anything else can ask for it (no await between).
   */
  outBuffer(n: number): Uint8Array {
    if (this.#inner.writeRange === undefined) return allocBytes(n);
    if (n <= shared.length) return shared;
    if (n >= SHARED_MAX) return new Uint8Array(n);
    return shared = new Uint8Array(Math.min(SHARED_MAX, Math.max(n, 2 * shared.length)));
  }

  /**
   * Writes buf[0, n) of a buffer outBuffer gave, or of one the caller holds until the
   * write's answer came (the engine's pooled request heads). With writeRange, `buf` is
   * free again when this returns; else it is the write's (writeOwned) until done.
   */
  writeOut(buf: Uint8Array, n: number): Promise<void> {
    const inner = this.#inner;
    if (inner.writeRange !== undefined) return inner.writeRange(buf, 0, n);
    const data = n === buf.length ? buf : buf.subarray(0, n);
    return inner.writeOwned !== undefined ? inner.writeOwned(data) : inner.write(data);
  }
  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }
  close(): void {
    this.#disarm();
    this.#inner.close();
  }
}
