/**
 * Keeps a certificate for each name: the stored one at start while it is good (no new
 * order), a new one from the CA when there is none, and a renewal when one is due
 * (renewal.ts), all without a restart: each install goes into the CertStore that the
 * TLS listeners read at every handshake. A failure says one line (the host, the
 * challenge, the CA's problem), shows in the store (/status) and is retried with
 * backoff. One manager per vane, in the primary process only.
 */
import { X509Certificate } from "node:crypto";
import type { Logger } from "../../telemetry/logger.ts";
import type { CertStore } from "../cert-store.ts";
import type { TlsCertificate } from "../../runtime/types.ts";
import { certNames } from "../../runtime/tls-select.ts";
import { errorText } from "../../errors/mod.ts";
import { AcmeClient } from "./client.ts";
import { type ChallengeResponder, type ChallengeType, issueCertificate, IssueError } from "./order.ts";
import { AcmeStorage } from "./storage.ts";
import { ariCertId, backoffMs, renewalDue, timeInWindow } from "./renewal.ts";
import { privateKey } from "./keys.ts";

export interface AcmeSettings {
  email: string;
  directory: string;
  /** PEM text of the CA's HTTPS root (`--acme-ca-root`), or undefined for the system's. */
  caRoot?: string;
  stateDir: string;
  /** Challenge types to use, in order of preference. */
  challenges: readonly ChallengeType[];
}

/** The longest single timer: far renewals are checked again (and ARI asked again) this often. */
const MAX_SLEEP_MS = 6 * 3_600_000;

export class AcmeManager {
  readonly #jobs = new Map<string, NameJob>();
  readonly #storage: AcmeStorage;
  #client: Promise<AcmeClient> | null = null;
  /** Told of every certificate installed (the primary passes them to its workers). */
  onInstall: (name: string, cert: TlsCertificate) => void = () => {};

  constructor(
    readonly settings: AcmeSettings,
    readonly store: CertStore,
    readonly responder: ChallengeResponder,
    readonly log: Logger,
  ) {
    this.#storage = new AcmeStorage(settings.stateDir, settings.directory);
  }

  get storage(): AcmeStorage {
    return this.#storage;
  }

  /** The client, with the stored account key (made on first use). */
  client(): Promise<AcmeClient> {
    this.#client ??= this.#storage.accountKey().then((pem) =>
      new AcmeClient(this.settings.directory, privateKey(pem), { ca: this.settings.caRoot })
    );
    return this.#client;
  }

  /** Manages exactly `names` from now on: new ones start, dropped ones stop. */
  update(names: readonly string[]): void {
    this.store.expect(names);
    const want = new Set(this.store.names());
    for (const [name, job] of this.#jobs) {
      if (!want.has(name)) {
        job.stop();
        this.#jobs.delete(name);
      }
    }
    for (const name of want) {
      if (this.#jobs.has(name)) continue;
      const job = new NameJob(name, this);
      this.#jobs.set(name, job);
      void job.begin();
    }
  }

  stop(): void {
    for (const job of this.#jobs.values()) job.stop();
    this.#jobs.clear();
  }
}

/** One name's certificate over time: load, obtain, renew, retry. */
class NameJob {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #failures = 0;
  #stopped = false;

  constructor(readonly name: string, readonly m: AcmeManager) {}

  async begin(): Promise<void> {
    let stored: TlsCertificate | null = null;
    try {
      stored = await this.m.storage.loadCert(this.name);
      if (stored && !certNames(stored.cert).includes(this.name)) stored = null;
    } catch (err) {
      this.m.log.warn("ACME: stored certificate unreadable, ordering a new one", {
        name: this.name,
        error: errorText(err),
      });
    }
    if (stored && expiry(stored) > Date.now()) {
      this.m.store.install(this.name, stored);
      this.m.onInstall(this.name, stored);
      this.m.log.info("certificate loaded", { name: this.name, notAfter: new Date(expiry(stored)).toISOString() });
      return this.#schedule(await this.#due(stored));
    }
    await this.#attempt();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Wakes at `at` (in steps of at most MAX_SLEEP_MS, asking again when the time is far). */
  #schedule(at: number): void {
    if (this.#stopped) return;
    const wait = at - Date.now();
    if (wait <= 0) return void this.#attempt();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const current = this.m.store.current(this.name);
      if (wait > MAX_SLEEP_MS && current) {
        void this.#due(current.cert).then((due) => this.#schedule(due));
      } else void this.#attempt();
    }, Math.min(wait, MAX_SLEEP_MS));
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = await this.m.client();
      const cert = await issueCertificate(client, [this.name], {
        challenges: this.m.settings.challenges,
        responder: this.m.responder,
        contact: this.m.settings.email,
      });
      if (this.#stopped) return;
      const { via, ...pair } = cert;
      await this.m.storage.saveCert(this.name, pair);
      const renewed = this.m.store.current(this.name) !== null;
      this.m.store.install(this.name, pair);
      this.m.onInstall(this.name, pair);
      this.#failures = 0;
      this.m.log.info(renewed ? "certificate renewed" : "certificate obtained", {
        name: this.name,
        notAfter: new Date(expiry(pair)).toISOString(),
        challenge: via,
      });
      this.#schedule(await this.#due(pair));
    } catch (err) {
      if (this.#stopped) return;
      this.#failures++;
      const retryMs = backoffMs(this.#failures);
      const e = err instanceof IssueError ? err : null;
      const text = e ? e.problem : errorText(err);
      this.m.store.fail(this.name, e?.challenge ? `${e.challenge}: ${text}` : text);
      this.m.log.error("certificate failed", {
        host: e?.host ?? this.name,
        challenge: e?.challenge ?? null,
        error: text,
        retryInSeconds: Math.round(retryMs / 1000),
      });
      this.#schedule(Date.now() + retryMs);
    }
  }

  /** When `cert` should be renewed: the CA's ARI window when it has one, else two thirds in. */
  async #due(cert: TlsCertificate): Promise<number> {
    const fallback = renewalDue(cert.cert);
    try {
      const client = await this.m.client();
      const d = await client.directory();
      const id = d.renewalInfo ? ariCertId(cert.cert) : null;
      if (!d.renewalInfo || !id) return fallback;
      const r = await client.get<{ suggestedWindow?: { start?: string; end?: string } }>(
        `${d.renewalInfo.replace(/\/$/, "")}/${id}`,
      );
      return timeInWindow(r.body?.suggestedWindow) ?? fallback;
    } catch (err) {
      this.m.log.debug("ACME: no renewal information, renewing at two thirds", {
        name: this.name,
        error: errorText(err),
      });
      return fallback;
    }
  }
}

function expiry(c: TlsCertificate): number {
  return Date.parse(new X509Certificate(c.cert).validTo);
}
