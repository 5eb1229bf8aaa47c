/**
 * A config's text (a file's, or etcd's value) to a validated Config with the flags laid
 * over it, or every error with where it is (`NAME:line:column`). Never throws.
 */
import type { Runtime } from "../runtime/types.ts";
import type { Config } from "../config/model.ts";
import { formatIssue, issueAt, loadConfigText } from "../config/yaml-load.ts";
import { readAdminToken } from "../control/token.ts";
import { errorText } from "../errors/mod.ts";
import { CliError } from "./errors.ts";
import { runtimeTlsErrors } from "./check-report.ts";
import { etcdTargetWithoutCluster, noClusterIssue } from "../config/etcd-targets.ts";

export type Loaded =
  | { ok: true; config: Config; text: string }
  | { ok: false; errors: string[]; flagError?: CliError };

/**
 * Reads and validates a config file, then lays the flags over it; with `token`, also
 * checks that the admin token file gives a token. Never throws.
 */
export async function loadFile(
  rt: Runtime,
  file: string,
  apply: (base: Config) => Config,
  token?: { flag: string | null },
): Promise<Loaded> {
  let text: string;
  try {
    text = await rt.readTextFile(file);
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read the config file: ${errorText(err)}`] };
  }
  return await loadText(rt, file, text, apply, token);
}

/**
 * Validates `text`, named `name` in errors (a file's path, or `etcd:KEY`), then lays the
 * flags over it; with `token`, also checks that the admin token file gives a token.
 */
export async function loadText(
  rt: Runtime,
  name: string,
  text: string,
  apply: (base: Config) => Config,
  token?: { flag: string | null },
): Promise<Loaded> {
  const file = name;
  const result = loadConfigText(text);
  if (!result.ok) return { ok: false, errors: result.issues.map((i) => formatIssue(file, i)) };
  let config: Config;
  try {
    config = apply(result.config);
  } catch (err) {
    if (err instanceof CliError) return { ok: false, errors: [err.message], flagError: err };
    throw err;
  }
  const orphan = etcdTargetWithoutCluster(config);
  if (orphan) return { ok: false, errors: [formatIssue(file, noClusterIssue(text, orphan))] };
  const bad = token && await tokenFileError(rt, config, token.flag, { file, text });
  if (bad) return bad;
  const misfit = runtimeTlsErrors(file, text, config, rt.tlsCiphers);
  return misfit.length > 0 ? { ok: false, errors: misfit } : { ok: true, config, text };
}

/**
 * A token file that gives no token, said where it was named: `--admin-token-file`
 * (a command-line mistake) or the file's `control.token-file`, with its position.
 */
export async function tokenFileError(
  rt: Runtime,
  config: Config,
  flag: string | null,
  source: { file: string; text: string } | null,
): Promise<Extract<Loaded, { ok: false }> | null> {
  if (config.control.listen === null || config.control.tokenFile === undefined) return null;
  const outcome = await readAdminToken(config.control, (path) => rt.readTextFile(path));
  if (outcome.ok) return null;
  if (flag !== null || source === null) {
    const err = new CliError(`--admin-token-file: ${outcome.reason}`);
    return { ok: false, errors: [err.message], flagError: err };
  }
  return {
    ok: false,
    errors: [formatIssue(source.file, issueAt(source.text, ["control", "token-file"], outcome.reason))],
  };
}
