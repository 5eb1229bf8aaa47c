/**
 * Bytes allocated per L7 request by vane's engine (engine-harness.ts: the real flow,
 * pools and engine between in-memory connections), read from the runtime's own GC log:
 *
 * - Bun: `BUN_JSC_logGC=1`. Each collection that JSC asks for logs the "bytes
 *   allocated this cycle" (the count JSC's eden collections are triggered by).
 * - Deno: V8's `--trace-gc` ("Scavenge 20.2 (25.0) -> 18.2 (27.1) MB"): the heap's
 *   size when a collection starts less its size after the one before, summed.
 *
 * Each round is a child process: 20,000 requests of warm-up, a forced full collection,
 * N requests, another forced full collection. The bytes between the two, over N, are
 * that round's bytes per request: startup and warm-up are not counted, and no cycle is
 * cut in half. With `--diff`, the earlier method is printed beside it: the "bytes
 * allocated this cycle" of JSC's eden requests summed over whole runs of 100,000 and of
 * 300,000 requests, the difference over 200,000 (Bun only).
 *
 *   bun scripts/bench/alloc-per-request.ts [--rounds 5] [--requests 100000] [--runtime bun|deno]
 *        [--root TREE] [--diff] [--h2 | --h2-h2]
 *
 * --h2, --h2-h2: HTTP/2 clients (h2load -c 32 -m 10) to the HTTP/1.1 upstream, or to
 * the h2c pool, as engine-cost.ts runs them.
 *
 * TREE: another checkout of vane to measure (default: this one).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { parseArgs } from "node:util";

const WARMUP = Number(process.env.ALLOC_WARMUP ?? 100_000);
const self = fileURLToPath(import.meta.url);
const here = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/+$/, "");

if (process.argv.includes("--child")) await child();
else main();

/** In the child: warm up, then N requests between two forced full collections. */
async function child(): Promise<void> {
  const { startEngine, treeRoot } = await import("./engine-harness.ts");
  const [root, n, whole, protocol] = process.argv.slice(process.argv.indexOf("--child") + 1);
  const { run, runtime } = await startEngine(treeRoot(root), "", protocol === "h1" ? "h1" : protocol as "h2");
  if (whole === "whole") {
    // The earlier method: the whole run, startup and warm-up included.
    await run(WARMUP);
    await run(Number(n) - WARMUP);
    runtime.exit(0);
  }
  const g = globalThis as unknown as { Bun?: { gc(full: boolean): void }; gc?: () => void };
  const collect = () => (g.Bun ? g.Bun.gc(true) : g.gc!());
  await run(WARMUP);
  collect();
  if (g.Bun) process.stderr.write("@@alloc-start\n");
  await run(Number(n));
  collect();
  if (g.Bun) process.stderr.write("@@alloc-end\n");
  runtime.exit(0);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "5" },
      requests: { type: "string", default: "200000" },
      runtime: { type: "string", default: "bun" },
      root: { type: "string", default: here },
      diff: { type: "boolean", default: false },
      h2: { type: "boolean", default: false },
      "h2-h2": { type: "boolean", default: false },
    },
  });
  const protocol = values["h2-h2"] ? "h2-h2" : values.h2 ? "h2" : "h1";
  const rounds = Number(values.rounds);
  const n = Number(values.requests);
  const rt = values.runtime;
  if (!(rounds >= 1) || !(n >= 1000) || (rt !== "bun" && rt !== "deno")) {
    console.error(
      "usage: alloc-per-request.ts [--rounds R] [--requests N] [--runtime bun|deno] [--root TREE] [--diff] [--h2 | --h2-h2]",
    );
    process.exit(2);
  }
  const perRequest: number[] = [];
  const diffs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const args = [values.root, String(n), "window", protocol];
    const bytes = rt === "bun" ? bunWindow(spawn("bun", args)) : denoWindow(spawn("deno", args));
    perRequest.push(bytes / n);
    if (values.diff && rt === "bun") {
      const small = bunEdenSum(spawn("bun", [values.root, "100000", "whole", protocol]));
      const large = bunEdenSum(spawn("bun", [values.root, "300000", "whole", protocol]));
      diffs.push((large - small) / 200_000);
    }
    console.log(
      `round ${r + 1}: ${(bytes / n).toFixed(0)} B per request` +
        (diffs.length > r ? `; eden sum 300k-100k: ${diffs[r].toFixed(0)} B per request` : ""),
    );
  }
  const what = protocol === "h1" ? "" : ` (${protocol})`;
  console.log(`alloc-per-request${what}: ${rt}, ${values.root}: ${summary(perRequest)} (${n} requests per round)`);
  if (diffs.length > 0) console.log(`  eden sum, 300k less 100k: ${summary(diffs)}`);
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1].toFixed(0)} B per request, range ${s[0].toFixed(0)}-${
    s[s.length - 1].toFixed(0)
  } over ${s.length} rounds`;
}

/** The child's stdout and stderr in one string (the GC log goes to either). */
function spawn(rt: "bun" | "deno", args: string[]): string {
  const bin = `${here}/node_modules/.bin/${rt}`;
  const argv = rt === "bun"
    ? [self, "--child", ...args]
    : ["run", "--allow-all", "--unstable-net", "--v8-flags=--expose-gc,--trace-gc", self, "--child", ...args];
  const out = spawnSync(bin, argv, {
    env: { ...process.env, BUN_JSC_logGC: "1" },
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (out.status !== 0) throw new Error(`${rt} child failed (${out.status}): ${out.stderr.slice(-2000)}`);
  return out.stdout + out.stderr;
}

/**
 * JSC: bytes allocated between the markers. A collection that JSC asked for logs the
 * bytes allocated in its cycle; for one that it did not ask for (the forced one at the
 * end), the heap's size at its start less the size after the one before stands in.
 */
function bunWindow(log: string): number {
  const lines = log.split("\n");
  const from = lines.indexOf("@@alloc-start");
  const to = lines.indexOf("@@alloc-end");
  if (from < 0 || to < from) throw new Error("alloc-per-request: no markers in the child's output");
  let lastEnd = -1;
  let requested = -1;
  let total = 0;
  for (let i = 0; i < to; i++) {
    const asked = lines[i].match(/bytes allocated this cycle: (\d+)/);
    if (asked) requested = Number(asked[1]);
    const start = lines[i].match(/START M (\d+)kb/);
    if (start && i > from) total += requested >= 0 ? requested : (Number(start[1]) - lastEnd) * 1024;
    if (start) requested = -1;
    const end = lines[i].match(/=> (\d+)kb, p=/);
    if (end) lastEnd = Number(end[1]);
  }
  return total;
}

/** JSC: the earlier method's sum of "bytes allocated this cycle" over a whole run. */
function bunEdenSum(log: string): number {
  let total = 0;
  for (const m of log.matchAll(/bytes allocated this cycle: (\d+)/g)) total += Number(m[1]);
  return total;
}

/** V8: bytes allocated between the last two forced collections ("testing"). */
function denoWindow(log: string): number {
  const gcs = [
    ...log.matchAll(
      /: (?:Scavenge|Mark-Compact|Minor Mark-Sweep|Incremental Mark-Compact|Mark-Compact \(reduce\))[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB.*?(testing)?;/g,
    ),
  ]
    .map((m) => ({ before: Number(m[1]), after: Number(m[2]), forced: m[3] !== undefined }));
  const forced = gcs.flatMap((g, i) => (g.forced ? [i] : []));
  if (forced.length < 2) throw new Error("alloc-per-request: fewer than two forced collections in the V8 log");
  const [a, b] = forced.slice(-2);
  let total = 0;
  for (let i = a + 1; i <= b; i++) total += gcs[i].before - gcs[i - 1].after;
  return total * 1024 * 1024;
}
