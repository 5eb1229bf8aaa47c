/**
 * The one writer of an HTTP/2 connection's frames: streams and the session queue frames
 * here from anywhere, and they go out in order, coalesced into one socket write per
 * batch. Each queue() says when its frame went out, which is how a stream's write waits
 * for the socket (backpressure) without a promise per frame: one per batch, and only
 * when someone asks (push() asks for none).
 *
 * A batch closes at the end of the current microtask queue (PER_MICROTASK), or, for a
 * server facing many streams, at the end of the event loop's turn (PER_TURN): the
 * answers of every stream whose target replied in that turn then leave in one write,
 * which under h2load took vane on Bun from about 23,000 to 31,000 req/s.
 *
 * Frames are copied into one buffer as they are queued (a DATA frame is written there
 * directly, see pushData), and the batch is written from it: no list of frames and no
 * concat per batch. The buffer is used again once the socket took a write whole at once
 * (WRITTEN); a write still in progress keeps it (see #write).
 */
import type { TcpConn } from "../runtime/types.ts";
import { copyBytes } from "../runtime/byte-arrays.ts";
import { WRITTEN } from "../runtime/written.ts";
import { setImmediate } from "node:timers";
import { FRAME_HEADER_LENGTH } from "./constants.ts";
import { putDataFrame } from "./frame-encode.ts";

/** When a batch of frames is written: see the file's comment. */
export const PER_TURN = "turn";
export const PER_MICROTASK = "microtask";

/**
 * How many bytes may wait here (queued, or handed to a socket write not done yet)
 * before `push()` tells its caller to wait: flow-control windows do not bound this, as
 * a client may open them to 2^31-1, so a slow reader is held off here instead.
 */
const HIGH_WATER_BYTES = 256 * 1024;

/**
 * The batch buffer: made at the first frame, this size or the batch's; grown to fit a
 * batch; and let go after a write when it grew past KEPT_BUFFER_BYTES, so an idle
 * connection holds at most that much (10,000 idle HTTP/2 clients: 40 MB at most).
 */
const FIRST_BUFFER_BYTES = 1024;
const KEPT_BUFFER_BYTES = 4096;
/** No buffer yet; also the empty frame drained() queues behind a write in progress. */
const NO_BUFFER = new Uint8Array(0);

/** Who waits for the open batch to be written (made when queue() or drained() asks). */
interface Waiters {
  written: Promise<boolean>;
  settle: (ok: boolean) => void;
}

export class FrameWriter {
  readonly #conn: TcpConn;
  /** The open batch's bytes: out[0, used). */
  #out = NO_BUFFER;
  #used = 0;
  /** A batch is open (frames queued, its write not begun), though it may hold no byte. */
  #open = false;
  #waiters: Waiters | null = null;
  #pumping = false;
  #failed = false;
  /** Bytes queued or being written. */
  #pending = 0;
  readonly #perTurn: boolean;
  /** Made once: the pump as a callback. */
  readonly #pumpNow = (): void => this.#pump();
  /** The last write did not finish at once: the next one goes as a copy (see #write). */
  #copyNext = false;

  constructor(conn: TcpConn, options: { flush?: typeof PER_TURN | typeof PER_MICROTASK } = {}) {
    this.#conn = conn;
    this.#perTurn = options.flush === PER_TURN;
  }

  /** Resolves once every frame queued so far went out (true) or the connection failed (false). */
  drained(): Promise<boolean> {
    return this.#open
      ? this.#waitersOf().written
      : this.#pumping
      ? this.queue(NO_BUFFER)
      : Promise.resolve(!this.#failed);
  }

  /** Whether a write failed: the connection is gone. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues a frame; true: the caller may go on at once (little is waiting), false: it
   * waits for `drained()` first (the peer reads slower than we write) or the
   * connection failed. No promise: the usual small answer costs none.
   */
  push(frame: Uint8Array): boolean {
    return this.pushRange(frame, 0, frame.length);
  }

  /** push() for frames that lie in src[from, to) (no view made of them), copied at once. */
  pushRange(src: Uint8Array, from: number, to: number): boolean {
    if (this.#failed) return false;
    this.#append(src, from, to);
    return this.#pending <= HIGH_WATER_BYTES;
  }

  /** push() for a DATA frame of data[from, to) on `stream`, written straight into the batch. */
  pushData(stream: number, endStream: boolean, data: Uint8Array, from: number, to: number): boolean {
    if (this.#failed) return false;
    const n = FRAME_HEADER_LENGTH + to - from;
    this.#reserve(n);
    putDataFrame(this.#out, this.#used, stream, data, endStream, from, to);
    this.#added(n);
    return this.#pending <= HIGH_WATER_BYTES;
  }

  /** Queues a frame; resolves true once it was written, false if the connection failed first. */
  queue(frame: Uint8Array): Promise<boolean> {
    if (this.#failed) return Promise.resolve(false);
    this.#append(frame, 0, frame.length);
    return this.#waitersOf().written;
  }

  #append(src: Uint8Array, from: number, to: number): void {
    this.#reserve(to - from);
    copyBytes(this.#out, this.#used, src, from, to);
    this.#added(to - from);
  }

  /** Room for `n` more bytes in the open batch. */
  #reserve(n: number): void {
    const need = this.#used + n;
    if (need <= this.#out.length) return;
    const grown = new Uint8Array(Math.max(need, this.#out.length * 2, FIRST_BUFFER_BYTES));
    grown.set(this.#out.subarray(0, this.#used));
    this.#out = grown;
  }

  /** `n` bytes were put at the end of the open batch; it is written at the batch's close. */
  #added(n: number): void {
    this.#used += n;
    this.#pending += n;
    if (this.#open) return;
    this.#open = true;
    if (this.#pumping) return;
    this.#pumping = true;
    if (this.#perTurn) setImmediate(this.#pumpNow);
    else queueMicrotask(this.#pumpNow);
  }

  #waitersOf(): Waiters {
    let w = this.#waiters;
    if (w === null) {
      let settle!: (ok: boolean) => void;
      const written = new Promise<boolean>((r) => (settle = r));
      w = this.#waiters = { written, settle };
    }
    return w;
  }

  /** Writes batch after batch until none is open, or one waits for its write to be done. */
  #pump(): void {
    while (this.#open) {
      const bytes = this.#out.subarray(0, this.#used);
      const waiters = this.#waiters;
      this.#open = false;
      this.#waiters = null;
      this.#used = 0;
      if (this.#failed || bytes.length === 0) {
        this.#pending -= bytes.length;
        waiters?.settle(!this.#failed);
        continue;
      }
      const sent = this.#write(bytes);
      if (sent !== WRITTEN) return void this.#whenWritten(sent, bytes.length, waiters);
      if (this.#out.length > KEPT_BUFFER_BYTES) this.#out = NO_BUFFER;
      this.#pending -= bytes.length;
      waiters?.settle(true);
    }
    this.#pumping = false;
  }

  /**
   * Writes a batch. Taken whole at once (WRITTEN), the buffer is free for the next
   * batch; else the write still reads it, so the next batch gets a new buffer, and the
   * batches after it go as copies (a runtime whose writes never finish at once, Deno's,
   * then copies each batch once, as a concat would, instead of a buffer per batch).
   */
  #write(bytes: Uint8Array): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = this.#conn.write(this.#copyNext ? bytes.slice() : bytes);
    } catch (err) {
      sent = Promise.reject(err);
    }
    if (sent !== WRITTEN && !this.#copyNext) this.#out = NO_BUFFER;
    this.#copyNext = sent !== WRITTEN;
    return sent;
  }

  /** The rest of #pump once a write that did not finish at once is done. */
  async #whenWritten(sent: Promise<void>, n: number, waiters: Waiters | null): Promise<void> {
    let ok = true;
    try {
      await sent;
    } catch {
      ok = false;
      this.#failed = true;
    }
    this.#pending -= n;
    waiters?.settle(ok);
    this.#pump();
  }
}
