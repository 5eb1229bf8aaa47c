/**
 * An HTTP/1.1 request to a pool that speaks h2c: the engine leases this as if it were
 * a connection to the target and writes its HTTP/1.1 request to it; this opens an
 * HTTP/2 stream on a shared connection (upstreams.ts) and reads the answer back to the
 * engine as HTTP/1.1 (chunked when the target gave no length, its trailers in the
 * chunked trailer section). One request per lease: the answer says `Connection: close`,
 * so the engine never keeps it for another. The mirror of stream.ts, which does the
 * same for HTTP/2 clients in front of the HTTP/1.1 engine.
 */
import { parseRequestHead, type RequestHead } from "../detect/http-head.ts";
import { ChunkedDecoder } from "../http/framing.ts";
import type { SocketAddress, TcpConn } from "../runtime/types.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import type { Failure } from "../errors/mod.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { HeaderField } from "./hpack.ts";
import type { H2ClientStream } from "./client-stream.ts";
import { CONNECTION_SPECIFIC } from "./field-rules.ts";
import { latin1Encode } from "../detect/bytes.ts";

/**
 * Opens the stream for a request's header list (upstreams.ts, bound to one pool);
 * `picked` hears of the target chosen for it.
 */
export type OpenUpstream = (
  fields: HeaderField[],
  endStream: boolean,
  picked: (entry: TargetHealth) => void,
) => Promise<H2ClientStream | Failure>;

/** Fields of the HTTP/1.1 request that HTTP/2 carries otherwise or not at all. */
const NOT_SENT = new Set([...CONNECTION_SPECIFIC, "host", "te", "expect"]);

type Body = { kind: "none" } | { kind: "length"; left: number } | { kind: "chunked"; decoder: ChunkedDecoder };

export class H1OverH2Conn implements TcpConn {
  readonly closed: Promise<void>;
  #markClosed!: () => void;
  #held: Uint8Array | null = null;
  #stream: H2ClientStream | null = null;
  #body: Body | null = null;
  #answer: "head" | "body" | "done" = "head";
  #chunked = false;
  #gone = false;
  #entry: TargetHealth | null = null;

  constructor(readonly open: OpenUpstream, readonly remote: SocketAddress, readonly local: SocketAddress) {
    this.closed = new Promise((r) => (this.#markClosed = r));
  }

  /** The target the request's stream went to (null before one was picked): a retry avoids it. */
  get entry(): TargetHealth | null {
    return this.#entry;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#gone) throw new Error("closed");
    if (this.#body === null) return await this.#head(data);
    await this.#bodyBytes(data);
  }

  /** The request head (whole, as the engine writes it), then whatever body came with it. */
  async #head(data: Uint8Array): Promise<void> {
    const buf = this.#held === null ? data : concatBytes(this.#held, data);
    const got = parseRequestHead(buf);
    if (got.status === "need-more") {
      this.#held = buf.slice();
      return;
    }
    this.#held = null;
    if (got.status === "error") throw new Error(`request head: ${got.reason}`);
    const head = got.head;
    const lengthField = head.headers.find(([n]) => n.toLowerCase() === "content-length")?.[1];
    const length = lengthField === undefined ? 0 : Number(lengthField);
    this.#body = head.headers.some(([n, v]) => n.toLowerCase() === "transfer-encoding" && /chunked/i.test(v))
      ? { kind: "chunked", decoder: new ChunkedDecoder() }
      : length > 0
      ? { kind: "length", left: length }
      : { kind: "none" };
    const stream = await this.open(requestFields(head), this.#body.kind === "none", (e) => (this.#entry = e));
    if ("reason" in stream) throw new Error(stream.reason);
    this.#stream = stream;
    const rest = buf.subarray(got.length);
    if (rest.length > 0) await this.#bodyBytes(rest);
  }

  async #bodyBytes(data: Uint8Array): Promise<void> {
    const body = this.#body!;
    const stream = this.#stream!;
    if (body.kind === "length") {
      const take = data.subarray(0, body.left);
      body.left -= take.length;
      if (take.length > 0 && !(await stream.write(take))) throw new Error("upstream stream closed");
      if (body.left === 0) await stream.end();
      return;
    }
    if (body.kind === "chunked") {
      for (const piece of body.decoder.push(data)) {
        if (!(await stream.write(piece))) throw new Error("upstream stream closed");
      }
      if (body.decoder.error !== null) throw new Error(body.decoder.error);
      if (body.decoder.done) await stream.end();
    }
  }

  async read(): Promise<Uint8Array | null> {
    const stream = this.#stream;
    if (stream === null || this.#gone || this.#answer === "done") return null;
    if (this.#answer === "head") {
      const head = await stream.response;
      if (!head.ok) return null; // the engine answers an upstream that closed before responding
      this.#answer = "body";
      return this.#responseHead(head.status, head.fields);
    }
    let piece: Uint8Array | null;
    try {
      piece = await stream.read();
    } catch {
      return null; // cut short: the engine sees the end of a body that is not whole
    }
    if (piece !== null) return this.#chunked ? chunk(piece) : piece;
    this.#answer = "done";
    return this.#chunked ? lastChunk(stream.trailers ?? []) : null;
  }

  /** The status line and fields; chunked unless the target gave a length, and never kept alive. */
  #responseHead(status: number, fields: HeaderField[]): Uint8Array {
    const lines = [`HTTP/1.1 ${status} `];
    let length = false;
    for (const f of fields) {
      if (f.name === "content-length") length = true;
      lines.push(`${f.name}: ${f.value}`);
    }
    this.#chunked = !length && status !== 204 && status !== 304;
    if (this.#chunked) lines.push("transfer-encoding: chunked");
    lines.push("connection: close", "", "");
    return latin1Encode(lines.join("\r\n"));
  }

  async closeWrite(): Promise<void> {
    await this.#stream?.end();
  }

  close(): void {
    if (this.#gone) return;
    this.#gone = true;
    if (this.#answer !== "done") this.#stream?.reset();
    this.#markClosed();
  }
}

/** The header list for the request the engine wrote: Host as :authority, the target as :path. */
function requestFields(head: RequestHead): HeaderField[] {
  const out: HeaderField[] = [
    { name: ":method", value: head.method },
    { name: ":scheme", value: "http" },
    { name: ":authority", value: head.headers.find(([n]) => n.toLowerCase() === "host")?.[1] ?? "" },
    { name: ":path", value: head.target },
  ];
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (!NOT_SENT.has(lower)) out.push({ name: lower, value });
  }
  return out;
}

function chunk(piece: Uint8Array): Uint8Array {
  return concatBytes(latin1Encode(`${piece.length.toString(16)}\r\n`), piece, latin1Encode("\r\n"));
}

function lastChunk(trailers: HeaderField[]): Uint8Array {
  return latin1Encode(`0\r\n${trailers.map((f) => `${f.name}: ${f.value}\r\n`).join("")}\r\n`);
}
