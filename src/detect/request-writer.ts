/**
 * An HTTP/1.1 request head written from parts already split (an HTTP/2 request's
 * fields: src/http2/request-head.ts), with its fields laid out as they are written: the
 * RequestHead that parseRequestHead would make of the bytes, without scanning them
 * again. Only for a head the parser would surely take as it is: anything else (a byte
 * the parser refuses, a line or a head over its limits, no good Host) comes out as
 * bytes alone, for the parser to judge and the engine to answer (400, 414, 431) as it
 * answers any HTTP/1.1 request. So the two ways never disagree on what passes.
 */
import { bit, copyLayout, F_HOST, Fields, kindAt, LINE } from "./http-fields.ts";
import {
  MAX_HEAD_BYTES,
  MAX_HEADERS,
  MAX_TARGET_BYTES,
  normalizeHost,
  parsedRequest,
  type RequestHead,
  TCHAR,
} from "./http-head.ts";

const SP = 0x20;
const HT = 0x09;
const DEL = 0x7f;
const CRLF_LENGTH = 2;

/**
 * Writes one head at a time (`begin`, `field` per line, `end`), into a buffer reused
 * from one head to the next: the head's own bytes are one exact copy. Synchronous.
 */
export class RequestWriter {
  #buf = new Uint8Array(1024);
  #at = 0;
  /** The layout being made (see Fields), reused; `#laid` numbers of it are this head's. */
  readonly #layout: number[] = [];
  #laid = 0;
  #present = 0;
  /** Whether the parser would take the head as written (else only bytes come out). */
  #sure = true;
  #maxLine = 0;
  #method = "";
  #target = "";
  #hosts = 0;
  #host = "";

  /** The head's bytes, once `end` made them. */
  bytes: Uint8Array = new Uint8Array(0);
  /** The head as parseRequestHead would read `bytes`, or null: let the parser judge them. */
  head: RequestHead | null = null;

  /** The request line; `maxLine`: the longest header line the listener takes (its parser's limit). */
  begin(method: string, target: string, maxLine: number): void {
    this.#at = 0;
    this.#laid = 0;
    this.#present = 0;
    this.#hosts = 0;
    this.#maxLine = maxLine;
    this.#method = method;
    this.#target = target;
    this.#reserve(method.length + target.length + 12);
    let sure = method.length > 0 && target.length > 0 && target.length <= MAX_TARGET_BYTES;
    const buf = this.#buf;
    let at = 0;
    for (let i = 0; i < method.length; i++) {
      const c = method.charCodeAt(i);
      if (c > 0xff || TCHAR[c] === 0) sure = false;
      buf[at++] = c;
    }
    buf[at++] = SP;
    for (let i = 0; i < target.length; i++) {
      const c = target.charCodeAt(i);
      if (c <= SP || c >= DEL) sure = false;
      buf[at++] = c;
    }
    this.#at = putAscii(buf, at, " HTTP/1.1\r\n");
    this.#sure = sure;
  }

  /** A header line `name: value`; each char one byte (latin1), as HPACK decodes them. */
  field(name: string, value: string): void {
    this.#reserve(name.length + value.length + 4);
    const buf = this.#buf;
    const start = this.#at;
    let at = start;
    let sure = name.length > 0 && name.length + 2 + value.length <= this.#maxLine;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c > 0xff || TCHAR[c] === 0) sure = false;
      buf[at++] = c;
    }
    const nameEnd = at;
    buf[at++] = 0x3a;
    buf[at++] = SP;
    const valueStart = at;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      // The parser's rule: no CTL but HT, no DEL; and the ends are its OWS, which it trims.
      if ((c < SP && c !== HT) || c === DEL || c > 0xff) sure = false;
      buf[at++] = c;
    }
    if (value.length > 0) {
      const first = value.charCodeAt(0);
      const last = value.charCodeAt(value.length - 1);
      if (first === SP || first === HT || last === SP || last === HT) sure = false;
    }
    const valueEnd = at;
    buf[at++] = 0x0d;
    buf[at++] = 0x0a;
    this.#at = at;
    if (!sure) this.#sure = false;
    if (this.#laid >= MAX_HEADERS * LINE) this.#sure = false;
    if (!this.#sure) return;
    const kind = kindAt(buf, start, nameEnd);
    if (kind !== 0) this.#present |= bit(kind);
    if (kind === F_HOST) {
      this.#hosts++;
      this.#host = value;
    }
    const layout = this.#layout;
    const n = this.#laid;
    layout[n] = start;
    layout[n + 1] = nameEnd;
    layout[n + 2] = valueStart;
    layout[n + 3] = valueEnd;
    layout[n + 4] = kind;
    this.#laid = n + LINE;
  }

  /** The blank line: `bytes`, and `head` when the parser would surely take them. */
  end(): void {
    this.#reserve(CRLF_LENGTH);
    const blank = this.#at;
    this.#buf[blank] = 0x0d;
    this.#buf[blank + 1] = 0x0a;
    this.#at = blank + CRLF_LENGTH;
    const bytes = this.#buf.slice(0, this.#at);
    this.bytes = bytes;
    this.head = null;
    // An HTTP/1.1 head needs exactly one Host, and a good one (parseRequestHead's rule).
    const host = this.#hosts === 1 ? normalizeHost(this.#host) : null;
    if (!this.#sure || host === null || bytes.length > MAX_HEAD_BYTES) return;
    const layout = this.#layout;
    layout[this.#laid] = blank;
    const fields = new Fields(bytes, copyLayout(layout, this.#laid + 1), this.#present, null);
    this.head = parsedRequest(this.#method, this.#target, "1.1", host, fields);
  }

  #reserve(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#at + n, this.#buf.length * 2));
    grown.set(this.#buf.subarray(0, this.#at));
    this.#buf = grown;
  }
}

function putAscii(buf: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}
