/**
 * The floor for L7 CPU per request on Bun (issue 25, point 2): the least a Bun HTTP/1.1
 * reverse proxy can do per request for the bench's L7 test, as deno-min-http.ts is Deno's.
 * Per client connection: gather data until a head is complete, pick the backend from the
 * Host line, write the head as it came on a kept-alive upstream connection from a
 * per-backend pool, read the response head, take its content-length, relay head and body,
 * put the upstream connection back. Heads that arrive together (pipelining) or in pieces
 * are handled; request bodies, chunked responses, timeouts, logging and header rewriting
 * are not. Bun.listen/connect socket handlers directly (not Bun.serve and fetch), byte
 * scans, no string decoding; a chunk that holds a whole head is scanned where Bun handed
 * it over, without a copy. What a socket's write() does not take waits for its drain,
 * with the upstream paused meanwhile. bench.mjs runs it as `bun-min-http` beside vane-bun.
 *
 *   bun scripts/bench/bun-min-http.ts LISTEN_PORT BENCH_PORT OTHER_PORT
 *
 * Host bench.local goes to BENCH_PORT, other.local to OTHER_PORT, any other to a 404.
 */
import { contentLength, headEnd, hostOf, NOT_FOUND } from "./min-http-head.ts";
import process from "node:process";
import type { BunApi, BunSocket } from "../../src/runtime/bun.d.ts";

declare const Bun: BunApi;

const [listenPort, benchPort, otherPort] = process.argv.slice(2).map(Number);
if (![listenPort, benchPort, otherPort].every(Number.isInteger)) {
  console.error("usage: bun-min-http.ts LISTEN_PORT BENCH_PORT OTHER_PORT");
  process.exit(2);
}

/** Big enough for any head wrk or nginx sends here; more waiting than this closes the connection. */
const BUFFER_BYTES = 16 * 1024;

type ClientSocket = BunSocket<Client>;
type UpSocket = BunSocket<Upstream | undefined>;

interface Backend {
  port: number;
  idle: UpSocket[];
}
const bench: Backend = { port: benchPort, idle: [] };
const other: Backend = { port: otherPort, idle: [] };

/** A client connection's state, in its socket's `data`. */
class Client {
  /** Data not yet handled: in `pending` (a chunk as Bun gave it) or copied into `buf`. */
  buf = new Uint8Array(BUFFER_BYTES);
  len = 0;
  /** The request head in flight (kept for a retry on a new upstream connection), or null. */
  head: Uint8Array | null = null;
  /** Its length within `buf`, to drop once answered (0: the head was a chunk of its own). */
  headInBuf = 0;
  backend: Backend | null = null;
  /** The upstream connection the head in flight went on. */
  up: UpSocket | null = null;
  /** Bytes for the client that its write() did not take yet, oldest first. */
  backlog: Uint8Array[] = [];
  /** The upstream paused until the backlog is out. */
  pausedUp: UpSocket | null = null;
  ended = false;
  closed = false;
  constructor(readonly socket: ClientSocket) {}
}

/** An upstream connection's state, in its socket's `data`. */
class Upstream {
  client: Client | null = null;
  /** It came from the pool: if it ends before answering, the request goes again on a new one. */
  reused = false;
  /** Response bytes seen for the request in flight; `left`: those still to relay (-1: head not complete). */
  seen = 0;
  left = -1;
  buf = new Uint8Array(BUFFER_BYTES);
  len = 0;
  backlog: Uint8Array[] = [];
  constructor(readonly backend: Backend) {}
}

function route(buf: Uint8Array, end: number): Backend | null {
  const host = hostOf(buf, end);
  return host === "bench" ? bench : host === "other" ? other : null;
}

/**
 * Writes `bytes` to `socket` after its `backlog`; what it does not take joins the backlog
 * (copied: `bytes` may be a view of a buffer used again). False if the socket is closed.
 */
function write(socket: BunSocket<unknown>, backlog: Uint8Array[], bytes: Uint8Array): boolean {
  if (backlog.length > 0) {
    backlog.push(bytes.slice());
    return true;
  }
  const n = socket.write(bytes);
  if (n === bytes.length) return true;
  if (n < 0) return false;
  backlog.push(bytes.slice(n));
  return true;
}

/** Writes what waits in `backlog`; true once it is all out. */
function flush(socket: BunSocket<unknown>, backlog: Uint8Array[]): boolean {
  while (backlog.length > 0) {
    const n = socket.write(backlog[0]);
    if (n < 0) return false;
    if (n < backlog[0].length) {
      backlog[0] = backlog[0].subarray(n);
      return false;
    }
    backlog.shift();
  }
  return true;
}

// ---- the client side ----

function onClientData(c: Client, chunk: Uint8Array): void {
  if (c.head === null && c.len === 0) {
    // The usual case: a chunk that is one whole head, scanned and forwarded where it is.
    const end = headEnd(chunk, chunk.length);
    if (end === chunk.length) return void startRequest(c, chunk, 0);
  }
  if (c.len + chunk.length > BUFFER_BYTES) return void c.socket.end();
  c.buf.set(chunk, c.len);
  c.len += chunk.length;
  if (c.head === null) nextRequest(c);
}

/** The next whole head in `buf`, if one is there and none is in flight. */
function nextRequest(c: Client): void {
  while (c.head === null && !c.closed) {
    const end = headEnd(c.buf, c.len);
    if (end < 0) {
      if (c.ended) c.socket.end();
      return;
    }
    if (!startRequest(c, c.buf.subarray(0, end), end)) dropHead(c, end);
  }
}

function dropHead(c: Client, end: number): void {
  c.buf.copyWithin(0, end, c.len);
  c.len -= end;
}

/** Sends `head` on: true if it is in flight, false if it was answered here (a 404). */
function startRequest(c: Client, head: Uint8Array, inBuf: number): boolean {
  const backend = route(head, head.length);
  if (backend === null) {
    if (!write(c.socket, c.backlog, NOT_FOUND)) c.socket.end();
    return false;
  }
  c.head = head;
  c.headInBuf = inBuf;
  c.backend = backend;
  const up = backend.idle.pop();
  if (up !== undefined) send(up, c, true);
  else connect(c);
  return true;
}

function connect(c: Client): void {
  const backend = c.backend!;
  Bun.connect<Upstream | undefined>({
    hostname: "127.0.0.1",
    port: backend.port,
    socket: upHandlers,
  }).then((up) => {
    up.data = new Upstream(backend);
    if (c.closed) return void up.end();
    send(up, c, false);
  }, () => c.socket.end());
}

function send(up: UpSocket, c: Client, reused: boolean): void {
  const u = up.data!;
  u.client = c;
  c.up = up;
  u.reused = reused;
  u.seen = u.len = 0;
  u.left = -1;
  if (!write(up, u.backlog, c.head!)) retryOrFail(up);
}

/** The response is out: the upstream goes back to its pool, the next request may start. */
function answered(up: UpSocket, c: Client): void {
  up.data!.client = null;
  c.backend!.idle.push(up);
  c.up = null;
  c.head = null;
  if (c.headInBuf > 0) dropHead(c, c.headInBuf);
  if (c.len > 0 || c.ended) nextRequest(c);
}

const clientHandlers = {
  open(s: ClientSocket) {
    s.data = new Client(s);
  },
  data: (s: ClientSocket, chunk: Uint8Array) => onClientData(s.data, chunk),
  drain(s: ClientSocket) {
    const c = s.data;
    if (!flush(s, c.backlog)) return;
    if (c.pausedUp !== null) {
      c.pausedUp.resume();
      c.pausedUp = null;
    }
  },
  end(s: ClientSocket) {
    const c = s.data;
    c.ended = true;
    if (c.head === null) nextRequest(c);
  },
  close(s: ClientSocket) {
    const c = s.data;
    c.closed = true;
    c.pausedUp = null;
    // An upstream in the middle of this client's response cannot be used again.
    if (c.up !== null) {
      c.up.data!.client = null;
      c.up.end();
      c.up = null;
    }
  },
};

Bun.listen<Client>({ hostname: "127.0.0.1", port: listenPort, allowHalfOpen: true, socket: clientHandlers });

// ---- the upstream side ----

function onUpData(up: UpSocket, chunk: Uint8Array): void {
  const u = up.data!;
  const c = u.client;
  if (c === null) return void up.end(); // nothing asked: not HTTP as this floor knows it
  u.seen += chunk.length;
  let out = chunk;
  if (u.left < 0) {
    let end = -1;
    if (u.len === 0) end = headEnd(chunk, chunk.length);
    if (end < 0) {
      if (u.len + chunk.length > BUFFER_BYTES) return fail(up, c);
      u.buf.set(chunk, u.len);
      u.len += chunk.length;
      end = headEnd(u.buf, u.len);
      if (end < 0) return;
      out = u.buf.subarray(0, u.len);
    }
    const cl = contentLength(out, end);
    if (cl < 0) return fail(up, c);
    u.left = end + cl;
  }
  // The backend answers one request at a time: nothing beyond this response comes.
  u.left -= out.length;
  if (!write(c.socket, c.backlog, out)) return fail(up, c);
  if (c.backlog.length > 0 && u.left > 0) {
    c.pausedUp = up;
    up.pause();
  }
  if (u.left <= 0) answered(up, c);
}

function fail(up: UpSocket, c: Client): void {
  up.data!.client = null;
  c.up = null;
  up.end();
  c.socket.end();
}

/**
 * The upstream ended or closed: dropped from its pool if it waited there; with a request
 * in flight, that request goes again on a new connection if this one was pooled and had
 * answered nothing yet, else the client is closed.
 */
function retryOrFail(up: UpSocket): void {
  const u = up.data;
  if (u === undefined) return;
  const c = u.client;
  u.client = null;
  up.end();
  if (c !== null) c.up = null;
  if (c === null) {
    const idle = u.backend.idle;
    const i = idle.indexOf(up);
    if (i >= 0) idle.splice(i, 1);
    return;
  }
  if (c.closed) return;
  if (u.reused && u.seen === 0) connect(c);
  else c.socket.end();
}

const upHandlers = {
  data: (s: UpSocket, chunk: Uint8Array) => onUpData(s, chunk),
  drain(s: UpSocket) {
    if (s.data !== undefined) flush(s, s.data.backlog);
  },
  end: retryOrFail,
  close: retryOrFail,
};
