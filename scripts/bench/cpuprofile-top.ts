/**
 * What a V8 CPU profile (`deno run --cpu-prof`, `bun --cpu-prof`: a .cpuprofile file)
 * spends its samples on: the top functions by self time and by total time (each
 * function counted once per sample however deep it recurses), and the self time per
 * kind of code: vane's src/, the runtime's own JavaScript (Deno's `ext:`, `node:`), native
 * ops and builtins, GC, idle. Samples, not wall time: the profiler samples at a fixed
 * interval, so shares are shares of CPU time while the isolate's thread ran or waited.
 *
 *   deno run --allow-read scripts/bench/cpuprofile-top.ts FILE.cpuprofile [TOP]
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const [file, topText = "25"] = Deno.args;
if (!file) {
  console.error("usage: cpuprofile-top.ts FILE.cpuprofile [TOP]");
  Deno.exit(2);
}
const top = Number(topText);
const profile: Profile = JSON.parse(Deno.readTextFileSync(file));

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

function kind(f: CallFrame): string {
  if (f.functionName.startsWith("(")) return f.functionName; // (garbage collector), (idle), (program)
  if (/\/src\/[^/]+/.test(f.url) && !f.url.includes("node_modules")) return "vane src/";
  if (f.url.startsWith("ext:") || f.url.startsWith("node:")) return "runtime JS (ext:, node:)";
  if (f.url === "") return "native (ops, builtins)";
  return "other JS (" + f.url.replace(/^.*\//, "") + ")";
}

function label(f: CallFrame): string {
  const where = f.url
    ? ` ${f.url.replace(/^.*\/(src|ext:|node:)/, "$1").replace(/^file:\/\//, "")}:${f.lineNumber + 1}`
    : "";
  return `${f.functionName || "(anonymous)"}${where}`;
}

const self = new Map<string, number>();
const total = new Map<string, number>();
const kinds = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
let busy = 0;
for (const id of profile.samples) {
  const f = byId.get(id)!.callFrame;
  add(self, label(f));
  add(kinds, kind(f));
  if (f.functionName !== "(idle)") busy++;
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n)!.callFrame);
    if (!seen.has(l)) {
      seen.add(l);
      add(total, l);
    }
  }
}

const all = profile.samples.length;
const pct = (x: number, of: number) => ((100 * x) / of).toFixed(1).padStart(5) + "%";
const list = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${pct(v, all)} ${pct(v, busy)} of busy  ${k}`);
  }
};
console.log(`${all} samples, ${busy} not idle`);
list("self time by kind of code (share of all, of busy):", kinds, 20);
list(`top ${top} by self time:`, self, top);
list(`top ${top} by total time:`, total, top);
