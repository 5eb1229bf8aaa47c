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
import { headBytes, responsePlan, vaneResponse, writtenAnew } from "./headers.ts";
import { copyBody, type CopyEnd, type Exchange, send } from "./exchange.ts";
import { switchRefusal } from "./upgrade.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { HeaderEdit } from "./headers.ts";
import type { HttpRoute, UpstreamLease } from "./types.ts";
import { limited } from "../telemetry/log-limit.ts";
import { statusFor } from "./failure-status.ts";

/** The request a response answers, as the engine's Proxied holds it (what this half reads of it). */
interface AnsweredRequest {
  readonly x: Exchange;
  readonly route: HttpRoute;
  readonly head: RequestHead;
  readonly decision: { readonly response: readonly HeaderEdit[] };
  /** An upgrade was asked for: what a 101 may switch to (see engine.ts's Proxied). */
  readonly upgrade: boolean;
  readonly offered: readonly string[];
  readonly websocketAccept: string | null;
}

/** The engine's Waiting: the request sent upstream on `lease`, its answer read from `upstream`. */
interface Waiting {
  readonly p: AnsweredRequest;
  readonly lease: UpstreamLease;
  readonly upstream: ReplayConn;
}

/**
 * Streams the upstream response to the client, for the request `w` waited for:
 * whether the client connection goes on, at once when nothing had to wait.
 */
export function respond(
  w: Waiting,
  res: ResponseHead,
  /**
   * The read the head came in, valid until the next read on the upstream: what follows
   * the head from `restAt` on (a body, or garbage after a bodiless response) is sent
   * or given back from there, with no view made of it.
   */
  read: Uint8Array,
  restAt: number,
): boolean | Promise<boolean> {
  const { p, upstream } = w;
  const { x, route } = p;
  const req = p.head;
  if (res.status === 101) return switchProtocols(w, res, read, restAt);
  const connect = req.method === "CONNECT";
  if (connect && res.status >= 200 && res.status < 300) return connectTunnel(w, res, read, restAt);
  const framing = responseFraming(req.method, res);
  if (framing.kind === "error") {
    route.release(w.lease, false);
    x.report(route, statusFor("bad-upstream"));
    return sendThenClose(x, vaneResponse(statusFor("bad-upstream"), framing.reason, true));
  }
  const ctx = x.ctx;
  const restLen = read.length - restAt;
  // A 1.0 client cannot read chunked: decode the body and end it with the close.
  const dechunk = framing.kind === "chunked" && req.version === "1.0";
  // A reload while the request was in flight: say this is the connection's last answer.
  const close = !x.keepAlive || framing.kind === "until-close" || dechunk || ctx.retired?.() === true;
  const connection = close ? "close" : req.version === "1.0" ? "keep-alive" : null;
  const plan = responsePlan(
    res,
    false,
    connection,
    dechunk,
    framing.kind === "length" && framing.listed ? framing.length : -1,
  );
  // Read now: the response's fields are only good until the next read of the upstream.
  // A connection that carried a CONNECT is never reused, whatever the answer.
  const upstreamKeepAlive = keepAlive(res.version, res.fields) && !connect;
  const asReceived = res.version === "1.1";
  // The flow's response edits (set and add), applied to the head.
  const edits = p.decision.response;
  // Only a head written anew needs its start line as a string.
  const startLine = writtenAnew(asReceived, edits) ? `HTTP/1.1 ${res.status} ${res.reason}` : "";
  const done = new Done(x, route, w.lease, res.status, framing, upstreamKeepAlive, close);

  if (framing.kind === "none" || framing.kind === "length") {
    // The usual small response came whole in one read: head and body go out in one
    // write, built in one buffer. A body still to come (a stream) must not hold the
    // head back: what is in hand goes now, and the rest follows as it comes.
    const length = framing.kind === "length" ? framing.length : 0;
    const inHand = Math.min(restLen, length);
    const bytes = headBytes(res.fields, plan, startLine, asReceived, edits, read, restAt, restAt + inHand);
    // Bytes after the body answer nothing; the connection is not reused then.
    const end: CopyEnd = restLen > length ? "done-extra" : "done";
    x.out += bytes.length - inHand;
    const sent = send(x.client, bytes);
    if (sent === true) {
      x.out += inHand;
      if (inHand === length) return done.with(end);
    }
    return restOfBody(done, upstream, sent, inHand, length, end);
  }
  // Chunked (checked by the decoder on the way) or until the close: the bytes in
  // hand go through the copy, the first of them in the head's write.
  const h = headBytes(res.fields, plan, startLine, asReceived, edits);
  if (restLen > 0) upstream.unread(read.slice(restAt));
  x.out += h.length;
  return streamedBody(done, upstream, h, restLen > 0 && !dechunk, dechunk);
}

/** How a response ended: reports it, gives the upstream back, and says whether the client goes on. */
class Done {
  constructor(
    readonly x: Exchange,
    readonly route: HttpRoute,
    readonly lease: UpstreamLease,
    readonly status: number,
    readonly framing: BodyFraming,
    readonly upstreamKeepAlive: boolean,
    readonly close: boolean,
  ) {}

  with(end: CopyEnd): boolean {
    const { x, route, lease, framing } = this;
    x.report(route, this.status);
    if (end !== "done" && end !== "done-extra" && !(end === "src-eof" && framing.kind === "until-close")) {
      // Too late for an error response: the client sees the cut short body and the close.
      route.release(lease, false);
      // A client that leaves mid-response is its own business (wrk does it at every stop);
      // a target that stalls past the body deadline is said once, without alarm.
      const log = x.ctx.log;
      (end === "dst-error" ? log.debug : end === "src-timeout" ? log.info : log.warn)("response body cut short", {
        route: route.name,
        reason: end,
      });
      return false;
    }
    // The client's Connection header never reached the upstream, so only the upstream's own
    // word counts; bytes after the response would be an answer to nothing: do not reuse.
    route.release(lease, end === "done" && framing.kind !== "until-close" && this.upstreamKeepAlive);
    return !this.close;
  }
}

/** A counted body whose head (and the body in hand) went out, or is going: the rest. */
async function restOfBody(
  done: Done,
  upstream: ReplayConn,
  sent: boolean | Promise<boolean>,
  inHand: number,
  length: number,
  end: CopyEnd,
): Promise<boolean> {
  const x = done.x;
  if (sent !== true) {
    if (!(await sent)) return done.with("dst-error");
    x.out += inHand;
  }
  if (inHand < length) {
    end = await copyBody(upstream, x.client, { kind: "length", length: length - inHand }, false, x, "out");
  }
  return done.with(end);
}

/** A chunked or until-close body, its head `h` sent first or with the first bytes (`coalesce`). */
async function streamedBody(
  done: Done,
  upstream: ReplayConn,
  h: Uint8Array,
  coalesce: boolean,
  dechunk: boolean,
): Promise<boolean> {
  const x = done.x;
  if (!coalesce && !(await send(x.client, h))) return done.with("dst-error");
  return done.with(await copyBody(upstream, x.client, done.framing, dechunk, x, "out", coalesce ? h : null));
}

/**
 * A 101: the connection becomes a tunnel, if it answers the switch the client asked
 * for (see switchRefusal); else a 502 and the close.
 */
function switchProtocols(w: Waiting, res: ResponseHead, read: Uint8Array, restAt: number): Promise<boolean> {
  const { p, lease } = w;
  const { x, route } = p;
  const refusal = p.upgrade ? switchRefusal(res, p.offered, p.websocketAccept) : "unexpected protocol switch";
  if (refusal !== null) {
    route.release(lease, false);
    limited(x.ctx.log).warn("upstream failed", "route", { route: route.name, error: refusal });
    x.report(route, statusFor("bad-upstream"));
    return sendThenClose(x, vaneResponse(statusFor("bad-upstream"), "bad gateway", true));
  }
  const h = headBytes(
    res.fields,
    responsePlan(res, true, null),
    `HTTP/1.1 101 ${res.reason}`,
    res.version === "1.1",
    [],
  );
  return tunnel(w, h, 101, read, restAt);
}

/**
 * A 2xx to an allowed CONNECT: the connection becomes a tunnel to what the target
 * (a forward proxy) connected to. Its upstream connection is never pooled again.
 */
function connectTunnel(w: Waiting, res: ResponseHead, read: Uint8Array, restAt: number): Promise<boolean> {
  const plan = responsePlan(res, false, null);
  const h = headBytes(res.fields, plan, `HTTP/1.1 ${res.status} ${res.reason}`, res.version === "1.1", []);
  return tunnel(w, h, res.status, read, restAt);
}

/** Sends the head `h`, then relays both ways until either side is done; never goes on. */
async function tunnel(w: Waiting, h: Uint8Array, status: number, read: Uint8Array, restAt: number): Promise<boolean> {
  const { p, lease, upstream } = w;
  const { x, route } = p;
  // The tunnel's first bytes, if the upstream spoke at once.
  if (restAt < read.length) upstream.unread(read.slice(restAt));
  x.out += h.length;
  x.report(route, status);
  if (await send(x.client, h)) {
    // From here the connection is a tunnel; relay closes both ends when it is over.
    await relay(x.client, upstream, x.ctx.idleMs, { upstream() {}, downstream() {} });
  }
  route.release(lease, false);
  return false;
}

/** vane's own last word on the connection. */
async function sendThenClose(x: Exchange, bytes: Uint8Array): Promise<boolean> {
  await send(x.client, bytes);
  return false;
}
