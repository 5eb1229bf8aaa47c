/**
 * Power of two choices (Mitzenmacher; Envoy's and Finagle's least-request default):
 * two distinct candidates drawn at random in proportion to their weights, and the one
 * with fewer in-flight requests (or connections) per unit of weight is taken. Nearly
 * as even as least connections, without every process herding onto the same
 * least-loaded target, which matters with --workers N (each sees only its own counts).
 */
import type { Candidate, Strategy } from "./strategy.ts";

export class P2cStrategy implements Strategy {
  readonly name = "p2c";
  readonly #random: () => number;
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(candidates: readonly Candidate[]): Candidate {
    if (candidates.length === 1) return candidates[0];
    let total = 0;
    for (const c of candidates) total += c.weight;
    const a = drawn(candidates, this.#random() * total, null);
    const b = drawn(candidates, this.#random() * (total - a.weight), a);
    return b.activeConnections * a.weight < a.activeConnections * b.weight ? b : a;
  }
}

/** The candidate at `r` along the weights, `skip` left out. */
function drawn(candidates: readonly Candidate[], r: number, skip: Candidate | null): Candidate {
  let last = candidates[0];
  for (const c of candidates) {
    if (c === skip) continue;
    last = c;
    r -= c.weight;
    if (r < 0) return c;
  }
  return last;
}
