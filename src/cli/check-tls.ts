/**
 * The TLS part of `vane check`: every certificate, key and CA file the config names
 * (the top-level `tls`, listeners' and `terminate` steps' `tls`, `client-auth.ca`,
 * pools' `tls` ca/cert/key) is there, parses, and a key belongs to its certificate;
 * the certificates of each place vane terminates TLS cover the host names routed
 * there; certificates that expired or expire within 30 days are warned about.
 *
 * A routed name no certificate covers is an error, not a warning: every client that
 * checks certificates (browsers, curl) refuses that name, so the route cannot work,
 * which is what a Caddy user expects to be told (Caddy gets a certificate per site
 * name) and what nginx -t would let through to fail in production.
 */
import { acmeNames } from "../config/acme.ts";
import type { X509Certificate } from "node:crypto";
import type { Config, TlsFiles } from "../config/model.ts";
import { certNames, nameMatches } from "../runtime/tls-select.ts";
import { expiryWarning, keyMatches, parseCertificates, parsePrivateKey, type Read, readPem } from "./pem-files.ts";
import { type KeyPath, tlsSites } from "./routed-names.ts";

/** One thing `vane check` says about a file, at the YAML key that names it. */
export interface TlsFinding {
  at: KeyPath;
  level: "error" | "warning";
  message: string;
}

/**
 * Every finding about the config's TLS files, in the order they are written.
 * @param read Reads a file's text (the runtime's reader).
 * @param now The clock, for expiry.
 */
export async function checkTlsFiles(config: Config, read: Read, now: Date): Promise<TlsFinding[]> {
  const check = new FileCheck(read, now);
  for (const [k, f] of config.tls.entries()) await check.pair(f, ["tls", k]);
  // Names ACME obtains certificates for (exact names on https:// listeners) need no file.
  const fromAcme = new Set(config.acme !== undefined ? acmeNames(config).names : []);
  for (const site of tlsSites(config)) {
    const names: string[][] = [];
    for (const [k, f] of site.files.entries()) {
      const certs = await check.pair(f, [...site.filesAt, k]);
      if (certs) names.push(certNames(certs[0].toString()));
    }
    if (names.length < site.files.length || names.length === 0) continue; // said already
    const list = site.files.map((f) => f.certPath).join(", ");
    for (const name of site.names) {
      if (fromAcme.has(name) || names.some((ns) => ns.some((p) => nameMatches(p, name)))) continue;
      check.error(site.at, `${name} is routed here over TLS, but no certificate covers it (${list})`);
    }
  }
  for (const [i, l] of config.listeners.entries()) {
    if (l.clientAuth) await check.cas(l.clientAuth.ca, ["listeners", i, "client-auth", "ca"], "client CA bundle");
  }
  for (const [name, p] of Object.entries(config.pools)) {
    const t = p.tls;
    if (t === null) continue;
    if (t.ca !== null) await check.cas(t.ca, ["pools", name, "tls", "ca"], "CA bundle");
    if (t.cert !== null && t.key !== null) {
      await check.pair({ certPath: t.cert, keyPath: t.key }, ["pools", name, "tls"]);
    }
  }
  return check.findings;
}

/** The findings so far, each file pair checked once however many places name it. */
class FileCheck {
  readonly findings: TlsFinding[] = [];
  readonly #pairs = new Map<string, Promise<X509Certificate[] | null>>();
  readonly #read: Read;
  readonly #now: Date;

  constructor(read: Read, now: Date) {
    this.#read = read;
    this.#now = now;
  }

  error(at: KeyPath, message: string): void {
    this.findings.push({ at, level: "error", message });
  }

  /** A certificate and its key, at `at` (a map with cert and key); the chain when the certificate parsed. */
  pair(f: TlsFiles, at: KeyPath): Promise<X509Certificate[] | null> {
    const id = `${f.certPath}\u0000${f.keyPath}`;
    let p = this.#pairs.get(id);
    if (!p) this.#pairs.set(id, p = this.#pair(f, at));
    return p;
  }

  async #pair(f: TlsFiles, at: KeyPath): Promise<X509Certificate[] | null> {
    const certs = await this.#certificates(f.certPath, [...at, "cert"], "certificate");
    const keyAt = [...at, "key"];
    const text = await readPem(this.#read, f.keyPath);
    const key = text.ok ? parsePrivateKey(text.text) : text;
    if (!key.ok) this.error(keyAt, `key ${f.keyPath}: ${key.reason}`);
    else if (certs && !keyMatches(certs[0], key.key)) {
      this.error(keyAt, `key ${f.keyPath}: does not match certificate ${f.certPath} (their public keys differ)`);
    }
    return certs;
  }

  /** A file of CA certificates: there, parses, not expired. */
  async cas(path: string, at: KeyPath, what: string): Promise<void> {
    await this.#certificates(path, at, what, { all: true });
  }

  async #certificates(
    path: string,
    at: KeyPath,
    what: string,
    opts = { all: false },
  ): Promise<X509Certificate[] | null> {
    const text = await readPem(this.#read, path);
    const parsed = text.ok ? parseCertificates(text.text) : text;
    if (!parsed.ok) {
      this.error(at, `${what} ${path}: ${parsed.reason}`);
      return null;
    }
    for (const c of opts.all ? parsed.certs : parsed.certs.slice(0, 1)) {
      const w = expiryWarning(c, this.#now);
      const who = opts.all && parsed.certs.length > 1 ? ` (${c.subject.replace(/\n/g, ", ")})` : "";
      if (w) this.findings.push({ at, level: "warning", message: `${what} ${path}${who}: ${w}` });
    }
    return parsed.certs;
  }
}
