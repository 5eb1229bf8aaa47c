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

  constructor(
    private readonly onWrite: (conn: MemoryConn) => void,
    private readonly written: () => Promise<void>,
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

  write(_data: Uint8Array): Promise<void> {
    this.onWrite(this);
    return this.written();
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
 * vane from the tree at `root` (an absolute path), serving 64 in-memory clients;
 * `extraConfig`: YAML lines added to its config (e.g. `access-log: FILE`). `asBun`:
 * reads to callbacks and writes taken at once on any runtime, so that Deno's heap
 * profiler sees the path Bun takes (alloc-profile.ts).
 */
export async function startEngine(
  root: string,
  extraConfig = "",
  asBun = false,
): Promise<{ runtime: Runtime; run: EngineRun }> {
  const { runtime } = await import(`${root}/src/runtime/mod.ts`);
  const { createVane } = await import(`${root}/src/server/vane.ts`);
  const { loadConfigText } = await import(`${root}/src/config/yaml-load.ts`);
  const { silentLogger } = await import(`${root}/src/telemetry/logger.ts`);
  const rt0: Runtime = runtime();
  // What a write returns, as each runtime's adapter does for a small one: Bun's socket
  // takes it at once (the tree's shared settled promise, where it has one), Deno's
  // write is an op that settles later.
  let written = () => Promise.resolve();
  // Deno's adapter reads through promises only.
  if (rt0.name !== "bun" && !asBun) MemoryConn.prototype.readNext = undefined;
  if (rt0.name === "bun" || asBun) {
    // (Wrapped: a promise handed out of then() would be waited for, not returned.)
    const shared = await import(`${root}/src/runtime/written.ts`).then(
      (m) => ({ promise: m.WRITTEN as Promise<void> }),
      () => null,
    );
    if (shared !== null) written = () => shared.promise;
  }

  let accept: ((conn: TcpConn) => void) | null = null;
  const rt: Runtime = {
    ...rt0,
    listenTcp: (addr, onConn) => {
      accept = onConn;
      return Promise.resolve({ addr: { hostname: addr.hostname, port: addr.port }, close() {} });
    },
    // The upstream answers each request on the next microtask, as a fast backend would.
    connectTcp: () => Promise.resolve(new MemoryConn((up) => queueMicrotask(() => up.push(RESPONSE)), written)),
  };
  const loaded = loadConfigText(CONFIG + extraConfig);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  await createVane(loaded.config, rt, silentLogger).start();

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
    }, written);
    accept!(client);
    parked.push(client);
  }
  const run: EngineRun = (requests) =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      target = answered + requests;
      finish = () => resolve(performance.now() - started);
      for (const c of parked.splice(0)) c.push(REQUEST);
    });
  return { runtime: rt0, run };
}

/** The absolute path of a tree's root given on the command line, without a trailing slash. */
export function treeRoot(dir: string): string {
  return resolve(dir).replace(/\/+$/, "");
}
