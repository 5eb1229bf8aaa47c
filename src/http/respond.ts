/**
 * The response half of an exchange: the upstream's response goes to the client, its
 * body streamed through. The usual small response (head and body whole in the read
 * that brought them, taken by the client's socket at once) is done without a promise;
 * anything that must wait goes on in async code.
 */
import type { ResponseHead } from "../detect/http-head.ts";
import type { ReplayConn } from "../forward/replay-conn.ts";
import { relay } from "../forward/tcp.ts";
import { type BodyFraming, keepAlive, responseFraming } from "./framing.ts";
import {
  CLOSE,
  copiedHeadSize,
  type FieldPlan,
  fillCopiedHead,
  headBytes,
  type HeaderEdit,
  type HeadOptions,
  headWrittenAnew,
  NO_EDITS,
  responsePlan,
  vaneResponse,
  writtenAnew,
} from "./headers.ts";
import { copyBody, type CopyEnd, type Exchange, NOT_REUSABLE, send, sendOut, writtenAs } from "./exchange.ts";
import { PlannedFields } from "./planned-fields.ts";
import { switchRefusal } from "./upgrade.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { HeadTaker, HttpRoute, UpstreamLease } from "./types.ts";
import { limited } from "../telemetry/log-limit.ts";
import { statusFor } from "./failure-status.ts";

/** The request a response answers, as the engine's ProxiedRequest holds it (what this half reads of it). */
interface AnsweredRequest {
  readonly exchange: Exchange;
  readonly route: HttpRoute;
  readonly head: RequestHead;
  readonly decision: { readonly response: readonly HeaderEdit[] };
  /** An upgrade was asked for: what a 101 may switch to (see engine.ts's ProxiedRequest). */
  readonly upgrade: boolean;
  readonly offered: readonly string[];
  readonly websocketAccept: string | null;
}

/** The engine's PendingResponse: the request sent upstream on `lease`, its answer read from `upstream`. */
interface PendingResponse {
  readonly proxied: AnsweredRequest;
  readonly lease: UpstreamLease;
  readonly upstream: ReplayConn;
}

/** A 101's plan: Upgrade goes on, with `Connection: upgrade`. */
const SWITCH = { upgrade: true } as const;

/**
 * Streams the upstream response to the client, for the request `pending` waited for:
 * whether the client connection goes on, at once when nothing had to wait.
 */
export function respond(
  pending: PendingResponse,
  res: ResponseHead,
  /**
   * The read the head came in, valid until the next read on the upstream: what follows
   * the head from `restAt` on (a body, or garbage after a bodiless response) is sent
   * or given back from there, with no view made of it.
   */
  read: Uint8Array,
  restAt: number,
): boolean | Promise<boolean> {
  const { proxied, upstream } = pending;
  const { exchange, route } = proxied;
  const req = proxied.head;
  if (res.status === 101) return switchProtocols(pending, res, read, restAt);
  const connect = req.method === "CONNECT";
  if (connect && res.status >= 200 && res.status < 300) return connectTunnel(pending, res, read, restAt);
  const framing = responseFraming(req.method, res);
  if (framing.kind === "error") {
    route.release(pending.lease, NOT_REUSABLE);
    exchange.report(route, statusFor("bad-upstream"));
    return sendThenClose(exchange, vaneResponse(statusFor("bad-upstream"), framing.reason, CLOSE));
  }
  const ctx = exchange.ctx;
  const restLen = read.length - restAt;
  // A 1.0 client cannot read chunked: decode the body and end it with the close.
  const dechunk = framing.kind === "chunked" && req.version === "1.0";
  // A reload while the request was in flight: say this is the connection's last answer.
  const close = !exchange.keepAlive || framing.kind === "until-close" || dechunk || ctx.retired?.() === true;
  const connection = close ? "close" : req.version === "1.0" ? "keep-alive" : null;
  const foldTo = framing.kind === "length" && framing.listed ? framing.length : -1;
  // The usual response (1.1, kept alive, as framed) takes the default plan: no options object per response.
  const usual = connection === null && !dechunk && foldTo < 0;
  const plan = responsePlan(res, usual ? undefined : { connection, dropFraming: dechunk, foldTo });
  // Read now: the response's fields are only good until the next read of the upstream.
  // A connection that carried a CONNECT is never reused, whatever the answer.
  const upstreamKeepAlive = keepAlive(res.version, res.fields) && !connect;
  const asReceived = res.version === "1.1";
  // The flow's response edits (set and add), applied to the head; then a sticky pool's cookie, if any.
  const extra = pending.lease.responseEdit;
  const edits = extra === undefined ? proxied.decision.response : [...proxied.decision.response, extra];
  // Only a head written anew needs its start line as a string.
  const startLine = writtenAnew(asReceived, edits) ? `HTTP/1.1 ${res.status} ${res.reason}` : "";

  if (framing.kind === "none" || framing.kind === "length") {
    // The usual small response came whole in one read: head and body go out in one
    // write, built in one buffer. A body still to come (a stream) must not hold the
    // head back: what is in hand goes now, and the rest follows as it comes.
    const length = framing.kind === "length" ? framing.length : 0;
    const inHand = Math.min(restLen, length);
    // Bytes after the body answer nothing; the connection is not reused then.
    const end: CopyEnd = restLen > length ? "done-extra" : "done";
    const head = wholeHead(startLine, asReceived, edits, read, restAt, restAt + inHand);
    const sent = sendHead(exchange, res, plan, head, length);
    if (sent === true) {
      exchange.out += inHand;
      // (No ForwardedResponse: the usual response ends here, and one per response was garbage.)
      if (inHand === length) {
        return finished(exchange, route, pending.lease, res.status, framing, upstreamKeepAlive, close, end);
      }
    }
    const forwarded = new ForwardedResponse(pending, res.status, framing, upstreamKeepAlive, close);
    return restOfBody(forwarded, sent, inHand, length, end);
  }
  const forwarded = new ForwardedResponse(pending, res.status, framing, upstreamKeepAlive, close);
  // Chunked (checked by the decoder on the way) or until the close: the bytes in
  // hand go through the copy, the first of them in the head's write.
  const head = headBytes(res.fields, plan, { startLine, asReceived, edits });
  if (restLen > 0) upstream.unread(read.slice(restAt));
  exchange.out += head.length;
  return streamedBody(forwarded, head, restLen > 0 && !dechunk, dechunk);
}

/** The options of a head sent with the body in hand, filled in place (see wholeHead). */
interface WholeHead {
  startLine: string;
  asReceived: boolean;
  edits: readonly HeaderEdit[];
  body: Uint8Array;
  bodyFrom: number;
  bodyTo: number;
}

/**
 * One options object for every such head: sendHead reads it at once and keeps none of
 * it (it is synchronous up to the write), so one per response was garbage.
 */
const WHOLE_HEAD: WholeHead = {
  startLine: "",
  asReceived: true,
  edits: NO_EDITS,
  body: new Uint8Array(0),
  bodyFrom: 0,
  bodyTo: 0,
};

function wholeHead(
  startLine: string,
  asReceived: boolean,
  edits: readonly HeaderEdit[],
  body: Uint8Array,
  bodyFrom: number,
  bodyTo: number,
): WholeHead {
  const head = WHOLE_HEAD;
  head.startLine = startLine;
  head.asReceived = asReceived;
  head.edits = edits;
  head.body = body;
  head.bodyFrom = bodyFrom;
  head.bodyTo = bodyTo;
  return head;
}

/**
 * Sends the head and the body bytes in hand after it (of `length`), counting the
 * head's bytes: as one buffer, or as fields to an HTTP/2 stream, which would otherwise
 * split again the bytes written here.
 */
function sendHead(
  exchange: Exchange,
  res: ResponseHead,
  plan: FieldPlan,
  head: HeadOptions & { body: Uint8Array; bodyFrom: number; bodyTo: number },
  length: number,
): boolean | Promise<boolean> {
  const inHand = head.bodyTo - head.bodyFrom;
  const client = exchange.client;
  const taker = headTaker(client);
  if (taker !== null) return sendFields(taker, exchange, res, plan, head, length);
  const size = copiedHeadSize(res.fields, plan, head);
  if (size < 0) {
    const bytes = headWrittenAnew(res.fields, plan, head);
    exchange.out += bytes.length - inHand;
    return send(client, bytes);
  }
  // Built where the client's connection says (on Bun a buffer shared by all, no allocation) and written at once.
  const out = client.outBuffer(size);
  fillCopiedHead(out, res.fields, plan, head);
  exchange.out += size - inHand;
  return sendOut(client, out, size);
}

/** sendHead to an HTTP/2 stream: its fields handed over one by one, no closure and no array per response. */
function sendFields(
  taker: HeadTaker,
  exchange: Exchange,
  res: ResponseHead,
  plan: FieldPlan,
  head: HeadOptions & { body: Uint8Array; bodyFrom: number; bodyTo: number },
  length: number,
): boolean | Promise<boolean> {
  const fields = PLANNED.of(res.fields, plan, head.edits);
  exchange.out += fields.headLength(res.status);
  let written: Promise<void>;
  try {
    written = taker.writeResponse(res.status, fields, head.body, head.bodyFrom, head.bodyTo, length);
  } catch {
    return false;
  }
  return writtenAs(written);
}

/** The head handed to a HeadTaker, filled in per response: the taker reads it at once and keeps none of it. */
const PLANNED = new PlannedFields();

/** `conn`'s HeadTaker (an HTTP/2 stream), if it is one. */
function headTaker(conn: ReplayConn): HeadTaker | null {
  const inner = conn.inner as Partial<HeadTaker>;
  return typeof inner.writeResponse === "function" ? inner as HeadTaker : null;
}

/**
 * A response on its way to the client, with what its end needs: the exchange to
 * report, the upstream connection to give back (and whether it may be reused), and
 * whether the client connection goes on.
 */
class ForwardedResponse {
  readonly exchange: Exchange;
  readonly route: HttpRoute;
  readonly lease: UpstreamLease;
  readonly upstream: ReplayConn;

  constructor(
    pending: PendingResponse,
    readonly status: number,
    readonly framing: BodyFraming,
    readonly upstreamKeepAlive: boolean,
    readonly close: boolean,
  ) {
    this.exchange = pending.proxied.exchange;
    this.route = pending.proxied.route;
    this.lease = pending.lease;
    this.upstream = pending.upstream;
  }

  /** The response ended (`end`): see `finished`. */
  finish(end: CopyEnd): boolean {
    const { exchange, route, lease, status, framing, upstreamKeepAlive, close } = this;
    return finished(exchange, route, lease, status, framing, upstreamKeepAlive, close, end);
  }
}

/**
 * A response ended (`end`): reports it, gives the upstream back (for reuse if
 * `upstreamKeepAlive` and it ended cleanly), and says whether the client goes on
 * (not if `close`).
 */
function finished(
  exchange: Exchange,
  route: HttpRoute,
  lease: UpstreamLease,
  status: number,
  framing: BodyFraming,
  upstreamKeepAlive: boolean,
  close: boolean,
  end: CopyEnd,
): boolean {
  exchange.report(route, status);
  if (end !== "done" && end !== "done-extra" && !(end === "src-eof" && framing.kind === "until-close")) {
    // Too late for an error response: the client sees the cut short body and the close.
    route.release(lease, NOT_REUSABLE);
    // A client that leaves mid-response is its own business (wrk does it at every stop);
    // a target that stalls past the body deadline is said once, without alarm.
    const log = exchange.ctx.log;
    (end === "dst-error" ? log.debug : end === "src-timeout" ? log.info : log.warn)("response body cut short", {
      route: route.name,
      reason: end,
    });
    return false;
  }
  // The client's Connection header never reached the upstream, so only the upstream's own
  // word counts; bytes after the response would be an answer to nothing: do not reuse.
  route.release(lease, end === "done" && framing.kind !== "until-close" && upstreamKeepAlive);
  return !close;
}

/** A counted body whose head (and the body in hand) went out, or is going: the rest. */
async function restOfBody(
  forwarded: ForwardedResponse,
  sent: boolean | Promise<boolean>,
  inHand: number,
  length: number,
  end: CopyEnd,
): Promise<boolean> {
  const exchange = forwarded.exchange;
  if (sent !== true) {
    if (!(await sent)) return forwarded.finish("dst-error");
    exchange.out += inHand;
  }
  if (inHand < length) {
    end = await copyBody(forwarded.upstream, exchange.client, {
      exchange,
      framing: { kind: "length", length: length - inHand },
      dir: "out",
    });
  }
  return forwarded.finish(end);
}

/** A chunked or until-close body, its head sent first or with the first bytes (`coalesce`). */
async function streamedBody(
  forwarded: ForwardedResponse,
  head: Uint8Array,
  coalesce: boolean,
  dechunk: boolean,
): Promise<boolean> {
  const exchange = forwarded.exchange;
  if (!coalesce && !(await send(exchange.client, head))) return forwarded.finish("dst-error");
  const end = await copyBody(forwarded.upstream, exchange.client, {
    exchange,
    framing: forwarded.framing,
    dir: "out",
    dechunk,
    head: coalesce ? head : null,
  });
  return forwarded.finish(end);
}

/**
 * A 101: the connection becomes a tunnel, if it answers the switch the client asked
 * for (see switchRefusal); else a 502 and the close.
 */
function switchProtocols(
  pending: PendingResponse,
  res: ResponseHead,
  read: Uint8Array,
  restAt: number,
): Promise<boolean> {
  const { proxied, lease } = pending;
  const { exchange, route } = proxied;
  const refusal = proxied.upgrade
    ? switchRefusal(res, proxied.offered, proxied.websocketAccept)
    : "unexpected protocol switch";
  if (refusal !== null) {
    route.release(lease, NOT_REUSABLE);
    limited(exchange.ctx.log).warn("upstream failed", "route", { route: route.name, error: refusal });
    exchange.report(route, statusFor("bad-upstream"));
    return sendThenClose(exchange, vaneResponse(statusFor("bad-upstream"), "bad gateway", CLOSE));
  }
  const head = headBytes(res.fields, responsePlan(res, SWITCH), {
    startLine: `HTTP/1.1 101 ${res.reason}`,
    asReceived: res.version === "1.1",
    edits: NO_EDITS,
  });
  return tunnel(pending, head, 101, read, restAt);
}

/**
 * A 2xx to an allowed CONNECT: the connection becomes a tunnel to what the target
 * (a forward proxy) connected to. Its upstream connection is never pooled again.
 */
function connectTunnel(
  pending: PendingResponse,
  res: ResponseHead,
  read: Uint8Array,
  restAt: number,
): Promise<boolean> {
  const head = headBytes(res.fields, responsePlan(res), {
    startLine: `HTTP/1.1 ${res.status} ${res.reason}`,
    asReceived: res.version === "1.1",
    edits: NO_EDITS,
  });
  return tunnel(pending, head, res.status, read, restAt);
}

/** Sends `head`, then relays both ways until either side is done; never goes on. */
async function tunnel(
  pending: PendingResponse,
  head: Uint8Array,
  status: number,
  read: Uint8Array,
  restAt: number,
): Promise<boolean> {
  const { proxied, lease, upstream } = pending;
  const { exchange, route } = proxied;
  // The tunnel's first bytes, if the upstream spoke at once.
  if (restAt < read.length) upstream.unread(read.slice(restAt));
  exchange.out += head.length;
  exchange.report(route, status);
  if (await send(exchange.client, head)) {
    // From here the connection is a tunnel; relay closes both ends when it is over.
    await relay(exchange.client, upstream, exchange.ctx.idleMs, { upstream() {}, downstream() {} });
  }
  route.release(lease, NOT_REUSABLE);
  return false;
}

/** vane's own last word on the connection. */
async function sendThenClose(exchange: Exchange, bytes: Uint8Array): Promise<boolean> {
  await send(exchange.client, bytes);
  return false;
}
