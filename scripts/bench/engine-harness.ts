/**
 * vane's L7 engine between in-memory connections, for measuring its own CPU cost per
 * request (engine-cost.ts) and for comparing two trees of it in one process
 * (engine-ab.ts). 64 clients in a closed loop, each request answered on the next
 * microtask by an in-memory upstream: the real flow, pools, engine and counters, and
 * no kernel or load generator. Reads come as the runtime's adapter gives them: to
 * callbacks (readNext) on Bun, through promises on Deno.
 *
 * A tree is loaded by its root directory, so a checkout of another commit can be
 * measured side by side with this one (its modules are separate instances).
 */
import { resolve } from "node:path";
import type { Runtime, SocketAddress, TcpConn } from "../../src/runtime/types.ts";

const CLIENTS = 64;
const CONFIG = `listeners:
  - listen: http://127.0.0.1:8080
    flow:
      - when: { host: bench.local }
        proxy: bench
      - when: { host: other.local }
        proxy: other
      - when: { host: h2c.local }
        proxy: bench-h2
pools:
  bench: { targets: [127.0.0.1:9001], health: { check: none } }
  other: { targets: [127.0.0.1:9002], health: { check: none } }
  bench-h2: { targets: [127.0.0.1:9003], health: { check: none }, protocol: h2c }
control: { listen: off }
workers: 1
`;
const encode = (s: string) => new TextEncoder().encode(s);
// What wrk sends, and what the nginx backend of scripts/bench answers.
const REQUEST = encode("GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n");
const RESPONSE = encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 14:50:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n",
);

/** An op's settled promise and the reaction that reads its count (deno-writes.ts makes one per owned write). */
const SETTLED = Promise.resolve(0);
const countRead = (n: number) => n;
/**
 * What a connection's writes return, per tree: `written` for a plain or range write,
 * `owned` for an owned one (Deno's adapter: the tree's shared settled promise when the
 * socket took it all).
 */
interface Writes {
  written(): Promise<void>;
  owned(): Promise<void>;
}

/** One end of an in-memory connection: chunks pushed in are what read() returns. */
class MemoryConn implements TcpConn {
  readonly remote: SocketAddress = { hostname: "127.0.0.1", port: 40000 };
  readonly local: SocketAddress = { hostname: "127.0.0.1", port: 8080 };
  readonly closed: Promise<void> = new Promise(() => {});
  #queue: Uint8Array[] = [];
  #waiting: ((chunk: Uint8Array | null) => void) | null = null;
  #ended = false;

  constructor(
    private readonly onWrite: (conn: MemoryConn, data: Uint8Array) => void,
    private readonly writes: Writes,
  ) {}

  push(chunk: Uint8Array | null): void {
    const w = this.#waiting;
    if (w !== null) {
      this.#waiting = null;
      w(chunk);
    } else if (chunk !== null) this.#queue.push(chunk);
    else this.#ended = true;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  /** As Bun's adapter has it (the harness takes it away on other runtimes). */
  readNext?(next: (chunk: Uint8Array | null | Error) => void): void {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) return next(chunk);
    if (this.#ended) return next(null);
    this.#waiting = next;
  }

  write(data: Uint8Array): Promise<void> {
    this.onWrite(this, data);
    return this.writes.written();
  }

  /**
   * As Bun's adapter has it (the harness takes it away on other runtimes): nothing is
   * kept of `data`. A view only for a writer that reads what was written (h2's).
   */
  writeRange?(data: Uint8Array, from: number, to: number): Promise<void> {
    this.onWrite(this, this.onWrite.length > 1 ? data.subarray(from, to) : data);
    return this.writes.written();
  }

  /**
   * As Deno's adapter has it (the harness takes it away on Bun): a head built for one
   * write, taken at once as a small write on loopback is, so answered with the tree's
   * shared settled promise.
   */
  writeOwned?(data: Uint8Array): Promise<void> {
    this.onWrite(this, data);
    // The reaction that reads the op's count, one per owned write on Deno.
    SETTLED.then(countRead);
    return this.writes.owned();
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.push(null);
  }
}

/** Runs `requests` more requests through the engine; resolves with the milliseconds they took. */
export type EngineRun = (requests: number) => Promise<number>;

/**
 * How the in-memory clients speak: HTTP/1.1 (as wrk), or HTTP/2 in clear (as h2load
 * -m 10) to the HTTP/1.1 upstream (h2) or to an HTTP/2 one (h2-h2, a pool of protocol h2c).
 */
export type ClientProtocol = "h1" | "h2" | "h2-h2";

/** `--h2` or `--h2-h2` among a script's arguments (default h1), and the other arguments. */
export function protocolFlag(args: readonly string[]): { protocol: ClientProtocol; rest: string[] } {
  const protocol = args.includes("--h2-h2") ? "h2-h2" : args.includes("--h2") ? "h2" : "h1";
  return { protocol, rest: args.filter((a) => a !== "--h2" && a !== "--h2-h2") };
}

/** The port of the pool whose in-memory upstream speaks HTTP/2. */
const H2C_PORT = 9003;

/**
 * An HTTP/2 upstream as nginx's `http2` listener answers the bench: its SETTINGS first,
 * then for each request's HEADERS a 200 with `content-length: 3` and one DATA frame
 * `ok\n`, on the next microtask; vane's SETTINGS are acknowledged.
 */
function h2cUpstream(writes: Writes): MemoryConn {
  // :status 200 (static 8), content-length (static name 28, not indexed): "3"; then DATA
  // `ok\n` with END_STREAM. Made once; each answer is a copy with its stream id.
  const answer = concat([
    frame(1, 0x4, 0, new Uint8Array([0x88, 0x0f, 0x0d, 0x01, 0x33])),
    frame(0, 0x1, 0, encode("ok\n")),
  ]);
  const dataAt = 9 + 5;
  const settingsAck = frame(4, 1, 0, new Uint8Array(0));
  let prefaceLeft = 24;
  const conn = new MemoryConn((up, data) => {
    let at = Math.min(prefaceLeft, data.length);
    prefaceLeft -= at;
    const out: Uint8Array[] = [];
    while (at + 9 <= data.length) {
      const length = (data[at] << 16) | (data[at + 1] << 8) | data[at + 2];
      const type = data[at + 3];
      const flags = data[at + 4];
      if (type === 4 && (flags & 1) === 0) out.push(settingsAck);
      if (type === 1) {
        const one = answer.slice();
        for (let i = 5; i < 9; i++) one[i] = one[dataAt + i] = data[at + i];
        out.push(one);
      }
      at += 9 + length;
    }
    if (out.length > 0) queueMicrotask(() => up.push(out.length === 1 ? out[0] : concat(out)));
  }, writes);
  conn.push(frame(4, 0, 0, new Uint8Array(0)));
  return conn;
}

/**
 * vane from the tree at `root` (an absolute path), serving 64 in-memory clients;
 * `extraConfig`: YAML lines added to its config (e.g. `access-log: FILE`). `asBun`:
 * writes taken at once and range writes (writeRange) on any runtime, so that Deno's heap
 * profiler sees the path Bun takes (alloc-profile.ts); reads go to callbacks on both.
 * `protocol`: how the clients speak.
 */
export async function startEngine(
  root: string,
  extraConfig = "",
  protocol: ClientProtocol = "h1",
  asBun = false,
): Promise<{ runtime: Runtime; run: EngineRun }> {
  const { runtime } = await import(`${root}/src/runtime/mod.ts`);
  const { createVane } = await import(`${root}/src/server/vane.ts`);
  const { loadConfigText } = await import(`${root}/src/config/yaml-load.ts`);
  const { silentLogger } = await import(`${root}/src/telemetry/logger.ts`);
  const rt0: Runtime = runtime();
  // What a write returns, as each runtime's adapter does for a small one: Bun's socket
  // takes it at once (the tree's shared settled promise, where it has one); Deno's
  // write is an op that settles later, but a head built for one write (writeOwned) is
  // answered at once, its count read on a reaction (deno-writes.ts).
  const writes: Writes = { written: () => Promise.resolve(), owned: () => Promise.resolve() };
  // Deno's adapter reads to callbacks too (since 96682b0), but has no range writes.
  if (rt0.name !== "bun" && !asBun) MemoryConn.prototype.writeRange = undefined;
  // (Wrapped: a promise handed out of then() would be waited for, not returned.)
  const shared = await import(`${root}/src/runtime/written.ts`).then(
    (m) => ({ promise: m.WRITTEN as Promise<void> }),
    () => null,
  );
  if (rt0.name === "bun" || asBun) {
    if (shared !== null) writes.written = () => shared.promise;
    MemoryConn.prototype.writeOwned = undefined;
  } else if (shared !== null) {
    writes.owned = () => shared.promise;
  }

  let accept: ((conn: TcpConn) => void) | null = null;
  const rt: Runtime = {
    ...rt0,
    listenTcp: (addr, onConn) => {
      accept = onConn;
      return Promise.resolve({ addr: { hostname: addr.hostname, port: addr.port }, close() {} });
    },
    // The upstream answers each request on the next microtask, as a fast backend would.
    connectTcp: (addr) =>
      Promise.resolve(
        addr.port === H2C_PORT
          ? h2cUpstream(writes)
          : new MemoryConn((up) => queueMicrotask(() => up.push(RESPONSE)), writes),
      ),
  };
  const loaded = loadConfigText(CONFIG + extraConfig);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  await createVane(loaded.config, rt, silentLogger).start();

  const accepted = accept as unknown as (conn: TcpConn) => void;
  const run = protocol === "h1"
    ? h1Clients(accepted, writes)
    : h2Clients(accepted, writes, protocol === "h2-h2" ? "h2c.local" : "bench.local");
  return { runtime: rt0, run };
}

/** 64 HTTP/1.1 clients, one request at a time each (wrk's keep-alive). */
function h1Clients(accept: (conn: TcpConn) => void, writes: Writes): EngineRun {
  // Clients that got their answer once the current run's count was reached wait here.
  const parked: MemoryConn[] = [];
  let answered = 0;
  let target = 0;
  let finish: (() => void) | null = null;
  for (let i = 0; i < CLIENTS; i++) {
    const client = new MemoryConn((c) => {
      answered++;
      if (answered === target) finish?.();
      if (answered < target) queueMicrotask(() => c.push(REQUEST));
      else parked.push(c);
    }, writes);
    accept(client);
    parked.push(client);
  }
  return (requests) =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      target = answered + requests;
      finish = () => resolve(performance.now() - started);
      for (const c of parked.splice(0)) c.push(REQUEST);
    });
}

/** h2load's `-c 32 -m 10`: HTTP/2 connections, each with up to 10 streams open. */
const H2_CONNECTIONS = 32;
const H2_STREAMS = 10;

/**
 * HTTP/2 clients (prior knowledge) as h2load: GET / for bench.local, 10 streams in
 * flight per connection, a new one for each that ends. The client side is kept cheap
 * (one HPACK block for every request, frames only scanned for END_STREAM), so the
 * time is vane's.
 */
function h2Clients(accept: (conn: TcpConn) => void, writes: Writes, authority: string): EngineRun {
  // :method GET, :scheme http, :path / (static table), :authority (literal, not indexed).
  const block = new Uint8Array([0x82, 0x86, 0x84, 0x01, authority.length, ...encode(authority)]);
  const END_STREAM_HEADERS = 0x5;
  const template = frame(1, END_STREAM_HEADERS, 0, block);
  // The preface, SETTINGS (none changed), the connection window as large as allowed.
  const start = concat([
    encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    frame(4, 0, 0, new Uint8Array(0)),
    frame(8, 0, 0, new Uint8Array([0x7f, 0xff, 0, 0])),
  ]);
  const ack = frame(4, 1, 0, new Uint8Array(0));
  let answered = 0;
  /** Streams opened and not ended yet, over all clients. */
  let open = 0;
  let target = 0;
  let finish: (() => void) | null = null;
  const clients: H2Client[] = [];
  class H2Client {
    next = 1;
    readonly conn = new MemoryConn((_c, data) => this.took(data), writes);
    open(n: number): void {
      open += n;
      // n HEADERS frames in one chunk, as h2load writes them: the template with each stream id.
      const out = new Uint8Array(n * template.length);
      for (let i = 0; i < n; i++, this.next += 2) {
        const at = i * template.length;
        out.set(template, at);
        out[at + 5] = this.next >>> 24;
        out[at + 6] = (this.next >>> 16) & 255;
        out[at + 7] = (this.next >>> 8) & 255;
        out[at + 8] = this.next & 255;
      }
      this.conn.push(out);
    }
    took(data: Uint8Array): void {
      let ended = 0;
      for (let at = 0; at + 9 <= data.length;) {
        const length = (data[at] << 16) | (data[at + 1] << 8) | data[at + 2];
        const type = data[at + 3];
        const flags = data[at + 4];
        if ((type === 0 || type === 1) && (flags & 1) !== 0) ended++;
        if (type === 4 && (flags & 1) === 0) queueMicrotask(() => this.conn.push(ack));
        at += 9 + length;
      }
      if (ended === 0) return;
      answered += ended;
      open -= ended;
      if (answered >= target) finish?.();
      const more = Math.min(ended, target - answered - open);
      if (more > 0) queueMicrotask(() => this.open(more));
    }
  }
  for (let i = 0; i < H2_CONNECTIONS; i++) {
    const c = new H2Client();
    clients.push(c);
    accept(c.conn);
    c.conn.push(start);
  }
  return (requests) =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      target = answered + requests;
      let done = false;
      finish = () => {
        if (!done) resolve(performance.now() - started);
        done = true;
      };
      for (const c of clients) c.open(H2_STREAMS);
    });
}

/** An HTTP/2 frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out.set([payload.length >>> 16, (payload.length >>> 8) & 255, payload.length & 255, type, flags]);
  new DataView(out.buffer).setUint32(5, stream);
  out.set(payload, 9);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** The absolute path of a tree's root given on the command line, without a trailing slash. */
export function treeRoot(dir: string): string {
  return resolve(dir).replace(/\/+$/, "");
}
