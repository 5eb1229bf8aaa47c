/**
 * What a target sends back on an HTTP/2 stream, checked by RFC 9113 §8.1.1 and §8.3.2
 * before vane acts on it: a response header list has one pseudo-header, `:status`
 * (three digits), before every regular field; names are lower-case tokens, values hold
 * no CR, LF or NUL, and no connection-specific field appears (field-rules.ts); 101 has
 * no place in HTTP/2 (§8.6). Trailers carry no pseudo-header at all. Anything else is
 * malformed: a stream error, and the stream's response fails.
 */
import type { HeaderField } from "./hpack.ts";
import { badName, badValue, CONNECTION_SPECIFIC } from "./field-rules.ts";

/** A response head that passed: its status, its regular fields, and its content-length if it gave one. */
export type ResponseHeadResult =
  | { ok: true; status: number; fields: HeaderField[]; contentLength: number | null }
  | { ok: false; reason: string };

/** The regular fields of a list, checked; a reason when one breaks a rule. */
function checkRegular(fields: readonly HeaderField[], from: number): string | null {
  for (let i = from; i < fields.length; i++) {
    const { name, value } = fields[i];
    if (name.startsWith(":")) return `pseudo-header ${name} after a regular field`;
    if (badName(name)) return `field name ${JSON.stringify(name)} is not a lower-case token`;
    if (badValue(value)) return `field ${name} holds a forbidden character`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  }
  return null;
}

/** The content-length fields agree on one number (§8.1.1), or a reason; null when none was given. */
function contentLength(fields: readonly HeaderField[]): number | string | null {
  let length: number | null = null;
  for (const { name, value } of fields) {
    if (name !== "content-length") continue;
    if (!/^\d{1,15}$/.test(value) || (length !== null && Number(value) !== length)) {
      return `content-length: ${value}`;
    }
    length = Number(value);
  }
  return length;
}

/**
 * Checks a response header list (interim or final) as HPACK decoded it. `fields` in the
 * result are the regular ones, `:status` taken out.
 *
 * @example checkResponseHead([{ name: ":status", value: "200" }]) // { ok: true, status: 200, fields: [], ... }
 */
export function checkResponseHead(fields: readonly HeaderField[]): ResponseHeadResult {
  const first = fields[0];
  if (first === undefined || first.name !== ":status") {
    return {
      ok: false,
      reason: first?.name.startsWith(":") ? `pseudo-header ${first.name} in a response` : "no :status",
    };
  }
  if (!/^[1-9]\d\d$/.test(first.value)) return { ok: false, reason: `:status ${JSON.stringify(first.value)}` };
  const status = Number(first.value);
  if (status === 101) return { ok: false, reason: "101 Switching Protocols in HTTP/2" };
  if (fields.length > 1 && fields[1].name.startsWith(":")) {
    return { ok: false, reason: `pseudo-header ${fields[1].name} in a response` };
  }
  const bad = checkRegular(fields, 1);
  if (bad !== null) return { ok: false, reason: bad };
  const regular = fields.slice(1);
  const length = contentLength(regular);
  if (typeof length === "string") return { ok: false, reason: length };
  return { ok: true, status, fields: regular, contentLength: length };
}

/** Checks a trailer list: regular fields only (§8.1). A reason, or null when it is good. */
export function checkTrailers(fields: readonly HeaderField[]): string | null {
  if (fields.length > 0 && fields[0].name.startsWith(":")) return `pseudo-header ${fields[0].name} in trailers`;
  return checkRegular(fields, 0);
}
