/**
 * A pool's `outlier:` (passive outlier ejection) and its retry keys (`retries`,
 * `retry-budget`, `retry-budget-min`, `retry-backoff`, `retry-backoff-max`) in the
 * YAML file, read with the same words as the CLI (outlier-spec.ts).
 */
import { isScalar, type Node } from "yaml";
import { DEFAULT_OUTLIER, MAX_RETRIES, type OutlierConfig, type RetryPolicy } from "./model.ts";
import { OUTLIER_KEYS, type OutlierKey, outlierProblem, parsePercent, setOutlierKey } from "./outlier-spec.ts";
import type { Reader } from "./yaml-reader.ts";

/** The pool keys this file reads. */
export const RETRY_KEYS = ["retries", "retry-budget", "retry-budget-min", "retry-backoff", "retry-backoff-max"];

/** `outlier: on|off`, or a map of its keys (each optional, over the defaults). */
export function readOutlier(r: Reader, node: Node, path: string): OutlierConfig | null | undefined {
  if (isScalar(node) && (node.value === "on" || node.value === true)) return { ...DEFAULT_OUTLIER };
  if (isScalar(node) && (node.value === "off" || node.value === false)) return null;
  const e = r.entries(node, path, `on, off or a map with ${OUTLIER_KEYS.join(", ")}`, OUTLIER_KEYS);
  if (!e) return undefined;
  const out = { ...DEFAULT_OUTLIER };
  for (const { key, value, path: p } of e.values()) {
    const text = r.text(value, p, "a value");
    if (text !== undefined) r.attempt(value, p, () => setOutlierKey(out, key as OutlierKey, text));
  }
  const problem = outlierProblem(out);
  if (problem !== null) return r.error(node, path, problem);
  return out;
}

/** Sets one retry key of `retry` from the file (`key` one of RETRY_KEYS). */
export function readRetryKey(r: Reader, retry: RetryPolicy, key: string, node: Node, path: string): void {
  if (key === "retries") retry.retries = r.int(node, path, 0, MAX_RETRIES) ?? retry.retries;
  else if (key === "retry-budget-min") retry.budgetMin = r.int(node, path, 0, 1000) ?? retry.budgetMin;
  else if (key === "retry-backoff") retry.backoffMs = r.duration(node, path, true) ?? retry.backoffMs;
  else if (key === "retry-backoff-max") retry.backoffMaxMs = r.duration(node, path, true) ?? retry.backoffMaxMs;
  else if (key === "retry-budget") {
    const text = r.text(node, path, "a percentage like 20%");
    if (text !== undefined) {
      retry.budgetPercent = r.attempt(node, path, () => parsePercent(text)) ?? retry.budgetPercent;
    }
  }
}
