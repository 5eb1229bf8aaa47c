/** Byte helpers shared by the parsers and the forwarders. */

/**
 * Small arrays are carved out of a shared slab, as Node's Buffer pool does: on V8 a
 * `new Uint8Array` costs about 0.5-1 µs (a zeroed backing store of its own), a view on
 * a slab a few dozen ns, and the HTTP engine makes two per request. A slab is freed
 * once no view of it is left; a carved array is never handed out twice. Slabs are
 * small (twice Node's 8 KiB) because one view still held, say by a write a client is
 * slow to take, keeps its whole slab alive.
 */
const SLAB_BYTES = 16 * 1024;
const SLAB_MAX_PIECE = 2048;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** A new array of `n` bytes (zeroed), to fill and hand on. */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_PIECE) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  // Word-aligned starts keep the copies into them fast.
  slabUsed += (n + 7) & ~7;
  return out;
}

/** One new array holding `parts` back to back. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = allocBytes(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
