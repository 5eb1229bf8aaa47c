/**
 * JSON Web Signatures as ACME wants them (RFC 8555 §6.2, RFC 7515): flattened JSON,
 * ES256 over the account's P-256 key, the public key (`jwk`) until the account has a
 * URL and the account URL (`kid`) after; the JWK thumbprint (RFC 7638) for key
 * authorizations.
 */
import { createHash, createPublicKey, type KeyObject, sign } from "node:crypto";

export interface Jwk {
  crv: string;
  kty: string;
  x: string;
  y: string;
}

export function base64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function jwkOf(key: KeyObject): Jwk {
  const j = createPublicKey(key).export({ format: "jwk" }) as Partial<Jwk>;
  return { crv: j.crv!, kty: j.kty!, x: j.x!, y: j.y! };
}

/** RFC 7638: SHA-256 over the required members in lexical order. */
export function thumbprint(jwk: Jwk): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return base64url(new Uint8Array(createHash("sha256").update(canonical).digest()));
}

/** The body of one ACME POST; `payload` null is POST-as-GET (an empty payload). */
export function signRequest(
  key: KeyObject,
  who: { kid: string } | { jwk: Jwk },
  nonce: string,
  url: string,
  payload: unknown | null,
): string {
  const protectedHeader = base64url(JSON.stringify({ alg: "ES256", nonce, url, ...who }));
  const body = payload === null ? "" : base64url(JSON.stringify(payload));
  const sig = sign("sha256", new TextEncoder().encode(`${protectedHeader}.${body}`), {
    key,
    dsaEncoding: "ieee-p1363",
  });
  return JSON.stringify({ protected: protectedHeader, payload: body, signature: base64url(new Uint8Array(sig)) });
}
