/**
 * Readers of one flag's value: each returns the value (or the default when the flag
 * is absent) or throws a one-line CliError naming the flag, what it expects and what
 * it got.
 */
import { parseDuration } from "../config/duration.ts";
import { ConfigError } from "../config/errors.ts";
import { RETRY_ON, type RetryOn } from "../config/model.ts";
import { q } from "../config/target.ts";
import { CliError } from "./errors.ts";
import { EXPECTED, type FlagName } from "./flags.ts";

/** Runs a config parser and prefixes its ConfigError with the flag it came from. */
export function forFlag<T>(flag: FlagName, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`--${flag}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Splits `LEFT=RIGHT` at the first "="; both sides must be non-empty. */
export function splitPair(flag: FlagName, text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

export function oneOf<T extends string>(flag: FlagName, text: string | undefined, allowed: readonly T[], dflt: T): T {
  if (text === undefined) return dflt;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
}

/** `--retry-on conn-failure,empty-response` (kept in RETRY_ON's order, as YAML keeps it), or `none`. */
export function retryOnList(text: string): RetryOn[] {
  if (text === "none") return [];
  const words = text.split(",").map((w) => w.trim());
  for (const w of words) {
    if (!(RETRY_ON as readonly string[]).includes(w)) {
      throw new CliError(`--retry-on: expected ${EXPECTED["retry-on"]}; got ${q(w)}`);
    }
  }
  return RETRY_ON.filter((w) => words.includes(w));
}

export function duration(flag: FlagName, text: string | undefined, dflt: number, allowZero = false): number {
  if (text === undefined) return dflt;
  const ms = forFlag(flag, () => parseDuration(text));
  if (ms === 0 && !allowZero) throw new CliError(`--${flag}: expected a duration greater than 0; got ${q(text)}`);
  return ms;
}

export function count(flag: FlagName, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 100)) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return n;
}

/** A whole number in min..max, written in decimal digits. */
export function integer(flag: FlagName, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new CliError(`--${flag}: expected ${EXPECTED[flag]}; got ${q(text)}`);
  return n;
}
