/**
 * A raw TCP client for integration tests: send bytes exactly as written (a malformed
 * head, a smuggling attempt, a trickle), read until the server closes or a timeout,
 * and split what came back into HTTP/1.1 responses. On node:net, so it runs the same
 * on Deno and Bun and shares no code with the adapter under test.
 */
import net from "node:net";

export interface ExchangeOptions {
  /**
   * Send FIN after the data (the server sees the end of the request stream).
   * @default true
   */
  end?: boolean;
  /** Stop waiting after this long and resolve with what arrived; by default wait for the close. */
  timeoutMs?: number;
}

/**
 * Connects to 127.0.0.1:`port`, sends `data` (then FIN, unless `end: false`), and
 * collects everything until the server closes (or `timeoutMs` passes).
 */
export function exchange(port: number, data: Uint8Array | string = "", opts: ExchangeOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      if (data.length) s.write(data);
      if (opts.end ?? true) s.end();
    });
    const timer = opts.timeoutMs === undefined ? null : setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    }, opts.timeoutMs);
    s.on("data", (d) => chunks.push(d));
    s.on("end", () => {
      if (timer) clearTimeout(timer);
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
  });
}

/** A bare client socket, connected (half-open allowed: the server's FIN is "end", not "close"). */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Reads from a socket until `n` bytes have arrived. */
export function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    // Listeners come off when done, so a long conversation does not pile them up.
    const cleanup = () => {
      s.off("data", onData);
      s.off("error", onError);
      s.off("end", onEnd);
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const onError = (err: Error) => (cleanup(), reject(err));
    const onEnd = () => (cleanup(), reject(new Error(`stream ended after ${got} of ${n} bytes`)));
    s.on("data", onData);
    s.on("error", onError);
    s.on("end", onEnd);
  });
}

/** Everything a socket receives until it ends (or errs), as latin1 text, and when that was. */
export function collect(s: net.Socket): Promise<{ text: string; at: number }> {
  return new Promise((resolve) => {
    let text = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (text += d));
    const done = () => resolve({ text, at: performance.now() });
    s.on("end", done);
    s.on("error", done);
    s.on("close", done);
  });
}

/** Reads one response (Content-Length framed) from a socket that stays open. */
export function readResponse(s: net.Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      s.off("data", onData);
      resolve({ head, body: buf.slice(end + 4, end + 4 + length) });
    };
    s.on("data", onData);
    s.once("error", reject);
  });
}

/**
 * The status codes of every status line in `reply`, in order. A plain search, so a
 * response that hides inside another's body (smuggled) counts too.
 */
export function statuses(reply: Buffer | string): number[] {
  const text = typeof reply === "string" ? reply : reply.toString("latin1");
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** One HTTP/1.1 response as `splitResponses` framed it. */
export interface RawResponse {
  status: number;
  /** The head without its final CRLF CRLF: status line and fields. */
  head: string;
  /** Fields as received, names lowercased. */
  fields: Array<[string, string]>;
  /** The body, de-chunked if it was chunked. */
  body: string;
}

/**
 * Splits the bytes of a connection's answers into responses, framed as a client frames
 * them: no body for 1xx, 204 and 304, else chunked, else Content-Length, else to the
 * end. Stops at bytes that do not frame (a partial answer), which stay unreturned.
 */
export function splitResponses(reply: Buffer | string): RawResponse[] {
  let text = typeof reply === "string" ? reply : reply.toString("latin1");
  const out: RawResponse[] = [];
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) return out;
    const head = text.slice(0, end);
    const [line, ...rest] = head.split("\r\n");
    const status = Number(line.slice(9, 12));
    const fields = rest.map((l): [string, string] => {
      const c = l.indexOf(":");
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
    });
    const body = bodyOf(text.slice(end + 4), status, fields);
    if (body === null) return out;
    out.push({ status, head, fields, body: body.body });
    text = text.slice(end + 4 + body.used);
  }
}

/** The body at the start of `text` and how many chars its framing used; null if incomplete. */
function bodyOf(text: string, status: number, fields: Array<[string, string]>): { body: string; used: number } | null {
  if (status < 200 || status === 204 || status === 304) return { body: "", used: 0 };
  const get = (n: string) => fields.find(([k]) => k === n)?.[1];
  if (get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    let at = 0;
    let body = "";
    for (;;) {
      const eol = text.indexOf("\r\n", at);
      if (eol < 0) return null;
      const size = parseInt(text.slice(at, eol), 16);
      if (Number.isNaN(size) || text.length < eol + 2 + size + 2) return null;
      body += text.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
      if (size === 0) return { body, used: at };
    }
  }
  const length = get("content-length");
  if (length === undefined) return { body: text, used: text.length };
  const n = Number(length);
  return text.length < n ? null : { body: text.slice(0, n), used: n };
}
