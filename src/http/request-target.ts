/**
 * Where a request goes (its Host, or an absolute target's authority) and the head of
 * a request that came without a Host.
 */
import type { RequestHead } from "../detect/http-head.ts";
import { applyEdits, type FieldPlan, type HeaderEdit, plannedHeaders, serializeHead } from "./headers.ts";
import type { RequestTarget } from "./engine.ts";

/** Where a request goes: Host (or an absolute target's authority), the path and the query. */
export function routingKey(head: RequestHead): RequestTarget {
  let target = head.target;
  let host = head.host;
  const scheme = schemeLength(target);
  if (scheme > 0) {
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the host.
    const end = authorityEnd(target, scheme);
    host = authorityHost(target.slice(scheme, end));
    target = target.slice(end) || "/";
  }
  const q = target.indexOf("?");
  return q < 0 ? { host, path: target, query: "" } : { host, path: target.slice(0, q), query: target.slice(q + 1) };
}

/** The length of an absolute-form target's "http://" or "https://", else 0. */
function schemeLength(target: string): number {
  return target.startsWith("http://") ? 7 : target.startsWith("https://") ? 8 : 0;
}

/** Where the authority that starts at `from` ends: at the path, query or fragment. */
function authorityEnd(target: string, from: number): number {
  let end = target.length;
  for (const c of "/?#") {
    const i = target.indexOf(c, from);
    if (i >= 0 && i < end) end = i;
  }
  return end;
}

/**
 * The head of a request that came without Host, for an upstream named `authority`.
 * Its Host names the target, as nginx and Caddy do: the one the flow set, else an
 * absolute target's authority, else the upstream's (known once a lease is in hand).
 * Made from strings: the head's bytes may be gone by then.
 */
export function hostlessHead(
  head: RequestHead,
  plan: FieldPlan,
  startLine: string,
  edits: readonly HeaderEdit[],
): (authority: string) => Uint8Array {
  const headers = applyEdits(plannedHeaders(head.fields.list, plan), edits);
  if (headers.some(([name]) => name.toLowerCase() === "host")) {
    const bytes = serializeHead(startLine, headers);
    return () => bytes;
  }
  const scheme = schemeLength(head.target);
  const named = scheme > 0 ? withoutUserinfo(head.target.slice(scheme, authorityEnd(head.target, scheme))) : "";
  if (named === "") return (authority) => serializeHead(startLine, [["Host", authority], ...headers]);
  const bytes = serializeHead(startLine, [["Host", named], ...headers]);
  return () => bytes;
}

/** "user@host:port" -> "host:port". */
function withoutUserinfo(authority: string): string {
  return authority.slice(authority.lastIndexOf("@") + 1);
}

/** "user@Host:port" -> "host", lowercased, without port and trailing dot. */
function authorityHost(authority: string): string {
  let a = withoutUserinfo(authority);
  if (a.startsWith("[")) a = a.slice(0, a.indexOf("]") + 1);
  else if (a.includes(":")) a = a.slice(0, a.indexOf(":"));
  if (a.endsWith(".")) a = a.slice(0, -1);
  return a.toLowerCase();
}
