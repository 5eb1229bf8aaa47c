/**
 * Where the admin token comes from: the config's `token`, else the first line of its
 * `token-file` (read at start and at each reload, so a rotated file takes effect with
 * the next reload), else `VANE_ADMIN_TOKEN`, which the executable hands over. A token
 * from a file or the environment stays out of `ps`, unlike `--admin-token`.
 */
import type { ControlConfig } from "../config/model.ts";
import { q } from "../config/target.ts";
import { errorTextWithCode, type Failure } from "../errors/mod.ts";

/** The environment variable the executable reads when the config names no token. */
export const ADMIN_TOKEN_ENV = "VANE_ADMIN_TOKEN";

export type TokenOutcome = { ok: true; token: string | null } | Failure;

/** A token file's token: its first line, trimmed; null when that line is empty. */
export function tokenFromText(text: string): string | null {
  const first = text.split("\n", 1)[0].trim();
  return first === "" ? null : first;
}

/**
 * The token in force for `control`. The reason of a failure names the path but not
 * the flag or key, which the caller knows.
 */
export async function readAdminToken(
  control: ControlConfig,
  readTextFile: (path: string) => Promise<string>,
  fallback: string | null = null,
): Promise<TokenOutcome> {
  if (control.token !== null) return { ok: true, token: control.token };
  const path = control.tokenFile;
  if (path === undefined) return { ok: true, token: fallback === "" ? null : fallback };
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (err) {
    return { ok: false, reason: `cannot read the token file ${q(path)}: ${errorTextWithCode(err)}` };
  }
  const token = tokenFromText(text);
  if (token === null) {
    return { ok: false, reason: `expected a token on the first line of ${q(path)}; got an empty line` };
  }
  return { ok: true, token };
}
