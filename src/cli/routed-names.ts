/**
 * Which certificates `vane check` holds to which host names: every place vane
 * terminates TLS (an https:// listener, a `terminate` step), the certificate list it
 * serves and the host names its flow routes there. A name comes from `host`,
 * `req.host` and `tls.sni` conditions that name it (`equals`, `in`, or a `*.` glob);
 * prefixes, regexes and other globs name no one host and are left out, as are IP
 * literals (clients do not send them by SNI).
 */
import { type Condition, type Config, HOST_KEYS, type Matcher, type Rule, type TlsFiles } from "../config/model.ts";

/** A YAML key path: map keys and list indexes, as `issueAt` takes it. */
export type KeyPath = Array<string | number>;

/** One place vane terminates TLS: the certificates it serves and the names routed to it. */
export interface TlsSite {
  /** Where the site is written (a listener's `listen`, a `terminate` step). */
  at: KeyPath;
  /** Its certificate list and where that list is written (the listener's, the step's or the top level's). */
  files: TlsFiles[];
  filesAt: KeyPath;
  /** Host names (lower-case; `*.example.com` for a wildcard route) that reach this site over TLS. */
  names: string[];
}

/** Every site of the config: https:// listeners, then `terminate` steps in flow order. */
export function tlsSites(config: Config): TlsSite[] {
  const out: TlsSite[] = [];
  const list = (own: TlsFiles[], ownAt: KeyPath) =>
    own.length > 0 ? { files: own, filesAt: ownAt } : { files: config.tls, filesAt: ["tls"] };
  config.listeners.forEach((l, i) => {
    const at: KeyPath = ["listeners", i];
    if (l.address.protocol === "https") {
      const names = new Set<string>();
      visitRules(l.flow, [...at, "flow"], [], (rule) => conditionNames(rule.when, names));
      out.push({ at: [...at, "listen"], ...list(l.tls, [...at, "tls"]), names: [...names] });
    }
    visitRules(l.flow, [...at, "flow"], [], (rule, path, outer) => {
      if (rule.action.kind !== "terminate") return;
      const names = new Set<string>();
      for (const w of [...outer, rule.when]) conditionNames(w, names);
      visitRules(rule.action.flow, [...path, "terminate", "flow"], [], (inner) => conditionNames(inner.when, names));
      out.push({
        at: [...path, "terminate"],
        ...list(rule.action.tls, [...path, "terminate", "tls"]),
        names: [...names],
      });
    });
  });
  return out;
}

/** Calls `visit` on each rule with its key path and the conditions of the rules around it. */
function visitRules(
  rules: readonly Rule[],
  at: KeyPath,
  outer: Array<Condition | null>,
  visit: (rule: Rule, path: KeyPath, outer: Array<Condition | null>) => void,
): void {
  rules.forEach((rule, j) => {
    const path = [...at, j];
    visit(rule, path, outer);
    const a = rule.action;
    const within = [...outer, rule.when];
    if (a.kind === "flow") visitRules(a.rules, [...path, "flow"], within, visit);
    if (a.kind === "plugin") {
      for (const [name, b] of Object.entries(a.branches)) {
        visitRules(b, [...path, "plugin", "branches", name], within, visit);
      }
      if (a.failure) visitRules(a.failure, [...path, "plugin", "failure"], within, visit);
    }
  });
}

function conditionNames(c: Condition | null, into: Set<string>): void {
  if (c === null || c.kind === "not") return;
  if (c.kind === "key") {
    if (HOST_KEYS.includes(c.key)) matcherNames(c.matcher, into);
    return;
  }
  for (const x of c.of) conditionNames(x, into);
}

function matcherNames(m: Matcher, into: Set<string>): void {
  const add = (name: string) => {
    const n = name.trim().toLowerCase().replace(/\.$/, "");
    if (isDnsName(n)) into.add(n);
  };
  if (m.op === "equals") add(m.value);
  else if (m.op === "in") m.values.forEach(add);
  else if (m.op === "glob" && /^\*\.[^*?]+$/.test(m.pattern)) add(m.pattern);
  else if (m.op === "any" || m.op === "all") m.of.forEach((x) => matcherNames(x, into));
}

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A DNS name (its first label may be `*`), not an IP literal. */
function isDnsName(n: string): boolean {
  const labels = n.split(".");
  if (n === "*" || /^[\d.]+$/.test(n)) return false;
  return labels.every((l, i) => LABEL.test(l) || (i === 0 && l === "*"));
}
