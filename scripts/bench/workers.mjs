#!/usr/bin/env node
// Issue 25 point 4: with several workers, do connections spread evenly, and does the
// CPU per request stay flat as the worker count grows?
//
//   node scripts/bench/workers.mjs [--workers 1,2] [--rounds 3] [--duration 5]
//                                  [--runtime bun|deno|bin] [--tests l7,l4]
//
// For each test (L7 keep-alive by Host, L4 keep-alive), rounds alternate the worker
// counts (1, 2, 1, 2, ... with the order flipped every round). Each run starts vane
// with `--workers N` against one nginx backend, drives it with wrk, and reads:
//   - each worker's share of the accepted connections (`/status` workers[].connections,
//     before and after the run), and of the requests (wrk's count split by that share
//     is not known, so the share reported is of connections: wrk opens them all at once);
//   - the CPU time (user + system) of vane's whole process tree from /proc over the run,
//     per request, so "does not grow with the worker count" is judged on one figure.
// Nothing is pinned here: with 2 workers on 2 cores pinning has no room. Figures are
// medians over rounds with their spread; benchmarks stay out of the test suite.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { denoRunFlags } from "./deno-run-flags.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");

function options(argv) {
  const o = { workers: [1, 2], rounds: 3, duration: 5, runtime: "bun", tests: ["l7", "l4"], conns: 64 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--workers") o.workers = val().split(",").map(Number);
    else if (flag === "--rounds") o.rounds = Number(val());
    else if (flag === "--duration") o.duration = Number(val());
    else if (flag === "--runtime") o.runtime = val();
    else if (flag === "--tests") o.tests = val().split(",");
    else if (flag === "--conns") o.conns = Number(val());
    else throw new Error(`unknown flag ${flag}`);
  }
  return o;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** pid and all its descendants, from /proc. */
function tree(root) {
  const kids = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch { /* gone */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

function cpuMicros(pid) {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return (ticks * 1e6) / CLK_TCK;
}

function startBackend(dir, port, other, h2) {
  const conf = fs.readFileSync(path.join(HERE, "backend.conf"), "utf8")
    .replaceAll("@USER@", os.userInfo().username)
    .replaceAll("@GROUP@", execFileSync("id", ["-gn"], { encoding: "utf8" }).trim())
    .replaceAll("@TMP@", dir)
    .replaceAll("@BACKEND_PORT@", String(port))
    .replaceAll("@OTHER_PORT@", String(other))
    .replaceAll("@BACKEND_H2_PORT@", String(h2));
  fs.writeFileSync(path.join(dir, "backend.conf"), conf);
  return spawn("nginx", ["-p", dir, "-c", path.join(dir, "backend.conf"), "-g", "daemon off;"], {
    stdio: "ignore",
  });
}

function vaneCommand(runtime) {
  if (runtime === "bun") return [path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "src/main.ts")]];
  if (runtime === "deno") {
    return [path.join(ROOT, "node_modules/.bin/deno"), ["run", ...denoRunFlags(ROOT), path.join(ROOT, "src/main.ts")]];
  }
  return [path.join(ROOT, "dist/vane"), []];
}

async function status(port) {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  return await res.json();
}

async function waitServing(port, workers, bound) {
  for (let i = 0; i < bound; i++) {
    try {
      const s = await status(port);
      if (s.workers.length === workers && s.workers.every((w) => !w.silent)) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`vane's status endpoint did not show ${workers} worker(s)`);
}

/** TCP connections accepted per worker so far (a single process is its own one worker). */
function perWorker(s) {
  return s.workers.map((w) => w.connections);
}

function wrk(url, conns, seconds, host) {
  const args = ["-t2", `-c${conns}`, `-d${seconds}s`, "--latency", url];
  if (host) args.splice(3, 0, "-H", `Host: ${host}`);
  const out = execFileSync("wrk", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  return { requests, rps, errors };
}

async function run(o, test, workers, ports) {
  const [cmd, pre] = vaneCommand(o.runtime);
  const listen = test === "l7" ? `http://127.0.0.1:${ports.listen}` : `tcp://127.0.0.1:${ports.listen}`;
  const args = [
    ...pre,
    "--listen",
    listen,
    "--route",
    `*=127.0.0.1:${ports.backend}`,
    "--health",
    "none",
    "--workers",
    String(workers),
    "--status",
    `127.0.0.1:${ports.status}`,
    "--log-level",
    "warn",
  ];
  const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], detached: true });
  try {
    await waitServing(ports.status, workers, 300);
    await sleep(500);
    wrk(`http://127.0.0.1:${ports.listen}/`, o.conns, 1, "bench.local"); // warm-up
    const before = perWorker(await status(ports.status));
    const cpu0 = cpuMicros(p.pid);
    const res = wrk(`http://127.0.0.1:${ports.listen}/`, o.conns, o.duration, "bench.local");
    const cpu = cpuMicros(p.pid) - cpu0;
    const after = perWorker(await status(ports.status));
    const accepted = after.map((n, i) => n - (before[i] ?? 0));
    const total = accepted.reduce((a, b) => a + b, 0);
    return {
      ...res,
      cpuUsPerReq: cpu / res.requests,
      shares: total > 0 ? accepted.map((n) => n / total) : [],
      accepted,
    };
  } finally {
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch { /* gone */ }
    await sleep(300);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const spread = (xs) => `${f1(median(xs))} [${f1(Math.min(...xs))}–${f1(Math.max(...xs))}]`;

async function main() {
  const o = options(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vane-workers-bench-"));
  const ports = {
    backend: await freePort(),
    other: await freePort(),
    h2: await freePort(),
    listen: await freePort(),
    status: await freePort(),
  };
  const backend = startBackend(dir, ports.backend, ports.other, ports.h2);
  try {
    await sleep(500);
    const results = {};
    for (const test of o.tests) {
      results[test] = Object.fromEntries(o.workers.map((w) => [w, []]));
      for (let r = 0; r < o.rounds; r++) {
        const order = r % 2 === 0 ? o.workers : [...o.workers].reverse();
        for (const w of order) {
          const res = await run(o, test, w, ports);
          results[test][w].push(res);
          console.error(
            `${test} workers=${w} round ${r + 1}: ${f1(res.rps)} req/s, ${f1(res.cpuUsPerReq)} µs/req, ` +
              `connections per worker ${res.accepted.join("/")}, errors ${res.errors}`,
          );
        }
      }
    }
    console.log(`\nvane on ${o.runtime}, wrk -t2 -c${o.conns} -d${o.duration}s, ${o.rounds} paired rounds\n`);
    console.log("| test | workers | req/s | CPU µs/req | ×1 worker CPU/req | connections per worker (share) |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const test of o.tests) {
      const one = results[test][o.workers[0]];
      for (const w of o.workers) {
        const rs = results[test][w];
        const ratios = rs.map((x, i) => x.cpuUsPerReq / one[i].cpuUsPerReq);
        const shares = rs[0].shares.map((_, k) => median(rs.map((x) => x.shares[k] ?? 0)));
        console.log(
          `| ${test} | ${w} | ${spread(rs.map((x) => x.rps))} | ${spread(rs.map((x) => x.cpuUsPerReq))} | ${
            w === o.workers[0] ? "1.00" : ratios.map((x) => x.toFixed(2)).join(", ")
          } | ${shares.map((s) => `${(s * 100).toFixed(0)}%`).join(" / ")} |`,
        );
      }
    }
  } finally {
    backend.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`workers bench: ${err.message}`);
  process.exit(1);
});
