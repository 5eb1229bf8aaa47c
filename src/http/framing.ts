/**
 * Where an HTTP/1.x body ends (RFC 9112 §6). A proxy and the server behind it
 * must agree on this byte-for-byte, or one request becomes two ("request
 * smuggling"). So requests follow HAProxy's rules: any framing that two
 * implementations could read differently is refused, never guessed at.
 */
import type { RequestHead, ResponseHead } from "../detect/http-head.ts";
import {
  bit,
  F_CONNECTION,
  F_CONTENT_LENGTH,
  F_TRANSFER_ENCODING,
  F_UPGRADE,
  type Fields,
} from "../detect/http-fields.ts";

export type BodyFraming =
  | { kind: "none" }
  /**
   * `listed`: the length came as several Content-Length fields or a list ("5, 5") that
   * agree; it goes on as one field (see foldTo in headers.ts).
   */
  | { kind: "length"; length: number; listed?: boolean }
  | { kind: "chunked" }
  | { kind: "until-close" } // responses only
  | { kind: "error"; code: number; reason: string };

const NONE: BodyFraming = { kind: "none" };
const CHUNKED: BodyFraming = { kind: "chunked" };
const UNTIL_CLOSE: BodyFraming = { kind: "until-close" };

function error(code: number, reason: string): BodyFraming {
  return { kind: "error", code, reason };
}

/** Not empty, no comma, no whitespace at either end. */
function isToken(v: string): boolean {
  if (v === "" || v.includes(",")) return false;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  return first !== 0x20 && first !== 0x09 && last !== 0x20 && last !== 0x09;
}

/** Splits comma-separated list values (RFC 9110 §5.6.1), trimming OWS and dropping empty elements. */
function listTokens(values: string[]): string[] {
  // The usual one value of one token ("keep-alive", "chunked"): nothing to split or trim.
  if (values.length === 1 && isToken(values[0])) return values;
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = part.trim();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

/**
 * The one Content-Length these values agree on, or null if they are malformed
 * or disagree. "5, 5" and two "5" headers collapse to 5 (RFC 9110 §8.6);
 * "5, 6", "+5", "5 5", "" and anything above 2^53-1 do not.
 */
function contentLength(values: string[]): number | null {
  let result = -1;
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = part.trim();
      // 16 digits already exceed 2^53-1; stop before Number() loses precision.
      if (t.length === 0 || t.length > 16) return null;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c < 0x30 || c > 0x39) return null;
      }
      const n = Number(t);
      if (n > Number.MAX_SAFE_INTEGER) return null;
      if (result !== -1 && n !== result) return null;
      result = n;
    }
  }
  return result;
}

/** Either framing field: most requests (GET) have neither. */
const FRAMING_FIELDS = bit(F_TRANSFER_ENCODING) | bit(F_CONTENT_LENGTH);

/**
 * The framings of the usual small lengths, made once and shared (like NONE: never
 * modified): most answers are small, and a framing per message was garbage.
 */
const SHARED_LENGTHS = 4096;
// Filled up front, so that it stays a plain dense array (a far index set first would make it sparse).
const LENGTHS: (BodyFraming | undefined)[] = new Array(SHARED_LENGTHS).fill(undefined);

/**
 * The framing of the one Content-Length of `fields`, read from its bytes when it is one
 * field of plain digits; null if invalid.
 */
function lengthOf(fields: Fields): BodyFraming | null {
  const i = fields.sole(F_CONTENT_LENGTH);
  if (i >= 0) {
    const n = fields.digits(i);
    if (n >= 0) {
      return n < SHARED_LENGTHS ? (LENGTHS[n] ??= { kind: "length", length: n }) : { kind: "length", length: n };
    }
  }
  const length = contentLength(fields.values(F_CONTENT_LENGTH));
  return length === null ? null : { kind: "length", length, listed: true };
}

/** Where the request body ends, or a 400/501 error for framing that could be read two ways. */
export function requestFraming(head: RequestHead): BodyFraming {
  const fields = head.fields;
  if ((fields.present & FRAMING_FIELDS) === 0) return NONE;
  const te = fields.values(F_TRANSFER_ENCODING);
  const cl = fields.values(F_CONTENT_LENGTH);
  if (te.length > 0) {
    // HTTP/1.0 has no chunked coding; a 1.0 server would read the body by Content-Length or not at all.
    if (head.version === "1.0") return error(400, "Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.3 lets TE override CL, but a backend that prefers CL is the CL.TE attack: refuse.
    if (cl.length > 0) return error(400, "both Transfer-Encoding and Content-Length");
    const codings = listTokens(te);
    const n = codings.length;
    // The final coding must be chunked, or nobody can tell where the body ends (§6.3).
    if (n === 0 || codings[n - 1].toLowerCase() !== "chunked") {
      return error(400, "request Transfer-Encoding must end with chunked");
    }
    for (let i = 0; i < n - 1; i++) {
      // Chunked twice ("chunked, chunked") is invalid (RFC 9112 §7.1); parsers differ on it, so refuse.
      if (codings[i].toLowerCase() === "chunked") return error(400, "chunked applied more than once");
    }
    // Other codings under chunked (gzip, …) are legal but not something we pass through.
    if (n > 1) return error(501, "unsupported transfer coding");
    return CHUNKED;
  }
  if (cl.length > 0) {
    return lengthOf(fields) ?? error(400, "invalid Content-Length");
  }
  return NONE;
}

/**
 * Where a response body ends (RFC 9112 §6.3). The request method matters: a
 * HEAD response and a successful CONNECT have no body whatever the headers say.
 * Malformed upstream framing is a 502 to the client.
 */
export function responseFraming(requestMethod: string, head: ResponseHead): BodyFraming {
  const status = head.status;
  if (status < 200 || status === 204 || status === 304) return NONE;
  if (requestMethod === "HEAD") return NONE;
  // After a 2xx to CONNECT the connection is a tunnel; its bytes are not a body.
  if (requestMethod === "CONNECT" && status < 300) return NONE;

  const fields = head.fields;
  const te = fields.values(F_TRANSFER_ENCODING);
  if (te.length > 0) {
    // §6.1: TE in a 1.0 message means the framing is faulty.
    if (head.version === "1.0") return error(502, "Transfer-Encoding in an HTTP/1.0 response");
    const codings = listTokens(te);
    let chunked = 0;
    for (const c of codings) if (c.toLowerCase() === "chunked") chunked++;
    const last = codings.length > 0 && codings[codings.length - 1].toLowerCase() === "chunked";
    if (chunked > (last ? 1 : 0)) return error(502, "invalid Transfer-Encoding");
    // TE overrides any Content-Length (§6.3 rule 3); when the last coding is not
    // chunked the body runs to the close (rule 4).
    return last ? CHUNKED : UNTIL_CLOSE;
  }
  if ((fields.present & bit(F_CONTENT_LENGTH)) !== 0) {
    return lengthOf(fields) ?? error(502, "invalid Content-Length in response");
  }
  return UNTIL_CLOSE;
}

/** Shared by every message without a Connection header (most of them): never modified. */
const NO_TOKENS: ReadonlySet<string> = new Set();

/** The sets of the usual single Connection values, matched on their bytes. */
const USUAL_TOKENS: [string, ReadonlySet<string>][] = ["keep-alive", "close", "upgrade"].map((t) => [t, new Set([t])]);

/** Token sets of other single Connection values seen, shared (they are never modified); bounded. */
const tokensByValue = new Map<string, ReadonlySet<string>>();
const TOKEN_SETS_KEPT = 64;

function tokenSet(values: string[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const t of listTokens(values)) out.add(t.toLowerCase());
  return out;
}

/** Lowercased tokens of every Connection field; worked out once per head. */
export function connectionTokens(fields: Fields): ReadonlySet<string> {
  return fields.connection ??= readConnection(fields);
}

function readConnection(fields: Fields): ReadonlySet<string> {
  if ((fields.present & bit(F_CONNECTION)) === 0) return NO_TOKENS;
  const i = fields.sole(F_CONNECTION);
  if (i >= 0) {
    for (const [value, tokens] of USUAL_TOKENS) if (fields.valueIs(i, value)) return tokens;
    const value = fields.value(i);
    const tokens = tokensByValue.get(value) ?? tokenSet([value]);
    if (tokensByValue.size < TOKEN_SETS_KEPT) tokensByValue.set(value, tokens);
    return tokens;
  }
  return tokenSet(fields.values(F_CONNECTION));
}

/** No protocol offered (shared, frozen). */
export const NO_PROTOCOLS: readonly string[] = Object.freeze([]);

/**
 * The protocols a request offers to switch to ("websocket", "h2c", …; lowercased, in
 * order), or none. An Upgrade header alone does not count: "upgrade" must also be a
 * Connection option (RFC 9110 §7.8).
 */
export function upgradeProtocols(head: RequestHead): readonly string[] {
  if (!connectionTokens(head.fields).has("upgrade")) return NO_PROTOCOLS;
  return listTokens(head.fields.values(F_UPGRADE)).map((t) => t.toLowerCase());
}

/** The protocols of a response's Upgrade fields (a 101's answer), lowercased. */
export function answeredProtocols(fields: Fields): string[] {
  return listTokens(fields.values(F_UPGRADE)).map((t) => t.toLowerCase());
}

/** Whether the connection stays open after this message (RFC 9112 §9.3). */
export function keepAlive(version: "1.0" | "1.1", fields: Fields): boolean {
  const tokens = connectionTokens(fields);
  if (tokens.has("close")) return false;
  return version === "1.1" || tokens.has("keep-alive");
}

/** Longest chunk-ext we skip over; HAProxy-like bound so a client cannot stall us on one line. */
const MAX_CHUNK_EXT = 1024;
/** Trailer section bound; trailers are dropped, so they only cost us. */
const MAX_TRAILERS = 8 * 1024;
/** 16 hex digits is the most a size ≤ 2^53-1 can need (even with leading zeros, beyond is abuse). */
const MAX_SIZE_DIGITS = 16;

const CR = 13;
const LF = 10;

// Decoder states (plain numbers rather than an enum, so any TS transpiler takes them).
const SIZE = 0; // reading chunk-size hex digits
const SIZE_WS = 1; // BWS after the size: only ";" may follow
const EXT = 2; // inside chunk-ext, until CR
const SIZE_LF = 3; // CR seen after the size line
const DATA = 4; // `remaining` bytes of chunk data
const DATA_CR = 5; // expecting CR after data
const DATA_LF = 6; // expecting LF after data
const TRAILER_START = 7; // at the start of a trailer line (CR here ends the message)
const TRAILER = 8; // inside a trailer line
const TRAILER_LF = 9; // CR seen inside a trailer line
const END_LF = 10; // CR of the final empty line seen
const DONE = 11;

/** Hex digit value, or -1. */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20; // ASCII lowercase
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Streaming decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1). Feed it
 * bytes as they arrive, split anywhere; it returns views into the input for the
 * body data, so nothing is copied. Chunk extensions and trailers are skipped.
 */
export class ChunkedDecoder {
  done = false;
  error: string | null = null;
  /** Bytes of `input` after the end of the message (pipelined next request), valid after done. */
  rest: Uint8Array | null = null;

  #state = SIZE;
  #remaining = 0; // chunk size being read, then data bytes left
  #digits = 0;
  #extBytes = 0;
  #trailerBytes = 0;

  push(input: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.error !== null) return out;
    if (this.done) {
      // Everything after the message belongs to whatever comes next.
      this.rest = input;
      return out;
    }
    const n = input.length;
    let i = 0;
    while (i < n) {
      // Data is the bulk of the bytes: take it as one slice, not byte by byte.
      if (this.#state === DATA) {
        const take = Math.min(this.#remaining, n - i);
        out.push(input.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = DATA_CR;
        continue;
      }
      const failure = this.#framingByte(input[i++]);
      if (failure !== null) return this.#fail(out, failure);
      if (this.done) {
        this.rest = input.subarray(i);
        return out;
      }
    }
    return out;
  }

  /** One byte of a size line, the CRLF after data, or the trailers: what is wrong with it, or null. */
  #framingByte(b: number): string | null {
    switch (this.#state) {
      case SIZE:
        return this.#sizeByte(b);
      case SIZE_WS:
        // BWS is only legal before a chunk-ext; "5 \r\n" is exactly the kind of
        // line two parsers disagree on.
        if (b === 0x3b) this.#state = EXT;
        else if (b !== 0x20 && b !== 0x09) return "invalid chunk size line";
        return null;
      case EXT:
        if (b === CR) this.#state = SIZE_LF;
        else if (b === LF) return "bare LF in chunk extension";
        else if ((b < 0x20 && b !== 0x09) || b === 0x7f) return "invalid chunk extension";
        else if (++this.#extBytes > MAX_CHUNK_EXT) return "chunk extension too long";
        return null;
      case SIZE_LF:
        if (b !== LF) return "bare CR after chunk size";
        this.#digits = 0;
        this.#extBytes = 0;
        this.#state = this.#remaining === 0 ? TRAILER_START : DATA;
        return null;
      case DATA_CR:
        if (b !== CR) return "missing CRLF after chunk data";
        this.#state = DATA_LF;
        return null;
      case DATA_LF:
        if (b !== LF) return "missing CRLF after chunk data";
        this.#state = SIZE;
        return null;
      case TRAILER_START:
        if (b === CR) {
          this.#state = END_LF;
          return null;
        }
      // falls through: the first byte of a trailer line
      case TRAILER:
        if (b === LF) return "bare LF in trailers";
        if (++this.#trailerBytes > MAX_TRAILERS) return "trailers too large";
        this.#state = b === CR ? TRAILER_LF : TRAILER;
        return null;
      case TRAILER_LF:
        if (b !== LF) return "bare CR in trailers";
        this.#state = TRAILER_START;
        return null;
      case END_LF:
        if (b !== LF) return "bare CR at end of chunked body";
        this.#state = DONE;
        this.done = true;
        return null;
    }
    return null;
  }

  /** A byte of the chunk size (hex digits, then CRLF, `;` for an extension or whitespace before one). */
  #sizeByte(b: number): string | null {
    const d = hexValue(b);
    if (d >= 0) {
      if (++this.#digits > MAX_SIZE_DIGITS) return "chunk size too long";
      if (this.#remaining > (Number.MAX_SAFE_INTEGER - d) / 16) return "chunk size too large";
      this.#remaining = this.#remaining * 16 + d;
    } else if (this.#digits === 0) {
      return "chunk size is not hex";
    } else if (b === CR) {
      this.#state = SIZE_LF;
    } else if (b === 0x3b) {
      this.#state = EXT;
    } else if (b === 0x20 || b === 0x09) {
      this.#state = SIZE_WS;
    } else {
      return b === LF ? "bare LF after chunk size" : "chunk size is not hex";
    }
    return null;
  }

  #fail(out: Uint8Array[], reason: string): Uint8Array[] {
    this.error = reason;
    return out;
  }
}
