/**
 * Reading a message head off a connection: whole in one read (parsed in place, no
 * async frame), or read on until it is whole or its deadline closes the connection.
 */
import { type HeadResult, ParsedHead } from "../detect/http-head.ts";
import type { ReplayConn } from "../forward/replay-conn.ts";

/**
 * A head parser (detect/http-head.ts): its verdict, or the whole head itself (a
 * ParsedHead, as parseResponse answers), which saves the verdict's object.
 */
export type HeadParser<T> = (buf: Uint8Array) => HeadResult<T> | ParsedHead<T>;

export type HeadRead<T> =
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
export function headFrom<T>(
  conn: ReplayConn,
  chunk: Uint8Array | null | undefined,
  parse: HeadParser<T>,
): HeadRead<T> | null {
  let out: HeadRead<T>;
  if (chunk === undefined || chunk === null) out = noHead(conn, chunk, 0);
  else {
    const result = parse(chunk);
    if (needsMore(result)) return null;
    out = headRead(result, chunk);
  }
  conn.clearCloseAt();
  return out;
}

/**
 * Reads on after `first` (a chunk with a head's beginning) until `parse` finds the
 * whole head (re-parsing all of it each time, as the parser expects), or until the
 * deadline set with `closeAt` closes the connection; then lifts that deadline.
 *
 * With `by` (a `conn.clock` time), that is the deadline instead, for the whole
 * rest of the head however it trickles in, and it leaves the connection open: a
 * "timeout" can still be answered (408). The read it cut short stays pending on `conn`.
 */
export async function readHead<T>(
  conn: ReplayConn,
  parse: HeadParser<T>,
  first: Uint8Array,
  by?: number,
): Promise<HeadRead<T>> {
  // The chunk is only valid until the next read: keep a copy.
  let acc = new Uint8Array(Math.max(2 * first.length, 4096));
  acc.set(first);
  let n = first.length;
  let out: HeadRead<T>;
  if (by !== undefined) conn.clearCloseAt();
  for (;;) {
    let chunk: Uint8Array | null | undefined;
    try {
      const r = by === undefined ? await conn.read() : await conn.readBy(by);
      if (r === "timeout") {
        out = { kind: "timeout", bytes: n };
        break;
      }
      chunk = r;
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
    if (!needsMore(result)) {
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
function headRead<T>(
  result: Exclude<HeadResult<T>, { status: "need-more" }> | ParsedHead<T>,
  buf: Uint8Array,
): HeadRead<T> {
  if (!(result instanceof ParsedHead) && result.status === "error") {
    return { kind: "error", code: result.code, reason: result.reason, bytes: buf.length };
  }
  const whole = result as ParsedHead<T> | { head: T; length: number };
  // A parsed head of `buf` is its own HeadRead (see ParsedHead); a request's is its verdict too.
  const head: unknown = whole.head;
  if (head instanceof ParsedHead && head.buf === buf) return head as HeadRead<T>;
  return { kind: "ok", head: whole.head, bytes: whole.length, buf };
}

/** Whether the parser wants more of the head than `buf` holds. */
function needsMore<T>(result: HeadResult<T> | ParsedHead<T>): result is { status: "need-more" } {
  return !(result instanceof ParsedHead) && result.status === "need-more";
}
