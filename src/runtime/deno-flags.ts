/**
 * How vane runs on Deno: the flags of every Deno process it is started as, by hand
 * (`npm run vane`, `deno task vane`) or by vane itself (the workers of `--workers N`,
 * the new process of `vane upgrade`: deno.ts's self command). package.json, deno.json
 * and scripts/compile-lib.sh spell them out; test/unit/deno-flags.test.ts holds them to
 * these.
 *
 * Why `--min-semi-space-size=16` (MB): V8 sizes its young generation by the allocation
 * rate it last saw. Idle for half a minute, a proxy allocates nearly nothing, so at its
 * first collection under load again V8 shrinks the young generation from 16 MB to 1.
 * Collections then come every 8-16 ms instead of every 80-90, objects of requests in
 * flight live through two of them and move to the old generation, and it reaches its
 * limit: one or two full mark-compacts in the first seconds of load, main-thread steps
 * of 4 ms each, which is vane's 99th percentile (docs/benchmarks.md, "Deno's p99 after
 * an idle spell"). Kept at 16 MB, the size it has under load anyway, the young generation
 * needs no regrowing. It costs no memory: the resident size at start, under load and
 * idle is the same (V8's memory reducer still gives the young generation back when idle).
 * Only the command line sets it: `node:v8`'s setFlagsFromString comes after the heap is
 * made.
 */

/** V8's flags (`--v8-flags=`, comma-separated). */
export const DENO_V8_FLAGS: readonly string[] = ["--min-semi-space-size=16"];

/** What goes between `deno run` and the main module. */
export const DENO_RUN_FLAGS: readonly string[] = denoRunFlagsWith([]);

/** DENO_RUN_FLAGS with more V8 flags (a bench's tracing, say): Deno takes `--v8-flags` only once. */
export function denoRunFlagsWith(v8Flags: readonly string[]): string[] {
  return ["--allow-all", "--unstable-net", `--v8-flags=${[...DENO_V8_FLAGS, ...v8Flags].join(",")}`];
}

/**
 * The command that starts `main` (a file path) on Deno as vane runs; a compiled
 * executable (`standalone`, its flags given at `deno compile`) is only itself.
 */
export function denoRunCommand(executable: string, main: string, standalone: boolean): string[] {
  return standalone ? [executable] : [executable, "run", ...DENO_RUN_FLAGS, main];
}
