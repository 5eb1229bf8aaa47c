/**
 * What the status endpoint shows, as plain data. The proxy builds a snapshot on each
 * request; the Hono app and the metrics formatter only read it, so they stay free of
 * the proxy's internals.
 */

export interface TargetStatus {
  /** The target as configured, e.g. `10.0.0.1:80`, `web.internal:80`, `node:web:443`. */
  target: string;
  /** The address it resolved to last (`IP:PORT`), or null while unresolved. */
  address: string | null;
  healthy: boolean;
  /** Moving average of the connect latency measured by checks and connections. */
  latencyMs: number | null;
  activeConnections: number;
  totalConnections: number;
  lastError: string | null;
}

export interface PoolStatus {
  strategy: string;
  targets: TargetStatus[];
  fallback: TargetStatus[];
}

export interface RouteStatus {
  /** As written, e.g. `*`, `api.example.com/v1`. */
  match: string;
  pool: string;
}

export interface ListenerStatus {
  listen: string;
  protocol: string;
  /** In the order they were given; the most specific match wins, not the first. */
  routes: RouteStatus[];
}

export interface StatusSnapshot {
  version: string;
  runtime: string;
  uptimeSeconds: number;
  listeners: ListenerStatus[];
  pools: Record<string, PoolStatus>;
  /** Bytes copied: client to target (`upstream`) and target to client (`downstream`). */
  bytes: { upstream: number; downstream: number };
  /** Connections inspected, by what their first bytes were: tls, http, other, invalid. */
  detections: Record<string, number>;
  /** HTTP responses sent, by route, pool and status code ("" when no route matched). */
  requests: Array<{ route: string; pool: string; code: number; count: number }>;
}
