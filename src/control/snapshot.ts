/**
 * What the status endpoint shows, as plain data. The proxy builds a snapshot on each
 * request; the Hono app and the metrics formatter only read it, so they stay free of
 * the proxy's internals.
 */

export interface TargetStatus {
  /**
   * The target as configured, e.g. `10.0.0.1:80`, `web.internal:80`, `node:web:443`; for
   * a target from an SRV record or an etcd key, its `HOST:PORT`.
   */
  target: string;
  /** The SRV name the target came from and its record's priority (absent: written as such). */
  srv?: { name: string; priority: number };
  /** The etcd prefix and key the target was registered under, and its zone if the value named one. */
  etcd?: { prefix: string; key: string; zone?: string };
  /** The address it resolved to last (`IP:PORT`), or null while unresolved. */
  address: string | null;
  healthy: boolean;
  /** Moving average of the connect latency measured by checks and connections. */
  latencyMs: number | null;
  /** Requests (HTTP) or connections (L4) in flight to it now; with `maxconn`, the slots held. */
  activeConnections: number;
  /** The pool's `maxconn`: how many of those it may have at once (absent: no limit). */
  maxconn?: number;
  totalConnections: number;
  /** HTTP responses to requests sent to it, and how many were 5xx (absent: not counted, as for an L4 pool). */
  requests?: number;
  errors?: number;
  lastError: string | null;
  /**
   * Out of service by the pool's outlier detection (absent: not ejected): why (`5xx`
   * or `resets`), until when (ISO time), and which ejection of the target this is.
   */
  ejected?: { reason: string; until: string; count: number };
  /** Ejections so far, by reason (absent: the pool has no `outlier`). */
  ejections?: Record<string, number>;
}

/** A pool's `maxconn` queue (docs/config.md#maxconn). */
export interface QueueStatus {
  /** Requests or connections waiting now. */
  length: number;
  maxqueue: number;
  timeoutMs: number;
  /** Refused since the config was loaded: the queue was full, or the wait timed out. */
  rejected: { full: number; timeout: number };
}

export interface PoolStatus {
  strategy: string;
  targets: TargetStatus[];
  fallback: TargetStatus[];
  /** Absent: the pool has no `maxconn`. */
  queue?: QueueStatus;
}

export interface ListenerStatus {
  listen: string;
  protocol: string;
  /** The address bound, `IP:PORT` (port 0 in the config becomes the real port here). */
  address: string;
  /** The listener's rules as YAML would write them (see docs/config.md). */
  flow: unknown[];
}

/**
 * What `GET /status` answers and `Vane.snapshot()` returns: listeners, pools with each
 * target's health, byte and request counters, workers.
 *
 * @example
 * ```ts
 * import type { StatusSnapshot } from "./mod.ts";
 * const status: StatusSnapshot = vane.snapshot();
 * console.log(status.config.generation, Object.keys(status.pools));
 * ```
 */
export interface StatusSnapshot {
  version: string;
  runtime: string;
  uptimeSeconds: number;
  /** Which config serves new connections: 1 at start, +1 per successful reload. */
  config: { generation: number; loadedAt: string };
  listeners: ListenerStatus[];
  pools: Record<string, PoolStatus>;
  /** Bytes copied: client to target (`upstream`) and target to client (`downstream`). */
  bytes: { upstream: number; downstream: number };
  /** Connections inspected, by what their first bytes were: tls, http, other, invalid. */
  detections: Record<string, number>;
  /** Clients refused before they were served, by why (`deny`: a listener's allow/deny). */
  refused?: Record<string, number>;
  /** HTTP responses sent, by route, pool and status code ("" when no route matched). */
  requests: Array<{ route: string; pool: string; code: number; count: number }>;
  /** Retries `retry-on` allowed and vane did not make, by pool and why (`budget`: the retry budget was spent). */
  retriesSkipped?: Array<{ pool: string; reason: string; count: number }>;
  /** One entry per worker process (one in all unless `workers` is above 1). */
  workers: WorkerStatus[];
  /** Certificates vane obtains by ACME, per name (absent: no `tls.acme`). */
  certificates?: CertificateStatus[];
}

/** One name's ACME certificate: its state, when it expires, the last failure. */
export interface CertificateStatus {
  name: string;
  /** pending: the first certificate is on its way; valid: served; failed: none, the last attempt failed. */
  state: "pending" | "valid" | "failed";
  /** ISO time the current certificate expires; null before the first. */
  notAfter: string | null;
  /** Seconds until then; null before the first. */
  expiresInSeconds: number | null;
  /** The last failure (challenge and the CA's problem), null after a success. */
  lastError: string | null;
}

export interface WorkerStatus {
  /** 0 is the primary. */
  worker: number;
  pid: number;
  /** TCP connections accepted since the worker started, and open now. */
  connections: number;
  open: number;
  /** UDP datagrams received from clients since the worker started (absent: no UDP listener). */
  datagrams?: number;
  /** Set when the worker did not answer in time (its numbers are missing). */
  silent?: boolean;
}
