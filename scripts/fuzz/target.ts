/**
 * What a fuzz target is: a parser with a seed corpus, a generator of inputs, and a
 * check that runs the parser on one input and tests cheap invariants on its answer.
 */
import type { Rng } from "./rng.ts";

export interface Target<I> {
  name: string;
  /** Inputs for this target in a --ci run. */
  ciCount: number;
  /** Fixed seed inputs (generators start from them and splice between them). */
  corpus(): I[];
  /** Input number i of a run, from its own generator (see Rng.forInput). */
  generate(rng: Rng, corpus: readonly I[]): I;
  /**
   * Runs the parser on `input` and checks its answer; returns null, or what invariant
   * broke. An exception thrown from here is the parser's (the checks themselves do not throw).
   */
  check(input: I, rng: Rng): string | null;
  /** The input, printed so it can be rebuilt exactly (hex and JSON for bytes). */
  show(input: I): string;
}

/** Any target, whatever its input type (the runner only passes inputs back to the target). */
// deno-lint-ignore no-explicit-any
export type AnyTarget = Target<any>;

/** What the inputs of the running target came to ("ok", "error: bare LF", ...), for --stats. */
export const outcomes = new Map<string, number>();

export function tally(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

/** Milliseconds of the current input spent in offClock, which the runner leaves out of its time. */
export let offClockMs = 0;

export function resetOffClock(): void {
  offClockMs = 0;
}

/**
 * Runs `fn` off the input's clock: for checks that call code other than the parser under
 * test (the YAML target's print-and-reload round trip), whose cost is not the parser's.
 */
export function offClock<T>(fn: () => T): T {
  const start = performance.now();
  try {
    return fn();
  } finally {
    offClockMs += performance.now() - start;
  }
}
