/**
 * A header block on its way (RFC 9113 §4.3): a HEADERS frame's fragment and those of
 * the CONTINUATION frames after it, copied as they come (frame bytes are views valid
 * until the next read) and joined once END_HEADERS came. Bounded in bytes and in
 * frames, so a peer cannot make vane hold an endless block (the CONTINUATION flood).
 */

import { ErrorCode } from "./constants.ts";
import { connectionError } from "./errors.ts";

/** CONTINUATION frames one header block may take. */
export const MAX_CONTINUATIONS = 64;

export class HeaderBlock {
  readonly #parts: Uint8Array[] = [];
  #bytes = 0;

  /** `maxBytes`: the most the block may hold in all. */
  constructor(readonly stream: number, readonly endStream: boolean, readonly maxBytes: number) {}

  /**
   * Adds a fragment; false when the block is now over its bounds. `last`: the block ends
   * with it and is decoded before the next read, so a block of one frame (the usual)
   * keeps the frame's view; else the fragment is copied, as the next read reuses it.
   */
  add(fragment: Uint8Array, last: boolean): boolean {
    this.#parts.push(last && this.#parts.length === 0 ? fragment : fragment.slice());
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

/**
 * The header block a connection is collecting, if any (§4.3, §6.10): begun by HEADERS,
 * continued by CONTINUATION frames of the same stream and nothing else in between. Each
 * call returns the block once END_HEADERS completed it.
 */
export class HeaderBlocks {
  #block: HeaderBlock | null = null;

  constructor(readonly maxBytes: number) {}

  /** A frame of another type arrived: with a block pending, that is a connection error. */
  interrupted(type: string): void {
    if (this.#block !== null && type !== "continuation") {
      throw connectionError(ErrorCode.PROTOCOL_ERROR, "a header block was not continued by CONTINUATION");
    }
  }

  /** A HEADERS frame's fragment: a new block. */
  begin(stream: number, endStream: boolean, fragment: Uint8Array, endHeaders: boolean): HeaderBlock | null {
    this.#block = new HeaderBlock(stream, endStream, this.maxBytes);
    return this.#add(fragment, endHeaders);
  }

  /** A CONTINUATION frame's fragment: the block of its stream goes on. */
  continue(stream: number, fragment: Uint8Array, endHeaders: boolean): HeaderBlock | null {
    if (this.#block === null || stream !== this.#block.stream) {
      throw connectionError(ErrorCode.PROTOCOL_ERROR, `CONTINUATION on stream ${stream} without a header block`);
    }
    return this.#add(fragment, endHeaders);
  }

  #add(fragment: Uint8Array, endHeaders: boolean): HeaderBlock | null {
    const block = this.#block!;
    if (!block.add(fragment, endHeaders)) {
      throw connectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large (CONTINUATION flood)");
    }
    if (!endHeaders) return null;
    this.#block = null;
    return block;
  }
}
