/**
 * One access log record: an HTTP request, or an L4 (TCP) or UDP session. The HTTP
 * engine fills it as the request goes (only when the access log is on: one object per
 * request, no other cost), and AccessLog.record() writes it. A leaf: it imports nothing.
 */

/** What a record is of. */
export type AccessKind = "http" | "tcp" | "udp";

/** Where records of one connection come from: its listener and its TLS (made once per connection). */
export interface AccessSite {
  /** The listener as configured (`http://0.0.0.0:8080`). */
  readonly listener: string;
  /** The client's TLS version where vane terminated it and the runtime tells it, else "tls" or null (plain). */
  readonly tls: string | null;
  /** The name the client sent by SNI, or null. */
  readonly sni: string | null;
}

/** A record being filled; times are `performance.now()` values until `record` turns them into durations. */
export class AccessEntry {
  /** Wall clock (ms since the epoch) when the request or session began. */
  readonly time: number;
  route: string | null = null;
  pool: string | null = null;
  /** The target that answered (`host:port`, a pool entry's key), or null when none was reached. */
  target: string | null = null;
  method: string | null = null;
  host: string | null = null;
  /** The request target as received (path and query). */
  path: string | null = null;
  /** `HTTP/1.1`, `HTTP/1.0`, `HTTP/2`; null for L4 and UDP. */
  protocol: string | null = null;
  /** The status sent to the client; null for L4 and UDP. */
  status: number | null = null;
  /** Bytes from the client (request head and body) and to it. */
  bytesIn = 0;
  bytesOut = 0;
  /** ms from the first byte of the request (or the session's start) to the end. */
  durationMs = 0;
  /** ms to get a connection to the target (0 for a kept-alive one); null when none was tried. */
  connectMs: number | null = null;
  /** ms from the start to the target's response head; null when none came. */
  firstByteMs: number | null = null;
  /** Attempts after the first (a stale kept-alive connection, `retry-on`). */
  retries = 0;
  requestId: string | null = null;
  /** The trace id of the `traceparent` sent on, or null. */
  traceId: string | null = null;
  referer: string | null = null;
  userAgent: string | null = null;
  /** The request came with its own `X-Request-Id`. */
  idGiven = false;
  /** The line of the request's `traceparent` field, or -1. */
  traceField = -1;
  /** When the attempt to get a target connection began (performance.now()); -1: none yet. */
  acquireAt = -1;

  constructor(
    readonly kind: AccessKind,
    readonly site: AccessSite,
    readonly client: string,
    readonly clientPort: number,
    /** performance.now() at the start. */
    readonly startedAt: number,
  ) {
    this.time = Date.now() - (performance.now() - startedAt);
  }
}
