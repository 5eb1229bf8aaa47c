/** Uniform choice among the live candidates. */
import type { Candidate, Strategy } from "./strategy.ts";

export class RandomStrategy implements Strategy {
  readonly name = "random";
  constructor(private readonly random: () => number = Math.random) {}

  pick(candidates: readonly Candidate[]): Candidate {
    return candidates[Math.floor(this.random() * candidates.length) % candidates.length];
  }
}
