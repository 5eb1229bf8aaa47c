/**
 * What a connection's first bytes are: a TLS ClientHello (with its SNI and ALPN), an
 * HTTP/1 request, or something else. A detector for `peek`: undefined while it needs
 * more bytes.
 */
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from "./tls-client-hello.ts";
import { looksLikeHttpRequest } from "./http-head.ts";

export type Detection =
  | { protocol: "tls"; sni: string | null; alpn: string[] }
  /** The L7 engine takes over; it parses (and judges) the head itself. */
  | { protocol: "http" }
  | { protocol: "other" }
  /** Looked like a known protocol but was malformed: the connection is closed. */
  | { protocol: "invalid"; reason: string };

/** What detection may buffer before it gives up on a connection. */
export const MAX_DETECT_BYTES = MAX_CLIENT_HELLO_BYTES;

export function detectProtocol(buf: Uint8Array): Detection | undefined {
  const hello = parseClientHello(buf);
  switch (hello.status) {
    case "need-more":
      return undefined;
    case "ok":
      return { protocol: "tls", sni: hello.sni, alpn: hello.alpn };
    case "error":
      return { protocol: "invalid", reason: `tls: ${hello.reason}` };
    case "not-tls":
      return detectHttp(buf);
  }
}

/**
 * HTTP once a method-like token is followed by a space; other as soon as it cannot
 * be (the sniffer gives up after 20 bytes without a space, so this is bounded).
 */
function detectHttp(buf: Uint8Array): Detection | undefined {
  if (!looksLikeHttpRequest(buf)) return { protocol: "other" };
  return buf.indexOf(0x20) > 0 ? { protocol: "http" } : undefined;
}
