/**
 * The L7 engine's own CPU cost per request, without sockets: vane (the real flow,
 * pools, engine and counters) between in-memory connections, 64 clients in a closed
 * loop, each request answered at once by an in-memory upstream. What it prints is the
 * JavaScript work per request on this runtime, free of the kernel and of the load
 * generator's noise, for comparing changes to the engine (see scripts/bench/README.md).
 *
 *   bun scripts/bench/engine-cost.ts [REQUESTS]
 *   deno run --allow-all --unstable-net scripts/bench/engine-cost.ts [REQUESTS]
 */
import { runtime } from "../../src/runtime/mod.ts";
import type { Runtime, SocketAddress, TcpConn } from "../../src/runtime/types.ts";
import { createVane } from "../../src/vane.ts";
import { loadConfigText } from "../../src/config/yaml-load.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { WRITTEN } from "../../src/runtime/written.ts";

const WARMUP = 20_000;
const CLIENTS = 64;
const CONFIG = `listeners:
  - listen: http://127.0.0.1:8080
    flow:
      - when: { host: bench.local }
        proxy: bench
      - when: { host: other.local }
        proxy: other
pools:
  bench: { targets: [127.0.0.1:9001], health: { check: none } }
  other: { targets: [127.0.0.1:9002], health: { check: none } }
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

/** One end of an in-memory connection: chunks pushed in are what read() returns. */
class MemoryConn implements TcpConn {
  readonly remote: SocketAddress = { hostname: "127.0.0.1", port: 40000 };
  readonly local: SocketAddress = { hostname: "127.0.0.1", port: 8080 };
  readonly closed: Promise<void> = new Promise(() => {});
  #queue: Uint8Array[] = [];
  #waiting: ((chunk: Uint8Array | null) => void) | null = null;
  #ended = false;

  constructor(private readonly onWrite: (conn: MemoryConn) => void) {}

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

  write(_data: Uint8Array): Promise<void> {
    this.onWrite(this);
    return WRITE_DONE();
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.push(null);
  }
}

const rt0 = runtime();
/**
 * What a write returns, as each runtime's adapter does for a small one: Bun's socket
 * takes it at once (WRITTEN), Deno's write is an op that settles later.
 */
const WRITE_DONE = rt0.name === "bun" ? () => WRITTEN : () => Promise.resolve();
const total = Number(rt0.args[0] ?? 300_000);
if (!Number.isInteger(total) || total <= WARMUP) {
  console.error(`engine-cost: REQUESTS must be an integer above ${WARMUP}`);
  rt0.exit(2);
}

let accept: ((conn: TcpConn) => void) | null = null;
const rt: Runtime = {
  ...rt0,
  listenTcp: (addr, onConn) => {
    accept = onConn;
    return Promise.resolve({ addr: { hostname: addr.hostname, port: addr.port }, close() {} });
  },
  // The upstream answers each request on the next microtask, as a fast backend would.
  connectTcp: () => Promise.resolve(new MemoryConn((up) => queueMicrotask(() => up.push(RESPONSE)))),
};

const loaded = loadConfigText(CONFIG);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
await createVane(loaded.config, rt, silentLogger).start();

let answered = 0;
let startedAt = 0;
const done = new Promise<void>((resolve) => {
  for (let i = 0; i < CLIENTS; i++) {
    const client = new MemoryConn((c) => {
      answered++;
      if (answered === WARMUP) startedAt = performance.now();
      if (answered === total) resolve();
      else if (answered < total) queueMicrotask(() => c.push(REQUEST));
    });
    accept!(client);
    client.push(REQUEST);
  }
});
await done;
const perRequest = (performance.now() - startedAt) * 1000 / (total - WARMUP);
console.log(`engine-cost: ${rt0.name} ${rt0.version}: ${perRequest.toFixed(2)} µs per request (${total - WARMUP} measured after ${WARMUP})`);
rt0.exit(0);
