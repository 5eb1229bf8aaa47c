/**
 * The one interface every load-balancing strategy implements. A strategy sees only
 * the candidates that are alive and answers with one of them; health filtering and
 * fallback happen before it is asked (src/balance/pool.ts).
 */

export interface Candidate {
  /** Stable key of the target within its pool, as configured. */
  key: string;
  weight: number;
  /** Moving average of measured connect latency, null while unmeasured. */
  latencyMs: number | null;
  activeConnections: number;
}

/**
 * What a keyed strategy reads of each request to pick: the client's address, the path,
 * a header or a cookie (`name`). The pool computes the key only for a strategy that
 * has this, so the others cost nothing per request.
 */
export interface KeyOn {
  on: "client" | "path" | "header" | "cookie";
  name: string | null;
}

export interface Strategy {
  readonly name: string;
  /** What `pick`'s key is made of; absent: the strategy takes no key. */
  readonly keyOn?: KeyOn;
  /**
   * `candidates` is never empty. Returns an element of it. `key`: the request's key
   * (see `keyOn`), absent when the strategy takes none or the request has none.
   */
  pick(candidates: readonly Candidate[], key?: string): Candidate;
}
