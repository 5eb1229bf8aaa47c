/**
 * The TLS-ALPN-01 challenge certificate (RFC 8737 §3): self-signed, for the one name
 * being validated, with the critical acmeIdentifier extension holding the SHA-256 of
 * the key authorization. Served only to a client that offers ALPN `acme-tls/1`.
 */
import { createHash, randomBytes } from "node:crypto";
import { boolean, dnsNames, explicit, integer, octetString, OID, oid, pem, sequence, time } from "./der.ts";
import { ECDSA_SHA256, newKeyPem, privateKey, signedDer, spki } from "./keys.ts";
import { commonName } from "./csr.ts";

const DAY_MS = 86_400_000;

export function alpnCertificate(name: string, keyAuthorization: string, now = Date.now()): {
  cert: string;
  key: string;
} {
  const keyPem = newKeyPem();
  const key = privateKey(keyPem);
  const digest = new Uint8Array(createHash("sha256").update(keyAuthorization).digest());
  const serial = new Uint8Array(randomBytes(16));
  serial[0] &= 0x7f;
  const extensions = sequence(
    sequence(oid(OID.subjectAltName), octetString(dnsNames([name]))),
    sequence(oid(OID.acmeIdentifier), boolean(true), octetString(octetString(digest))),
  );
  const subject = commonName(name);
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serial),
    ECDSA_SHA256,
    subject,
    sequence(time(new Date(now - DAY_MS)), time(new Date(now + 7 * DAY_MS))),
    subject,
    spki(key),
    explicit(3, extensions),
  );
  return { cert: pem("CERTIFICATE", signedDer(tbs, key)), key: keyPem };
}
