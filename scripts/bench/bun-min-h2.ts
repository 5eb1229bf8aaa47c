/**
 * The floor for the bench's h2 test on Bun: the least a Bun proxy can do per request to
 * take HTTP/2 in clear with prior knowledge (h2c, as h2load -c 32 -m 10 speaks it) and
 * forward each stream as an HTTP/1.1 request, as bun-min-http.ts is the floor for L7.
 * Per client connection: check the preface, send our SETTINGS and a connection
 * WINDOW_UPDATE, read frames; SETTINGS are ACKed (the peer's initial window, frame size
 * and table size taken), PINGs answered, WINDOW_UPDATEs open the send windows, DATA is
 * drained (our receive windows replenished at half), RST_STREAM drops the stream,
 * GOAWAY is let be. A HEADERS frame is decoded with vane's HpackDecoder (one per
 * connection) and written as `METHOD path HTTP/1.1`, Host from :authority, the other
 * fields as they came, on a kept-alive upstream connection from the pool (or a new
 * Bun.connect), as bun-min-http does; the response head is read with content-length,
 * encoded with vane's HpackEncoder (:status and the fields but connection, keep-alive
 * and transfer-encoding) as HEADERS, the body as DATA within the send windows (the rest
 * waits for WINDOW_UPDATE), END_STREAM on the last frame. A connection's frames are
 * gathered in one buffer and written once per event-loop turn (setImmediate), as vane's
 * FrameWriter does in PER_TURN mode: h2load keeps 10 streams in flight per connection.
 *
 * Not done: CONTINUATION (a head without END_HEADERS ends the connection with GOAWAY),
 * request bodies (drained, not forwarded: content-length is dropped), chunked or
 * length-less responses (the stream is reset), priorities, stream state checks beyond
 * the least, timeouts, logging, header rewriting, backpressure from a slow client (its
 * output buffer grows), retries but bun-min-http's (a pooled upstream that closes
 * before answering: the request goes again on a new connection). Bun.listen/connect
 * socket handlers directly. bench.mjs runs it as `bun-min-h2` beside vane-bun.
 *
 *   bun scripts/bench/bun-min-h2.ts LISTEN_PORT BACKEND_PORT
 */
import { contentLength, headEnd } from "./min-http-head.ts";
import { HpackDecoder } from "../../src/http2/hpack-decoder.ts";
import { HpackEncoder } from "../../src/http2/hpack-encoder.ts";
import type { HeaderField } from "../../src/http2/header-field.ts";
import { latin1Decode, latin1Encode } from "../../src/detect/bytes.ts";
import process from "node:process";
import { setImmediate } from "node:timers";
import type { BunApi, BunSocket } from "../../src/runtime/bun.d.ts";

declare const Bun: BunApi;

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
if (![listenPort, backendPort].every(Number.isInteger)) {
  console.error("usage: bun-min-h2.ts LISTEN_PORT BACKEND_PORT");
  process.exit(2);
}

/** Big enough for any response head nginx sends here; a longer one resets the stream. */
const HEAD_BYTES = 16 * 1024;
const PREFACE = latin1Encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME_HEADER = 9;
/** The largest frame we take: the protocol's default SETTINGS_MAX_FRAME_SIZE, not raised. */
const MAX_FRAME = 16384;
const MAX_STREAMS = 128;
/** Our receive windows, per stream (SETTINGS) and per connection (WINDOW_UPDATE): 16 MiB. */
const RECV_WINDOW = 1 << 24;
const DEFAULT_WINDOW = 65535;

const DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8;
const CONTINUATION = 9;
const END_STREAM = 1, ACK = 1, END_HEADERS = 4, PADDED = 8, PRIORITY_FLAG = 0x20;
const PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, FLOW_CONTROL_ERROR = 3, FRAME_SIZE_ERROR = 6;
const REFUSED_STREAM = 7, COMPRESSION_ERROR = 9;
/** The fields of an HTTP/1.1 response that do not go into HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"]);

type ClientSocket = BunSocket<Session>;
type UpSocket = BunSocket<Upstream | undefined>;

/** The backend's kept-alive connections that wait for a request. */
const idle: UpSocket[] = [];

/** A client connection's state, in its socket's `data`. */
class Session {
  /** Bytes of frames not complete yet (a chunk's tail), then the preface not yet checked. */
  inBuf = new Uint8Array(2 * (FRAME_HEADER + MAX_FRAME));
  inLen = 0;
  preface = false;
  readonly decoder = new HpackDecoder();
  readonly encoder = new HpackEncoder();
  readonly streams = new Map<number, Stream>();
  lastStreamId = 0;
  /** Our send windows: the connection's, and the peer's initial one for new streams. */
  sendWindow = DEFAULT_WINDOW;
  initialWindow = DEFAULT_WINDOW;
  maxFrame = MAX_FRAME;
  /** DATA received since our last connection WINDOW_UPDATE. */
  recvUsed = 0;
  /** Frames waiting for the turn's write, from `out[0]` to `outLen`. */
  out = new Uint8Array(16 * 1024);
  outLen = 0;
  /** A write is scheduled for this turn, or the socket wants a drain first. */
  scheduled = false;
  blocked = false;
  closed = false;
  constructor(readonly socket: ClientSocket) {}
}

/** One request's stream, from its HEADERS to the END_STREAM of its answer. */
class Stream {
  sendWindow: number;
  recvUsed = 0;
  /** The HTTP/1.1 request (kept for a retry on a new upstream connection). */
  head: Uint8Array | null = null;
  /** No body is read for HEAD, whatever content-length says. */
  isHead = false;
  up: UpSocket | null = null;
  /** Body bytes that did not fit the send windows yet; `ended`: the last of them ends the stream. */
  pending: Uint8Array[] = [];
  ended = false;
  constructor(readonly session: Session, readonly id: number) {
    this.sendWindow = session.initialWindow;
  }
}

/** An upstream connection's state, in its socket's `data`. */
class Upstream {
  stream: Stream | null = null;
  /** It came from the pool: if it ends before answering, the request goes again on a new one. */
  reused = false;
  /** Response bytes seen for the request in flight; `left`: body bytes still to come (-1: head not complete). */
  seen = 0;
  left = -1;
  buf = new Uint8Array(HEAD_BYTES);
  len = 0;
  backlog: Uint8Array[] = [];
}

// ---- frames out ----

/** Room for `n` more bytes in the session's output buffer. */
function reserve(s: Session, n: number): void {
  if (s.outLen + n <= s.out.length) return;
  const out = new Uint8Array(Math.max(2 * s.out.length, s.outLen + n));
  out.set(s.out.subarray(0, s.outLen));
  s.out = out;
}

/** Appends a frame (header and payload) and makes sure a write comes at the end of the turn. */
function frame(s: Session, type: number, flags: number, id: number, payload: Uint8Array | null, len = 0): void {
  const n = payload === null ? len : payload.length;
  reserve(s, FRAME_HEADER + n);
  const o = s.out, at = s.outLen;
  o[at] = n >>> 16;
  o[at + 1] = n >>> 8;
  o[at + 2] = n;
  o[at + 3] = type;
  o[at + 4] = flags;
  o[at + 5] = id >>> 24;
  o[at + 6] = id >>> 16;
  o[at + 7] = id >>> 8;
  o[at + 8] = id;
  if (payload !== null) o.set(payload, at + FRAME_HEADER);
  s.outLen = at + FRAME_HEADER + n;
  if (!s.scheduled && !s.blocked) {
    s.scheduled = true;
    setImmediate(writeOut, s);
  }
}

/** A frame whose payload is 32-bit words (WINDOW_UPDATE, RST_STREAM, GOAWAY), written in place. */
function wordsFrame(s: Session, type: number, id: number, ...words: number[]): void {
  frame(s, type, 0, id, null, 4 * words.length);
  const at = s.outLen - 4 * words.length;
  const view = new DataView(s.out.buffer, s.out.byteOffset);
  for (let i = 0; i < words.length; i++) view.setUint32(at + 4 * i, words[i]);
}

/** Writes what waits; what the socket does not take stays at the front until its drain. */
function writeOut(s: Session): void {
  s.scheduled = false;
  if (s.closed || s.outLen === 0) return;
  const n = s.socket.write(s.out.subarray(0, s.outLen));
  if (n < 0) return;
  if (n < s.outLen) s.out.copyWithin(0, n, s.outLen);
  s.outLen -= n;
  s.blocked = s.outLen > 0;
}

/** The connection ends with GOAWAY `code`: written at once, then the socket closed. */
function goaway(s: Session, code: number): void {
  wordsFrame(s, GOAWAY, 0, s.lastStreamId, code);
  s.blocked = false;
  writeOut(s);
  s.closed = true;
  s.socket.end();
}

function reset(st: Stream, code: number): void {
  wordsFrame(st.session, RST_STREAM, st.id, code);
  closeStream(st);
}

function closeStream(st: Stream): void {
  st.session.streams.delete(st.id);
  if (st.up !== null) {
    // An upstream in the middle of this stream's response cannot be used again.
    st.up.data!.stream = null;
    st.up.end();
    st.up = null;
  }
}

// ---- the client side: frames in ----

function onClientData(s: Session, chunk: Uint8Array): void {
  if (s.inLen === 0 && s.preface) {
    // The usual case: whole frames in the chunk, read where Bun handed them over.
    const used = readFrames(s, chunk, chunk.length);
    if (used < chunk.length && !s.closed) keep(s, chunk.subarray(used));
    return;
  }
  keep(s, chunk);
  let from = 0;
  if (!s.preface) {
    if (s.inLen < PREFACE.length) return;
    for (let i = 0; i < PREFACE.length; i++) if (s.inBuf[i] !== PREFACE[i]) return void s.socket.end();
    s.preface = true;
    from = PREFACE.length;
  }
  const used = from + readFrames(s, s.inBuf.subarray(from, s.inLen), s.inLen - from);
  s.inBuf.copyWithin(0, used, s.inLen);
  s.inLen -= used;
}

/** Keeps bytes until a frame is whole (a frame is at most MAX_FRAME, so this buffer is bounded). */
function keep(s: Session, bytes: Uint8Array): void {
  if (s.inLen + bytes.length > s.inBuf.length) {
    const buf = new Uint8Array(s.inLen + bytes.length);
    buf.set(s.inBuf.subarray(0, s.inLen));
    s.inBuf = buf;
  }
  s.inBuf.set(bytes, s.inLen);
  s.inLen += bytes.length;
}

/** Handles the whole frames in buf[0, len); the count of bytes used. */
function readFrames(s: Session, buf: Uint8Array, len: number): number {
  let at = 0;
  while (!s.closed && len - at >= FRAME_HEADER) {
    const n = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
    if (n > MAX_FRAME) {
      goaway(s, FRAME_SIZE_ERROR);
      return len;
    }
    if (len - at < FRAME_HEADER + n) break;
    const id = ((buf[at + 5] & 0x7f) << 24) | (buf[at + 6] << 16) | (buf[at + 7] << 8) | buf[at + 8];
    onFrame(s, buf[at + 3], buf[at + 4], id, buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + n));
    at += FRAME_HEADER + n;
  }
  return at;
}

function onFrame(s: Session, type: number, flags: number, id: number, p: Uint8Array): void {
  switch (type) {
    case HEADERS:
      return onHeaders(s, flags, id, p);
    case DATA:
      return onData(s, flags, id, p.length);
    case SETTINGS:
      return onSettings(s, flags, p);
    case WINDOW_UPDATE:
      return onWindowUpdate(s, id, p);
    case PING:
      if ((flags & ACK) === 0) frame(s, PING, ACK, 0, p);
      return;
    case RST_STREAM: {
      const st = s.streams.get(id);
      if (st !== undefined) closeStream(st);
      return;
    }
    case GOAWAY: // the client opens no more streams; those in flight are answered
    case PRIORITY:
      return;
    default: // CONTINUATION (not expected: see onHeaders) and unknown types
      if (type === CONTINUATION) goaway(s, PROTOCOL_ERROR);
  }
}

function onSettings(s: Session, flags: number, p: Uint8Array): void {
  if ((flags & ACK) !== 0) return;
  for (let i = 0; i + 6 <= p.length; i += 6) {
    const key = (p[i] << 8) | p[i + 1];
    const value = ((p[i + 2] << 24) | (p[i + 3] << 16) | (p[i + 4] << 8) | p[i + 5]) >>> 0;
    if (key === 1) s.encoder.setPeerMaxTableSize(value);
    else if (key === 4) {
      // A new initial window moves every open stream's window by the difference (RFC 9113 §6.9.2).
      const delta = value - s.initialWindow;
      s.initialWindow = value;
      for (const st of s.streams.values()) st.sendWindow += delta;
      if (delta > 0) sendPending(s);
    } else if (key === 5) s.maxFrame = value;
  }
  frame(s, SETTINGS, ACK, 0, null);
}

function onWindowUpdate(s: Session, id: number, p: Uint8Array): void {
  if (p.length !== 4) return goaway(s, FRAME_SIZE_ERROR);
  const inc = ((p[0] & 0x7f) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
  if (id === 0) {
    s.sendWindow += inc;
    if (s.sendWindow > 0x7fffffff) return goaway(s, FLOW_CONTROL_ERROR);
    return sendPending(s);
  }
  const st = s.streams.get(id);
  if (st === undefined) return;
  st.sendWindow += inc;
  sendData(st);
}

/** Request bodies are drained: only the receive windows are kept open, at half used. */
function onData(s: Session, flags: number, id: number, n: number): void {
  s.recvUsed += n;
  if (s.recvUsed >= RECV_WINDOW / 2) {
    wordsFrame(s, WINDOW_UPDATE, 0, s.recvUsed);
    s.recvUsed = 0;
  }
  const st = s.streams.get(id);
  if (st === undefined || (flags & END_STREAM) !== 0) return;
  st.recvUsed += n;
  if (st.recvUsed >= RECV_WINDOW / 2) {
    wordsFrame(s, WINDOW_UPDATE, id, st.recvUsed);
    st.recvUsed = 0;
  }
}

/** A request: its header block decoded, made an HTTP/1.1 head, sent upstream. */
function onHeaders(s: Session, flags: number, id: number, p: Uint8Array): void {
  // CONTINUATION is not handled: h2load and curl send small heads in one frame.
  if ((flags & END_HEADERS) === 0 || (id & 1) === 0 || id <= s.lastStreamId) return goaway(s, PROTOCOL_ERROR);
  s.lastStreamId = id;
  let from = 0, to = p.length;
  if ((flags & PADDED) !== 0) {
    from = 1;
    to -= p[0];
  }
  if ((flags & PRIORITY_FLAG) !== 0) from += 5;
  let fields: HeaderField[];
  try {
    fields = s.decoder.decode(p.subarray(from, to));
  } catch {
    return goaway(s, COMPRESSION_ERROR);
  }
  if (s.streams.size >= MAX_STREAMS) return void wordsFrame(s, RST_STREAM, id, REFUSED_STREAM);
  const st = new Stream(s, id);
  s.streams.set(id, st);
  st.head = requestHead(st, fields);
  if (st.head === null) return reset(st, PROTOCOL_ERROR);
  const up = idle.pop();
  if (up !== undefined) send(up, st, true);
  else connect(st);
}

/** `METHOD path HTTP/1.1`, Host from :authority, then the regular fields as they came. */
function requestHead(st: Stream, fields: HeaderField[]): Uint8Array | null {
  let method = "", path = "", authority = "", rest = "";
  for (const f of fields) {
    const name = f.name;
    if (name.charCodeAt(0) === 58) {
      if (name === ":method") method = f.value;
      else if (name === ":path") path = f.value;
      else if (name === ":authority") authority = f.value;
    } else if (name === "host") {
      if (authority === "") authority = f.value;
    } else if (name !== "content-length") rest += `${name}: ${f.value}\r\n`;
  }
  if (method === "" || path === "") return null;
  st.isHead = method === "HEAD";
  return latin1Encode(`${method} ${path} HTTP/1.1\r\nhost: ${authority}\r\n${rest}\r\n`);
}

// ---- answers: HEADERS and DATA ----

/** The response head in buf[0, end) as a HEADERS frame: :status, then its fields but the connection's. */
function sendHeaders(st: Stream, buf: Uint8Array, end: number, endStream: boolean): void {
  const s = st.session;
  const enc = s.encoder;
  enc.begin();
  enc.add(":status", latin1Decode(buf, 9, 12));
  let line = buf.indexOf(10) + 1;
  while (line < end - 2) {
    const eol = buf.indexOf(10, line);
    const colon = buf.indexOf(58, line);
    if (colon > line && colon < eol) {
      const name = latin1Decode(buf, line, colon).toLowerCase();
      let v = colon + 1;
      while (buf[v] === 32 || buf[v] === 9) v++;
      if (!CONNECTION_FIELDS.has(name)) enc.add(name, latin1Decode(buf, v, buf[eol - 1] === 13 ? eol - 1 : eol));
    }
    line = eol + 1;
  }
  const block = enc.finish();
  // One frame but for a block over the peer's frame size: then CONTINUATION frames carry the rest.
  let at = Math.min(block.length, s.maxFrame);
  const last = at === block.length ? END_HEADERS : 0;
  frame(s, HEADERS, last | (endStream ? END_STREAM : 0), st.id, block.subarray(0, at));
  while (at < block.length) {
    const n = Math.min(block.length - at, s.maxFrame);
    frame(s, CONTINUATION, at + n === block.length ? END_HEADERS : 0, st.id, block.subarray(at, at + n));
    at += n;
  }
  if (endStream) st.session.streams.delete(st.id);
}

/**
 * Body bytes for the stream: one DATA frame at once when the windows allow (the usual
 * case), else they wait in `pending` (copied: Bun reuses its buffer) for WINDOW_UPDATE.
 */
function body(st: Stream, bytes: Uint8Array, last: boolean): void {
  const s = st.session;
  const n = bytes.length;
  if (st.pending.length === 0 && n <= s.sendWindow && n <= st.sendWindow && n <= s.maxFrame) {
    s.sendWindow -= n;
    st.sendWindow -= n;
    frame(s, DATA, last ? END_STREAM : 0, st.id, bytes);
    if (last) s.streams.delete(st.id);
    return;
  }
  st.pending.push(bytes.slice());
  st.ended = last;
  sendData(st);
}

/** DATA frames for what the windows allow of the stream's pending body; END_STREAM with the last. */
function sendData(st: Stream): void {
  const s = st.session;
  while (st.pending.length > 0) {
    const chunk = st.pending[0];
    const n = Math.min(chunk.length, s.sendWindow, st.sendWindow, s.maxFrame);
    if (n <= 0) return;
    s.sendWindow -= n;
    st.sendWindow -= n;
    const done = n === chunk.length;
    const endNow = done && st.pending.length === 1 && st.ended;
    frame(s, DATA, endNow ? END_STREAM : 0, st.id, done ? chunk : chunk.subarray(0, n));
    if (done) st.pending.shift();
    else st.pending[0] = chunk.subarray(n);
    if (endNow) return void s.streams.delete(st.id);
  }
  if (st.ended) {
    frame(s, DATA, END_STREAM, st.id, null);
    s.streams.delete(st.id);
  }
}

/** The connection's window opened: streams with body waiting go on. */
function sendPending(s: Session): void {
  for (const st of s.streams.values()) {
    if (s.sendWindow <= 0) return;
    if (st.pending.length > 0) sendData(st);
  }
}

const clientHandlers = {
  open(socket: ClientSocket) {
    const s = socket.data = new Session(socket);
    // Our SETTINGS (MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE) and the connection window opened as wide.
    frame(s, SETTINGS, 0, 0, new Uint8Array([0, 3, 0, 0, 0, MAX_STREAMS, 0, 4, 1, 0, 0, 0]));
    wordsFrame(s, WINDOW_UPDATE, 0, RECV_WINDOW - DEFAULT_WINDOW);
  },
  data: (socket: ClientSocket, chunk: Uint8Array) => onClientData(socket.data, chunk),
  drain(socket: ClientSocket) {
    const s = socket.data;
    if (s.blocked) writeOut(s);
  },
  end(socket: ClientSocket) {
    writeOut(socket.data);
    socket.end();
  },
  close(socket: ClientSocket) {
    const s = socket.data;
    s.closed = true;
    for (const st of s.streams.values()) closeStream(st);
  },
};

Bun.listen<Session>({ hostname: "127.0.0.1", port: listenPort, socket: clientHandlers });

// ---- the upstream side ----

function connect(st: Stream): void {
  Bun.connect<Upstream | undefined>({ hostname: "127.0.0.1", port: backendPort, socket: upHandlers }).then(
    (up) => {
      up.data = new Upstream();
      if (st.session.closed || !st.session.streams.has(st.id)) return void up.end();
      send(up, st, false);
    },
    () => {
      if (st.session.streams.has(st.id)) reset(st, REFUSED_STREAM);
    },
  );
}

function send(up: UpSocket, st: Stream, reused: boolean): void {
  const u = up.data!;
  u.stream = st;
  st.up = up;
  u.reused = reused;
  u.seen = u.len = 0;
  u.left = -1;
  if (!write(up, u.backlog, st.head!)) retryOrFail(up);
}

/** Writes `bytes` after `backlog`; what the socket does not take joins it. False if the socket is closed. */
function write(socket: UpSocket, backlog: Uint8Array[], bytes: Uint8Array): boolean {
  if (backlog.length > 0) {
    backlog.push(bytes);
    return true;
  }
  const n = socket.write(bytes);
  if (n === bytes.length) return true;
  if (n < 0) return false;
  backlog.push(bytes.subarray(n));
  return true;
}

function onUpData(up: UpSocket, chunk: Uint8Array): void {
  const u = up.data!;
  const st = u.stream;
  if (st === null) return void up.end(); // nothing asked: not HTTP as this floor knows it
  u.seen += chunk.length;
  let rest = chunk;
  if (u.left < 0) {
    let head = chunk;
    let end = u.len === 0 ? headEnd(chunk, chunk.length) : -1;
    if (end < 0) {
      if (u.len + chunk.length > HEAD_BYTES) return failStream(up, st);
      u.buf.set(chunk, u.len);
      u.len += chunk.length;
      end = headEnd(u.buf, u.len);
      if (end < 0) return;
      head = u.buf.subarray(0, u.len);
    }
    const status = (head[9] - 48) * 100 + (head[10] - 48) * 10 + head[11] - 48;
    const noBody = st.isHead || status === 204 || status === 304;
    const cl = noBody ? 0 : contentLength(head, end);
    if (cl < 0 || status < 200) return failStream(up, st);
    sendHeaders(st, head, end, cl === 0);
    u.left = cl;
    rest = head.subarray(end);
  }
  // The backend answers one request at a time: nothing beyond this response comes.
  const n = Math.min(rest.length, u.left);
  u.left -= n;
  if (n > 0) body(st, rest.subarray(0, n), u.left === 0);
  if (u.left === 0) answered(up, st);
}

/** The response is in: the upstream goes back to the pool. */
function answered(up: UpSocket, st: Stream): void {
  up.data!.stream = null;
  st.up = null;
  idle.push(up);
}

/** A response this floor cannot relay: the stream is reset, the upstream closed. */
function failStream(up: UpSocket, st: Stream): void {
  up.data!.stream = null;
  st.up = null;
  up.end();
  reset(st, INTERNAL_ERROR);
}

/**
 * The upstream ended or closed: dropped from the pool if it waited there; with a request
 * in flight, that request goes again on a new connection if this one was pooled and had
 * answered nothing yet, else the stream is reset.
 */
function retryOrFail(up: UpSocket): void {
  const u = up.data;
  if (u === undefined) return;
  const st = u.stream;
  u.stream = null;
  up.end();
  if (st === null) {
    const i = idle.indexOf(up);
    if (i >= 0) idle.splice(i, 1);
    return;
  }
  st.up = null;
  if (st.session.closed || !st.session.streams.has(st.id)) return;
  if (u.reused && u.seen === 0) connect(st);
  else reset(st, INTERNAL_ERROR);
}

const upHandlers = {
  data: (s: UpSocket, chunk: Uint8Array) => onUpData(s, chunk),
  drain(s: UpSocket) {
    const backlog = s.data?.backlog;
    while (backlog !== undefined && backlog.length > 0) {
      const n = s.write(backlog[0]);
      if (n < 0) return;
      if (n < backlog[0].length) return void (backlog[0] = backlog[0].subarray(n));
      backlog.shift();
    }
  },
  end: retryOrFail,
  close: retryOrFail,
};
