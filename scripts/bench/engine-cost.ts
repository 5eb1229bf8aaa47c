/**
 * The L7 engine's own CPU cost per request, without sockets (see engine-harness.ts):
 * the JavaScript work per request on this runtime, free of the kernel and of the load
 * generator's noise, for comparing changes to the engine (see scripts/bench/README.md).
 *
 *   bun scripts/bench/engine-cost.ts [REQUESTS] [--h2 | --h2-h2]
 *   deno run --allow-all --unstable-net scripts/bench/engine-cost.ts [REQUESTS] [--h2 | --h2-h2]
 *
 * --h2: 32 HTTP/2 clients with 10 streams each (h2load -c 32 -m 10) to the same HTTP/1.1
 * upstream; --h2-h2: the same clients to an HTTP/2 upstream (a pool of protocol h2c).
 */
import process from "node:process";
import { protocolFlag, startEngine, treeRoot } from "./engine-harness.ts";

const WARMUP = 20_000;

const { protocol } = protocolFlag(process.argv);
const { runtime: rt, run } = await startEngine(
  treeRoot(new URL("../..", import.meta.url).pathname),
  "",
  protocol,
);
const total = Number(protocolFlag(rt.args).rest[0] ?? 300_000);
if (!Number.isInteger(total) || total <= WARMUP) {
  console.error(`engine-cost: REQUESTS must be an integer above ${WARMUP}`);
  rt.exit(2);
}
await run(WARMUP);
const ms = await run(total - WARMUP);
const perRequest = ms * 1000 / (total - WARMUP);
console.log(
  `engine-cost${protocol === "h1" ? "" : ` (${protocol})`}: ${rt.name} ${rt.version}: ${
    perRequest.toFixed(2)
  } µs per request (${total - WARMUP} measured after ${WARMUP})`,
);
rt.exit(0);
