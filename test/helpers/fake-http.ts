/**
 * A scripted HTTP/1.1 backend on the server end of a fake connection (fake-conn.ts):
 * it reads each request whole (head, then a Content-Length or chunked body, kept raw),
 * records it, and writes whatever the test's handler answers. Just enough HTTP for
 * in-memory engine tests; the real parsers are what is under test, not this.
 */
import { bytes, type FakeConn } from "./fake-conn.ts";

export interface SeenRequest {
  /** The head as received, up to and including the blank line. */
  head: string;
  /** The body as received, framing included (chunk sizes and all). */
  body: string;
}

/** The answer to write (whole, as raw text), or null to close without one. */
export type FakeHandler = (req: SeenRequest) => string | null;

/** Serves requests on `conn` until it ends, the handler answers null, or either side says `Connection: close`. */
export async function serveFakeHttp(conn: FakeConn, handler: FakeHandler, seen: SeenRequest[]): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  const more = async (): Promise<boolean> => {
    const chunk = await conn.read().catch(() => null);
    if (chunk === null) return false;
    buf += decoder.decode(chunk, { stream: true });
    return true;
  };
  for (;;) {
    let end: number;
    while ((end = buf.indexOf("\r\n\r\n")) < 0) if (!(await more())) return;
    const head = buf.slice(0, end + 4);
    let bodyEnd: number;
    while ((bodyEnd = bodyEndIn(head, buf, end + 4)) < 0) if (!(await more())) return;
    const req = { head, body: buf.slice(end + 4, bodyEnd) };
    buf = buf.slice(bodyEnd);
    seen.push(req);
    const answer = handler(req);
    if (answer === null) return conn.close();
    try {
      await conn.write(bytes(answer));
    } catch {
      return;
    }
    if (/\r\nconnection: *close\r\n/i.test(head) || /\r\nconnection: *close\r\n/i.test(answer)) return conn.close();
  }
}

/** Where the body that starts at `from` ends in `buf`, or -1 while it is incomplete. */
function bodyEndIn(head: string, buf: string, from: number): number {
  if (/\r\ntransfer-encoding: *chunked\r\n/i.test(head)) return chunkedEnd(buf, from);
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(head);
  const n = length ? Number(length[1]) : 0;
  return buf.length - from >= n ? from + n : -1;
}

/** The end of a chunked body (no trailer fields) starting at `pos`, or -1 while incomplete. */
function chunkedEnd(buf: string, pos: number): number {
  for (;;) {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return -1;
    const size = parseInt(buf.slice(pos, eol), 16);
    if (size === 0) return buf.length >= eol + 4 ? eol + 4 : -1;
    pos = eol + 2 + size + 2;
    if (pos > buf.length) return -1;
  }
}

/** A 200 answer with `body` and its length. */
export function ok(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}
