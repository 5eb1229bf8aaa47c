/**
 * Header rewriting between client and upstream (RFC 9110 §7.6.1). Hop-by-hop
 * fields describe one connection, so a proxy drops them and speaks for itself on
 * each side; the X-Forwarded-* fields tell the backend who really asked.
 */
import type { Header, RequestHead, ResponseHead } from "../detect/http-head.ts";
import { connectionTokens } from "./framing.ts";
import { concatBytes } from "../detect/bytes.ts";

const ENCODER = new TextEncoder();
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** Always hop-by-hop, whatever Connection says. Transfer-Encoding is not here: we forward bodies as framed. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]);
/** Set by vane from what it saw; a client-supplied value would be a lie passed on. */
const FORWARDED_REPLACED = new Set(["x-forwarded-proto", "x-forwarded-host"]);

/**
 * The headers without hop-by-hop fields (and every field Connection names).
 * With `upgrade`, Upgrade survives and `Connection: upgrade` is re-added: the
 * backend needs both to switch protocols.
 */
export function stripHopByHop(headers: Header[], upgrade: boolean): Header[] {
  const named = connectionTokens(headers);
  const out: Header[] = [];
  for (const h of headers) {
    const lower = h[0].toLowerCase();
    if (upgrade && lower === "upgrade") {
      out.push(h);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(h);
  }
  if (upgrade) out.push(["Connection", "upgrade"]);
  return out;
}

export interface ForwardInfo {
  /** The real client's address (after a PROXY header). */
  clientAddress: string;
  proto: "http" | "https";
  /** Keep the Upgrade handshake fields (WebSocket). */
  upgrade: boolean;
  /** vane answers `Expect: 100-continue` itself, so the field stops here. */
  dropExpect: boolean;
}

/** Request headers as the upstream should see them. */
export function upstreamRequestHeaders(head: RequestHead, info: ForwardInfo): Header[] {
  const kept = stripHopByHop(head.headers, info.upgrade);
  const out: Header[] = [];
  let xff: string | null = null;
  let host: string | null = null;
  for (const h of kept) {
    const lower = h[0].toLowerCase();
    if (lower === "x-forwarded-for") {
      // Several XFF fields are one list (RFC 9110 §5.3); fold them, then append us.
      xff = xff === null ? h[1] : `${xff}, ${h[1]}`;
      continue;
    }
    if (FORWARDED_REPLACED.has(lower)) continue;
    if (info.dropExpect && lower === "expect") continue;
    if (lower === "host") host = h[1];
    out.push(h);
  }
  out.push(["X-Forwarded-For", xff === null || xff === "" ? info.clientAddress : `${xff}, ${info.clientAddress}`]);
  out.push(["X-Forwarded-Proto", info.proto]);
  if (host !== null) out.push(["X-Forwarded-Host", host]);
  return out;
}

/**
 * Response headers as the client should see them. `connection` is what vane
 * says about the client connection: "close", "keep-alive" (HTTP/1.0 clients need
 * it spelled out), or null (the HTTP/1.1 default, keep-alive).
 */
export function clientResponseHeaders(
  head: ResponseHead,
  upgrade: boolean,
  connection: "close" | "keep-alive" | null,
): Header[] {
  const out = stripHopByHop(head.headers, upgrade);
  if (connection !== null && !upgrade) out.push(["Connection", connection]);
  return out;
}

/**
 * A head as bytes. Field values were parsed one byte per char (latin1), so they
 * are written back the same way; TextEncoder would turn 0x80-0xff into UTF-8.
 */
export function serializeHead(startLine: string, headers: Header[]): Uint8Array {
  let s = startLine + "\r\n";
  for (const [name, value] of headers) s += name + ": " + value + "\r\n";
  s += "\r\n";
  // Nearly every head is ASCII, which the runtime's (native) UTF-8 encoder writes alike.
  if (!NON_ASCII.test(s)) return ENCODER.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  410: "Gone",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  414: "URI Too Long",
  421: "Misdirected Request",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The reason phrase vane writes for a status (clients ignore it; people read it). */
export function reasonPhrase(code: number): string {
  return REASONS[code] ?? (code < 400 ? "OK" : "Error");
}

/** A response vane makes itself: short text body, always framed by Content-Length. */
export function vaneResponse(code: number, text: string, close: boolean): Uint8Array {
  return customResponse(code, [["Content-Type", "text/plain; charset=utf-8"]], text + "\n", close, false);
}

/**
 * A response from a flow's `respond` (or vane's own): the given headers, then the
 * framing vane owns (Content-Length, Connection). A HEAD request gets the head only.
 */
export function customResponse(
  code: number,
  headers: Header[],
  body: string,
  close: boolean,
  headOnly: boolean,
): Uint8Array {
  const bodyBytes = new TextEncoder().encode(body);
  const all: Header[] = headers.filter(([n]) => !FRAMING.has(n.toLowerCase()));
  // 204 and 304 carry no body and no length (RFC 9110 §8.6).
  const bodiless = code === 204 || code === 304 || (code >= 100 && code < 200);
  if (!bodiless) all.push(["Content-Length", String(bodyBytes.length)]);
  if (close) all.push(["Connection", "close"]);
  const head = serializeHead(`HTTP/1.1 ${code} ${reasonPhrase(code)}`, all);
  if (headOnly || bodiless) return head;
  return concatBytes(head, bodyBytes);
}

/** Fields vane writes itself on its own responses. */
const FRAMING = new Set(["content-length", "transfer-encoding", "connection"]);

/** One change a flow makes to headers, in order (names lowercased). */
export type HeaderEdit =
  | { op: "set"; name: string; value: string }
  | { op: "add"; name: string; value: string }
  | { op: "remove"; name: string };

/**
 * Applies edits in order: `set` replaces every field of that name, `add` appends one
 * more, `remove` drops them all.
 */
export function applyEdits(headers: Header[], edits: readonly HeaderEdit[]): Header[] {
  if (edits.length === 0) return headers;
  let out = headers;
  for (const e of edits) {
    if (e.op !== "add") out = out.filter(([n]) => n.toLowerCase() !== e.name);
    else if (out === headers) out = [...headers];
    if (e.op !== "remove") out.push([e.name, e.value]);
  }
  return out;
}

/** The bytes of a bare `100 Continue`, sent when vane is ready to take a request body. */
export const CONTINUE_100 = serializeHead("HTTP/1.1 100 Continue", []);
