/**
 * The `when:` of a rule (conditions and matchers) and the `{{key}}` templates in
 * action strings. Both name flow keys, validated alike; a udp:// listener restricts
 * them to the connection keys, since a datagram has no protocol, TLS or HTTP.
 */
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { parseCidr, parseCidrList } from "./cidr.ts";
import { parseFlowKey, templateKeys, UDP_KEYS } from "./flow-keys.ts";
import type { Condition, ListenAddress, Matcher } from "./model.ts";
import { wordList } from "./suggest.ts";
import { q } from "./target.ts";
import { type Entry, index, type Reader } from "./yaml-reader.ts";
import { errorText } from "../errors/mod.ts";

/** Where a piece of flow sits: what the listener carries, and whether TLS was already terminated. */
export interface FlowScope {
  protocol: ListenAddress["protocol"];
  inTerminate: boolean;
}

const COMBINATORS = ["not", "any", "all"];
const OPERATORS = ["equals", "glob", "prefix", "suffix", "regex", "cidr", "in", "not", "any", "all"];
/** The only key holding an address, so the only one a CIDR can match. */
const ADDRESS_KEY = "conn.ip";
const MATCHER_EXPECTED = "a value, a list of values or a map of operators (equals, glob, prefix, regex, ...)";
const CONDITION_EXPECTED = "a map of conditions like {req.path: /api/*}";

/** Which flow keys a place takes: those of `scope`, named `what` in messages, and `others` beside them. */
interface KeyRules {
  scope: FlowScope;
  what: string;
  others: string[];
}

/** Validates a flow key (`text`, read at `node`) by `rules`. */
function flowKey(r: Reader, node: Node, path: string, text: string, rules: KeyRules) {
  const { scope, what, others } = rules;
  const key = r.attempt(node, path, () => parseFlowKey(text, others, what));
  if (key === undefined || scope.protocol !== "udp" || UDP_KEYS.includes(key)) return key;
  return r.error(
    node,
    path,
    `expected a key a udp:// listener knows (${wordList(UDP_KEYS)}); got ${q(key)} ` +
      `(UDP has no protocol, TLS or HTTP to look at)`,
  );
}

/** A map: one entry is that condition, several are all of them, in order. */
export function readCondition(r: Reader, node: Node, path: string, scope: FlowScope): Condition | undefined {
  if (isMap(node) && node.items.length === 0) return r.fail(node, path, CONDITION_EXPECTED);
  const e = r.entries(node, path, CONDITION_EXPECTED);
  if (!e) return undefined;
  const out: Condition[] = [];
  let bad = !r.complete(node, e);
  for (const entry of e.values()) {
    const c = readEntry(r, entry, scope);
    if (c) out.push(c);
    else bad = true;
  }
  if (bad) return undefined;
  return out.length === 1 ? out[0] : { kind: "all", of: out };
}

function readEntry(r: Reader, entry: Entry, scope: FlowScope) {
  const { key, keyNode, value, path } = entry;
  if (key === "not") {
    const of = readCondition(r, value, path, scope);
    return of && ({ kind: "not", of } as Condition);
  }
  if (key === "any" || key === "all") {
    const of = readList(r, value, path, "list of conditions", (n, p) => readCondition(r, n, p, scope));
    return of && ({ kind: key, of } as Condition);
  }
  const k = flowKey(r, keyNode, path, key, { scope, what: "key", others: COMBINATORS });
  if (k === undefined) return undefined;
  const matcher = readMatcher(r, value, path, k);
  return matcher && ({ kind: "key", key: k, matcher } as Condition);
}

/** A non-empty list whose items all read; undefined if any item failed (each reported). */
function readList<T>(
  r: Reader,
  node: Node,
  path: string,
  expected: string,
  item: (n: Node, p: string) => T | undefined,
): T[] | undefined {
  const items = r.list(node, path, `a non-empty ${expected}`);
  if (!items) return undefined;
  if (items.length === 0) return r.fail(node, path, `a non-empty ${expected}`);
  const out = items.map((n, i) => item(n, index(path, i)));
  return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
}

/** A scalar is equals (or glob with a `*`), a list is `in`, a map holds operators. */
export function readMatcher(r: Reader, node: Node, path: string, key: string): Matcher | undefined {
  if (isScalar(node)) {
    const text = r.text(node, path, MATCHER_EXPECTED);
    if (text === undefined) return undefined;
    return text.includes("*") ? { op: "glob", pattern: text } : { op: "equals", value: text };
  }
  if (isSeq(node)) return readIn(r, node, path);
  if (isMap(node) && node.items.length === 0) return r.fail(node, path, MATCHER_EXPECTED);
  const e = r.entries(node, path, MATCHER_EXPECTED, OPERATORS);
  if (!e) return undefined;
  const out: Matcher[] = [];
  let bad = !r.complete(node, e);
  for (const entry of e.values()) {
    const m = readOperator(r, entry, key);
    if (m) out.push(m);
    else bad = true;
  }
  if (bad) return undefined;
  return out.length === 1 ? out[0] : { op: "all", of: out };
}

function readIn(r: Reader, node: Node, path: string): Matcher | undefined {
  const values = readList(r, node, path, "list of values", (n, p) => r.text(n, p, "a value (a string or number)"));
  return values && { op: "in", values };
}

/** One operator of a matcher map (`entry.key` is the operator) on the flow key `key`. */
function readOperator(r: Reader, entry: Entry, key: string) {
  const { key: op, keyNode, value, path } = entry;
  const text = (expected: string) => r.text(value, path, expected);
  switch (op) {
    case "equals": {
      const v = text("a value to compare with");
      return v === undefined ? undefined : ({ op, value: v } as Matcher);
    }
    case "glob": {
      const v = text("a pattern like *.example.com");
      return v === undefined ? undefined : ({ op, pattern: v } as Matcher);
    }
    case "prefix":
    case "suffix": {
      const v = text(`a ${op} to compare with`);
      return v === undefined ? undefined : ({ op, value: v } as Matcher);
    }
    case "regex":
      return readRegex(r, value, path);
    case "cidr":
      if (key !== ADDRESS_KEY) {
        return r.error(
          keyNode,
          path,
          `expected cidr only on ${ADDRESS_KEY} (the one address key); got it on ${q(key)}`,
        );
      }
      return readCidr(r, value, path);
    case "in":
      return isSeq(value) ? readIn(r, value, path) : r.fail(value, path, "a non-empty list of values");
    case "not": {
      const of = readMatcher(r, value, path, key);
      return of && ({ op, of } as Matcher);
    }
    default: {
      const of = readList(r, value, path, "list of matchers", (n, p) => readMatcher(r, n, p, key));
      return of && ({ op: op as "any" | "all", of } as Matcher);
    }
  }
}

/** JavaScript syntax, compiled here so a typo is an error now rather than a rule that never matches. */
function readRegex(r: Reader, node: Node, path: string): Matcher | undefined {
  const source = r.text(node, path, "a regular expression");
  if (source === undefined) return undefined;
  try {
    new RegExp(source);
  } catch (err) {
    // The engine's own words (they differ between V8 and JavaScriptCore) say what is wrong.
    const why = errorText(err);
    return r.error(node, path, `expected a JavaScript regular expression; got ${q(source)} (${why})`);
  }
  return { op: "regex", source };
}

/** One range or a list; a single string may hold several, comma-separated, like --accept-proxy. */
function readCidr(r: Reader, node: Node, path: string): Matcher | undefined {
  const expected = "a CIDR like 10.0.0.0/8 or fd00::/8";
  if (isScalar(node) && typeof node.value === "string") {
    const text = node.value;
    const ranges = r.attempt(node, path, () => parseCidrList(text).map((c) => c.raw));
    return ranges && { op: "cidr", ranges };
  }
  const ranges = readList(r, node, path, "list of CIDRs", (n, p) => {
    const t = r.text(n, p, expected);
    return t === undefined ? undefined : r.attempt(n, p, () => parseCidr(t).raw);
  });
  return ranges && { op: "cidr", ranges };
}

/**
 * A string that may hold `{{ key }}` placeholders (redirect locations, bodies, header
 * values, rate-limit keys). Stored as written; only the keys are checked.
 */
export function readTemplate(r: Reader, node: Node, path: string, scope: FlowScope, expected: string) {
  const text = r.text(node, path, expected);
  if (text === undefined) return undefined;
  const keys = r.attempt(node, path, () => templateKeys(text));
  if (keys === undefined) return undefined;
  let ok = true;
  for (const k of keys) {
    if (flowKey(r, node, path, k, { scope, what: "template key", others: [] }) === undefined) ok = false;
  }
  return ok ? text : undefined;
}
