/**
 * The certificates vane obtains itself (ACME), by name, as TLS listeners consult them
 * at each handshake (runtime CertSource): the current certificate of a name, its
 * state (pending: the first one is on its way; valid; failed: the last attempt
 * failed, with why), and a short wait for a name still pending, so that its first
 * clients get the right certificate a few seconds late rather than a wrong one at once.
 * Renewal replaces a name's certificate in place: new handshakes get the new one, open
 * connections keep theirs. One store per process; workers fill theirs from the
 * primary's (src/cluster/).
 */
import { X509Certificate } from "node:crypto";
import type { TlsCertificate } from "../runtime/types.ts";
import { normalize } from "../runtime/tls-select.ts";

export type CertState = "pending" | "valid" | "failed";

/** One name as /status and /metrics show it. */
export interface CertStatus {
  name: string;
  state: CertState;
  /** ISO time the current certificate expires; null before the first. */
  notAfter: string | null;
  /** Seconds until then (negative once expired); null before the first. */
  expiresInSeconds: number | null;
  /** The last failure (host, challenge, the CA's problem), null after a success. */
  lastError: string | null;
}

interface Entry {
  cert: TlsCertificate | null;
  notAfter: number | null;
  lastError: string | null;
}

/** How long a handshake for a pending name waits for its first certificate. */
export const PENDING_HOLD_MS = 10_000;

export class CertStore {
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #holdMs: number;

  constructor(options: { holdMs?: number } = {}) {
    this.#holdMs = options.holdMs ?? PENDING_HOLD_MS;
  }

  /** The names to serve: new ones are pending, those no longer named are dropped. */
  expect(names: readonly string[]): void {
    const want = new Set(names.map(normalize));
    for (const name of [...this.#entries.keys()]) if (!want.has(name)) this.#entries.delete(name);
    for (const name of want) {
      if (!this.#entries.has(name)) this.#entries.set(name, { cert: null, notAfter: null, lastError: null });
    }
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** A name's certificate now (or null), for the cluster channel and the manager. */
  current(name: string): { cert: TlsCertificate; notAfter: number } | null {
    const e = this.#entries.get(normalize(name));
    return e?.cert && e.notAfter !== null ? { cert: e.cert, notAfter: e.notAfter } : null;
  }

  /** Installs a name's certificate (PEM chain and key): handshakes from now on get it. */
  install(name: string, cert: TlsCertificate): void {
    const key = normalize(name);
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.cert = { cert: cert.cert, key: cert.key };
    entry.notAfter = Date.parse(new X509Certificate(cert.cert).validTo);
    entry.lastError = null;
    const waiting = this.#waiters.get(key);
    this.#waiters.delete(key);
    for (const wake of waiting ?? []) wake();
  }

  /** Records a failed attempt; a name that has a certificate keeps serving it. */
  fail(name: string, error: string): void {
    const entry = this.#entries.get(normalize(name));
    if (entry) entry.lastError = error;
  }

  /** CertSource.certFor: the name's certificate, a short wait while it is pending, or null if not ours. */
  certFor(sni: string | null): TlsCertificate | null | Promise<TlsCertificate | null> {
    if (sni === null) return null;
    const key = normalize(sni);
    const entry = this.#entries.get(key);
    if (!entry) return null;
    if (entry.cert) return entry.cert;
    return this.waitFor(key, this.#holdMs);
  }

  /** Resolves with the name's certificate once it has one, or null after `ms`. */
  waitFor(name: string, ms: number): Promise<TlsCertificate | null> {
    const key = normalize(name);
    const now = this.#entries.get(key)?.cert;
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(this.#entries.get(key)?.cert ?? null);
      };
      const timer = setTimeout(() => {
        this.#waiters.get(key)?.delete(wake);
        resolve(null);
      }, ms);
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, set = new Set());
      set.add(wake);
    });
  }

  status(now = Date.now()): CertStatus[] {
    return [...this.#entries].map(([name, e]) => ({
      name,
      // A name whose renewal failed still serves its certificate: valid, with the error shown.
      state: e.cert && e.notAfter !== null && e.notAfter > now ? "valid" : e.lastError ? "failed" : "pending",
      notAfter: e.notAfter === null ? null : new Date(e.notAfter).toISOString(),
      expiresInSeconds: e.notAfter === null ? null : Math.floor((e.notAfter - now) / 1000),
      lastError: e.lastError,
    }));
  }
}
