/**
 * The one writer of an HTTP/2 connection's frames: streams and the session queue frames
 * here from anywhere, and they go out in order, the frames queued in one turn of the
 * event loop coalesced into one socket write. Each queue() says when its frame went
 * out, which is how a stream's write waits for the socket (backpressure) without a
 * promise per frame: one per batch.
 */
import type { TcpConn } from "../runtime/types.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import { setImmediate } from "node:timers";

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

  constructor(conn: TcpConn) {
    this.#conn = conn;
  }

  /** Whether a write failed: the connection is gone. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Queues a frame; resolves true once it was written, false if the connection failed first. */
  queue(frame: Uint8Array): Promise<boolean> {
    if (this.#failed) return Promise.resolve(false);
    let batch = this.#open;
    if (batch === null) {
      let settle!: (ok: boolean) => void;
      const written = new Promise<boolean>((r) => (settle = r));
      batch = this.#open = { frames: [], written, settle };
      if (!this.#pumping) {
        this.#pumping = true;
        setImmediate(() => void this.#pump());
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
      batch.settle(ok);
    }
    this.#pumping = false;
  }
}
