/**
 * Where a new HTTP/2 request stream goes. The flow decides once, here, on the same
 * parsed head and request-target the engine would read (so the same normalisation and
 * the same rules): a route to a pool that speaks h2c is forwarded as an HTTP/2 stream
 * (forward.ts); everything else, vane's own answers included, is served by the
 * HTTP/1.1 engine with that decision handed in, so nothing in the flow (a rate limit, a
 * plugin) runs twice. A head the parser refuses goes to the engine too, which answers it
 * as it answers HTTP/1.1 (400, 414, 431).
 */
import { parseRequestHead, type RequestHead } from "../detect/http-head.ts";
import { type ReadRequest, startHttp1 } from "../http/engine.ts";
import { type RequestTarget, TargetMemo } from "../http/request-target.ts";
import type { Decision, HttpContext } from "../http/types.ts";
import type { Pool } from "../balance/pool.ts";
import type { HeaderField } from "./hpack.ts";
import type { RequestHeadResult } from "./request-head.ts";
import { H2Stream, type OpenStream, type StreamHost } from "./stream.ts";
import { ForwardStream, upstreamFields } from "./forward.ts";
import { ForwardAttempts } from "./forward-attempts.ts";
import type { H2Upstreams } from "./upstreams.ts";
import { beginEntry, tagEdits } from "../http/access.ts";
import type { HeaderEdit } from "../http/headers.ts";
import type { AccessEntry } from "../telemetry/access-entry.ts";
import type { AccessLog } from "../telemetry/access-log.ts";

/** What the HTTP/2 session needs to forward to pools that speak h2c. */
export interface H2Forwarding {
  pool(name: string): Pool | undefined;
  upstreams: H2Upstreams;
}

/** A request stream about to start: its id, windows, header list and the HTTP/1.1 head made of it. */
export interface NewStream {
  id: number;
  windows: { send: number; receive: number };
  fields: readonly HeaderField[];
  request: Extract<RequestHeadResult, { ok: true }>;
}

interface Prepared {
  head: RequestHead;
  target: RequestTarget;
  decision: Decision | Promise<Decision>;
}

/**
 * The flow's decision for the request, or null when the head does not parse (the engine
 * answers it). A head laid out as it was written (`request.parsed`) is not parsed again.
 */
function prepare(ctx: HttpContext, targets: TargetMemo, request: NewStream["request"]): Prepared | null {
  let head = request.parsed;
  if (head === null) {
    const parsed = parseRequestHead(request.head, ctx.http.maxHeaderLine);
    if (parsed.status !== "ok") return null;
    head = parsed.head;
  }
  const target = targets.parse(head, ctx.http.encodedSlash);
  if ("error" in target) return null;
  return { head, target, decision: ctx.decide(head, target) };
}

export class StreamStarter {
  constructor(
    readonly host: StreamHost,
    /** The engine's context for every stream (the connection's, minus what is per connection). */
    readonly ctx: HttpContext,
    readonly forwarding: H2Forwarding | null,
    /** Puts a stream in the connection's table (a parked one is replaced when it starts). */
    readonly register: (stream: OpenStream) => void,
  ) {}

  /** The connection's streams' targets: the same path again is parsed once (TargetMemo). */
  readonly #targets = new TargetMemo();

  /** Starts `s`, at once or once an asynchronous flow decided. */
  start(s: NewStream): void {
    const prepared = prepare(this.ctx, this.#targets, s.request);
    if (prepared === null) {
      this.#engine(s, null);
      return;
    }
    const d = prepared.decision;
    if (!(d instanceof Promise)) {
      this.#go(s, prepared, d);
      return;
    }
    const parked = new ParkedStream(s.id, s.windows);
    this.register(parked);
    void d.then((decision) => {
      if (parked.gone) return;
      const started = this.#go(
        { ...s, windows: { send: parked.sendWindow, receive: parked.recvWindow } },
        prepared,
        decision,
      );
      parked.replayInto(started);
    });
  }

  #go(s: NewStream, p: Prepared, decision: Decision): OpenStream {
    const h2 = decision.kind === "proxy" && (decision.route.protocol === "h2c" || decision.route.protocol === "h2");
    if (h2 && this.forwarding !== null) {
      return this.#forward(s, p, decision);
    }
    return this.#engine(s, { head: p.head, buf: s.request.head, target: p.target, decision });
  }

  /**
   * Served by the HTTP/1.1 engine: the request as read and decided here, or (null) the
   * head's bytes for the engine to read and answer (one the parser refuses).
   */
  #engine(s: NewStream, given: ReadRequest | null): H2Stream {
    const { request } = s;
    const head = given === null ? request.head : null;
    const stream = new H2Stream(this.host, s.id, head, request.body, request.method, s.windows);
    this.register(stream);
    // The engine closes the stream when it is done with it.
    startHttp1(stream, this.ctx, given);
    return stream;
  }

  #forward(s: NewStream, p: Prepared, decision: Extract<Decision, { kind: "proxy" }>): ForwardStream {
    const { ctx } = this;
    const access = ctx.access ?? null;
    const entry = access === null ? null : beginEntry(ctx, p.head);
    const asked = entry === null ? decision : withEdits(decision, tagEdits(p.head.fields, entry, access!.log));
    const fields = upstreamFields(s.fields, p.head, p.target, asked, {
      client: ctx.client.hostname,
      proto: ctx.proto,
    });
    const endStream = s.request.body.kind === "none";
    const forwarding = this.forwarding!;
    if (entry !== null) entry.acquireAt = performance.now();
    const attempts = new ForwardAttempts(
      decision.route,
      { upstreams: forwarding.upstreams, pool: forwarding.pool(decision.route.pool), fields, endStream },
      p.head.method,
      ctx,
    );
    const stream = new ForwardStream(this.host, s.id, s.request.body, attempts, s.windows);
    stream.entry = entry;
    this.register(stream);
    const bytesIn = s.request.head.length;
    const relayed = stream.relay(decision.response, (code) => {
      ctx.onResponse({
        route: decision.route.name,
        pool: decision.route.pool,
        code,
        method: p.head.method,
        bytesIn,
        bytesOut: 0,
      });
    });
    // Written once the stream is over, as an HTTP/1.1 request's is once its answer is.
    if (entry !== null) void relayed.then(() => recordStream(entry, access!.log, decision, stream, bytesIn));
    return stream;
  }
}

/**
 * A stream whose flow decision is still being made (a plugin waits on something): its
 * body is held (at most its window) and handed on, in order, once it starts.
 */
class ParkedStream implements OpenStream {
  sendWindow: number;
  recvWindow: number;
  unacked = 0;
  gone = false;
  #pieces: Uint8Array[] = [];
  #ended = false;

  constructor(readonly id: number, windows: { send: number; receive: number }) {
    this.sendWindow = windows.send;
    this.recvWindow = windows.receive;
  }

  get requestDone(): boolean {
    return this.#ended;
  }

  deliver(data: Uint8Array): boolean {
    this.#pieces.push(data);
    return true;
  }

  endRequest(): boolean {
    this.#ended = true;
    return true;
  }

  abandon(): void {
    this.gone = true;
    this.#pieces = [];
  }

  /** Hands what came meanwhile to the stream that took over (a content-length breach then shows there). */
  replayInto(stream: OpenStream): void {
    stream.unacked = this.unacked;
    for (const piece of this.#pieces) if (!stream.deliver(piece)) return stream.abandon();
    if (this.#ended && !stream.endRequest()) stream.abandon();
  }
}

/** The decision with the access log's request edits (request id, traceparent) after the flow's. */
function withEdits(decision: Extract<Decision, { kind: "proxy" }>, edits: HeaderEdit[]): typeof decision {
  return edits.length === 0 ? decision : { ...decision, request: [...decision.request, ...edits] };
}

/**
 * The access record of a stream forwarded to an h2c pool, once it is over (its target,
 * tries and times were noted on the way): none when the client went before any answer.
 */
function recordStream(
  entry: AccessEntry,
  access: AccessLog,
  decision: Extract<Decision, { kind: "proxy" }>,
  stream: ForwardStream,
  headIn: number,
): void {
  if (stream.status === 0) return;
  entry.protocol = "HTTP/2";
  entry.route = decision.route.name;
  entry.pool = decision.route.pool;
  entry.status = stream.status;
  entry.bytesIn = headIn + stream.bodyIn;
  entry.bytesOut = stream.bytesOut;
  access.record(entry);
}
