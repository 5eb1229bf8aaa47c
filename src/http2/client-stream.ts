/**
 * One request vane sends to a target over HTTP/2 (RFC 9113 §5.1, §8.1), as its caller
 * sees it: the request body written with backpressure, the response's head as a
 * promise, its body read piece by piece and its trailers after. The connection
 * (client.ts) owns the wire: it hands this stream what the target sent, already framed
 * and decoded, and sends what this stream asks for within the flow-control windows.
 *
 * Memory: what the target sends waits here until read(), and the stream's receive
 * window is given back only as pieces are read, so a slow reader holds at most one
 * stream window (and the connection, all streams together, one connection window).
 *
 * Failure: when the target resets the stream, the connection dies or the response is
 * malformed, `failed` says why; a response not yet come resolves `{ ok: false }`, and
 * read() rejects with a StreamFailed (buffered pieces are dropped), so a body cut short
 * can never be taken for a whole one.
 */
import type { HeaderField } from "./hpack.ts";
import type { TargetHealth } from "../health/registry.ts";
import { END_STREAM, MORE_TO_COME } from "./frames.ts";
import { checkResponseHead, checkTrailers } from "./response-fields.ts";

/** The response head, or why there is none. `retryable`: the target did not act on the request (§8.7). */
export type H2Response =
  | { ok: true; status: number; fields: HeaderField[] }
  | { ok: false; reason: string; retryable: boolean };

/** For fail(): the target never acted on the request, so it may go again (§8.7)... */
export const MAY_RETRY = true;
/** ...or it may have: not safe to send again. */
export const NO_RETRY = false;

/** What read() rejects with once the stream failed. */
export class StreamFailed extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "StreamFailed";
  }
}

/** What a stream asks of its connection (client.ts). */
export interface ClientStreamHost {
  /** Sends `data` within the send windows; resolves once written, false when the stream or connection is gone. */
  sendData(stream: H2ClientStream, data: Uint8Array, end: boolean): boolean | Promise<boolean>;
  /** Sends a trailers HEADERS with END_STREAM; false when the stream or connection is gone. */
  sendTrailers(stream: H2ClientStream, fields: HeaderField[]): Promise<boolean>;
  /** The reader took `n` body bytes: the target may send that many more. */
  consumed(stream: H2ClientStream, n: number): void;
  /** RST_STREAM from our side. */
  reset(stream: H2ClientStream, code: number): void;
}

/** Statuses whose answers carry no body whatever their content-length says (RFC 9110 §6.4.1). */
const BODYLESS_STATUS = new Set([204, 304]);
const CANCEL = 0x8;
const NO_BYTES = new Uint8Array(0);

export class H2ClientStream {
  /** The target's window for what this stream sends (§6.9); the connection moves it. */
  sendWindow: number;
  /** What the target may still send on this stream; the connection moves it. */
  recvWindow: number;
  /** Body bytes read and not yet given back to the target (batched WINDOW_UPDATEs). */
  unacked = 0;
  /** Our END_STREAM was queued on the wire; the connection sets it. */
  endSent = false;
  /**
   * Why vane gave up waiting for the answer (`timeouts.upstream`), set before it resets
   * the stream: the failure is then the target's timeout, not a reset.
   */
  timedOut: string | null = null;
  /** The pool's target the stream went to (upstreams.ts sets it): a retry avoids it. */
  target: TargetHealth | null = null;
  /** Called with each interim (1xx) response before the final one. */
  onInterim: ((status: number, fields: HeaderField[]) => void) | null = null;
  readonly response: Promise<H2Response>;
  /** Resolves once the target's answer came whole or the stream failed: what a pool's maxconn slot lasts. */
  readonly over: Promise<void>;
  #markOver!: () => void;
  #settle!: (r: H2Response) => void;
  #head: { status: number; length: number | null } | null = null;
  readonly #headRequest: boolean;
  readonly #pieces: Uint8Array[] = [];
  #buffered = 0;
  #received = 0;
  #reader: { resolve: (b: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  #trailers: HeaderField[] | null = null;
  #failure: StreamFailed | null = null;
  #localDone = false;
  #remoteDone = false;
  #tail: Promise<boolean> = Promise.resolve(true);

  constructor(
    readonly host: ClientStreamHost,
    readonly id: number,
    method: string,
    windows: { send: number; receive: number },
    endStream: boolean,
  ) {
    this.sendWindow = windows.send;
    this.recvWindow = windows.receive;
    this.#headRequest = method === "HEAD";
    this.#localDone = endStream;
    this.response = new Promise((r) => (this.#settle = r));
    this.over = new Promise((r) => (this.#markOver = r));
  }

  /** Why the stream failed (reset by the target, connection gone, malformed response), or null. */
  get failed(): string | null {
    return this.#failure?.message ?? null;
  }

  /** The response's trailers, once read() returned null; null when it had none. */
  get trailers(): HeaderField[] | null {
    return this.#trailers;
  }

  /** Body bytes received and not read yet: never more than this stream's receive window. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether our END_STREAM went (or was queued). */
  get localDone(): boolean {
    return this.#localDone;
  }

  /** Whether the target's END_STREAM came. */
  get remoteDone(): boolean {
    return this.#remoteDone;
  }

  // For the caller -----------------------------------------------------------------

  /**
   * Sends `data` as DATA within the windows. Resolves true once its frames were
   * written, false when the stream is gone or was ended. `data` must not change until then.
   */
  write(data: Uint8Array): Promise<boolean> {
    if (data.length === 0) return Promise.resolve(!this.#localDone && this.#failure === null);
    return this.#then(() => this.host.sendData(this, data, MORE_TO_COME));
  }

  /** Ends the request: END_STREAM on an empty DATA, or `trailers` as a last HEADERS. */
  end(trailers?: HeaderField[]): Promise<boolean> {
    const result = this.#then(() =>
      trailers !== undefined && trailers.length > 0
        ? this.host.sendTrailers(this, trailers)
        : this.host.sendData(this, NO_BYTES, END_STREAM)
    );
    this.#localDone = true;
    return result;
  }

  /** Writes in order: each waits for the one before (a write may wait for window). */
  #then(send: () => boolean | Promise<boolean>): Promise<boolean> {
    if (this.#localDone || this.#failure !== null) return Promise.resolve(false);
    const next = this.#tail.then((ok) => (ok && this.#failure === null ? send() : false));
    this.#tail = next;
    return next;
  }

  /**
   * The next piece of the response body (the stream's own copy), null after the last.
   * Rejects with StreamFailed once the stream failed.
   */
  read(): Promise<Uint8Array | null> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const piece = this.#pieces.shift();
    if (piece !== undefined) {
      this.#taken(piece.length);
      return Promise.resolve(piece);
    }
    if (this.#remoteDone) return Promise.resolve(null);
    if (this.#reader !== null) return Promise.reject(new Error("a read is already pending on this stream"));
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  /** Resets the stream (RST_STREAM, CANCEL by default): the target stops, reads and writes end. */
  reset(code: number = CANCEL): void {
    if (this.#failure !== null || (this.#remoteDone && this.#localDone)) return;
    this.#resetHere = true;
    this.host.reset(this, code);
  }

  /** vane reset the stream (its client left, or it gave up waiting): not the target's failure unless `timedOut`. */
  get resetHere(): boolean {
    return this.#resetHere;
  }

  #resetHere = false;

  #taken(n: number): void {
    this.#buffered -= n;
    this.host.consumed(this, n);
  }

  // From the connection ------------------------------------------------------------

  /** A header block for this stream; a reason when it is malformed (the connection resets the stream). */
  headers(fields: HeaderField[], endStream: boolean): string | null {
    if (this.#head !== null) return this.#trailersCame(fields, endStream);
    const head = checkResponseHead(fields);
    if (!head.ok) return head.reason;
    if (head.status < 200) {
      if (endStream) return `interim ${head.status} with END_STREAM`;
      this.onInterim?.(head.status, head.fields);
      return null;
    }
    const bodyless = this.#headRequest || BODYLESS_STATUS.has(head.status);
    this.#head = { status: head.status, length: bodyless ? null : head.contentLength };
    this.#settle({ ok: true, status: head.status, fields: head.fields });
    return endStream ? this.#ended() : null;
  }

  #trailersCame(fields: HeaderField[], endStream: boolean): string | null {
    if (!endStream) return "a second header block without END_STREAM";
    const bad = checkTrailers(fields);
    if (bad !== null) return bad;
    this.#trailers = fields;
    return this.#ended();
  }

  /** A DATA payload (already copied); a reason when it breaks the response's framing. */
  data(bytes: Uint8Array, endStream: boolean): string | null {
    if (this.#head === null) return "DATA before the response's HEADERS";
    this.#received += bytes.length;
    const length = this.#head.length;
    if (length !== null && this.#received > length) return `body longer than content-length ${length}`;
    if (bytes.length > 0) {
      this.#buffered += bytes.length;
      const reader = this.#reader;
      if (reader !== null) {
        this.#reader = null;
        this.#taken(bytes.length);
        reader.resolve(bytes);
      } else this.#pieces.push(bytes);
    }
    return endStream ? this.#ended() : null;
  }

  /** The target's END_STREAM. */
  #ended(): string | null {
    const length = this.#head!.length;
    if (length !== null && this.#received !== length) {
      return `body of ${this.#received} bytes, content-length ${length}`;
    }
    this.#remoteDone = true;
    this.#markOver();
    const reader = this.#reader;
    this.#reader = null;
    reader?.resolve(null);
    return null;
  }

  /**
   * RST_STREAM NO_ERROR before END_STREAM: whole when the body came to its
   * content-length (Node's server ends a stream so when its last DATA waited for window
   * and the request was not read), and then the response ends here. False: cut short.
   */
  wholeAtReset(): boolean {
    const length = this.#head?.length ?? null;
    if (length === null || this.#received !== length) return false;
    this.#ended();
    return true;
  }

  /** Our END_STREAM went out (or the target's RST_STREAM NO_ERROR told us to stop sending, §8.1). */
  localEnded(): void {
    this.#localDone = true;
  }

  /**
   * The stream is over, badly: the response (if still awaited) fails, reads reject.
   * Returns the body bytes dropped unread, for the connection window.
   */
  fail(reason: string, retryable: boolean): number {
    if (this.#failure !== null) return 0;
    if (this.#remoteDone) {
      // The whole response came: it stays readable; only the request side ends.
      this.#localDone = true;
      return 0;
    }
    this.#failure = new StreamFailed(reason, retryable);
    this.#markOver();
    this.#localDone = true;
    this.#settle({ ok: false, reason, retryable });
    const dropped = this.#buffered;
    this.#pieces.length = 0;
    this.#buffered = 0;
    const reader = this.#reader;
    this.#reader = null;
    reader?.reject(this.#failure);
    return dropped;
  }
}
