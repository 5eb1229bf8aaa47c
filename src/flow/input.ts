/**
 * Where a flow reads its keys from. The caller (a listener, the HTTP engine, UDP)
 * gives a FlowInput; one evaluation wraps it in a Scope that adds the `plugin.*`
 * keys answered during that evaluation. Matchers and templates never see the input
 * directly: they hold a KeyReader built once per key at compile time.
 */
import { HEADER_KEY_PREFIX, PLUGIN_KEY_PREFIX } from "../config/model.ts";

export type KeyValue = string | readonly string[] | undefined;

/** What a flow can read. Host keys (HOST_KEYS) are given lowercased without a trailing dot by the caller. */
export interface FlowInput {
  get(key: string): KeyValue;
  /** Every key with a value, for plugins (req.header.* included). */
  all(): Record<string, string | readonly string[]>;
}

/** A FlowInput over a plain object (handy for tests, UDP and simple callers). */
export function inputOf(values: Record<string, KeyValue>): FlowInput {
  // A Map, so keys like "constructor" or "__proto__" are plain keys, not the prototype's.
  const map = new Map<string, string | readonly string[]>();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) map.set(k, v);
  return {
    get: (key) => map.get(key),
    all: () => Object.fromEntries(map),
  };
}

/** One evaluation's view of the keys: the caller's input plus what plugins answered so far. */
export interface Scope {
  readonly input: FlowInput;
  /** `plugin.<name>` -> value; null until a plugin answers with keys (most flows have none). */
  plugin: Map<string, string> | null;
}

export type KeyReader = (scope: Scope) => KeyValue;

/**
 * Header names are case-insensitive and the caller lowercases them, so a rule written
 * as `req.header.X-Token` still reads `req.header.x-token`.
 */
export function normalizeKey(key: string): string {
  return key.startsWith(HEADER_KEY_PREFIX) ? key.toLowerCase() : key;
}

/** Reads one key; the prefix test is done here, once, instead of on every read. */
export function keyReader(rawKey: string): KeyReader {
  const key = normalizeKey(rawKey);
  if (key.startsWith(PLUGIN_KEY_PREFIX)) {
    // A plugin's answer wins; the input may carry plugin keys from an outer layer.
    return (scope) => scope.plugin?.get(key) ?? scope.input.get(key);
  }
  return (scope) => scope.input.get(key);
}

/** The flat key object a plugin is asked with: the input's keys, then this evaluation's plugin keys. */
export function pluginKeysOf(scope: Scope): Record<string, string | readonly string[]> {
  const keys = scope.input.all();
  if (!scope.plugin) return keys;
  // A copy: the input may hand out the same object on every call.
  const merged = { ...keys };
  for (const [k, v] of scope.plugin) merged[k] = v;
  return merged;
}
