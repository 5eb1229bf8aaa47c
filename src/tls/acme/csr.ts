/**
 * A PKCS#10 certificate signing request (RFC 2986) for ACME's finalize (RFC 8555
 * §7.4): the names as subjectAltName dNSNames (the first also as the subject CN, which
 * some CAs still want), signed with the certificate's key. DER, which finalize sends
 * base64url-encoded.
 */
import type { KeyObject } from "node:crypto";
import { dnsNames, explicit, integer, octetString, OID, oid, sequence, set, utf8String } from "./der.ts";
import { signedDer, spki } from "./keys.ts";

/** The Name `CN=name`. */
export function commonName(name: string): Uint8Array {
  return sequence(set(sequence(oid(OID.commonName), utf8String(name))));
}

export function createCsr(names: readonly string[], key: KeyObject): Uint8Array {
  const san = sequence(oid(OID.subjectAltName), octetString(dnsNames(names)));
  const extensionRequest = sequence(oid(OID.extensionRequest), set(sequence(san)));
  const info = sequence(integer(0), commonName(names[0]), spki(key), explicit(0, extensionRequest));
  return signedDer(info, key);
}
