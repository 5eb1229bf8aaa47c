/**
 * Mutations of YAML text: line-level (delete, duplicate, swap, re-indent, splice a line
 * from another document, join, truncate), token-level (a key for another key of the
 * grammar, a value for a boundary value or a YAML special: anchors, aliases, tags,
 * merges, block scalars), and character-level (NUL, BOM, tabs, lone surrogates).
 */
import { ACTIONS } from "../../src/config/yaml-flow.ts";
import type { Rng } from "./rng.ts";

/** The keys a `when` condition reads (a sample of headers). */
export const CONDITION_KEYS = [
  "conn.ip",
  "conn.port",
  "listener.port",
  "protocol",
  "host",
  "tls.sni",
  "tls.alpn",
  "req.method",
  "req.host",
  "req.path",
  "req.query",
  "req.header.X-Test",
  "req.header.authorization",
  "plugin.user",
];

/** Every key of the config grammar, to swap one for another. */
export const GRAMMAR_KEYS = [
  "listeners",
  "pools",
  "nodes",
  "control",
  "timeouts",
  "log",
  "tls",
  "resolver",
  "workers",
  "listen",
  "accept-proxy",
  "when",
  ...ACTIONS,
  "targets",
  "strategy",
  "fallback",
  "health",
  "passive",
  "proxy-protocol",
  "check",
  "path",
  "expect",
  "interval",
  "timeout",
  "rise",
  "fall",
  "failures",
  "cert",
  "key",
  "status",
  "headers",
  "body",
  "location",
  "request",
  "response",
  "rate",
  "burst",
  "http",
  "command",
  "function",
  "quiet",
  "branches",
  "failure",
  "token",
  "format",
  "level",
  "connect",
  "idle",
  "grace",
  "udp-idle",
  "upstream",
  "request-head",
  "keep-alive",
  "body",
  "http",
  "max-header-line",
  "max-partial-heads",
  "encoded-slash",
  "target",
  "weight",
  "not",
  "any",
  "all",
  "equals",
  "glob",
  "prefix",
  "suffix",
  "regex",
  "cidr",
  "in",
  ...CONDITION_KEYS,
  "__proto__",
  "constructor",
  "toString",
  "<<",
];

export const INTERESTING_VALUES = [
  "",
  "~",
  "null",
  "true",
  "false",
  "yes",
  "0",
  "-1",
  "1.5",
  "65535",
  "65536",
  "99999999999999999999",
  "1e309",
  ".inf",
  "-.inf",
  ".nan",
  "0x1F",
  "0o17",
  "1_000",
  "[]",
  "{}",
  "[a, b]",
  "{a: b}",
  "'q'",
  '"dq"',
  '"\\u0000"',
  '"\\ud800"',
  '"\\x85"',
  "*",
  "*.example.com",
  "*a",
  "&a x",
  "&a",
  "!!str 5",
  "!!binary aGk=",
  "!!int x",
  "!!map {}",
  "!!seq []",
  "!!timestamp 2001-12-14",
  "!custom x",
  "!<tag:x> y",
  "<<",
  "? x",
  "|",
  "|-\n  text",
  ">-",
  "- x",
  "#",
  "a #c",
  "%",
  "@",
  "`",
  "{{conn.ip}}",
  "{{",
  "{{ }}",
  "{{nope}}",
  "{{req.header.}}",
  "(",
  "(a+)+$",
  "[",
  "]",
  "}",
  "10.0.0.0/33",
  "::/0",
  "1.2.3.4/8",
  "0.0.0.0/0, ::/0",
  "0s",
  "-1s",
  "1e400ms",
  "0.5ms",
  "25h",
  "1d",
  "10/s",
  "0/s",
  "1.5/m",
  "1e309/s",
  "node:x:1",
  "node::1",
  "node:web:99999",
  "[::1]:0",
  "[::1]:65536",
  "1.2.3.4:80@0",
  "1.2.3.4:80@257",
  "a:1,a:1",
  "tcp://:0",
  "http://[::]:",
  "https://:443",
  "udp://[::]:53",
  "ftp://:21",
  "http://a b/",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "v1",
  "v2",
  "off",
  "auto",
  "64",
  "65",
  "http",
  "tcp",
  "none",
  "200-299",
  "599-200",
  "/healthz",
  "..",
  "reject",
  "decode",
  "pass",
  "8192",
  "1048576",
];

const SPECIAL_LINES = [
  "---",
  "...",
  "%YAML 1.1",
  "%TAG ! tag:x,2000:",
  "? complex",
  ": value",
  "<<: *a",
  "- &a {x: 1}",
  "x: &a [*a]",
  "\t- tab",
  "key: |",
  "key: >",
  "&a",
  "*a",
  "!!map",
  "#",
  "  # indented comment",
  "[",
  "{",
  "'unterminated",
  '"unterminated',
  "a: b: c",
  "- - - x",
  "?",
  "- ? a\n  : b",
];

function lines(text: string): string[] {
  return text.split("\n");
}

export function mutateLines(rng: Rng, text: string, corpus: readonly string[]): string {
  const ls = lines(text);
  const i = rng.int(ls.length);
  switch (rng.int(10)) {
    case 0:
      ls.splice(i, 1);
      break;
    case 1:
      ls.splice(i, 0, ls[i]);
      break;
    case 2: {
      const j = Math.min(ls.length - 1, i + 1);
      [ls[i], ls[j]] = [ls[j], ls[i]];
      break;
    }
    case 3: // re-indent
      ls[i] = rng.chance(0.5) ? " ".repeat(rng.range(1, 4)) + ls[i] : ls[i].replace(/^ {1,4}/, "");
      break;
    case 4: { // a line from another document
      const other = lines(rng.pick(corpus));
      ls.splice(i, 0, rng.pick(other));
      break;
    }
    case 5: // join with the next line
      if (i + 1 < ls.length) ls.splice(i, 2, ls[i] + rng.pick(["", " ", ", "]) + ls[i + 1].trimStart());
      break;
    case 6: // truncate somewhere in this line
      return ls.slice(0, i).join("\n") + "\n" + ls[i].slice(0, rng.int(ls[i].length + 1));
    case 7:
      ls.splice(i, 0, rng.pick(SPECIAL_LINES));
      break;
    case 8: { // move a block of lines elsewhere
      const n = rng.range(1, 6);
      const moved = ls.splice(i, n);
      ls.splice(rng.int(ls.length + 1), 0, ...moved);
      break;
    }
    default: // duplicate a block of lines (a second listener, a duplicate key)
    {
      const n = rng.range(1, 8);
      ls.splice(i, 0, ...ls.slice(i, i + n));
    }
  }
  return ls.join("\n");
}

const KEY_RE = /^(\s*(?:- )?)([^\s:#][^:#]*?):(?=\s|$)/;
const VALUE_RE = /(:\s+|-\s+|\[|,\s*|\{\s*[^:,{}]+:\s*)([^\s,\[\]{}#][^,\[\]{}#\n]*)/g;

export function mutateTokens(rng: Rng, text: string): string {
  const ls = lines(text);
  const i = rng.int(ls.length);
  const line = ls[i];
  if (rng.chance(0.35)) {
    const m = KEY_RE.exec(line);
    if (m) {
      const k = rng.chance(0.9) ? rng.pick(GRAMMAR_KEYS) : rng.pick(INTERESTING_VALUES);
      ls[i] = m[1] + k + line.slice(m[0].length - 1);
      return ls.join("\n");
    }
  }
  const matches = [...line.matchAll(VALUE_RE)];
  if (matches.length === 0) {
    ls[i] = line + rng.pick([" " + rng.pick(INTERESTING_VALUES), ":", " #", ""]);
    return ls.join("\n");
  }
  const m = rng.pick(matches);
  const start = (m.index ?? 0) + m[1].length;
  const replacement = rng.chance(0.8) ? rng.pick(INTERESTING_VALUES) : m[2] + rng.pick(INTERESTING_VALUES);
  ls[i] = line.slice(0, start) + replacement + line.slice(start + m[2].length);
  return ls.join("\n");
}

const CHARS = [
  "\x00",
  "\uFEFF",
  "\t",
  "\r",
  "\r\n",
  "\u2028",
  "\u0085",
  "\ud800",
  "\udfff",
  "é",
  "\x7f",
  "\x1b",
  "'",
  '"',
  ":",
  "#",
  "&",
  "*",
  "!",
  "|",
  ">",
  "%",
  "@",
  "`",
  "{",
  "}",
  "[",
  "]",
  ",",
  "-",
  "?",
  " ",
];

export function mutateChars(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(4)) {
    case 0:
      return text.slice(0, at) + rng.pick(CHARS) + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + rng.range(1, 8));
    case 2:
      return text.slice(0, at) + rng.pick(CHARS) + text.slice(at + 1);
    default: {
      const n = rng.range(1, 16);
      return text.slice(0, at) + text.slice(at, at + n).repeat(rng.range(2, 20)) + text.slice(at + n);
    }
  }
}
