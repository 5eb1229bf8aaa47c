/**
 * The static Huffman code HPACK string literals may use (RFC 7541 §5.2, Appendix B).
 *
 * Appendix B is a canonical Huffman code: codes of one length are consecutive in symbol
 * order and every shorter code sorts before every longer one. So the 257 code lengths
 * below fix every code, and the codes are derived from them rather than transcribed
 * twice (the tests check the derived codes against rows of the appendix).
 *
 * Decoding is a table-driven state machine over 4-bit steps: a state is an internal
 * node of the code tree (256 of them); each (state, nibble) entry gives the next state
 * and at most one symbol (no code is shorter than 5 bits). No per-bit work at run time.
 */
import { latin1Decode } from "../detect/bytes.ts";
import { compressionError } from "./hpack-error.ts";

/** Code length in bits of symbols 0 to 255 and of EOS (256), as Appendix B lists them. */
// deno-fmt-ignore
const CODE_LENGTHS: readonly number[] = [
  /*   0-15  */ 13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  /*  16-31  */ 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  /*  32-47  */ 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //  !"#$%&'()*+,-./
  /*  48-63  */ 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 0-9 :;<=>?
  /*  64-79  */ 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // @ A-O
  /*  80-95  */ 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // P-Z [\]^_
  /*  96-111 */ 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // ` a-o
  /* 112-127 */ 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // p-z {|}~ DEL
  /* 128-143 */ 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  /* 144-159 */ 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  /* 160-175 */ 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  /* 176-191 */ 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  /* 192-207 */ 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  /* 208-223 */ 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  /* 224-239 */ 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  /* 240-255 */ 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  /* EOS     */ 30,
];

/** The end-of-string symbol: never sent as data; its first bits pad the last octet. */
export const EOS = 256;

/** Each symbol's code, right-aligned, assigned canonically from CODE_LENGTHS. */
function canonicalCodes(): Int32Array {
  const order = CODE_LENGTHS.map((_, sym) => sym).sort((a, b) => CODE_LENGTHS[a] - CODE_LENGTHS[b] || a - b);
  const codes = new Int32Array(EOS + 1);
  let code = 0;
  let length = CODE_LENGTHS[order[0]];
  for (const sym of order) {
    code <<= CODE_LENGTHS[sym] - length;
    length = CODE_LENGTHS[sym];
    codes[sym] = code++;
  }
  // A complete prefix code ends on the all-ones code of its longest length (EOS here).
  if (codes[EOS] !== 0x3fffffff) throw new Error("huffman: Appendix B code lengths do not form the canonical code");
  return codes;
}

/** Symbol -> its code, right-aligned (LENGTHS has its length); exported for the tests. */
export const HUFFMAN_CODES: Int32Array = canonicalCodes();
const LENGTHS = Uint8Array.from(CODE_LENGTHS);

/**
 * The code tree: CHILD[node * 2 + bit] is an internal node (>= 0) or a leaf, -(sym + 1).
 * Node 0 is the root; a complete code over 257 leaves has 256 internal nodes.
 */
const NODES = 256;

function codeTree(): Int32Array {
  const child = new Int32Array(NODES * 2);
  let made = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    let node = 0;
    for (let bit = LENGTHS[sym] - 1; bit > 0; bit--) {
      const slot = node * 2 + ((HUFFMAN_CODES[sym] >>> bit) & 1);
      if (child[slot] === 0) child[slot] = made++;
      node = child[slot];
    }
    child[node * 2 + (HUFFMAN_CODES[sym] & 1)] = -(sym + 1);
  }
  return child;
}

/** A transition: next state in bits 0-7, the symbol it completes in 8-15, and flags. */
const EMIT = 1 << 16;
const HITS_EOS = 1 << 17;
const NIBBLE_STATES = 16;

function transitions(child: Int32Array): Int32Array {
  const table = new Int32Array(NODES * NIBBLE_STATES);
  for (let state = 0; state < NODES; state++) {
    for (let nibble = 0; nibble < NIBBLE_STATES; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = child[node * 2 + ((nibble >>> bit) & 1)];
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = -next - 1;
        if (sym === EOS) entry |= HITS_EOS;
        else entry |= EMIT | (sym << 8);
        node = 0;
      }
      table[state * NIBBLE_STATES + nibble] = entry | node;
    }
  }
  return table;
}

/** How a string may end in a state: what the bits since the last symbol amount to. */
const END_OK = 0;
const END_PADDING_TOO_LONG = 1;
const END_PADDING_NOT_EOS = 2;

/** Only the states on the all-ones path (the start of EOS) within 7 bits may end a string. */
function endStates(child: Int32Array): Uint8Array {
  const ends = new Uint8Array(NODES).fill(END_PADDING_NOT_EOS);
  ends[0] = END_OK;
  let node = 0;
  for (let depth = 1; child[node * 2 + 1] >= 0; depth++) {
    node = child[node * 2 + 1];
    ends[node] = depth <= 7 ? END_OK : END_PADDING_TOO_LONG;
  }
  return ends;
}

const TREE = codeTree();
const STEP = transitions(TREE);
const ENDS = endStates(TREE);

/**
 * Decoded symbols land in a buffer kept between calls, grown up to SCRATCH_LIMIT; a
 * longer string gets a buffer of its own, so one huge header does not pin memory for good.
 */
const SCRATCH_LIMIT = 64 * 1024;
let scratch = new Uint8Array(1024);
/** Where the last decode put its bytes: `scratch` or a buffer of its own. */
let decoded = scratch;

/** Decodes buf[start, end) into `decoded`; returns how many bytes it made. */
function decode(buf: Uint8Array, start: number, end: number): number {
  // Every symbol takes at least 5 bits.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (most > SCRATCH_LIMIT) decoded = new Uint8Array(most);
  else {
    if (scratch.length < most) scratch = new Uint8Array(Math.min(SCRATCH_LIMIT, Math.max(most, scratch.length * 2)));
    decoded = scratch;
  }
  const out = decoded;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i];
    let t = STEP[(state << 4) | (byte >>> 4)];
    // Any flag puts t above 0xff: a symbol completed, or EOS reached.
    if (t > 0xff) {
      if (t & HITS_EOS) throw compressionError("Huffman-coded string holds the EOS symbol");
      out[n++] = t >>> 8;
    }
    t = STEP[((t & 0xff) << 4) | (byte & 0xf)];
    if (t > 0xff) {
      if (t & HITS_EOS) throw compressionError("Huffman-coded string holds the EOS symbol");
      out[n++] = t >>> 8;
    }
    state = t & 0xff;
  }
  const ending = ENDS[state];
  if (ending === END_PADDING_TOO_LONG) throw compressionError("Huffman padding longer than 7 bits");
  if (ending === END_PADDING_NOT_EOS) throw compressionError("Huffman padding is not the most significant bits of EOS");
  return n;
}

/** Decodes a Huffman-coded string; throws HpackError on EOS in the data or bad padding. */
export function huffmanDecode(bytes: Uint8Array): Uint8Array {
  const n = decode(bytes, 0, bytes.length);
  return decoded.slice(0, n);
}

/** buf[start, end) Huffman-decoded, as a latin1 string (one char per byte). */
export function huffmanDecodeString(buf: Uint8Array, start: number, end: number): string {
  const n = decode(buf, start, end);
  return latin1Decode(decoded, 0, n);
}

/** Octets `bytes` takes Huffman-coded, padding included. */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += LENGTHS[bytes[i]];
  return (bits + 7) >>> 3;
}

/**
 * Octets the latin1 string `s` takes Huffman-coded. Throws a RangeError on a char above
 * 0xff: it has no byte, and cutting it to one could turn it into a CR or LF.
 */
export function huffmanStringLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`hpack: header field char U+${c.toString(16)} is not latin1`);
    bits += LENGTHS[c];
  }
  return (bits + 7) >>> 3;
}

/**
 * Bits are gathered in a 32-bit accumulator and written out a byte at a time. At most
 * 7 bits wait between symbols, so codes up to 24 bits go in at once; longer ones in two
 * pieces. Bits above those still waiting are left as they are: no written byte reads them.
 */
function flush(out: Uint8Array, at: number, acc: number, bits: number): number {
  while (bits >= 8) {
    bits -= 8;
    out[at++] = acc >>> bits;
  }
  return at;
}

/** Writes the code of each symbol `symbolAt(i)` for i < n to out at `at`; returns the end. */
function encodeInto(n: number, symbolAt: (i: number) => number, out: Uint8Array, at: number): number {
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const sym = symbolAt(i);
    const length = LENGTHS[sym];
    const code = HUFFMAN_CODES[sym];
    if (length > 24) {
      acc = (acc << (length - 16)) | (code >>> 16);
      at = flush(out, at, acc, bits += length - 16);
      bits &= 7;
      acc = (acc << 16) | (code & 0xffff);
      bits += 16;
    } else {
      acc = (acc << length) | code;
      bits += length;
    }
    at = flush(out, at, acc, bits);
    bits &= 7;
  }
  // Pad the last octet with the most significant bits of EOS: all ones.
  if (bits > 0) out[at++] = (acc << (8 - bits)) | (0xff >>> bits);
  return at;
}

/** `bytes` Huffman-coded, padded to an octet with the first bits of EOS. */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes));
  encodeInto(bytes.length, (i) => bytes[i], out, 0);
  return out;
}

/** The latin1 string `s` Huffman-coded into out at `at` (check it with huffmanStringLength first); returns the end. */
export function huffmanEncodeStringInto(s: string, out: Uint8Array, at: number): number {
  return encodeInto(s.length, (i) => s.charCodeAt(i), out, at);
}
