/**
 * The top-level `tls` of a YAML config: a list of certificates (as before), or a map
 * `{ certs: [...], acme: { email, directory, ca-root, challenge } }` for automatic
 * HTTPS; and the checks that need the listeners (names ACME cannot obtain).
 */
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { ACME_CHALLENGES, type AcmeConfig, type Config, DEFAULT_ACME_DIRECTORY, type TlsFiles } from "./model.ts";
import {
  ACME_DIRECTORY_EXPECTED,
  ACME_EMAIL_EXPECTED,
  acmeNames,
  parseAcmeDirectory,
  parseAcmeEmail,
  wildcardMessage,
} from "./acme.ts";
import { readTlsList } from "./yaml-flow.ts";
import type { Entry, Reader } from "./yaml-reader.ts";

const TLS_KEYS = ["certs", "acme"];
const TOP_TLS_EXPECTED =
  "a list of certificates like [{cert: a.pem, key: a.key}], or a map like {certs: [...], acme: {email: ...}}";
const ACME_KEYS = ["email", "directory", "ca-root", "challenge"];

export interface TopTls {
  /** undefined: broken (reported). */
  files: TlsFiles[] | undefined;
  acme: AcmeConfig | undefined;
  /** Where `acme` stands, for the checks made once the listeners are read. */
  acmeNode: Node | null;
}

export function readTopTls(r: Reader, { value, path }: Entry): TopTls {
  if (isSeq(value)) return { files: readTlsList(r, value, path), acme: undefined, acmeNode: null };
  // A map without either key is most likely one certificate written without its list.
  if (!isMap(value) || !value.items.some((p) => isScalar(p.key) && TLS_KEYS.includes(String(p.key.value)))) {
    r.fail(value, path, TOP_TLS_EXPECTED);
    return { files: undefined, acme: undefined, acmeNode: null };
  }
  const e = r.entries(value, path, TOP_TLS_EXPECTED, TLS_KEYS);
  if (!e) return { files: undefined, acme: undefined, acmeNode: null };
  const c = e.get("certs");
  const a = e.get("acme");
  return {
    files: c ? readTlsList(r, c.value, c.path) : [],
    acme: a ? readAcme(r, a) : undefined,
    acmeNode: a?.value ?? null,
  };
}

function readAcme(r: Reader, { value, path }: Entry): AcmeConfig | undefined {
  const e = r.entries(value, path, "a map like {email: you@example.com}", ACME_KEYS);
  if (!e) return undefined;
  const m = r.required(e, "email", value, path);
  const email = m && r.parse(m.value, m.path, ACME_EMAIL_EXPECTED, parseAcmeEmail);
  const d = e.get("directory");
  const directory = d ? r.parse(d.value, d.path, ACME_DIRECTORY_EXPECTED, parseAcmeDirectory) : DEFAULT_ACME_DIRECTORY;
  const c = e.get("ca-root");
  const caRoot = c ? r.nonEmpty(c.value, c.path, "a PEM file of the CA's HTTPS root") : null;
  const ch = e.get("challenge");
  const challenge = ch ? r.keyword(ch.value, ch.path, ACME_CHALLENGES) : "auto";
  if (email === undefined || directory === undefined || caRoot === undefined || challenge === undefined) {
    return undefined;
  }
  return { email, directory, caRoot, challenge };
}

/** Names ACME cannot obtain, reported at `tls.acme`: a wildcard without files, or no name at all. */
export function checkAcmeNames(r: Reader, node: Node, config: Pick<Config, "listeners" | "tls">): void {
  const { names, wildcards } = acmeNames(config);
  const hasFiles = config.tls.length > 0 || config.listeners.some((l) => l.tls.length > 0);
  if (hasFiles) return;
  if (wildcards.length > 0) r.error(node, "tls.acme", wildcardMessage(wildcards[0]));
  else if (names.length === 0) {
    r.error(
      node,
      "tls.acme",
      "expected an https:// listener whose flow names a host (when: { host: app.example.com }); got none",
    );
  }
}
