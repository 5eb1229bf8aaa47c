/**
 * The L7 engine: an HTTP/1.1 reverse proxy on one client connection. It reads a
 * request head, picks a route, sends the request upstream with its body streamed
 * through, streams the response back, and loops while both sides keep alive.
 *
 * Bodies are never buffered: each chunk read is written (and the write awaited,
 * which is the backpressure) before the next read. Bytes read past the end of a
 * head or body are given back to the connection (ReplayConn.unread) so the next
 * message starts with them, which is how pipelined requests work.
 */
import {
  type HeadResult,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "../detect/http-head.ts";
import { asReplay, type ReplayConn } from "../forward/replay-conn.ts";
import { relay } from "../forward/tcp.ts";
import type { TcpConn } from "../runtime/types.ts";
import { WRITTEN } from "../runtime/written.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type BodyFraming, ChunkedDecoder, isUpgrade, keepAlive, requestFraming, responseFraming } from "./framing.ts";
import {
  applyEdits,
  CONTINUE_100,
  customResponse,
  type FieldPlan,
  type ForwardInfo,
  headBytes,
  type HeaderEdit,
  plannedHeaders,
  requestPlan,
  responsePlan,
  serializeHead,
  vaneResponse,
  writtenAnew,
} from "./headers.ts";
import { concatBytes } from "../detect/bytes.ts";
import { F_EXPECT } from "../detect/http-fields.ts";

export interface UpstreamLease {
  conn: TcpConn;
  key: string;
  reused: boolean;
  /**
   * The target as a Host field names it (`name:port`, without `:80`, as nginx's
   * $proxy_host): sent for an HTTP/1.0 request that came without a Host.
   */
  readonly authority: string;
}

export interface HttpRoute {
  /** For logs and metrics, e.g. "api.example.com/v1". */
  name: string;
  pool: string;
  /**
   * A connection to a target chosen for this request (idle reuse or new, with vane's
   * retries), for `client` who connected to `local` (a PROXY header may carry both).
   * An idle connection comes back at once, without a promise.
   */
  acquire(
    peer: { client: Endpoint; local: Endpoint },
  ): UpstreamLease | { error: string } | Promise<UpstreamLease | { error: string }>;
  /** Gives the connection back: reusable only when the response was fully read and both sides keep alive. */
  release(lease: UpstreamLease, reusable: boolean): void;
}

export interface Endpoint {
  address: string;
  port: number;
}

/** What the flow decided for one request. */
export type Decision =
  | { kind: "proxy"; route: HttpRoute; request: readonly HeaderEdit[]; response: readonly HeaderEdit[] }
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

/** Where a request goes, as the flow reads it: Host (or the absolute target's), path and query. */
export interface RequestTarget {
  host: string | null;
  path: string;
  query: string;
}

export interface HttpContext {
  /** The real client (after a PROXY header), for X-Forwarded-For and logs. */
  client: Endpoint;
  /** The address the client connected to (vane's side). */
  local: Endpoint;
  proto: "http" | "https";
  /** Runs the flow for one request (without a promise when nothing in it waits). */
  decide(head: RequestHead, target: RequestTarget): Decision | Promise<Decision>;
  /** No response head within this after the request was sent -> 504. */
  upstreamTimeoutMs: number;
  /** Client keep-alive idle timeout between requests (and WebSocket idle timeout). */
  idleMs: number;
  log: Logger;
  /**
   * A reload retired the config this connection started with: finish the request in
   * flight, then close (as nginx's old workers do), so the next one meets the new config.
   */
  retired?(): boolean;
  /** Told when the connection waits for its next request (true) and when one arrives. */
  idle?(waiting: boolean): void;
  onResponse(info: {
    route: string | null;
    pool: string | null;
    code: number;
    method: string;
    bytesIn: number;
    bytesOut: number;
  }): void;
}

/** RFC 9110 §9.2.2: safe to send twice. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Byte counts of one exchange; mutated in place on the hot path, so no per-chunk objects. */
interface Counts {
  in: number;
  out: number;
}

/** One request on its way: its byte counts, and how vane reports and answers it. */
class Exchange implements Counts {
  in: number;
  out = 0;

  constructor(
    readonly ctx: HttpContext,
    readonly client: ReplayConn,
    readonly method: string,
    /** The client's word: it may send another request after this one. */
    readonly keepAlive: boolean,
    bytesIn: number,
  ) {
    this.in = bytesIn;
  }

  report(route: HttpRoute | null, code: number): void {
    this.ctx.onResponse({
      route: route?.name ?? null,
      pool: route?.pool ?? null,
      code,
      method: this.method,
      bytesIn: this.in,
      bytesOut: this.out,
    });
  }

  /** vane's own answer. The connection can only go on when the request body is behind us. */
  async answer(route: HttpRoute | null, code: number, text: string, bodyConsumed: boolean): Promise<boolean> {
    const close = !bodyConsumed || !this.keepAlive;
    const bytes = vaneResponse(code, text, close);
    this.out += bytes.length;
    const ok = await send(this.client, bytes);
    this.report(route, code);
    return ok && !close;
  }

  /** The upstream failed before a response began: 502 or 504, and the connection is not reused. */
  failed(route: HttpRoute, lease: UpstreamLease, code: 502 | 504, why: string, bodyConsumed: boolean): Promise<boolean> {
    route.release(lease, false);
    this.ctx.log.warn(code === 504 ? "upstream timeout" : "upstream failed", { route: route.name, error: why });
    return this.answer(route, code, code === 504 ? "upstream timeout" : "bad gateway", bodyConsumed);
  }
}

/**
 * How a body copy ended. "done-extra": complete, and more bytes followed it. "src-*"
 * is the side read from, "dst-error" the side written to.
 */
type CopyEnd = "done" | "done-extra" | "src-eof" | "src-error" | "dst-error" | "bad-chunk";

/**
 * Serves requests on one client connection until it closes, errs, times out or
 * asks to close. Never throws; the caller closes `conn`.
 */
export async function serveHttp1(conn: TcpConn, ctx: HttpContext): Promise<void> {
  const client = asReplay(conn);
  // Who is asking, for every upstream lease of this connection.
  const peer = { client: ctx.client, local: ctx.local };
  // What the upstream is told of the client, for the usual request (no upgrade, no Expect).
  const forward: ForwardInfo = { clientAddress: ctx.client.address, proto: ctx.proto, upgrade: false, dropExpect: false };
  try {
    for (let first = true; await serveOne(client, ctx, peer, forward, first); first = false) {
      if (ctx.retired?.()) break;
    }
  } catch (err) {
    // Only a bug gets here: every I/O failure is handled where it happens.
    ctx.log.error("http engine failure", { client: ctx.client.address, error: String(err) });
  } finally {
    // The caller closes `conn` too; closing the wrapper here also frees its deadline timer.
    client.close();
  }
}

/** One request/response exchange. Returns whether the client connection may carry another. */
async function serveOne(
  client: ReplayConn,
  ctx: HttpContext,
  peer: { client: Endpoint; local: Endpoint },
  forward: ForwardInfo,
  first: boolean,
): Promise<boolean> {
  if (!first) ctx.idle?.(true);
  client.closeAt(performance.now() + ctx.idleMs);
  let chunk: Uint8Array | null | undefined;
  try {
    chunk = await client.read();
  } catch {
    chunk = undefined;
  }
  const got = headFrom(client, chunk, parseRequestHead) ?? await readHead(client, parseRequestHead, chunk!);
  if (!first) ctx.idle?.(false);
  if (got.kind !== "ok") {
    if (got.kind === "error") {
      // A client that sent nothing parseable gets told why; its connection state is unknown.
      await send(client, vaneResponse(got.code, got.reason, true));
      ctx.onResponse({ route: null, pool: null, code: got.code, method: "-", bytesIn: got.bytes, bytesOut: 0 });
    }
    return false;
  }
  const head = got.head;
  // Body bytes (or a pipelined request) that came with the head: read again when their turn comes.
  const extra = got.bytes < got.buf.length;
  if (extra) client.unread(got.buf.slice(got.bytes));
  const clientKeepAlive = keepAlive(head.version, head.fields);
  const x = new Exchange(ctx, client, head.method, clientKeepAlive, got.bytes);

  const framing = requestFraming(head);
  if (framing.kind === "error") return x.answer(null, framing.code, framing.reason, false);
  const hasBody = framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0);

  const decided = ctx.decide(head, routingKey(head));
  const decision = decided instanceof Promise ? await decided : decided;
  if (decision.kind === "abort") {
    ctx.log.debug("request aborted by the flow", { client: ctx.client.address, method: head.method });
    return false;
  }
  if (decision.kind === "respond") {
    const close = hasBody || !clientKeepAlive || ctx.retired?.() === true;
    const headers = applyEdits(decision.headers, decision.response);
    const bytes = customResponse(decision.status, headers, decision.body, close, head.method === "HEAD");
    x.out += bytes.length;
    const ok = await send(client, bytes);
    x.report(null, decision.status);
    return ok && !close;
  }
  const route = decision.route;

  const upgrade = isUpgrade(head) !== null;
  // Answer `Expect: 100-continue` ourselves once an upstream is ready (nginx does the
  // same): the client then sends the body while we stream it, with no guessing wait.
  const expectContinue = hasBody && head.version === "1.1" &&
    head.fields.values(F_EXPECT).some((v) => v.toLowerCase() === "100-continue");
  const plan = requestPlan(head, upgrade || expectContinue ? { ...forward, upgrade, dropExpect: expectContinue } : forward);
  const startLine = writtenAnew(head.version === "1.1", decision.request) ? `${head.method} ${head.target} HTTP/1.1` : "";
  // Only HTTP/1.0 may come without a Host, and the HTTP/1.1 sent upstream must carry
  // one (RFC 9112 §3.2; nginx and node answer 400 without): see hostlessHead.
  const headFor = head.host === null ? hostlessHead(head, plan, startLine, decision.request) : null;
  // Built now, while the head's bytes are still those read (no client read since).
  const requestHead = headFor !== null
    ? null
    : headBytes(head.fields, plan, startLine, head.version === "1.1", decision.request);

  // Send the request; one more try on a fresh connection when a reused one turns out stale.
  let bodyStarted = false;
  let sentContinue = false;
  for (let attempt = 0;; attempt++) {
    const acquired = route.acquire(peer);
    const lease = acquired instanceof Promise ? await acquired : acquired;
    if ("error" in lease) {
      ctx.log.warn("upstream unavailable", { route: route.name, error: lease.error });
      return x.answer(route, 502, "upstream unavailable", !hasBody);
    }
    const upstream = asReplay(lease.conn);
    const headOut = requestHead ?? headFor!(lease.authority);
    // May a failure be retried? Only before any response byte, and only if the request
    // can be sent again whole (and the body has not started).
    const retryable = lease.reused && attempt === 0 && IDEMPOTENT.has(head.method);

    // A body already in hand goes out with the head, in one write.
    const coalesce = hasBody && extra && !expectContinue;
    const sent = coalesce || send(upstream, headOut);
    if (sent !== true && !(await sent)) {
      if (retryable && !bodyStarted) {
        route.release(lease, false);
        continue;
      }
      return x.failed(route, lease, 502, "write failed", !hasBody);
    }
    if (hasBody) {
      if (expectContinue && !sentContinue) {
        sentContinue = true;
        x.out += CONTINUE_100.length;
        if (!(await send(client, CONTINUE_100))) {
          route.release(lease, false);
          return false;
        }
      }
      bodyStarted = true;
      const end = await copyBody(client, upstream, framing, false, x, "in", coalesce ? headOut : null);
      if (end !== "done" && end !== "done-extra") {
        route.release(lease, false);
        if (end === "bad-chunk") return x.answer(route, 400, "invalid chunked body", false);
        if (end === "dst-error") return x.answer(route, 502, "bad gateway", false);
        return false; // the client went away mid-body
      }
    }

    // The response head, after any interim 1xx responses.
    const deadline = performance.now() + ctx.upstreamTimeoutMs;
    let res: HeadRead<ResponseHead> | null = null;
    for (;;) {
      upstream.closeAt(deadline);
      let answer: Uint8Array | null | undefined;
      try {
        answer = await upstream.read();
      } catch {
        answer = undefined;
      }
      const r = headFrom(upstream, answer, parseResponseHead) ?? await readHead(upstream, parseResponseHead, answer!);
      if (r.kind === "ok") {
        if (r.head.status >= 200 || r.head.status === 101) {
          res = r;
          break;
        }
        const interim = r.head;
        // 100 was already sent by vane; other interim answers (103…) go on to a 1.1 client.
        if (!(interim.status === 100 && sentContinue) && head.version === "1.1") {
          const bytes = headBytes(
            interim.fields,
            responsePlan(interim, false, null),
            `HTTP/1.1 ${interim.status} ${interim.reason}`,
            interim.version === "1.1",
            [],
          );
          x.out += bytes.length;
          if (r.bytes < r.buf.length) upstream.unread(r.buf.slice(r.bytes));
          if (!(await send(client, bytes))) {
            route.release(lease, false);
            return false;
          }
        } else if (r.bytes < r.buf.length) {
          upstream.unread(r.buf.slice(r.bytes));
        }
        continue;
      }
      if (r.kind === "timeout") return x.failed(route, lease, 504, "no response head in time", true);
      if (r.kind === "error") return x.failed(route, lease, 502, r.reason, true);
      // EOF or read error: a stale reused connection if nothing came back at all.
      if (r.bytes === 0 && retryable && !bodyStarted) {
        route.release(lease, false);
        break;
      }
      return x.failed(route, lease, 502, r.kind === "eof" ? "upstream closed before responding" : "upstream read failed", true);
    }
    // The retry case broke out without a head.
    if (res === null || res.kind !== "ok") continue;
    // Awaited here, not handed on: a promise returned from an async function costs
    // two more turns of the microtask queue.
    return await respond(x, upstream, res.head, res.buf, res.bytes, lease, route, head, upgrade, decision.response);
  }
}

/** Streams the upstream response to the client. Returns whether the client connection goes on. */
async function respond(
  x: Exchange,
  upstream: ReplayConn,
  res: ResponseHead,
  /**
   * The read the head came in, valid until the next read on `upstream`: what follows
   * the head from `restAt` on (a body, or garbage after a bodiless response) is sent
   * or given back from there, with no view made of it.
   */
  read: Uint8Array,
  restAt: number,
  lease: UpstreamLease,
  route: HttpRoute,
  req: RequestHead,
  /** Whether the request asked to switch protocols (read while its fields were good). */
  upgradeAsked: boolean,
  edits: readonly HeaderEdit[],
): Promise<boolean> {
  const { client, ctx } = x;
  const restLen = read.length - restAt;
  if (res.status === 101) {
    if (!upgradeAsked) {
      route.release(lease, false);
      x.report(route, 502);
      await send(client, vaneResponse(502, "unexpected protocol switch", true));
      return false;
    }
    const h = headBytes(res.fields, responsePlan(res, true, null), `HTTP/1.1 101 ${res.reason}`, res.version === "1.1", []);
    // The tunnel's first bytes, if the upstream spoke at once.
    if (restLen > 0) upstream.unread(read.slice(restAt));
    x.out += h.length;
    x.report(route, 101);
    if (await send(client, h)) {
      // From here the connection is a tunnel; relay closes both ends when it is over.
      await relay(client, upstream, ctx.idleMs, { upstream() {}, downstream() {} });
    }
    route.release(lease, false);
    return false;
  }

  const framing = responseFraming(req.method, res);
  if (framing.kind === "error") {
    route.release(lease, false);
    x.report(route, 502);
    await send(client, vaneResponse(502, framing.reason, true));
    return false;
  }
  // A 1.0 client cannot read chunked: decode the body and end it with the close.
  const dechunk = framing.kind === "chunked" && req.version === "1.0";
  // A reload while the request was in flight: say this is the connection's last answer.
  const close = !x.keepAlive || framing.kind === "until-close" || dechunk || ctx.retired?.() === true;
  const connection = close ? "close" : req.version === "1.0" ? "keep-alive" : null;
  const plan = responsePlan(res, false, connection, dechunk);
  // Read now: the response's fields are only good until the next read of the upstream.
  const upstreamKeepAlive = keepAlive(res.version, res.fields);
  const asReceived = res.version === "1.1";
  // Only a head written anew needs its start line as a string.
  const startLine = writtenAnew(asReceived, edits) ? `HTTP/1.1 ${res.status} ${res.reason}` : "";

  let end: CopyEnd;
  if (framing.kind === "none" || framing.kind === "length") {
    // The usual small response came whole in one read: head and body go out in one
    // write, built in one buffer. A body still to come (a stream) must not hold the
    // head back: what is in hand goes now, and the rest follows as it comes.
    const length = framing.kind === "length" ? framing.length : 0;
    const inHand = Math.min(restLen, length);
    const bytes = headBytes(res.fields, plan, startLine, asReceived, edits, read, restAt, restAt + inHand);
    // Bytes after the body answer nothing; the connection is not reused then.
    const overflow = restLen > length;
    x.out += bytes.length - inHand;
    const sent = send(client, bytes);
    if (sent !== true && !(await sent)) {
      end = "dst-error";
    } else {
      x.out += inHand;
      end = overflow ? "done-extra" : "done";
      if (inHand < length) end = await copyBody(upstream, client, { kind: "length", length: length - inHand }, false, x, "out");
    }
  } else {
    // Chunked (checked by the decoder on the way) or until the close: the bytes in
    // hand go through the copy, the first of them in the head's write.
    const h = headBytes(res.fields, plan, startLine, asReceived, edits);
    if (restLen > 0) upstream.unread(read.slice(restAt));
    x.out += h.length;
    const coalesce = restLen > 0 && !dechunk;
    if (!coalesce && !(await send(client, h))) {
      end = "dst-error";
    } else {
      end = await copyBody(upstream, client, framing, dechunk, x, "out", coalesce ? h : null);
    }
  }
  x.report(route, res.status);
  if (end !== "done" && end !== "done-extra" && !(end === "src-eof" && framing.kind === "until-close")) {
    // Too late for an error response: the client sees the cut short body and the close.
    route.release(lease, false);
    // A client that leaves mid-response is its own business (wrk does it at every stop).
    (end === "dst-error" ? ctx.log.debug : ctx.log.warn)("response body cut short", { route: route.name, reason: end });
    return false;
  }
  // The client's Connection header never reached the upstream, so only the upstream's own
  // word counts; bytes after the response would be an answer to nothing: do not reuse.
  const upstreamReusable = end === "done" && framing.kind !== "until-close" && upstreamKeepAlive;
  route.release(lease, upstreamReusable);
  return !close;
}

/** Where a request goes: Host (or an absolute target's authority), the path and the query. */
function routingKey(head: RequestHead): RequestTarget {
  let target = head.target;
  let host = head.host;
  const scheme = schemeLength(target);
  if (scheme > 0) {
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the host.
    const end = authorityEnd(target, scheme);
    host = authorityHost(target.slice(scheme, end));
    target = target.slice(end) || "/";
  }
  const q = target.indexOf("?");
  return q < 0 ? { host, path: target, query: "" } : { host, path: target.slice(0, q), query: target.slice(q + 1) };
}

/** The length of an absolute-form target's "http://" or "https://", else 0. */
function schemeLength(target: string): number {
  return target.startsWith("http://") ? 7 : target.startsWith("https://") ? 8 : 0;
}

/** Where the authority that starts at `from` ends: at the path, query or fragment. */
function authorityEnd(target: string, from: number): number {
  let end = target.length;
  for (const c of "/?#") {
    const i = target.indexOf(c, from);
    if (i >= 0 && i < end) end = i;
  }
  return end;
}

/**
 * The head of a request that came without Host, for an upstream named `authority`.
 * Its Host names the target, as nginx and Caddy do: the one the flow set, else an
 * absolute target's authority, else the upstream's (known once a lease is in hand).
 * Made from strings: the head's bytes may be gone by then.
 */
function hostlessHead(
  head: RequestHead,
  plan: FieldPlan,
  startLine: string,
  edits: readonly HeaderEdit[],
): (authority: string) => Uint8Array {
  const headers = applyEdits(plannedHeaders(head.fields.list, plan), edits);
  if (headers.some(([name]) => name.toLowerCase() === "host")) {
    const bytes = serializeHead(startLine, headers);
    return () => bytes;
  }
  const scheme = schemeLength(head.target);
  const named = scheme > 0 ? withoutUserinfo(head.target.slice(scheme, authorityEnd(head.target, scheme))) : "";
  if (named === "") return (authority) => serializeHead(startLine, [["Host", authority], ...headers]);
  const bytes = serializeHead(startLine, [["Host", named], ...headers]);
  return () => bytes;
}

/** "user@host:port" -> "host:port". */
function withoutUserinfo(authority: string): string {
  return authority.slice(authority.lastIndexOf("@") + 1);
}

/** "user@Host:port" -> "host", lowercased, without port and trailing dot. */
function authorityHost(authority: string): string {
  let a = withoutUserinfo(authority);
  if (a.startsWith("[")) a = a.slice(0, a.indexOf("]") + 1);
  else if (a.includes(":")) a = a.slice(0, a.indexOf(":"));
  if (a.endsWith(".")) a = a.slice(0, -1);
  return a.toLowerCase();
}

type HeadRead<T> =
  /**
   * `buf`: what was read, valid until the next read: the head (`bytes` long), then
   * whatever followed it.
   */
  | { kind: "ok"; head: T; bytes: number; buf: Uint8Array }
  | { kind: "error"; code: number; reason: string; bytes: number }
  | { kind: "eof" | "read-error" | "timeout"; bytes: number };

/**
 * The head at the start of what one read brought (`chunk`; undefined: the read
 * failed). The common case, a head whole in one chunk, is parsed in place, and with
 * no async frame of its own (the caller awaits the read: one frame per head is a
 * measurable share of the L7 path). null when the head goes on past the chunk:
 * `readHead` reads on. Otherwise lifts the deadline the caller set with `closeAt`.
 */
function headFrom<T>(
  conn: ReplayConn,
  chunk: Uint8Array | null | undefined,
  parse: (buf: Uint8Array) => HeadResult<T>,
): HeadRead<T> | null {
  let out: HeadRead<T>;
  if (chunk === undefined || chunk === null) out = noHead(conn, chunk, 0);
  else {
    const result = parse(chunk);
    if (result.status === "need-more") return null;
    out = headRead(result, chunk);
  }
  conn.clearCloseAt();
  return out;
}

/**
 * Reads on after `first` (a chunk with a head's beginning) until `parse` finds the
 * whole head (re-parsing all of it each time, as the parser expects), or until the
 * deadline set with `closeAt` closes the connection; then lifts that deadline.
 */
async function readHead<T>(
  conn: ReplayConn,
  parse: (buf: Uint8Array) => HeadResult<T>,
  first: Uint8Array,
): Promise<HeadRead<T>> {
  // The chunk is only valid until the next read: keep a copy.
  let acc = new Uint8Array(Math.max(2 * first.length, 4096));
  acc.set(first);
  let n = first.length;
  let out: HeadRead<T>;
  for (;;) {
    let chunk: Uint8Array | null | undefined;
    try {
      chunk = await conn.read();
    } catch {
      chunk = undefined;
    }
    if (chunk === undefined || chunk === null) {
      out = noHead(conn, chunk, n);
      break;
    }
    if (n + chunk.length > acc.length) {
      const grown = new Uint8Array(2 * (n + chunk.length));
      grown.set(acc.subarray(0, n));
      acc = grown;
    }
    acc.set(chunk, n);
    n += chunk.length;
    const buf = acc.subarray(0, n);
    const result = parse(buf);
    if (result.status !== "need-more") {
      out = headRead(result, buf);
      break;
    }
  }
  conn.clearCloseAt();
  return out;
}

/**
 * A wait for a head that ended without one, `bytes` into it: the read failed
 * (undefined) or the stream ended (null), or the deadline closed the connection.
 */
function noHead(conn: ReplayConn, chunk: null | undefined, bytes: number): HeadRead<never> {
  return { kind: conn.timedOut ? "timeout" : chunk === undefined ? "read-error" : "eof", bytes };
}

/** A parser's verdict on a complete head (or a bad one) in `buf`, as a HeadRead. */
function headRead<T>(result: Exclude<HeadResult<T>, { status: "need-more" }>, buf: Uint8Array): HeadRead<T> {
  if (result.status === "error") return { kind: "error", code: result.code, reason: result.reason, bytes: buf.length };
  return { kind: "ok", head: result.head, bytes: result.length, buf };
}

const SENT = () => true;
const NOT_SENT = () => false;

/**
 * Writes, reporting failure instead of throwing: true at once when the socket took
 * every byte (nothing to await), else a promise of whether the write went through.
 */
function send(conn: TcpConn, bytes: Uint8Array): boolean | Promise<boolean> {
  let written: Promise<void>;
  try {
    written = conn.write(bytes);
  } catch {
    return false;
  }
  return written === WRITTEN || written.then(SENT, NOT_SENT);
}

/**
 * Copies one body from `from` to `to` as framed. Chunked bodies go through raw
 * (a decoder only finds the end and checks the syntax), unless `dechunk` asks for
 * the decoded data. Bytes past the end are unread into `from`.
 */
async function copyBody(
  from: ReplayConn,
  to: TcpConn,
  framing: BodyFraming,
  dechunk: boolean,
  counts: Counts,
  dir: "in" | "out",
  /** A head to send in the same write as the first body bytes (counted by the caller). */
  head: Uint8Array | null = null,
): Promise<CopyEnd> {
  let remaining = framing.kind === "length" ? framing.length : Infinity;
  const decoder = framing.kind === "chunked" ? new ChunkedDecoder() : null;
  let extra = false;
  while (remaining > 0) {
    let chunk: Uint8Array | null;
    try {
      chunk = await from.read();
    } catch {
      return "src-error";
    }
    if (chunk === null) return "src-eof";
    let out = chunk;
    let done = false;
    let data: Uint8Array[] | null = null;
    if (decoder !== null) {
      data = decoder.push(chunk);
      if (decoder.error !== null) return "bad-chunk";
      if (decoder.done) {
        done = true;
        const rest = decoder.rest!;
        out = chunk.subarray(0, chunk.length - rest.length);
        if (rest.length > 0) {
          from.unread(rest.slice());
          extra = true;
        }
      }
    } else if (chunk.length >= remaining) {
      // Also covers until-close (remaining is Infinity, never reached).
      out = chunk.subarray(0, remaining);
      if (chunk.length > remaining) {
        from.unread(chunk.slice(remaining));
        extra = true;
      }
      done = true;
    } else {
      remaining -= chunk.length;
    }
    try {
      if (dechunk) {
        for (const d of data!) {
          await to.write(d);
          counts[dir] += d.length;
        }
      } else if (head !== null) {
        await to.write(concatBytes(head, out));
        head = null;
        counts[dir] += out.length;
      } else if (out.length > 0) {
        await to.write(out);
        counts[dir] += out.length;
      }
    } catch {
      return "dst-error";
    }
    if (done) return extra ? "done-extra" : "done";
  }
  return "done";
}
