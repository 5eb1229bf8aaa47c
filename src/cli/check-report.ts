/**
 * Findings after a config loaded, as `FILE:LINE:COL: key.path: message` lines: what
 * this runtime cannot honour (every start and reload) and, for `vane check`, the TLS
 * files (check-tls.ts). A value set by a flag rather than the file has no position:
 * said as `FILE: key.path (from the command line): message`.
 */
import { isNode, parseDocument } from "yaml";
import type { Config } from "../config/model.ts";
import { formatIssue, issueAt } from "../config/yaml-load.ts";
import { TLS_CIPHERS_UNSUPPORTED } from "../runtime/tls-server-options.ts";
import { checkTlsFiles } from "./check-tls.ts";
import type { Read } from "./pem-files.ts";
import type { KeyPath } from "./routed-names.ts";

/** One finding as one line, at its key in `text` when the file has it. */
export function findingLine(file: string, text: string, at: KeyPath, message: string): string {
  if (isNode(parseDocument(text).getIn(at, true))) return formatIssue(file, issueAt(text, at, message));
  const { path } = issueAt("", at, message);
  return `${file}: ${path} (from the command line): ${message}`;
}

/** `tls-ciphers` where listenTls cannot honour it (`Runtime.tlsCiphers` false: Deno), as error lines. */
export function runtimeTlsErrors(file: string, text: string, config: Config, tlsCiphers: boolean): string[] {
  if (tlsCiphers) return [];
  const at: KeyPath[] = [];
  if (config.tlsServer?.ciphers !== undefined) at.push(["tls-ciphers"]);
  config.listeners.forEach((l, i) => l.tlsServer?.ciphers !== undefined && at.push(["listeners", i, "tls-ciphers"]));
  return at.map((k) => findingLine(file, text, k, TLS_CIPHERS_UNSUPPORTED));
}

/** `vane check`'s TLS file findings as lines: errors, then warnings ("warning: ..."). */
export async function tlsFileLines(
  file: string,
  text: string,
  config: Config,
  read: Read,
  now: Date,
): Promise<{ errors: string[]; warnings: string[] }> {
  const findings = await checkTlsFiles(config, read, now);
  const line = (f: (typeof findings)[number]) =>
    findingLine(file, text, f.at, f.level === "warning" ? `warning: ${f.message}` : f.message);
  return {
    errors: findings.filter((f) => f.level === "error").map(line),
    warnings: findings.filter((f) => f.level === "warning").map(line),
  };
}
