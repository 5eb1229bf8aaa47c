/**
 * The fuzz runner: runs each target's generated inputs through its parser, times
 * every input, and counts exceptions, broken invariants and hangs (an input over
 * --hang-ms; a parser stuck for good is caught by the watchdog worker).
 *
 *   bun scripts/fuzz/main.ts [flags]
 *   deno run --allow-all --unstable-net scripts/fuzz/main.ts [flags]
 *
 * Only node: modules and web APIs here, so both runtimes run the same file.
 * Every input is rebuilt from (seed, target, index), so a failure report names all
 * it takes to replay it: --parser NAME --seed S --replay INDEX.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Rng } from "./rng.ts";
import { type AnyTarget, offClockMs, outcomes, resetOffClock } from "./target.ts";
import { TARGETS } from "./targets/index.ts";

const HELP = `usage: main.ts [--parser NAME]... [--count N] [--seconds S] [--seed N] [--ci] [--replay INDEX]

  --parser NAME   a target to run (repeatable; default all): ${TARGETS.map((t) => t.name).join(", ")}
  --count N       inputs per target (default 1000000)
  --seconds S     stop a target after S seconds even if --count is not reached (the summary says so)
  --seed N        seed of the run (default: random, printed); the same seed gives the same inputs
  --ci            a short seeded run for CI: seed 1 unless given, per-target counts sized so both
                  runtimes take about 20 s together, and at most 4.5 s per target (--seconds) unless given
  --replay INDEX  rebuild input INDEX of one --parser and --seed, print it and run it once
  --hang-ms MS    an input taking longer is a hang (default 100)
  --stall-ms MS   the watchdog kills a run stuck on one input this long (default 10000)
  --show N        failures printed in full per target (default 10; all are counted)
  --stats         print what the inputs of each target came to (ok, need-more, each error reason)
`;

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    parser: { type: "string", multiple: true },
    count: { type: "string" },
    seconds: { type: "string" },
    seed: { type: "string" },
    ci: { type: "boolean", default: false },
    replay: { type: "string" },
    "hang-ms": { type: "string", default: "100" },
    "stall-ms": { type: "string", default: "10000" },
    show: { type: "string", default: "10" },
    stats: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function num(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: expected a number >= 0; got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const runtime = process.versions.bun
  ? `bun ${process.versions.bun}`
  : process.versions.deno
  ? `deno ${process.versions.deno}`
  : `node ${process.version}`;
const seed = num("seed", args.seed, args.ci ? 1 : Math.floor(Math.random() * 2 ** 31)) >>> 0;
const hangMs = num("hang-ms", args["hang-ms"], 100);
const stallMs = num("stall-ms", args["stall-ms"], 10000);
const showMax = num("show", args.show, 10);
/** A --ci run is capped at CI_SECONDS per target unless told otherwise, so a slow machine cannot overrun CI. */
const CI_SECONDS = 4;
const seconds = args.seconds === undefined ? (args.ci ? CI_SECONDS : null) : num("seconds", args.seconds, 0);

let targets: AnyTarget[] = [...TARGETS];
if (args.parser) {
  targets = [];
  for (const name of args.parser) {
    const t = TARGETS.find((x) => x.name === name);
    if (!t) {
      console.error(`--parser: unknown ${JSON.stringify(name)}; one of ${TARGETS.map((x) => x.name).join(", ")}`);
      process.exit(2);
    }
    targets.push(t);
  }
}

const countFor = (t: AnyTarget) => Math.floor(num("count", args.count, args.ci ? t.ciCount : 1_000_000));

/** Text of a failure report, cut so one huge input does not bury the rest. */
function clip(text: string, max = 64 * 1024): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} chars; replay for all of it)`;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split("\n").slice(0, 8).join("\n    ");
  return String(e);
}

if (args.replay !== undefined) {
  if (targets.length !== 1) {
    console.error("--replay needs exactly one --parser");
    process.exit(2);
  }
  const t = targets[0];
  const index = num("replay", args.replay, 0);
  const rng = Rng.forInput(seed, t.name, index);
  const input = t.generate(rng, t.corpus());
  console.log(`${t.name} input ${index} (seed ${seed}) on ${runtime}:\n  ${t.show(input)}`);
  resetOffClock();
  const start = performance.now();
  try {
    const msg = t.check(input, rng);
    const ms = performance.now() - start - offClockMs;
    const off = offClockMs > 0 ? ` and ${offClockMs.toFixed(3)} ms off the clock` : "";
    console.log(`${msg === null ? "ok: every invariant holds" : `INVARIANT: ${msg}`} (${ms.toFixed(3)} ms${off})`);
    process.exit(msg === null ? 0 : 1);
  } catch (e) {
    console.log(`EXCEPTION after ${(performance.now() - start).toFixed(3)} ms: ${describeError(e)}`);
    process.exit(1);
  }
}

// The watchdog: [target, index, generation] in shared memory, checked by a worker.
const shared = new SharedArrayBuffer(12);
const slots = new Int32Array(shared);
const watchdog = new Worker(new URL("./watchdog.ts", import.meta.url), { type: "module" });
watchdog.postMessage({ shared, names: TARGETS.map((t) => t.name), seed, stallMs });

interface Row {
  name: string;
  inputs: number;
  count: number;
  exceptions: number;
  invariants: number;
  hangs: number;
  /** Inputs first timed over hangMs but under it when run again (the machine, not the parser). */
  retimed: number;
  slowestMs: number;
  slowestIndex: number;
  seconds: number;
  cut: boolean;
}

function runTarget(t: AnyTarget): Row {
  const count = countFor(t);
  const corpus = t.corpus();
  const targetSlot = TARGETS.indexOf(t);
  const row: Row = {
    name: t.name,
    inputs: 0,
    count,
    exceptions: 0,
    invariants: 0,
    hangs: 0,
    retimed: 0,
    slowestMs: 0,
    slowestIndex: -1,
    seconds: 0,
    cut: false,
  };
  let shown = 0;
  const report = (index: number, kind: string, detail: string, input: unknown) => {
    if (shown++ >= showMax) {
      if (shown === showMax + 1) console.log(`  (${t.name}: further failures are counted, not printed)`);
      return;
    }
    console.log(
      `\nFAIL ${t.name} input ${index} (seed ${seed}, ${runtime}): ${kind}: ${detail}\n` +
        `  ${clip(t.show(input))}\n  replay: --parser ${t.name} --seed ${seed} --replay ${index}`,
    );
  };
  /** Runs input i once: its time, and the error or broken invariant if any. */
  const once = (i: number) => {
    const rng = Rng.forInput(seed, t.name, i);
    const input = t.generate(rng, corpus);
    resetOffClock();
    const start = performance.now();
    let error: unknown = undefined;
    let thrown = false;
    let msg: string | null = null;
    try {
      msg = t.check(input, rng);
    } catch (e) {
      thrown = true;
      error = e;
    }
    return { ms: performance.now() - start - offClockMs, input, thrown, error, msg };
  };

  outcomes.clear();
  Atomics.store(slots, 0, targetSlot);
  const t0 = performance.now();
  let nextProgress = t0 + 60_000;
  for (let i = 0; i < count; i++) {
    if ((i & 255) === 0) {
      const now = performance.now();
      if (seconds !== null && now - t0 >= seconds * 1000) {
        row.cut = true;
        break;
      }
      if (now >= nextProgress) {
        nextProgress += 60_000;
        const rate = Math.round(i / ((now - t0) / 1000));
        console.log(
          `  ${t.name}: ${i} of ${count} inputs, ${rate}/s, ${row.exceptions + row.invariants + row.hangs} failures`,
        );
      }
    }
    Atomics.store(slots, 1, i);
    Atomics.add(slots, 2, 1);
    let r = once(i);
    if (r.ms > hangMs && !r.thrown) {
      // Time it twice more and keep the fastest: a GC pause or a busy machine is not the parser.
      for (let k = 0; k < 2 && r.ms > hangMs; k++) {
        Atomics.add(slots, 2, 1);
        const again = once(i);
        if (again.ms < r.ms) r = again;
      }
      if (r.ms <= hangMs) row.retimed++;
    }
    row.inputs++;
    if (r.ms > row.slowestMs) {
      row.slowestMs = r.ms;
      row.slowestIndex = i;
    }
    if (r.thrown) {
      row.exceptions++;
      report(i, "exception", describeError(r.error), r.input);
    } else if (r.msg !== null) {
      row.invariants++;
      report(i, "invariant", r.msg, r.input);
    }
    if (r.ms > hangMs) {
      row.hangs++;
      report(i, "hang", `${r.ms.toFixed(1)} ms (over ${hangMs} ms on each of 3 runs)`, r.input);
    }
  }
  row.seconds = (performance.now() - t0) / 1000;
  if (args.stats) {
    const top = [...outcomes].sort((a, b) => b[1] - a[1]);
    for (const [what, n] of top.slice(0, 25)) {
      console.log(`    ${(100 * n / row.inputs).toFixed(2).padStart(6)}%  ${what}`);
    }
    if (top.length > 25) console.log(`    ... ${top.length - 25} more outcomes`);
  }
  return row;
}

console.log(
  `fuzz on ${runtime}: seed ${seed}, ${targets.map((t) => `${t.name} ${countFor(t)}`).join(", ")}` +
    (seconds !== null ? `, at most ${seconds} s per target` : "") + `, hang > ${hangMs} ms`,
);
const rows: Row[] = [];
for (const t of targets) {
  const row = runTarget(t);
  rows.push(row);
  console.log(
    `  ${t.name}: ${row.inputs} inputs in ${row.seconds.toFixed(1)} s, ${row.exceptions} exceptions, ` +
      `${row.invariants} invariant failures, ${row.hangs} hangs`,
  );
}
watchdog.terminate();

const header = ["parser", "inputs", "exceptions", "invariant", "hangs", "slowest ms (input)", "inputs/s", "seconds"];
const table = rows.map((r) => [
  r.name,
  String(r.inputs),
  String(r.exceptions),
  String(r.invariants),
  String(r.hangs),
  `${r.slowestMs.toFixed(2)} (#${r.slowestIndex})`,
  String(Math.round(r.inputs / Math.max(r.seconds, 1e-9))),
  r.seconds.toFixed(1),
]);
const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
const line = (cells: string[]) =>
  cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ");
console.log(`\nsummary (${runtime}, seed ${seed}):\n${line(header)}`);
for (const r of table) console.log(line(r));
for (const r of rows) {
  if (r.cut) console.log(`NOTE: ${r.name} was cut short by --seconds ${seconds}: ${r.inputs} of ${r.count} inputs ran`);
  if (r.retimed) {
    console.log(`note: ${r.name}: ${r.retimed} input(s) first timed over ${hangMs} ms ran under it when timed again`);
  }
}
const failed = rows.some((r) => r.exceptions + r.invariants + r.hangs > 0);
console.log(failed ? "FAILED" : "passed: 0 exceptions, 0 invariant failures, 0 hangs");
process.exit(failed ? 1 : 0);
