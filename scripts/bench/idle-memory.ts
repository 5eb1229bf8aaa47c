/**
 * Idle memory per proxied connection, one process at a time (issue 25): how much RSS a
 * proxy holds at N idle connections, against its own start, for vane on Deno and on
 * Bun and for the minimal Deno relay (deno-min-relay.ts, the floor). Each measurement
 * is a fresh proxy: start it, read its RSS, let idle-client.mjs open N connections
 * through its L4 listener (one request answered on each, then idle), wait 2 s, read the
 * RSS again. The per-connection figure is (after - before) / N.
 *
 * --settle S waits S seconds before each reading instead (start-up and the burst of N
 * connections leave garbage and a grown young generation behind; V8's memory reducer
 * gives them back some 8-30 s after the last collection, so 2 s measures a passing
 * state on Deno).
 *
 *   deno run --allow-all scripts/bench/idle-memory.ts [--counts 0,2500,5000,9400]
 *       [--only deno-min,vane-deno,vane-bun] [--heap] [--snapshot DIR]
 *       [--deno-flags "--v8-flags=..."] [--vane-args "--workers 2"] [--settle S] [--bench-config]
 *
 * --heap runs the Deno contenders under --inspect and also reads Deno.memoryUsage()
 * (after a full collection) over the inspector protocol; --snapshot DIR also writes a
 * heap snapshot before and after and prints what grew, by constructor. The inspector
 * costs memory of its own: the RSS figures to quote come from runs without --heap.
 *
 * One process holds 2 descriptors per proxied connection, so the descriptor limit
 * (20,000 here; the hard limit cannot be raised in this container, which lacks
 * CAP_SYS_RESOURCE) caps one process below 10,000 connections, and vane's own reserve
 * (server/client-slots.ts) near 9,480: hence 9,400 at most. `--vane-args "--workers 2"
 * --bench-config --counts 10000` is bench.mjs's idle test (RSS summed over the process
 * tree). The backend is nginx (backend.conf), as in bench.mjs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { summarize, topGrowth } from "./heap-summary.ts";
import { denoRunFlagsWith } from "../../src/runtime/deno-flags.ts";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "../..");
const BIN = path.join(ROOT, "node_modules/.bin");
/** How --deno-flags names V8 flags, merged into vane's own. */
const V8_FLAGS = "--v8-flags=";
const TMP = mkdtempSync(path.join(os.tmpdir(), "vane-idle-mem-"));
const children = new Set<ChildProcess>();

interface Options {
  counts: number[];
  only: string[];
  heap: boolean;
  snapshot: string | null;
  denoFlags: string[];
  vaneArgs: string[];
  /** Seconds to wait before each RSS reading; 0: as bench.mjs (1.5 s and 2 s). */
  settleS: number;
  /** Run vane on bench.mjs's vane.yaml instead of a single L4 listener. */
  benchConfig: boolean;
}

function options(argv: string[]): Options {
  const o: Options = {
    counts: [0, 2500, 5000, 9400],
    only: ["deno-min", "vane-deno", "vane-bun"],
    heap: false,
    snapshot: null,
    denoFlags: [],
    vaneArgs: [],
    settleS: 0,
    benchConfig: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag}: expected a value`);
      return v;
    };
    if (flag === "--counts") o.counts = val().split(",").map(Number);
    else if (flag === "--only") o.only = val().split(",");
    else if (flag === "--heap") o.heap = true;
    else if (flag === "--settle") o.settleS = Number(val());
    else if (flag === "--bench-config") o.benchConfig = true;
    else if (flag === "--snapshot") (o.snapshot = val()), (o.heap = true);
    else if (flag === "--deno-flags") o.denoFlags = val().split(" ").filter(Boolean);
    else if (flag === "--vane-args") o.vaneArgs = val().split(" ").filter(Boolean);
    else throw new Error(`unknown option ${flag}; see the comment at the top of idle-memory.ts`);
  }
  if (o.counts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error("--counts: expected whole numbers");
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** Starts a process; its stdin is a pipe (idle-client.mjs lets go of everything when stdin ends). */
function start(name: string, cmd: string, args: string[]): ChildProcess {
  const log = path.join(TMP, `${name}.log`);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (d: Uint8Array) => lines.push(new TextDecoder().decode(d));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("exit", () => writeFileSync(log, lines.join("")));
  children.add(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.delete(child);
}

function stopAllNow(): void {
  for (const c of children) c.kill("SIGKILL");
}

/** Resolves once something accepts on the port, or throws after `ms`. */
async function listening(port: number, ms: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before listening`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

/** VmRSS of pid and its descendants, in KiB. */
function treeRssKb(pid: number): number {
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = readFileSync(`/proc/${e.name}/stat`, "utf8");
      parents.set(Number(e.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  let kb = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
    } catch { /* gone */ }
    for (const [c, pp] of parents) if (pp === p) stack.push(c);
  }
  return kb;
}

// ---- the inspector protocol (Deno contenders under --heap) ----

class Inspector {
  #ws: WebSocket;
  #id = 0;
  #waiting = new Map<number, (msg: { result?: unknown; error?: unknown }) => void>();
  #chunks: string[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (msg.method === "HeapProfiler.addHeapSnapshotChunk") this.#chunks.push(msg.params.chunk);
      else if (msg.id !== undefined) this.#waiting.get(msg.id)?.(msg);
    };
  }

  static async open(port: number): Promise<Inspector> {
    const until = Date.now() + 20000;
    for (;;) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        const ws = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
        return new Inspector(ws);
      } catch (err) {
        if (Date.now() > until) throw err;
        await sleep(200);
      }
    }
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (msg) => (msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result)));
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Deno.memoryUsage() after a full collection, in bytes. */
  async memory(): Promise<{ rss: number; heapTotal: number; heapUsed: number; external: number }> {
    await this.send("HeapProfiler.collectGarbage");
    const r = await this.send("Runtime.evaluate", {
      expression: "JSON.stringify(Deno.memoryUsage())",
      returnByValue: true,
    }) as { result: { value: string } };
    return JSON.parse(r.result.value);
  }

  async snapshot(file: string): Promise<void> {
    this.#chunks = [];
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    writeFileSync(file, this.#chunks.join(""));
    this.#chunks = [];
  }

  close(): void {
    this.#ws.close();
  }
}

// ---- one measurement ----

interface Sample {
  contender: string;
  count: number;
  held: number;
  beforeKb: number;
  afterKb: number;
  heapBefore?: number;
  heapAfter?: number;
  externalBefore?: number;
  externalAfter?: number;
}

/**
 * vane's config: one L4 listener to the backend, or (--bench-config) bench.mjs's own
 * vane.yaml, whose L7 and HTTP/2 listeners load more of vane (the other ports unused).
 */
async function vaneConfig(o: Options, listenPort: number, backendPort: number): Promise<string> {
  const file = path.join(TMP, `vane-${listenPort}.yaml`);
  if (o.benchConfig) {
    const ports: Record<string, number> = { L4_PORT: listenPort, BACKEND_PORT: backendPort };
    for (const k of ["BULK_PORT", "L7_PORT", "H2_PORT", "H2H2_PORT", "OTHER_PORT", "IPERF_PORT", "BACKEND_H2_PORT"]) {
      ports[k] = await freePort();
    }
    const text = readFileSync(path.join(BENCH, "vane.yaml"), "utf8").replace(/@([A-Z_0-9]+)@/g, (_, k) => {
      if (!(k in ports)) throw new Error(`vane.yaml: no value for @${k}@`);
      return String(ports[k]);
    });
    writeFileSync(file, text);
    return file;
  }
  const lines = [
    "listeners:",
    `  - listen: tcp://127.0.0.1:${listenPort}`,
    "    flow:",
    "      - proxy: backend",
    "pools:",
    `  backend: { targets: [127.0.0.1:${backendPort}], health: { check: none } }`,
    "control: { listen: off }",
    "timeouts: { idle: 10m, grace: 0s }",
    "log: { level: warn }",
    "workers: 1",
    "",
  ];
  writeFileSync(file, lines.join("\n"));
  return file;
}

async function command(
  name: string,
  o: Options,
  port: number,
  backend: number,
  inspect: number | null,
): Promise<[string, string[]]> {
  // As vane runs on Deno (src/runtime/deno-flags.ts), with --deno-flags' V8 flags added to its own.
  const v8 = o.denoFlags.filter((f) => f.startsWith(V8_FLAGS)).flatMap((f) => f.slice(V8_FLAGS.length).split(","));
  const rest = o.denoFlags.filter((f) => !f.startsWith(V8_FLAGS));
  const deno = [`${BIN}/deno`, "run", ...denoRunFlagsWith(v8), ...rest];
  if (inspect !== null) deno.push(`--inspect=127.0.0.1:${inspect}`);
  switch (name) {
    case "deno-min":
      return [deno[0], [...deno.slice(1), `${BENCH}/deno-min-relay.ts`, String(port), String(backend)]];
    case "vane-deno":
      return [deno[0], [...deno.slice(1), "src/main.ts", "run", await vaneConfig(o, port, backend), ...o.vaneArgs]];
    case "vane-bun":
      return [`${BIN}/bun`, ["src/main.ts", "run", await vaneConfig(o, port, backend), ...o.vaneArgs]];
  }
  throw new Error(`unknown contender ${name}: deno-min, vane-deno, vane-bun`);
}

/** Opens `count` idle connections through port; resolves how many got their answer, and a way to let go. */
async function holdIdle(port: number, count: number): Promise<{ held: number; release: () => Promise<void> }> {
  const client = start(`client-${port}`, "node", [
    `${BENCH}/idle-client.mjs`,
    "127.0.0.1",
    String(port),
    String(count),
  ]);
  client.stdin?.on("error", () => {});
  let out = "";
  client.stdout?.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  const until = Date.now() + 120000;
  while (!out.includes("\n")) {
    if (client.exitCode !== null) throw new Error(`idle client exited with code ${client.exitCode}`);
    if (Date.now() > until) throw new Error("idle client not ready within 120 s");
    await sleep(100);
  }
  const status = JSON.parse(out.split("\n")[0]);
  if (status.failed) console.error(`  ${status.failed} failed: ${status.firstError}`);
  return { held: status.ok, release: () => stop(client) };
}

async function measure(name: string, count: number, o: Options, backend: number): Promise<Sample> {
  const port = await freePort();
  const inspectPort = o.heap && name !== "vane-bun" ? await freePort() : null;
  const [cmd, args] = await command(name, o, port, backend, inspectPort);
  const proxy = start(`${name}-${count}`, cmd, args);
  try {
    await listening(port, 60000, proxy);
    // As bench.mjs: 1.5 s after start, 2 s after the last connection; or --settle S both times.
    await sleep(o.settleS > 0 ? o.settleS * 1000 : 1500);
    const sample: Sample = { contender: name, count, held: 0, beforeKb: treeRssKb(proxy.pid!), afterKb: 0 };
    // A session is opened per look and closed at once: with one left open while the
    // connections came in, Deno's heap showed none of them.
    const look = async (when: string) => {
      if (inspectPort === null) return null;
      const inspector = await Inspector.open(inspectPort);
      try {
        const m = await inspector.memory();
        if (o.snapshot) await inspector.snapshot(path.join(o.snapshot, `${name}-${count}-${when}.heapsnapshot`));
        return m;
      } finally {
        inspector.close();
      }
    };
    const before = await look("before");
    sample.heapBefore = before?.heapUsed;
    sample.externalBefore = before?.external;
    const idle = count > 0 ? await holdIdle(port, count) : { held: 0, release: async () => {} };
    try {
      sample.held = idle.held;
      await sleep(o.settleS > 0 ? o.settleS * 1000 : 2000);
      sample.afterKb = treeRssKb(proxy.pid!);
      const after = await look("after");
      sample.heapAfter = after?.heapUsed;
      sample.externalAfter = after?.external;
    } finally {
      await idle.release();
    }
    return sample;
  } finally {
    await stop(proxy);
  }
}

// ---- report ----

const mb = (kb: number) => (kb / 1024).toFixed(1);

function row(s: Sample): string {
  const per = s.held > 0 ? ((s.afterKb - s.beforeKb) * 1024 / s.held / 1000).toFixed(1) : "";
  const cells = [s.contender, String(s.count), String(s.held), mb(s.beforeKb), mb(s.afterKb), per];
  if (s.heapAfter !== undefined) {
    const heapPer = s.held > 0 ? ((s.heapAfter - s.heapBefore!) / s.held / 1000).toFixed(2) : "";
    const extPer = s.held > 0 ? ((s.externalAfter! - s.externalBefore!) / s.held / 1000).toFixed(2) : "";
    cells.push((s.heapAfter / 2 ** 20).toFixed(1), heapPer, extPer);
  }
  return `| ${cells.join(" | ")} |`;
}

async function main(): Promise<void> {
  const o = options(Deno.args);
  if (o.snapshot) mkdirSync(o.snapshot, { recursive: true });
  const [backend, other, h2] = [await freePort(), await freePort(), await freePort()];
  const beDir = path.join(TMP, "backend");
  mkdirSync(beDir, { recursive: true });
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(path.join(beDir, sub));
  const vars: Record<string, string> = {
    TMP: beDir,
    USER: os.userInfo().username,
    GROUP: os.userInfo().username,
    BACKEND_PORT: String(backend),
    OTHER_PORT: String(other),
    BACKEND_H2_PORT: String(h2),
  };
  const conf = readFileSync(path.join(BENCH, "backend.conf"), "utf8").replace(/@([A-Z_0-9]+)@/g, (_, k) => vars[k]);
  writeFileSync(path.join(beDir, "backend.conf"), conf);
  const be = start("backend", "/usr/sbin/nginx", [
    "-p",
    beDir,
    "-c",
    path.join(beDir, "backend.conf"),
    "-g",
    "daemon off;",
  ]);
  await listening(backend, 15000, be);

  const head = ["contender", "N", "held", "RSS before MB", "RSS at N MB", "KB/conn"];
  if (o.heap) head.push("heap at N MB (Deno)", "heap KB/conn", "external KB/conn");
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => " --- |").join("")}`);
  const samples: Sample[] = [];
  for (const name of o.only) {
    for (const count of o.counts) {
      const s = await measure(name, count, o, backend);
      samples.push(s);
      console.log(row(s));
      if (o.snapshot && count > 0 && name !== "vane-bun") {
        const dir = o.snapshot;
        const before = summarize(readFileSync(path.join(dir, `${name}-${count}-before.heapsnapshot`), "utf8"));
        const after = summarize(readFileSync(path.join(dir, `${name}-${count}-after.heapsnapshot`), "utf8"));
        console.error(`\n${name} at ${count}: what grew (per connection held)\n${topGrowth(before, after, s.held)}\n`);
      }
    }
  }
  await stop(be);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    stopAllNow();
    rmSync(TMP, { recursive: true, force: true });
    Deno.exit(130);
  });
}
try {
  await main();
} catch (err) {
  console.error(`idle-memory: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
} finally {
  stopAllNow();
  rmSync(TMP, { recursive: true, force: true });
}
