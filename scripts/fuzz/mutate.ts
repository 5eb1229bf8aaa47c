/**
 * Generic byte mutations, the kind AFL-style fuzzers apply: bit flips, interesting
 * bytes and 16-bit values, inserts, deletes, duplicated runs, splices from other
 * corpus entries, truncation. Structure-aware generators build a plausible input
 * first; these then break it in ways the structure did not think of.
 */
import type { Rng } from "./rng.ts";

/** Bytes that mean something to some parser here: line ends, separators, high bytes. */
export const INTERESTING_BYTES: readonly number[] = [
  0x0d,
  0x0a,
  0x00,
  0x80,
  0xff,
  0x3a,
  0x20,
  0x25,
  0x09,
  0x7f,
  0x2c,
  0x3b,
  0x2e,
  0x2f,
  0x5b,
  0x5d,
  0x7b,
  0x7d,
  0x22,
  0x27,
  0x23,
  0x2d,
  0x2a,
  0x26,
  0x21,
  0x7c,
  0x3e,
  0x30,
  0x39,
  0x41,
  0x46,
  0x61,
  0x66,
  0x01,
  0x03,
  0x16,
  0x1f,
  0x7e,
  0xc3,
  0xe9,
  0xfe,
];

/** Values that sit on a boundary somewhere (lengths, limits, sign bits). */
export const INTERESTING_U16: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  8,
  12,
  16,
  31,
  32,
  33,
  63,
  64,
  100,
  107,
  108,
  127,
  128,
  255,
  256,
  1023,
  1024,
  1025,
  4096,
  8192,
  16383,
  16384,
  18432,
  18433,
  32767,
  32768,
  65534,
  65535,
];

/** Byte sequences worth inserting whole. */
export const INTERESTING_RUNS: readonly Uint8Array[] = [
  "\r\n",
  "\r\n\r\n",
  "\n",
  "\r",
  "\n\r",
  ": ",
  " ",
  "\t",
  "%",
  "%00",
  "%zz",
  "\x00",
  ";",
  ",",
  "0\r\n\r\n",
  "HTTP/1.1",
  "chunked",
  "Host: a\r\n",
  "Content-Length: 0\r\n",
  "Transfer-Encoding: chunked\r\n",
  "PROXY ",
  "\r\n\r\n\x00\r\nQUIT\n",
  "\x16\x03\x01",
  "[::1]",
  "::ffff:",
  "255.255.255.255",
  "65535",
  "65536",
  "-1",
  "ffffffffffffffff",
].map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));

export interface MutateOptions {
  /** Other inputs to splice from. */
  corpus?: readonly Uint8Array[];
  /** Results are cut to this length (a duplicated run can grow fast). */
  maxLength?: number;
  /** Most mutations per call; 1..max are applied. */
  maxRounds?: number;
}

function insert(buf: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length + bytes.length);
  out.set(buf.subarray(0, at));
  out.set(bytes, at);
  out.set(buf.subarray(at), at + bytes.length);
  return out;
}

function remove(buf: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(buf.length - n);
  out.set(buf.subarray(0, at));
  out.set(buf.subarray(at + n), at);
  return out;
}

/** A short run length, mostly 1..8, now and then longer. */
function runLength(rng: Rng, limit: number): number {
  return Math.max(1, Math.min(limit, rng.chance(0.9) ? rng.range(1, 8) : rng.range(1, 256)));
}

/** One mutation of `buf` (which is not modified). */
export function mutateOnce(rng: Rng, buf: Uint8Array, opts: MutateOptions = {}): Uint8Array {
  const n = buf.length;
  const at = rng.int(n + 1);
  const op = rng.int(15);
  // Ops that need a byte to act on fall back to an insert on an empty input.
  if (n === 0 && op < 9) return insert(buf, 0, Uint8Array.of(rng.pick(INTERESTING_BYTES)));
  const i = rng.int(n);
  switch (op) {
    case 0: { // bit flip
      const out = buf.slice();
      out[i] ^= 1 << rng.int(8);
      return out;
    }
    case 1: { // interesting byte
      const out = buf.slice();
      out[i] = rng.pick(INTERESTING_BYTES);
      return out;
    }
    case 2: { // random byte
      const out = buf.slice();
      out[i] = rng.int(256);
      return out;
    }
    case 3: { // small arithmetic
      const out = buf.slice();
      out[i] = (out[i] + rng.range(-8, 8)) & 0xff;
      return out;
    }
    case 4: { // interesting 16-bit value, big-endian (the byte order of every binary format here)
      const out = buf.slice();
      const v = rng.pick(INTERESTING_U16) + (rng.chance(0.3) ? rng.range(-1, 1) : 0);
      out[i] = (v >>> 8) & 0xff;
      if (i + 1 < n) out[i + 1] = v & 0xff;
      return out;
    }
    case 5: // delete a run
      return remove(buf, i, runLength(rng, n - i));
    case 6: { // duplicate a run in place, 2..32 times (or many more, rarely)
      const len = runLength(rng, n - i);
      const times = rng.chance(0.95) ? rng.range(2, 32) : rng.range(33, 4096);
      const run = buf.subarray(i, i + len);
      const rep = new Uint8Array(len * times);
      for (let k = 0; k < times; k++) rep.set(run, k * len);
      return insert(buf, i, rep);
    }
    case 7: // truncate
      return buf.slice(0, i);
    case 8: { // swap two bytes
      const out = buf.slice();
      const j = rng.int(n);
      [out[i], out[j]] = [out[j], out[i]];
      return out;
    }
    case 9: // insert an interesting byte
      return insert(buf, at, Uint8Array.of(rng.pick(INTERESTING_BYTES)));
    case 10: // insert an interesting run
      return insert(buf, at, rng.pick(INTERESTING_RUNS));
    case 11: // insert random bytes
      return insert(buf, at, rng.bytes(runLength(rng, 64)));
    case 12: { // splice: a piece of another input, inserted or overwriting
      const other = opts.corpus && opts.corpus.length > 0 ? rng.pick(opts.corpus) : buf;
      if (other.length === 0) return buf;
      const s = rng.int(other.length);
      const piece = other.subarray(s, s + runLength(rng, other.length - s));
      if (rng.chance(0.5)) return insert(buf, at, piece);
      const out = buf.slice();
      out.set(piece.subarray(0, Math.max(0, n - at)), Math.min(at, n));
      return out;
    }
    case 13: { // crossover: the head of this input and the tail of another
      const other = opts.corpus && opts.corpus.length > 0 ? rng.pick(opts.corpus) : buf;
      const cut = rng.int(other.length + 1);
      const out = new Uint8Array(at + other.length - cut);
      out.set(buf.subarray(0, at));
      out.set(other.subarray(cut), at);
      return out;
    }
    default: { // replace a byte with a line end or a NUL (the favourites of HTTP smuggling)
      const out = buf.slice();
      out[i] = rng.pick([0x0d, 0x0a, 0x00, 0x20, 0x09]);
      return out;
    }
  }
}

/** 1..maxRounds mutations (few, mostly: one broken field is easier to reason about). */
export function mutate(rng: Rng, buf: Uint8Array, opts: MutateOptions = {}): Uint8Array {
  const rounds = 1 + rng.small((opts.maxRounds ?? 8) - 1);
  const max = opts.maxLength ?? 128 * 1024;
  let out = buf;
  for (let r = 0; r < rounds; r++) {
    out = mutateOnce(rng, out, opts);
    if (out.length > max) out = out.subarray(0, max);
  }
  return out;
}
