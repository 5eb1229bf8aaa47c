/**
 * Bytes allocated per L7 request by vane on Bun with real sockets: `bun src/main.ts run`
 * with the bench's L7 listener (Host routing to an nginx answering "ok\n"), loaded by
 * wrk (1 thread, 64 connections, `Host: bench.local`, as scripts/bench/bench.mjs runs
 * the L7 test) for a fixed number of requests per round (a wrk script stops there).
 * JSC's GC log (`BUN_JSC_logGC=1`): each collection logged during a round, the heap's
 * size at its start less the size after the one before, summed over the round's
 * requests. (Bun starts collections of its own too, which log no "bytes allocated this
 * cycle", so that count alone misses some.) Cycles are cut at a round's two ends (about
 * ±1 cycle, up to 14 MB, per round: ±2% at 200,000 requests of 3 KB).
 * Counts what the engine harness (alloc-per-request.ts) does not: Bun's socket reads
 * and writes, the event loop's side.
 *
 *   bun scripts/bench/alloc-wrk.ts [--rounds 5] [--requests 200000] [--root TREE] [--floor]
 *
 * `--floor` measures Bun's L7 floor (bun-min-http.ts) the same way instead of vane: what
 * a Bun proxy that does nothing but relay allocates per request with these sockets.
 *
 * Needs nginx and wrk on the PATH; takes three free ports on 127.0.0.1.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { backendConf, vaneL7Yaml } from "./l7-fixture.ts";

const [L7_PORT, BACKEND_PORT, OTHER_PORT] = await freePorts(3);
const here = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/+$/, "");

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "200000" },
    root: { type: "string", default: here },
    floor: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);

const tmp = mkdtempSync(join(tmpdir(), "vane-alloc-wrk-"));
writeFileSync(join(tmp, "backend.conf"), backendConf(tmp, BACKEND_PORT, OTHER_PORT));
writeFileSync(join(tmp, "vane.yaml"), vaneL7Yaml(L7_PORT, BACKEND_PORT, OTHER_PORT));
// wrk stops sending once this many answers came (its one thread counts them).
writeFileSync(
  join(tmp, "stop.lua"),
  `local n = 0
local limit = tonumber(os.getenv("ALLOC_WRK_REQUESTS"))
response = function(status, headers, body)
  n = n + 1
  if n >= limit then wrk.thread:stop() end
end
`,
);

const children: ChildProcess[] = [];
const stop = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
};
process.on("exit", stop);

children.push(spawn("nginx", ["-p", tmp, "-c", join(tmp, "backend.conf"), "-g", "daemon off;"], { stdio: "ignore" }));
const log = join(tmp, "vane.stderr");
const err = openSync(log, "w");
const proxyArgs = values.floor
  ? [`${here}/scripts/bench/bun-min-http.ts`, String(L7_PORT), String(BACKEND_PORT), String(OTHER_PORT)]
  : [`${values.root}/src/main.ts`, "run", join(tmp, "vane.yaml")];
children.push(
  spawn(`${here}/node_modules/.bin/bun`, proxyArgs, {
    stdio: ["ignore", "ignore", err],
    env: { ...process.env, BUN_JSC_logGC: "1" },
  }),
);
await waitFor(L7_PORT);
await waitFor(BACKEND_PORT);

/** wrk with `requests` answers (or for `seconds` when null); returns the requests it counted. */
function wrk(count: number | null, seconds: number): number {
  const args = ["-t1", "-c64", `-d${seconds}s`, "-H", "Host: bench.local"];
  if (count !== null) args.push("-s", join(tmp, "stop.lua"));
  args.push(`http://127.0.0.1:${L7_PORT}/`);
  const r = spawnSync("wrk", args, { encoding: "utf8", env: { ...process.env, ALLOC_WRK_REQUESTS: String(count) } });
  const m = r.stdout.match(/(\d+) requests in/);
  if (r.status !== 0 || !m) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  if (/Non-2xx/.test(r.stdout)) throw new Error(`wrk saw errors: ${r.stdout}`);
  return Number(m[1]);
}

// Warm-up. wrk's stop() ends the requests, not the run: each round's run lasts
// twice the time its requests should take at the warm-up's rate, and idles after.
const rate = wrk(null, 5) / 5;
const seconds = Math.ceil((2 * requests) / rate) + 2;
const perRequest: number[] = [];
for (let r = 0; r < rounds; r++) {
  const from = statSync(log).size;
  const started = Date.now();
  const done = wrk(requests, seconds);
  if (process.env.ALLOC_WRK_DEBUG) console.error(`round took ${Date.now() - started} ms`);
  const text = readFileSync(log, "latin1").slice(from);
  let bytes = 0;
  let cycles = 0;
  let lastEnd = -1;
  for (const m of text.matchAll(/START M (\d+)kb|=> (\d+)kb, p=/g)) {
    if (m[1] !== undefined && lastEnd >= 0) {
      bytes += (Number(m[1]) - lastEnd) * 1024;
      cycles++;
    }
    if (m[2] !== undefined) lastEnd = Number(m[2]);
  }
  perRequest.push(bytes / done);
  console.log(`round ${r + 1}: ${(bytes / done).toFixed(0)} B per request (${done} requests, ${cycles} collections)`);
}
const s = [...perRequest].sort((a, b) => a - b);
console.log(
  `alloc-wrk: bun, ${values.floor ? "bun-min-http.ts" : values.root}: median ${
    s[s.length >> 1].toFixed(0)
  } B per request, range ${s[0].toFixed(0)}-${
    s[s.length - 1].toFixed(0)
  } over ${s.length} rounds (${requests} requests per round)`,
);
stop();
process.exit(0);

/** `n` ports nothing listens on now (the kernel's picks). */
async function freePorts(n: number): Promise<number[]> {
  const { createServer } = await import("node:net");
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import("node:net").Server>((resolve) => {
        const s = createServer();
        s.listen(0, "127.0.0.1", () => resolve(s));
      })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitFor(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0;
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}
