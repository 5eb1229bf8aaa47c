/**
 * The rules every HTTP/2 header field must keep, whichever way it goes (RFC 9113 §8.2):
 * a lower-case token for a name, no CR, LF or NUL in a value and no whitespace at its
 * ends, and none of the connection-specific fields of HTTP/1.1 (§8.2.2). One leaf, so
 * the server's request check (request-head.ts) and the client's response check
 * (response-fields.ts) refuse the same things.
 */

/** Fields that are about one HTTP/1.1 connection and must not appear in HTTP/2 (§8.2.2). */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** A field name as HTTP/2 allows it: a token (RFC 9110 §5.1) in lower case. */
const NAME_BYTE = (() => {
  const ok = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") ok[c.charCodeAt(0)] = 1;
  return ok;
})();

/** Whether `name` is not a lower-case token (empty, upper case, a separator, a byte over 127). */
export function badName(name: string): boolean {
  if (name.length === 0) return true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NAME_BYTE[c] === 0) return true;
  }
  return false;
}

/** §8.2.1: no NUL, CR or LF anywhere, no leading or trailing space or tab. */
export function badValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return true;
  }
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return value.length > 0 && (first === 32 || first === 9 || last === 32 || last === 9);
}
