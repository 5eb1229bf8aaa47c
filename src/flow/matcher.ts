/**
 * A Matcher compiled into one function over a key's value. Everything that can be
 * prepared (regexes, globs, CIDR ranges, lowercased host patterns, sets) is prepared
 * here, once per flow, because the result runs per HTTP request.
 *
 * Value rules, the same for every matcher:
 * - a missing value (undefined) matches nothing, so `not` of it matches;
 * - an array (tls.alpn) matches when any element does, so `not` of it matches when
 *   the inner matcher matches no element.
 * Both fall out of lifting each leaf test over the value and composing not/any/all
 * on the lifted functions.
 */
import { type Cidr, cidrContains, parseCidr } from "../config/cidr.ts";
import type { Matcher } from "../config/model.ts";
import type { KeyValue } from "./input.ts";

export type ValueTest = (value: KeyValue) => boolean;
type StringTest = (value: string) => boolean;

/**
 * `host` is true for HOST_KEYS: the caller gives those lowercased without a trailing
 * dot, so the pattern side is brought to the same form here and the comparison stays
 * a plain string comparison.
 */
export function compileMatcher(m: Matcher, host: boolean): ValueTest {
  switch (m.op) {
    case "not": {
      const inner = compileMatcher(m.of, host);
      return (v) => !inner(v);
    }
    case "any": {
      const parts = m.of.map((x) => compileMatcher(x, host));
      return (v) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](v)) return true;
        return false;
      };
    }
    case "all": {
      const parts = m.of.map((x) => compileMatcher(x, host));
      return (v) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](v)) return false;
        return true;
      };
    }
    default:
      return lift(leaf(m, host));
  }
}

function lift(test: StringTest): ValueTest {
  return (v) => {
    if (v === undefined) return false;
    if (typeof v === "string") return test(v);
    for (let i = 0; i < v.length; i++) if (test(v[i])) return true;
    return false;
  };
}

/** Lowercased, without the trailing dot of a fully qualified name. */
function hostForm(text: string): string {
  const lower = text.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function leaf(m: Exclude<Matcher, { op: "not" | "any" | "all" }>, host: boolean): StringTest {
  const norm = host ? hostForm : (s: string) => s;
  switch (m.op) {
    case "equals": {
      const want = norm(m.value);
      return (v) => v === want;
    }
    case "in": {
      const set = new Set(m.values.map(norm));
      return (v) => set.has(v);
    }
    case "prefix": {
      // Only lowercased: a prefix's trailing dot is a label boundary ("api." must not
      // match "apix.com"), not the root of a fully qualified name.
      const want = host ? m.value.toLowerCase() : m.value;
      return (v) => v.startsWith(want);
    }
    case "suffix": {
      const want = norm(m.value);
      return (v) => v.endsWith(want);
    }
    case "glob":
      return compileGlob(norm(m.pattern));
    case "regex": {
      // No g/y flags: a stateful lastIndex would make the same value match every other time.
      const re = new RegExp(m.source, host ? "i" : "");
      return (v) => re.test(v);
    }
    case "cidr":
      return compileCidr(m.ranges);
  }
}

/**
 * `*` is any run of characters (dots and slashes included), `?` exactly one; anchored
 * at both ends. The common shapes (`*.example.com`, `/static/*`, no wildcard at all)
 * become string tests; the rest a RegExp.
 */
export function compileGlob(pattern: string): StringTest {
  const stars = countOf(pattern, "*");
  if (!pattern.includes("?")) {
    if (stars === 0) return (v) => v === pattern;
    if (stars === 1) {
      const at = pattern.indexOf("*");
      const head = pattern.slice(0, at);
      const tail = pattern.slice(at + 1);
      const min = head.length + tail.length;
      return (v) => v.length >= min && v.startsWith(head) && v.endsWith(tail);
    }
  }
  let source = "^";
  for (const ch of pattern) {
    source += ch === "*" ? "[^]*" : ch === "?" ? "." : ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  // `u`: `?` is one character, not one UTF-16 half; `s`: it may be a newline too.
  const re = new RegExp(source + "$", "su");
  return (v) => re.test(v);
}

function countOf(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * cidrContains parses the address on every call. A connection's requests all carry the
 * same conn.ip, so the last answer is kept: a keep-alive connection pays the parse once.
 * Text that is not an IP literal matches no range.
 */
function compileCidr(ranges: string[]): StringTest {
  const cidrs: Cidr[] = ranges.map((r) => parseCidr(r));
  let lastValue: string | null = null;
  let lastResult = false;
  return (v) => {
    if (v === lastValue) return lastResult;
    let hit = false;
    for (let i = 0; i < cidrs.length && !hit; i++) hit = cidrContains(cidrs[i], v);
    lastValue = v;
    lastResult = hit;
    return hit;
  };
}
