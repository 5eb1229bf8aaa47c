/** Byte helpers for building inputs and showing them in failure reports. */
import type { Rng } from "./rng.ts";

/** Text to bytes one char per byte (latin1): "\x80" stays the byte 0x80, as heads are read. */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
}

/** Bytes as a JSON string of latin1 chars: readable for text protocols, exact for any byte. */
export function latin1Json(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return JSON.stringify(s);
}

/** `bytes` cut at `cuts` (offsets, ascending; a repeated cut gives an empty piece). */
export function cutAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const c of cuts) {
    pieces.push(bytes.subarray(at, c));
    at = c;
  }
  pieces.push(bytes.subarray(at));
  return pieces;
}

/**
 * `buf` cut at 1..8 random places (a cut may repeat, giving an empty piece), as an
 * incremental parser's input arrives; one of ten inputs up to `byteByByteUpTo` bytes
 * long comes a byte at a time instead.
 */
export function randomSplit(rng: Rng, buf: Uint8Array, byteByByteUpTo: number): Uint8Array[] {
  if (buf.length <= byteByByteUpTo && rng.chance(0.1)) return Array.from(buf, (_, i) => buf.subarray(i, i + 1));
  const cuts = Array.from({ length: rng.range(1, 8) }, () => rng.int(buf.length + 1)).sort((a, b) => a - b);
  return cutAt(buf, cuts);
}
