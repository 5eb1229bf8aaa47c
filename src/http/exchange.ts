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
import { vaneResponse } from "./headers.ts";
import type { HttpContext, HttpRoute, UpstreamLease } from "./types.ts";
import { limited } from "../telemetry/log-limit.ts";

/** Byte counts of one exchange; mutated in place on the hot path, so no per-chunk objects. */
export interface Counts {
  in: number;
  out: number;
}

/** One request on its way: its byte counts, and how vane reports and answers it. */
export class Exchange implements Counts {
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
  failed(
    route: HttpRoute,
    lease: UpstreamLease,
    code: 502 | 504,
    why: string,
    bodyConsumed: boolean,
  ): Promise<boolean> {
    route.release(lease, false);
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
export async function copyBody(
  from: ReplayConn,
  to: ReplayConn,
  framing: BodyFraming,
  dechunk: boolean,
  x: Exchange,
  dir: "in" | "out",
  /** A head to send in the same write as the first body bytes (counted by the caller). */
  head: Uint8Array | null = null,
): Promise<CopyEnd> {
  let remaining = framing.kind === "length" ? framing.length : Infinity;
  const decoder = framing.kind === "chunked" ? new ChunkedDecoder() : null;
  const idleMs = x.ctx.bodyMs;
  let extra = false;
  while (remaining > 0) {
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
          await taken(to, to.write(d), idleMs);
          x[dir] += d.length;
        }
      } else if (head !== null) {
        await taken(to, to.write(concatBytes(head, out)), idleMs);
        head = null;
        x[dir] += out.length;
      } else if (out.length > 0) {
        await taken(to, to.write(out), idleMs);
        x[dir] += out.length;
      }
    } catch {
      return "dst-error";
    } finally {
      to.clearCloseAt();
    }
    if (done) return extra ? "done-extra" : "done";
  }
  return "done";
}

/**
 * A write `to` must take within `ms`, else the deadline closes `to` (and the write
 * fails): nginx's `send_timeout`. A write taken at once sets nothing.
 */
function taken(to: ReplayConn, written: Promise<void>, ms: number): Promise<void> {
  if (written !== WRITTEN) to.closeAt(to.clock.now() + ms);
  return written;
}
