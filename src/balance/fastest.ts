/**
 * The candidate with the lowest measured latency. Unmeasured ones rank after every
 * measured one; ties go round robin so equal targets share the load.
 */
import type { Candidate, Strategy } from "./strategy.ts";

export class FastestStrategy implements Strategy {
  readonly name = "fastest";
  #tieBreak = 0;

  pick(candidates: readonly Candidate[]): Candidate {
    let best = Infinity;
    for (const c of candidates) best = Math.min(best, c.latencyMs ?? Infinity);
    const tied = candidates.filter((c) => (c.latencyMs ?? Infinity) === best);
    this.#tieBreak = (this.#tieBreak + 1) % 1_000_000_007;
    return tied[this.#tieBreak % tied.length];
  }
}
