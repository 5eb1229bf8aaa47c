/**
 * One HTTP/2 header field as HPACK carries it. Names and values are latin1 strings:
 * each char is one octet 0-255, so any bytes a peer sends come through unchanged (the
 * HTTP/2 layer, not HPACK, decides which are allowed).
 */
export interface HeaderField {
  name: string;
  value: string;
  /**
   * Sent, or to be sent, as a never-indexed literal (RFC 7541 §6.2.3, §7.1.3): the
   * decoder marks fields that came so, and the encoder sends a marked field so again,
   * as an intermediary must.
   */
  sensitive?: boolean;
}
