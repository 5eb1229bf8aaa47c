/**
 * The floor for L7 CPU per request on Deno (issue 25, point 3): the least a Deno HTTP/1.1
 * reverse proxy can do per request for the bench's L7 test (wrk keep-alive, routing by
 * Host to nginx backends that answer with a content-length). Per client connection: read
 * until a head is complete, pick the backend from the Host line, write the head as it came
 * on a kept-alive upstream connection from a per-backend pool, read the response head,
 * take its content-length, relay head and body, put the upstream connection back. Heads
 * that arrive together (pipelining) or in pieces are handled; request bodies, chunked
 * responses, timeouts, logging and header rewriting are not. Deno.listen/connect and
 * Deno's read and write ops directly (as vane reads and writes: src/runtime/deno-ops.ts,
 * without Conn's wrappers where Deno allows; each write's op awaited, which costs less than
 * reading the count of one settled at once), byte scans, no string decoding: the fastest
 * Deno way.
 * bench.mjs runs it as `deno-min-http` beside vane-deno.
 *
 *   deno run --allow-net scripts/bench/deno-min-http.ts LISTEN_PORT BENCH_PORT OTHER_PORT
 *
 * Host bench.local goes to BENCH_PORT, other.local to OTHER_PORT, any other to a 404.
 */
import { contentLength, headEnd, hostOf, NOT_FOUND } from "./min-http-head.ts";
import { directRid, readInto, writeOnce } from "../../src/runtime/deno-ops.ts";
const [listenPort, benchPort, otherPort] = Deno.args.map(Number);
if (![listenPort, benchPort, otherPort].every(Number.isInteger)) {
  console.error("usage: deno-min-http.ts LISTEN_PORT BENCH_PORT OTHER_PORT");
  Deno.exit(2);
}

/** Big enough for any head wrk or nginx sends here; a longer head closes the connection. */
const BUFFER_BYTES = 16 * 1024;

interface Upstream {
  conn: Deno.TcpConn;
  buf: Uint8Array;
}
interface Backend {
  port: number;
  idle: Upstream[];
}
const bench: Backend = { port: benchPort, idle: [] };
const other: Backend = { port: otherPort, idle: [] };

function route(buf: Uint8Array, end: number): Backend | null {
  const host = hostOf(buf, end);
  return host === "bench" ? bench : host === "other" ? other : null;
}

/** conn.read(buf), straight from the op where Deno allows: bytes read, 0 or null at the end. */
function read(conn: Deno.Conn, buf: Uint8Array): Promise<number | null> {
  return readInto(conn, directRid(conn), buf);
}

/**
 * Writes all of `data`, awaiting Deno's write op itself where Deno allows (deno-ops.ts
 * writeOnce). Corked, as vane's owned writes are (src/runtime/deno-writes.ts): the op
 * starts only once the reactions to every read of this turn of the event loop ran, so
 * the sends go out back to back rather than one between each two requests' JavaScript.
 * For this floor that is neutral (its JavaScript is little, and the extra turn costs
 * about what it saves); it stays so that the floor and vane send the same way.
 */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  const rid = directRid(conn);
  await undefined;
  let off = await writeOnce(conn, rid, data);
  while (off < data.length) off += await writeOnce(conn, rid, data.subarray(off));
}

async function connect(port: number): Promise<Upstream> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  return { conn, buf: new Uint8Array(BUFFER_BYTES) };
}

/**
 * Relays one response from `up` to `client`; false if `up` failed or ended before the
 * response's first byte (a pooled connection the backend had closed: the caller retries
 * on a new one). A failure after that, or on the client's side, throws.
 */
async function relayResponse(up: Upstream, client: Deno.Conn): Promise<boolean> {
  const buf = up.buf;
  let len = 0, end = -1;
  while (end < 0) {
    if (len === buf.length) throw new Error("response head too long");
    let n: number | null = null;
    try {
      n = await read(up.conn, buf.subarray(len));
    } catch { /* as an end, below */ }
    if (!n) {
      if (len === 0) return false;
      throw new Error("upstream closed mid-head");
    }
    len += n;
    end = headEnd(buf, len);
  }
  const cl = contentLength(buf, end);
  if (cl < 0) throw new Error("no content-length");
  let left = end + cl;
  // The backend answers one request at a time: nothing beyond this response is in buf.
  for (;;) {
    const now = Math.min(len, left);
    await writeAll(client, buf.subarray(0, now));
    left -= now;
    if (left === 0) return true;
    const n = await read(up.conn, buf);
    if (!n) throw new Error("upstream closed mid-body");
    len = n;
  }
}

/**
 * One request head through `backend`, on a pooled connection or, if that one turns out
 * closed before answering, a new one; the connection goes back to the pool after.
 */
async function forward(backend: Backend, head: Uint8Array, client: Deno.Conn): Promise<void> {
  let up = backend.idle.pop() ?? null;
  for (let fresh = up === null;; fresh = true) {
    up ??= await connect(backend.port);
    let sent = true;
    try {
      await writeAll(up.conn, head);
    } catch {
      sent = false;
    }
    let answered = false;
    try {
      answered = sent && await relayResponse(up, client);
    } catch (err) {
      up.conn.close();
      throw err;
    }
    if (answered) {
      backend.idle.push(up);
      return;
    }
    up.conn.close();
    if (fresh) throw new Error("upstream failed before answering");
    up = null;
  }
}

async function serve(client: Deno.TcpConn): Promise<void> {
  client.setNoDelay(true);
  const buf = new Uint8Array(BUFFER_BYTES);
  let len = 0;
  try {
    for (;;) {
      let end = headEnd(buf, len);
      while (end < 0) {
        if (len === buf.length) return;
        const n = await read(client, buf.subarray(len));
        if (!n) return;
        len += n;
        end = headEnd(buf, len);
      }
      const backend = route(buf, end);
      if (backend === null) await writeAll(client, NOT_FOUND);
      else await forward(backend, buf.subarray(0, end), client);
      buf.copyWithin(0, end, len);
      len -= end;
    }
  } catch {
    /* either side failed: drop the client */
  } finally {
    try {
      client.close();
    } catch { /* closed already */ }
  }
}

for await (const client of Deno.listen({ hostname: "127.0.0.1", port: listenPort })) serve(client);
