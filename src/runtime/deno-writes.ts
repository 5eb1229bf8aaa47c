/**
 * The writes of one Deno connection (deno-conn.ts), in order, with the rest of a write
 * the socket took only in part going out before anything that comes after it.
 *
 * Why: reading the count of bytes from an op's settled promise (V8's getPromiseDetails,
 * deno-ops.ts settledCount) costs about 0.4 µs, more than awaiting it, and a tenth of
 * vane's own JavaScript per L7 request on Deno, twice per request. A write whose buffer the caller never touches
 * again (`own`: a head built for that write) does not need the count at once: when the op
 * settled before returning, the socket has taken the bytes, all of them but in a rare case
 * (a send buffer nearly full). So `own` answers WRITTEN there and reads the count on the
 * next turn of the microtask queue, from the op's own promise, as a reaction made once per
 * connection. Until then, anything that could tell the difference reads it at once
 * instead (`settle`): the next write, a read's delivery, the close.
 *
 * Owned writes are corked. `own` only queues the bytes; the op starts when the microtask
 * queue reaches the flush that the first queued write of a turn scheduled, so after the
 * reactions to every read that came in the same turn of Deno's event loop. Under load
 * that is some 20 requests' JavaScript run back to back, then their 20 sends back to
 * back, where each send used to come between two requests' JavaScript: the kernel's
 * TCP work and vane's code each keep the CPU's caches warm for the next one. Under the
 * bench's L7 load that takes about 4% off vane's CPU per request (docs/benchmarks.md,
 * "Corked writes on Deno"). The bytes are the caller's no longer (that is what owned
 * means), and the flush comes before the event loop polls again, so no answer can
 * arrive before its request went out.
 * Everything that could tell the difference starts a queued write at once (`settle`).
 *
 * When the count falls short, the rest goes out from the caller's buffer (still intact:
 * it is owned) and everything after it waits (`behind`): writes chain on it, a read is
 * delivered once it is done (an answer to a request is never seen before the whole request
 * went out, as on Bun, where the engine awaits such a write), and the close lingers until
 * it is done, for at most LINGER_MS. A write that failed closes the connection, so that
 * whoever reads from it next learns it.
 */
import { WRITTEN } from "./written.ts";
import { settledAtOnce, settledCount, startWrite, writeOnce, writesDirect } from "./deno-ops.ts";
import { toError } from "../errors/mod.ts";

/**
 * How long a close waits for the rest of a write the socket took only in part (the
 * peer not reading): then it closes anyway. nginx's lingering_time is the same 30 s.
 */
export const LINGER_MS = 30_000;

export class DenoWrites {
  /**
   * This connection's write in the slots of `queued` or `flushed` (see there): queued
   * for the flush, or started with its count not read yet (its op in the slot); -1:
   * none. `#no` says which of the two arrays: the number of the flush it belongs to.
   */
  #at = -1;
  #no = 0;
  /** Reactions made on unchecked ops and not run yet: the last one to run is the one at #at's. */
  #owed = 0;
  /** The rest of a write under way; what comes after waits for it. */
  #behind: Promise<void> | null = null;
  readonly #onCount = (n: number): void => {
    if (--this.#owed === 0) this.#counted(n);
  };
  readonly #onError = (err: unknown): void => {
    if (--this.#owed === 0) this.#counted(toError(err));
  };

  constructor(
    readonly conn: Deno.Conn,
    readonly rid: number,
    /** A write failed where nobody awaited it: the connection is to close. */
    readonly failed: (err: Error) => void,
  ) {}

  /**
   * Writes `data`, which the caller never touches again: WRITTEN, the bytes queued for
   * the flush (see above); behind a write still under way, the promise of this one.
   */
  own(data: Uint8Array): Promise<void> {
    if (!writesDirect(this.rid)) return this.write(data);
    if (this.settle() !== null) return this.#after(data);
    if (queued.length === 0) queueMicrotask(flushCorked);
    this.#at = queued.length;
    this.#no = queuedNo;
    queued.push(this, data, null);
    return WRITTEN;
  }

  /** The flush: starts the write in `slots` (`queued`) at `at`, if it is still this connection's and not started. */
  startFlushed(slots: Slots, at: number): void {
    if (this.#at === at && this.#no === queuedNo && slots[at + 2] === null) this.#start(slots, at);
  }

  /** Starts the write in `slots` at `at`: its op, when it settled at once (unchecked), else null. */
  #start(slots: Slots, at: number): Promise<number> | null {
    const data = slots[at + 1] as Uint8Array;
    let op: Promise<number>;
    try {
      op = startWrite(this.rid, data);
    } catch (err) {
      this.#at = -1;
      this.failed(toError(err));
      return null;
    }
    if (!settledAtOnce(op)) {
      this.#at = -1;
      this.#behind = this.#restBehind(data, op);
      return null;
    }
    slots[at + 2] = op;
    this.#owed++;
    op.then(this.#onCount, this.#onError);
    return op;
  }

  /** Writes `data`, which is the caller's again once this settles. */
  write(data: Uint8Array): Promise<void> {
    if (this.settle() !== null) return this.#after(data);
    return this.#rest(data, writeOnce(this.conn, this.rid, data));
  }

  /**
   * Starts a queued write and reads the count of an unchecked one now; then the rest of
   * a write still under way (what must wait for it), or null when every byte written so
   * far was taken.
   */
  settle(): Promise<void> | null {
    if (this.#at >= 0) this.#settleSlot();
    return this.#behind;
  }

  #settleSlot(): void {
    const slots = this.#slots();
    const at = this.#at;
    if (slots === null) return this.#lost();
    const op = (slots[at + 2] as Promise<number> | null) ?? this.#start(slots, at);
    if (op === null) return;
    this.#at = -1;
    this.#took(slots[at + 1] as Uint8Array, settledCount(op));
  }

  /** The last reaction owed ran, with `n`: the count of the unchecked write at #at, if one is there. */
  #counted(n: number | Error): void {
    if (this.#at < 0) return;
    const slots = this.#slots();
    if (slots === null) return this.#lost();
    // A write still queued (its op not started) is not the one counted.
    if (slots[this.#at + 2] === null) return;
    const data = slots[this.#at + 1] as Uint8Array;
    this.#at = -1;
    this.#took(data, n);
  }

  /**
   * Not reached: a flush's reactions all run before the next flush replaces its slots
   * (see flushCorked). Were it reached, whether all of a write went out would be unknown,
   * so the connection closes rather than go on as if it had.
   */
  #lost(): void {
    this.#at = -1;
    this.failed(new Error("deno-writes: the count of a write was lost"));
  }

  /** The slots #at points into. */
  #slots(): Slots | null {
    return this.#no === queuedNo ? queued : this.#no === flushedNo ? flushed : null;
  }

  /** What the socket took of `data`, written unawaited. */
  #took(data: Uint8Array, n: number | Error): void {
    if (n instanceof Error) return this.failed(n);
    if (n < data.length) this.#behind = this.#restBehind(data, n);
  }

  async #restBehind(data: Uint8Array, took: number | Promise<number>): Promise<void> {
    try {
      await this.#rest(data, took);
    } catch (err) {
      this.failed(toError(err));
    } finally {
      this.#behind = null;
    }
  }

  /** The rest of a write its caller awaits: `took` is what the socket took, or will. */
  async #rest(data: Uint8Array, took: number | Promise<number>): Promise<void> {
    let off = await took;
    while (off < data.length) off += await writeOnce(this.conn, this.rid, data.subarray(off));
  }

  /** A write behind another one's rest: the caller awaits it, so `data` is held as it is. */
  async #after(data: Uint8Array): Promise<void> {
    let behind;
    while ((behind = this.settle()) !== null) await behind;
    await this.#rest(data, 0);
  }
}

/**
 * Owned writes in slots of three: the connection (DenoWrites), the bytes, and the op
 * once started (null before). A connection points at its slot by index (`#at`), a
 * number, not by reference.
 *
 * Why not fields of the connection, as they were: a connection soon lives in V8's old
 * generation, and every store of a young object (the bytes' view, the op's promise) into
 * an old one takes the write barrier's slow path, three per write. An array made anew
 * each turn is young, and stores into it do not: about 0.07 µs less per L7 request
 * (docs/benchmarks.md, "The write barrier, a long count of the gap").
 */
type Slots = unknown[];

/** This turn's owned writes, in the order they were queued; the flush starts them. */
let queued: Slots = [];
/** The last flush's, whose counts the reactions made then have still to read. */
let flushed: Slots = [];
/** The numbers of the two (which one a connection's `#no` means), counting flushes. */
let queuedNo = 1;
let flushedNo = 0;

/**
 * Starts every queued write (one a `settle` started already is skipped), then makes
 * them `flushed`. A write queued while this runs (none is expected) joins the same
 * slots, and this loop starts it too; so the next flush is only asked for after the
 * loop, behind every reaction made on an op started here: `flushed` outlives them all.
 */
function flushCorked(): void {
  const slots = queued;
  for (let i = 0; i < slots.length; i += 3) (slots[i] as DenoWrites).startFlushed(slots, i);
  flushed = slots;
  flushedNo = queuedNo;
  queued = [];
  queuedNo = (queuedNo + 1) & 0x3fffffff;
}
