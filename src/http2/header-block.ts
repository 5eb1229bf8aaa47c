/**
 * A header block on its way (RFC 9113 §4.3): a HEADERS frame's fragment and those of
 * the CONTINUATION frames after it, copied as they come (frame bytes are views valid
 * until the next read) and joined once END_HEADERS came. Bounded in bytes and in
 * frames, so a peer cannot make vane hold an endless block (the CONTINUATION flood).
 */

/** CONTINUATION frames one header block may take. */
export const MAX_CONTINUATIONS = 64;

export class HeaderBlock {
  readonly #parts: Uint8Array[] = [];
  #bytes = 0;

  /** `maxBytes`: the most the block may hold in all. */
  constructor(readonly stream: number, readonly endStream: boolean, readonly maxBytes: number) {}

  /** Adds a fragment (copied); false when the block is now over its bounds. */
  add(fragment: Uint8Array): boolean {
    this.#parts.push(fragment.slice());
    this.#bytes += fragment.length;
    return this.#bytes <= this.maxBytes && this.#parts.length <= MAX_CONTINUATIONS + 1;
  }

  /** The whole block, its fragments joined. */
  bytes(): Uint8Array {
    if (this.#parts.length === 1) return this.#parts[0];
    const out = new Uint8Array(this.#bytes);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
