/**
 * The other half of the translation in request-head.ts: the engine writes its answer
 * to a stream as HTTP/1.1 bytes (the target's response with vane's edits, or vane's
 * own), and this reads them back as what HTTP/2 sends: interim and final header lists
 * (`:status` first, the connection-specific fields of §8.2.2 left out) and body bytes,
 * with where the body ends. The head was already checked by the engine's strict parser
 * when it came from the target, so this parse only splits it.
 */
import { latin1Decode } from "../detect/bytes.ts";
import { ChunkedDecoder } from "../http/framing.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import type { HeaderField, HpackEncoder } from "./hpack.ts";
import type { FieldSink, HeadFields } from "../http/types.ts";

/** What a piece of the engine's answer came to. `end`: the response is complete. */
export type ResponsePart =
  | { kind: "headers"; fields: HeaderField[]; interim: boolean; end: boolean }
  | { kind: "data"; data: Uint8Array; end: boolean };

const DROPPED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** Status codes as text, made once each (a three-digit number). */
const STATUS_TEXT: string[] = [];
function statusText(status: number): string {
  return STATUS_TEXT[status] ??= String(status);
}

type Body =
  | { kind: "head" }
  | { kind: "length"; left: number }
  | { kind: "chunked"; decoder: ChunkedDecoder }
  | { kind: "until-close" }
  | { kind: "done" };

/** Where every answer begins, and where it ends (shared, never modified). */
const HEAD: Body = { kind: "head" };
const DONE: Body = { kind: "done" };

/**
 * A final head the engine hands over as fields (HeadTaker), as one HPACK block with
 * `room` free bytes before it: `:status`, then the fields without the
 * connection-specific ones. The encoder takes them straight, no list made. The block is
 * left in `encoder.buffer`, up to the offset returned (HpackEncoder.finishIn): copy it on
 * before the next.
 */
export function encodeHead(encoder: HpackEncoder, status: number, head: HeadFields, room: number): number {
  encoder.begin(room);
  encoder.add(":status", statusText(status));
  const sink = SINK;
  sink.encoder = encoder;
  head.sendTo(sink);
  sink.encoder = null;
  return encoder.finishIn();
}

/** Hands fields on to an encoder, the connection-specific ones left out (names come in lower case). */
class DroppingSink implements FieldSink {
  encoder: HpackEncoder | null = null;
  field(name: string, value: string): void {
    if (!DROPPED.has(name)) this.encoder!.add(name, value);
  }
}
const SINK = new DroppingSink();

/** Reads one response, fed as the engine writes it. */
export class ResponseReader {
  #body: Body = HEAD;
  #held: Uint8Array | null = null;

  /** `headRequest`: the request was HEAD, so the answer has no body whatever its head says. */
  constructor(readonly headRequest: boolean) {}

  get done(): boolean {
    return this.#body.kind === "done";
  }

  /** The parts `bytes` make; throws on an answer that is not HTTP/1.1 (a bug, not the target's doing). */
  push(bytes: Uint8Array): ResponsePart[] {
    const out: ResponsePart[] = [];
    let input = bytes;
    while (input.length > 0 && this.#body.kind !== "done") {
      if (this.#body.kind === "head") {
        const rest = this.#head(input, out);
        if (rest === null) break;
        input = rest;
        continue;
      }
      input = this.#bodyBytes(input, out);
    }
    return out;
  }

  /**
   * The final head went as fields (the engine's HeadTaker path, see encodeHead), and
   * `length` body bytes follow, as writes or (`whole`) sent by the caller past this
   * reader: whether the answer has no body.
   */
  began(status: number, length: number, whole: boolean): boolean {
    const noBody = this.headRequest || status === 204 || status === 304 || length <= 0;
    this.#body = noBody || whole ? DONE : { kind: "length", left: length };
    return noBody;
  }

  /** The engine closed its side: an until-close body ends here. */
  end(): Extract<ResponsePart, { kind: "data" }> | null {
    if (this.#body.kind !== "until-close") return null;
    this.#body = { kind: "done" };
    return { kind: "data", data: new Uint8Array(0), end: true };
  }

  #head(input: Uint8Array, out: ResponsePart[]): Uint8Array | null {
    const buf = this.#held === null ? input : concatBytes(this.#held, input);
    const split = splitHead(buf);
    if (split === null) {
      if (buf.length > MAX_ANSWER_HEAD) throw new Error("engine answer not HTTP/1.1: head too large");
      this.#held = buf.slice();
      return null;
    }
    this.#held = null;
    const { status, fields } = split;
    const rest = buf.subarray(split.length);
    const interim = status < 200;
    if (interim) {
      out.push({ kind: "headers", fields, interim, end: false });
      return rest;
    }
    const noBody = this.headRequest || status === 204 || status === 304;
    this.#body = noBody
      ? { kind: "done" }
      : split.chunked
      ? { kind: "chunked", decoder: new ChunkedDecoder() }
      : split.contentLength >= 0
      ? (split.contentLength === 0 ? { kind: "done" } : { kind: "length", left: split.contentLength })
      : { kind: "until-close" };
    out.push({ kind: "headers", fields, interim, end: this.#body.kind === "done" });
    return rest;
  }

  /** Body bytes of `input`; returns what follows the body (nothing should). */
  #bodyBytes(input: Uint8Array, out: ResponsePart[]): Uint8Array {
    const body = this.#body;
    if (body.kind === "length") {
      const take = Math.min(body.left, input.length);
      body.left -= take;
      if (body.left === 0) this.#body = { kind: "done" };
      out.push({ kind: "data", data: input.subarray(0, take), end: body.left === 0 });
      return input.subarray(take);
    }
    if (body.kind === "chunked") {
      const pieces = body.decoder.push(input);
      if (body.decoder.error !== null) throw new Error(`engine answer: ${body.decoder.error}`);
      const done = body.decoder.done;
      if (done) this.#body = { kind: "done" };
      for (let i = 0; i < pieces.length; i++) {
        out.push({ kind: "data", data: pieces[i], end: done && i === pieces.length - 1 });
      }
      if (done && pieces.length === 0) out.push({ kind: "data", data: new Uint8Array(0), end: true });
      return new Uint8Array(0);
    }
    out.push({ kind: "data", data: input, end: false });
    return new Uint8Array(0);
  }
}

/** An answer's head longer than this is a bug in the engine, not something to wait on. */
const MAX_ANSWER_HEAD = 1024 * 1024;

/** A head of the engine's answer, as HTTP/2 sends it. */
interface SplitHead {
  status: number;
  /** `:status`, then the fields lower-cased, without the connection-specific ones. */
  fields: HeaderField[];
  /** -1: none given. */
  contentLength: number;
  chunked: boolean;
  /** The head's length in bytes, blank line included. */
  length: number;
}

/**
 * Splits the head at the start of `buf` (null: not whole yet). The engine wrote it, from
 * a head its strict parser took or from vane's own answers, so this only splits it: one
 * string per head, lines at CRLF, names at the first colon, values without their OWS.
 */
function splitHead(buf: Uint8Array): SplitHead | null {
  const end = headEnd(buf);
  if (end < 0) return null;
  const text = latin1Decode(buf, 0, end - 4);
  const status = Number(text.slice(9, 12));
  if (!text.startsWith("HTTP/1.") || !(status >= 100 && status <= 999)) {
    throw new Error(`engine answer not HTTP/1.1: ${JSON.stringify(text.slice(0, 40))}`);
  }
  const fields: HeaderField[] = [{ name: ":status", value: String(status) }];
  let contentLength = -1;
  let chunked = false;
  let connection: string[] | null = null;
  let at = text.indexOf("\r\n");
  while (at >= 0) {
    const next = text.indexOf("\r\n", at + 2);
    const line = text.slice(at + 2, next < 0 ? text.length : next);
    at = next;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = trimOws(line, colon + 1);
    if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
    else if (name === "connection") (connection ??= []).push(...tokens(value));
    if (DROPPED.has(name)) continue;
    if (name === "content-length") contentLength = Number(value);
    fields.push({ name, value });
  }
  if (connection !== null) {
    const named = new Set(connection);
    return { status, fields: fields.filter((f) => !named.has(f.name)), contentLength, chunked, length: end };
  }
  return { status, fields, contentLength, chunked, length: end };
}

/** The index just past the first CRLF CRLF in `buf`, or -1. */
function headEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 0x0a && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

/** `line` from `from`, without the spaces and tabs around it (RFC 9110 OWS). */
function trimOws(line: string, from: number): string {
  let a = from;
  let b = line.length;
  while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
  return line.slice(a, b);
}

/** Field names the Connection field lists: hop-by-hop by that word (RFC 9110 §7.6.1). */
function tokens(value: string): string[] {
  const named: string[] = [];
  for (const token of value.split(",")) {
    const t = token.trim().toLowerCase();
    if (t !== "") named.push(t);
  }
  return named;
}
