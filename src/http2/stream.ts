/**
 * One HTTP/2 stream as the engine sees a client connection: a TcpConn that reads the
 * request as HTTP/1.1 bytes (request-head.ts wrote the head; DATA frames follow as the
 * body, chunked when no content-length was given) and takes the answer as HTTP/1.1
 * bytes, which response-reader.ts turns back into HEADERS and DATA. The engine serves
 * it as a connection with one request (the read after the answer finds the end), so
 * every rule of the flow and every forwarder works per stream unchanged.
 *
 * Backpressure both ways: the client may send only what the stream's receive window
 * allows, and the window is given back as the engine reads (so a stream buffers at
 * most one window); the engine's writes resolve once their DATA frames went out within
 * the client's send windows, and the engine awaits each write before reading more.
 */
import type { ReadNext, SocketAddress, TcpConn } from "../runtime/types.ts";
import type { HeaderField } from "./hpack.ts";
import type { HeadFields } from "../http/types.ts";
import type { BodyPlan } from "./request-head.ts";
import { type ResponsePart, ResponseReader } from "./response-reader.ts";
import { WRITTEN } from "../runtime/written.ts";
import { latin1Encode } from "../detect/bytes.ts";

/**
 * A request stream as its connection keeps it, whoever serves it: the engine (H2Stream)
 * or a forward to an HTTP/2 target (forward.ts). The session moves the windows.
 */
export interface OpenStream {
  readonly id: number;
  /** The client's window for what this stream sends (RFC 9113 §6.9). */
  sendWindow: number;
  /** What this stream may still receive before its body is taken further. */
  recvWindow: number;
  /** Body bytes taken that the client was not given back yet (batched WINDOW_UPDATEs). */
  unacked: number;
  /** Whether the request's END_STREAM came. */
  readonly requestDone: boolean;
  /** A DATA payload (the stream's own copy). False: more than its content-length said. */
  deliver(data: Uint8Array): boolean;
  /** The request's END_STREAM. False: fewer bytes than its content-length said. */
  endRequest(): boolean;
  /** RST_STREAM from the client, or the connection is gone. */
  abandon(): void;
}

/** What a stream asks of its connection (session.ts). */
export interface StreamHost {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  sendHeaders(stream: OpenStream, fields: HeaderField[], end: boolean): void;
  /** A final response head the engine handed over as fields (HeadTaker), `:status` first. */
  sendHead(stream: OpenStream, status: number, head: HeadFields, end: boolean): void;
  /**
   * Sends `data` (from `from` to `to`, by default all of it) within the send windows: true at once when it went without waiting,
   * else resolves once written; false when the stream or connection is gone.
   */
  sendData(stream: OpenStream, data: Uint8Array, end: boolean, from?: number, to?: number): boolean | Promise<boolean>;
  /** `n` bytes of request body were taken on: the client may send that many more. */
  consumed(stream: OpenStream, n: number): void;
  reset(stream: OpenStream, code: number): void;
  /** Both sides are over (or the stream was reset): the connection forgets it. */
  finished(stream: OpenStream): void;
}

/** RST_STREAM codes a stream sends itself (constants.ts has them all). */
const NO_ERROR = 0x0;
const INTERNAL_ERROR = 0x2;

/** A piece of request for the engine, and how many body bytes it gives back to the window when read. */
interface Piece {
  bytes: Uint8Array;
  credit: number;
}

const CLOSED: Promise<void> = Promise.resolve();
const CHUNK_END = new TextEncoder().encode("0\r\n\r\n");
const CRLF = new TextEncoder().encode("\r\n");

export class H2Stream implements TcpConn, OpenStream {
  /** The client's window for what this stream sends (RFC 9113 §6.9); the session moves it. */
  sendWindow: number;
  /** What this stream may still receive before the engine reads more; the session moves it. */
  recvWindow: number;
  /** Body bytes the engine read that the client was not given back yet (batched WINDOW_UPDATEs). */
  unacked = 0;
  /** Made when first asked for (the engine never asks): no promise per stream. */
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;
  readonly #pieces: Piece[] = [];
  /** The engine's read waiting for the next piece (a promise's resolve, or a readNext callback). */
  #reader: ((bytes: Uint8Array | null) => void) | null = null;
  #received = 0;
  #requestDone: boolean;
  #responseDone = false;
  #gone = false;
  readonly #answer: ResponseReader;

  constructor(
    readonly host: StreamHost,
    readonly id: number,
    /** The request head's bytes for the engine to read; null: it was handed the head parsed. */
    head: Uint8Array | null,
    readonly body: BodyPlan,
    method: string,
    windows: { send: number; receive: number },
  ) {
    this.sendWindow = windows.send;
    this.recvWindow = windows.receive;
    this.#requestDone = body.kind === "none";
    this.#answer = new ResponseReader(method === "HEAD");
    if (head !== null) this.#pieces.push({ bytes: head, credit: 0 });
  }

  get closed(): Promise<void> {
    if (this.#closed === null) {
      this.#closed = this.#gone ? CLOSED : new Promise((r) => (this.#resolveClosed = r));
    }
    return this.#closed;
  }

  #markClosed(): void {
    if (this.#resolveClosed !== null) this.#resolveClosed();
    else this.#closed = CLOSED;
  }

  get remote(): SocketAddress {
    return this.host.remote;
  }
  get local(): SocketAddress {
    return this.host.local;
  }

  /** Whether the request's END_STREAM came. */
  get requestDone(): boolean {
    return this.#requestDone;
  }

  // From the session -------------------------------------------------------------

  /** A DATA payload (the stream's own copy). False: more than its content-length said. */
  deliver(data: Uint8Array): boolean {
    this.#received += data.length;
    if (this.body.kind === "length" && this.#received > this.body.length) return false;
    if (this.#gone || data.length === 0) {
      if (data.length > 0) this.host.consumed(this, data.length);
      return true;
    }
    if (this.body.kind === "chunked") {
      const size = latin1Encode(`${data.length.toString(16)}\r\n`);
      this.#give({ bytes: size, credit: 0 });
      this.#give({ bytes: data, credit: data.length });
      this.#give({ bytes: CRLF, credit: 0 });
    } else this.#give({ bytes: data, credit: data.length });
    return true;
  }

  /** The request's END_STREAM. False: fewer bytes than its content-length said. */
  endRequest(): boolean {
    this.#requestDone = true;
    if (this.body.kind === "length" && this.#received !== this.body.length) return false;
    if (this.body.kind === "chunked" && !this.#gone) this.#give({ bytes: CHUNK_END, credit: 0 });
    this.#settle();
    return true;
  }

  /** RST_STREAM from the client, or the connection is gone: reads end, writes fail. */
  abandon(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#pieces.length = 0;
    this.#wake(null);
    this.#markClosed();
  }

  #give(piece: Piece): void {
    if (this.#reader !== null) {
      const read = this.#reader;
      this.#reader = null;
      if (piece.credit > 0) this.host.consumed(this, piece.credit);
      read(piece.bytes);
      return;
    }
    this.#pieces.push(piece);
  }

  #wake(bytes: Uint8Array | null): void {
    const read = this.#reader;
    this.#reader = null;
    read?.(bytes);
  }

  /** Over both ways: the engine's next read finds the end, and the session forgets the stream. */
  #settle(): void {
    if (!this.#responseDone || this.#gone) return;
    if (!this.#requestDone) {
      // The answer went out before the body came in: the client may stop sending (§8.1).
      this.host.reset(this, NO_ERROR);
    }
    this.#gone = true;
    this.#wake(null);
    this.host.finished(this);
    this.#markClosed();
  }

  // TcpConn, for the engine --------------------------------------------------------

  read(): Promise<Uint8Array | null> {
    const piece = this.#pieces.shift();
    if (piece !== undefined) {
      if (piece.credit > 0) this.host.consumed(this, piece.credit);
      return Promise.resolve(piece.bytes);
    }
    if (this.#gone) return Promise.resolve(null);
    return new Promise((resolve) => (this.#reader = resolve));
  }

  /**
   * `read()` to a callback, at once when a piece is queued: the engine then serves the
   * stream on its promise-free path (engine.ts byCallbacks), as on a Bun socket.
   */
  readNext(next: ReadNext): void {
    const piece = this.#pieces.shift();
    if (piece !== undefined) {
      if (piece.credit > 0) this.host.consumed(this, piece.credit);
      return next(piece.bytes);
    }
    if (this.#gone) return next(null);
    this.#reader = next;
  }

  /** WRITTEN (no promise to wait for) when every frame went without waiting, as a Bun socket's write. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#gone) return Promise.reject(new Error("stream closed"));
    const parts = this.#answer.push(bytes);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part.kind === "headers") {
        this.host.sendHeaders(this, part.fields, part.end);
      } else {
        const sent = this.host.sendData(this, part.data, part.end);
        if (sent !== true) return this.#restOfWrite(sent, parts, i);
      }
      if (part.end) this.#responded();
    }
    return WRITTEN;
  }

  /** HeadTaker (http/types.ts): the engine's usual answer, its head as fields. */
  writeResponse(
    status: number,
    head: HeadFields,
    read: Uint8Array,
    from: number,
    to: number,
    length: number,
  ): Promise<void> {
    if (this.#gone) return Promise.reject(new Error("stream closed"));
    // The whole body in hand (the usual small answer) goes as one DATA frame, past the reader.
    const whole = to - from === length;
    const end = this.#answer.began(status, length, whole);
    this.host.sendHead(this, status, head, end);
    if (end) {
      this.#responded();
      return WRITTEN;
    }
    if (!whole) return to === from ? WRITTEN : this.write(read.subarray(from, to));
    const sent = this.host.sendData(this, read, true, from, to);
    if (sent === true) {
      this.#responded();
      return WRITTEN;
    }
    return this.#restOfWrite(sent, [{ kind: "data", data: read.subarray(from, to), end: true }], 0);
  }

  /** The parts of a write from `parts[i]` on, whose DATA `sent` has to wait for. */
  async #restOfWrite(sent: false | Promise<boolean>, parts: ResponsePart[], i: number): Promise<void> {
    if (!(await sent)) throw new Error("stream closed");
    if (parts[i].end) this.#responded();
    for (let j = i + 1; j < parts.length; j++) {
      const part = parts[j];
      if (part.kind === "headers") this.host.sendHeaders(this, part.fields, part.end);
      else if (!(await this.host.sendData(this, part.data, part.end))) throw new Error("stream closed");
      if (part.end) this.#responded();
    }
  }

  async closeWrite(): Promise<void> {
    const last = this.#answer.end();
    if (last !== null && !this.#gone) {
      await this.host.sendData(this, last.data, true);
      this.#responded();
    }
  }

  /** The engine is done with the stream: an answer cut short is reset (the client must not take it as whole). */
  close(): void {
    if (this.#gone) return;
    if (!this.#responseDone) {
      const until = this.#answer.end();
      if (until !== null) {
        void Promise.resolve(this.host.sendData(this, until.data, true)).then(() => this.#responded());
        return;
      }
      this.host.reset(this, INTERNAL_ERROR);
      this.#gone = true;
      this.#wake(null);
      this.host.finished(this);
      this.#markClosed();
      return;
    }
    this.#settle();
  }

  #responded(): void {
    this.#responseDone = true;
    this.#settle();
  }
}
