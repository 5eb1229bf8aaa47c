/**
 * `--access-log FILE|-`, `--access-log-format json|combined` and
 * `--access-log-sample RATE`: the access log of the flags, over a config file's.
 */
import {
  ACCESS_LOG_FORMATS,
  ACCESS_LOG_SAMPLE_EXPECTED,
  type AccessLogConfig,
  type Config,
  DEFAULT_ACCESS_LOG,
} from "../config/model.ts";
import { q } from "../config/target.ts";
import { CliError } from "./errors.ts";
import type { Values } from "./flags.ts";
import { oneOf } from "./flag-values.ts";

export function buildAccessLog(v: Values, base: Config | null): { accessLog?: AccessLogConfig } {
  const path = v["access-log"];
  if (path === "") throw new CliError(`--access-log: expected a FILE to append to, or - for stderr; got ""`);
  const from = base?.accessLog;
  if (path === undefined && from === undefined) {
    const stray = v["access-log-format"] !== undefined ? "access-log-format" : "access-log-sample";
    if (v[stray] !== undefined) throw new CliError(`--${stray}: needs --access-log FILE (or - for stderr)`);
    return {};
  }
  const old = from ?? { path: "-", ...DEFAULT_ACCESS_LOG };
  return {
    accessLog: {
      ...old,
      path: path ?? old.path,
      format: oneOf("access-log-format", v["access-log-format"], ACCESS_LOG_FORMATS, old.format),
      sample: sample(v["access-log-sample"], old.sample),
    },
  };
}

function sample(text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new CliError(`--access-log-sample: expected ${ACCESS_LOG_SAMPLE_EXPECTED}; got ${q(text)}`);
  }
  return n;
}
