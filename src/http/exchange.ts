/**
 * One request on its way through the engine (its byte counts and how vane answers
 * and reports it), and the moves of its bytes: writes that report failure instead of
 * throwing, and body copies.
 */
import type { ReplayConn } from "../forward/replay-conn.ts";
import type { TcpConn } from "../runtime/types.ts";
import { WRITTEN } from "../runtime/written.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import { type BodyFraming, ChunkedDecoder } from "./framing.ts";
import { CLOSE, STAY_OPEN, vaneResponse } from "./headers.ts";
import type { HttpContext, HttpRoute, UpstreamLease } from "./types.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { AccessEntry } from "../telemetry/access-entry.ts";
import type { RetryControl } from "./retry.ts";

/** Byte counts of one exchange; mutated in place on the hot path, so no per-chunk objects. */
export interface Counts {
  in: number;
  out: number;
}

/**
 * `bodyConsumed` for vane's own answers: the request body is behind us (or there was
 * none), so the connection may go on; or it is not, and the answer closes it.
 */
export const BODY_CONSUMED = true;
export const BODY_UNREAD = false;

/** `reusable` for HttpRoute.release: the upstream connection is closed, not pooled again. */
export const NOT_REUSABLE = false;

/** One request on its way: its byte counts, and how vane reports and answers it. */
export class Exchange implements Counts {
  in: number;
  out = 0;
  /** The request's access record, filled as it goes; null when the access log is off. */
  entry: AccessEntry | null = null;

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

  /** The retry budget this request took a retry from, given back with its answer. */
  retryHeld: RetryControl | null = null;

  /** The lease of the last target tried: its response (or the 502/504 for it) counts there. */
  lease: UpstreamLease | null = null;

  report(route: HttpRoute | null, code: number): void {
    if (this.retryHeld !== null) {
      this.retryHeld.done();
      this.retryHeld = null;
    }
    this.lease?.counted?.(code);
    this.ctx.onResponse({
      route: route?.name ?? null,
      pool: route?.pool ?? null,
      code,
      method: this.method,
      bytesIn: this.in,
      bytesOut: this.out,
    });
    const entry = this.entry;
    if (entry !== null) {
      entry.route = route?.name ?? null;
      entry.pool = route?.pool ?? null;
      entry.status = code;
      entry.bytesIn = this.in;
      entry.bytesOut = this.out;
      this.ctx.access!.log.record(entry);
    }
  }

  /** vane's own answer. The connection can only go on when the request body is behind us. */
  async answer(route: HttpRoute | null, code: number, text: string, bodyConsumed: boolean): Promise<boolean> {
    const close = !bodyConsumed || !this.keepAlive;
    const bytes = vaneResponse(code, text, close ? CLOSE : STAY_OPEN);
    this.out += bytes.length;
    const ok = await send(this.client, bytes);
    this.report(route, code);
    return ok && !close;
  }

  /** The upstream failed before a response began: 502 or 504, and the connection is not reused. */
  failed(
    route: HttpRoute,
    lease: UpstreamLease,
    code: 502 | 504,
    why: string,
    bodyConsumed: boolean,
  ): Promise<boolean> {
    route.release(lease, NOT_REUSABLE);
    return this.gaveUp(route, code, why, bodyConsumed);
  }

  /** The request failed upstream (`why`), with no connection left to give back: 502 or 504. */
  gaveUp(route: HttpRoute, code: 502 | 504, why: string, bodyConsumed: boolean): Promise<boolean> {
    limited(this.ctx.log).warn(code === 504 ? "upstream timeout" : "upstream failed", "route", {
      route: route.name,
      error: why,
    });
    return this.answer(route, code, code === 504 ? "upstream timeout" : "bad gateway", bodyConsumed);
  }
}

/**
 * How a body copy ended. "done-extra": complete, and more bytes followed it. "src-*"
 * is the side read from ("src-timeout": nothing came for the body deadline), "dst-error"
 * the side written to (failed, or took nothing for the body deadline and was closed).
 */
export type CopyEnd = "done" | "done-extra" | "src-eof" | "src-error" | "src-timeout" | "dst-error" | "bad-chunk";

const SENT = () => true;
const NOT_SENT = () => false;

/**
 * Writes, reporting failure instead of throwing: true at once when the socket took
 * every byte (nothing to await), else a promise of whether the write went through.
 */
export function send(conn: TcpConn, bytes: Uint8Array): boolean | Promise<boolean> {
  let written: Promise<void>;
  try {
    written = conn.write(bytes);
  } catch {
    return false;
  }
  return written === WRITTEN || written.then(SENT, NOT_SENT);
}

/** `send` of buf[0, n), a buffer `conn.outBuffer` gave or a pooled request head (see ReplayConn.writeOut). */
export function sendOut(conn: ReplayConn, buf: Uint8Array, n: number): boolean | Promise<boolean> {
  let written: Promise<void>;
  try {
    written = conn.writeOut(buf, n);
  } catch {
    return false;
  }
  return written === WRITTEN || written.then(SENT, NOT_SENT);
}

/** What a write that did not throw came to: true at once if it went through (WRITTEN), else a promise of whether it did. */
export function writtenAs(written: Promise<void>): boolean | Promise<boolean> {
  return written === WRITTEN || written.then(SENT, NOT_SENT);
}

/** What `copyBody` copies and for whom: made once per body, never per chunk. */
export interface BodyCopy {
  /** The exchange whose byte count (`dir`) grows, and whose context gives the body deadline. */
  readonly exchange: Exchange;
  /** How the body is framed. */
  readonly framing: BodyFraming;
  /** `in`: the request body, from the client; `out`: the response body, from the upstream. */
  readonly dir: "in" | "out";
  /** Write a chunked body's decoded data rather than its raw chunks. @default false */
  readonly dechunk?: boolean;
  /** A head to send in the same write as the first body bytes (counted by the caller). @default null */
  readonly head?: Uint8Array | null;
}

/**
 * Copies one body from `from` to `to` as framed. Chunked bodies go through raw
 * (a decoder only finds the end and checks the syntax), unless `dechunk` asks for
 * the decoded data. Bytes past the end are unread into `from`.
 *
 * Both ways are bounded by the body deadline (`ctx.bodyMs`): a read that brings
 * nothing for that long ends the copy ("src-timeout"), and so does a write the receiver
 * does not take for that long (its connection is closed: "dst-error"). A read from the
 * client (`in`) times out with its connection left open, so that the client can still
 * be told (408); a read from the upstream (`out`) closes the upstream, which is the end
 * of it anyway and costs no promise (ReplayConn.closeAt). Bytes already in hand and
 * writes taken at once touch no deadline.
 */
export async function copyBody(from: ReplayConn, to: ReplayConn, copy: BodyCopy): Promise<CopyEnd> {
  const { exchange, dir } = copy;
  const dechunk = copy.dechunk ?? false;
  let head = copy.head ?? null;
  const body = new BodyCursor(copy.framing);
  const idleMs = exchange.ctx.bodyMs;
  while (body.remaining > 0) {
    let chunk: Uint8Array | null;
    try {
      if (from.buffered) chunk = await from.read();
      else if (dir === "in") {
        const r = await from.readBy(from.clock.now() + idleMs);
        if (r === "timeout") return "src-timeout";
        chunk = r;
      } else {
        from.closeAt(from.clock.now() + idleMs);
        chunk = await from.read();
        from.clearCloseAt();
      }
    } catch {
      from.clearCloseAt();
      return from.timedOut ? "src-timeout" : "src-error";
    }
    if (chunk === null) return from.timedOut ? "src-timeout" : "src-eof";
    const out = body.take(chunk, from);
    if (out === null) return "bad-chunk";
    try {
      if (dechunk) {
        for (const d of body.data!) {
          await taken(to, to.write(d), idleMs);
          exchange[dir] += d.length;
        }
      } else if (head !== null) {
        await taken(to, to.write(concatBytes(head, out)), idleMs);
        head = null;
        exchange[dir] += out.length;
      } else if (out.length > 0) {
        await taken(to, to.write(out), idleMs);
        exchange[dir] += out.length;
      }
    } catch {
      return "dst-error";
    } finally {
      to.clearCloseAt();
    }
    if (body.done) return body.extra ? "done-extra" : "done";
  }
  return "done";
}

/**
 * Where a body copy stands: how much of a counted body is left, the decoder that finds a
 * chunked body's end, and whether the end came. One per copy; `take` makes no object
 * beyond the views of the chunk it returns.
 */
class BodyCursor {
  /** Bytes of a counted body still to come; Infinity for chunked and until-close bodies. */
  remaining: number;
  readonly decoder: ChunkedDecoder | null;
  /** The last chunk's decoded data (chunked bodies only). */
  data: Uint8Array[] | null = null;
  /** The body's end came. */
  done = false;
  /** More bytes followed the end (unread into the source). */
  extra = false;

  constructor(framing: BodyFraming) {
    this.remaining = framing.kind === "length" ? framing.length : Infinity;
    this.decoder = framing.kind === "chunked" ? new ChunkedDecoder() : null;
  }

  /** The part of `chunk` that is body, bytes past the end unread into `from`; null: bad chunked syntax. */
  take(chunk: Uint8Array, from: ReplayConn): Uint8Array | null {
    const decoder = this.decoder;
    if (decoder !== null) {
      this.data = decoder.push(chunk);
      if (decoder.error !== null) return null;
      if (!decoder.done) return chunk;
      this.done = true;
      const rest = decoder.rest!;
      if (rest.length > 0) {
        from.unread(rest.slice());
        this.extra = true;
      }
      return chunk.subarray(0, chunk.length - rest.length);
    }
    const remaining = this.remaining;
    if (chunk.length < remaining) {
      this.remaining = remaining - chunk.length;
      return chunk;
    }
    // Also covers until-close (remaining is Infinity, never reached).
    this.done = true;
    if (chunk.length > remaining) {
      from.unread(chunk.slice(remaining));
      this.extra = true;
    }
    return chunk.subarray(0, remaining);
  }
}

/**
 * A write `to` must take within `ms`, else the deadline closes `to` (and the write
 * fails): nginx's `send_timeout`. A write taken at once sets nothing.
 */
function taken(to: ReplayConn, written: Promise<void>, ms: number): Promise<void> {
  if (written !== WRITTEN) to.closeAt(to.clock.now() + ms);
  return written;
}
