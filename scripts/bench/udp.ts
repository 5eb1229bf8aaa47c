/**
 * UDP through vane at paced rates, with `--workers 1` and `--workers 2`, on loopback:
 * how many datagrams a second vane delivers before the kernel drops them at its
 * listening socket (issue 18, point 7). Each measurement sends RATE datagrams a second
 * for DURATION seconds from CLIENTS sockets (each its own source port, so SO_REUSEPORT
 * can spread them) through vane to an echo target in another process, which counts
 * what arrives and sends it back; the clients count the replies.
 *
 *   bun scripts/bench/udp.ts [--runtime bun|deno] [--vane dist/vane] [--rates 20000,50000]
 *       [--duration 3] [--rounds 3] [--clients 16] [--workers 1,2]
 *
 * Rounds alternate the order of the worker counts (paired rounds: the machine's drift
 * hits both alike). Bounded: rates x duration datagrams per measurement, every process
 * killed at the end. Prints one markdown table: the median of the rounds and their
 * range, and the kernel's UDP receive-buffer drops (/proc/net/snmp, machine-wide) in
 * the same interval.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime } from "../../src/runtime/mod.ts";
import type { UdpSocket } from "../../src/runtime/types.ts";
import { DENO_RUN_FLAGS } from "../../src/runtime/deno-flags.ts";

const rt = runtime();
const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const HOST = "127.0.0.1";
const PAYLOAD = new Uint8Array(64).fill(0x61);

// ---- the echo target: a child process of this same script ----

async function runTarget(): Promise<void> {
  let received = 0;
  const sock: UdpSocket = await rt.bindUdp({ hostname: HOST, port: 0 }, (data, from) => {
    received++;
    sock.send(data, from);
  }, { receiveBufferBytes: 8 << 20 });
  console.log(JSON.stringify({ port: sock.addr.port }));
  // Asked on stdin ("count\n"), answers the datagrams received so far.
  process.stdin.on("data", (d: Uint8Array) => {
    for (const line of new TextDecoder().decode(d).split("\n")) {
      if (line === "count") console.log(JSON.stringify({ received }));
    }
  });
  process.stdin.on("end", () => rt.exit(0));
}

interface Options {
  runtime: "bun" | "deno";
  vane: string | null;
  rates: number[];
  durationS: number;
  rounds: number;
  clients: number;
  workers: number[];
}

function options(): Options {
  const o: Options = {
    runtime: rt.name,
    vane: null,
    rates: [20_000, 50_000, 100_000, 170_000],
    durationS: 3,
    rounds: 3,
    clients: 16,
    workers: [1, 2],
  };
  const a = rt.args;
  for (let i = 0; i < a.length; i += 2) {
    const v = a[i + 1] ?? "";
    switch (a[i]) {
      case "--runtime":
        if (v !== "bun" && v !== "deno") throw new Error(`--runtime: expected bun or deno; got "${v}"`);
        o.runtime = v;
        break;
      case "--vane":
        o.vane = v;
        break;
      case "--rates":
        o.rates = v.split(",").map(Number);
        break;
      case "--duration":
        o.durationS = Number(v);
        break;
      case "--rounds":
        o.rounds = Number(v);
        break;
      case "--clients":
        o.clients = Number(v);
        break;
      case "--workers":
        o.workers = v.split(",").map(Number);
        break;
      default:
        throw new Error(`unknown option ${a[i]}; see the comment at the top of scripts/bench/udp.ts`);
    }
  }
  // Bounded whatever is asked: at most 60 s and 1,000,000 datagrams per measurement.
  if (!(o.durationS > 0 && o.durationS <= 60)) throw new Error("--duration: expected 0 < S <= 60");
  if (o.rates.some((r) => !(r > 0 && r * o.durationS <= 1_000_000))) {
    throw new Error("--rates: at most 1,000,000 datagrams per measurement");
  }
  return o;
}

/** Lines of a child's output, as they come. */
function lines(child: ChildProcess, stream: "stdout" | "stderr", each: (line: string) => void): void {
  let rest = "";
  child[stream]!.on("data", (d: Uint8Array) => {
    rest += new TextDecoder().decode(d);
    const parts = rest.split("\n");
    rest = parts.pop()!;
    for (const p of parts) each(p);
  });
}

function until<T>(what: string, ms: number, wait: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    wait((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

class Target {
  #child: ChildProcess;
  #waiting: ((n: number) => void) | null = null;
  port = 0;

  constructor(ready: (port: number) => void) {
    const script = fileURLToPath(import.meta.url);
    const argv = rt.name === "deno"
      ? ["run", "--allow-all", "--unstable-net", script, "--target"]
      : [script, "--target"];
    this.#child = spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] });
    lines(this.#child, "stdout", (line) => {
      const m = JSON.parse(line);
      if (m.port) ready(this.port = m.port);
      if (m.received !== undefined) this.#waiting?.(m.received);
    });
  }

  count(): Promise<number> {
    return until("the target's count", 5000, (done) => {
      this.#waiting = done;
      this.#child.stdin!.write("count\n");
    });
  }

  stop(): void {
    this.#child.kill("SIGKILL");
  }
}

/** vane as an operator runs it, with one UDP listener in front of the target. */
async function startVane(o: Options, workers: number, listen: number, target: number): Promise<ChildProcess> {
  const args = [
    "--listen",
    `udp://${HOST}:${listen}`,
    "--route",
    `*=${HOST}:${target}`,
    "--workers",
    String(workers),
    "--status",
    "off",
  ];
  const [cmd, ...pre] = o.vane
    ? [o.vane]
    : o.runtime === "deno"
    ? [denoPath(), "run", ...DENO_RUN_FLAGS, MAIN]
    : [bunPath(), MAIN];
  const child = spawn(cmd, [...pre, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  // Serving: every process bound (or, where UDP cannot be shared, the primary said so).
  await until(`vane (${workers} workers) to serve; it said:\n${log}`, 20_000, (done) => {
    lines(child, "stderr", (line) => {
      log += line + "\n";
      if (/ERROR/.test(line)) console.error(line);
      if (workers === 1 ? /listening/.test(line) : /workers serving|served by the primary alone/.test(line)) {
        done(undefined);
      }
    });
  });
  return child;
}

const bunPath =
  () => (rt.name === "bun" ? process.execPath : new URL("../../node_modules/.bin/bun", import.meta.url).pathname);
const denoPath =
  () => (rt.name === "deno" ? process.execPath : new URL("../../node_modules/.bin/deno", import.meta.url).pathname);

/** The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide. */
function rcvbufErrors(): number {
  const rows = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
  const names = rows[0].split(/\s+/);
  const values = rows[1].split(/\s+/);
  return Number(values[names.indexOf("RcvbufErrors")]);
}

interface Result {
  sent: number;
  /** Arrived at the target (through vane once). */
  delivered: number;
  /** Came back to the clients (through vane both ways). */
  echoed: number;
  kernelDrops: number;
}

class Clients {
  socks: UdpSocket[] = [];
  echoed = 0;

  static async open(n: number): Promise<Clients> {
    const c = new Clients();
    for (let i = 0; i < n; i++) {
      c.socks.push(await rt.bindUdp({ hostname: HOST, port: 0 }, () => c.echoed++, { receiveBufferBytes: 8 << 20 }));
    }
    return c;
  }

  /** Every client gets an answer through vane (its session is open), or this throws. */
  async warm(port: number): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const before = this.echoed;
      for (const s of this.socks) s.send(PAYLOAD, { hostname: HOST, port });
      await new Promise((r) => setTimeout(r, 100));
      if (this.echoed - before === this.socks.length) return;
    }
    throw new Error("vane does not answer every client");
  }

  /** Sends `rate` a second for `seconds`, paced per millisecond, from every client in turn. */
  async send(port: number, rate: number, seconds: number): Promise<number> {
    const total = Math.round(rate * seconds);
    const to = { hostname: HOST, port };
    let sent = 0;
    const start = performance.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; sent < due; sent++) this.socks[sent % this.socks.length].send(PAYLOAD, to);
      await new Promise((r) => setTimeout(r, 1));
    }
    return sent;
  }

  close(): void {
    for (const s of this.socks) s.close();
  }
}

async function measure(clients: Clients, target: Target, port: number, rate: number, seconds: number): Promise<Result> {
  const targetBefore = await target.count();
  const echoedBefore = clients.echoed;
  const dropsBefore = rcvbufErrors();
  const sent = await clients.send(port, rate, seconds);
  await new Promise((r) => setTimeout(r, 1000)); // stragglers
  return {
    sent,
    delivered: (await target.count()) - targetBefore,
    echoed: clients.echoed - echoedBefore,
    kernelDrops: rcvbufErrors() - dropsBefore,
  };
}

async function freeUdpPort(): Promise<number> {
  const s = await rt.bindUdp({ hostname: HOST, port: 0 }, () => {});
  const port = s.addr.port;
  s.close();
  return port;
}

async function main(): Promise<void> {
  const o = options();
  const target = await new Promise<Target>((resolve) => {
    const t: Target = new Target(() => resolve(t));
  });
  const clients = await Clients.open(o.clients);
  const results = new Map<string, Result[]>();
  const add = (key: string, r: Result) => results.set(key, [...(results.get(key) ?? []), r]);
  const children = new Set<ChildProcess>();
  try {
    // The harness alone, without vane: what the clients and the target can do here.
    for (let round = 0; round < o.rounds; round++) {
      for (const rate of o.rates) add(`direct|${rate}`, await measure(clients, target, target.port, rate, o.durationS));
    }
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? o.workers : [...o.workers].reverse();
      for (const workers of order) {
        const port = await freeUdpPort();
        const vane = await startVane(o, workers, port, target.port);
        children.add(vane);
        await clients.warm(port);
        for (const rate of o.rates) {
          const r = await measure(clients, target, port, rate, o.durationS);
          add(`${workers}|${rate}`, r);
          console.error(
            `round ${
              round + 1
            } workers ${workers} rate ${rate}: delivered ${r.delivered}/${r.sent}, echoed ${r.echoed}, kernel drops ${r.kernelDrops}`,
          );
        }
        vane.kill("SIGKILL");
        children.delete(vane);
      }
    }
  } finally {
    for (const c of children) c.kill("SIGKILL");
    clients.close();
    target.stop();
  }
  console.log(report(o, results));
  rt.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function report(o: Options, results: Map<string, Result[]>): string {
  const k = (n: number) => `${Math.round(n / 1000)}k`;
  const pct = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)}%`;
  const span = (xs: number[], f: (n: number) => string) =>
    `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
  const out = [
    `vane ${
      o.vane ?? `${o.runtime} src/main.ts`
    }, ${o.clients} clients, ${o.durationS} s per measurement, ${o.rounds} rounds (median, range)`,
    "",
    "| workers | offered/s | delivered/s | loss one way | loss both ways | kernel rcvbuf drops |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const w of ["direct", ...o.workers.map(String)]) {
    for (const rate of o.rates) {
      const rs = results.get(`${w}|${rate}`) ?? [];
      if (rs.length === 0) continue;
      out.push(
        `| ${w} | ${k(rate)} | ${span(rs.map((r) => r.delivered / o.durationS), k)} | ${
          span(rs.map((r) => 100 * (1 - r.delivered / r.sent)), pct)
        } | ${span(rs.map((r) => 100 * (1 - r.echoed / r.sent)), pct)} | ${
          span(rs.map((r) => r.kernelDrops), (n) => String(Math.round(n)))
        } |`,
      );
    }
  }
  return out.join("\n");
}

if (rt.args[0] === "--target") await runTarget();
else await main();
