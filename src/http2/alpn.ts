/**
 * What vane's TLS listeners offer by ALPN (RFC 7301) for HTTP: HTTP/2 first, as Caddy
 * and nginx do, then HTTP/1.1. A client that picks h2 opens with the HTTP/2 preface,
 * which the engine hands to the HTTP/2 session (src/http2/session.ts).
 */
export const HTTP_ALPN: readonly string[] = ["h2", "http/1.1"];
