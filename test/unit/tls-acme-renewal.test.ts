import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { ariCertId, backoffMs, renewalDue, timeInWindow } from "../../src/tls/acme/renewal.ts";
import { alpnCertificate } from "../../src/tls/acme/alpn-cert.ts";
import { createCsr } from "../../src/tls/acme/csr.ts";
import { newKeyPem, privateKey } from "../../src/tls/acme/keys.ts";
import { pem } from "../../src/tls/acme/der.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

afterAll(removeCerts);

function openssl(args: string[], input: string): string {
  const r = spawnSync("openssl", args, { input, encoding: "utf8" });
  return r.stdout + r.stderr;
}

describe("renewal timing", () => {
  it("is due two thirds into the certificate's validity", () => {
    const c = makeCert("a.example.com");
    const x = new X509Certificate(c.cert);
    const from = Date.parse(x.validFrom);
    const to = Date.parse(x.validTo);
    expect(renewalDue(c.cert)).toBe(from + ((to - from) * 2) / 3);
  });

  it("backs off from 30 s, doubling, to at most 6 h", () => {
    expect([1, 2, 3].map(backoffMs)).toEqual([30_000, 60_000, 120_000]);
    expect(backoffMs(30)).toBe(6 * 3_600_000);
  });

  it("takes a time inside an ARI window, and nothing from a broken one", () => {
    const w = { start: "2030-01-01T00:00:00Z", end: "2030-01-02T00:00:00Z" };
    expect(timeInWindow(w, () => 0.5)).toBe(Date.parse("2030-01-01T12:00:00Z"));
    expect(timeInWindow({ start: "x", end: w.end })).toBeNull();
    expect(timeInWindow({ start: w.end, end: w.start })).toBeNull();
    expect(timeInWindow(undefined)).toBeNull();
  });

  it("names a certificate for ARI by its authority key identifier and serial (RFC 9773 §4.1)", () => {
    // openssl's self-signed certificates carry an authorityKeyIdentifier.
    const c = makeCert("a.example.com");
    const text = openssl(["x509", "-noout", "-text", "-serial"], c.cert);
    const aki = /Authority Key Identifier:\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)![1].replace(/:/g, "");
    let serial = /serial=([0-9A-F]+)/.exec(text)![1];
    if (serial.length % 2) serial = "0" + serial;
    if (parseInt(serial.slice(0, 2), 16) & 0x80) serial = "00" + serial;
    const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64url");
    expect(ariCertId(c.cert)).toBe(`${b64(aki)}.${b64(serial)}`);
  });
});

describe("hand-written DER", () => {
  it("makes a CSR openssl verifies, with every name as a SAN", () => {
    const csr = pem("CERTIFICATE REQUEST", createCsr(["a.example.com", "b.example.com"], privateKey(newKeyPem())));
    const out = openssl(["req", "-noout", "-text", "-verify"], csr);
    expect(out).toContain("verify OK");
    expect(out).toContain("DNS:a.example.com, DNS:b.example.com");
    expect(out).toContain("Subject: CN = a.example.com");
  });

  it("makes the TLS-ALPN-01 certificate: self-signed, the name as SAN, the critical acmeIdentifier holding SHA-256 of the key authorization", () => {
    const { cert } = alpnCertificate("a.example.com", "token.thumbprint");
    const x = new X509Certificate(cert);
    expect(x.subjectAltName).toBe("DNS:a.example.com");
    expect(x.verify(x.publicKey)).toBe(true);
    const out = openssl(["x509", "-noout", "-text"], cert);
    expect(out).toMatch(/1\.3\.6\.1\.5\.5\.7\.1\.31: critical/);
    const asn1 = openssl(["asn1parse", "-inform", "PEM"], cert);
    const digest = spawnSync("openssl", ["dgst", "-sha256", "-hex"], { input: "token.thumbprint", encoding: "utf8" })
      .stdout.trim().split(" ").pop()!.toUpperCase();
    // The extension's value: OCTET STRING { OCTET STRING (32 bytes) } = 0420 + digest.
    expect(asn1.replace(/\s/g, "")).toContain(`[HEXDUMP]:0420${digest}`);
  });
});
