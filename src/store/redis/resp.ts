/**
 * RESP, Redis's wire format: commands out as arrays of bulk strings (what every Redis
 * since 1.2 reads), replies in through a streaming parser that takes the bytes as TCP
 * hands them over, split anywhere, and yields each reply once it is whole. It reads
 * RESP2 and the RESP3 types too (null, boolean, double, big number, map, set,
 * verbatim string, push, attribute), so a server that answers in RESP3 still parses.
 *
 * Replies are small here (integers and short strings of the rate-limit script), so an
 * incomplete reply is parsed again from its start when more bytes come: simpler than
 * a resumable state machine, and cheap at this size.
 */

/** An error reply (`-ERR ...`, `!...`): a value, not a throw, so a pipeline's other replies stay in order. */
export class RedisErrorReply extends Error {
  /** The first word of the message, e.g. NOSCRIPT, WRONGPASS, ERR. */
  readonly code: string;
  constructor(message: string) {
    super(message);
    this.code = message.split(" ", 1)[0];
  }
}

/** An out-of-band message of RESP3 (`>`): never the answer to a command. */
export class RedisPush {
  constructor(readonly items: RedisReply[]) {}
}

export type RedisReply =
  | string
  | number
  | boolean
  | null
  | RedisErrorReply
  | RedisReply[]
  | Map<RedisReply, RedisReply>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;

/** One command as RESP: `*N` then `$len` and the bytes of each argument. */
export function encodeCommand(args: ReadonlyArray<string | number>): Uint8Array {
  const parts = args.map((a) => encoder.encode(String(a)));
  const heads = parts.map((p) => encoder.encode(`$${p.length}\r\n`));
  const first = encoder.encode(`*${parts.length}\r\n`);
  let size = first.length;
  for (let i = 0; i < parts.length; i++) size += heads[i].length + parts[i].length + 2;
  const out = new Uint8Array(size);
  out.set(first, 0);
  let at = first.length;
  for (let i = 0; i < parts.length; i++) {
    out.set(heads[i], at);
    at += heads[i].length;
    out.set(parts[i], at);
    at += parts[i].length;
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

/** The reply was cut short: wait for more bytes. */
const MORE = Symbol("more");
type Parsed = { value: RedisReply | RedisPush; end: number } | typeof MORE;

/** Nesting deeper than this is not a reply vane asked for: the stream is broken. */
const MAX_DEPTH = 32;

export class RespParser {
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;

  /**
   * Takes the next bytes (copied: the runtime may reuse `chunk`) and returns every
   * reply now complete, in order. Throws on bytes that are not RESP (the connection
   * is unusable then).
   */
  push(chunk: Uint8Array): Array<RedisReply | RedisPush> {
    this.#append(chunk);
    const out: Array<RedisReply | RedisPush> = [];
    for (;;) {
      if (this.#start >= this.#buf.length) break;
      const r = this.#parse(this.#start, 0);
      if (r === MORE) break;
      out.push(r.value);
      this.#start = r.end;
    }
    return out;
  }

  /** Bytes held that do not make a whole reply yet. */
  get pending(): number {
    return this.#buf.length - this.#start;
  }

  #append(chunk: Uint8Array): void {
    const left = this.#buf.length - this.#start;
    const next = new Uint8Array(left + chunk.length);
    next.set(this.#buf.subarray(this.#start), 0);
    next.set(chunk, left);
    this.#buf = next;
    this.#start = 0;
  }

  /** The line from `at` to its CRLF: its text and where the next line starts, or MORE. */
  #line(at: number): { text: string; end: number } | typeof MORE {
    const buf = this.#buf;
    for (let i = at; i + 1 < buf.length; i++) {
      if (buf[i] === CR && buf[i + 1] === LF) return { text: decoder.decode(buf.subarray(at, i)), end: i + 2 };
    }
    return MORE;
  }

  #parse(at: number, depth: number): Parsed {
    if (depth > MAX_DEPTH) throw new Error("RESP reply nested too deep");
    const type = this.#buf[at];
    const line = this.#line(at + 1);
    if (line === MORE) return MORE;
    const { text, end } = line;
    switch (type) {
      case 0x2b: // + simple string
        return { value: text, end };
      case 0x2d: // - error
        return { value: new RedisErrorReply(text), end };
      case 0x3a: // : integer
        return { value: readInt(text), end };
      case 0x5f: // _ null (RESP3)
        return { value: null, end };
      case 0x23: // # boolean (RESP3)
        return { value: text === "t", end };
      case 0x2c: // , double (RESP3)
        return { value: Number(text.replace("inf", "Infinity")), end };
      case 0x28: // ( big number (RESP3): kept as text
        return { value: text, end };
      case 0x24: // $ bulk string
      case 0x21: // ! bulk error (RESP3)
      case 0x3d: // = verbatim string (RESP3): "txt:" in front
        return this.#bulk(type, readInt(text), end);
      case 0x2a: // * array
      case 0x7e: // ~ set (RESP3)
      case 0x3e: // > push (RESP3)
        return this.#aggregate(type, readInt(text), end, depth);
      case 0x25: // % map (RESP3)
        return this.#map(readInt(text), end, depth);
      case 0x7c: { // | attribute (RESP3): metadata before the reply it describes, skipped
        const attrs = this.#map(readInt(text), end, depth);
        return attrs === MORE ? MORE : this.#parse(attrs.end, depth + 1);
      }
      default:
        throw new Error(`not a RESP reply: type byte ${type}`);
    }
  }

  #bulk(type: number, length: number, at: number): Parsed {
    if (length < 0) return { value: null, end: at };
    if (at + length + 2 > this.#buf.length) return MORE;
    let text = decoder.decode(this.#buf.subarray(at, at + length));
    if (type === 0x3d) text = text.slice(4);
    const value = type === 0x21 ? new RedisErrorReply(text) : text;
    return { value, end: at + length + 2 };
  }

  #aggregate(type: number, count: number, at: number, depth: number): Parsed {
    if (count < 0) return { value: null, end: at };
    const items: RedisReply[] = [];
    let end = at;
    for (let i = 0; i < count; i++) {
      if (end >= this.#buf.length) return MORE;
      const r = this.#parse(end, depth + 1);
      if (r === MORE) return MORE;
      items.push(r.value instanceof RedisPush ? r.value.items : r.value);
      end = r.end;
    }
    return { value: type === 0x3e ? new RedisPush(items) : items, end };
  }

  #map(count: number, at: number, depth: number): { value: Map<RedisReply, RedisReply>; end: number } | typeof MORE {
    const flat = this.#aggregate(0x2a, count * 2, at, depth);
    if (flat === MORE) return MORE;
    const items = flat.value as RedisReply[];
    const map = new Map<RedisReply, RedisReply>();
    for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
    return { value: map, end: flat.end };
  }
}

function readInt(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new Error(`not a RESP integer: "${text.slice(0, 40)}"`);
  return Number(text);
}
