/**
 * The L7 engine's own CPU cost per request, without sockets (see engine-harness.ts):
 * the JavaScript work per request on this runtime, free of the kernel and of the load
 * generator's noise, for comparing changes to the engine (see scripts/bench/README.md).
 *
 *   bun scripts/bench/engine-cost.ts [REQUESTS]
 *   deno run --allow-all --unstable-net scripts/bench/engine-cost.ts [REQUESTS]
 */
import { startEngine, treeRoot } from "./engine-harness.ts";

const WARMUP = 20_000;

const { runtime: rt, run } = await startEngine(treeRoot(new URL("../..", import.meta.url).pathname));
const total = Number(rt.args[0] ?? 300_000);
if (!Number.isInteger(total) || total <= WARMUP) {
  console.error(`engine-cost: REQUESTS must be an integer above ${WARMUP}`);
  rt.exit(2);
}
await run(WARMUP);
const ms = await run(total - WARMUP);
const perRequest = ms * 1000 / (total - WARMUP);
console.log(
  `engine-cost: ${rt.name} ${rt.version}: ${perRequest.toFixed(2)} µs per request (${
    total - WARMUP
  } measured after ${WARMUP})`,
);
rt.exit(0);
