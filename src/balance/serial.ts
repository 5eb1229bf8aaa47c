/**
 * Round robin with one counter per pool (one instance per pool). The counter runs over
 * the live candidates, so a target that goes down shifts the rotation rather than
 * doubling the load on its neighbour. With unequal weights it is nginx's smooth
 * weighted round robin: a target of weight 3 next to one of weight 1 gets A A B A,
 * spread out rather than in a burst.
 */
import type { Candidate, Strategy } from "./strategy.ts";

export class SerialStrategy implements Strategy {
  readonly name = "serial";
  #next = 0;
  /** Smooth WRR: each target's running score, by key. */
  readonly #current = new Map<string, number>();

  pick(candidates: readonly Candidate[]): Candidate {
    if (sameWeights(candidates)) {
      const chosen = candidates[this.#next % candidates.length];
      // Wrap well before precision runs out on long-lived pools.
      this.#next = (this.#next + 1) % 1_000_000_007;
      return chosen;
    }
    let total = 0;
    let best = candidates[0];
    let bestScore = -Infinity;
    for (const c of candidates) {
      const score = (this.#current.get(c.key) ?? 0) + c.weight;
      this.#current.set(c.key, score);
      total += c.weight;
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    this.#current.set(best.key, bestScore - total);
    return best;
  }
}

function sameWeights(candidates: readonly Candidate[]): boolean {
  const w = candidates[0].weight;
  for (const c of candidates) if (c.weight !== w) return false;
  return true;
}
