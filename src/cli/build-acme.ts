/**
 * --acme, --acme-directory, --acme-ca-root, --acme-challenge and --state-dir: the
 * config's `tls.acme` and `state-dir`, and what they imply for the listeners (names
 * to obtain, the http://:80 listener for HTTP-01).
 */
import { ACME_CHALLENGES, type AcmeConfig, type Config, DEFAULT_ACME_DIRECTORY } from "../config/model.ts";
import { acmeNames, parseAcmeDirectory, parseAcmeEmail, wildcardMessage } from "../config/acme.ts";
import { CliError } from "./errors.ts";
import type { Values } from "./flags.ts";
import { forFlag, oneOf } from "./flag-values.ts";

const DEPENDENT = ["acme-directory", "acme-ca-root", "acme-challenge"] as const;

/** `tls.acme` from the flags over the file's; undefined when neither asks for ACME. */
export function buildAcme(v: Values, base: Config | null): AcmeConfig | undefined {
  const from = base?.acme;
  if (v.acme === undefined && from === undefined) {
    const stray = DEPENDENT.find((f) => v[f] !== undefined);
    if (stray) throw new CliError(`--${stray}: expected --acme EMAIL too (it configures ACME); got no --acme`);
    return undefined;
  }
  const caRoot = v["acme-ca-root"];
  if (caRoot === "") throw new CliError(`--acme-ca-root: expected a PEM FILE; got ""`);
  return {
    email: v.acme === undefined ? from!.email : forFlag("acme", () => parseAcmeEmail(v.acme!)),
    directory: v["acme-directory"] === undefined
      ? (from?.directory ?? DEFAULT_ACME_DIRECTORY)
      : forFlag("acme-directory", () => parseAcmeDirectory(v["acme-directory"]!)),
    caRoot: caRoot ?? from?.caRoot ?? null,
    challenge: oneOf("acme-challenge", v["acme-challenge"], ACME_CHALLENGES, from?.challenge ?? "auto"),
  };
}

/** Refuses what ACME cannot serve: no name at all, or a wildcard name without a certificate of its own. */
export function checkAcmeNames(config: Pick<Config, "listeners" | "tls">): void {
  const { names, wildcards } = acmeNames(config);
  const hasFiles = config.tls.length > 0 || config.listeners.some((l) => l.tls.length > 0);
  if (wildcards.length > 0 && !hasFiles) throw new CliError(`--acme: ${wildcardMessage(wildcards[0])}`);
  if (names.length === 0 && !hasFiles) {
    throw new CliError(
      "--acme: expected a route with a host name for an https:// listener (e.g. --route 'app.example.com=10.0.0.5:8080'); got none",
    );
  }
}

/** `--state-dir DIR`. */
export function stateDir(v: Values, base: Config | null): string | undefined {
  const d = v["state-dir"];
  if (d === "") throw new CliError(`--state-dir: expected a DIRECTORY; got ""`);
  return d ?? base?.stateDir;
}
