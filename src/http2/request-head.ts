/**
 * An HTTP/2 request's header list, checked by RFC 9113 §8 and written as the HTTP/1.1
 * head vane's engine reads (src/http/engine.ts), so routing, the flow, the hardening of
 * the request target and the forwarders treat both versions alike. Everything HTTP/2
 * forbids is refused here, before a byte of HTTP/1.1 exists: a field value with CR, LF
 * or NUL would otherwise become a second header line (request smuggling), an uppercase
 * name or a misplaced pseudo-header would be read differently by the target, and a
 * connection-specific field has no meaning in HTTP/2 (§8.2.2).
 */
import type { HeaderField } from "./hpack.ts";
import { MAX_HEADER_LINE, type RequestHead } from "../detect/http-head.ts";
import { RequestWriter } from "../detect/request-writer.ts";
import { badName, badValue, CONNECTION_SPECIFIC } from "./field-rules.ts";

/** How the request's body reaches the engine: none, exactly N bytes, or chunked (length unknown). */
export type BodyPlan = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export type RequestHeadResult =
  | {
    ok: true;
    /** The HTTP/1.1 head's bytes. */
    head: Uint8Array;
    /** What parseRequestHead makes of `head`, made as it was written; null: parse it (see RequestWriter). */
    parsed: RequestHead | null;
    method: string;
    body: BodyPlan;
  }
  /** Malformed (§8.1.1): a stream error PROTOCOL_ERROR, with why. */
  | { ok: false; reason: string };

interface Pseudo {
  method: string | null;
  scheme: string | null;
  authority: string | null;
  path: string | null;
}

/** The pseudo-header fields of the request being read (one at a time, synchronously): see readPseudo. */
const PSEUDO: Pseudo = { method: null, scheme: null, authority: null, path: null };

/**
 * The pseudo-header fields, each at most once and before every regular field (§8.3),
 * into PSEUDO: the index of the first regular field, or why the list is malformed.
 */
function readPseudo(fields: readonly HeaderField[]): number | string {
  const pseudo = PSEUDO;
  pseudo.method =
    pseudo.scheme =
    pseudo.authority =
    pseudo.path =
      null;
  let i = 0;
  for (; i < fields.length && fields[i].name.charCodeAt(0) === COLON; i++) {
    const { name, value } = fields[i];
    let was: string | null;
    // A switch, not a lookup by name.slice(1): four names, and a string made per field was a cost.
    switch (name) {
      case ":method":
        was = pseudo.method;
        pseudo.method = value;
        break;
      case ":scheme":
        was = pseudo.scheme;
        pseudo.scheme = value;
        break;
      case ":authority":
        was = pseudo.authority;
        pseudo.authority = value;
        break;
      case ":path":
        was = pseudo.path;
        pseudo.path = value;
        break;
      default:
        return `unknown pseudo-header ${name}`;
    }
    if (was !== null) return `${name} given twice`;
    if (badValue(value)) return `${name} holds a forbidden character`;
  }
  for (let j = i; j < fields.length; j++) {
    if (fields[j].name.charCodeAt(0) === COLON) return `pseudo-header ${fields[j].name} after a regular field`;
  }
  return i;
}

const COLON = 0x3a;
/** The body plans without a length, shared (never modified). */
const NO_BODY: BodyPlan = { kind: "none" };
const CHUNKED: BodyPlan = { kind: "chunked" };

/** Writes each head (synchronously, one at a time). */
const WRITER = new RequestWriter();

/**
 * Checks `fields` (as HPACK decoded them) and writes the HTTP/1.1 head. `endStream`: the
 * HEADERS frame ended the stream, so the request has no body. `maxLine`: the listener's
 * longest header line, for `parsed` (see RequestWriter).
 */
export function requestHead(
  fields: readonly HeaderField[],
  endStream: boolean,
  maxLine = MAX_HEADER_LINE,
): RequestHeadResult {
  const first = readPseudo(fields);
  if (typeof first === "string") return { ok: false, reason: first };
  const pseudo = PSEUDO;
  const method = pseudo.method;
  if (method === null) return { ok: false, reason: "no :method" };
  // CONNECT (§8.5) opens a tunnel; vane's HTTP/2 serves requests only, and says so with 405.
  if (method !== "CONNECT" && (pseudo.scheme === null || pseudo.path === null || pseudo.path === "")) {
    return { ok: false, reason: "no :scheme or :path" };
  }
  let host: string | null = null;
  let length: number | null = null;
  let cookies: string | null = null;
  for (let i = first; i < fields.length; i++) {
    const { name, value } = fields[i];
    if (badName(name)) return { ok: false, reason: `field name ${JSON.stringify(name)} is not a lower-case token` };
    if (badValue(value)) return { ok: false, reason: `field ${name} holds a forbidden character` };
    if (CONNECTION_SPECIFIC.has(name)) return { ok: false, reason: `connection-specific field ${name}` };
    if (name === "te" && value !== "trailers") {
      return { ok: false, reason: `te: ${value} (only "trailers" may be sent)` };
    }
    if (name === "host") {
      if (host !== null) return { ok: false, reason: "host given twice" };
      host = value;
    } else if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value) || (length !== null && Number(value) !== length)) {
        return { ok: false, reason: `content-length: ${value}` };
      }
      length = Number(value);
    } else if (name === "cookie") {
      // §8.2.3: cookie pairs may come as separate fields; HTTP/1.1 has one line.
      cookies = cookies === null ? value : `${cookies}; ${value}`;
    }
  }
  // §8.3.1: :authority plays Host; a Host that names another authority is malformed.
  const authority = pseudo.authority ?? host;
  if (pseudo.authority !== null && host !== null && host !== pseudo.authority) {
    return { ok: false, reason: "host differs from :authority" };
  }
  const body: BodyPlan = endStream ? NO_BODY : length !== null ? { kind: "length", length } : CHUNKED;
  if (endStream && length !== null && length > 0) return { ok: false, reason: `content-length ${length} with no body` };
  const w = WRITER;
  w.begin(method, method === "CONNECT" ? (pseudo.authority ?? "") : pseudo.path!, maxLine);
  if (authority !== null && authority !== "") w.field("host", authority);
  for (let i = first; i < fields.length; i++) {
    const { name, value } = fields[i];
    if (name !== "host" && name !== "content-length" && name !== "cookie") w.field(name, value);
  }
  if (cookies !== null) w.field("cookie", cookies);
  if (body.kind === "length") w.field("content-length", String(length));
  else if (body.kind === "chunked") w.field("transfer-encoding", "chunked");
  else if (length === 0) w.field("content-length", "0");
  w.end();
  return { ok: true, head: w.bytes, parsed: w.head, method, body };
}
