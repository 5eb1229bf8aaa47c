/**
 * The 32-bit hashes the keyed strategies share: FNV-1a of a string (a request's key, a
 * target's key) and a finalizer (MurmurHash3's fmix32) that mixes two of them into one
 * well-spread value. Integer arithmetic only: no allocation per request.
 */

/** FNV-1a over the string's UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: every input bit moves every output bit. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A per-instance cache of each target key's hash (targets are few and stable). */
export class KeyHashes {
  readonly #hashes = new Map<string, number>();

  of(key: string): number {
    let h = this.#hashes.get(key);
    if (h === undefined) {
      h = fmix32(fnv1a(key));
      this.#hashes.set(key, h);
    }
    return h;
  }
}
