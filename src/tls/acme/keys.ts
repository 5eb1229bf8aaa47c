/**
 * The keys ACME uses, all ECDSA P-256 (what Let's Encrypt and every ACME CA accept, and
 * the smallest): the account key that signs requests (jws.ts), and each certificate's
 * key. PEM (PKCS#8) on disk, node:crypto objects in memory.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { bitString, OID, oid, sequence } from "./der.ts";

/** A new P-256 private key, as PKCS#8 PEM. */
export function newKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export function privateKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** The SubjectPublicKeyInfo (DER) of a private key, for a CSR or a certificate. */
export function spki(key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ type: "spki", format: "der" }));
}

/** ecdsa-with-SHA256, as an AlgorithmIdentifier. */
export const ECDSA_SHA256 = sequence(oid(OID.ecdsaWithSha256));

/** `to-be-signed` signed with `key` and wrapped as X.509 and PKCS#10 do: SEQUENCE { tbs, alg, BIT STRING sig }. */
export function signedDer(tbs: Uint8Array, key: KeyObject): Uint8Array {
  const sig = new Uint8Array(sign("sha256", tbs, key));
  return sequence(tbs, ECDSA_SHA256, bitString(sig));
}
