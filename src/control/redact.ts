/**
 * The config as the status endpoint may show it: the flow keeps its shape (conditions,
 * action kinds, pool names, header names) while every literal that may be a secret
 * becomes `<redacted>`: header values and bodies vane sends, the matched values of
 * request headers and query strings (API keys are matched there), the userinfo and
 * query of plugin URLs and redirect locations, a plugin command's arguments, and the
 * admin token. /status is readable by anyone who reaches it; `--print-config` is the
 * operator's own view and shows everything.
 */
import type { Action, Condition, Config, HeaderList, Matcher, PluginSpec, Rule } from "../config/model.ts";
import { HEADER_KEY_PREFIX } from "../config/model.ts";

export const REDACTED = "<redacted>";

/** `config` with its listeners' flows and the admin token redacted; the rest as is. */
export function redactConfig(config: Config): Config {
  const control: Config["control"] = {
    listen: config.control.listen,
    token: config.control.token === null ? null : REDACTED,
  };
  return { ...config, control, listeners: config.listeners.map((l) => ({ ...l, flow: redactRules(l.flow) })) };
}

export function redactRules(rules: readonly Rule[]): Rule[] {
  return rules.map((r) => ({ when: r.when === null ? null : redactCondition(r.when), action: redactAction(r.action) }));
}

function redactAction(a: Action): Action {
  switch (a.kind) {
    case "proxy":
    case "abort":
    case "remove-headers":
      return a;
    case "rate-limit":
      return a.store ? { ...a, store: { ...a.store, url: redactUrl(a.store.url) } } : a;
    case "terminate":
      return { ...a, flow: redactRules(a.flow) };
    case "respond":
      return { ...a, headers: redactHeaders(a.headers), body: a.body === "" ? "" : REDACTED };
    case "redirect":
      return { ...a, location: redactUrl(a.location) };
    case "set-headers":
      return { ...a, request: redactHeaders(a.request), response: redactHeaders(a.response) };
    case "plugin":
      return {
        ...a,
        plugin: redactPlugin(a.plugin),
        branches: Object.fromEntries(Object.entries(a.branches).map(([name, rules]) => [name, redactRules(rules)])),
        failure: a.failure === null ? null : redactRules(a.failure),
      };
    case "flow":
      return { ...a, rules: redactRules(a.rules) };
  }
}

function redactPlugin(p: PluginSpec): PluginSpec {
  switch (p.kind) {
    case "http":
      return { kind: "http", url: redactUrl(p.url) };
    case "command":
      return { kind: "command", argv: p.argv.map((arg, i) => (i === 0 ? arg : REDACTED)) };
    case "function":
      return p;
  }
}

function redactHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name]) => [name, REDACTED]);
}

/** The keys whose matched values may be credentials: request headers and the query string. */
const isSecretKey = (key: string) => key.startsWith(HEADER_KEY_PREFIX) || key === "req.query";

function redactCondition(c: Condition): Condition {
  switch (c.kind) {
    case "key":
      return isSecretKey(c.key) ? { ...c, matcher: redactMatcher(c.matcher) } : c;
    case "not":
      return { kind: "not", of: redactCondition(c.of) };
    case "any":
    case "all":
      return { kind: c.kind, of: c.of.map(redactCondition) };
  }
}

function redactMatcher(m: Matcher): Matcher {
  switch (m.op) {
    case "equals":
    case "prefix":
    case "suffix":
      return { op: m.op, value: REDACTED };
    case "glob":
      return { op: "glob", pattern: REDACTED };
    case "regex":
      return { op: "regex", source: REDACTED };
    case "cidr":
      return { op: "cidr", ranges: m.ranges.map(() => REDACTED) };
    case "in":
      return { op: "in", values: m.values.map(() => REDACTED) };
    case "not":
      return { op: "not", of: redactMatcher(m.of) };
    case "any":
    case "all":
      return { op: m.op, of: m.of.map(redactMatcher) };
  }
}

/**
 * A URL (or a location like `/login?next=...`) with its userinfo and everything from
 * `?` or `#` on redacted; scheme, host and path stay.
 */
export function redactUrl(url: string): string {
  let out = "";
  let rest = url;
  const scheme = /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.exec(url);
  if (scheme) {
    out = scheme[0];
    rest = url.slice(out.length);
    const end = rest.search(/[/?#]/);
    const at = (end < 0 ? rest : rest.slice(0, end)).lastIndexOf("@");
    if (at >= 0) {
      out += `${REDACTED}@`;
      rest = rest.slice(at + 1);
    }
  }
  const query = rest.search(/[?#]/);
  return query < 0 ? out + rest : out + rest.slice(0, query + 1) + REDACTED;
}
