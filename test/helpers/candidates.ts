/**
 * Candidates for a load-balancing `Strategy` (src/balance/strategy.ts), and a pick
 * loop, so strategy tests state the candidates and the picks they expect, nothing else.
 */
import type { Candidate, Strategy } from "../../src/balance/strategy.ts";

/** A candidate of weight 1 with no connections; `latencyMs` null means unmeasured. */
export function cand(key: string, latencyMs: number | null = null): Candidate {
  return { key, weight: 1, latencyMs, activeConnections: 0 };
}

/** A candidate of the given weight. */
export function weighted(key: string, weight: number): Candidate {
  return { ...cand(key), weight };
}

/** The keys of `n` picks in a row from the same candidates. */
export function picks(s: Strategy, candidates: readonly Candidate[], n: number): string[] {
  return Array.from({ length: n }, () => s.pick(candidates).key);
}

/** A "random" source that returns the given values in turn (to inject into RandomStrategy). */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}
