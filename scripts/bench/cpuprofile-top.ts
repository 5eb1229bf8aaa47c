/**
 * What a V8 CPU profile (`deno run --cpu-prof`, `bun --cpu-prof`: a .cpuprofile file)
 * spends its samples on: self time per kind of code (vane's src/, the runtime's own
 * JavaScript in `ext:` and `node:`, native ops and builtins, GC), the top functions by
 * self and by total time (a function counted once per sample however deep it recurses),
 * and total time over the JavaScript samples only: which subtree the JavaScript goes to,
 * the ops' own time left out; last, the top lines by self time (V8's `positionTicks`:
 * the line that ran, even where TurboFan inlined it into a caller). The lines are those of
 * the JavaScript Deno ran, not of the .ts file: its transpiler moves them. Where Deno's
 * emit cache ($DENO_DIR, else ~/.cache/deno: gen/file/PATH.js) has that JavaScript, each
 * line is shown with its text. Shares are of the samples where the thread was not idle.
 * Given REQUESTS (how many the profiled process served), it also gives each kind's time
 * per request: wall time between samples, so on a shared core it counts time the thread
 * was runnable but descheduled too, and reads above the CPU time from /proc.
 *
 *   deno run --allow-read --allow-env scripts/bench/cpuprofile-top.ts FILE.cpuprofile [TOP] [REQUESTS]
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
  /** Samples by line, where this node's function was at the top of the stack. */
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs from the previous sample to this one (the first from the profile's start). */
  timeDeltas: number[];
}

const [file, topText = "25", requestsText] = Deno.args;
if (!file) {
  console.error("usage: cpuprofile-top.ts FILE.cpuprofile [TOP]");
  Deno.exit(2);
}
const top = Number(topText);
const requests = requestsText === undefined ? null : Number(requestsText);
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
/** Total time over samples spent in JavaScript (their leaf is a JS function): where the JS goes, by subtree. */
const totalJs = new Map<string, number>();
const kinds = new Map<string, number>();
/** µs per kind of code: each sample's leaf holds the time until the next sample. */
const kindMicros = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
let busy = 0, js = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  const f = byId.get(id)!.callFrame;
  const k = kind(f);
  kindMicros.set(k, (kindMicros.get(k) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  add(self, label(f));
  add(kinds, k);
  if (f.functionName === "(idle)") continue;
  busy++;
  const leafJs = f.url !== "";
  if (leafJs) js++;
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n)!.callFrame);
    if (seen.has(l) || l === "(root)") continue;
    seen.add(l);
    add(total, l);
    if (leafJs) add(totalJs, l);
  }
}

const all = profile.samples.length;
const pct = (x: number, of: number) => ((100 * x) / of).toFixed(1).padStart(5) + "%";
/** The top `n` of `m`, each at least 0.1% of `of`. */
const list = (title: string, m: Map<string, number>, n: number, of: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    if (v * 1000 >= of) console.log(`${pct(v, of)}  ${k}`);
  }
};
console.log(`${all} samples: ${busy} not idle, ${js} of them in JavaScript (a JS function at the top of the stack)`);
kinds.delete("(idle)");
self.delete("(idle)");
list("self time by kind of code, share of the samples not idle:", kinds, 20, busy);
if (requests !== null) {
  console.log(`\nµs per request (wall time between samples, over ${requests} requests):`);
  kindMicros.delete("(idle)");
  const sum = [...kindMicros.values()].reduce((a, b) => a + b, 0);
  console.log(`${(sum / requests).toFixed(2).padStart(7)}  not idle, in all`);
  for (const [k, us] of [...kindMicros].sort((a, b) => b[1] - a[1])) {
    if (us / requests >= 0.05) console.log(`${(us / requests).toFixed(2).padStart(7)}  ${k}`);
  }
}
list(`top ${top} by self time, share of the samples not idle:`, self, top, busy);
list(`top ${top} by total time, share of the samples not idle:`, total, top, busy);
list(`top ${top} by total time in JavaScript only, share of the JS samples:`, totalJs, top, js);

/** Line `line` (1-based) of what Deno ran for `url`, from its emit cache; "" when not there. */
const emitted = new Map<string, string[] | null>();
function emittedLine(url: string, line: number): string {
  if (!url.startsWith("file:///")) return "";
  if (!emitted.has(url)) {
    try {
      // (Without --allow-env and --allow-read on the cache, the lines go without their text.)
      const dir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
      emitted.set(url, Deno.readTextFileSync(`${dir}/gen/file/${url.slice("file:///".length)}.js`).split("\n"));
    } catch {
      emitted.set(url, null);
    }
  }
  return emitted.get(url)?.[line - 1]?.trim().slice(0, 90) ?? "";
}

const lines = new Map<string, number>();
for (const n of profile.nodes) {
  const f = n.callFrame;
  for (const { line, ticks } of n.positionTicks ?? []) {
    const key = `${label(f).replace(/:\d+$/, "")}:${line} | ${emittedLine(f.url, line)}`;
    lines.set(key, (lines.get(key) ?? 0) + ticks);
  }
}
list(`top ${top} lines by self time (of the JavaScript Deno ran), share of the samples not idle:`, lines, top, busy);
