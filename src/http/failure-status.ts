/**
 * The one place that says which HTTP status a client gets when vane cannot get it an
 * answer from a target (or the client itself is too slow), as Caddy's reverse proxy
 * does in `statusError()`: a failure is named by its kind where it happens, and the
 * status follows from the kind here. Where vane differs from Caddy it says why below.
 * A constant table: the lookup allocates nothing on the request path.
 */

const STATUS = {
  /**
   * No target took the connection: none alive, refused, unreachable, connect timeout,
   * out of local descriptors. Caddy answers 503 when no upstream is available and 502
   * for a failed dial; vane answers 502 for both, as HAProxy and nginx do.
   */
  "unavailable": 502,
  /**
   * Every target of the pool was at its `maxconn` and the request could not wait: the
   * queue was full, or it waited past `queue-timeout`. 503 as HAProxy answers: the
   * targets are fine, only busy, and a client may come back.
   */
  "queue": 503,
  /** The target closed, or a read or write to it failed, before its answer was complete. */
  "upstream-reset": 502,
  /** The target sent no response head within the upstream timeout (Caddy: a timeout error). */
  "upstream-timeout": 504,
  /** The target's answer is not HTTP vane can pass on: a bad head, bad framing, a refused switch. */
  "bad-upstream": 502,
  /** The flow named a pool that has no route (config validation refuses this first). */
  "no-pool": 502,
  /** The client did not finish its request head or body in time (nginx and HAProxy: 408). */
  "request-timeout": 408,
} as const;

/** What went wrong, as far as the status the client gets is concerned. */
export type FailureKind = keyof typeof STATUS;

/**
 * The status vane answers for a failure of this kind.
 *
 * @example statusFor("upstream-timeout") === 504
 */
export function statusFor<K extends FailureKind>(kind: K): (typeof STATUS)[K] {
  return STATUS[kind];
}
