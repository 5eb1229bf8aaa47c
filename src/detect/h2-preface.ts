/**
 * The client connection preface of HTTP/2 (RFC 9113 §3.4): how a connection that speaks
 * HTTP/2 from its first byte (h2c with prior knowledge, or h2 chosen by ALPN) tells
 * itself apart from an HTTP/1.1 request, whose head it resembles ("PRI * HTTP/2.0").
 */
export const H2_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Bytes needed before a connection is taken for HTTP/2: "PRI " is no HTTP/1.1 method anyone sends. */
const ENOUGH = 4;

/** Whether `first` (a connection's first bytes) begins the preface, or as much of it as came. */
export function startsH2Preface(first: Uint8Array): boolean {
  if (first.length < ENOUGH) return false;
  const n = Math.min(first.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) if (first[i] !== H2_PREFACE[i]) return false;
  return true;
}
