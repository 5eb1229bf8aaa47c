/**
 * When to renew a certificate: at two thirds of its lifetime (Let's Encrypt's advice,
 * and what Caddy and Certbot do for 90-day certificates), or inside the window the CA
 * suggests by ACME Renewal Information (RFC 9773) when its directory offers
 * `renewalInfo`; and how long to wait after a failure (doubling, capped).
 */
import { X509Certificate } from "node:crypto";
import { base64url } from "./jws.ts";

/** The first retry after a failure, and the longest wait between tries. */
export const BACKOFF_FIRST_MS = 30_000;
export const BACKOFF_MAX_MS = 6 * 3_600_000;

export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

/** Two thirds into the validity of the certificate (PEM, its first). */
export function renewalDue(certPem: string): number {
  const x = new X509Certificate(certPem);
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  return from + ((to - from) * 2) / 3;
}

/** The ARI certificate identifier (RFC 9773 §4.1): base64url(AKI keyIdentifier) "." base64url(serial). */
export function ariCertId(certPem: string): string | null {
  const x = new X509Certificate(certPem);
  const aki = authorityKeyId(new Uint8Array(x.raw));
  if (!aki) return null;
  let hex = x.serialNumber.toLowerCase();
  if (hex.length % 2) hex = "0" + hex;
  let serial = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  // The DER INTEGER's content: a leading zero where the top bit is set.
  if (serial[0] & 0x80) serial = Uint8Array.of(0, ...serial);
  return `${base64url(aki)}.${base64url(serial)}`;
}

/** A random time inside the suggested window (RFC 9773 §4.2), or null when the window is not one. */
export function timeInWindow(
  window: { start?: string; end?: string } | undefined,
  random = Math.random,
): number | null {
  const start = Date.parse(window?.start ?? "");
  const end = Date.parse(window?.end ?? "");
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return null;
  return start + random() * (end - start);
}

/**
 * The keyIdentifier of the authorityKeyIdentifier extension (2.5.29.35) of a DER
 * certificate: OID, [critical], OCTET STRING { SEQUENCE { [0] keyIdentifier } }.
 */
export function authorityKeyId(der: Uint8Array): Uint8Array | null {
  const OID = [0x06, 0x03, 0x55, 0x1d, 0x23];
  outer: for (let i = 0; i + OID.length < der.length; i++) {
    for (let k = 0; k < OID.length; k++) if (der[i + k] !== OID[k]) continue outer;
    let p = i + OID.length;
    if (der[p] === 0x01) p += 3; // critical BOOLEAN
    if (der[p] !== 0x04) return null;
    p += lengthSize(der, p + 1) + 1; // into the OCTET STRING
    if (der[p] !== 0x30) return null;
    p += lengthSize(der, p + 1) + 1; // into the SEQUENCE
    if (der[p] !== 0x80) return null;
    const len = der[p + 1];
    return der.slice(p + 2, p + 2 + len);
  }
  return null;
}

/** Bytes of the length field at `p`. */
function lengthSize(der: Uint8Array, p: number): number {
  return der[p] & 0x80 ? 1 + (der[p] & 0x7f) : 1;
}
