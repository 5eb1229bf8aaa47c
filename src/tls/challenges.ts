/**
 * Challenge answers while a CA validates (RFC 8555 §8): HTTP-01 key authorizations by
 * token, served at /.well-known/acme-challenge/TOKEN on every http:// listener, and
 * TLS-ALPN-01 certificates by name (RFC 8737), served by TLS listeners to clients
 * offering `acme-tls/1`. The primary's ACME manager adds and removes them; with
 * workers, each worker keeps a copy fed over the cluster channel, since the CA's
 * validation request may reach any of them.
 */
import type { TlsCertificate } from "../runtime/types.ts";
import { normalize } from "../runtime/tls-select.ts";
import { alpnCertificate } from "./acme/alpn-cert.ts";
import type { ChallengeResponder, ChallengeType } from "./acme/order.ts";

export const HTTP_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** One challenge answer, as the cluster channel carries it. */
export interface ChallengeAnswer {
  type: ChallengeType;
  name: string;
  token: string;
  keyAuthorization: string;
}

export class Challenges implements ChallengeResponder {
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, ChallengeAnswer & { cert: TlsCertificate }>();
  readonly #listeners = new Set<(op: "add" | "remove", answer: ChallengeAnswer) => void>();

  add(type: ChallengeType, name: string, token: string, keyAuthorization: string): void {
    if (type === "http-01") this.#http.set(token, keyAuthorization);
    else {
      this.#alpn.set(normalize(name), {
        type,
        name,
        token,
        keyAuthorization,
        cert: alpnCertificate(name, keyAuthorization),
      });
    }
    for (const l of this.#listeners) l("add", { type, name, token, keyAuthorization });
  }

  remove(type: ChallengeType, name: string, token: string): void {
    if (type === "http-01") this.#http.delete(token);
    else if (this.#alpn.get(normalize(name))?.token === token) this.#alpn.delete(normalize(name));
    for (const l of this.#listeners) l("remove", { type, name, token, keyAuthorization: "" });
  }

  /** Tells `listener` of every change (the primary forwards them to its workers). */
  onChange(listener: (op: "add" | "remove", answer: ChallengeAnswer) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The answers open now, for a worker that starts while a validation runs. */
  open(): ChallengeAnswer[] {
    const http = [...this.#http].map(([token, keyAuthorization]) => ({
      type: "http-01" as const,
      name: "",
      token,
      keyAuthorization,
    }));
    return [
      ...http,
      ...[...this.#alpn.values()].map(({ type, name, token, keyAuthorization }) => ({
        type,
        name,
        token,
        keyAuthorization,
      })),
    ];
  }

  /** The body for a request path, or null when it is no challenge of ours. */
  httpAnswer(path: string): string | null {
    if (!path.startsWith(HTTP_CHALLENGE_PREFIX)) return null;
    return this.#http.get(path.slice(HTTP_CHALLENGE_PREFIX.length)) ?? null;
  }

  alpnCertificate(sni: string): TlsCertificate | null {
    return this.#alpn.get(normalize(sni))?.cert ?? null;
  }
}
