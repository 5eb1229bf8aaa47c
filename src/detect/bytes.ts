/**
 * Bytes helpers for the parsers: one array out of pieces, latin1 and UTF-8 strings of
 * head fields. Plain JavaScript: detect/ sits below the runtime adapter (whose
 * allocBytes/concatBytes the hot path of the HTTP engine uses instead).
 */

/** One new array holding `parts` back to back. */
export function joinBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8");

/**
 * Short strings read from heads repeat: the same Host, "/", "keep-alive" on every
 * request. They are kept in a small table (by length and the first and last byte) and
 * handed out again when the bytes match, so reading them allocates nothing.
 */
const SHORT_BYTES = 32;
const SHORT_SLOTS = 256;
const shortKept: string[] = new Array<string>(SHORT_SLOTS).fill("");
/** Char codes of the string being made, reused (fromCharCode.apply takes an array). */
const shortCodes: number[] = [];

function shortString(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  const slot = (n * 31 + buf[start] * 7 + buf[end - 1]) & (SHORT_SLOTS - 1);
  const kept = shortKept[slot];
  if (kept.length === n) {
    let i = 0;
    while (i < n && kept.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return kept;
  }
  shortCodes.length = n;
  for (let i = 0; i < n; i++) shortCodes[i] = buf[start + i];
  const made = String.fromCharCode.apply(null, shortCodes);
  shortKept[slot] = made;
  return made;
}

/**
 * buf[start, end) as a string of one char per byte (latin1), as HTTP fields are read.
 * TextDecoder("latin1") is really windows-1252 (0x80-0x9f map elsewhere), so it cannot
 * be used; UTF-8 decodes ASCII (nearly every head) the same, natively. Short strings
 * (a method, "/", "keep-alive") cost less made char by char than a decoder call.
 */
export function latin1Decode(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= SHORT_BYTES) return shortString(buf, start, end);
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return UTF8.decode(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  // fromCharCode.apply has an argument-count limit; heads are small, so chunking rarely runs.
  const CHUNK = 4096;
  let s = "";
  for (let i = start; i < end; i += CHUNK) {
    s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[]);
  }
  return s;
}

const UTF8_ENCODER = new TextEncoder();
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * A string of one char per byte (latin1, as heads are parsed) as bytes, the inverse of
 * latin1Decode: ASCII through the runtime's native encoder, anything else char by char
 * (TextEncoder would turn 0x80-0xff into two UTF-8 bytes).
 */
export function latin1Encode(text: string): Uint8Array {
  if (!NON_ASCII.test(text)) return UTF8_ENCODER.encode(text);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
