/**
 * One HTTP/2 connection from a client (RFC 9113): the preface and SETTINGS, frames
 * read and dispatched, header blocks decoded (HPACK), flow control both ways, and each
 * request stream handed to the HTTP/1.1 engine as a connection of its own (stream.ts),
 * so the flow, the routes and the forwarders serve both versions alike.
 *
 * What a client may make vane hold is bounded: one connection window of request body
 * (the engine reads it as fast as the target takes it), a header block of at most
 * MAX_HEADER_BLOCK bytes, MAX_STREAMS streams at once; floods of resets and of
 * work-only frames end the connection (guard.ts). A retire (reload, shutdown) sends
 * GOAWAY: streams already begun finish, new ones go to a new connection.
 */
import type { ReplayConn } from "../forward/replay-conn.ts";
import type { HeadFields, HttpContext } from "../http/types.ts";
import type { SocketAddress } from "../runtime/types.ts";
import { limited } from "../telemetry/log-limit.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import {
  type Frame,
  FrameReader,
  goawayFrame,
  headerFrames,
  headersFrameIn,
  pingFrame,
  rstStreamFrame,
} from "./frames.ts";
import { settingsAck, settingsFrame, windowUpdateFrame } from "./frames.ts";
import { applySettings, DEFAULT_SETTINGS, type Settings } from "./settings.ts";
import { connectionError, H2Error, streamError } from "./errors.ts";
import { CLIENT_PREFACE, ErrorCode, FRAME_HEADER_LENGTH, SettingId } from "./constants.ts";
import { requestHead } from "./request-head.ts";
import { encodeHead } from "./response-reader.ts";
import type { OpenStream, StreamHost } from "./stream.ts";
import { type H2Forwarding, StreamStarter } from "./dispatch.ts";
import { FrameWriter, PER_TURN } from "./writer.ts";
import { FlowWindows, type Sending } from "./flow-windows.ts";
import { readFrames } from "./read-frames.ts";
import { HeaderBlocks } from "./header-block.ts";
import { StreamTable } from "./stream-table.ts";
import { FloodGuard } from "./guard.ts";

/** Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); nginx and HAProxy use 128 and 100. */
export const MAX_STREAMS = 100;
/** The receive window of each stream: what one stream's body may run ahead of the engine. */
const STREAM_WINDOW = 65_535;
/** The connection's receive window: all request bodies of a connection buffered at most. */
const CONNECTION_WINDOW = 1 << 20;
/** Largest header list decoded (SETTINGS_MAX_HEADER_LIST_SIZE); larger gets 431. */
export const MAX_HEADER_LIST = 64 * 1024;
/** Largest header block (HEADERS and its CONTINUATIONs) held while it arrives: the CONTINUATION flood bound. */
const MAX_HEADER_BLOCK = 2 * MAX_HEADER_LIST;

const OUR_SETTINGS: Array<[number, number]> = [
  [SettingId.MAX_CONCURRENT_STREAMS, MAX_STREAMS],
  [SettingId.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
  [SettingId.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
  [SettingId.ENABLE_PUSH, 0],
];

/**
 * Serves `client` as HTTP/2 from its first byte (the connection preface) until it
 * closes, errs or is told to go away. Never throws; the caller closes `client`.
 */
export function serveHttp2(
  client: ReplayConn,
  ctx: HttpContext,
  forwarding: H2Forwarding | null = null,
): Promise<void> {
  return new H2Session(client, ctx, forwarding).run();
}

class H2Session implements StreamHost {
  readonly #client: ReplayConn;
  readonly #ctx: HttpContext;
  /** What each stream's engine is given: the connection's context, minus what is per connection. */
  readonly #streamCtx: HttpContext;
  readonly #writer: FrameWriter;
  readonly #windows: FlowWindows;
  readonly #frames = new FrameReader({ maxFrameSize: DEFAULT_SETTINGS.maxFrameSize });
  readonly #decoder = new HpackDecoder({ maxHeaderListSize: MAX_HEADER_LIST });
  readonly #encoder = new HpackEncoder();
  readonly #guard: FloodGuard;
  readonly #streams = new StreamTable<OpenStream>();
  readonly #starter: StreamStarter;
  #peer: Settings = DEFAULT_SETTINGS;
  #lastStream = 0;
  readonly #blocks = new HeaderBlocks(MAX_HEADER_BLOCK);
  #goingAway = false;
  #over = false;
  /** What the flow windows ask of the connection when a stream sends. */
  readonly #sending: Sending<OpenStream> = {
    maxFrameSize: () => this.#peer.maxFrameSize,
    open: (stream) => !this.#over && this.#streams.has(stream.id),
  };

  constructor(client: ReplayConn, ctx: HttpContext, forwarding: H2Forwarding | null) {
    this.#client = client;
    this.#ctx = ctx;
    this.#streamCtx = { ...ctx, retired: undefined, onRetire: undefined, h2: undefined, oneRequest: true };
    this.#starter = new StreamStarter(
      this,
      this.#streamCtx,
      forwarding,
      (stream) => this.#streams.set(stream),
    );
    this.#writer = new FrameWriter(client, { flush: PER_TURN });
    this.#windows = new FlowWindows(this.#writer, CONNECTION_WINDOW, STREAM_WINDOW);
    this.#guard = new FloodGuard(client.clock);
  }

  get remote(): SocketAddress {
    return this.#ctx.client;
  }
  get local(): SocketAddress {
    return this.#ctx.local;
  }

  async run(): Promise<void> {
    try {
      if (!(await this.#preface())) return;
      this.#writer.queue(settingsFrame(OUR_SETTINGS));
      this.#writer.queue(windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_SETTINGS.initialWindowSize));
      this.#ctx.onRetire?.(() => this.#goAway(ErrorCode.NO_ERROR, "vane is reloading or stopping"));
      if (this.#ctx.retired?.()) this.#goAway(ErrorCode.NO_ERROR, "vane is reloading or stopping");
      await this.#readLoop();
    } catch (err) {
      limited(this.#ctx.log).error("http2 session failure", null, {
        client: this.#ctx.client.hostname,
        error: String(err),
      });
    } finally {
      this.#end();
      // What is queued (a GOAWAY saying why) goes out before the caller closes the socket.
      await this.#writer.drained();
    }
  }

  /** The client's 24 bytes of preface, within the first request's deadline; else the connection closes. */
  async #preface(): Promise<boolean> {
    const client = this.#client;
    client.closeAt(client.clock.now() + this.#ctx.requestHeadMs);
    let got = new Uint8Array(0);
    while (got.length < CLIENT_PREFACE.length) {
      const chunk = await client.read().catch(() => null);
      if (chunk === null) return false;
      const joined = new Uint8Array(got.length + chunk.length);
      joined.set(got);
      joined.set(chunk, got.length);
      got = joined;
      const n = Math.min(got.length, CLIENT_PREFACE.length);
      for (let i = 0; i < n; i++) if (got[i] !== CLIENT_PREFACE[i]) return false;
    }
    if (got.length > CLIENT_PREFACE.length) client.unread(got.slice(CLIENT_PREFACE.length));
    this.#idle();
    return true;
  }

  /** No stream open: the connection may stay this long (the keep-alive wait), else it closes. */
  #idle(): void {
    if (this.#streams.size === 0) this.#client.closeAt(this.#client.clock.now() + this.#ctx.keepAliveMs);
  }

  #readLoop(): Promise<void> {
    return readFrames(this.#client, this.#frames, {
      dispatch: (f) => this.#dispatch(f),
      failed: (err) => this.#failed(err),
      over: () => this.#over,
    });
  }

  /** A stream error resets its stream (true: the connection goes on); a connection error ends it with GOAWAY. */
  #failed(err: H2Error): boolean {
    if (err.stream === 0) {
      this.#goAway(err.code, err.message);
      return false;
    }
    this.#refuse(err.stream, err.code, err.message);
    return true;
  }

  #dispatch(f: Frame): void {
    this.#blocks.interrupted(f.type);
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
        if (!f.ack) this.#writer.queue(pingFrame(f.data, true));
        return;
      case "rst_stream":
        return this.#onReset(f.stream);
      case "goaway":
        // The client will open no more streams: finish what is open, then close.
        this.#goingAway = true;
        if (this.#streams.size === 0) this.#over = true;
        return;
      case "priority":
        if (this.#guard.cheap()) throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "PRIORITY flood");
        return;
      case "push_promise":
        throw connectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      default:
        return; // unknown frame types are ignored (§4.1)
    }
  }

  #onHeaders(f: Extract<Frame, { type: "headers" }>): void {
    const id = f.stream;
    const open = this.#streams.get(id);
    if (open === undefined) {
      if (id % 2 === 0 || id <= this.#lastStream) {
        throw connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS opening stream ${id}, not above ${this.#lastStream}`);
      }
      this.#lastStream = id;
    } else if (!f.endStream || open.requestDone) {
      // Trailers end the request; anything else on an open stream is malformed.
      throw streamError(id, ErrorCode.PROTOCOL_ERROR, "HEADERS on an open stream without END_STREAM");
    }
    // The usual block is one HEADERS frame: decoded from the frame's own bytes, nothing held.
    if (f.endHeaders && f.fragment.length <= MAX_HEADER_BLOCK) return this.#blockDone(id, f.endStream, f.fragment);
    const block = this.#blocks.begin(id, f.endStream, f.fragment, f.endHeaders);
    if (block !== null) this.#blockDone(block.stream, block.endStream, block.bytes());
  }

  #onContinuation(f: Extract<Frame, { type: "continuation" }>): void {
    const block = this.#blocks.continue(f.stream, f.fragment, f.endHeaders);
    if (block !== null) this.#blockDone(block.stream, block.endStream, block.bytes());
  }

  /** A whole header block: decoded (the HPACK state moves even for one refused), then a request or trailers. */
  #blockDone(id: number, endStream: boolean, bytes: Uint8Array): void {
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(bytes);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      if (err.kind === "compression") throw connectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      return this.#tooLarge(id, endStream);
    }
    const open = this.#streams.get(id);
    if (open !== undefined) {
      // Trailers: an HTTP/1.1 target gets none of them (nginx drops them too); the body ends.
      if (!open.endRequest()) {
        throw streamError(id, ErrorCode.PROTOCOL_ERROR, "body shorter than content-length");
      }
      return;
    }
    this.#open(id, endStream, fields);
  }

  /** A header list over MAX_HEADER_LIST: answered 431, as an HTTP/1.1 head too large would be. */
  #tooLarge(id: number, endStream: boolean): void {
    if (this.#streams.has(id)) {
      throw streamError(id, ErrorCode.PROTOCOL_ERROR, "trailers too large");
    }
    this.#answerAlone(id, 431, !endStream);
  }

  /** vane answers a stream itself, outside the engine (no route was asked). */
  #answerAlone(id: number, status: number, bodyComing: boolean): void {
    const fields = [{ name: ":status", value: String(status) }, { name: "content-length", value: "0" }];
    for (const frame of headerFrames(id, this.#encoder.encode(fields), true, this.#peer.maxFrameSize)) {
      this.#writer.queue(frame);
    }
    if (bodyComing) this.#writer.queue(rstStreamFrame(id, ErrorCode.NO_ERROR));
    this.#ctx.onResponse({ route: null, pool: null, code: status, method: "-", bytesIn: 0, bytesOut: 0 });
  }

  /** A new request stream: checked, then served by the engine. */
  #open(id: number, endStream: boolean, fields: HeaderField[]): void {
    if (this.#goingAway) return this.#refuse(id, ErrorCode.REFUSED_STREAM, "GOAWAY sent");
    if (this.#streams.size >= MAX_STREAMS) {
      if (this.#guard.reset()) throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many refused streams");
      return this.#refuse(id, ErrorCode.REFUSED_STREAM, "too many concurrent streams");
    }
    const request = requestHead(fields, endStream, this.#ctx.http.maxHeaderLine);
    if (!request.ok) {
      this.#ctx.log.debug("http2 request refused", { client: this.#ctx.client.hostname, reason: request.reason });
      return this.#refuse(id, ErrorCode.PROTOCOL_ERROR, request.reason);
    }
    if (request.method === "CONNECT") return this.#answerAlone(id, 405, !endStream);
    this.#client.clearCloseAt();
    this.#starter.start({
      id,
      fields,
      request,
      windows: { send: this.#peer.initialWindowSize, receive: STREAM_WINDOW },
    });
  }

  #onData(f: Extract<Frame, { type: "data" }>): void {
    const length = f.flowLength;
    this.#windows.received(length);
    const stream = this.#streams.get(f.stream);
    if (stream === undefined || stream.requestDone) {
      if (f.stream > this.#lastStream) {
        throw connectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${f.stream}`);
      }
      this.#credit(null, length);
      throw streamError(f.stream, ErrorCode.STREAM_CLOSED, `DATA on closed stream ${f.stream}`);
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) throw streamError(f.stream, ErrorCode.FLOW_CONTROL_ERROR, "DATA past the stream window");
    // Padding is never read by anyone: its window comes back at once.
    if (length > f.data.length) this.#credit(stream, length - f.data.length);
    if (f.data.length === 0 && !f.endStream && this.#guard.cheap()) {
      throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "empty DATA flood");
    }
    if (!stream.deliver(f.data.slice())) {
      throw streamError(f.stream, ErrorCode.PROTOCOL_ERROR, "body longer than content-length");
    }
    if (f.endStream && !stream.endRequest()) {
      throw streamError(f.stream, ErrorCode.PROTOCOL_ERROR, "body shorter than content-length");
    }
  }

  consumed(stream: OpenStream, n: number): void {
    this.#credit(stream, n);
  }

  /** Gives `n` bytes of window back (batched), to the stream too while it still receives. */
  #credit(stream: OpenStream | null, n: number): void {
    if (this.#over) return;
    const open = stream !== null && this.#streams.has(stream.id) && !stream.requestDone;
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
  }

  #onWindowUpdate(f: Extract<Frame, { type: "window_update" }>): void {
    if (f.stream === 0) return this.#windows.update(null, f.increment);
    const stream = this.#streams.get(f.stream);
    if (stream !== undefined) return this.#windows.update(stream, f.increment);
    if (f.stream > this.#lastStream) throw connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on idle stream");
  }

  #onReset(id: number): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStream) throw connectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return;
    }
    this.#streams.delete(id);
    stream.abandon();
    this.#windows.moved();
    if (this.#guard.reset()) throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "rapid reset");
    this.#idle();
  }

  // StreamHost ---------------------------------------------------------------------

  sendHeaders(stream: OpenStream, fields: HeaderField[], end: boolean): void {
    if (this.#over || !this.#streams.has(stream.id)) return;
    const framed = this.#encoder.encode(fields, FRAME_HEADER_LENGTH);
    this.#sendBlock(stream, framed, framed.length, end);
  }

  sendHead(stream: OpenStream, status: number, head: HeadFields, end: boolean): void {
    if (this.#over || !this.#streams.has(stream.id)) return;
    const length = encodeHead(this.#encoder, status, head, FRAME_HEADER_LENGTH);
    this.#sendBlock(stream, this.#encoder.buffer, length, end);
  }

  /**
   * A header block in buf[0, length), with room for a frame header before it: one
   * HEADERS frame, or as many as it takes. Pushed (copied into the writer's batch) at
   * once: `buf` may be the encoder's own buffer.
   */
  #sendBlock(stream: OpenStream, buf: Uint8Array, length: number, end: boolean): void {
    if (headersFrameIn(buf, length, stream.id, end, this.#peer.maxFrameSize)) {
      return void this.#writer.pushRange(buf, 0, length);
    }
    const block = buf.subarray(FRAME_HEADER_LENGTH, length);
    for (const frame of headerFrames(stream.id, block, end, this.#peer.maxFrameSize)) this.#writer.push(frame);
  }

  sendData(stream: OpenStream, data: Uint8Array, end: boolean, from = 0, to = data.length): boolean | Promise<boolean> {
    return this.#windows.send(stream, data, end, this.#sending, from, to);
  }

  reset(stream: OpenStream, code: number): void {
    if (this.#over || !this.#streams.has(stream.id)) return;
    this.#writer.queue(rstStreamFrame(stream.id, code));
    this.finished(stream);
  }

  finished(stream: OpenStream): void {
    if (!this.#streams.delete(stream.id)) return;
    if (this.#goingAway && this.#streams.size === 0) {
      this.#over = true;
      void this.#writer.queue(new Uint8Array(0)).then(() => this.#client.close());
      return;
    }
    this.#idle();
  }

  // The connection -----------------------------------------------------------------

  /** A stream error: RST_STREAM, and the stream (if open) is abandoned. */
  #refuse(id: number, code: number, why: string): void {
    this.#ctx.log.debug("http2 stream reset", { client: this.#ctx.client.hostname, stream: id, reason: why });
    this.#writer.queue(rstStreamFrame(id, code));
    const stream = this.#streams.get(id);
    if (stream !== undefined) {
      this.#streams.delete(id);
      stream.abandon();
      this.#idle();
    }
  }

  /**
   * GOAWAY with the last stream taken. NO_ERROR (a retire): open streams finish, then
   * the connection closes; an error code ends it now.
   */
  #goAway(code: number, why: string): void {
    if (this.#over) return;
    if (!this.#goingAway || code !== ErrorCode.NO_ERROR) {
      this.#writer.queue(goawayFrame(this.#lastStream, code, new TextEncoder().encode(why)));
    }
    this.#goingAway = true;
    if (code !== ErrorCode.NO_ERROR) {
      limited(this.#ctx.log).warn("http2 connection closed", "client", {
        client: this.#ctx.client.hostname,
        reason: why,
      });
    }
    if (code !== ErrorCode.NO_ERROR || this.#streams.size === 0) {
      this.#over = true;
      // Closing after the GOAWAY went out, so the client reads why.
      void this.#writer.queue(new Uint8Array(0)).then(() => this.#client.close());
    }
  }

  #end(): void {
    this.#over = true;
    for (const s of this.#streams.values()) s.abandon();
    this.#streams.clear();
    this.#windows.moved();
  }
}
