/**
 * Header rewriting between client and upstream (RFC 9110 §7.6.1). Hop-by-hop
 * fields describe one connection, so a proxy drops them and speaks for itself on
 * each side; the X-Forwarded-* fields tell the backend who really asked.
 */
import type { RequestHead, ResponseHead } from "../detect/http-head.ts";
import {
  bit,
  F_CONNECTION,
  F_CONTENT_LENGTH,
  F_EXPECT,
  F_FORWARDED,
  F_HOST,
  F_HTTP2_SETTINGS,
  F_KEEP_ALIVE,
  F_PROXY_CONNECTION,
  F_TE,
  F_TRAILER,
  F_TRANSFER_ENCODING,
  F_UPGRADE,
  F_X_FORWARDED_FOR,
  F_X_FORWARDED_HOST,
  F_X_FORWARDED_PROTO,
  type Fields,
  type Header,
  KNOWN_NAMES,
} from "../detect/http-fields.ts";
import { connectionTokens } from "./framing.ts";
import { allocBytes, concatBytes, copyBytes } from "../runtime/byte-arrays.ts";

const ENCODER = new TextEncoder();
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Always hop-by-hop, whatever Connection says (Upgrade and HTTP2-Settings go on for a
 * protocol switch). Transfer-Encoding is not here: we forward bodies as framed.
 */
const HOP_BY_HOP = bit(F_CONNECTION) | bit(F_KEEP_ALIVE) | bit(F_PROXY_CONNECTION) | bit(F_TE) | bit(F_TRAILER) |
  bit(F_UPGRADE) | bit(F_HTTP2_SETTINGS);
/**
 * Fields that Connection may name and still go on. A message's framing and its Host are
 * for every hop (RFC 9110 §7.6.1 forbids naming them): dropping the framing fields while
 * forwarding the body as framed by them would make its body a second request, and
 * dropping Host or the client's address would route or log as someone else. nginx and
 * HAProxy do not drop them either; vane drops the option and keeps the field.
 */
const NEVER_NAMED = bit(F_HOST) | bit(F_CONTENT_LENGTH) | bit(F_TRANSFER_ENCODING) | bit(F_X_FORWARDED_FOR) |
  bit(F_FORWARDED);
/** Set by vane from what it saw; a client-supplied value would be a lie passed on. */
const FORWARDED_REPLACED = bit(F_X_FORWARDED_PROTO) | bit(F_X_FORWARDED_HOST);
/** Every field a request plan may act on, whatever Connection names. */
const REQUEST_PLANNED = HOP_BY_HOP | FORWARDED_REPLACED | bit(F_X_FORWARDED_FOR) | bit(F_EXPECT) | bit(F_HOST);

/** Connection options that name no field, or a field the plans know by number. */
const NAMES_NO_OTHER = new Set(["close", ...KNOWN_NAMES.slice(1)]);

/**
 * Whether field i stops at this hop: always for HOP_BY_HOP, and for every field the
 * Connection options name (`named`); with `upgrade`, Upgrade goes on. `other` says
 * whether `named` holds names beyond the known fields, which only then are compared.
 */
function hopByHop(fields: Fields, i: number, upgrade: boolean, named: ReadonlySet<string>, other: boolean): boolean {
  const kind = fields.kind(i);
  if (kind === F_UPGRADE || kind === F_HTTP2_SETTINGS) return !upgrade;
  if (kind !== 0) {
    if ((HOP_BY_HOP & bit(kind)) !== 0) return true;
    return named.size > 0 && (NEVER_NAMED & bit(kind)) === 0 && named.has(KNOWN_NAMES[kind]);
  }
  return other && named.has(fields.name(i).toLowerCase());
}

/** Whether Connection names a field beyond the known ones ("Connection: x-foo"). */
function namesOther(named: ReadonlySet<string>): boolean {
  if (named.size === 0) return false;
  // Token sets are shared (framing.ts), so the last answer is nearly always the one asked
  // again; a for-of over a Set makes an iterator and an entry array per call.
  if (named === lastNamed) return lastOther;
  let other = false;
  for (const t of named) {
    if (!NAMES_NO_OTHER.has(t)) {
      other = true;
      break;
    }
  }
  lastNamed = named;
  lastOther = other;
  return other;
}
let lastNamed: ReadonlySet<string> | null = null;
let lastOther = false;

/**
 * What goes on of a received head: the fields that do not (`dropped`; dropField drops
 * one), and `append`, the fields vane adds after them (shared: do not modify). One plan
 * serves both ways of writing the head out (see `headBytes`), so they cannot disagree.
 */
export interface FieldPlan {
  /**
   * Fields 0 to LOW_FIELDS - 1 that do not go on, one bit each: a head's first fields
   * hold nearly every one dropped (a response's Connection), and an array for them was
   * one more allocation per message.
   */
  dropLow: number;
  /** Fields from LOW_FIELDS on that do not go on (`true`), or null. */
  dropHigh: boolean[] | null;
  append: Appended;
}

/** Fields whose drop is a bit of `dropLow` (a small integer's bits). */
const LOW_FIELDS = 30;

/** Whether the plan drops field i. */
export function dropped(plan: FieldPlan, i: number): boolean {
  if (i < LOW_FIELDS) return (plan.dropLow & (1 << i)) !== 0;
  return plan.dropHigh !== null && plan.dropHigh[i] === true;
}

/** Whether the plan drops any field. */
export function dropsAny(plan: FieldPlan): boolean {
  return plan.dropLow !== 0 || plan.dropHigh !== null;
}

/** Fields vane adds, and the same as the lines that end a head, made once. */
export interface Appended {
  readonly fields: readonly Header[];
  readonly bytes: Uint8Array;
}

export function appended(fields: Header[]): Appended {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + 4;
  const bytes = new Uint8Array(size);
  let o = 0;
  for (const [name, value] of fields) {
    o = putLatin1(bytes, o, name);
    bytes[o++] = 0x3a;
    bytes[o++] = 0x20;
    o = putLatin1(bytes, o, value);
    bytes[o++] = 0x0d;
    bytes[o++] = 0x0a;
  }
  return { fields, bytes };
}

// Fields vane adds that are the same every time, shared by every plan (never modified).
const CONNECTION_UPGRADE: Header = ["Connection", "upgrade"];
const FORWARDED_PROTO = {
  http: ["X-Forwarded-Proto", "http"] as Header,
  https: ["X-Forwarded-Proto", "https"] as Header,
};
const NOTHING_ADDED = appended([]);
const ADD_UPGRADE = appended([CONNECTION_UPGRADE]);
const ADD_CONNECTION = {
  close: appended([["Connection", "close"]]),
  "keep-alive": appended([["Connection", "keep-alive"]]),
};

/**
 * The last field of one name vane made, handed out again while the value is the same:
 * a connection's requests, and often all of them, come from one client for one host.
 */
class LastField {
  #last: Header;

  constructor(readonly name: string) {
    this.#last = [name, ""];
  }

  of(value: string): Header {
    return this.#last[1] === value ? this.#last : (this.#last = [this.name, value]);
  }
}

/**
 * The X-Forwarded-* fields of the last request, with their bytes, handed out again
 * while they are the same fields (LastField hands out the same ones for the same
 * values): encoding them per request was a tenth of the head's cost.
 */
class LastForwarded {
  #for: Header | null = null;
  #proto: Header | null = null;
  #host: Header | null = null;
  #last: Appended = NOTHING_ADDED;

  of(forwardedFor: Header, proto: Header, host: Header | null): Appended {
    if (forwardedFor !== this.#for || proto !== this.#proto || host !== this.#host) {
      this.#for = forwardedFor;
      this.#proto = proto;
      this.#host = host;
      this.#last = appended(host === null ? [forwardedFor, proto] : [forwardedFor, proto, host]);
    }
    return this.#last;
  }
}
const lastForwarded = new LastForwarded();
const lastFor = new LastField("X-Forwarded-For");
const lastHost = new LastField("X-Forwarded-Host");

export function dropField(plan: FieldPlan, count: number, i: number): void {
  if (i < LOW_FIELDS) plan.dropLow |= 1 << i;
  // Left holey (a hole keeps its field): a fill per head cost more than the reads.
  else (plan.dropHigh ??= new Array<boolean>(count))[i] = true;
}

export interface ForwardInfo {
  /** The real client's address (after a PROXY header). */
  clientAddress: string;
  proto: "http" | "https";
  /** Keep the Upgrade handshake fields (WebSocket). */
  upgrade: boolean;
  /** vane answers `Expect: 100-continue` itself, so the field stops here. */
  dropExpect: boolean;
  /**
   * An absolute-form target's authority (`host[:port]`), which replaces every Host
   * field (RFC 9112 §3.2.2), so routing and the target see one host; else null.
   */
  authority: string | null;
}

/**
 * `foldTo`, where plans take it: -1, or the length that several Content-Length fields
 * or a list ("5, 5") agreed on (BodyFraming's `listed`), which goes on as one field.
 * Passed on as they came, a server that takes the first and one that refuses the list
 * would disagree about the body.
 */

/**
 * The request as the upstream should see it: without hop-by-hop fields (and those
 * Connection names), with vane's X-Forwarded-* fields. With `upgrade`, Upgrade stays
 * and `Connection: upgrade` is added: the backend needs both to switch protocols.
 */
export function requestPlan(head: RequestHead, info: ForwardInfo, foldTo = -1): FieldPlan {
  const fields = head.fields;
  const named = connectionTokens(fields);
  const other = namesOther(named);
  const fold = foldTo >= 0;
  const plan: FieldPlan = { dropLow: 0, dropHigh: null, append: NOTHING_ADDED };
  let xff: string | null = null;
  let host: string | null = null;
  // Most requests carry no field a plan acts on but Host: then only Host is looked at.
  if ((fields.present & ~bit(F_HOST) & REQUEST_PLANNED) === 0 && !other && !fold && info.authority === null) {
    const h = fields.first(F_HOST);
    if (h >= 0) host = fields.value(h);
  } else {
    const n = fields.count;
    for (let i = 0; i < n; i++) {
      const kind = fields.kind(i);
      if (kind === 0 && !other) continue;
      if (hopByHop(fields, i, info.upgrade, named, other)) {
        dropField(plan, n, i);
      } else if (kind === F_X_FORWARDED_FOR) {
        // Several XFF fields are one list (RFC 9110 §5.3); fold them, then append us.
        const value = fields.value(i);
        xff = xff === null ? value : `${xff}, ${value}`;
        dropField(plan, n, i);
      } else if ((FORWARDED_REPLACED & bit(kind)) !== 0 || (info.dropExpect && kind === F_EXPECT)) {
        dropField(plan, n, i);
      } else if (kind === F_HOST) {
        if (info.authority === null) host = fields.value(i);
        else dropField(plan, n, i);
      } else if (kind === F_CONTENT_LENGTH && fold) {
        dropField(plan, n, i);
      }
    }
  }
  const forwardedFor = lastFor.of(xff === null || xff === "" ? info.clientAddress : `${xff}, ${info.clientAddress}`);
  const proto = FORWARDED_PROTO[info.proto];
  if (info.authority !== null) host = info.authority;
  const hostField = host === null ? null : lastHost.of(host);
  // Written anew in front of vane's own: the Host an absolute target names, one length.
  if (info.upgrade || info.authority !== null || fold) {
    const anew: Header[] = [];
    if (info.authority !== null) anew.push(["Host", info.authority]);
    if (fold) anew.push(["Content-Length", String(foldTo)]);
    if (info.upgrade) anew.push(CONNECTION_UPGRADE);
    anew.push(forwardedFor, proto);
    if (hostField !== null) anew.push(hostField);
    plan.append = appended(anew);
  } else {
    plan.append = lastForwarded.of(forwardedFor, proto, hostField);
  }
  return plan;
}

/** The plan of a response that says nothing of the connection (shared, never modified). */
const PLAN_AS_IS: ResponsePlanOptions = {};

/** What vane does to a response's head on its way to the client (see `responsePlan`). */
export interface ResponsePlanOptions {
  /** A 101: Upgrade goes on and `Connection: upgrade` is said. @default false */
  readonly upgrade?: boolean;
  /**
   * What vane says about the client connection: "close", "keep-alive" (HTTP/1.0 clients
   * need it spelled out), or null (the HTTP/1.1 default, keep-alive). @default null
   */
  readonly connection?: "close" | "keep-alive" | null;
  /** Take Transfer-Encoding out, for a body vane decodes. @default false */
  readonly dropFraming?: boolean;
  /** The one length several Content-Length fields agreed on (see `foldTo` above), or -1. @default -1 */
  readonly foldTo?: number;
}

/**
 * The response as the client should see it: without hop-by-hop fields, with what
 * `options` says of the connection.
 */
export function responsePlan(head: ResponseHead, options: ResponsePlanOptions = PLAN_AS_IS): FieldPlan {
  const upgrade = options.upgrade ?? false;
  const connection = options.connection ?? null;
  const dropFraming = options.dropFraming ?? false;
  const foldTo = options.foldTo ?? -1;
  const fields = head.fields;
  const named = connectionTokens(fields);
  const other = namesOther(named);
  const fold = foldTo >= 0;
  let append = upgrade ? ADD_UPGRADE : connection !== null ? ADD_CONNECTION[connection] : NOTHING_ADDED;
  if (fold) append = appended([["Content-Length", String(foldTo)], ...append.fields]);
  const plan: FieldPlan = { dropLow: 0, dropHigh: null, append };
  const planned = HOP_BY_HOP | (dropFraming ? bit(F_TRANSFER_ENCODING) : 0) | (fold ? bit(F_CONTENT_LENGTH) : 0);
  if ((fields.present & planned) !== 0 || named.size > 0) {
    const n = fields.count;
    for (let i = 0; i < n; i++) {
      const kind = fields.kind(i);
      if (kind === 0 && !other) continue;
      if (
        hopByHop(fields, i, upgrade, named, other) || (dropFraming && kind === F_TRANSFER_ENCODING) ||
        (fold && kind === F_CONTENT_LENGTH)
      ) {
        dropField(plan, n, i);
      }
    }
  }
  return plan;
}

/** The fields a plan sends, in order. */
export function plannedHeaders(headers: Header[], plan: FieldPlan): Header[] {
  const out = dropsAny(plan) ? headers.filter((_, i) => !dropped(plan, i)) : headers.slice();
  for (const h of plan.append.fields) out.push(h);
  return out;
}

/**
 * The fields a plan sends, in order, with names in lower case (as HTTP/2 sends them):
 * read field by field, so that the short names and values a target repeats on every
 * answer come back as the same strings (detect/bytes.ts) and a name is lower-cased once.
 */
export function plannedLowerHeaders(fields: Fields, plan: FieldPlan): Header[] {
  const out: Header[] = [];
  const n = fields.count;
  for (let i = 0; i < n; i++) {
    if (dropped(plan, i)) continue;
    const kind = fields.kind(i);
    out.push([kind !== 0 ? KNOWN_NAMES[kind] : lowerName(fields.name(i)), fields.value(i)]);
  }
  for (const [name, value] of plan.append.fields) out.push([lowerName(name), value]);
  return out;
}

/** Names as lower-cased before, kept while there are few (targets send a handful). */
const lowered = new Map<string, string>();
const MAX_LOWERED = 512;

/** `name` in lower case, from the names lowered before while there are few. */
export function lowerName(name: string): string {
  let lower = lowered.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowered.size < MAX_LOWERED) lowered.set(name, lower);
  }
  return lower;
}

/**
 * Whether `headBytes` writes a head anew (and so needs its start line) rather than
 * copying the lines as received.
 */
export function writtenAnew(asReceived: boolean, edits: readonly HeaderEdit[]): boolean {
  return !asReceived || edits.length > 0;
}

/**
 * How `headBytes` writes a head: the start line it would be rewritten to, whether the
 * lines go on as received, the flow's edits, and a body slice to send in the same buffer.
 * Made once per message (a head is written once per request or response).
 */
export interface HeadOptions {
  /** The start line of a head written anew (see `writtenAnew`); unread when the lines are copied. */
  readonly startLine: string;
  /** The start line is already what goes out (an HTTP/1.1 message), so the lines may be copied as they came. */
  readonly asReceived: boolean;
  /** The flow's edits (set, add, remove), applied in order; any edit makes the head written anew. */
  readonly edits: readonly HeaderEdit[];
  /** A read holding body bytes to send after the head, in the same buffer. @default null */
  readonly body?: Uint8Array | null;
  /** Where the body bytes begin in `body`. @default 0 */
  readonly bodyFrom?: number;
  /** Where they end. @default body.length */
  readonly bodyTo?: number;
}

/** No edits: the head goes on as planned (shared, never modified). */
export const NO_EDITS: readonly HeaderEdit[] = [];

/**
 * A head to send, with body[bodyFrom, bodyTo) after it in the same buffer. Without
 * edits, and with the start line as received (`startLine` is only what it would be
 * rewritten to), the kept lines are copied as they came: one allocation, no decoding or
 * encoding. Otherwise the fields are written anew. `fields` must still be valid (no
 * read since it was parsed).
 */
export function headBytes(fields: Fields, plan: FieldPlan, options: HeadOptions): Uint8Array {
  const size = copiedHeadSize(fields, plan, options);
  if (size < 0) return headWrittenAnew(fields, plan, options);
  const out = allocBytes(size);
  fillCopiedHead(out, fields, plan, options);
  return out;
}

/**
 * The length of the head (and body bytes) `headBytes` would copy as it came, or -1 when
 * it is written anew (headWrittenAnew). With fillCopiedHead, a caller builds the head in
 * a buffer of its own (ReplayConn.outBuffer) instead of a new one.
 */
export function copiedHeadSize(fields: Fields, plan: FieldPlan, options: HeadOptions): number {
  if (writtenAnew(options.asReceived, options.edits)) return -1;
  const body = options.body ?? null;
  const bodyFrom = options.bodyFrom ?? 0;
  const bodyTo = options.bodyTo ?? (body === null ? 0 : body.length);
  let size = fields.start(fields.count) + 2 + bodyTo - bodyFrom;
  if (dropsAny(plan)) {
    const n = fields.count;
    for (let i = 0; i < n; i++) if (dropped(plan, i)) size -= fields.start(i + 1) - fields.start(i);
  }
  return size + plan.append.bytes.length;
}

/** headBytes' head written anew from the fields, with the body bytes after it. */
export function headWrittenAnew(fields: Fields, plan: FieldPlan, options: HeadOptions): Uint8Array {
  const body = options.body ?? null;
  const bodyFrom = options.bodyFrom ?? 0;
  const bodyTo = options.bodyTo ?? (body === null ? 0 : body.length);
  const head = serializeHead(options.startLine, applyEdits(plannedHeaders(fields.list, plan), options.edits));
  return body === null || bodyTo === bodyFrom ? head : concatBytes(head, body.subarray(bodyFrom, bodyTo));
}

/** Copies the head (and body bytes) copiedHeadSize measured into out[0, that size). */
export function fillCopiedHead(out: Uint8Array, fields: Fields, plan: FieldPlan, options: HeadOptions): void {
  const body = options.body ?? null;
  const bytes = fields.bytes;
  const end = fields.start(fields.count);
  const appendBytes = plan.append.bytes;
  // Runs of kept lines between dropped ones, each copied at once (the start line always goes).
  let o = 0;
  let run = 0;
  if (dropsAny(plan)) {
    const n = fields.count;
    for (let i = 0; i < n; i++) {
      if (!dropped(plan, i)) continue;
      o = copyBytes(out, o, bytes, run, fields.start(i));
      run = fields.start(i + 1);
    }
  }
  o = copyBytes(out, o, bytes, run, end);
  o = copyBytes(out, o, appendBytes, 0, appendBytes.length);
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  if (body !== null) copyBytes(out, o, body, options.bodyFrom ?? 0, options.bodyTo ?? body.length);
}

/** Writes a field name or value (one char per byte, as parsed) at `o`; returns the end. */
function putLatin1(out: Uint8Array, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
  return o;
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
  const out = allocBytes(s.length);
  if (!NON_ASCII.test(s)) {
    ENCODER.encodeInto(s, out);
    return out;
  }
  putLatin1(out, 0, s);
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
  408: "Request Timeout",
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

/** How a response of vane's own ends, and what it answers. */
export interface OwnResponseOptions {
  /** It is the connection's last: `Connection: close`. */
  readonly close: boolean;
  /** It answers a HEAD: the head goes, without the body. @default false */
  readonly headOnly?: boolean;
}

/** vane's answer, then the close. */
export const CLOSE: OwnResponseOptions = { close: true };
/** vane's answer, and the connection goes on. */
export const STAY_OPEN: OwnResponseOptions = { close: false };

const TEXT_PLAIN: Header[] = [["Content-Type", "text/plain; charset=utf-8"]];

/** A response vane makes itself: short text body, always framed by Content-Length. */
export function vaneResponse(code: number, text: string, options: OwnResponseOptions): Uint8Array {
  return customResponse(code, TEXT_PLAIN, text + "\n", options);
}

/**
 * A response from a flow's `respond` (or vane's own): the given headers, then the
 * framing vane owns (Content-Length, Connection). A HEAD request gets the head only.
 */
export function customResponse(code: number, headers: Header[], body: string, options: OwnResponseOptions): Uint8Array {
  const bodyBytes = new TextEncoder().encode(body);
  const all: Header[] = headers.filter(([n]) => !FRAMING.has(n.toLowerCase()));
  // 204 and 304 carry no body and no length (RFC 9110 §8.6).
  const bodiless = code === 204 || code === 304 || (code >= 100 && code < 200);
  if (!bodiless) all.push(["Content-Length", String(bodyBytes.length)]);
  if (options.close) all.push(["Connection", "close"]);
  const head = serializeHead(`HTTP/1.1 ${code} ${reasonPhrase(code)}`, all);
  if (options.headOnly === true || bodiless) return head;
  return concatBytes(head, bodyBytes);
}

/** Fields vane writes itself on its own responses. */
const FRAMING = new Set(["content-length", "transfer-encoding", "connection"]);

/** One change a flow makes to headers, in order; `name` is lowercased. */
export type HeaderEdit =
  | { op: "set"; name: string; value: string }
  /** A second value for a name the same set-headers just set (two Set-Cookie fields). */
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
