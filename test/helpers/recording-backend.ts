/**
 * A raw HTTP/1.1 backend that records every request exactly as it framed it, for tests
 * that ask what a target received (how many requests; their method, target, Host,
 * fields, body and framing; on which connection) rather than what status the client
 * saw. It frames messages the way a plain server does: Transfer-Encoding chunked, else
 * Content-Length (the first one), else no body; so bytes that vane forwards ambiguously
 * show up as extra requests here.
 */
import net from "node:net";
import { startServer, type TestServer } from "./net.ts";

export interface Recorded {
  /** "GET /x HTTP/1.1" */
  line: string;
  method: string;
  target: string;
  /** The first Host field's value, or null when there was none. */
  host: string | null;
  /** Fields as received, names lowercased. */
  fields: Array<[string, string]>;
  /** The body, de-chunked. */
  body: string;
  /** How the body was framed: Transfer-Encoding chunked, Content-Length, or neither (no body). */
  framing: "chunked" | "content-length" | "none";
  /** Which accepted connection (0-based) carried it. */
  conn: number;
}

export interface RecordingBackend extends TestServer {
  requests: Recorded[];
  /** Every field of this name (lowercased) of request i. */
  field(i: number, name: string): string[];
  /** Connections that ended (FIN or reset) so far. */
  ended: number;
}

/** How the backend answers one request; default a 200 with body "ok". */
export type Answer = (req: Recorded, socket: net.Socket) => string | null;

const OK: Answer = () => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

export async function recordingBackend(answer: Answer = OK): Promise<RecordingBackend> {
  const requests: Recorded[] = [];
  let conns = 0;
  const server = await startServer((s) => {
    const conn = conns++;
    let buf = "";
    let tunnel = false;
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      if (tunnel) return;
      buf += d;
      for (;;) {
        const got = takeRequest(buf, conn);
        if (got === null) break;
        buf = buf.slice(got.used);
        requests.push(got.req);
        const reply = answer(got.req, s);
        if (reply === null) {
          tunnel = true;
          return;
        }
        s.write(reply, "latin1");
      }
    });
    s.on("end", () => s.end());
    s.on("close", () => backend.ended++);
  });
  const backend: RecordingBackend = Object.assign(server, {
    requests,
    ended: 0,
    field: (i: number, name: string) => requests[i].fields.filter(([n]) => n === name).map(([, v]) => v),
  });
  return backend;
}

/** One whole request at the start of `buf`, and how many chars it used; null if not whole yet. */
function takeRequest(buf: string, conn: number): { req: Recorded; used: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.slice(0, end).split("\r\n");
  const line = lines[0];
  const [method, target] = line.split(" ");
  const fields = lines.slice(1).map((l): [string, string] => {
    const c = l.indexOf(":");
    return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
  });
  const get = (n: string) => fields.find(([k]) => k === n)?.[1];
  let at = end + 4;
  let body = "";
  const framing = get("transfer-encoding")?.toLowerCase().includes("chunked")
    ? "chunked"
    : get("content-length") !== undefined
    ? "content-length"
    : "none";
  if (framing === "chunked") {
    for (;;) {
      const eol = buf.indexOf("\r\n", at);
      if (eol < 0) return null;
      const size = parseInt(buf.slice(at, eol), 16);
      if (Number.isNaN(size)) return null;
      if (buf.length < eol + 2 + size + 2) return null;
      body += buf.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
      if (size === 0) break;
    }
  } else {
    const length = Number(get("content-length") ?? 0);
    if (buf.length < at + length) return null;
    body = buf.slice(at, at + length);
    at += length;
  }
  const host = get("host") ?? null;
  return { req: { line, method, target, host, fields, body, framing, conn }, used: at };
}
