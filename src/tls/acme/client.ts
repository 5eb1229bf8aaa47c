/**
 * A small ACME client (RFC 8555) on node:https and node:crypto: the directory, replay
 * nonces (a `badNonce` answer is retried with the fresh nonce it carries, as §6.5
 * asks), the account (created on first use, found again by its key after), orders,
 * authorizations, challenges, finalize and the certificate download. The order flow
 * itself is in order.ts; this file speaks the protocol.
 */
import type { KeyObject } from "node:crypto";
import { header, type HttpAnswer, httpRequest } from "./http.ts";
import { type Jwk, jwkOf, signRequest, thumbprint } from "./jws.ts";

export interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  /** ACME Renewal Information (RFC 9773), when the CA offers it. */
  renewalInfo?: string;
  meta?: { termsOfService?: string };
}

/** An ACME problem document (RFC 8555 §6.7, RFC 7807), as an error. */
export class AcmeProblem extends Error {
  constructor(
    readonly type: string,
    readonly detail: string,
    readonly status: number,
  ) {
    super(`${type.replace("urn:ietf:params:acme:error:", "")}: ${detail}`);
    this.name = "AcmeProblem";
  }
}

export interface AcmeResponse<T> {
  status: number;
  location: string | null;
  retryAfterMs: number | null;
  body: T;
  text: string;
}

const BAD_NONCE_RETRIES = 5;

export class AcmeClient {
  readonly #directoryUrl: string;
  readonly #key: KeyObject;
  readonly #jwk: Jwk;
  readonly #ca: string | undefined;
  #directory: Directory | null = null;
  #nonces: string[] = [];
  #kid: string | null = null;

  constructor(directoryUrl: string, accountKey: KeyObject, options: { ca?: string } = {}) {
    this.#directoryUrl = directoryUrl;
    this.#key = accountKey;
    this.#jwk = jwkOf(accountKey);
    this.#ca = options.ca;
  }

  /** `token.thumbprint`: what a challenge answer proves (RFC 8555 §8.1). */
  keyAuthorization(token: string): string {
    return `${token}.${thumbprint(this.#jwk)}`;
  }

  async directory(): Promise<Directory> {
    if (this.#directory) return this.#directory;
    const a = await httpRequest(this.#directoryUrl, { ca: this.#ca });
    if (a.status !== 200) throw new Error(`ACME directory ${this.#directoryUrl} answered ${a.status}`);
    const d = parseJson(a.body) as Directory | null;
    if (!d?.newNonce || !d.newAccount || !d.newOrder) {
      throw new Error(
        `ACME directory ${this.#directoryUrl} is not an ACME directory (no newNonce/newAccount/newOrder)`,
      );
    }
    return (this.#directory = d);
  }

  /**
   * The account's URL: registered (or found again, the same key) on first use. Names
   * ordered at once share one registration: two newAccount requests for one key at the
   * same moment can fail at the CA (pebble answers "Error saving account"). A failed one
   * is asked again by the next caller.
   */
  account(contact: string | null): Promise<string> {
    if (this.#kid) return Promise.resolve(this.#kid);
    this.#registering ??= this.#register(contact).finally(() => (this.#registering = null));
    return this.#registering;
  }

  #registering: Promise<string> | null = null;

  async #register(contact: string | null): Promise<string> {
    const d = await this.directory();
    const payload = { termsOfServiceAgreed: true, ...(contact ? { contact: [`mailto:${contact}`] } : {}) };
    const r = await this.#post(d.newAccount, payload, { jwk: this.#jwk });
    if (!r.location) throw new Error("ACME newAccount answered without the account URL (Location)");
    return (this.#kid = r.location);
  }

  /** A signed POST by the account (payload null: POST-as-GET). Throws AcmeProblem on an error status. */
  async post<T>(url: string, payload: unknown | null): Promise<AcmeResponse<T>> {
    if (!this.#kid) throw new Error("ACME: account() first");
    return await this.#post<T>(url, payload, { kid: this.#kid });
  }

  /** A plain GET (renewalInfo is not signed). */
  async get<T>(url: string): Promise<AcmeResponse<T>> {
    const a = await httpRequest(url, { ca: this.#ca });
    if (a.status >= 400) throw problemOf(a);
    return responseOf<T>(a);
  }

  async #post<T>(url: string, payload: unknown | null, who: { kid: string } | { jwk: Jwk }): Promise<AcmeResponse<T>> {
    for (let attempt = 0;; attempt++) {
      const body = signRequest(this.#key, who, await this.#nonce(), url, payload);
      const a = await httpRequest(url, { method: "POST", body, ca: this.#ca });
      const fresh = header(a, "replay-nonce");
      if (fresh) this.#nonces.push(fresh);
      if (a.status < 400) return responseOf<T>(a);
      const problem = problemOf(a);
      if (problem.type !== "urn:ietf:params:acme:error:badNonce" || attempt >= BAD_NONCE_RETRIES) throw problem;
    }
  }

  async #nonce(): Promise<string> {
    const n = this.#nonces.pop();
    if (n) return n;
    const d = await this.directory();
    const a = await httpRequest(d.newNonce, { method: "HEAD", ca: this.#ca });
    const fresh = header(a, "replay-nonce");
    if (!fresh) throw new Error(`ACME newNonce answered ${a.status} without a Replay-Nonce`);
    return fresh;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function responseOf<T>(a: HttpAnswer): AcmeResponse<T> {
  const retry = header(a, "retry-after");
  const seconds = retry !== null && /^\d+$/.test(retry) ? Number(retry) * 1000 : null;
  return {
    status: a.status,
    location: header(a, "location"),
    retryAfterMs: seconds,
    body: parseJson(a.body) as T,
    text: a.body,
  };
}

function problemOf(a: HttpAnswer): AcmeProblem {
  const p = parseJson(a.body) as { type?: string; detail?: string } | null;
  return new AcmeProblem(p?.type ?? "about:blank", p?.detail ?? (a.body.slice(0, 200) || `HTTP ${a.status}`), a.status);
}
