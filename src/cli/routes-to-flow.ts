/**
 * The one-liner's routes as a flow. `--route` promises "the most specific match wins"
 * (exact host, then the longest wildcard, then `*`; the longest path prefix within a
 * host), while a flow takes the first rule that matches. Ordering the rules by that
 * specificity makes the two agree, so a one-liner and its printed YAML behave alike.
 *
 * A route's host is the `host` key: the SNI of a TLS connection (passthrough) or the
 * Host of an HTTP request. A path prefix needs a request, so TLS never matches it.
 */
import type { Condition, RouteConfig, RouteMatch, Rule } from "../config/model.ts";

/** Exact hosts first, then wildcards by suffix length, then `*`; longer path prefixes first within each. */
function rank(m: RouteMatch): [number, number, number] {
  if (m.kind === "any") return [2, 0, 0];
  const path = m.pathPrefix?.length ?? -1;
  return m.kind === "host" ? [0, 0, -path] : [1, -m.suffix.length, -path];
}

function compare(a: RouteConfig, b: RouteConfig): number {
  const ra = rank(a.match);
  const rb = rank(b.match);
  return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2];
}

function conditionOf(m: RouteMatch): Condition | null {
  if (m.kind === "any") return null;
  const host: Condition = m.kind === "host"
    ? { kind: "key", key: "host", matcher: { op: "equals", value: m.host } }
    : { kind: "key", key: "host", matcher: { op: "glob", pattern: `*.${m.suffix}` } };
  if (m.pathPrefix === undefined) return host;
  return { kind: "all", of: [host, { kind: "key", key: "req.path", matcher: { op: "prefix", value: m.pathPrefix } }] };
}

/** Rules in specificity order (a stable sort: equal routes keep the order given). */
export function routesToFlow(routes: readonly RouteConfig[]): Rule[] {
  return [...routes].sort(compare).map((r) => ({
    when: conditionOf(r.match),
    action: { kind: "proxy", pool: r.pool },
  }));
}
