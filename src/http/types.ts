/**
 * The types the HTTP engine's files share, and what it asks of its callers: a route to
 * a pool (HttpRoute, UpstreamLease), the flow's decision for a request (Decision), and
 * the context of one client connection (HttpContext). A leaf: engine.ts, exchange.ts,
 * respond.ts and the callers import it, and it imports none of them.
 */
import type { Allowance, HttpConfig, RetryOn, UpstreamProtocol } from "../config/model.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { SocketAddress, TcpConn } from "../runtime/types.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import type { AccessSite } from "../telemetry/access-entry.ts";
import type { HeaderEdit } from "./headers.ts";
import type { PartialHeads } from "./partial-heads.ts";
import type { RequestTarget } from "./request-target.ts";
import type { Failure } from "../errors/mod.ts";
import type { ReplayConn } from "../forward/replay-conn.ts";
import type { RetryControl } from "./retry.ts";

export type { RequestTarget };

export interface UpstreamLease {
  conn: TcpConn;
  key: string;
  reused: boolean;
  /**
   * The target as a Host field names it (`name:port`, without `:80`, as nginx's
   * $proxy_host): sent for an HTTP/1.0 request that came without a Host.
   */
  readonly authority: string;
  /**
   * One more edit for the response this lease answers (a sticky pool's Set-Cookie for a
   * client new to its target), after the flow's. Undefined for every other lease.
   */
  readonly responseEdit?: HeaderEdit;
  /** Counts the response to a request this lease carried (the target's requests and 5xx); absent: not counted. */
  counted?(code: number): void;
}

export interface HttpRoute {
  /** For logs and metrics, e.g. "api.example.com/v1". */
  name: string;
  pool: string;
  /**
   * A connection to a target chosen for this request (idle reuse or new, with vane's
   * retries), for `client` who connected to `local` (a PROXY header may carry both).
   * An idle connection comes back at once, without a promise. `avoid`: the leases whose
   * targets failed this request so far, for a retry on another one. `head`: the request,
   * read only by a pool whose strategy keys on it (hash, sticky).
   */
  acquire(
    peer: { client: SocketAddress; local: SocketAddress },
    avoid?: readonly UpstreamLease[],
    head?: RequestHead,
  ): UpstreamLease | Failure | Promise<UpstreamLease | Failure>;
  /** Gives the connection back: reusable only when the response was fully read and both sides keep alive. */
  release(lease: UpstreamLease, reusable: boolean): void;
  /** The pool's `retry-on`; absent: HAProxy's default, `conn-failure` alone. */
  readonly retryOn?: readonly RetryOn[];
  /** The pool's retries, budget and backoff; absent: one retry, no budget, no wait. */
  readonly retry?: RetryControl;
  /**
   * How the pool's targets are spoken to (`protocol`): `h2c` pools take requests from
   * HTTP/2 clients as HTTP/2 streams (src/http2/forward.ts), not through `acquire`.
   * @default "http1"
   */
  readonly protocol?: UpstreamProtocol;
  /**
   * The lease's target sent a response head with `status` (passive health: a run of
   * failures ends; outlier detection counts 5xx). Per response.
   */
  answered?(lease: UpstreamLease, status: number): void;
  /**
   * The lease's target failed this request before a response head: said nothing within
   * the upstream timeout, or closed. For passive health and the target's `lastError`.
   */
  faulted?(lease: UpstreamLease, kind: "timeout" | "reset", error: string): void;
}

/** What the flow decided for one request. */
export type Decision =
  | {
    kind: "proxy";
    route: HttpRoute;
    request: readonly HeaderEdit[];
    response: readonly HeaderEdit[];
    /** What the rule lets through that vane refuses by default (CONNECT, TRACE, h2c). */
    allow: readonly Allowance[];
  }
  /** vane answers itself (a flow's respond or redirect, or a 404/421/429). */
  | {
    kind: "respond";
    status: number;
    headers: Array<[string, string]>;
    body: string;
    response: readonly HeaderEdit[];
  }
  /** Close the connection without a word. */
  | { kind: "abort" };

export interface HttpContext {
  /** The real client (after a PROXY header), for X-Forwarded-For and logs. */
  client: SocketAddress;
  /** The address the client connected to (vane's side). */
  local: SocketAddress;
  proto: "http" | "https";
  /** Runs the flow for one request (without a promise when nothing in it waits). */
  decide(head: RequestHead, target: RequestTarget): Decision | Promise<Decision>;
  /** No response head within this after the request was sent -> 504. */
  upstreamMs: number;
  /** The listener's limits and path policy (config `http`). */
  http: HttpConfig;
  /** A tunnel (WebSocket, CONNECT) quiet both ways this long is closed. */
  idleMs: number;
  /**
   * The first request's head must be whole this long after the session began; a later
   * one's this long after its first byte. Else 408 (or a silent close if no byte came).
   */
  requestHeadMs: number;
  /** Between requests: no first byte of the next one this long -> a silent close. */
  keepAliveMs: number;
  /** A request or response body that moves no byte this long ends the exchange (408 if it still can). */
  bodyMs: number;
  /** Heads in progress per client address, shared by the connections of this vane (`http.maxPartialHeads`). */
  partialHeads: PartialHeads;
  log: Logger;
  /**
   * What the connection's deadlines (head, keep-alive, body, upstream answer) are
   * measured and timed with: a test's fake clock. Read once per connection.
   * @default SYSTEM_CLOCK
   */
  clock?: Clock;
  /**
   * A reload retired the config this connection started with, or vane is shutting down:
   * the next answer says `Connection: close` and is the connection's last. A connection
   * whose last answer went out before that still takes one more request (its client may
   * have sent it already), waiting at most RETIRE_QUIET_MS after that answer for it.
   */
  retired?(): boolean;
  /**
   * Given once, at the start: the call that applies `retired()` to a wait for the next
   * request already under way (vane makes it on reload and on shutdown).
   */
  onRetire?(retire: () => void): void;
  /**
   * Serves the connection as HTTP/2 from its first byte (the preface, already given
   * back to `client`), each stream through this engine with `ctx`; resolves when the
   * connection is over. Absent: a preface is answered as a malformed HTTP/1.1 head.
   */
  h2?(client: ReplayConn, ctx: HttpContext): Promise<void>;
  /**
   * The connection carries one request and its answer (an HTTP/2 stream): the session
   * ends with that answer instead of waiting for another. @default false
   */
  oneRequest?: boolean;
  /**
   * The access log and what this connection's records say of their listener and TLS;
   * null or absent: off (then requests carry no request id or trace context either).
   */
  access?: { readonly log: AccessLog; readonly site: AccessSite } | null;
  onResponse(info: {
    route: string | null;
    pool: string | null;
    code: number;
    method: string;
    bytesIn: number;
    bytesOut: number;
  }): void;
  /** A retry `retry-on` allowed was not made: the pool's retry budget was spent. */
  onRetrySkipped?(pool: string, reason: "budget"): void;
}

/**
 * A client connection that takes a response's head as fields rather than as HTTP/1.1
 * bytes: an HTTP/2 stream (src/http2/stream.ts), which would otherwise split the bytes
 * the engine wrote straight back into fields. The engine's usual answer (a head, and a
 * body of known length) goes this way; anything else is written as bytes.
 */
export interface HeadTaker {
  /**
   * The final response's head (`head`: its fields as they go on, read at once), then
   * `read` from `from` to `to`: the first of `length` body bytes (the rest follow as
   * writes), in the read that brought them (no view made of it). Resolves as `write`
   * does (WRITTEN at once).
   */
  writeResponse(
    status: number,
    head: HeadFields,
    read: Uint8Array,
    from: number,
    to: number,
    length: number,
  ): Promise<void>;
}

/**
 * A response head's fields as they go on (names in lower case, the connection's own
 * fields already gone), handed over one by one: no array or pair per field. Good only
 * during the call it is passed to (it reads the upstream's buffer).
 */
export interface HeadFields {
  sendTo(sink: FieldSink): void;
}

/** Where fields go one by one (an HPACK block being encoded). */
export interface FieldSink {
  field(name: string, value: string): void;
}
