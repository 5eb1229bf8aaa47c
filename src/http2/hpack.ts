/**
 * HPACK, header compression for HTTP/2 (RFC 7541): the codec's public face. One
 * HpackDecoder per connection reads the peer's header blocks; one HpackEncoder writes
 * ours. Each keeps the dynamic table its peer keeps, so every block of a connection must
 * go through the same instance, in order.
 */
export type { HeaderField } from "./header-field.ts";
export { HpackError, type HpackErrorKind } from "./hpack-error.ts";
export { DEFAULT_MAX_HEADER_LIST_SIZE, HpackDecoder, type HpackDecoderOptions } from "./hpack-decoder.ts";
export { DEFAULT_TABLE_SIZE } from "./hpack-table.ts";
export { HpackEncoder, type HpackEncoderOptions } from "./hpack-encoder.ts";
