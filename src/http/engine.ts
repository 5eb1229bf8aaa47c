/**
 * The L7 engine: an HTTP/1.1 reverse proxy on one client connection. It reads a
 * request head, picks a route, sends the request upstream with its body streamed
 * through, streams the response back, and loops while both sides keep alive.
 *
 * An exchange runs as steps that go on synchronously as long as nothing has to wait,
 * and in async code from where something does. Where the connection delivers reads to
 * callbacks (TcpConn.readNext: both runtimes' sockets, HTTP/2 streams), the common
 * exchange (a request and its answer each whole in one read, each written at once)
 * makes no promise of vane's own; elsewhere each read is awaited.
 *
 * Bodies are never buffered: each chunk read is written (and the write awaited,
 * which is the backpressure) before the next read. Bytes read past the end of a
 * head or body are given back to the connection (ReplayConn.unread) so the next
 * message starts with them, which is how pipelined requests work.
 */
import {
  MAX_HEADER_LINE,
  parseRequestHead,
  parseResponse,
  type RequestHead,
  type ResponseHead,
} from "../detect/http-head.ts";
import { asReplay, type ReplayConn } from "../forward/replay-conn.ts";
import { type BodyFraming, keepAlive, NO_PROTOCOLS, requestFraming, upgradeProtocols } from "./framing.ts";
import {
  applyEdits,
  CLOSE,
  CONTINUE_100,
  copiedHeadSize,
  customResponse,
  fillCopiedHead,
  type ForwardInfo,
  headBytes,
  type HeadOptions,
  NO_EDITS,
  requestPlan,
  responsePlan,
  vaneResponse,
  writtenAnew,
} from "./headers.ts";
import { F_EXPECT, F_HTTP2_SETTINGS, headerValues } from "../detect/http-fields.ts";
import type { Allowance, RetryOn } from "../config/model.ts";
import type { SocketAddress, TcpConn } from "../runtime/types.ts";
import type { Decision, HttpContext, HttpRoute, UpstreamLease } from "./types.ts";
import { formatDuration } from "../config/duration.ts";
import { BODY_CONSUMED, BODY_UNREAD, copyBody, Exchange, NOT_REUSABLE, send, sendOut } from "./exchange.ts";
import { giveHeadBuffer, HEAD_BUFFER_BYTES, takeHeadBuffer } from "./head-buffers.ts";
import { headFrom, type HeadRead, readHead } from "./head-read.ts";
import { hostlessHead, type RequestTarget, TargetMemo } from "./request-target.ts";
import { websocketAccept } from "./upgrade.ts";
import { respond } from "./respond.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { Failure } from "../errors/mod.ts";
import { statusFor } from "./failure-status.ts";
import { startsH2Preface } from "../detect/h2-preface.ts";
import { beginEntry, noteLease, recordRefused, tagRequest } from "./access.ts";
import { IDEMPOTENT, poolRetries } from "./retry.ts";

export type { Decision, HttpContext, HttpRoute, RequestTarget, UpstreamLease } from "./types.ts";

/**
 * How long a retired connection waits for one more request after its last answer. A
 * client in a request loop sends its next request within this (it is answered, with
 * `Connection: close`); one quiet this long is idle, and closing it loses nothing a
 * request was on its way. A keep-alive client thus costs a shutdown a second at most.
 */
export const RETIRE_QUIET_MS = 1000;

/**
 * Where an exchange stands when a step of it returns: over (whether the client
 * connection goes on), sent upstream with its answer pending (`PendingResponse`) (the read is the
 * driver's to make: a callback where the runtime has them, an await elsewhere), or
 * going on in async code that resolves to one of these.
 */
type Step = Settled | Promise<Settled>;
type Settled = boolean | PendingResponse;

/**
 * Serves requests on one client connection until it closes, errs, times out or
 * asks to close. Never throws; the caller closes `conn`.
 */
export function serveHttp1(conn: TcpConn, ctx: HttpContext, first?: ReadRequest): Promise<void> {
  const session = new Session(asReplay(conn, ctx.clock), ctx, first ?? null);
  return session.client.callbacks ? session.byCallbacks() : session.byAwaits();
}

/**
 * `serveHttp1` for a caller that does not wait for the end (an HTTP/2 stream): the
 * engine closes `conn` when it is done, as always, and makes no promise to say so.
 */
export function startHttp1(conn: TcpConn, ctx: HttpContext, first: ReadRequest | null): void {
  const session = new Session(asReplay(conn, ctx.clock), ctx, first);
  if (session.client.callbacks) session.withCallbacks(NOBODY_WAITS);
  else void session.byAwaits();
}

/** The end of a session nobody waits for. */
const NOBODY_WAITS = (): void => {};

/**
 * A first request its caller already read, parsed and put to the flow (an HTTP/2
 * stream: src/http2/dispatch.ts), served as if it had been read here: its head's bytes
 * are not on the connection. The head must be whole and the target good.
 */
export interface ReadRequest {
  readonly head: RequestHead;
  /** The head's bytes, which `head`'s fields point into. */
  readonly buf: Uint8Array;
  readonly target: RequestTarget;
  readonly decision: Decision;
}

/**
 * Pipelined requests already queued are served one inside the other's callback up to
 * this depth; then the next one starts from the microtask queue, so the stack stays flat.
 */
const MAX_SYNC_DEPTH = 16;

/** One client connection, and the loop that serves its requests in turn. */
class Session {
  /** No request has been served yet. */
  first = true;
  /** Who is asking, for every upstream lease of this connection. */
  readonly peer: { client: SocketAddress; local: SocketAddress };
  /** What the upstream is told of the client, for the usual request (no upgrade, no Expect). */
  readonly forward: ForwardInfo;
  /** The request head parser, with this listener's header line limit. */
  readonly parseRequest: (buf: Uint8Array) => ReturnType<typeof parseRequestHead>;
  #pending: PendingResponse | null = null;
  #depth = 0;
  #over: (() => void) | null = null;
  #resume: ((step: Settled) => void) | null = null;
  #broke: ((err: unknown) => void) | null = null;
  /** The first head's deadline (a client.clock time): it runs from the session's start. */
  readonly #firstBy: number;
  /** Since when the session waits for a request's first byte (a client.clock time); -1: it does not. */
  #awaitingSince: number;

  /** The first request, when the caller read it already (taken by its first step). */
  given: ReadRequest | null;

  constructor(readonly client: ReplayConn, readonly ctx: HttpContext, given: ReadRequest | null) {
    this.given = given;
    // A request given already read waits for no head (it is the session's only one when served for HTTP/2).
    const now = given === null ? client.clock.now() : 0;
    this.#firstBy = now + ctx.requestHeadMs;
    this.#awaitingSince = given === null ? now : -1;
    ctx.onRetire?.(() => this.#retire());
    this.peer = { client: ctx.client, local: ctx.local };
    this.forward = {
      clientAddress: ctx.client.hostname,
      proto: ctx.proto,
      upgrade: false,
      dropExpect: false,
      authority: null,
    };
    const maxLine = ctx.http.maxHeaderLine;
    this.parseRequest = maxLine === MAX_HEADER_LINE ? parseRequestHead : (buf) => parseRequestHead(buf, maxLine);
  }

  /**
   * The wait for the next request, which its deadline ends with a close: the first
   * head's whole deadline, or the keep-alive wait for a later head's first byte. A head
   * whole in one read lifts it (headFrom); one that is not goes on in `restOfHead`.
   */
  #awaitRequest(): void {
    const now = this.client.clock.now();
    this.#awaitingSince = now;
    if (this.ctx.retired?.()) return this.client.closeAt(now + RETIRE_QUIET_MS);
    if (this.first) return this.client.closeAt(this.#firstBy);
    this.client.closeAt(now + this.ctx.keepAliveMs);
  }

  /**
   * The session's config was retired (a reload) or vane is shutting down: a wait for
   * the next request under way ends RETIRE_QUIET_MS after it began (at once when it has
   * lasted that long), so idle connections close and a request on its way is answered.
   */
  #retire(): void {
    if (this.#awaitingSince < 0) return;
    this.client.closeAt(this.#awaitingSince + RETIRE_QUIET_MS);
  }

  /** The request's target (see parseTarget and TargetMemo). */
  targetOf(head: RequestHead): RequestTarget | { error: number; reason: string } {
    return (this.#targets ??= new TargetMemo()).parse(head, this.ctx.http.encodedSlash);
  }

  /** Made at the first request read here (a stream's Session is given its request parsed). */
  #targets: TargetMemo | null = null;

  /** A request's first byte came: the wait for it is over. */
  arrived(): void {
    this.#awaitingSince = -1;
  }

  /**
   * The rest of a head that did not come whole in one read (`first`: what did): the
   * slow path, where slowloris lives. It must be whole by the first head's deadline, or
   * within requestHeadMs of its first byte, however it trickles in; and only so many
   * heads of one client address may be in progress at once.
   */
  async restOfHead(first: Uint8Array): Promise<Settled> {
    const { ctx } = this;
    const address = ctx.client.hostname;
    // Refused with a close, not a 429: nothing was asked yet (the head is not whole),
    // closing on a client still sending makes a reset that would lose the answer anyway,
    // and under attack a write per refused connection is work for nothing.
    if (!ctx.partialHeads.enter(address, ctx.http.maxPartialHeads)) return false;
    let got: HeadRead<RequestHead>;
    try {
      const by = this.first ? this.#firstBy : this.client.clock.now() + ctx.requestHeadMs;
      got = await readHead(this.client, this.parseRequest, first, by);
    } finally {
      ctx.partialHeads.leave(address);
    }
    return fromHead(this, got);
  }

  /**
   * The step a read leads to: the next request's, or the answer's of the request
   * `PendingResponse` for one.
   */
  #stepOn(chunk: Uint8Array | null | undefined): Step {
    const pending = this.#pending;
    if (pending === null) return requestStep(this, chunk);
    this.#pending = null;
    return responseStep(pending, chunk);
  }

  /** With promises: each read awaited. */
  async byAwaits(): Promise<void> {
    const { client } = this;
    try {
      for (;;) {
        let step: Step;
        if (this.given !== null) step = givenStep(this);
        else {
          if (this.#pending === null) this.#awaitRequest();
          let chunk: Uint8Array | null | undefined;
          try {
            chunk = await (this.#pending?.upstream ?? client).read();
          } catch {
            chunk = undefined;
          }
          step = this.#stepOn(chunk);
        }
        if (step instanceof Promise) step = await step;
        if (step instanceof PendingResponse) {
          this.#pending = step;
          continue;
        }
        if (!step || this.ctx.oneRequest === true) break;
        this.first = false;
      }
    } catch (err) {
      this.#bug(err);
    } finally {
      // The caller closes `conn` too; closing the wrapper here also frees its deadline timer.
      client.close();
    }
  }

  /**
   * With callbacks (TcpConn.readNext): the common exchange, a request and its answer
   * each whole in one read, runs from the runtime's data events with no promise.
   */
  byCallbacks(): Promise<void> {
    return new Promise((resolve) => this.withCallbacks(resolve));
  }

  /** byCallbacks, `over` called at the end. */
  withCallbacks(over: () => void): void {
    this.#over = over;
    if (this.given === null) return this.#next();
    let step: Step;
    try {
      step = givenStep(this);
    } catch (err) {
      return this.#fail(err);
    }
    this.#drive(step);
  }

  #next(): void {
    this.#awaitRequest();
    this.client.readNext(this.#onRead);
  }

  readonly #onRead = (r: Uint8Array | null | Error): void => {
    let step: Step;
    try {
      step = this.#stepOn(r instanceof Error ? undefined : r);
    } catch (err) {
      return this.#fail(err);
    }
    this.#drive(step);
  };

  #drive(step: Step): void {
    if (step instanceof PendingResponse) {
      this.#pending = step;
      step.upstream.readNext(this.#onRead);
      return;
    }
    if (step instanceof Promise) return this.#driveLater(step);
    if (!step || this.ctx.oneRequest === true) return this.#end();
    this.first = false;
    if (this.#depth >= MAX_SYNC_DEPTH) return this.#driveLater(null);
    this.#depth++;
    try {
      this.#next();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#depth--;
    }
  }

  /**
   * `#drive` once `step` settles (null: from the microtask queue). Apart from #drive: a
   * closure there, even one not made, would cost JavaScriptCore a scope object per call.
   */
  #driveLater(step: Promise<Settled> | null): void {
    if (step === null) queueMicrotask(() => this.#drive(true));
    else step.then(this.#resume ??= (s) => this.#drive(s), this.#broke ??= (err) => this.#fail(err));
  }

  #fail(err: unknown): void {
    this.#bug(err);
    this.#end();
  }

  /** Only a bug gets here: every I/O failure is handled where it happens. */
  #bug(err: unknown): void {
    limited(this.ctx.log).error("http engine failure", null, { client: this.ctx.client.hostname, error: String(err) });
  }

  #end(): void {
    const over = this.#over;
    if (over === null) return;
    this.#over = null;
    this.client.close();
    over();
  }
}

/** `then` for a write that may have gone through at once. */
function afterSend(sent: boolean | Promise<boolean>, then: (ok: boolean) => Step): Step {
  return typeof sent === "boolean" ? then(sent) : sent.then(then);
}

/** The request whose head begins in `chunk` (undefined: the read failed), up to its upstream's answer. */
function requestStep(session: Session, chunk: Uint8Array | null | undefined): Step {
  session.arrived();
  const h2 = session.ctx.h2;
  if (session.first && h2 !== undefined && chunk && startsH2Preface(chunk)) {
    // HTTP/2 from the first byte: the connection is the HTTP/2 session's from here on.
    session.client.unread(chunk.slice());
    return h2(session.client, session.ctx).then(() => false);
  }
  const got = headFrom(session.client, chunk, session.parseRequest);
  if (got === null) return session.restOfHead(chunk!);
  return fromHead(session, got);
}

/** The request the session was given already read (ReadRequest), served as one read here would be. */
function givenStep(session: Session): Step {
  const given = session.given!;
  session.given = null;
  session.arrived();
  const got = { kind: "ok", head: given.head, bytes: given.buf.length, buf: given.buf } as const;
  return fromHead(session, got, given);
}

/** vane's answer to a head begun and not finished by its deadline (HAProxy's and nginx's too). */
const HEAD_TIMEOUT = { code: statusFor("request-timeout"), reason: "request head timeout" } as const;

/** The request whose head `got` brought; `known`: its target and the flow's decision, already made. */
function fromHead(
  session: Session,
  got: HeadRead<RequestHead>,
  known?: { target: RequestTarget; decision: Decision },
): Step {
  const { client, ctx } = session;
  if (got.kind !== "ok") {
    // A head begun and not finished in time gets a 408; a deadline that met no byte at
    // all (or an end, or a read error) closes without a word, as nginx and HAProxy do.
    const answer = got.kind === "error" ? got : got.kind === "timeout" && got.bytes > 0 ? HEAD_TIMEOUT : null;
    if (answer === null) return false;
    if (answer === HEAD_TIMEOUT) {
      ctx.log.debug("request head timeout", { client: ctx.client.hostname, bytes: got.bytes });
    }
    return refuse(session, answer, got.bytes);
  }
  const head = got.head;
  // Body bytes (or a pipelined request) that came with the head: read again when their turn comes.
  const extra = got.bytes < got.buf.length;
  if (extra) client.unread(got.buf.slice(got.bytes));
  const exchange = new Exchange(ctx, client, head.method, keepAlive(head.version, head.fields), got.bytes);
  if (ctx.access != null) exchange.entry = beginEntry(ctx, head);
  const framing = requestFraming(head);
  if (framing.kind === "error") return exchange.answer(null, framing.code, framing.reason, BODY_UNREAD);
  const target = known?.target ?? session.targetOf(head);
  if ("error" in target) return exchange.answer(null, target.error, target.reason, BODY_UNREAD);
  const decided = known?.decision ?? ctx.decide(head, target);
  // (The request as read goes on as arguments, not as an object per request.)
  if (decided instanceof Promise) return decisionLater(session, exchange, head, target, framing, extra, decided);
  return decisionStep(session, exchange, head, target, framing, extra, decided);
}

// The closures of the steps' rarer paths are made in functions of their own: one in
// the step itself, made or not, would cost JavaScriptCore a scope object per call.

/** A client that sent nothing parseable gets told why; its connection state is unknown. */
function refuse(session: Session, answer: { code: number; reason: string }, bytes: number): Step {
  const ctx = session.ctx;
  return afterSend(send(session.client, vaneResponse(answer.code, answer.reason, CLOSE)), () => {
    ctx.onResponse({ route: null, pool: null, code: answer.code, method: "-", bytesIn: bytes, bytesOut: 0 });
    if (ctx.access != null) recordRefused(ctx, answer.code, bytes);
    return false;
  });
}

function decisionLater(
  session: Session,
  exchange: Exchange,
  head: RequestHead,
  target: RequestTarget,
  framing: BodyFraming,
  extra: boolean,
  decided: Promise<Decision>,
): Promise<Settled> {
  return decided.then((d) => decisionStep(session, exchange, head, target, framing, extra, d));
}

/**
 * What a rule must allow for vane to forward a request of this method: CONNECT opens a
 * tunnel past every rule, and TRACE echoes the request (cookies included) back to a
 * script. null: any rule forwards it.
 */
function guardOf(method: string): Allowance | null {
  return method === "CONNECT" ? "connect" : method === "TRACE" ? "trace" : null;
}

/**
 * What the flow decided, carried out, for the request as read: its head, where it goes
 * (`target`), how its body is framed, and whether body bytes came with the head (`extra`).
 */
function decisionStep(
  session: Session,
  exchange: Exchange,
  head: RequestHead,
  target: RequestTarget,
  framing: BodyFraming,
  extra: boolean,
  decision: Decision,
): Step {
  const hasBody = framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0);
  if (decision.kind === "abort") {
    session.ctx.log.debug("request aborted by the flow", { client: session.ctx.client.hostname, method: head.method });
    return false;
  }
  if (decision.kind === "respond") return respondStep(session, exchange, head, hasBody, decision);
  const guarded = guardOf(head.method);
  if (guarded !== null && !decision.allow.includes(guarded)) {
    return exchange.answer(decision.route, 405, `${head.method} is not allowed here`, !hasBody);
  }
  const proxied = new ProxiedRequest(session, exchange, head, target, framing, extra, hasBody, decision);
  if (exchange.entry !== null) exchange.entry.acquireAt = performance.now();
  return attemptStep(proxied, 0, proxied.route.acquire(session.peer, undefined, proxied.head));
}

/** The flow's own answer. */
function respondStep(
  session: Session,
  exchange: Exchange,
  head: RequestHead,
  hasBody: boolean,
  decision: Extract<Decision, { kind: "respond" }>,
): Step {
  const close = hasBody || !exchange.keepAlive || session.ctx.retired?.() === true;
  const headers = applyEdits(decision.headers, decision.response);
  const bytes = customResponse(decision.status, headers, decision.body, { close, headOnly: head.method === "HEAD" });
  exchange.out += bytes.length;
  return afterSend(send(session.client, bytes), (ok) => {
    exchange.report(null, decision.status);
    return ok && !close;
  });
}

/** How the usual request head goes on: its lines copied as received (shared, never modified). */
const COPIED_AS_RECEIVED: HeadOptions = { startLine: "", asReceived: true, edits: NO_EDITS };

/** A request on its way to a route's upstream, over one or two attempts. */
export class ProxiedRequest {
  readonly route: HttpRoute;
  readonly upgrade: boolean;
  /**
   * vane answers `Expect: 100-continue` itself once an upstream is ready (nginx does
   * the same): the client then sends the body while we stream it, with no guessing wait.
   */
  readonly expectContinue: boolean;
  /**
   * The head to send, built at once while the head's bytes are still those read (no
   * client read since): requestHead[0, requestHeadLength). Without a body, in a buffer
   * of head-buffers.ts, given back when the final answer's head comes (releaseHead).
   */
  requestHead: Uint8Array | null;
  readonly requestHeadLength: number;
  readonly #headPooled: boolean;
  /** Or, for a request without Host, the head per upstream (see hostlessHead). */
  readonly headFor: ((authority: string) => Uint8Array) | null;
  /**
   * What a 101 may switch to, read while the head's bytes are good: the protocols
   * offered (lowercased), and for WebSocket the Sec-WebSocket-Accept the key calls for.
   */
  readonly offered: readonly string[];
  readonly websocketAccept: string | null;
  bodyStarted = false;
  sentContinue = false;
  /**
   * The last failure that sent this request on to another target (`retry-on`). If no
   * other target takes it, it is the answer.
   */
  retriedAfter: { code: 502 | 504; why: string } | null = null;
  /** Retries made so far (the pool's `retries` caps them; one without a RetryControl). */
  retries = 0;
  /** The leases whose targets failed this request, for the retries to avoid (made at the first). */
  tried: UpstreamLease[] | null = null;

  constructor(
    readonly session: Session,
    readonly exchange: Exchange,
    readonly head: RequestHead,
    target: RequestTarget,
    readonly framing: BodyFraming,
    /** Body bytes came with the head (unread into the client connection). */
    readonly extra: boolean,
    readonly hasBody: boolean,
    readonly decision: Extract<Decision, { kind: "proxy" }>,
  ) {
    this.route = decision.route;
    const offered = upgradeProtocols(head);
    // h2c (and an HTTP2-Settings that would come with it) switches the connection to a
    // protocol vane does not read: every later request would pass every rule unseen.
    // (Only asked when something is offered: the usual request offers nothing.)
    this.upgrade = offered.length > 0 &&
      (!(offered.includes("h2c") || head.fields.first(F_HTTP2_SETTINGS) >= 0) || decision.allow.includes("h2c"));
    this.offered = this.upgrade ? offered : NO_PROTOCOLS;
    this.websocketAccept = this.upgrade && offered.includes("websocket")
      ? websocketAccept(headerValues(head.headers, "sec-websocket-key"))
      : null;
    this.expectContinue = hasBody && head.version === "1.1" &&
      head.fields.values(F_EXPECT).some((v) => v.toLowerCase() === "100-continue");
    const forward = this.upgrade || this.expectContinue || target.authority !== null
      ? { ...session.forward, upgrade: this.upgrade, dropExpect: this.expectContinue, authority: target.authority }
      : session.forward;
    const plan = requestPlan(head, forward, framing.kind === "length" && framing.listed ? framing.length : -1);
    if (exchange.entry !== null) tagRequest(head.fields, plan, exchange.entry, session.ctx.access!.log);
    const edits = decision.request;
    // The target as received when it is already normal, else its normalised origin form.
    const asReceived = head.version === "1.1" && target.forward === head.target;
    const anew = writtenAnew(asReceived, edits);
    const startLine = anew ? `${head.method} ${target.forward} HTTP/1.1` : "";
    // Only HTTP/1.0 may come without a Host, and the HTTP/1.1 sent upstream must carry
    // one (RFC 9112 §3.2; nginx and node answer 400 without): see hostlessHead.
    this.headFor = head.host === null && target.authority === null ? hostlessHead(head, plan, startLine, edits) : null;
    const options = anew ? { startLine, asReceived, edits } : COPIED_AS_RECEIVED;
    // A body's first bytes may go out in the head's write (sendBody): that head is an array of its own.
    const size = this.headFor !== null || hasBody ? -1 : copiedHeadSize(head.fields, plan, options);
    this.#headPooled = size >= 0 && size <= HEAD_BUFFER_BYTES;
    if (this.#headPooled) {
      this.requestHead = takeHeadBuffer();
      fillCopiedHead(this.requestHead, head.fields, plan, options);
      this.requestHeadLength = size;
    } else {
      this.requestHead = this.headFor !== null ? null : headBytes(head.fields, plan, options);
      this.requestHeadLength = this.requestHead?.length ?? 0;
    }
  }

  /** The final answer's head came: the request is not sent again, its head buffer is free. */
  releaseHead(): void {
    if (!this.#headPooled || this.requestHead === null) return;
    giveHeadBuffer(this.requestHead);
    this.requestHead = null;
  }
}

/** The request sent, its body copied: the upstream's answer is awaited. */
export class PendingResponse {
  constructor(
    readonly proxied: ProxiedRequest,
    readonly lease: UpstreamLease,
    readonly upstream: ReplayConn,
    readonly attempt: number,
    /**
     * May a failure be retried? Only before any response byte, and only if the request
     * can be sent again whole (and the body has not started).
     */
    readonly retryable: boolean,
  ) {
    this.deadline = upstream.clock.now() + proxied.exchange.ctx.upstreamMs;
    upstream.closeAt(this.deadline);
  }

  /** No response head after this (an upstream.clock time) -> 504. */
  readonly deadline: number;
}

/** One attempt at sending the request, on the connection `acquired` for it. */
function attemptStep(
  proxied: ProxiedRequest,
  attempt: number,
  acquired: UpstreamLease | Failure | Promise<UpstreamLease | Failure>,
): Step {
  if (acquired instanceof Promise) return attemptLater(proxied, attempt, acquired);
  const { exchange, route } = proxied;
  if ("reason" in acquired) {
    const first = proxied.retriedAfter;
    if (first !== null) {
      return exchange.gaveUp(route, first.code, `${first.why}; no retry: ${acquired.reason}`, !proxied.hasBody);
    }
    // A pool's maxconn queue refused it (full, or the wait timed out): 503.
    const queued = "queue" in acquired;
    limited(proxied.session.ctx.log).warn(queued ? "pool queue refused the request" : "upstream unavailable", "route", {
      route: route.name,
      error: acquired.reason,
    });
    if (queued) return exchange.answer(route, statusFor("queue"), "all targets busy", !proxied.hasBody);
    return exchange.answer(route, statusFor("unavailable"), "upstream unavailable", !proxied.hasBody);
  }
  const lease = acquired;
  exchange.lease = lease;
  if (exchange.entry !== null) noteLease(exchange.entry, lease, attempt);
  const upstream = asReplay(lease.conn, proxied.session.client.clock);
  const retryable = lease.reused && attempt === 0 && IDEMPOTENT.has(proxied.head.method);
  if (!proxied.hasBody) {
    const head = proxied.requestHead;
    const sent = head !== null
      ? sendOut(upstream, head, proxied.requestHeadLength)
      : send(upstream, proxied.headFor!(lease.authority));
    // (Tested first: the usual write goes through at once, and a closure per request is garbage.)
    if (sent === true) return new PendingResponse(proxied, lease, upstream, attempt, retryable);
    if (sent === false) return sendFailed(proxied, lease, attempt, retryable);
    return sentLater(sent, proxied, lease, upstream, attempt, retryable);
  }
  return sendBody(proxied, lease, upstream, attempt, retryable);
}

function attemptLater(
  proxied: ProxiedRequest,
  attempt: number,
  acquired: Promise<UpstreamLease | Failure>,
): Promise<Settled> {
  return acquired.then((lease) => attemptStep(proxied, attempt, lease));
}

/** The request's head went to a write the socket did not take at once. */
function sentLater(
  sent: Promise<boolean>,
  proxied: ProxiedRequest,
  lease: UpstreamLease,
  upstream: ReplayConn,
  attempt: number,
  retryable: boolean,
): Promise<Settled> {
  return sent.then((ok) =>
    ok
      ? new PendingResponse(proxied, lease, upstream, attempt, retryable)
      : sendFailed(proxied, lease, attempt, retryable)
  );
}

/** The request could not be written: another attempt if it may, else a 502. */
function sendFailed(proxied: ProxiedRequest, lease: UpstreamLease, attempt: number, retryable: boolean): Step {
  const route = proxied.route;
  if (retryable && !proxied.bodyStarted) {
    route.release(lease, NOT_REUSABLE);
    return attemptStep(proxied, attempt + 1, route.acquire(proxied.session.peer, undefined, proxied.head));
  }
  const why = "upstream closed before the request was sent";
  // A reused connection closed while idle is the keep-alive race, not the target's doing.
  if (!lease.reused) route.faulted?.(lease, "reset", why);
  // Nothing could be sent: HAProxy counts this as a connection failure.
  if (!proxied.bodyStarted && mayRetry(proxied, "conn-failure")) {
    return retryElsewhere(proxied, lease, attempt, statusFor("upstream-reset"), why);
  }
  return proxied.exchange.failed(route, lease, statusFor("upstream-reset"), why, !proxied.hasBody);
}

/**
 * Whether a request its target failed before answering goes on to another target of
 * the pool: the pool's `retry-on` names the failure (`cause`), the method is idempotent
 * and the request has no body (so it can be sent again whole, and sending it twice is
 * safe: RFC 9110 §9.2.2), the client has had no byte of an answer, and this request has
 * not been retried before. The caller makes sure no byte of the target's answer came.
 */
function mayRetry(proxied: ProxiedRequest, cause: RetryOn): boolean {
  return !proxied.hasBody && proxied.exchange.out === 0 && IDEMPOTENT.has(proxied.head.method) &&
    poolRetries(proxied.route, proxied.retries, cause);
}

/**
 * The request once more, on a target not tried yet (`lease`'s failed it with `why`),
 * when the pool's retry budget allows (the request holds one retry of it until its
 * answer, however many it makes), after the backoff's wait.
 */
function retryElsewhere(
  proxied: ProxiedRequest,
  lease: UpstreamLease,
  attempt: number,
  code: 502 | 504,
  why: string,
): Step {
  const { route, exchange, session } = proxied;
  const control = route.retry;
  if (control !== undefined && exchange.retryHeld === null) {
    if (!control.take()) {
      session.ctx.onRetrySkipped?.(route.pool, "budget");
      return exchange.failed(route, lease, code, `${why}; no retry: the retry budget is spent`, BODY_CONSUMED);
    }
    exchange.retryHeld = control;
  }
  proxied.retriedAfter = { code, why };
  proxied.retries++;
  (proxied.tried ??= []).push(lease);
  route.release(lease, NOT_REUSABLE);
  limited(session.ctx.log).info("upstream failed; retrying on another target", "route", {
    route: route.name,
    error: why,
  });
  const again = () => attemptStep(proxied, attempt + 1, route.acquire(session.peer, proxied.tried!, proxied.head));
  const wait = control?.backoffMs(proxied.retries) ?? 0;
  if (wait <= 0) return again();
  return new Promise<Settled>((resolve) => session.client.clock.setTimeout(() => resolve(again()), wait));
}

/** A request with a body: the head, then the body streamed through (after a 100 Continue if asked). */
async function sendBody(
  proxied: ProxiedRequest,
  lease: UpstreamLease,
  upstream: ReplayConn,
  attempt: number,
  retryable: boolean,
): Promise<Settled> {
  const { exchange, route, session } = proxied;
  const headOut = proxied.requestHead ?? proxied.headFor!(lease.authority);
  // A body already in hand goes out with the head, in one write.
  const coalesce = proxied.extra && !proxied.expectContinue;
  if (!coalesce && !(await send(upstream, headOut))) return sendFailed(proxied, lease, attempt, retryable);
  if (proxied.expectContinue && !proxied.sentContinue) {
    proxied.sentContinue = true;
    exchange.out += CONTINUE_100.length;
    if (!(await send(session.client, CONTINUE_100))) {
      route.release(lease, NOT_REUSABLE);
      return false;
    }
  }
  proxied.bodyStarted = true;
  const end = await copyBody(session.client, upstream, {
    exchange,
    framing: proxied.framing,
    dir: "in",
    head: coalesce ? headOut : null,
  });
  if (end !== "done" && end !== "done-extra") {
    route.release(lease, NOT_REUSABLE);
    if (end === "bad-chunk") return exchange.answer(route, 400, "invalid chunked body", BODY_UNREAD);
    if (end === "src-timeout") {
      // No response byte went out yet (the answer is read after the body): the client is told.
      session.ctx.log.debug("request body timeout", { client: session.ctx.client.hostname, route: route.name });
      return exchange.answer(route, statusFor("request-timeout"), "request body timeout", BODY_UNREAD);
    }
    if (end === "dst-error") return exchange.answer(route, statusFor("upstream-reset"), "bad gateway", BODY_UNREAD);
    return false; // the client went away mid-body
  }
  return new PendingResponse(proxied, lease, upstream, attempt, retryable);
}

/** The upstream's answer begins in `answer` (undefined: the read failed). */
function responseStep(pending: PendingResponse, answer: Uint8Array | null | undefined): Step {
  const got = headFrom(pending.upstream, answer, parseResponse);
  if (got === null) return restOfResponseHead(pending, answer!);
  return responseHead(pending, got);
}

function restOfResponseHead(pending: PendingResponse, first: Uint8Array): Promise<Settled> {
  return readHead(pending.upstream, parseResponse, first).then((later) => responseHead(pending, later));
}

function responseHead(pending: PendingResponse, got: HeadRead<ResponseHead>): Step {
  if (got.kind === "ok" && (got.head.status >= 200 || got.head.status === 101)) {
    pending.proxied.releaseHead();
    pending.proxied.route.answered?.(pending.lease, got.head.status);
    const entry = pending.proxied.exchange.entry;
    if (entry !== null) entry.firstByteMs = performance.now();
    return respond(pending, got.head, got.buf, got.bytes);
  }
  return otherAnswer(pending, got);
}

/** Interim (1xx) responses, then the final one; or why there is none. */
async function otherAnswer(pending: PendingResponse, got: HeadRead<ResponseHead>): Promise<Settled> {
  const { proxied, lease, upstream } = pending;
  const { exchange, route } = proxied;
  // An interim answer came: the target is working on the request, which is not sent again.
  let heard = false;
  for (;;) {
    if (got.kind === "ok") {
      if (got.head.status >= 200 || got.head.status === 101) return responseHead(pending, got);
      heard = true;
      const interim = got.head;
      // 100 was already sent by vane; other interim answers (103…) go on to a 1.1 client.
      if (!(interim.status === 100 && proxied.sentContinue) && proxied.head.version === "1.1") {
        const bytes = headBytes(interim.fields, responsePlan(interim), {
          startLine: `HTTP/1.1 ${interim.status} ${interim.reason}`,
          asReceived: interim.version === "1.1",
          edits: NO_EDITS,
        });
        exchange.out += bytes.length;
        if (got.bytes < got.buf.length) upstream.unread(got.buf.slice(got.bytes));
        if (!(await send(proxied.session.client, bytes))) {
          route.release(lease, NOT_REUSABLE);
          return false;
        }
      } else if (got.bytes < got.buf.length) {
        upstream.unread(got.buf.slice(got.bytes));
      }
      upstream.closeAt(pending.deadline);
      let answer: Uint8Array | null | undefined;
      try {
        answer = await upstream.read();
      } catch {
        answer = undefined;
      }
      got = headFrom(upstream, answer, parseResponse) ?? await readHead(upstream, parseResponse, answer!);
      continue;
    }
    // Nothing of the answer came back (a partial head is junk, never retried).
    const empty = got.bytes === 0 && !heard;
    if (got.kind === "timeout") {
      const why = `no response within ${formatDuration(exchange.ctx.upstreamMs)}`;
      route.faulted?.(lease, "timeout", why);
      if (empty && mayRetry(proxied, "response-timeout")) {
        return retryElsewhere(proxied, lease, pending.attempt, statusFor("upstream-timeout"), why);
      }
      return exchange.failed(route, lease, statusFor("upstream-timeout"), why, BODY_CONSUMED);
    }
    if (got.kind === "error") {
      return exchange.failed(route, lease, statusFor("bad-upstream"), got.reason, BODY_CONSUMED);
    }
    // EOF or read error: a stale reused connection if nothing came back at all.
    if (empty && pending.retryable && !proxied.bodyStarted) {
      route.release(lease, NOT_REUSABLE);
      return attemptStep(proxied, pending.attempt + 1, route.acquire(proxied.session.peer, undefined, proxied.head));
    }
    const why = got.kind === "eof" ? "upstream closed before responding" : "upstream read failed";
    // A reused connection closed unasked may be the keep-alive race: not the target's doing.
    if (!lease.reused || !empty) route.faulted?.(lease, "reset", why);
    if (empty && mayRetry(proxied, "empty-response")) {
      return retryElsewhere(proxied, lease, pending.attempt, statusFor("upstream-reset"), why);
    }
    return exchange.failed(route, lease, statusFor("upstream-reset"), why, BODY_CONSUMED);
  }
}
