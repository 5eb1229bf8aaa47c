/**
 * Choosing a server certificate by the client's SNI, independent of the runtime:
 * the DNS names each certificate covers (subjectAltName, else the subject CN), then
 * exact name first, then the longest matching wildcard, else the first certificate.
 */
import { X509Certificate } from "node:crypto";
import { errorText } from "../errors/mod.ts";

/** The DNS names a PEM certificate is for, lower-cased: its SAN DNS entries, else its CN. */
export function certNames(pem: string): string[] {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch (err) {
    throw new Error(`cannot read certificate: ${errorText(err)}`, { cause: err });
  }
  const san = x509.subjectAltName ?? "";
  const dns = san.split(/,\s*/).filter((e) => e.startsWith("DNS:")).map((e) => normalize(e.slice(4)));
  if (dns.length) return dns;
  const cn = /(?:^|\n|,\s*)CN=([^\n,]+)/.exec(x509.subject ?? "")?.[1];
  return cn ? [normalize(cn)] : [];
}

/** A DNS name in one spelling: trimmed, lower-cased, without a trailing dot. */
export function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}

/**
 * Whether `pattern` covers `name`. A wildcard stands for exactly one label, as in
 * RFC 6125: `*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`.
 */
export function nameMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === name;
  const suffix = pattern.slice(1); // ".example.com"
  if (!name.endsWith(suffix)) return false;
  const label = name.slice(0, name.length - suffix.length);
  return label.length > 0 && !label.includes(".");
}

/**
 * Picks the index of the certificate for `sni` among certificates covering `names[i]`:
 * an exact name wins, then the longest matching wildcard, then the earliest listed; no
 * SNI or no match gives 0.
 */
export function selectCert(names: string[][], sni: string | null | undefined): number {
  if (!sni || names.length === 0) return 0;
  const want = normalize(sni);
  for (let i = 0; i < names.length; i++) {
    if (names[i].some((n) => !n.startsWith("*.") && n === want)) return i;
  }
  let best = 0;
  let bestLen = -1;
  for (let i = 0; i < names.length; i++) {
    for (const n of names[i]) {
      if (n.startsWith("*.") && n.length > bestLen && nameMatches(n, want)) {
        best = i;
        bestLen = n.length;
      }
    }
  }
  return best;
}
