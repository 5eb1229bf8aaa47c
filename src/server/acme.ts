/**
 * Automatic HTTPS in a running vane: the certificate store and the challenge answers
 * every process has (TLS listeners read them at each handshake, http:// listeners
 * answer HTTP-01 from them), and, in the primary only, the ACME manager that fills
 * them. Each generation put in service says which names to keep (`sync`); with
 * workers, the primary passes certificates and challenge answers on over the cluster
 * channel (`onCertificate`, `onChallenge`, and `installFromPrimary` in the workers).
 */
import type { Config } from "../config/model.ts";
import type { CertSource, Runtime, TlsCertificate } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { acmeNames, acmeUsesHttp } from "../config/acme.ts";
import { type CertStatus, CertStore } from "../tls/cert-store.ts";
import { type ChallengeAnswer, Challenges } from "../tls/challenges.ts";
import { AcmeManager } from "../tls/acme/manager.ts";
import type { ChallengeType } from "../tls/acme/order.ts";
import { defaultStateDir } from "../tls/acme/storage.ts";
import process from "node:process";
import { errorText } from "../errors/mod.ts";

export class AcmeService {
  readonly store: CertStore;
  readonly challenges = new Challenges();
  readonly source: CertSource;
  #manager: AcmeManager | null = null;
  #settingsKey = "";
  readonly #installed = new Set<(name: string, cert: TlsCertificate) => void>();

  constructor(readonly rt: Runtime, readonly log: Logger, readonly primary: boolean) {
    this.store = new CertStore();
    this.source = {
      certFor: (sni) => this.store.certFor(sni),
      challengeFor: (sni) => this.challenges.alpnCertificate(sni),
    };
  }

  /** The HTTP-01 answer for a request path, or null. */
  httpAnswer(path: string): string | null {
    return this.challenges.httpAnswer(path);
  }

  /** Keeps the names `config` asks for; the primary (re)starts its manager when the ACME settings changed. */
  async sync(config: Config): Promise<void> {
    const names = config.acme ? acmeNames(config).names : [];
    if (!this.primary) return this.store.expect(names);
    if (!config.acme) {
      this.#manager?.stop();
      this.#manager = null;
      this.#settingsKey = "";
      return this.store.expect([]);
    }
    const key = JSON.stringify([config.acme, config.stateDir ?? null, config.listeners.map((l) => l.address.raw)]);
    if (key !== this.#settingsKey || !this.#manager) {
      const caRoot = config.acme.caRoot === null ? undefined : await readCaRoot(this.rt, config.acme.caRoot);
      this.#manager?.stop();
      this.#manager = new AcmeManager(
        {
          email: config.acme.email,
          directory: config.acme.directory,
          caRoot,
          stateDir: config.stateDir ?? defaultStateDir(process.env),
          challenges: challengeTypes(config, this.rt),
        },
        this.store,
        this.challenges,
        this.log,
      );
      this.#settingsKey = key;
      this.#manager.onInstall = (name, cert) => this.#installed.forEach((f) => f(name, cert));
    }
    this.#manager.update(names);
  }

  /** Each certificate the primary installs (for its workers). */
  onCertificate(f: (name: string, cert: TlsCertificate) => void): void {
    this.#installed.add(f);
  }

  onChallenge(f: (op: "add" | "remove", answer: ChallengeAnswer) => void): void {
    this.challenges.onChange(f);
  }

  /** A worker: what the primary sent. */
  installFromPrimary(name: string, cert: TlsCertificate): void {
    this.store.install(name, cert);
  }

  status(): CertStatus[] {
    return this.store.status();
  }

  stop(): void {
    this.#manager?.stop();
    this.#manager = null;
  }
}

/**
 * http-01 first where an http:// listener can answer it, then tls-alpn-01 where the
 * runtime can serve its certificate (Runtime.acmeTlsAlpn), unless one is asked for.
 */
function challengeTypes(config: Config, rt: Runtime): ChallengeType[] {
  const challenge = config.acme?.challenge ?? "auto";
  if (challenge === "tls-alpn-01" && !rt.acmeTlsAlpn) {
    throw new Error(
      `tls.acme.challenge tls-alpn-01: not on ${rt.name}, whose TLS refuses the challenge certificate's critical acmeIdentifier extension; use http-01, or the compiled binary or Bun`,
    );
  }
  if (challenge !== "auto") return [challenge];
  const http = acmeUsesHttp(config) && config.listeners.some((l) => l.address.protocol === "http");
  const types: ChallengeType[] = http ? ["http-01"] : [];
  if (rt.acmeTlsAlpn) types.push("tls-alpn-01");
  if (types.length === 0) {
    throw new Error(
      `tls.acme: no challenge vane can answer on ${rt.name}: add an http:// listener (HTTP-01 needs port 80 reachable)`,
    );
  }
  return types;
}

async function readCaRoot(rt: Runtime, path: string): Promise<string> {
  try {
    return await rt.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read the ACME CA root (tls.acme.ca-root) ${path}: ${errorText(err)}`, { cause: err });
  }
}
