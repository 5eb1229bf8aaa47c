/**
 * The one writer of an HTTP/2 connection's frames: streams and the session queue frames
 * here from anywhere, and they go out in order, coalesced into one socket write per
 * batch. Each queue() says when its frame went out, which is how a stream's write waits
 * for the socket (backpressure) without a promise per frame: one per batch.
 *
 * A batch closes at the end of the current microtask queue (PER_MICROTASK), or, for a
 * server facing many streams, at the end of the event loop's turn (PER_TURN): the
 * answers of every stream whose target replied in that turn then leave in one write,
 * which under h2load took vane on Bun from about 23,000 to 31,000 req/s.
 */
import type { TcpConn } from "../runtime/types.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import { setImmediate } from "node:timers";

/** When a batch of frames is written: see the file's comment. */
export const PER_TURN = "turn";
export const PER_MICROTASK = "microtask";

/**
 * How many bytes may wait here (queued, or handed to a socket write not done yet)
 * before `push()` tells its caller to wait: flow-control windows do not bound this, as
 * a client may open them to 2^31-1, so a slow reader is held off here instead.
 */
const HIGH_WATER_BYTES = 256 * 1024;

interface Batch {
  frames: Uint8Array[];
  written: Promise<boolean>;
  settle: (ok: boolean) => void;
}

export class FrameWriter {
  readonly #conn: TcpConn;
  /** Frames waiting for the next write. */
  #open: Batch | null = null;
  #pumping = false;
  #failed = false;
  /** Bytes queued or being written. */
  #pending = 0;
  readonly #schedule: (pump: () => void) => void;

  constructor(conn: TcpConn, options: { flush?: typeof PER_TURN | typeof PER_MICROTASK } = {}) {
    this.#conn = conn;
    this.#schedule = options.flush === PER_TURN ? (pump) => void setImmediate(pump) : queueMicrotask;
  }

  /** Resolves once every frame queued so far went out (true) or the connection failed (false). */
  drained(): Promise<boolean> {
    return this.#open?.written ?? Promise.resolve(!this.#failed);
  }

  /** Whether a write failed: the connection is gone. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues a frame; true: the caller may go on at once (little is waiting), false: it
   * waits for `drained()` first (the peer reads slower than we write) or the
   * connection failed. No promise per frame: the usual small answer costs none.
   */
  push(frame: Uint8Array): boolean {
    if (this.#failed) return false;
    void this.queue(frame);
    return this.#pending <= HIGH_WATER_BYTES;
  }

  /** Queues a frame; resolves true once it was written, false if the connection failed first. */
  queue(frame: Uint8Array): Promise<boolean> {
    if (this.#failed) return Promise.resolve(false);
    this.#pending += frame.length;
    let batch = this.#open;
    if (batch === null) {
      let settle!: (ok: boolean) => void;
      const written = new Promise<boolean>((r) => (settle = r));
      batch = this.#open = { frames: [], written, settle };
      if (!this.#pumping) {
        this.#pumping = true;
        this.#schedule(() => void this.#pump());
      }
    }
    batch.frames.push(frame);
    return batch.written;
  }

  /** Writes batch after batch until none is waiting. */
  async #pump(): Promise<void> {
    for (;;) {
      const batch = this.#open;
      if (batch === null) break;
      this.#open = null;
      const bytes = batch.frames.length === 1 ? batch.frames[0] : concatBytes(...batch.frames);
      let ok = !this.#failed;
      if (ok) {
        try {
          await this.#conn.write(bytes);
        } catch {
          ok = false;
          this.#failed = true;
        }
      }
      this.#pending -= bytes.length;
      batch.settle(ok);
    }
    this.#pumping = false;
  }
}
