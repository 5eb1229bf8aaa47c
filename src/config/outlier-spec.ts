/**
 * The words of outlier detection and retry budgets that the CLI and the YAML share:
 * a percentage (`20%` or `20`), and the one-line form of `outlier`
 * (`on`, or `consecutive-5xx=5,base-ejection=30s`), so both say the same things the
 * same way.
 */
import { ConfigError } from "./errors.ts";
import { DEFAULT_OUTLIER, type OutlierConfig } from "./model.ts";
import { formatDuration, parseDuration } from "./duration.ts";

export const PERCENT_EXPECTED = "a percentage from 0 to 100, like 20%";

/** `20%`, `20` or `12.5%`, 0 to 100. */
export function parsePercent(text: string): number {
  const m = /^(\d{1,3}(?:\.\d+)?)%?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) throw new ConfigError(`expected ${PERCENT_EXPECTED}; got ${JSON.stringify(text)}`);
  return n;
}

/** The keys of `outlier:` (YAML) and of `--outlier KEY=VALUE,...`. */
export const OUTLIER_KEYS = [
  "consecutive-5xx",
  "consecutive-resets",
  "base-ejection",
  "max-ejection",
  "max-ejected",
] as const;
export type OutlierKey = typeof OUTLIER_KEYS[number];

/** The largest run a trigger may ask for. */
const MAX_RUN = 1000;

/** Sets one key of `into` from its text; throws ConfigError naming what was expected. */
export function setOutlierKey(into: OutlierConfig, key: OutlierKey, text: string): void {
  if (key === "consecutive-5xx" || key === "consecutive-resets") {
    const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
    if (!(n >= 0 && n <= MAX_RUN)) {
      throw new ConfigError(`expected ${key} an integer 0..${MAX_RUN} (0: off); got ${JSON.stringify(text)}`);
    }
    if (key === "consecutive-5xx") into.consecutive5xx = n;
    else into.consecutiveResets = n;
  } else if (key === "base-ejection" || key === "max-ejection") {
    const ms = parseDuration(text);
    if (ms === 0) throw new ConfigError(`expected ${key} a duration above 0; got ${JSON.stringify(text)}`);
    if (key === "base-ejection") into.baseEjectionMs = ms;
    else into.maxEjectionMs = ms;
  } else {
    into.maxEjectedPercent = parsePercent(text);
  }
}

/** What is wrong with a whole outlier config, or null. */
export function outlierProblem(o: OutlierConfig): string | null {
  if (o.maxEjectionMs < o.baseEjectionMs) {
    return `expected max-ejection at least base-ejection; got ${formatDuration(o.maxEjectionMs)} < ${
      formatDuration(o.baseEjectionMs)
    }`;
  }
  return null;
}

/** `--outlier on`, `off`, or `KEY=VALUE,...` over the defaults. */
export function parseOutlierSpec(text: string): OutlierConfig | null {
  if (text === "off") return null;
  const out = { ...DEFAULT_OUTLIER };
  if (text === "on") return out;
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim();
    if (eq < 0 || !(OUTLIER_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(
        `expected on, off or KEY=VALUE,... with KEY one of ${OUTLIER_KEYS.join(", ")}; got ${JSON.stringify(part)}`,
      );
    }
    setOutlierKey(out, key as OutlierKey, part.slice(eq + 1).trim());
  }
  const problem = outlierProblem(out);
  if (problem !== null) throw new ConfigError(problem);
  return out;
}
