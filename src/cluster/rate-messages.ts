/**
 * What the primary and its workers say about rate limits (cluster/messages.ts carries
 * them): a worker's wants and unused tokens of one turn of its event loop in one
 * message, the primary's grants for them in one answer. A leaf: imports nothing.
 */

/** A rate limit named as in every process: "<primary's generation>/<where>" (flow/rate-store.ts). */
export type LimitId = string;

/** One worker's turn: per limit, its rate and burst (the primary makes the buckets on first use) and keys. */
export interface RateAsk {
  limits: Record<LimitId, [rate: number, burst: number]>;
  /** Tokens wanted: up to n for the key. */
  want: Array<[limit: LimitId, key: string, n: number]>;
  /** Tokens leased and not used: back into the key's bucket. */
  back: Array<[limit: LimitId, key: string, n: number]>;
}

/** The primary's answer: how many of the tokens wanted each key got (fewer than asked: its bucket is dry). */
export type RateGrants = Array<[limit: LimitId, key: string, granted: number]>;
