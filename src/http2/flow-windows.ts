/**
 * One HTTP/2 connection's flow control (RFC 9113 §6.9), the same at both ends (the
 * session facing clients, the client facing targets): what the peer lets us send, on
 * the connection and per stream, and the windows we give back as what we received is
 * taken on, batched so that a WINDOW_UPDATE goes out per half window rather than per
 * frame. A writer that has no window waits here; every change of a window wakes it.
 */
import { dataFrame, windowUpdateFrame } from "./frames.ts";
import { DEFAULT_WINDOW_SIZE, ErrorCode, MAX_WINDOW_SIZE } from "./constants.ts";
import { connectionError, streamError } from "./errors.ts";
import type { FrameWriter } from "./writer.ts";

/** What flow control keeps per stream. */
export interface WindowedStream {
  readonly id: number;
  /** What the peer lets this stream send. */
  sendWindow: number;
  /** What the peer may still send on this stream before we give window back. */
  recvWindow: number;
  /** Bytes taken on and not given back yet. */
  unacked: number;
}

/** What a send asks of its connection (one object per connection: no closure per send). */
export interface Sending<S extends WindowedStream> {
  maxFrameSize(): number;
  /** Whether `stream` and the connection are still there. */
  open(stream: S): boolean;
  /** The frame carrying `stream`'s END_STREAM was queued. */
  last?(stream: S): void;
}

export class FlowWindows {
  /** What the peer lets us send on the connection. */
  #send = DEFAULT_WINDOW_SIZE;
  /** Bytes received and not given back yet (padding and unread body included). */
  #held = 0;
  #unacked = 0;
  #waiters: Array<() => void> = [];

  constructor(
    readonly writer: FrameWriter,
    /** The connection window we gave the peer. */
    readonly connectionWindow: number,
    /** The window each stream starts with (our SETTINGS_INITIAL_WINDOW_SIZE). */
    readonly streamWindow: number,
  ) {}

  /** DATA of `length` octets (padding included) arrived: past the connection window is FLOW_CONTROL_ERROR. */
  received(length: number): void {
    this.#held += length;
    if (this.#held > this.connectionWindow) {
      throw connectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA past the connection window");
    }
  }

  /** `n` octets taken on (or never to be read): given back, to `stream` too unless it is null (over). */
  credit(stream: WindowedStream | null, n: number): void {
    if (n === 0) return;
    this.#unacked += n;
    if (this.#unacked >= this.connectionWindow / 2) {
      this.writer.queue(windowUpdateFrame(0, this.#unacked));
      this.#held -= this.#unacked;
      this.#unacked = 0;
    }
    if (stream === null) return;
    stream.unacked += n;
    if (stream.unacked >= this.streamWindow / 2) {
      this.writer.queue(windowUpdateFrame(stream.id, stream.unacked));
      stream.recvWindow += stream.unacked;
      stream.unacked = 0;
    }
  }

  /** WINDOW_UPDATE from the peer, for `stream` or (null) the connection; past 2^31-1 is FLOW_CONTROL_ERROR. */
  update(stream: WindowedStream | null, increment: number): void {
    if (stream === null) {
      this.#send += increment;
      if (this.#send > MAX_WINDOW_SIZE) {
        throw connectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
      }
    } else {
      stream.sendWindow += increment;
      if (stream.sendWindow > MAX_WINDOW_SIZE) {
        throw streamError(stream.id, ErrorCode.FLOW_CONTROL_ERROR, "window overflow");
      }
    }
    this.moved();
  }

  /** §6.9.2: a new SETTINGS_INITIAL_WINDOW_SIZE moves every open stream's send window by the difference. */
  moveInitial(streams: Iterable<WindowedStream>, delta: number): void {
    if (delta === 0) return;
    for (const s of streams) {
      s.sendWindow += delta;
      if (s.sendWindow > MAX_WINDOW_SIZE) throw connectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
    }
    this.moved();
  }

  /**
   * Sends `data` (from `from` to `to`) on `stream` as DATA frames within both send windows and `maxFrameSize`,
   * waiting for window as needed: true at once when it fits in one frame and the writer
   * has room (the usual small answer, no promise), else a promise that resolves once the
   * last frame was written; false when `open()` says the stream or the connection is
   * gone. `last` is told when the frame carrying END_STREAM is queued.
   */
  send<S extends WindowedStream>(
    stream: S,
    data: Uint8Array,
    end: boolean,
    sending: Sending<S>,
    /** Where in `data` the bytes to send begin (a read that holds more: no view made of it). @default 0 */
    from = 0,
    /** Where they end. @default data.length */
    to: number = data.length,
  ): boolean | Promise<boolean> {
    const n = to - from;
    if (n > stream.sendWindow || n > this.#send || n > sending.maxFrameSize()) {
      const whole = from === 0 && to === data.length ? data : data.subarray(from, to);
      return this.#sendInPieces(stream, whole, end, sending);
    }
    if (!sending.open(stream)) return false;
    stream.sendWindow -= n;
    this.#send -= n;
    const room = this.writer.pushData(stream.id, end, data, from, to);
    if (end) sending.last?.(stream);
    return room || this.writer.drained();
  }

  async #sendInPieces<S extends WindowedStream>(
    stream: S,
    data: Uint8Array,
    end: boolean,
    sending: Sending<S>,
  ): Promise<boolean> {
    let offset = 0;
    let written: Promise<boolean> = Promise.resolve(true);
    do {
      if (!sending.open(stream)) return false;
      const left = data.length - offset;
      const n = Math.min(left, Math.max(0, Math.min(stream.sendWindow, this.#send, sending.maxFrameSize())));
      if (n === 0 && left > 0) {
        await new Promise<void>((r) => this.#waiters.push(r));
        continue;
      }
      stream.sendWindow -= n;
      this.#send -= n;
      const last = end && offset + n === data.length;
      written = this.writer.queue(dataFrame(stream.id, data.subarray(offset, offset + n), last));
      offset += n;
      if (last) sending.last?.(stream);
    } while (offset < data.length);
    return await written;
  }

  /** Wakes every sender waiting for window (a window moved, or a stream or the connection ended). */
  moved(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
