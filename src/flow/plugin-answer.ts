/**
 * What a plugin may answer, whichever way it was asked: a JSON object with an optional
 * `branch` (a string) and optional `keys` (an object of strings; numbers and booleans
 * are taken as their text, since JSON writers emit them unquoted). Anything else is a
 * failure with a reason that names the problem, for the operator's log.
 */

/**
 * A plugin's answer: the branch to take (none: go on with the next rule) and keys for
 * the rest of the flow (as `plugin.<name>`).
 *
 * @example
 * ```ts
 * import type { PluginAnswer } from "./mod.ts";
 * const answer: PluginAnswer = { branch: "allow", keys: { tenant: "acme" } };
 * ```
 */
export interface PluginAnswer {
  branch?: string;
  keys?: Record<string, string>;
}

/** Upper bound on an answer read from a socket or a pipe. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const shown = text.length > 60 ? text.slice(0, 60) + "..." : text;
    throw new Error(`answered invalid JSON: ${JSON.stringify(shown)}`);
  }
}

export function toAnswer(value: unknown): PluginAnswer {
  if (!isObject(value)) throw new Error(`answered ${describe(value)}, expected a JSON object`);
  const answer: PluginAnswer = {};
  const { branch, keys } = value;
  if (branch !== undefined && branch !== null) {
    if (typeof branch !== "string") throw new Error(`answered a branch that is ${describe(branch)}, expected a string`);
    answer.branch = branch;
  }
  if (keys !== undefined && keys !== null) {
    if (!isObject(keys)) throw new Error(`answered keys that are ${describe(keys)}, expected an object`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(keys)) {
      if (typeof v === "string") out[k] = v;
      else if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") out[k] = String(v);
      else throw new Error(`answered key ${JSON.stringify(k)} as ${describe(v)}, expected a string`);
    }
    answer.keys = out;
  }
  return answer;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
