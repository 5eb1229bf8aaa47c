/**
 * The field lines of a parsed HTTP/1.x head, kept as offsets into the bytes they came
 * in. A proxy acts on a dozen well-known fields (framing, Connection, Host,
 * X-Forwarded-*) and passes the rest on untouched, so the parser classifies each name
 * while it scans it, and strings are only made for what someone asks to read: the
 * usual response goes on without one string made for its fields.
 *
 * Offsets are only good while the bytes are: a head read from a connection must be
 * read (`list`, `value`, `values`) before the next read on that connection, which may
 * reuse the buffer. The engine does all its reading of a head before that.
 */
import { latin1Decode } from "./bytes.ts";

/** Name as received (case kept), value trimmed of OWS. */
export type Header = [name: string, value: string];

// The fields vane acts on, numbered (plain numbers, not an enum, so any TS transpiler
// takes them). 0 is any other field.
export const F_HOST = 1;
export const F_CONTENT_LENGTH = 2;
export const F_TRANSFER_ENCODING = 3;
export const F_CONNECTION = 4;
export const F_UPGRADE = 5;
export const F_EXPECT = 6;
export const F_KEEP_ALIVE = 7;
export const F_PROXY_CONNECTION = 8;
export const F_TE = 9;
export const F_TRAILER = 10;
export const F_X_FORWARDED_FOR = 11;
export const F_X_FORWARDED_PROTO = 12;
export const F_X_FORWARDED_HOST = 13;

/** Lowercased names of the known fields, by number. */
export const KNOWN_NAMES: readonly string[] = [
  "",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
];

/** The bit of a field number in `Fields.present`. */
export function bit(kind: number): number {
  return 1 << kind;
}

/** Known field numbers by name length: a name of another length is no known field. */
const BY_LENGTH: number[][] = [];
for (let k = 1; k < KNOWN_NAMES.length; k++) (BY_LENGTH[KNOWN_NAMES[k].length] ??= []).push(k);

/**
 * The number of the field named by the token in buf[s, e), 0 for any other. Tokens
 * lowercase with `| 0x20`: of the tchars, only letters map onto letters that way.
 */
export function kindAt(buf: Uint8Array, s: number, e: number): number {
  const candidates = BY_LENGTH[e - s];
  if (candidates === undefined) return 0;
  for (let c = 0; c < candidates.length; c++) {
    const name = KNOWN_NAMES[candidates[c]];
    let i = 0;
    while (i < name.length && (buf[s + i] | 0x20) === name.charCodeAt(i)) i++;
    if (i === name.length) return candidates[c];
  }
  return 0;
}

/** The number of the field named `name` (any case), 0 for any other. */
export function kindOf(name: string): number {
  const candidates = BY_LENGTH[name.length];
  if (candidates === undefined) return 0;
  const lower = name.toLowerCase();
  for (const k of candidates) if (KNOWN_NAMES[k] === lower) return k;
  return 0;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * One head's fields. `starts[i]` is where line i begins, and `starts[count]` where the
 * blank line does; the start line runs from 0 to `starts[0]` (see headBytes).
 */
export class Fields {
  /** The buffer parsed, which starts with the head. */
  readonly bytes: Uint8Array;
  readonly starts: number[];
  /** The field number of each line (0: another field). */
  readonly kinds: number[];
  /** `bit(kind)` set for every known field present. */
  present = 0;
  /** Per line: end of the name, start and end of the trimmed value. */
  readonly #spans: number[];
  #list: Header[] | null;
  #lastValueAt = -1;
  #lastValue = "";
  /**
   * The Connection options of this head, once worked out (by `connectionTokens` in
   * http/framing.ts, which alone sets it): a head is asked about them several times.
   */
  connection: ReadonlySet<string> | null = null;

  constructor(bytes: Uint8Array, starts: number[], kinds: number[], spans: number[], list: Header[] | null) {
    this.bytes = bytes;
    this.starts = starts;
    this.kinds = kinds;
    this.#spans = spans;
    this.#list = list;
  }

  /** Fields from strings (a head made by hand, as tests do): no bytes to copy lines from. */
  static fromList(list: Header[]): Fields {
    const f = new Fields(new Uint8Array(0), [0], list.map(([n]) => kindOf(n)), [], list);
    for (const k of f.kinds) if (k !== 0) f.present |= bit(k);
    return f;
  }

  get count(): number {
    return this.kinds.length;
  }

  /** Every field as strings, in the order received; made once (do not modify). */
  get list(): Header[] {
    if (this.#list !== null) return this.#list;
    const n = this.kinds.length;
    const list = new Array<Header>(n);
    if (n > 0) {
      // One decode for the whole section, then slices of it.
      const base = this.starts[0];
      const text = latin1Decode(this.bytes, base, this.starts[n]);
      const spans = this.#spans;
      for (let i = 0; i < n; i++) {
        const at = 3 * i;
        list[i] = [
          text.slice(this.starts[i] - base, spans[at] - base),
          text.slice(spans[at + 1] - base, spans[at + 2] - base),
        ];
      }
    }
    return (this.#list = list);
  }

  name(i: number): string {
    if (this.#list !== null) return this.#list[i][0];
    return latin1Decode(this.bytes, this.starts[i], this.#spans[3 * i]);
  }

  value(i: number): string {
    if (this.#list !== null) return this.#list[i][1];
    // The same value is often asked for twice (Host: for routing, then for X-Forwarded-Host).
    if (this.#lastValueAt === i) return this.#lastValue;
    this.#lastValue = latin1Decode(this.bytes, this.#spans[3 * i + 1], this.#spans[3 * i + 2]);
    this.#lastValueAt = i;
    return this.#lastValue;
  }

  /**
   * Every value of one known field, in the order received. Most are asked for when
   * absent: that answer is one shared empty array (do not modify what this returns).
   */
  values(kind: number): string[] {
    if ((this.present & bit(kind)) === 0) return NO_VALUES as string[];
    const out: string[] = [];
    for (let i = 0; i < this.kinds.length; i++) if (this.kinds[i] === kind) out.push(this.value(i));
    return out;
  }

  /** The line of the first field of this number, or -1. */
  first(kind: number): number {
    if ((this.present & bit(kind)) === 0) return -1;
    return this.kinds.indexOf(kind);
  }

  /** How many fields of this number there are. */
  countOf(kind: number): number {
    if ((this.present & bit(kind)) === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.kinds.length; i++) if (this.kinds[i] === kind) n++;
    return n;
  }

  /**
   * Field i's value as a number when it is 1 to 15 decimal digits and nothing else
   * (the usual Content-Length), else -1: the caller then reads the string.
   */
  digits(i: number): number {
    if (this.#list !== null) return -1;
    const s = this.#spans[3 * i + 1];
    const e = this.#spans[3 * i + 2];
    if (e === s || e - s > 15) return -1;
    let n = 0;
    for (let k = s; k < e; k++) {
      const d = this.bytes[k] - 0x30;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return n;
  }

  /** Whether field i's value is `lower` in any case (letters and "-" only in `lower`). */
  valueIs(i: number, lower: string): boolean {
    if (this.#list !== null) return this.#list[i][1].toLowerCase() === lower;
    const s = this.#spans[3 * i + 1];
    if (this.#spans[3 * i + 2] - s !== lower.length) return false;
    for (let k = 0; k < lower.length; k++) if ((this.bytes[s + k] | 0x20) !== lower.charCodeAt(k)) return false;
    return true;
  }
}

/**
 * Case-insensitive lookup of every value of a field by name, in order received (any
 * name; known fields are quicker through `Fields.values`).
 */
export function headerValues(headers: Header[], name: string): string[] {
  const want = name.toLowerCase();
  let out: string[] | null = null;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    if (h[0].length === want.length && h[0].toLowerCase() === want) (out ??= []).push(h[1]);
  }
  return out ?? NO_VALUES as string[];
}
