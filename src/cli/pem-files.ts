/**
 * What `vane check` reads in one certificate, key or CA file: whether it is there and
 * parses as PEM of the right kind, whether a key belongs to its certificate (their
 * public keys are compared), and when a certificate stops being valid. Pure apart from
 * `read`, which the caller gives (the runtime's file reader), so tests need no files.
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { errorText } from "../errors/mod.ts";

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

export type Read = (path: string) => Promise<string>;

/** A file's text, or why it cannot be read, said shortly ("no such file"). */
export async function readPem(
  read: Read,
  path: string,
): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  try {
    return { ok: true, text: await read(path) };
  } catch (err) {
    return { ok: false, reason: fileErrorText(err) };
  }
}

/** ENOENT on Bun, NotFound on Deno: one wording for both. */
export function fileErrorText(err: unknown): string {
  const e = err as { code?: string; name?: string };
  if (e?.code === "ENOENT" || e?.name === "NotFound") return "no such file";
  if (e?.code === "EACCES" || e?.name === "PermissionDenied") return "permission denied";
  if (e?.code === "EISDIR" || e?.name === "IsADirectory") return "is a directory";
  return errorText(err);
}

/** The certificates in a PEM text, leaf first; a reason when there is none or one does not parse. */
export function parseCertificates(
  text: string,
): { ok: true; certs: X509Certificate[] } | { ok: false; reason: string } {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    return { ok: false, reason: "no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)" };
  }
  const certs: X509Certificate[] = [];
  for (const [i, b] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(b));
    } catch (err) {
      return { ok: false, reason: `certificate ${i + 1} of ${blocks.length} does not parse: ${errorText(err)}` };
    }
  }
  return { ok: true, certs };
}

/** A private key in a PEM text (PKCS#8, PKCS#1 or SEC1), or why not. */
export function parsePrivateKey(text: string): { ok: true; key: KeyObject } | { ok: false; reason: string } {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return { ok: false, reason: "no PEM private key in it (expected -----BEGIN PRIVATE KEY-----)" };
  }
  try {
    return { ok: true, key: createPrivateKey(text) };
  } catch (err) {
    return { ok: false, reason: `the private key does not parse: ${errorText(err)}` };
  }
}

/** Whether `key` is the private half of `cert`'s public key. */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" }) as Uint8Array;
  const a = spki(cert.publicKey);
  const b = spki(createPublicKey(key));
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A warning when `cert` has expired or expires within `days` of `now`; else null. */
export function expiryWarning(cert: X509Certificate, now: Date, days = 30): string | null {
  const end = new Date(cert.validTo);
  const left = Math.floor((end.getTime() - now.getTime()) / DAY_MS);
  const on = end.toISOString().slice(0, 10);
  if (end.getTime() <= now.getTime()) return `expired on ${on}`;
  if (left < days) return `expires in ${left} day${left === 1 ? "" : "s"} (${on})`;
  return null;
}
