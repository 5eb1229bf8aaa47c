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
export const F_FORWARDED = 14;
export const F_HTTP2_SETTINGS = 15;

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
  "forwarded",
  "http2-settings",
];

/** The bit of a field number in `Fields.present`. */
export function bit(kind: number): number {
  return 1 << kind;
}

/**
 * The known field a name could be, by its length and its first and last bytes (any
 * case): one slot per known name, so most other names are told apart by one lookup.
 */
const SLOTS = 256;
function slotOf(length: number, first: number, last: number): number {
  return ((length << 4) ^ (first | 0x20) ^ ((last | 0x20) << 1)) & (SLOTS - 1);
}
const KIND_BY_SLOT = new Uint8Array(SLOTS);
/** The known names' bytes, by number, to compare a candidate with. */
const KNOWN_BYTES: Uint8Array[] = KNOWN_NAMES.map((n) => new TextEncoder().encode(n));
for (let k = 1; k < KNOWN_NAMES.length; k++) {
  const n = KNOWN_NAMES[k];
  const slot = slotOf(n.length, n.charCodeAt(0), n.charCodeAt(n.length - 1));
  if (KIND_BY_SLOT[slot] !== 0) {
    throw new Error(`http-fields: ${n} and ${KNOWN_NAMES[KIND_BY_SLOT[slot]]} share a slot`);
  }
  KIND_BY_SLOT[slot] = k;
}

/**
 * The number of the field named by the token in buf[s, e), 0 for any other. Tokens
 * lowercase with `| 0x20`: of the tchars, only letters map onto letters that way.
 */
export function kindAt(buf: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n === 0) return 0;
  const k = KIND_BY_SLOT[slotOf(n, buf[s], buf[e - 1])];
  if (k === 0) return 0;
  const name = KNOWN_BYTES[k];
  if (name.length !== n) return 0;
  for (let i = 0; i < n; i++) if ((buf[s + i] | 0x20) !== name[i]) return 0;
  return k;
}

/** The number of the field named `name` (any case), 0 for any other. */
export function kindOf(name: string): number {
  if (name === "") return 0;
  const lower = name.toLowerCase();
  const k = KIND_BY_SLOT[slotOf(lower.length, lower.charCodeAt(0), lower.charCodeAt(lower.length - 1))];
  return k !== 0 && KNOWN_NAMES[k] === lower ? k : 0;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * A layout's copy of `src[0, n)` (offsets into a head, so below 65536): an array, as V8
 * keeps one cheapest (a typed array costs about 0.3 µs in Deno's V8, which keeps none
 * on its heap), unless useShortLayouts. Made to size and filled: a third less than
 * `slice` on V8.
 */
export let copyLayout = (src: number[], n: number): ArrayLike<number> => {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = src[i];
  return out;
};

/**
 * Layouts as Uint16Arrays from here on: what the Bun adapter picks, as on
 * JavaScriptCore they take a third of the bytes of an array of numbers (8 bytes each),
 * and a request and its answer make two.
 */
export function useShortLayouts(): void {
  copyLayout = (src, n) => {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = src[i];
    return out;
  };
}

/** Numbers per line in a layout: start, end of name, start and end of value, field number. */
export const LINE = 5;

/**
 * One head's fields, as `layout` says where they are: per line, LINE numbers (see
 * there), then where the blank line starts. The start line runs from 0 to `start(0)`
 * (see headBytes). One array per head, as the parser allocates little per message (a
 * Uint16Array on Bun, an array elsewhere: see copyLayout).
 */
export class Fields {
  /** The buffer parsed, which starts with the head. */
  readonly bytes: Uint8Array;
  readonly count: number;
  /** `bit(kind)` set for every known field present. */
  readonly present: number;
  readonly #layout: ArrayLike<number>;
  #list: Header[] | null;
  #lastValueAt = -1;
  #lastValue = "";
  /**
   * The Connection options of this head, once worked out (by `connectionTokens` in
   * http/framing.ts, which alone sets it): a head is asked about them several times.
   */
  connection: ReadonlySet<string> | null = null;

  constructor(bytes: Uint8Array, layout: ArrayLike<number>, present: number, list: Header[] | null) {
    this.bytes = bytes;
    this.#layout = layout;
    this.count = (layout.length - 1) / LINE;
    this.present = present;
    this.#list = list;
  }

  /** Fields from strings (a head made by hand, as tests do): no bytes to copy lines from. */
  static fromList(list: Header[]): Fields {
    const layout: number[] = [];
    let present = 0;
    for (const [name] of list) {
      const k = kindOf(name);
      if (k !== 0) present |= bit(k);
      layout.push(0, 0, 0, 0, k);
    }
    layout.push(0);
    return new Fields(new Uint8Array(0), copyLayout(layout, layout.length), present, list);
  }

  /** Where line i starts; `start(count)` is where the blank line does. */
  start(i: number): number {
    return this.#layout[LINE * i];
  }

  /** The field number of line i (0: another field). */
  kind(i: number): number {
    return this.#layout[LINE * i + 4];
  }

  /** Every field as strings, in the order received; made once (do not modify). */
  get list(): Header[] {
    if (this.#list !== null) return this.#list;
    const n = this.count;
    const list = new Array<Header>(n);
    if (n > 0) {
      // One decode for the whole section, then slices of it.
      const l = this.#layout;
      const base = l[0];
      const text = latin1Decode(this.bytes, base, l[LINE * n]);
      for (let i = 0; i < n; i++) {
        const at = LINE * i;
        list[i] = [text.slice(l[at] - base, l[at + 1] - base), text.slice(l[at + 2] - base, l[at + 3] - base)];
      }
    }
    return (this.#list = list);
  }

  /** The length of line i's name, without decoding it (to skip names that cannot match). */
  nameLength(i: number): number {
    if (this.#list !== null) return this.#list[i][0].length;
    return this.#layout[LINE * i + 1] - this.#layout[LINE * i];
  }

  /** The length of line i's value (OWS trimmed), without decoding it. */
  valueLength(i: number): number {
    if (this.#list !== null) return this.#list[i][1].length;
    return this.#layout[LINE * i + 3] - this.#layout[LINE * i + 2];
  }

  name(i: number): string {
    if (this.#list !== null) return this.#list[i][0];
    return latin1Decode(this.bytes, this.#layout[LINE * i], this.#layout[LINE * i + 1]);
  }

  value(i: number): string {
    if (this.#list !== null) return this.#list[i][1];
    // Host is read twice (for routing, then for X-Forwarded-Host). The short-string
    // table in latin1Decode serves a short one again; this serves a long one.
    if (this.#lastValueAt === i) return this.#lastValue;
    this.#lastValue = latin1Decode(this.bytes, this.#layout[LINE * i + 2], this.#layout[LINE * i + 3]);
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
    for (let i = 0; i < this.count; i++) if (this.kind(i) === kind) out.push(this.value(i));
    return out;
  }

  /** The line of the first field of this number, or -1. */
  first(kind: number): number {
    if ((this.present & bit(kind)) === 0) return -1;
    for (let i = 0; i < this.count; i++) if (this.kind(i) === kind) return i;
    return -1;
  }

  /**
   * The line of the one field of this number: -1 when there is none, -2 when there are
   * several (one pass, where `countOf` and `first` would take two).
   */
  sole(kind: number): number {
    if ((this.present & bit(kind)) === 0) return -1;
    let at = -1;
    for (let i = 0; i < this.count; i++) {
      if (this.kind(i) !== kind) continue;
      if (at >= 0) return -2;
      at = i;
    }
    return at;
  }

  /** How many fields of this number there are. */
  countOf(kind: number): number {
    if ((this.present & bit(kind)) === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.kind(i) === kind) n++;
    return n;
  }

  /**
   * Field i's value as a number when it is 1 to 15 decimal digits and nothing else
   * (the usual Content-Length), else -1: the caller then reads the string.
   */
  digits(i: number): number {
    if (this.#list !== null) return -1;
    const s = this.#layout[LINE * i + 2];
    const e = this.#layout[LINE * i + 3];
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
    const s = this.#layout[LINE * i + 2];
    if (this.#layout[LINE * i + 3] - s !== lower.length) return false;
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
