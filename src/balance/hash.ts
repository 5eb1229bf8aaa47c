/**
 * Consistent hashing on a request key (client address, path, a header or a cookie):
 * weighted rendezvous hashing (Thaler and Ravishankar's highest random weight; the
 * weighted form scores each target -w / ln(u)), so when a target leaves only its keys
 * move and when one joins it takes only its share. With bounded loads (Mirrokni et
 * al., "Consistent Hashing with Bounded Loads", as HAProxy's hash-balance-factor):
 * a target already carrying `bound` × its weighted share of the in-flight load plus
 * the new request is passed over for the next in the key's ranking. A request with no
 * key (no such header or cookie) is spread round robin. No ring to rebuild: the score
 * is computed over the live candidates at each pick (a few multiplications each).
 */
import { fmix32, fnv1a, KeyHashes } from "./hash-util.ts";
import type { Candidate, KeyOn, Strategy } from "./strategy.ts";

export class HashStrategy implements Strategy {
  readonly name = "hash";
  readonly #hashes = new KeyHashes();
  #keyless = 0;

  constructor(readonly keyOn: KeyOn, readonly bound: number) {}

  pick(candidates: readonly Candidate[], key?: string): Candidate {
    if (candidates.length === 1) return candidates[0];
    let h: number;
    if (key === undefined) {
      h = fmix32(this.#keyless);
      this.#keyless = (this.#keyless + 1) % 1_000_000_007;
    } else h = fnv1a(key);
    let load = 0;
    let weights = 0;
    for (const c of candidates) {
      load += c.activeConnections;
      weights += c.weight;
    }
    // Each target's capacity: ceil(bound × (load + 1) × its share of the weight). The
    // capacities add up to at least load + 1, so some target is always under its own.
    const perWeight = this.bound * (load + 1) / weights;
    let best = candidates[0];
    let bestScore = -1;
    for (const c of candidates) {
      if (c.activeConnections >= Math.ceil(perWeight * c.weight)) continue;
      const score = rendezvous(h, this.#hashes.of(c.key), c.weight);
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }
}

/** Weighted rendezvous score of key hash `h` on target hash `t`: -w / ln(u), u uniform in (0, 1). */
export function rendezvous(h: number, t: number, weight: number): number {
  const u = (fmix32((h ^ t) + Math.imul(t, 0x9e3779b1)) + 0.5) / 4294967296;
  return -weight / Math.log(u);
}
