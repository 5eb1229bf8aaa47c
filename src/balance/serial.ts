/**
 * Round robin with one counter per pool (one instance per pool). The counter runs over
 * the live candidates, so a target that goes down shifts the rotation rather than
 * doubling the load on its neighbour.
 */
import type { Candidate, Strategy } from "./strategy.ts";

export class SerialStrategy implements Strategy {
  readonly name = "serial";
  #next = 0;

  pick(candidates: readonly Candidate[]): Candidate {
    const chosen = candidates[this.#next % candidates.length];
    // Wrap well before precision runs out on long-lived pools.
    this.#next = (this.#next + 1) % 1_000_000_007;
    return chosen;
  }
}
