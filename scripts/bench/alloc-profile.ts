/**
 * Where the engine's per-request allocations come from, on Deno: V8's sampling heap
 * profiler (through node:inspector, counting objects that were collected too) over N
 * requests of the engine harness after a warm-up. Prints bytes per request by the
 * allocating function, and by that function with its caller.
 *
 *   deno run --allow-all --unstable-net scripts/bench/alloc-profile.ts [REQUESTS] [TOP] [--h2 | --h2-h2]
 *
 * --h2, --h2-h2: HTTP/2 clients to the HTTP/1.1 upstream or to the h2c pool (engine-cost.ts).
 */
import { Session } from "node:inspector";
import { protocolFlag, startEngine, treeRoot } from "./engine-harness.ts";
import { type HeapProfileNode, printHeapProfile } from "./heap-profile-report.ts";

// As Bun runs it (writes taken at once, range writes), unless ALLOC_PROFILE_PROMISES is set.
const { runtime: rt, run } = await startEngine(
  treeRoot(new URL("../..", import.meta.url).pathname),
  "",
  protocolFlag(Deno.args).protocol,
  !Deno.env.get("ALLOC_PROFILE_PROMISES"),
);
const args = protocolFlag(rt.args).rest;
const n = Number(args[0] ?? 100_000);
const top = Number(args[1] ?? 40);
const session = new Session();
session.connect();
const post = <T>(method: string, params: object = {}) =>
  new Promise<T>((res, rej) =>
    session.post(method, params, (e: Error | null, r?: object) => (e ? rej(e) : res(r as T)))
  );

await run(100_000);
await post("HeapProfiler.enable");
await post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await run(n);
const { profile } = await post<{ profile: { head: HeapProfileNode } }>("HeapProfiler.stopSampling");

printHeapProfile(profile.head, n, top);
rt.exit(0);
