/**
 * The L7 engine of another tree (BASE: a checkout of another commit, e.g. made with
 * `git worktree add /tmp/base HEAD~1`) against this one, in one process: each serves
 * its own 64 in-memory clients (see engine-harness.ts), in alternating slices of
 * 20,000 requests, so that the machine's drift, which moves runs minutes apart by
 * 10-50% here, hits both alike. Each slice is timed by the process's CPU time (user +
 * system), which other processes on the machine disturb far less than the wall clock.
 * Prints the median of the per-slice ratios.
 *
 *   bun scripts/bench/engine-ab.ts BASE [SLICES]
 *   ENGINE_AB_EXTRA='access-log: /tmp/a.log' bun scripts/bench/engine-ab.ts BASE   (this tree with it)
 *   ENGINE_AB_BASE_EXTRA=... (the same for BASE's config: both with the access log, say)
 *   deno run --allow-all --unstable-net --config deno.json scripts/bench/engine-ab.ts BASE [SLICES]
 *   bun scripts/bench/engine-ab.ts BASE [SLICES] --h2   (HTTP/2 clients; --h2-h2: to an h2c pool; as engine-cost.ts)
 *
 * BASE needs its dependencies (a `node_modules`, or a symlink to this tree's).
 */
import process from "node:process";
import { type EngineRun, protocolFlag, startEngine, treeRoot } from "./engine-harness.ts";

const SLICE = 20_000;
const WARMUP_SLICES = 3;

const { protocol } = protocolFlag(process.argv);
// ENGINE_AB_EXTRA: YAML lines for this tree's config only (e.g. `access-log: /tmp/a.log`).
const here = await startEngine(
  treeRoot(new URL("../..", import.meta.url).pathname),
  process.env.ENGINE_AB_EXTRA ?? "",
  protocol,
);
const rt = here.runtime;
const [baseDir, slicesArg] = protocolFlag(rt.args).rest;
const slices = Number(slicesArg ?? 16);
if (!baseDir || !Number.isInteger(slices) || slices < 2) {
  console.error("usage: engine-ab.ts BASE [SLICES]  (BASE: another checkout of vane; SLICES: 2 or more, default 16)");
  rt.exit(2);
}
const base = await startEngine(treeRoot(baseDir), process.env.ENGINE_AB_BASE_EXTRA ?? "", protocol);

const runs: EngineRun[] = [base.run, here.run];
for (let w = 0; w < WARMUP_SLICES; w++) for (const run of runs) await run(SLICE);
const perRequest: [number[], number[]] = [[], []];
for (let s = 0; s < slices; s++) {
  // Who goes first alternates too.
  // The process's CPU time, not the wall clock: other work on this shared machine then
  // costs a slice only what it does to caches, not the time it holds the core.
  for (const i of s % 2 === 0 ? [0, 1] : [1, 0]) {
    const before = process.cpuUsage();
    await runs[i](SLICE);
    const used = process.cpuUsage(before);
    perRequest[i].push((used.user + used.system) / SLICE);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ratios = perRequest[1].map((t, i) => t / perRequest[0][i]);
console.log(
  `engine-ab: ${rt.name} ${rt.version}: base ${median(perRequest[0]).toFixed(2)} µs, this tree ` + // CPU µs
    `${median(perRequest[1]).toFixed(2)} µs per request; this/base ${median(ratios).toFixed(3)} ` +
    `(median of ${slices} slice pairs of ${SLICE}; slices ranged ${Math.min(...ratios).toFixed(2)}-${
      Math.max(...ratios).toFixed(2)
    })`,
);
rt.exit(0);
