/**
 * Durations as operators write them: a decimal number followed by a unit, e.g.
 * `250ms`, `5s`, `1.5s`, `10m`, `1h`. The unit is required so that "5" is never
 * silently read as 5 ms or 5 s.
 */
import { ConfigError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Digits, an optional fraction, then a unit. No sign, no exponent, no spaces. */
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * Timers in Deno, Bun and Node fire at once for delays above 2^31-1 ms (~24.8 days),
 * so a longer duration would mean "immediately": refuse it instead.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export const DURATION_EXPECTED = "a duration like 500ms, 2s, 1m";

/** Parses a duration to whole milliseconds; throws ConfigError on anything else. */
export function parseDuration(text: string): number {
  const got = typeof text === "string" ? JSON.stringify(text) : String(text);
  const m = typeof text === "string" ? DURATION_RE.exec(text) : null;
  if (!m) throw new ConfigError(`expected ${DURATION_EXPECTED}; got ${got}`);
  const exact = Number(m[1]) * UNIT_MS[m[2]];
  // Round away float noise ("1.1s" is 1100.0000000000002) but not real sub-ms parts.
  const ms = Math.round(exact);
  if (Math.abs(exact - ms) > 1e-6) {
    throw new ConfigError(`expected whole milliseconds; got ${got}`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new ConfigError(`expected at most ${MAX_DURATION_MS}ms (about 24 days); got ${got}`);
  }
  return ms;
}

/** The largest exact unit: 90000 -> "90s", 120000 -> "2m", 1500 -> "1500ms" (what parseDuration reads back). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** For a duration reader's `allowZero`: "0s" is a valid value here (e.g. no grace). */
export const ALLOW_ZERO = true;
