/**
 * HTTP/1.x message heads (RFC 9112), parsed strictly the way HAProxy does: a
 * proxy that is more lenient than the server behind it is how requests get
 * smuggled, so anything ambiguous is refused rather than "fixed".
 *
 * The parsers are incremental by re-scanning: call them with everything
 * received so far and they answer "need-more" until the head is complete. They
 * scan bytes with a lookup table and short loops, number the fields a proxy acts on,
 * and leave the fields as offsets (see http-fields.ts): strings are made for the
 * start line and Host, and for any field only when it is read.
 */

export const MAX_HEAD_BYTES = 64 * 1024;
export const MAX_HEADERS = 100;
/** Longest request-target accepted; longer is 414 (HAProxy and nginx use 8 KiB too). */
export const MAX_TARGET_BYTES = 8 * 1024;
/**
 * Longest header line (name, colon and value) a request may carry; longer is 431. nginx's
 * `large_client_header_buffers` is 8 KiB too. Set per listener (`http.max-header-line`).
 */
export const MAX_HEADER_LINE = 8 * 1024;
/** RFC 9112 §2.2 lets a server skip empty lines before the request line; a flood of them is not a client. */
const MAX_LEADING_EMPTY_LINES = 4;

import { latin1Decode } from "./bytes.ts";
import { bit, copyLayout, F_HOST, Fields, type Header, kindAt, LINE } from "./http-fields.ts";

export type { Header } from "./http-fields.ts";
export { Fields, headerValues } from "./http-fields.ts";

export interface RequestHead {
  method: string;
  target: string;
  version: "1.0" | "1.1";
  /** Host header value, lowercased, port and trailing dot removed; null if absent. */
  host: string | null;
  fields: Fields;
  /** Every field as strings, made when first asked for (see Fields: only while the bytes are good). */
  readonly headers: Header[];
}

export interface ResponseHead {
  version: "1.0" | "1.1";
  status: number;
  /** As the fields, a parsed head's reason phrase is read from its bytes: only while they are good. */
  readonly reason: string;
  fields: Fields;
  /** As RequestHead.headers. */
  readonly headers: Header[];
}

/**
 * A whole head as a read of one hands it on (http/head-read.ts's HeadRead): a parsed
 * head is that too, read through getters (no slot of its own), so the usual message
 * costs one object for its head rather than three (the head, the parser's verdict,
 * the read's). A request head is also its parser's verdict (`status` "ok"); a
 * response's `status` is its code, so parseResponseHead wraps it.
 */
export abstract class ParsedHead<T> {
  abstract readonly fields: Fields;
  /** The head's length in bytes: what follows it in `buf` starts there. */
  abstract readonly length: number;
  get kind(): "ok" {
    return "ok";
  }
  get head(): T {
    return this as unknown as T;
  }
  /** `length`, as HeadRead names it. */
  get bytes(): number {
    return this.length;
  }
  /** The bytes parsed, which start with the head (valid until the next read into them). */
  get buf(): Uint8Array {
    return this.fields.bytes;
  }
  get headers(): Header[] {
    return this.fields.list;
  }
}

class ParsedRequest extends ParsedHead<RequestHead> implements RequestHead {
  constructor(
    readonly method: string,
    readonly target: string,
    readonly version: "1.0" | "1.1",
    readonly host: string | null,
    readonly fields: Fields,
    readonly length: number,
  ) {
    super();
  }

  /** As its parser's verdict (HeadResult). */
  get status(): "ok" {
    return "ok";
  }
}

/**
 * A request head from its parts, as parseRequestHead makes one: for a head written and
 * laid out by request-writer.ts, which checks what the parser would.
 */
export function parsedRequest(
  method: string,
  target: string,
  version: "1.0" | "1.1",
  host: string | null,
  fields: Fields,
): RequestHead {
  return new ParsedRequest(method, target, version, host, fields, fields.start(fields.count) + 2);
}

class ParsedResponse extends ParsedHead<ResponseHead> implements ResponseHead {
  constructor(
    readonly version: "1.0" | "1.1",
    readonly status: number,
    /** Where the reason phrase ends in the bytes (it starts at 13; 12 or 13: none). */
    readonly reasonEnd: number,
    readonly fields: Fields,
    readonly length: number,
  ) {
    super();
  }

  /**
   * Read from the bytes when asked, as the fields are (so only while they are good):
   * only a head written anew says it, and the usual response goes on as received.
   */
  get reason(): string {
    return this.reasonEnd > 13 ? latin1Decode(this.fields.bytes, 13, this.reasonEnd) : "";
  }
}

export type HeadResult<T> =
  | { status: "need-more" }
  | { status: "ok"; head: T; length: number }
  | { status: "error"; code: number; reason: string };

type HeadError = { status: "error"; code: number; reason: string };

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;
const DEL = 0x7f;

const NEED_MORE = { status: "need-more" } as const;

/** RFC 9110 §5.6.2 tchar: the bytes allowed in methods and header names (1; never modified). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** "HTTP/" DIGIT "." DIGIT, checked byte by byte so a partial version can be judged too. */
function versionByteOk(k: number, b: number): boolean {
  if (k < 5) return b === "HTTP/".charCodeAt(k);
  if (k === 6) return b === 0x2e;
  return b >= 0x30 && b <= 0x39;
}

function fail(code: number, reason: string): HeadError {
  return { status: "error", code, reason };
}

/**
 * A plausible start of an HTTP/1 request: an uppercase method (1..20 letters)
 * and a space, or a prefix of that. Used to sniff a connection's protocol
 * before committing to the HTTP parser (TLS starts 0x16, SSH starts "SSH-").
 */
export function looksLikeHttpRequest(first: Uint8Array): boolean {
  const n = first.length;
  for (let i = 0; i < n; i++) {
    const b = first[i];
    if (b === SP) return i > 0;
    if (i >= 20 || b < 0x41 || b > 0x5a) return false;
  }
  // Every byte so far fits (an empty buffer rules nothing out).
  return true;
}

/**
 * The request line just parsed (parsing is synchronous): parseRequestLine leaves its
 * parts here and answers LINE_OK, so a line costs no object of its own.
 */
const line = { method: "", target: "", version: "1.1" as "1.0" | "1.1" };
const LINE_OK = 1;

/**
 * `method SP request-target SP HTTP-version`, in [s, e). When `complete` is
 * false the line has no CRLF yet: judge what is there so garbage (a TLS hello,
 * a bare-LF client) is refused at once instead of waiting for 64 KiB.
 * Returns null for "fine so far, need more".
 */
/** For parseRequestLine: the line ends at the end given (its LF was seen). */
const WHOLE_LINE = true;
/** For parseRequestLine: the line may go on past the end given. */
const PARTIAL_LINE = false;

function parseRequestLine(buf: Uint8Array, s: number, e: number, complete: boolean): typeof LINE_OK | HeadError | null {
  let i = s;
  while (i < e && TCHAR[buf[i]]) i++;
  if (i === e) return complete ? fail(400, "malformed request line") : null;
  if (i === s || buf[i] !== SP) return fail(400, "invalid method");
  const methodEnd = i++;

  // request-target: any visible ASCII. Spaces, CTLs and raw bytes >= 0x7f are refused
  // (HAProxy does the same unless told otherwise).
  const t = i;
  while (i < e && buf[i] > SP && buf[i] < DEL) i++;
  if (i - t > MAX_TARGET_BYTES) return fail(414, "request-target too long");
  if (i === e) return complete ? fail(400, "malformed request line") : null;
  if (i === t || buf[i] !== SP) return fail(400, "invalid request-target");
  const targetEnd = i++;

  const v = i;
  const n = e - v;
  for (let k = 0; k < n && k < 8; k++) {
    if (!versionByteOk(k, buf[v + k])) return fail(400, "invalid HTTP version");
  }
  if (!complete) {
    // Only the CR of the coming CRLF may follow the version.
    if (n <= 8 || (n === 9 && buf[v + 8] === CR)) return null;
    return fail(400, "malformed request line");
  }
  if (n !== 8) return fail(400, "malformed request line");
  const version = versionOf(buf, v);
  if (version === null) return fail(505, "HTTP version not supported");
  // Nearly every request is a GET: its method costs no look-up.
  line.method = methodEnd - s === 3 && buf[s] === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54
    ? "GET"
    : latin1Decode(buf, s, methodEnd);
  line.target = latin1Decode(buf, t, targetEnd);
  line.version = version;
  return LINE_OK;
}

/** "1.0" / "1.1" from a validated "HTTP/d.d" at `v`; null for any other version (HTTP/2 preface included). */
function versionOf(buf: Uint8Array, v: number): "1.0" | "1.1" | null {
  if (buf[v + 5] !== 0x31) return null;
  const minor = buf[v + 7];
  return minor === 0x30 ? "1.0" : minor === 0x31 ? "1.1" : null;
}

/**
 * The layout of the head being parsed (see Fields), reused from one parse to the next
 * (parsing is synchronous): a finished head takes an exact-size copy (copyLayout: its
 * numbers are offsets into a head's view, at most MAX_HEAD_BYTES long, so 16 bits hold them).
 */
const scan: number[] = [];
if (MAX_HEAD_BYTES > 0x10000) throw new Error("http-head: a head's offsets must fit the 16 bits of its layout");
/**
 * How much of `scan` the head being parsed holds. The array is never shortened: setting
 * a length of 0 drops its storage (on V8 and JavaScriptCore alike), and the pushes
 * after it grew it again, a few allocations per head.
 */
let scanLen = 0;
let scanPresent = 0;

/**
 * What is wrong with the header line in [s, e) (CRLF excluded, no longer than allowed),
 * one that plainLine refused: every whole line it refuses breaks a rule below.
 */
function lineFault(buf: Uint8Array, s: number, e: number): string {
  // obs-fold is deprecated (RFC 9112 §5.2) and a classic smuggling vector.
  if (buf[s] === SP || buf[s] === HT) return "obsolete line folding";
  let i = s;
  while (i < e && TCHAR[buf[i]]) i++;
  // Whitespace before the colon must be rejected (RFC 9112 §5.1): "Host :" would
  // otherwise be a different header to different parsers.
  if (i === e || buf[i] !== COLON) return "invalid header name";
  if (i === s) return "empty header name";
  // CTLs except HT in the value: NUL, and CR/LF that some backend would take as a line end.
  for (let k = i + 1; k < e; k++) {
    const b = buf[k];
    if ((b < SP && b !== HT) || b === DEL) return "invalid character in header value";
  }
  // Not reached: plainLine takes every line that breaks none of the rules above (the
  // tests hold the two to the same rules).
  return "invalid header line";
}

/**
 * A header line, `field-name ":" OWS field-value OWS` CRLF, whole and well-formed, in one
 * pass over its bytes: laid out in `scan`, answering where the next line starts. Anything
 * else (a line not all here, too long, or with a byte out of place) answers -1 and lays
 * out nothing: parseHeaders then finds what is wrong, or waits for the rest.
 */
function plainLine(buf: Uint8Array, s: number, limit: number, maxLine: number): number {
  let i = s;
  while (i < limit && TCHAR[buf[i]] === 1) i++;
  if (i === s || i >= limit || buf[i] !== COLON) return -1;
  const nameEnd = i++;
  while (i < limit && (buf[i] === SP || buf[i] === HT)) i++;
  const v = i;
  // Visible bytes, spaces and tabs, and obs-text; the first CR ends the value.
  for (; i < limit; i++) {
    const b = buf[i];
    if (b < SP ? b !== HT : b === DEL) break;
  }
  if (i + 1 >= limit || buf[i] !== CR || buf[i + 1] !== LF || i - s > maxLine) return -1;
  let end = i;
  while (end > v && (buf[end - 1] === SP || buf[end - 1] === HT)) end--;
  const kind = kindAt(buf, s, nameEnd);
  if (kind !== 0) scanPresent |= bit(kind);
  scan[scanLen] = s;
  scan[scanLen + 1] = nameEnd;
  scan[scanLen + 2] = v;
  scan[scanLen + 3] = end;
  scan[scanLen + 4] = kind;
  scanLen += 5;
  return i + 2;
}

/**
 * Header lines from `pos` up to and including the empty line, laid out in `scan` (which
 * this empties first). Returns the offset just past the final CRLF, or a need-more /
 * error result. A line longer than `maxLine` is an error at once (431 for a request),
 * even while its end has not arrived.
 */
function parseHeaders(
  buf: Uint8Array,
  view: Uint8Array,
  pos: number,
  errCode: number,
  maxLine: number,
): number | HeadError | typeof NEED_MORE {
  const limit = view.length;
  scanLen = 0;
  scanPresent = 0;
  for (;;) {
    if (pos >= limit) return incomplete(buf, errCode);
    if (buf[pos] === CR) {
      if (pos + 1 >= limit) return incomplete(buf, errCode);
      if (buf[pos + 1] !== LF) return fail(errCode, "bare CR");
      scan[scanLen++] = pos;
      return pos + 2;
    }
    const next = plainLine(buf, pos, limit, maxLine);
    if (next > 0) {
      // Judged once the line is whole, as on the careful path below.
      if (scanLen > MAX_HEADERS * LINE) return tooMany(errCode);
      pos = next;
      continue;
    }
    const lf = lineEnd(view, pos);
    if (lf < 0) {
      if (limit - pos > maxLine + 1) return fail(errCode === 400 ? 431 : errCode, "header line too long");
      return incomplete(buf, errCode);
    }
    if (lf === pos || buf[lf - 1] !== CR) return fail(errCode, "bare LF line ending");
    if (lf - 1 - pos > maxLine) return fail(errCode === 400 ? 431 : errCode, "header line too long");
    if (scanLen >= MAX_HEADERS * LINE) return tooMany(errCode);
    return fail(errCode, lineFault(buf, pos, lf - 1));
  }
}

function tooMany(errCode: number): HeadError {
  return fail(errCode === 400 ? 431 : errCode, "too many header fields");
}

/** The fields of a complete head in `buf`, just scanned. */
function scannedFields(buf: Uint8Array): Fields {
  return new Fields(buf, copyLayout(scan, scanLen), scanPresent, null);
}

/** No end of head yet: wait, unless the head can no longer fit. */
function incomplete(buf: Uint8Array, errCode: number): HeadError | typeof NEED_MORE {
  if (buf.length >= MAX_HEAD_BYTES) return fail(errCode === 400 ? 431 : errCode, "header section too large");
  return NEED_MORE;
}

/** Lines up to this long are scanned by a loop; a longer one's end is looked for natively. */
const SHORT_LINE = 64;

/**
 * Where the line from `pos` ends (its LF), or -1. Most lines of a head are short, and
 * a native indexOf call costs more than looking at their bytes (on JavaScriptCore
 * most); a long line (a cookie) goes to indexOf after the first bytes.
 */
function lineEnd(view: Uint8Array, pos: number): number {
  const near = Math.min(view.length, pos + SHORT_LINE);
  for (let i = pos; i < near; i++) if (view[i] === LF) return i;
  return near === view.length ? -1 : view.indexOf(LF, near);
}

/** Only the first MAX_HEAD_BYTES can hold a head, so scans never look further (into a body). */
function headView(buf: Uint8Array): Uint8Array {
  return buf.length > MAX_HEAD_BYTES ? buf.subarray(0, MAX_HEAD_BYTES) : buf;
}

/**
 * Parses a request head from the start of `buf`; a header line longer than `maxLine`
 * bytes is 431. Never throws.
 */
export function parseRequestHead(buf: Uint8Array, maxLine = MAX_HEADER_LINE): HeadResult<RequestHead> {
  const view = headView(buf);
  const limit = view.length;
  let pos = 0;

  // RFC 9112 §2.2: ignore a few empty lines before the request line (old clients
  // sent an extra CRLF after a POST body).
  for (let skipped = 0; pos < limit && (buf[pos] === CR || buf[pos] === LF); skipped++) {
    if (buf[pos] === LF) return fail(400, "bare LF line ending");
    if (pos + 1 >= limit) return incomplete(buf, 400);
    if (buf[pos + 1] !== LF) return fail(400, "bare CR");
    if (skipped >= MAX_LEADING_EMPTY_LINES) return fail(400, "too many empty lines before request line");
    pos += 2;
  }

  const lf = lineEnd(view, pos);
  if (lf < 0) {
    const partial = parseRequestLine(buf, pos, limit, PARTIAL_LINE);
    if (partial !== null) return partial as HeadError;
    return incomplete(buf, 400);
  }
  if (lf === pos || buf[lf - 1] !== CR) return fail(400, "bare LF line ending");
  const parsed = parseRequestLine(buf, pos, lf - 1, WHOLE_LINE);
  if (parsed === null) return NEED_MORE; // unreachable: a complete line is always judged
  if (parsed !== LINE_OK) return parsed;
  // Read before anything else could parse a line.
  const { method, target, version } = line;

  const end = parseHeaders(buf, view, lf + 1, 400, maxLine);
  if (typeof end !== "number") return end;
  const fields = scannedFields(buf);

  // Host decides routing, so exactly one well-formed Host is required for 1.1
  // (RFC 9112 §3.2); two could route differently here and at the backend.
  let host: string | null = null;
  const at = fields.sole(F_HOST);
  if (at === -2) return fail(400, "multiple Host headers");
  if (at >= 0) {
    host = normalizeHost(fields.value(at));
    if (host === null) return fail(400, "invalid Host header");
  } else if (version === "1.1") {
    return fail(400, "missing Host header");
  }

  // Its own verdict: { status: "ok", head, length } in one object.
  return new ParsedRequest(method, target, version, host, fields, end);
}

/** Parses a response head (from an upstream) from the start of `buf`. Errors are 502. Never throws. */
export function parseResponseHead(buf: Uint8Array): HeadResult<ResponseHead> {
  const parsed = parseResponse(buf);
  return parsed instanceof ParsedHead ? { status: "ok", head: parsed.head, length: parsed.length } : parsed;
}

/**
 * parseResponseHead for a reader of ParsedHead (http/head-read.ts): a whole head is
 * answered as itself, with no verdict object around it.
 */
export function parseResponse(buf: Uint8Array): ParsedHead<ResponseHead> | HeadError | typeof NEED_MORE {
  const view = headView(buf);
  const limit = view.length;
  const lf = lineEnd(view, 0);
  // "HTTP/d.d SP ddd" is a fixed 12-byte prefix: check what has arrived so garbage fails fast.
  const known = Math.min(lf < 0 ? limit : lf, 12);
  for (let k = 0; k < known; k++) {
    const b = buf[k];
    const ok = k < 8 ? versionByteOk(k, b) : k === 8 ? b === SP : b >= 0x30 && b <= 0x39;
    if (!ok) return fail(502, "malformed status line");
  }
  if (lf < 0) return incomplete(buf, 502);
  if (lf === 0 || buf[lf - 1] !== CR) return fail(502, "bare LF line ending");
  const e = lf - 1;
  if (e < 12) return fail(502, "malformed status line");
  const version = versionOf(buf, 0);
  if (version === null) return fail(502, "unsupported HTTP version");
  const status = (buf[9] - 0x30) * 100 + (buf[10] - 0x30) * 10 + (buf[11] - 0x30);
  if (status < 100) return fail(502, "invalid status code");
  // The reason may be empty, and some servers omit the space before an empty one.
  if (e > 12) {
    if (buf[12] !== SP) return fail(502, "malformed status line");
    for (let k = 13; k < e; k++) {
      const b = buf[k];
      if ((b < SP && b !== HT) || b === DEL) return fail(502, "invalid character in reason phrase");
    }
  }

  // A response's lines are bounded by the head's size alone (the target is trusted more).
  const end = parseHeaders(buf, view, lf + 1, 502, MAX_HEAD_BYTES);
  if (typeof end !== "number") return end;
  return new ParsedResponse(version, status, e, scannedFields(buf), end);
}

const HEX = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1;

/**
 * RFC 3986 reg-name bytes (unreserved and sub-delims; "%" is checked apart).
 * IPv4 literals are a subset, so they need no separate path.
 */
const REG_NAME = new Uint8Array(128);
for (const c of "-._~!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) REG_NAME[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) REG_NAME[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) REG_NAME[c] = 1;

/**
 * Whether `v` is already its own routing key: lowercase letters, digits, "-" and
 * inner dots only (the usual Host), so nothing is cut, lowercased or copied.
 */
function plainHost(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e)) return false;
  }
  return v.charCodeAt(v.length - 1) !== 0x2e;
}

/**
 * `host [":" port]` to the routing key: lowercased, port and one trailing dot
 * dropped, IPv6 kept in brackets. "" stays "" (RFC 9112 §3.2 allows an empty
 * Host). Returns null when malformed.
 */
export function normalizeHost(v: string): string | null {
  // A client sends the same Host (or :authority) on every request, read as the same
  // string (detect/bytes.ts): judged, cut and lowercased once, then given again.
  if (v === lastHost) return lastHostKey;
  if (v === "") return "";
  const key = plainHost(v) ? v : hostKey(v);
  lastHost = v;
  lastHostKey = key;
  return key;
}

let lastHost = "";
let lastHostKey: string | null = "";

/** normalizeHost for a Host that is not already its own key. */
function hostKey(v: string): string | null {
  let i: number;
  if (v.charCodeAt(0) === 0x5b) {
    // "[" IPv6address "]": hex digits, colons and (for embedded IPv4) dots.
    const close = v.indexOf("]");
    if (close < 3) return null;
    for (let k = 1; k < close; k++) {
      const c = v.charCodeAt(k);
      if (!(c === 0x3a || c === 0x2e || (c < 128 && HEX[c]))) return null;
    }
    i = close + 1;
  } else {
    i = 0;
    while (i < v.length) {
      const c = v.charCodeAt(i);
      if (c === 0x3a) break;
      if (c === 0x25) {
        // pct-encoded: "%" HEXDIG HEXDIG
        const a = v.charCodeAt(i + 1);
        const b = v.charCodeAt(i + 2);
        if (!(a < 128 && HEX[a] && b < 128 && HEX[b])) return null;
        i += 3;
        continue;
      }
      if (c >= 128 || !REG_NAME[c]) return null;
      i++;
    }
    if (i === 0) return null;
  }
  let name = v.slice(0, i);
  if (i < v.length) {
    // ":" port — required to be 1..5 digits within 0..65535 (an empty port is refused).
    if (v.charCodeAt(i) !== 0x3a) return null;
    const port = v.slice(i + 1);
    if (port.length < 1 || port.length > 5) return null;
    for (let k = 0; k < port.length; k++) {
      const c = port.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return null;
    }
    if (Number(port) > 65535) return null;
  }
  if (name.charCodeAt(name.length - 1) === 0x2e) {
    name = name.slice(0, -1);
    if (name === "") return null;
  }
  return name.toLowerCase();
}
