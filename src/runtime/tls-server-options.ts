/**
 * The protocol versions and cipher suites a node:tls server offers, in one place: TLS
 * 1.2 and 1.3 only, and on TLS 1.2 only ECDHE key exchange with AEAD ciphers (forward
 * secret, as Mozilla's "intermediate" profile and Caddy's defaults). TLS 1.3 suites
 * are all forward secret and are left to the library. `minVersion` and `ciphers`
 * (the listener's `tls-min-version` and `tls-ciphers`) override these.
 *
 * Deno's own TLS server (rustls, tls-deno.ts) needs none of this: it offers only TLS
 * 1.2 and 1.3 and only ECDHE AEAD suites, and takes no cipher list
 * (test/integration/tls-hygiene.test.ts shows both runtimes refusing the same things).
 */
import type { TlsServerOptions } from "./types.ts";

/** The TLS 1.2 suites offered by default, strongest first within each cipher. OpenSSL names. */
export const DEFAULT_TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** What node:tls createServer / createSecureContext take from a listener's TLS policy. */
export interface NodeTlsPolicy {
  minVersion: "TLSv1.2" | "TLSv1.3";
  ciphers: string;
  honorCipherOrder: boolean;
}

/** The node:tls options for a listener's `minVersion` and `ciphers` (TlsServerOptions). */
export function nodeTlsPolicy(opts: Pick<TlsServerOptions, "minVersion" | "ciphers">): NodeTlsPolicy {
  return {
    minVersion: opts.minVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
    ciphers: opts.ciphers ?? DEFAULT_TLS12_CIPHERS,
    // The server's order, not the client's: the list above puts the strongest first.
    honorCipherOrder: true,
  };
}

/** Why a cipher list cannot be honoured where `Runtime.tlsCiphers` is false (Deno). */
export const TLS_CIPHERS_UNSUPPORTED =
  "Deno's TLS (rustls) takes no cipher list: it offers TLS 1.3 and, on TLS 1.2, only ECDHE suites with AES-GCM or ChaCha20-Poly1305; leave tls-ciphers out, or run vane on Bun";
