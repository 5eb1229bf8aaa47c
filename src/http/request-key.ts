/**
 * The key a keyed balancing strategy (Pool.keyOn: hash or sticky) picks by, read off
 * one request: the client's address, the path (without its query), a header's value
 * (the first field of that name) or a cookie's value. Made only for pools whose
 * strategy has a key, so other pools read nothing more per request.
 */
import type { KeyOn } from "../balance/mod.ts";
import type { RequestHead } from "../detect/http-head.ts";
import { headerValues } from "../detect/http-fields.ts";
import type { SocketAddress } from "../runtime/types.ts";

/** A request's key; undefined when it has none (no such header or cookie). */
export type RequestKey = (client: SocketAddress, head: RequestHead | undefined) => string | undefined;

/** The key reader for `keyOn`. A request known only by its connection (no head) is keyed by nothing but its client. */
export function requestKey(keyOn: KeyOn): RequestKey {
  const name = keyOn.name ?? "";
  switch (keyOn.on) {
    case "client":
      return (client) => client.hostname;
    case "path":
      return (_, head) => head === undefined ? undefined : pathOf(head.target);
    case "header":
      return (_, head) => head === undefined ? undefined : headerValues(head.headers, name)[0];
    case "cookie":
      return (_, head) => head === undefined ? undefined : cookieValue(headerValues(head.headers, "cookie"), name);
  }
}

/** The request target's path: without the query, and without scheme and authority in absolute form. */
export function pathOf(target: string): string {
  let from = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = target.indexOf("://");
    if (scheme >= 0) {
      const slash = target.indexOf("/", scheme + 3);
      if (slash < 0) return "/";
      from = slash;
    }
  }
  const query = target.indexOf("?", from);
  return query < 0 ? (from === 0 ? target : target.slice(from)) : target.slice(from, query);
}

/** The value of cookie `name` in the Cookie fields (RFC 6265 §5.4: `a=1; b=2`), the first if repeated. */
export function cookieValue(fields: readonly string[], name: string): string | undefined {
  for (const field of fields) {
    let at = 0;
    while (at < field.length) {
      let end = field.indexOf(";", at);
      if (end < 0) end = field.length;
      while (field.charCodeAt(at) === 32) at++;
      const eq = field.indexOf("=", at);
      if (eq > 0 && eq < end && eq - at === name.length && field.startsWith(name, at)) {
        return field.slice(eq + 1, end).trim();
      }
      at = end + 1;
    }
  }
  return undefined;
}
