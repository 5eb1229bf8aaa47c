/**
 * One HTTP/2 connection from vane to a target (RFC 9113), cleartext with prior
 * knowledge (h2c) or over a TLS stream that negotiated h2: the client preface and our
 * SETTINGS, the read loop that dispatches the target's frames, header blocks decoded
 * (HPACK) and checked (response-fields.ts), flow control both ways, and many requests
 * at once, each an H2ClientStream (client-stream.ts). A pool of them (client-pool.ts)
 * lets vane's forwarders speak h2c to targets and pass gRPC through.
 *
 * Modelled on the server side (session.ts): one ordered FrameWriter, window credit
 * batched per half window, floods of work-only frames cut off (guard.ts). What a
 * target may make vane hold is bounded: one stream window of unread body per stream,
 * one connection window in all, a header block of at most twice the header list limit.
 * A GOAWAY from the target stops new streams; those above its last stream fail as
 * refused (retryable), the rest finish, then the connection closes.
 */
import type { TcpConn } from "../runtime/types.ts";
import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../runtime/clock.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import { type Frame, FrameReader, goawayFrame, headerFrames, pingFrame } from "./frames.ts";
import { END_STREAM, PING_ACK, rstStreamFrame, settingsAck, settingsFrame } from "./frames.ts";
import { FlowWindows, type Sending } from "./flow-windows.ts";
import { StreamTable } from "./stream-table.ts";
import { windowUpdateFrame } from "./frames.ts";
import { applySettings, DEFAULT_SETTINGS, type Settings } from "./settings.ts";
import { connectionError, H2Error, streamError } from "./errors.ts";
import { CLIENT_PREFACE, DEFAULT_WINDOW_SIZE, ErrorCode, errorCodeName } from "./constants.ts";
import { MAX_STREAM_ID, SettingId } from "./constants.ts";
import { FrameWriter } from "./writer.ts";
import { readFrames } from "./read-frames.ts";
import { FloodGuard } from "./guard.ts";
import { H2ClientStream, MAY_RETRY, NO_RETRY } from "./client-stream.ts";
import { type HeaderBlock, HeaderBlocks } from "./header-block.ts";

/** Streams opened on a connection whose target has not said its SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2 asks for at least 100). */
export const DEFAULT_MAX_STREAMS = 100;
/** Our SETTINGS_INITIAL_WINDOW_SIZE: unread response body one stream may hold. */
export const DEFAULT_STREAM_WINDOW = 256 * 1024;
/** The connection's receive window: unread response body of all streams together. */
export const DEFAULT_CONNECTION_WINDOW = 2 * 1024 * 1024;
/** Largest response header list decoded (SETTINGS_MAX_HEADER_LIST_SIZE). */
export const DEFAULT_MAX_HEADER_LIST = 64 * 1024;

export interface H2ClientOptions {
  /** Our INITIAL_WINDOW_SIZE. @default DEFAULT_STREAM_WINDOW */
  streamWindow?: number;
  /** Our connection window, raised from 65535 by a WINDOW_UPDATE at once. @default DEFAULT_CONNECTION_WINDOW */
  connectionWindow?: number;
  /** @default DEFAULT_MAX_HEADER_LIST */
  maxHeaderListSize?: number;
  /** With no stream open this long, the connection closes. @default Infinity (never) */
  idleMs?: number;
  clock?: Clock;
}

const NO_BYTES = new Uint8Array(0);
/** How long a closing connection waits for its last frames to be written before closing regardless. */
const CLOSE_GRACE_MS = 1_000;

export class H2ClientConnection {
  /** Called when room for streams may have changed: SETTINGS came, a stream ended, GOAWAY, closed. */
  onChange: (() => void) | null = null;
  /** Resolves true once the target's first SETTINGS came, false if the connection ended first. */
  readonly ready: Promise<boolean>;
  /** Resolves once the connection is over (its socket closed). */
  readonly closed: Promise<void>;
  readonly #conn: TcpConn;
  readonly #writer: FrameWriter;
  readonly #clock: Clock;
  readonly #frames = new FrameReader({ maxFrameSize: DEFAULT_SETTINGS.maxFrameSize });
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  readonly #guard: FloodGuard;
  readonly #streams = new StreamTable<H2ClientStream>();
  readonly #streamWindow: number;
  readonly #connWindow: number;
  readonly #windows: FlowWindows;
  readonly #maxHeaderList: number;
  readonly #idleMs: number;
  #peer: Settings = DEFAULT_SETTINGS;
  #settingsKnown = false;
  #setReady!: (known: boolean) => void;
  #setClosed!: () => void;
  #nextId = 1;
  readonly #blocks: HeaderBlocks;
  #reserved = 0;
  #reserveTimer: TimerHandle | null = null;
  #idleTimer: TimerHandle | null = null;
  #goingAway = false;
  #over = false;
  /** What the flow windows ask of the connection when a stream sends. */
  readonly #sending: Sending<H2ClientStream> = {
    maxFrameSize: () => this.#peer.maxFrameSize,
    open: (stream) => !this.#over && this.#streams.get(stream.id) === stream && !stream.endSent,
    last: (stream) => this.#endSent(stream),
  };
  #closeReason: string | null = null;

  private constructor(conn: TcpConn, options: H2ClientOptions) {
    this.#conn = conn;
    this.#writer = new FrameWriter(conn);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#guard = new FloodGuard(this.#clock);
    this.#streamWindow = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    this.#connWindow = Math.max(DEFAULT_WINDOW_SIZE, options.connectionWindow ?? DEFAULT_CONNECTION_WINDOW);
    this.#maxHeaderList = options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST;
    this.#blocks = new HeaderBlocks(2 * this.#maxHeaderList);
    this.#windows = new FlowWindows(this.#writer, this.#connWindow, this.#streamWindow);
    this.#idleMs = options.idleMs ?? Infinity;
    this.#decoder = new HpackDecoder({ maxHeaderListSize: this.#maxHeaderList });
    this.ready = new Promise((r) => (this.#setReady = r));
    this.closed = new Promise((r) => (this.#setClosed = r));
  }

  /** Speaks HTTP/2 on `conn` (which it now owns): the preface and our SETTINGS go out, the read loop starts. */
  static start(conn: TcpConn, options: H2ClientOptions = {}): H2ClientConnection {
    const c = new H2ClientConnection(conn, options);
    c.#begin();
    return c;
  }

  #begin(): void {
    this.#writer.queue(CLIENT_PREFACE);
    this.#writer.queue(settingsFrame([
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.INITIAL_WINDOW_SIZE, this.#streamWindow],
      [SettingId.MAX_HEADER_LIST_SIZE, this.#maxHeaderList],
    ]));
    if (this.#connWindow > DEFAULT_WINDOW_SIZE) {
      this.#writer.queue(windowUpdateFrame(0, this.#connWindow - DEFAULT_WINDOW_SIZE));
    }
    this.#idle();
    void this.#readLoop().then(
      () => this.#end("the target closed the connection"),
      (err) => this.#end(`http2 client failure: ${String(err)}`),
    );
  }

  // State ------------------------------------------------------------------------

  /** Streams open (or half closed) now. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** The target's SETTINGS_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_STREAMS until it says (or if it never limits). */
  get maxStreams(): number {
    return this.#peer.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS;
  }

  /** Whether the target's first SETTINGS came (its limit is known). */
  get settingsKnown(): boolean {
    return this.#settingsKnown;
  }

  /** Open, not going away, and room for one more stream (reservations counted). */
  get available(): boolean {
    return !this.#over && !this.#goingAway && this.#nextId <= MAX_STREAM_ID &&
      this.#streams.size + this.#reserved < this.maxStreams;
  }

  /** Streams reserved (reserve()) and not opened yet. */
  get reserved(): number {
    return this.#reserved;
  }

  /** The target sent GOAWAY (or we did): no new streams. */
  get goingAway(): boolean {
    return this.#goingAway || this.#nextId > MAX_STREAM_ID;
  }

  get isClosed(): boolean {
    return this.#over;
  }

  /** Why the connection ended, once it did. */
  get closeReason(): string | null {
    return this.#closeReason;
  }

  // Streams ----------------------------------------------------------------------

  /**
   * Holds room for one stream until request() takes it, or until the event loop's next
   * turn: what a pool does between handing out a connection and its caller's request().
   */
  reserve(): void {
    this.#reserved++;
    this.#busy();
    this.#reserveTimer ??= this.#clock.setTimeout(() => {
      this.#reserveTimer = null;
      this.#reserved = 0;
      this.#idle();
      this.onChange?.();
    }, 0);
  }

  /**
   * Opens the next stream with a request's header list (pseudo-headers first, as the
   * caller builds them; they are not checked here). `endStream`: no body follows. On a
   * connection that cannot take it, the stream's response fails as retryable.
   */
  request(fields: HeaderField[], endStream: boolean): H2ClientStream {
    if (this.#reserved > 0) this.#reserved--;
    const method = fields.find((f) => f.name === ":method")?.value ?? "GET";
    const windows = { send: this.#peer.initialWindowSize, receive: this.#streamWindow };
    if (this.#over || this.goingAway) {
      const refused = new H2ClientStream(this, 0, method, windows, endStream);
      refused.fail(`not sent: ${this.#closeReason ?? "the connection is going away"}`, MAY_RETRY);
      return refused;
    }
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new H2ClientStream(this, id, method, windows, endStream);
    stream.endSent = endStream;
    this.#streams.set(stream);
    this.#busy();
    const block = this.#encoder.encode(fields);
    for (const frame of headerFrames(id, block, endStream, this.#peer.maxFrameSize)) this.#writer.queue(frame);
    return stream;
  }

  /** Closes now: GOAWAY, open streams fail with `reason`, the socket closes once the GOAWAY went. */
  close(reason = "closed by vane"): void {
    if (this.#over) return;
    this.#writer.queue(goawayFrame(0, ErrorCode.NO_ERROR));
    this.#end(reason);
  }

  // ClientStreamHost -------------------------------------------------------------

  sendData(stream: H2ClientStream, data: Uint8Array, end: boolean): boolean | Promise<boolean> {
    return this.#windows.send(stream, data, end, this.#sending);
  }

  sendTrailers(stream: H2ClientStream, fields: HeaderField[]): Promise<boolean> {
    if (this.#over || this.#streams.get(stream.id) !== stream || stream.endSent) return Promise.resolve(false);
    const block = this.#encoder.encode(fields);
    let written: Promise<boolean> = Promise.resolve(true);
    for (const frame of headerFrames(stream.id, block, END_STREAM, this.#peer.maxFrameSize)) {
      written = this.#writer.queue(frame);
    }
    this.#endSent(stream);
    return written;
  }

  consumed(stream: H2ClientStream, n: number): void {
    this.#credit(stream, n);
  }

  reset(stream: H2ClientStream, code: number): void {
    if (this.#over || this.#streams.get(stream.id) !== stream) return;
    this.#writer.queue(rstStreamFrame(stream.id, code));
    this.#forget(stream);
    this.#credit(null, stream.fail(`reset by vane (${errorCodeName(code)})`, NO_RETRY));
  }

  #endSent(stream: H2ClientStream): void {
    stream.endSent = true;
    stream.localEnded();
    if (stream.remoteDone) this.#forget(stream);
  }

  /** The stream is over (both ends, or reset): it no longer counts, and the connection may go idle or close. */
  #forget(stream: H2ClientStream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#windows.moved();
    if (this.#goingAway && this.#streams.size === 0) {
      this.#writer.queue(goawayFrame(0, ErrorCode.NO_ERROR));
      this.#end("closed after the target's GOAWAY");
      return;
    }
    this.#idle();
    this.onChange?.();
  }

  #busy(): void {
    if (this.#idleTimer === null) return;
    this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  /** No stream open nor reserved: the idle timer runs. */
  #idle(): void {
    if (this.#over || this.#streams.size > 0 || this.#reserved > 0 || this.#idleTimer !== null) return;
    if (this.#idleMs === Infinity) return;
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = null;
      if (this.#streams.size === 0 && this.#reserved === 0) this.close("idle");
    }, this.#idleMs);
  }

  // Reading ----------------------------------------------------------------------

  #readLoop(): Promise<void> {
    return readFrames(this.#conn, this.#frames, {
      dispatch: (f) => this.#dispatch(f),
      failed: (err) => this.#failed(err),
      over: () => this.#over,
    });
  }

  /** A stream error resets its stream (true: the connection goes on); a connection error ends it with GOAWAY. */
  #failed(err: H2Error): boolean {
    if (err.stream === 0) {
      this.#writer.queue(goawayFrame(0, err.code, new TextEncoder().encode(err.message)));
      this.#end(`the target broke HTTP/2: ${err.describe()}`);
      return false;
    }
    this.#writer.queue(rstStreamFrame(err.stream, err.code));
    const stream = this.#streams.get(err.stream);
    if (stream !== undefined) {
      this.#forget(stream);
      this.#credit(null, stream.fail(`malformed response: ${err.message}`, NO_RETRY));
    }
    return true;
  }

  #dispatch(f: Frame): void {
    this.#blocks.interrupted(f.type);
    if (!this.#settingsKnown && f.type !== "settings") {
      throw connectionError(ErrorCode.PROTOCOL_ERROR, `the server's preface is not SETTINGS but ${f.type}`);
    }
    switch (f.type) {
      case "headers":
        return this.#onHeaders(f);
      case "continuation":
        return this.#onContinuation(f);
      case "data":
        return this.#onData(f);
      case "settings":
        return this.#onSettings(f);
      case "window_update":
        return this.#onWindowUpdate(f);
      case "ping":
        if (this.#guard.cheap()) throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "PING flood");
        if (!f.ack) this.#writer.queue(pingFrame(f.data, PING_ACK));
        return;
      case "rst_stream":
        return this.#onReset(f.stream, f.code);
      case "goaway":
        return this.#onGoaway(f.lastStream, f.code);
      case "push_promise":
        throw connectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE after SETTINGS_ENABLE_PUSH 0");
      default:
        return; // PRIORITY and unknown frame types are ignored (§4.1, §5.3.2)
    }
  }

  /** A frame on a stream we never opened: even (the server may not open any) or not yet used. */
  #idleStream(id: number): boolean {
    return id % 2 === 0 || id >= this.#nextId;
  }

  #onHeaders(f: Extract<Frame, { type: "headers" }>): void {
    if (this.#idleStream(f.stream)) {
      throw connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${f.stream}, which vane did not open`);
    }
    const block = this.#blocks.begin(f.stream, f.endStream, f.fragment, f.endHeaders);
    if (block !== null) this.#blockDone(block);
  }

  #onContinuation(f: Extract<Frame, { type: "continuation" }>): void {
    const block = this.#blocks.continue(f.stream, f.fragment, f.endHeaders);
    if (block !== null) this.#blockDone(block);
  }

  /** A whole header block: decoded (the HPACK state moves even for a stream gone), then given to its stream. */
  #blockDone(block: HeaderBlock): void {
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(block.bytes());
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      if (err.kind === "compression") throw connectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      throw streamError(block.stream, ErrorCode.PROTOCOL_ERROR, "response header list too large");
    }
    const stream = this.#streams.get(block.stream);
    if (stream === undefined) return; // reset or over: late frames are dropped
    if (stream.remoteDone) throw streamError(block.stream, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM");
    const bad = stream.headers(fields, block.endStream);
    if (bad !== null) throw streamError(block.stream, ErrorCode.PROTOCOL_ERROR, bad);
    if (stream.remoteDone && stream.endSent) this.#forget(stream);
  }

  #onData(f: Extract<Frame, { type: "data" }>): void {
    const length = f.flowLength;
    this.#windows.received(length);
    const stream = this.#streams.get(f.stream);
    if (stream === undefined || stream.remoteDone) {
      if (this.#idleStream(f.stream)) {
        throw connectionError(ErrorCode.PROTOCOL_ERROR, `DATA on stream ${f.stream}, which vane did not open`);
      }
      this.#credit(null, length);
      if (stream === undefined) return; // reset by us: late frames are dropped
      throw streamError(f.stream, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM");
    }
    stream.recvWindow -= length;
    // Padding is never read by anyone: its window comes back at once.
    if (length > f.data.length) this.#credit(stream, length - f.data.length);
    if (stream.recvWindow < 0) {
      this.#credit(null, f.data.length);
      throw streamError(f.stream, ErrorCode.FLOW_CONTROL_ERROR, "DATA past the stream window");
    }
    const bad = stream.data(f.data.slice(), f.endStream);
    if (bad !== null) {
      this.#credit(null, f.data.length);
      throw streamError(f.stream, ErrorCode.PROTOCOL_ERROR, bad);
    }
    if (stream.remoteDone && stream.endSent) this.#forget(stream);
  }

  /** Gives `n` bytes of window back (batched), to the stream too while it still receives. */
  #credit(stream: H2ClientStream | null, n: number): void {
    if (this.#over) return;
    const open = stream !== null && this.#streams.get(stream.id) === stream && !stream.remoteDone;
    this.#windows.credit(open ? stream : null, n);
  }

  #onSettings(f: Extract<Frame, { type: "settings" }>): void {
    if (f.ack) return;
    if (this.#guard.cheap()) throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "SETTINGS flood");
    const before = this.#peer;
    this.#peer = applySettings(before, f.params);
    this.#encoder.setPeerMaxTableSize(this.#peer.headerTableSize);
    this.#windows.moveInitial(this.#streams.values(), this.#peer.initialWindowSize - before.initialWindowSize);
    this.#writer.queue(settingsAck());
    if (!this.#settingsKnown) {
      this.#settingsKnown = true;
      this.#setReady(true);
    }
    this.onChange?.();
  }

  #onWindowUpdate(f: Extract<Frame, { type: "window_update" }>): void {
    if (f.stream === 0) return this.#windows.update(null, f.increment);
    const stream = this.#streams.get(f.stream);
    if (stream !== undefined) return this.#windows.update(stream, f.increment);
    if (this.#idleStream(f.stream)) {
      throw connectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on stream ${f.stream}, never opened`);
    }
  }

  #onReset(id: number, code: number): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (this.#idleStream(id)) throw connectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on stream ${id}`);
      return;
    }
    this.#forget(stream);
    // §8.1: a whole response and then NO_ERROR means "stop sending", not a failure.
    if (code === ErrorCode.NO_ERROR && (stream.remoteDone || stream.wholeAtReset())) return stream.localEnded();
    const refused = code === ErrorCode.REFUSED_STREAM;
    const why = `reset by the target (${errorCodeName(code)})${refused ? ", may retry" : ""}`;
    this.#credit(null, stream.fail(why, refused));
  }

  /** The target takes no new streams: those it never saw fail as retryable, the rest finish (§6.8). */
  #onGoaway(lastStream: number, code: number): void {
    this.#goingAway = true;
    const why = code === ErrorCode.NO_ERROR ? "" : ` (${errorCodeName(code)})`;
    for (const stream of [...this.#streams.values()]) {
      if (stream.id <= lastStream) continue;
      this.#streams.delete(stream.id);
      this.#credit(null, stream.fail(`refused by the target's GOAWAY${why}, may retry`, MAY_RETRY));
    }
    this.#windows.moved();
    if (this.#streams.size === 0) {
      this.#writer.queue(goawayFrame(0, ErrorCode.NO_ERROR));
      this.#end(`the target sent GOAWAY${why}`);
      return;
    }
    this.onChange?.();
  }

  /** The connection is over: every stream still open fails with `reason`; the socket closes once the last frames went. */
  #end(reason: string): void {
    if (this.#over) return;
    this.#over = true;
    this.#closeReason = reason;
    this.#busy();
    if (this.#reserveTimer !== null) this.#clock.clearTimeout(this.#reserveTimer);
    for (const s of this.#streams.values()) s.fail(`connection lost: ${reason}`, NO_RETRY);
    this.#streams.clear();
    this.#windows.moved();
    this.#setReady(false);
    // Closed once the last frames (a GOAWAY) went out, or after a grace if the target reads nothing.
    let timer: TimerHandle | null = null;
    const finish = (): void => {
      if (timer === null) return;
      this.#clock.clearTimeout(timer);
      timer = null;
      this.#conn.close();
      this.#setClosed();
    };
    timer = this.#clock.setTimeout(finish, CLOSE_GRACE_MS);
    void this.#writer.queue(NO_BYTES).then(finish);
    this.onChange?.();
  }
}
