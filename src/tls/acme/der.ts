/**
 * Just enough DER (ITU-T X.690) to write a PKCS#10 certificate request (csr.ts) and
 * the self-signed TLS-ALPN-01 certificate (alpn-cert.ts): definite lengths, the
 * universal types those two use, and context tags. Writing only; node:crypto reads.
 */

/** A tag and its content, length prefixed. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]) => tlv(0x30, concat(items));
export const set = (...items: Uint8Array[]) => tlv(0x31, concat(items));
export const octetString = (b: Uint8Array) => tlv(0x04, b);
export const utf8String = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const boolean = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
export const nullValue = () => Uint8Array.of(0x05, 0);
/** A BIT STRING with no unused bits (keys, signatures). */
export const bitString = (b: Uint8Array) => tlv(0x03, concat([Uint8Array.of(0), b]));
/** `[n]` constructed, explicit. */
export const explicit = (n: number, content: Uint8Array) => tlv(0xa0 | n, content);

/** A non-negative INTEGER from its big-endian bytes (a leading zero added when the top bit is set). */
export function integer(bytes: Uint8Array | number): Uint8Array {
  let b = typeof bytes === "number" ? Uint8Array.of(bytes) : bytes;
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  return tlv(0x02, b[0] & 0x80 ? concat([Uint8Array.of(0), b]) : b);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const bytes = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime (years 1950-2049) as X.509 wants it, else GeneralizedTime. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDhhmmss
  const year = d.getUTCFullYear();
  const enc = new TextEncoder();
  return year >= 1950 && year < 2050 ? tlv(0x17, enc.encode(iso.slice(2) + "Z")) : tlv(0x18, enc.encode(iso + "Z"));
}

/** A subjectAltName extension value: dNSName entries (`[2]` IA5String). */
export function dnsNames(names: readonly string[]): Uint8Array {
  return sequence(...names.map((n) => tlv(0x82, new TextEncoder().encode(n))));
}

export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
  extensionRequest: "1.2.840.113549.1.9.14",
  /** id-pe-acmeIdentifier, RFC 8737 §6.1. */
  acmeIdentifier: "1.3.6.1.5.5.7.1.31",
} as const;

export function pem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
