/**
 * Weighted least connections (HAProxy's `leastconn`, nginx's `least_conn`): the
 * candidate with the fewest in-flight requests (HTTP) or open connections (L4) per unit
 * of weight. Ties rotate, so idle equal targets share the load as round robin would.
 * The counts are this process's own: with --workers N each worker balances what it
 * carries, not what the others do.
 */
import type { Candidate, Strategy } from "./strategy.ts";

export class LeastConnStrategy implements Strategy {
  readonly name: string = "leastconn";
  #next = 0;

  pick(candidates: readonly Candidate[]): Candidate {
    const n = candidates.length;
    const start = this.#next % n;
    // Wrap well before precision runs out on long-lived pools.
    this.#next = (this.#next + 1) % 1_000_000_007;
    let best = candidates[start];
    for (let i = 1; i < n; i++) {
      const c = candidates[(start + i) % n];
      // a/wa < b/wb without dividing.
      if (c.activeConnections * best.weight < best.activeConnections * c.weight) best = c;
    }
    return best;
  }
}
