/**
 * The one error HPACK decoding throws (RFC 7541). Its own file so the Huffman code and
 * the header block decoder can both throw it without importing each other.
 *
 * - "compression": the block breaks RFC 7541; the HTTP/2 layer ends the connection with
 *   COMPRESSION_ERROR (RFC 9113 §4.3), since the two dynamic tables may now disagree.
 * - "too-large": the block decoded cleanly but its header list is over the limit
 *   (RFC 9113 §6.5.2); the tables are still in step, so only that stream is refused
 *   (431 or a stream error) and the connection carries on.
 */

export type HpackErrorKind = "compression" | "too-large";

export class HpackError extends Error {
  readonly kind: HpackErrorKind;

  constructor(kind: HpackErrorKind, message: string) {
    super(message);
    this.name = "HpackError";
    this.kind = kind;
  }
}

/** A "compression" error: the block breaks RFC 7541. */
export function compressionError(message: string): HpackError {
  return new HpackError("compression", `hpack: ${message}`);
}
