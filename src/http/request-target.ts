/**
 * The request-target (RFC 9112 §3.2), parsed once into the one value that routing, the
 * flow and the forwarder all read, so they cannot disagree about where a request goes.
 *
 * A path rule (`/admin` deny) is only as good as the path it is matched against: a
 * backend that serves `/a/../admin`, `//admin` or `/%61dmin` as `/admin` would be
 * reached past the rule. So the path is normalised as RFC 3986 §6.2.2 says (percent-
 * encoded unreserved bytes decoded, hex in upper case, `.` and `..` segments removed)
 * and duplicate slashes are merged, as nginx's `merge_slashes` does; and the target
 * receives that normalised form, so what matched is what is served. Encodings that
 * a backend may read two ways (`%2F` and `%5C`, a slash or not; a raw `\`; `..;`, a
 * dot segment to Tomcat) are refused by default (`http.encoded-slash: reject`).
 */
import { normalizeHost, type RequestHead } from "../detect/http-head.ts";
import type { HttpConfig } from "../config/model.ts";
import { applyEdits, type FieldPlan, type HeaderEdit, plannedHeaders, serializeHead } from "./headers.ts";

/** Where a request goes, as routing, the flow and the forwarder read it. */
export interface RequestTarget {
  /** Host (or an absolute or authority target's host), lowercased, no port; null when absent. */
  host: string | null;
  /** The normalised path ("*" for `OPTIONS *`, "" for CONNECT). */
  path: string;
  /** After "?", as received. */
  query: string;
  /**
   * The target as the upstream receives it: as received when that is already normal
   * (the usual request), else the normalised origin form.
   */
  forward: string;
  /**
   * An absolute-form (or CONNECT's authority-form) target's `host[:port]`, without
   * userinfo: it replaces any Host field on the way upstream (RFC 9112 §3.2.2). Else null.
   */
  authority: string | null;
}

export type TargetError = { error: number; reason: string };

/** What `encoded-slash: reject` refuses, and what the other settings leave alone. */
type SlashPolicy = HttpConfig["encodedSlash"];

/**
 * parseTarget for one connection's requests: an origin-form target the same as the
 * last one, with the same Host, is the same RequestTarget, given again (nobody modifies
 * one), for a client that asks for the same path over and over.
 */
export class TargetMemo {
  #last: RequestTarget | null = null;
  #lastText = "";

  parse(head: RequestHead, slashes: SlashPolicy): RequestTarget | TargetError {
    const last = this.#last;
    if (last !== null && head.target === this.#lastText && head.host === last.host) return last;
    const target = parseTarget(head, slashes);
    if (!("error" in target) && head.target.charCodeAt(0) === SLASH) {
      this.#last = target;
      this.#lastText = head.target;
    }
    return target;
  }
}

/**
 * The request's target, or a 400 that says what is wrong with it. Never throws.
 * `slashes`: whether ambiguous encodings of a separator are refused or kept as data.
 */
export function parseTarget(head: RequestHead, slashes: SlashPolicy): RequestTarget | TargetError {
  const target = head.target;
  const c0 = target.charCodeAt(0);
  if (c0 === SLASH) return originForm(target, head.host, null, slashes);
  if (head.method === "CONNECT") return connectForm(target);
  if (target === "*") {
    if (head.method !== "OPTIONS") return bad("asterisk-form target is only for OPTIONS");
    return { host: head.host, path: "*", query: "", forward: target, authority: null };
  }
  const scheme = schemeLength(target);
  if (scheme === 0) return bad("request-target must begin with / or http://");
  const end = authorityEnd(target, scheme);
  const authority = target.slice(scheme, end);
  if (authority.includes("@")) return bad("userinfo in request-target");
  const host = normalizeHost(authority);
  if (host === null || host === "") return bad("invalid authority in request-target");
  const rest = target.slice(end);
  const parsed = originForm(
    rest === "" || rest.charCodeAt(0) === QUESTION ? "/" + rest : rest,
    host,
    authority,
    slashes,
  );
  if ("error" in parsed) return parsed;
  // The upstream gets origin form (parsed.forward), with the authority as its Host.
  return parsed;
}

/** CONNECT's `host:port` (RFC 9110 §9.3.6). */
function connectForm(target: string): RequestTarget | TargetError {
  const colon = target.lastIndexOf(":");
  if (colon <= 0 || target.includes("@") || target.includes("/")) return bad("CONNECT needs a host:port target");
  const host = normalizeHost(target);
  if (host === null || host === "" || !/^\d{1,5}$/.test(target.slice(colon + 1))) {
    return bad("CONNECT needs a host:port target");
  }
  return { host, path: "", query: "", forward: target, authority: target };
}

function bad(reason: string): TargetError {
  return { error: 400, reason };
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const SEMICOLON = 0x3b;

/** An origin-form target (`/path?query`), normalised for matching and forwarding. */
function originForm(
  target: string,
  host: string | null,
  authority: string | null,
  slashes: SlashPolicy,
): RequestTarget | TargetError {
  const q = normalUpTo(target);
  if (q === ABNORMAL) return normalizedForm(target, host, authority, slashes);
  if (q === target.length) return { host, path: target, query: "", forward: target, authority };
  if (target.indexOf("#", q) >= 0) return bad("fragment in request-target");
  return { host, path: target.slice(0, q), query: target.slice(q + 1), forward: target, authority };
}

/** A target whose path needs normalising (or refusing). */
function normalizedForm(
  target: string,
  host: string | null,
  authority: string | null,
  slashes: SlashPolicy,
): RequestTarget | TargetError {
  if (target.indexOf("#") >= 0) return bad("fragment in request-target");
  const q = target.indexOf("?");
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q + 1);
  const path = normalizePath(rawPath, slashes);
  if (typeof path !== "string") return path;
  const forward = path === rawPath ? target : q < 0 ? path : `${path}?${query}`;
  return { host, path, query, forward, authority };
}

const ABNORMAL = -1;

/**
 * Where the usual target's path ends (its "?", or the end), in one pass with no
 * allocation; ABNORMAL when the path has anything to normalise or refuse: "%", "\",
 * ";", "#", or an empty, "." or ".." segment.
 */
function normalUpTo(target: string): number {
  const n = target.length;
  for (let i = 0; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION) return i;
    if (c === PERCENT || c === BACKSLASH || c === SEMICOLON || c === HASH) return ABNORMAL;
    if (c !== SLASH || i + 1 === n) continue;
    const d = target.charCodeAt(i + 1);
    if (d === SLASH) return ABNORMAL;
    if (d !== DOT) continue;
    // "/." then "/", "?", "." (then "/", "?" or the end) or the end is a dot segment.
    const e = i + 2 < n ? target.charCodeAt(i + 2) : QUESTION;
    if (e === SLASH || e === QUESTION) return ABNORMAL;
    if (e === DOT) {
      const f = i + 3 < n ? target.charCodeAt(i + 3) : QUESTION;
      if (f === SLASH || f === QUESTION) return ABNORMAL;
    }
  }
  return n;
}

const HEX = "0123456789ABCDEF";

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function unreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d ||
    c === DOT || c === 0x5f || c === 0x7e;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/**
 * `path` (which begins with "/") normalised: percent-encoded unreserved bytes decoded
 * and other escapes upper-cased; then empty, "." and ".." segments removed (".." above
 * the root stays at the root, as RFC 3986 §5.2.4 says). A trailing slash is kept.
 */
export function normalizePath(path: string, slashes: SlashPolicy = "reject"): string | TargetError {
  const segments: string[] = [];
  let seg = "";
  let endsInSlash = false;
  const n = path.length;
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : SLASH;
    if (c === SLASH) {
      if (slashes === "reject" && isDotParam(seg)) return bad("ambiguous path: dot segment with parameters");
      if (seg === "..") segments.pop();
      else if (seg !== "." && seg !== "") segments.push(seg);
      // "/a/", "/a/." and "/a/b/.." all end in a directory.
      if (i === n) endsInSlash = seg === "" || seg === "." || seg === "..";
      seg = "";
      continue;
    }
    if (c === HASH) return bad("fragment in request-target");
    if (c === BACKSLASH) {
      if (slashes === "reject") return bad("ambiguous path: backslash");
      seg += "\\";
      continue;
    }
    if (c !== PERCENT) {
      seg += path[i];
      continue;
    }
    const a = i + 1 < n ? hexValue(path.charCodeAt(i + 1)) : -1;
    const b = i + 2 < n ? hexValue(path.charCodeAt(i + 2)) : -1;
    if (a < 0 || b < 0) return bad("invalid percent-encoding in path");
    const byte = a * 16 + b;
    i += 2;
    if (byte === 0) return bad("encoded NUL in path");
    if (byte === SLASH || byte === BACKSLASH) {
      if (slashes === "reject") return bad("ambiguous path: encoded slash");
    } else if (unreserved(byte)) {
      seg += String.fromCharCode(byte);
      continue;
    }
    seg += "%" + HEX[a] + HEX[b];
  }
  const joined = "/" + segments.join("/");
  return endsInSlash && segments.length > 0 ? joined + "/" : joined;
}

/** ".;x" or "..;x": Tomcat and Jetty read these as "." and "..". */
function isDotParam(seg: string): boolean {
  return seg.startsWith(".;") || seg.startsWith("..;");
}

/** The length of an absolute-form target's scheme and "://" (http or https, any case), else 0. */
function schemeLength(target: string): number {
  const lower = target.slice(0, 8).toLowerCase();
  return lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : 0;
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
 * The head of a request that came without Host (HTTP/1.0, origin form), for an
 * upstream named `authority`. Its Host names the target, as nginx and Caddy do: the
 * one the flow set, else the upstream's (known once a lease is in hand). Made from
 * strings: the head's bytes may be gone by then.
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
  return (authority) => serializeHead(startLine, [["Host", authority], ...headers]);
}
