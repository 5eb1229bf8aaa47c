/** A random choice among the live candidates, in proportion to their weights. */
import type { Candidate, Strategy } from "./strategy.ts";

export class RandomStrategy implements Strategy {
  readonly name = "random";
  readonly #random: () => number;
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(candidates: readonly Candidate[]): Candidate {
    let total = 0;
    for (const c of candidates) total += c.weight;
    let r = this.#random() * total;
    for (const c of candidates) {
      r -= c.weight;
      if (r < 0) return c;
    }
    return candidates[candidates.length - 1];
  }
}
