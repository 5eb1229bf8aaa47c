/**
 * `tls-min-version` and `tls-ciphers`, at the top level (every https:// listener and
 * `terminate`) or on one https:// listener: what vane's TLS server offers instead of
 * its defaults (TLS 1.2 and 1.3; on TLS 1.2 only ECDHE suites with AEAD ciphers).
 */
import type { TlsServerPolicy } from "./model.ts";
import type { Entry, Reader } from "./yaml-reader.ts";

export const TLS_POLICY_KEYS = ["tls-min-version", "tls-ciphers"] as const;
const VERSIONS = ["1.2", "1.3"] as const;
const CIPHERS_EXPECTED = 'TLS 1.2 cipher suites, OpenSSL names joined by ":", like "ECDHE-RSA-AES128-GCM-SHA256"';
const SUITE = /^[A-Za-z0-9_+-]+$/;

/** The policy named in `entries`, or undefined when neither key is there (or one is wrong: reported). */
export function readTlsPolicy(r: Reader, entries: Map<string, Entry>): TlsServerPolicy | undefined {
  const v = entries.get("tls-min-version");
  const c = entries.get("tls-ciphers");
  const out: TlsServerPolicy = {};
  if (v) {
    // `1.2` unquoted is a YAML number: its text is what counts.
    const text = r.scalarText(v.value);
    const version = VERSIONS.find((x) => x === text);
    if (version === undefined) r.fail(v.value, v.path, `"1.2" or "1.3"`);
    else out.minVersion = version;
  }
  if (c) {
    const text = r.nonEmpty(c.value, c.path, CIPHERS_EXPECTED);
    const suites = text?.split(":").map((s) => s.trim());
    if (suites && suites.every((s) => SUITE.test(s))) out.ciphers = suites.join(":");
    else if (suites) r.fail(c.value, c.path, CIPHERS_EXPECTED);
  }
  return out.minVersion !== undefined || out.ciphers !== undefined ? out : undefined;
}
