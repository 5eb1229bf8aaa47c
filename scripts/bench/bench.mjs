// The vane benchmark: node scripts/bench/bench.mjs [options] (normally via scripts/bench/run,
// which installs the tools and builds dist/vane first). See scripts/bench/README.md.
//
// Every contender is single-threaded (DESIGN.md, "Benchmark fairness"). All of them are
// started once, with an L4 listener to the HTTP backend, an L4 listener to iperf3 and an
// L7 listener routing by Host, and kept running for every round; the idle-memory test
// starts its own instances (vane with --workers 2). Rounds rotate the contenders' order.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { denoRunFlags } from "./deno-run-flags.mjs";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, "../..");

const CONTENDERS = [
  "direct",
  "haproxy",
  "haproxy-tuned",
  "nginx",
  "nginx-tuned",
  "deno-min",
  "deno-min-http",
  "bun-min",
  "bun-min-http",
  "bun-min-h2",
  "vane-bun",
  "vane-bun-log",
  "vane-deno",
  "vane-bin",
  "vane-base",
  "vane-deno-base",
];
const TESTS = {
  l4: { title: "L4 keep-alive", unit: "req/s", kind: "wrk", listener: "l4", headers: [] },
  "l4-close": { title: "L4 new conn/req", unit: "req/s", kind: "wrk", listener: "l4", headers: ["Connection: close"] },
  bulk: { title: "L4 bulk", unit: "Gbit/s", kind: "iperf", listener: "bulk" },
  l7: {
    title: "L7 keep-alive, Host routing",
    unit: "req/s",
    kind: "wrk",
    listener: "l7",
    headers: ["Host: bench.local"],
  },
  h2: { title: "h2 (h2load -c 32 -m 10) to HTTP/1.1", unit: "req/s", kind: "h2load", listener: "h2" },
  "h2-h2": { title: "h2 (h2load -c 32 -m 10) to h2c", unit: "req/s", kind: "h2load", listener: "h2h2" },
  // Issue 21's headline row: HTTP/2 over TLS, ALPN h2, as browsers reach an edge.
  "h2-tls": {
    title: "h2 over TLS (ALPN h2, h2load -c 32 -m 10) to HTTP/1.1",
    unit: "req/s",
    kind: "h2load",
    listener: "h2tls",
    tls: true,
  },
  idle: { title: "idle memory", kind: "idle" },
};
const IDLE_CONTENDERS = ["vane-bun", "vane-deno", "vane-bin", "vane-base", "vane-deno-base", "haproxy", "nginx"];
/**
 * The runtimes' floors (issue 25): the smallest Deno and Bun relay and HTTP proxy, each
 * run like the vane it is the floor of (same binary, same flags), each serving only the
 * listeners named here (the table shows "–" for the other tests). `vane` is judged
 * against them: its CPU per request and req/s as paired ratios to the floor's.
 */
const FLOORS = {
  "deno-min": { runtime: "deno", script: "deno-min-relay.ts", listeners: ["l4"] },
  "deno-min-http": { runtime: "deno", script: "deno-min-http.ts", listeners: ["l7"] },
  "bun-min": { runtime: "bun", script: "bun-min-relay.ts", listeners: ["l4"] },
  "bun-min-http": { runtime: "bun", script: "bun-min-http.ts", listeners: ["l7"] },
  "bun-min-h2": { runtime: "bun", script: "bun-min-h2.ts", listeners: ["h2"] },
};
/**
 * Per runtime, the vane its floors judge and the goal if there is one: issue 25, point 3
 * wants vane on Deno within 10% of its floor in CPU per request. For Bun there is no such
 * goal; its floors show how much of vane-bun's gap to haproxy (point 2) Bun itself costs.
 */
const FLOOR_JUDGED = {
  deno: { vane: "vane-deno", title: "Deno against its floor", goal: "issue 25, point 3", cpuMax: 1.1 },
  bun: { vane: "vane-bun", title: "Bun against its floor", goal: null, cpuMax: null },
};

// ---------------------------------------------------------------- options

function usage() {
  return `usage: scripts/bench/run [options]   (or: npm run bench -- [options])
  --rounds N         rounds per test (default 3); the order of contenders rotates per round
  --duration S       seconds per measurement (default 5), after a 1 s warm-up
  --warmup S         seconds of traffic each contender serves once, right after it
                     starts, before any measurement (default 10; 0: none)
  --only LIST        contenders, comma-separated (default all): ${CONTENDERS.join(",")}
  --tests LIST       tests, comma-separated (default all): ${Object.keys(TESTS).join(",")}
  --idle-conns N     connections held in the idle test (default 10000)
  --base DIR         also run vane-base: another checkout's src/main.ts on this tree's Bun
                     (e.g. git worktree add /tmp/base COMMIT), paired against vane-bun;
                     vane-deno-base: the same on this tree's Deno, against vane-deno
  --out FILE         also write the markdown report there (raw numbers: FILE with .json)
  --no-pin           do not pin processes to cores (default: the proxy under test on the
                     last core, load generators and backends on the first, with taskset)
  --no-build         use dist/vane as it is (default: npm run build)
  --no-install       do not apt-get install missing tools
  -h, --help`;
}

function parseOptions(argv) {
  const o = {
    rounds: 3,
    pin: true,
    duration: 5,
    warmup: 10,
    only: [...CONTENDERS],
    tests: Object.keys(TESTS),
    idleConns: 10000,
    out: null,
  };
  const list = (v, valid, flag) => {
    const items = v.split(",").map((s) => s.trim()).filter(Boolean);
    for (const it of items) {
      if (!valid.includes(it)) die(`${flag}: unknown "${it}"; expected some of ${valid.join(",")}`, 2);
    }
    if (!items.length) die(`${flag}: empty list`, 2);
    return items;
  };
  const int = (v, flag, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) die(`${flag}: expected an integer >= ${min}; got "${v}"`, 2);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) die(`${flag}: missing value`, 2);
      return argv[++i];
    };
    switch (flag) {
      case "--rounds":
        o.rounds = int(val(), flag, 1);
        break;
      case "--duration":
        o.duration = int(val(), flag, 1);
        break;
      case "--warmup":
        o.warmup = int(val(), flag, 0);
        break;
      case "--only":
        o.only = list(val(), CONTENDERS, flag);
        o.onlyGiven = true;
        break;
      case "--tests":
        o.tests = list(val(), Object.keys(TESTS), flag);
        break;
      case "--idle-conns":
        o.idleConns = int(val(), flag, 1);
        break;
      case "--out":
        o.out = path.resolve(process.env.BENCH_CWD || process.cwd(), val());
        break;
      case "--base":
        o.base = path.resolve(process.env.BENCH_CWD || process.cwd(), val());
        break;
      case "--no-pin":
        o.pin = false;
        break;
      case "--no-build":
      case "--no-install":
        break; // handled by scripts/bench/run
      case "-h":
      case "--help":
        console.log(usage());
        process.exit(0);
        break;
      default:
        die(`unknown option "${a}"\n${usage()}`, 2);
    }
  }
  // vane-base runs only when given a tree; naming it without one is a mistake.
  if (o.base === undefined) {
    for (const c of ["vane-base", "vane-deno-base"]) {
      if (o.only.includes(c) && o.onlyGiven) die(`${c} needs --base DIR\n${usage()}`, 2);
    }
    o.only = o.only.filter((c) => c !== "vane-base" && c !== "vane-deno-base");
  } else if (!fs.existsSync(path.join(o.base, "src/main.ts"))) die(`--base ${o.base}: no src/main.ts there`, 2);
  BASE = o.base ?? null;
  // canonical order, whatever order the lists were given in
  o.only = CONTENDERS.filter((c) => o.only.includes(c));
  o.tests = Object.keys(TESTS).filter((t) => o.tests.includes(t));
  return o;
}

// ---------------------------------------------------------------- processes

const TMP = process.env.BENCH_TMP || fs.mkdtempSync(path.join(os.tmpdir(), "vane-bench-"));
const PGID_FILE = path.join(TMP, "pgids");
/**
 * Where processes run (--no-pin: anywhere): the proxy under test alone on the last core,
 * the load generators and backends on the first, so that the proxy's CPU time is its own
 * and its core is not shared. Set in main() when the machine has two cores or more.
 */
let PIN = null; // { proxy: "1", load: "0" }
/** The checkout vane-base runs (--base), or null. */
let BASE = null;

/** `cmd args` under taskset for `role` ("proxy" or "load"), when pinning. */
function pinned(role, cmd, args) {
  return PIN === null ? [cmd, args] : ["taskset", ["-c", PIN[role], cmd, ...args]];
}

/** Clock ticks per second of /proc/PID/stat's times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * User and system CPU time (µs) of `pid` and its descendants alive now (nginx's worker,
 * vane's workers), as [user, system].
 */
function cpuMicros(pid) {
  let user = 0, sys = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      user += Number(f[11]); // utime (field 14)
      sys += Number(f[12]); // stime (field 15)
    } catch { /* gone */ }
  }
  return [(user * 1e6) / CLK_TCK, (sys * 1e6) / CLK_TCK];
}

const groups = new Set(); // process-group ids of everything we started (each spawned detached)

function saveGroups() {
  try {
    fs.writeFileSync(PGID_FILE, [...groups].join("\n") + "\n");
  } catch { /* best effort */ }
}

/** pid -> ppid for every process, from /proc. */
function processTable() {
  const table = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(d), { ppid: Number(rest[1]), pgid: Number(rest[2]) });
    } catch { /* best effort */ }
  }
  return table;
}

/** pid and all its descendants (alive). */
function processTree(pid) {
  const table = processTable();
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    if (!table.has(p)) continue;
    out.push(p);
    for (const [c, { ppid }] of table) if (ppid === p) stack.push(c);
  }
  return out;
}

function killGroupAndTree(pid, signal) {
  const table = processTable();
  const victims = new Set(processTree(pid));
  for (const [p, { pgid }] of table) if (pgid === pid) victims.add(p);
  try {
    process.kill(-pid, signal);
  } catch { /* best effort */ }
  for (const p of victims) {
    try {
      process.kill(p, signal);
    } catch { /* best effort */ }
  }
}

function killAllSync() {
  for (const g of groups) killGroupAndTree(g, "SIGKILL");
  groups.clear();
  saveGroups();
}

process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping everything`);
    killAllSync();
    process.exit(sig === "SIGINT" ? 130 : 143);
  });
}
process.on("uncaughtException", (e) => {
  console.error("bench: internal error:", e);
  killAllSync();
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  console.error("bench: internal error:", e);
  killAllSync();
  process.exit(1);
});

/** A long-running process, detached into its own group, output to a log file. */
function startProcess(name, cmd0, args0, { cwd = ROOT, env, role = "load" } = {}) {
  const [cmd, args] = pinned(role, cmd0, args0);
  const logPath = path.join(TMP, `${name}.log`);
  const fd = fs.openSync(logPath, "a");
  fs.writeSync(fd, `# ${new Date().toISOString()} ${cmd} ${args.join(" ")}\n`);
  const child = spawn(cmd, args, { cwd, env: env ?? process.env, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const p = { name, cmd, args, child, logPath, exited: false, exitInfo: null };
  if (child.pid) {
    groups.add(child.pid);
    saveGroups();
  }
  child.on("error", (e) => {
    p.exited = true;
    p.exitInfo = `could not start: ${e.message}`;
  });
  child.on("exit", (code, sig) => {
    p.exited = true;
    p.exitInfo = sig ? `killed by ${sig}` : `exited with code ${code}`;
  });
  return p;
}

async function stopProcess(p, graceMs = 3000) {
  if (!p?.child?.pid) return;
  const pid = p.child.pid;
  if (!p.exited) killGroupAndTree(pid, "SIGTERM");
  const until = Date.now() + graceMs;
  while (Date.now() < until && (processTree(pid).length || !p.exited)) await sleep(50);
  killGroupAndTree(pid, "SIGKILL");
  groups.delete(pid);
  saveGroups();
}

function logTail(p, lines = 25) {
  try {
    const text = fs.readFileSync(p.logPath, "utf8").trimEnd().split("\n");
    return text.slice(-lines).map((l) => "    | " + l).join("\n");
  } catch {
    return "    | (no log)";
  }
}

/** Runs a command to completion, bounded by `timeout` and by our own timer. */
function run(cmd, args, timeoutSec, { input } = {}) {
  return new Promise((resolve) => {
    const [c, a] = pinned("load", cmd, args);
    const child = spawn("timeout", ["-k", "3", String(timeoutSec), c, ...a], {
      cwd: ROOT,
      detached: true,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    groups.add(child.pid);
    saveGroups();
    let stdout = "", stderr = "", timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroupAndTree(child.pid, "SIGKILL");
    }, (timeoutSec + 10) * 1000);
    const done = (code) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      saveGroups();
      resolve({ code: timedOut ? 124 : code, stdout, stderr, timedOut: timedOut || code === 124 });
    };
    child.on("error", (e) => {
      stderr += e.message;
      done(127);
    });
    child.on("close", done);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- network helpers

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function tryConnect(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on("error", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** One GET / with the given Host; resolves the status code (or 0). */
function httpStatus(port, host, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let got = "";
    const end = (code) => {
      clearTimeout(t);
      s.destroy();
      resolve(code);
    };
    const t = setTimeout(() => end(0), timeoutMs);
    s.on("connect", () => s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on("data", (d) => {
      got += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m) end(Number(m[1]));
    });
    s.on("error", () => end(0));
    s.on("close", () => end(0));
  });
}

/** Waits until every port accepts (and every L7 port answers 200 for bench.local). */
async function waitReady(p, { tcp = [], http = [] }, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs;
  const pending = new Set(tcp.map((x) => `tcp:${x}`).concat(http.map((x) => `http:${x}`)));
  while (pending.size) {
    if (p.exited) return `${p.name} ${p.exitInfo} before it was ready`;
    if (Date.now() > until) {
      return `${p.name} not ready after ${timeoutMs / 1000}s (waiting for ${[...pending].join(", ")})`;
    }
    for (const key of [...pending]) {
      const [kind, port] = key.split(":");
      const ok = kind === "tcp"
        ? await tryConnect(Number(port), 500)
        : (await httpStatus(Number(port), "bench.local", 1000)) === 200;
      if (ok) pending.delete(key);
    }
    if (pending.size) await sleep(100);
  }
  return null;
}

// ---------------------------------------------------------------- configs

const USER = os.userInfo().username;
const GROUP = (() => {
  try {
    const gid = os.userInfo().gid;
    const line = fs.readFileSync("/etc/group", "utf8").split("\n").find((l) => l.split(":")[2] === String(gid));
    return line ? line.split(":")[0] : USER;
  } catch {
    return USER;
  }
})();

/** Fills a template from scripts/bench into dir; every @NAME@ must be given. */
/**
 * The certificate every proxy serves on its h2-tls listener: a self-signed P-256 one
 * made here with openssl (h2load does not verify it), as separate PEM files (vane,
 * nginx) and as one file holding both (HAProxy's `crt`).
 */
async function benchCert(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const r = await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...[
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=bench.local",
      "-addext",
      "subjectAltName=DNS:bench.local,IP:127.0.0.1",
    ],
  ], 30);
  if (r.code !== 0) die(`openssl could not make the bench certificate: ${(r.stdout + r.stderr).slice(-300)}`, 1);
  const pem = path.join(dir, "both.pem");
  fs.writeFileSync(pem, fs.readFileSync(cert, "utf8") + fs.readFileSync(key, "utf8"));
  return { cert, key, pem };
}

function renderConfig(template, dir, vars) {
  fs.mkdirSync(dir, { recursive: true });
  const all = { TMP: dir, USER, GROUP, ...vars };
  let text = fs.readFileSync(path.join(BENCH_DIR, template), "utf8");
  text = text.replace(/@([A-Z_0-9]+)@/g, (m, k) => {
    if (!(k in all)) die(`${template}: no value for ${m}`, 1);
    return String(all[k]);
  });
  const out = path.join(dir, template);
  fs.writeFileSync(out, text);
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  return out;
}

/** Per runtime, the binary and the flags its vane runs with; its floors run with the same. */
const RUNTIME_RUN = {
  deno: () => [path.join(ROOT, "node_modules/.bin/deno"), ["run", ...denoRunFlags(ROOT)]],
  bun: () => [path.join(ROOT, "node_modules/.bin/bun"), []],
};
const VANE_CMD = {
  "vane-bun": () => {
    const [bun, flags] = RUNTIME_RUN.bun();
    return [bun, [...flags, "src/main.ts"]];
  },
  "vane-deno": () => {
    const [deno, flags] = RUNTIME_RUN.deno();
    return [deno, [...flags, "src/main.ts"]];
  },
  "vane-bin": () => [path.join(ROOT, "dist/vane"), []],
  // vane-bun with its access log on (JSON lines to a file), for what the log costs.
  "vane-bun-log": () => [path.join(ROOT, "node_modules/.bin/bun"), ["src/main.ts"]],
  // Another commit's vane (--base DIR), for what a change costs on the same machine in the same rounds.
  "vane-base": () => [path.join(ROOT, "node_modules/.bin/bun"), [path.join(BASE, "src/main.ts")]],
  // The same on Deno, against vane-deno.
  "vane-deno-base": () => {
    const [deno, flags] = RUNTIME_RUN.deno();
    return [deno, [...flags, path.join(BASE, "src/main.ts")]];
  },
};
/** What a contender adds to `vane run FILE`, given its directory. */
const VANE_EXTRA = {
  "vane-bun-log": (dir) => ["--access-log", path.join(dir, "access.log"), "--access-log-format", "json"],
};

const HAPROXY = "/usr/sbin/haproxy";
const NGINX = "/usr/sbin/nginx";

function startContender(name, ports, shared, { idle = false, suffix = "" } = {}) {
  const dir = path.join(TMP, name + suffix);
  const vars = {
    L4_PORT: ports.l4,
    BULK_PORT: ports.bulk,
    L7_PORT: ports.l7,
    H2_PORT: ports.h2,
    BACKEND_PORT: shared.backend,
    BACKEND_H2_PORT: shared.backendH2,
    H2H2_PORT: ports.h2h2,
    H2TLS_PORT: ports.h2tls,
    TLS_CERT: shared.tls.cert,
    TLS_KEY: shared.tls.key,
    TLS_PEM: shared.tls.pem,
    OTHER_PORT: shared.other,
    IPERF_PORT: shared.iperf,
    MAXCONN: idle ? shared.idleMaxconn : 8000,
  };
  if (name.startsWith("haproxy")) {
    const tpl = idle ? "haproxy-idle.cfg" : name === "haproxy-tuned" ? "haproxy-tuned.cfg" : "haproxy.cfg";
    const cfg = renderConfig(tpl, dir, vars);
    return startProcess(name + suffix, HAPROXY, ["-f", cfg, "-db"], { role: "proxy" });
  }
  if (name.startsWith("nginx")) {
    const tpl = idle ? "nginx-idle.conf" : name === "nginx-tuned" ? "nginx-tuned.conf" : "nginx.conf";
    const cfg = renderConfig(tpl, dir, vars);
    return startProcess(name + suffix, NGINX, ["-p", dir, "-c", cfg, "-g", "daemon off;"], { role: "proxy" });
  }
  if (name in FLOORS) {
    const floor = FLOORS[name];
    const [cmd, flags] = RUNTIME_RUN[floor.runtime]();
    const script = path.join(BENCH_DIR, floor.script);
    const ends = floor.listeners.includes("l4")
      ? [ports.l4, shared.backend]
      : floor.listeners.includes("h2")
      ? [ports.h2, shared.backend]
      : [ports.l7, shared.backend, shared.other];
    return startProcess(name + suffix, cmd, [...flags, script, ...ends.map(String)], { role: "proxy" });
  }
  if (name.startsWith("vane")) {
    const cfg = renderConfig("vane.yaml", dir, vars);
    const [cmd, pre] = VANE_CMD[name]();
    const extra = [...(VANE_EXTRA[name]?.(dir) ?? []), ...(idle ? ["--workers", "2"] : [])];
    return startProcess(name + suffix, cmd, [...pre, "run", cfg, ...extra], {
      role: "proxy",
    });
  }
  throw new Error(`no way to start ${name}`);
}

// ---------------------------------------------------------------- measurements

function toMs(value, unit) {
  const v = Number(value);
  return unit === "us"
    ? v / 1000
    : unit === "ms"
    ? v
    : unit === "s"
    ? v * 1000
    : unit === "m"
    ? v * 60000
    : unit === "h"
    ? v * 3600000
    : NaN;
}

function parseWrk(out) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    rps: rps ? Number(rps[1]) : null,
    p99ms: p99 ? toMs(p99[1], p99[2]) : null,
    requests: total ? Number(total[1]) : null,
    errors: sock ? { connect: +sock[1], read: +sock[2], write: +sock[3], timeout: +sock[4] } : null,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/**
 * The 99th percentile of the request times in h2load's --log-file (tab-separated: start
 * time in µs since the epoch, status, µs to the end of the response), in ms; its summary
 * gives no percentiles.
 */
function h2loadP99(logFile) {
  let text;
  try {
    text = fs.readFileSync(logFile, "utf8");
  } catch {
    return null;
  }
  const times = [];
  for (const line of text.split("\n")) {
    const us = Number(line.split("\t")[2]);
    if (Number.isFinite(us) && line !== "") times.push(us);
  }
  if (times.length === 0) return null;
  times.sort((a, b) => a - b);
  return times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] / 1000;
}

/** h2load's summary: req/s, requests failed or errored, and the mean time per request. */
function parseH2load(out) {
  const rps = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const time = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(out);
  return {
    rps: rps ? Number(rps[1]) : null,
    requests: req ? Number(req[1]) : null,
    failed: req ? Number(req[3]) + Number(req[4]) : null,
    meanMs: time ? toMs(time[1], time[2]) : null,
  };
}

/** Where h2load writes each request's time (see h2loadP99). */
const H2LOAD_LOG = path.join(TMP, "h2load.log");

/**
 * h2load -c 32 -m 10 for `seconds`, HTTP/2 in clear (prior knowledge), or over TLS
 * (`tls`: ALPN h2, TLS 1.3 with AES-128-GCM for every proxy alike); the caller warms up.
 */
async function h2load(port, seconds, tls = false) {
  const args = [
    "-c",
    "32",
    "-m",
    "10",
    "-t",
    "1",
    "-D",
    String(seconds),
    `--log-file=${H2LOAD_LOG}`,
    ...(tls ? ["--tls13-ciphers=TLS_AES_128_GCM_SHA256", `https://127.0.0.1:${port}/`] : [`http://127.0.0.1:${port}/`]),
  ];
  fs.rmSync(H2LOAD_LOG, { force: true });
  const r = await run("h2load", args, seconds + 20);
  const parsed = parseH2load(r.stdout);
  if (r.code !== 0 || parsed.rps === null) {
    return { error: `h2load ${r.timedOut ? "timed out" : `exited ${r.code}`}: ${(r.stdout + r.stderr).slice(-300)}` };
  }
  return { ...parsed, p99ms: h2loadP99(H2LOAD_LOG) };
}

async function wrk(port, headers, seconds) {
  const args = ["-t1", "-c64", `-d${seconds}s`, "--latency"];
  for (const h of headers) args.push("-H", h);
  args.push(`http://127.0.0.1:${port}/`);
  const r = await run("wrk", args, seconds + 15);
  const parsed = parseWrk(r.stdout);
  if (r.code !== 0 || parsed.rps === null) {
    return {
      error: `wrk ${r.timedOut ? "timed out" : `exited ${r.code}`}: ${
        (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ")
      }`,
    };
  }
  return parsed;
}

let iperfServer = null;
async function ensureIperf(shared) {
  if (iperfServer && !iperfServer.exited) return;
  if (iperfServer) {
    note(`iperf3 server ${iperfServer.exitInfo}; restarted`);
    await stopProcess(iperfServer);
  }
  iperfServer = startProcess("iperf3-server", "iperf3", [
    "-s",
    "-p",
    String(shared.iperf),
    "-B",
    "127.0.0.1",
    "--forceflush",
  ]);
  const err = await waitReady(iperfServer, { tcp: [] }, 10000);
  if (err) fail(`iperf3 server: ${err}`, iperfServer);
  // a bare connect to iperf3's port would count as a (broken) test: look for the socket instead
  const until = Date.now() + 10000;
  while (!isListening(shared.iperf)) {
    if (iperfServer.exited || Date.now() > until) fail("iperf3 server did not start listening", iperfServer);
    await sleep(100);
  }
}

/** Whether something listens on 127.0.0.1:port (from /proc/net/tcp, without connecting). */
function isListening(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  try {
    return fs.readFileSync("/proc/net/tcp", "utf8").split("\n").some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === `0100007F:${hex}` && f[3] === "0A";
    });
  } catch {
    return false;
  }
}

async function iperf(port, seconds, shared) {
  let last = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    await ensureIperf(shared);
    const r = await run(
      "iperf3",
      ["-c", "127.0.0.1", "-p", String(port), "-t", String(seconds), "-O", "1", "-J"],
      seconds + 20,
    );
    try {
      const j = JSON.parse(r.stdout);
      const bps = j?.end?.sum_received?.bits_per_second;
      if (!j.error && typeof bps === "number" && bps > 0) {
        return { gbps: bps / 1e9, retransmits: j.end?.sum_sent?.retransmits ?? null };
      }
      last = j.error || "no sum_received in iperf3's output";
    } catch {
      last = `iperf3 ${r.timedOut ? "timed out" : `exited ${r.code}`}: ${(r.stderr || r.stdout).trim().slice(0, 200)}`;
    }
    // the server may be stuck on a broken test: restart it and try again
    if (attempt === 1) {
      await stopProcess(iperfServer);
      iperfServer = null;
    }
    await sleep(1000);
  }
  return { error: last };
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function treeRss(pid) {
  const pids = processTree(pid);
  const each = pids.map((p) => ({ pid: p, kb: rssKb(p) }));
  return { kb: each.reduce((s, e) => s + e.kb, 0), processes: pids.length, each };
}

/** The idle test for one contender: its own instance, N connections held, RSS of its tree. */
async function idleRun(name, shared, count, round) {
  const deadline = Date.now() + 120000;
  const [l4, bulk, l7, h2, h2h2, h2tls] = await freePorts(6);
  const p = startContender(name, { l4, bulk, l7, h2, h2h2, h2tls }, shared, {
    idle: true,
    suffix: `-idle-r${round + 1}`,
  });
  let client = null;
  try {
    const err = await waitReady(p, { tcp: [l4] }, 60000);
    if (err) {
      const tail = logTail(p, 8);
      if (name === "haproxy") {
        return {
          skipped: `haproxy refused maxconn ${shared.idleMaxconn} (descriptor limit ${fdLimit()}): ${firstLogError(p)}`,
          tail,
        };
      }
      return { error: err, tail };
    }
    await sleep(name.startsWith("vane") ? 1500 : 500); // let the workers bind
    const before = treeRss(p.child.pid);
    client = spawn(process.execPath, [
      path.join(BENCH_DIR, "idle-client.mjs"),
      "127.0.0.1",
      String(l4),
      String(count),
      "500",
    ], {
      cwd: ROOT,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    groups.add(client.pid);
    saveGroups();
    let out = "", errOut = "";
    client.stdout.on("data", (d) => (out += d));
    client.stderr.on("data", (d) => (errOut += d));
    client.stdin.on("error", () => {});
    const clientExit = new Promise((r) => client.on("close", r));
    while (!out.includes("\n")) {
      if (Date.now() > deadline - 5000) {
        return { error: `idle client not done within the time bound`, tail: logTail(p, 8) };
      }
      if (client.exitCode !== null) {
        return { error: `idle client exited ${client.exitCode}: ${errOut.trim().slice(-300)}` };
      }
      await sleep(100);
    }
    const status = JSON.parse(out.split("\n")[0]);
    await sleep(2000);
    const after = treeRss(p.child.pid);
    client.stdin.write("status\n");
    const until = Date.now() + 3000;
    while (out.split("\n").filter(Boolean).length < 2 && Date.now() < until) await sleep(50);
    const later = JSON.parse(out.split("\n").filter(Boolean)[1] || "{}");
    client.stdin.end();
    await Promise.race([clientExit, sleep(5000)]);
    return {
      rssMB: after.kb / 1024,
      baselineMB: before.kb / 1024,
      processes: after.processes,
      perProcessKb: after.each,
      held: status.ok,
      failed: status.failed,
      firstError: status.firstError,
      stillOpen: later.open ?? null,
      exited: p.exited ? p.exitInfo : null,
    };
  } finally {
    if (client) {
      killGroupAndTree(client.pid, "SIGKILL");
      groups.delete(client.pid);
      saveGroups();
    }
    await stopProcess(p);
  }
}

function firstLogError(p) {
  try {
    const lines = fs.readFileSync(p.logPath, "utf8").split("\n").filter((l) => /ALERT|error|cannot/i.test(l));
    return (lines[0] || "").replace(/^.*\]\s*/, "").trim().slice(0, 200) || p.exitInfo;
  } catch {
    return p.exitInfo;
  }
}

function fdLimit() {
  try {
    return /Max open files\s+(\d+)/.exec(fs.readFileSync("/proc/self/limits", "utf8"))[1];
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------- reporting helpers

const notes = [];
function note(s) {
  notes.push(s);
  console.error(`bench: note: ${s}`);
}
function die(msg, code = 1) {
  console.error(`bench: ${msg}`);
  process.exit(code);
}
function fail(msg, p) {
  console.error(`bench: ${msg}`);
  if (p) console.error(`  log of ${p.name} (${p.logPath}), last lines:\n${logTail(p)}`);
  process.exit(1);
}

function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Per-round ratios of contender `c` to `base` (results aligned by round: each round
 * measures every contender once), as { median, min, max }, or null without a pair.
 */
function paired(byContender, c, base, key) {
  const a = byContender?.[c] ?? [];
  const b = byContender?.[base] ?? [];
  const ratios = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]?.[key];
    const y = b[i]?.[key];
    if (typeof x === "number" && typeof y === "number" && y > 0 && !a[i].error && !b[i].error) ratios.push(x / y);
  }
  if (ratios.length === 0) return null;
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

function pairedText(r) {
  if (r === null) return "–";
  return r.min === r.max ? fmtNum(r.median, 2) : `${fmtNum(r.median, 2)} [${fmtNum(r.min, 2)}–${fmtNum(r.max, 2)}]`;
}

function fmtNum(x, digits) {
  if (x === null || x === undefined) return "–";
  if (digits === undefined) digits = x >= 1000 ? 0 : x >= 100 ? 1 : 2;
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function rotate(list, k) {
  if (!list.length) return list;
  const s = k % list.length;
  return list.slice(s).concat(list.slice(0, s));
}

function firstLine(cmd, args) {
  return run(cmd, args, 10).then((r) => (r.stdout + r.stderr).trim().split("\n")[0] || "?");
}

async function machineInfo() {
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.+)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))[1].trim();
    } catch {
      return "?";
    }
  })();
  const [haproxy, nginx, wrkV, iperfV, deno, bun] = await Promise.all([
    firstLine(HAPROXY, ["-v"]),
    firstLine(NGINX, ["-v"]),
    firstLine("wrk", ["-v"]),
    firstLine("iperf3", ["-v"]),
    firstLine(path.join(ROOT, "node_modules/.bin/deno"), ["--version"]),
    firstLine(path.join(ROOT, "node_modules/.bin/bun"), ["--version"]),
  ]);
  const vaneBin = fs.existsSync(path.join(ROOT, "dist/vane"))
    ? await firstLine(path.join(ROOT, "dist/vane"), ["--version"])
    : "missing";
  let commit = "?";
  const g = await run("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], 5);
  if (g.code === 0) commit = g.stdout.trim();
  const dirty = await run("git", ["-C", ROOT, "status", "--porcelain", "--", "src"], 5);
  if (dirty.stdout.trim()) commit += " + uncommitted changes in src/";
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    kernel: os.release(),
    haproxy: haproxy.replace(/ - https.*/, ""),
    nginx: nginx.replace(/^nginx version: /, "").replace("/", " "),
    wrk: wrkV.replace(/ Copyright.*/, ""),
    iperf3: iperfV,
    deno,
    bun: `bun ${bun}`,
    node: process.version,
    vaneBin,
    commit,
    fdLimit: fdLimit(),
  };
}

/**
 * One measurement of `test` through `port`, after a 1 s warm-up, with the proxy's CPU
 * time over exactly the counted run: `cpuUsPerReq` (user + system µs per request, of
 * the proxy `p` and its children; null for the backend direct or an iperf3 run), and
 * the two parts apart (`cpuUserUsPerReq`, `cpuSysUsPerReq`).
 */
async function measure(test, port, p, seconds, shared) {
  // the backend speaks HTTP/1.1 only: no direct h2 row
  if (port === null) return { error: "n/a (the backend speaks HTTP/1.1)" };
  if (test.kind === "iperf") return await iperf(port, seconds, shared);
  const load = test.kind === "wrk" ? (s) => wrk(port, test.headers, s) : (s) => h2load(port, s, test.tls === true);
  await load(1); // warm-up
  const pid = p?.child?.pid ?? null;
  const before = pid === null ? null : cpuMicros(pid);
  const res = await load(seconds);
  if (pid === null || !(res.requests > 0)) {
    res.cpuUsPerReq = res.cpuUserUsPerReq = res.cpuSysUsPerReq = null;
    return res;
  }
  const after = cpuMicros(pid);
  res.cpuUserUsPerReq = (after[0] - before[0]) / res.requests;
  res.cpuSysUsPerReq = (after[1] - before[1]) / res.requests;
  res.cpuUsPerReq = res.cpuUserUsPerReq + res.cpuSysUsPerReq;
  return res;
}

// ---------------------------------------------------------------- main

async function main() {
  const o = parseOptions(process.argv.slice(2));
  const cmdline = process.env.BENCH_CMDLINE || `node scripts/bench/bench.mjs ${process.argv.slice(2).join(" ")}`;
  const needsRunners = o.only.filter((c) => c !== "direct");
  const perfTests = o.tests.filter((t) => t !== "idle");
  const idleContenders = o.tests.includes("idle") ? IDLE_CONTENDERS.filter((c) => o.only.includes(c)) : [];
  if (o.only.includes("vane-bin") && !fs.existsSync(path.join(ROOT, "dist/vane"))) {
    die("dist/vane is missing: run without --no-build (or npm run build)");
  }

  const est = o.rounds * (perfTests.length * o.only.length * (o.duration + 2) + idleContenders.length * 15) +
    (perfTests.length ? o.only.length * o.warmup : 0);
  console.error(
    `bench: ${o.rounds} round(s) of ${o.tests.join(", ")} for ${o.only.join(", ")}; ${o.duration}s per run; about ${
      Math.ceil(est / 60)
    } min`,
  );
  console.error(`bench: temporary files and logs in ${TMP}`);

  if (o.pin && (os.availableParallelism?.() ?? os.cpus().length) >= 2) {
    PIN = { proxy: String((os.availableParallelism?.() ?? os.cpus().length) - 1), load: "0" };
  }
  const info = await machineInfo();

  // shared servers: the HTTP backend (two ports) and iperf3
  const [backend, other, iperfPort, backendH2] = await freePorts(4);
  const shared = {
    backend,
    other,
    iperf: iperfPort,
    backendH2,
    idleMaxconn: o.idleConns + 100,
    tls: await benchCert(path.join(TMP, "tls")),
  };
  const backendCfg = renderConfig("backend.conf", path.join(TMP, "backend"), {
    BACKEND_PORT: backend,
    OTHER_PORT: other,
    BACKEND_H2_PORT: backendH2,
  });
  const be = startProcess("backend", NGINX, ["-p", path.join(TMP, "backend"), "-c", backendCfg, "-g", "daemon off;"]);
  const beErr = await waitReady(be, { tcp: [backend, other] }, 15000);
  if (beErr || (await httpStatus(backend, "bench.local")) !== 200) {
    fail(`backend nginx: ${beErr || "does not answer 200"}`, be);
  }
  if (o.tests.includes("bulk")) await ensureIperf(shared);

  // the contenders, each with its three listeners
  const running = new Map(); // name -> { p, ports }
  running.set("direct", {
    p: null,
    ports: { l4: backend, bulk: iperfPort, l7: backend, h2: null, h2h2: backendH2, h2tls: null },
  });
  const startOne = async (name) => {
    const [l4, bulk, l7, h2, h2h2, h2tls] = await freePorts(6);
    const ports = { l4, bulk, l7, h2, h2h2, h2tls };
    // a floor serves only some listeners: null ports are tests it sits out
    const serves = FLOORS[name]?.listeners;
    if (serves) { for (const k of Object.keys(ports)) if (!serves.includes(k)) ports[k] = null; }
    const p = startContender(name, ports, shared);
    // a bare connect to the bulk listener would reach iperf3 as a broken test: only L4 and L7 are polled,
    // and h2 for a floor that serves nothing else
    const tcp = [l4].filter(() => ports.l4).concat([h2].filter(() => ports.h2 && !ports.l4 && !ports.l7));
    const err = await waitReady(p, { tcp, http: [l7].filter(() => ports.l7) }, 90000);
    if (err) fail(`${name} failed to start: ${err}`, p);
    await sleep(200);
    if (p.exited) fail(`${name} ${p.exitInfo} right after starting`, p);
    running.set(name, { p, ports });
    // A proxy in service has long been warm: the JIT runtimes (vane on Bun and Deno)
    // compile their hot paths under load, which takes seconds. Every contender gets the
    // same traffic, split over the wrk tests about to run; haproxy and nginx need none.
    const loadTests = perfTests.filter((t) => TESTS[t].kind === "wrk" || TESTS[t].kind === "h2load");
    for (const t of loadTests) {
      const seconds = Math.max(1, Math.round(o.warmup / loadTests.length));
      const port = ports[TESTS[t].listener];
      if (o.warmup <= 0 || port === null) continue;
      if (TESTS[t].kind === "wrk") await wrk(port, TESTS[t].headers, seconds);
      else await h2load(port, seconds, TESTS[t].tls === true);
    }
  };
  if (perfTests.length) {
    for (const name of needsRunners) {
      const t0 = Date.now();
      await startOne(name);
      console.error(`bench: ${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  }

  const raw = { options: o, cmdline, machine: info, shared, rounds: [] };
  const results = {}; // test -> contender -> [per-round result]
  for (const t of o.tests) results[t] = {};
  let crashed = false;

  for (let r = 0; r < o.rounds; r++) {
    const round = { round: r + 1, runs: [] };
    raw.rounds.push(round);
    for (const t of perfTests) {
      const test = TESTS[t];
      const order = rotate(o.only, r);
      for (const name of order) {
        const entry = running.get(name);
        if (entry.p?.exited) {
          crashed = true;
          note(
            `${name} ${entry.p.exitInfo} before ${t} round ${r + 1}; log tail:\n${
              logTail(entry.p, 10)
            }\n  restarting it`,
          );
          await stopProcess(entry.p);
          await startOne(name);
        }
        const port = running.get(name).ports[test.listener];
        if (port === null && name in FLOORS) {
          (results[t][name] ??= []).push({ skipped: true });
          continue;
        }
        const res = await measure(test, port, running.get(name).p, o.duration, shared);
        const after = running.get(name).p;
        if (after?.exited) {
          crashed = true;
          res.error = (res.error ? res.error + "; " : "") + `${name} ${after.exitInfo} during the run`;
        }
        (results[t][name] ??= []).push(res);
        round.runs.push({ test: t, contender: name, ...res });
        const shown = res.error
          ? `ERROR ${res.error}`
          : test.kind === "wrk"
          ? `${fmtNum(res.rps)} req/s, p99 ${fmtNum(res.p99ms)} ms, ${fmtNum(res.cpuUsPerReq, 1)} µs/req${
            errorText(res) ? ", " + errorText(res) : ""
          }`
          : test.kind === "h2load"
          ? `${fmtNum(res.rps)} req/s, p99 ${fmtNum(res.p99ms, 2)} ms, ${
            fmtNum(res.cpuUsPerReq, 1)
          } µs/req, ${res.failed} failed`
          : `${fmtNum(res.gbps)} Gbit/s`;
        console.error(`bench: round ${r + 1}/${o.rounds} ${t.padEnd(8)} ${name.padEnd(13)} ${shown}`);
      }
    }
    if (idleContenders.length) {
      for (const name of rotate(idleContenders, r)) {
        const res = await idleRun(name, shared, o.idleConns, r);
        (results.idle[name] ??= []).push(res);
        round.runs.push({ test: "idle", contender: name, ...res });
        const shown = res.skipped
          ? `skipped: ${res.skipped}`
          : res.error
          ? `ERROR ${res.error}`
          : `${fmtNum(res.rssMB, 1)} MB over ${res.processes} process(es) (${
            fmtNum(res.baselineMB, 1)
          } MB before), ${res.held}/${o.idleConns} held${
            res.failed ? `, ${res.failed} failed (${res.firstError})` : ""
          }`;
        console.error(`bench: round ${r + 1}/${o.rounds} idle     ${name.padEnd(13)} ${shown}`);
        if (res.error && res.tail) console.error(res.tail);
      }
    }
  }

  // stop everything before writing (the report does not need them)
  for (const { p } of running.values()) if (p) await stopProcess(p, 1000);
  if (iperfServer) await stopProcess(iperfServer, 1000);
  await stopProcess(be, 1000);

  const md = report(o, results, info, cmdline);
  console.log("\n" + md);
  const rawPath = o.out
    ? o.out.replace(/\.md$/, "") + ".json"
    : path.join(os.tmpdir(), `vane-bench-${info.date.replace(/[:.]/g, "-")}.json`);
  raw.notes = notes;
  fs.writeFileSync(rawPath, JSON.stringify(raw, null, 2) + "\n");
  if (o.out) {
    fs.writeFileSync(o.out, md + "\n");
    console.error(`bench: report written to ${o.out}`);
  }
  console.error(`bench: raw per-round numbers in ${rawPath}`);
  if (crashed) die("a contender died during the run (see the notes)", 1);
}

function errorText(res) {
  const parts = [];
  const e = res.errors;
  if (e) { for (const k of ["connect", "read", "write", "timeout"]) if (e[k]) parts.push(`${e[k]} ${k} errors`); }
  if (res.non2xx) parts.push(`${res.non2xx} non-2xx`);
  return parts.join(", ");
}

/** Issue 5's targets, each judged on this run's medians (vane against untuned haproxy). */
const TARGETS = [
  { test: "l4", min: 1.0, what: "L4 keep-alive req/s ≥ 1.0× haproxy" },
  { test: "bulk", min: 1.0, what: "L4 bulk ≥ 1.0× haproxy" },
  { test: "l4-close", min: 0.9, what: "L4 new-connection req/s ≥ 0.9× haproxy" },
  { test: "l7", min: 1.0, what: "L7 keep-alive req/s ≥ 1.0× haproxy" },
  // Issue 21: HTTP/2 from h2load, to HTTP/1.1 and to h2c targets.
  { test: "h2", min: 1.0, what: "h2 → HTTP/1.1 req/s ≥ 1.0× haproxy" },
  { test: "h2-h2", min: 1.0, what: "h2 → h2c req/s ≥ 1.0× haproxy" },
  { test: "h2-tls", min: 1.0, what: "h2 over TLS → HTTP/1.1 req/s ≥ 1.0× haproxy" },
];
const P99_MAX = 1.5;
const IDLE_MAX_MB = 200;

function targets(o, results, med, valueKey) {
  const vanes = ["vane-bun", "vane-deno", "vane-bin"].filter((c) => o.only.includes(c));
  if (!vanes.length || !o.only.includes("haproxy")) return [];
  const lines = ["", "**Targets** (issue 5), per vane contender: met ✓ / missed ✗ (ratio):"];
  const mark = (ok) => (ok ? "✓" : "✗");
  for (const t of TARGETS.filter((x) => o.tests.includes(x.test))) {
    const cells = vanes.map((c) => {
      const r = paired(results[t.test], c, "haproxy", valueKey(t.test));
      if (r === null) return `${c} –`;
      return `${c} ${mark(r.median >= t.min)} ${pairedText(r)}`;
    });
    lines.push(`- ${t.what}: ${cells.join(", ")}`);
  }
  const wrkTests = o.tests.filter((t) => TESTS[t].kind === "wrk" || TESTS[t].kind === "h2load");
  // Issue 25: CPU per request at or below haproxy's, per test (median of per-round ratios).
  for (const t of wrkTests) {
    const cells = vanes.map((c) => {
      const r = paired(results[t], c, "haproxy", "cpuUsPerReq");
      return r === null ? `${c} –` : `${c} ${mark(r.median <= 1.0)} ${pairedText(r)}`;
    });
    lines.push(`- ${TESTS[t].title}: CPU per request ≤ 1.0× haproxy: ${cells.join(", ")}`);
  }
  if (wrkTests.length) {
    const cells = [];
    for (const c of vanes) {
      const ratios = wrkTests.map((t) => {
        const v = med(t, c, "p99ms");
        const h = med(t, "haproxy", "p99ms");
        return v !== null && h ? v / h : null;
      }).filter((r) => r !== null);
      const worst = ratios.length ? Math.max(...ratios) : null;
      cells.push(worst === null ? `${c} –` : `${c} ${mark(worst <= P99_MAX)} worst ${fmtNum(worst, 2)}`);
    }
    lines.push(`- p99 ≤ ${P99_MAX}× haproxy's in every test: ${cells.join(", ")}`);
  }
  if (o.only.includes("vane-bun-log") && o.only.includes("vane-bun")) {
    // Issue 23: what the access log costs, as vane-bun with it on against vane-bun in the same rounds.
    const cells = wrkTests.map((t) => {
      const rps = pairedText(paired(results[t], "vane-bun-log", "vane-bun", "rps"));
      const cpu = pairedText(paired(results[t], "vane-bun-log", "vane-bun", "cpuUsPerReq"));
      return `${TESTS[t].title}: req/s ${rps}×, CPU/req ${cpu}×`;
    });
    lines.push(`- access log on (vane-bun-log ÷ vane-bun, paired): ${cells.join("; ")}`);
  }
  if (o.only.includes("vane-base") && o.only.includes("vane-bun")) {
    // This tree against another commit's (--base), in the same rounds.
    const cells = wrkTests.map((t) => {
      const rps = pairedText(paired(results[t], "vane-bun", "vane-base", "rps"));
      const cpu = pairedText(paired(results[t], "vane-bun", "vane-base", "cpuUsPerReq"));
      return `${TESTS[t].title}: req/s ${rps}×, CPU/req ${cpu}×`;
    });
    lines.push(`- this tree against ${BASE} (vane-bun ÷ vane-base, paired): ${cells.join("; ")}`);
  }
  if (o.only.includes("vane-deno-base") && o.only.includes("vane-deno")) {
    const cells = wrkTests.map((t) => {
      const rps = pairedText(paired(results[t], "vane-deno", "vane-deno-base", "rps"));
      const cpu = pairedText(paired(results[t], "vane-deno", "vane-deno-base", "cpuUsPerReq"));
      return `${TESTS[t].title}: req/s ${rps}×, CPU/req ${cpu}×`;
    });
    lines.push(`- this tree against ${BASE} on Deno (vane-deno ÷ vane-deno-base, paired): ${cells.join("; ")}`);
  }
  if (o.tests.includes("idle")) {
    const cells = vanes.map((c) => {
      const ok = (results.idle?.[c] ?? []).filter((r) => !r.error && !r.skipped);
      if (!ok.length) return `${c} –`;
      const rss = median(ok.map((r) => r.rssMB));
      const held = Math.min(...ok.map((r) => r.held));
      return `${c} ${mark(rss < IDLE_MAX_MB && held >= 10000)} ${fmtNum(rss, 1)} MB`;
    });
    lines.push(
      `- ${o.idleConns} idle proxied connections in < ${IDLE_MAX_MB} MB RSS (met only at 10,000 or more): ${
        cells.join(", ")
      }`,
    );
  }
  return lines;
}

/** `c`'s user and system CPU µs per request, each the median over its rounds. */
function cpuParts(byContender, c) {
  const runs = (byContender?.[c] ?? []).filter((r) => !r.error && !r.skipped);
  const user = median(runs.map((r) => r.cpuUserUsPerReq));
  const sys = median(runs.map((r) => r.cpuSysUsPerReq));
  return `${c} ${fmtNum(user, 1)} + ${fmtNum(sys, 1)}`;
}

/**
 * Each runtime's vane against that runtime's floor in each test a floor serves (issue 25):
 * CPU per request and req/s, each the median of per-round ratios, as ×haproxy is.
 */
function floorRatios(o, results) {
  const out = [];
  for (const [runtime, judged] of Object.entries(FLOOR_JUDGED)) {
    if (!o.only.includes(judged.vane)) continue;
    const lines = [];
    for (const t of o.tests) {
      const floor = Object.keys(FLOORS).find((f) =>
        o.only.includes(f) && FLOORS[f].runtime === runtime && FLOORS[f].listeners.includes(TESTS[t].listener)
      );
      if (!floor || (TESTS[t].kind !== "wrk" && TESTS[t].kind !== "h2load")) continue;
      const cpu = paired(results[t], judged.vane, floor, "cpuUsPerReq");
      const rps = paired(results[t], judged.vane, floor, "rps");
      const mark = cpu === null || judged.cpuMax === null ? "" : cpu.median <= judged.cpuMax ? "✓ " : "✗ ";
      // The floor's own distance to haproxy: the least the runtime's gap to haproxy can be.
      const own = o.only.includes("haproxy")
        ? `; ${floor} ÷ haproxy: CPU/req ${pairedText(paired(results[t], floor, "haproxy", "cpuUsPerReq"))}×`
        : "";
      lines.push(
        `- ${TESTS[t].title}: ${judged.vane} ÷ ${floor}: CPU/req ${mark}${pairedText(cpu)}×, req/s ${
          pairedText(rps)
        }×${own}`,
      );
      const parts = ["haproxy", floor, judged.vane].filter((c) => o.only.includes(c)).map((c) =>
        cpuParts(results[t], c)
      );
      lines.push(`  - user + system CPU µs/req (medians): ${parts.join(", ")}`);
    }
    if (!lines.length) continue;
    const goal = judged.cpuMax === null
      ? "no goal of its own: what the runtime costs by itself"
      : `${judged.goal}: CPU per request ≤ ${judged.cpuMax}× the floor's`;
    out.push("", `**${judged.title}** (${goal}; paired per round):`, ...lines);
  }
  return out;
}

function report(o, results, info, cmdline) {
  const perfTests = o.tests.filter((t) => t !== "idle");
  const lines = [];
  const med = (t, c, key) => median((results[t]?.[c] ?? []).map((r) => r[key]));
  const valueKey = (t) => (TESTS[t].kind === "iperf" ? "gbps" : "rps");

  if (perfTests.length) {
    const head = ["contender"];
    for (const t of perfTests) {
      const T = TESTS[t];
      head.push(`${T.title} ${T.unit}`);
      if (T.kind === "wrk" || T.kind === "h2load") head.push("p99 ms", "CPU µs/req", "×haproxy CPU");
      head.push("×haproxy", "×direct");
    }
    lines.push(`| ${head.join(" | ")} |`);
    lines.push(`|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`);
    const footnotes = [];
    for (const c of o.only) {
      const row = [c];
      for (const t of perfTests) {
        const T = TESTS[t];
        const runs = results[t]?.[c] ?? [];
        if (runs.length && runs.every((r) => r.skipped)) {
          const cols = T.kind === "wrk" || T.kind === "h2load" ? 6 : 3;
          row.push(...Array(cols).fill("–"));
          continue;
        }
        const v = med(t, c, valueKey(t));
        const failures = runs.filter((r) => r.error).length;
        const errs = runs.map(errorText).filter(Boolean);
        let cell = v === null ? "fail" : fmtNum(v, T.kind === "iperf" ? 2 : undefined);
        if (failures && v !== null) cell += ` (${failures} failed)`;
        if (failures) footnotes.push(`${c}, ${T.title}: ${runs.filter((r) => r.error).map((r) => r.error).join("; ")}`);
        if (errs.length) {
          cell += " †";
          footnotes.push(`${c}, ${T.title}: ${errs.join("; ")}`);
        }
        row.push(cell);
        if (T.kind === "wrk" || T.kind === "h2load") {
          row.push(fmtNum(med(t, c, "p99ms"), 2), fmtNum(med(t, c, "cpuUsPerReq"), 1));
          row.push(o.only.includes("haproxy") ? pairedText(paired(results[t], c, "haproxy", "cpuUsPerReq")) : "–");
        }
        const d = o.only.includes("direct") ? med(t, "direct", valueKey(t)) : null;
        row.push(
          o.only.includes("haproxy") ? pairedText(paired(results[t], c, "haproxy", valueKey(t))) : "–",
          v !== null && d ? fmtNum(v / d, 2) : "–",
        );
      }
      lines.push(`| ${row.join(" | ")} |`);
    }
    lines.push("");
    lines.push(
      `Medians of ${o.rounds} round(s) of ${o.duration} s each, after a 1 s warm-up; every contender first served ${o.warmup} s of the same traffic once, right after it started; the order of contenders rotates every round. ` +
        (PIN
          ? `Pinned with taskset: the proxy under test alone on core ${PIN.proxy}, the load generator and the backends on core ${PIN.load}. `
          : "Not pinned (--no-pin). ") +
        `CPU µs/req: the proxy's user + system time (itself and its children, from /proc) over the counted run, per request. ` +
        `×haproxy and ×haproxy CPU: the ratio to haproxy in the same round, then the median of the per-round ratios [lowest–highest]. ` +
        `wrk: \`wrk -t1 -c64 -d${o.duration}s --latency\` (+ \`-H 'Connection: close'\` for new conn/req, + \`-H 'Host: bench.local'\` for L7); ` +
        `bulk: \`iperf3 -t ${o.duration} -O 1\`, Gbit/s received. ×haproxy: against haproxy (untuned) in the same test; ×direct: against wrk/iperf3 straight to the backend. ` +
        `All proxies single-threaded (haproxy nbthread 1, nginx worker_processes 1, vane workers 1); *-tuned: haproxy \`option splice-auto\`, nginx \`proxy_buffer_size 64k\`. ` +
        `wrk, the backend and the proxy share ${info.nproc} cores, which caps any proxy well below direct.`,
    );
    for (const f of footnotes) lines.push(`- † ${f}`);
  }

  if (o.tests.includes("idle")) {
    lines.push("");
    lines.push(
      `**Idle memory**, ${o.idleConns} connections held idle through the L4 listener (each with one request answered first), ` +
        `RSS summed over the process tree 2 s after the last was open; median of ${o.rounds} round(s). ` +
        `vane runs with \`--workers 2\` here (the descriptor limit is ${info.fdLimit} per process and each proxied connection needs 2), nginx with worker_processes 2 (reuseport), haproxy with maxconn ${
          o.idleConns + 100
        }:`,
    );
    for (const c of IDLE_CONTENDERS.filter((x) => o.only.includes(x))) {
      const runs = results.idle?.[c] ?? [];
      if (!runs.length) continue;
      const ok = runs.filter((r) => !r.error && !r.skipped);
      if (!ok.length) {
        const why = runs[0].skipped ? `skipped: ${runs[0].skipped}` : `failed: ${runs.map((r) => r.error).join("; ")}`;
        lines.push(`- ${c}: ${why}`);
        continue;
      }
      const rss = median(ok.map((r) => r.rssMB));
      const base = median(ok.map((r) => r.baselineMB));
      const held = Math.min(...ok.map((r) => r.held));
      const procs = Math.max(...ok.map((r) => r.processes));
      const perConn = held ? ((rss - base) * 1024) / held : null;
      const extra = [];
      if (held < o.idleConns) {
        extra.push(
          `only ${held}/${o.idleConns} connections succeeded (${ok.find((r) => r.failed)?.firstError ?? "?"})`,
        );
      }
      const closed = ok.map((r) => (r.stillOpen === null ? null : r.held - r.stillOpen)).filter((x) => x);
      if (closed.length) extra.push(`${Math.max(...closed)} closed while idle`);
      if (runs.length > ok.length) extra.push(`${runs.length - ok.length} round(s) failed`);
      lines.push(
        `- ${c}: **${fmtNum(rss, 1)} MB** over ${procs} process(es) (${fmtNum(base, 1)} MB before the connections, ≈ ${
          fmtNum(perConn, 1)
        } KB per connection)${extra.length ? "; " + extra.join("; ") : ""}`,
      );
    }
  }

  lines.push(...floorRatios(o, results));
  lines.push(...targets(o, results, med, valueKey));

  for (const n of notes) lines.push(`- note: ${n.split("\n")[0]}`);
  lines.push("");
  lines.push(
    `Date: ${info.date}. Machine: ${info.nproc} CPUs, ${info.cpu}, Linux ${info.kernel}, descriptor limit ${info.fdLimit}. ` +
      `Versions: ${info.haproxy}; ${info.nginx}; ${info.wrk}; ${info.iperf3}; ${info.deno}; ${info.bun}; node ${info.node}; dist/vane: ${info.vaneBin}; vane at ${info.commit}.`,
  );
  lines.push("");
  lines.push(`Command: \`${cmdline}\``);
  return lines.join("\n");
}

main();
