/**
 * The one interface every load-balancing strategy implements. A strategy sees only
 * the candidates that are alive and answers with one of them; health filtering and
 * fallback happen before it is asked (src/balance/pick.ts).
 */

export interface Candidate {
  /** Stable key of the target within its pool, as configured. */
  key: string;
  weight: number;
  /** Moving average of measured connect latency, null while unmeasured. */
  latencyMs: number | null;
  activeConnections: number;
}

export interface Strategy {
  readonly name: string;
  /** `candidates` is never empty. Returns an element of it. */
  pick(candidates: readonly Candidate[]): Candidate;
}
