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

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

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
const { profile } = await post<{ profile: { head: Node } }>("HeapProfiler.stopSampling");

const self = new Map<string, number>();
const withCaller = new Map<string, number>();
const name = (n: Node) =>
  `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/^.*\/(src|scripts)\//, "$1/")}:${
    n.callFrame.lineNumber + 1
  }`;
const walk = (node: Node, parent: Node | null) => {
  if (node.selfSize > 0) {
    const k = name(node);
    self.set(k, (self.get(k) ?? 0) + node.selfSize);
    const kc = `${k}  <-  ${parent ? name(parent) : "-"}`;
    withCaller.set(kc, (withCaller.get(kc) ?? 0) + node.selfSize);
  }
  for (const c of node.children) walk(c, node);
};
walk(profile.head, null);
const print = (title: string, m: Map<string, number>) => {
  const rows = [...m].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, v]) => s + v, 0);
  console.log(`${title}: ${(total / n).toFixed(0)} B per request`);
  for (const [k, v] of rows.slice(0, top)) console.log(`${(v / n).toFixed(0).padStart(6)}  ${k}`);
};
print("by function", self);
print("by function and caller", withCaller);
rt.exit(0);
