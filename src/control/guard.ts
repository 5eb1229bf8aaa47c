/**
 * Who may talk to the control endpoint. Two checks, both plain functions of a request's
 * Host, Origin and peer address so they can be tested without a server:
 *
 * - Host: a web page can make a browser send requests to 127.0.0.1 under a DNS name of
 *   its own (DNS rebinding) and read the answers as its own origin. A request must name
 *   the endpoint by its address (or `localhost`), as Jupyter's `local_hostnames` and
 *   geth's `--http.vhosts` do against the same attack.
 * - Admin calls without a token: only from loopback, and not from a page of another
 *   site (a browser sends an Origin with every POST, so a page cannot hide where it is).
 */
import type { SocketAddress } from "../runtime/types.ts";
import { formatIpBytes, isIPv4Mapped, parseIpBytes } from "../config/cidr.ts";
import { formatAddress } from "../config/address.ts";
import { q } from "../config/target.ts";

/** What to set to allow admin calls from anywhere: said in every refusal. */
export const TOKEN_HINT = "set --admin-token-file FILE, VANE_ADMIN_TOKEN or control.token-file";

/** `HOST[:PORT]` as a Host header writes it; null when it is not that shape. */
function splitHost(header: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]\s]+))(?::(\d{1,5}))?$/.exec(header);
  if (!m) return null;
  const port = m[3] === undefined ? 80 : Number(m[3]);
  return port > 65535 ? null : { host: (m[1] ?? m[2]).toLowerCase(), port };
}

/** An IP literal in one canonical text (IPv4-mapped IPv6 as IPv4); null for a name. */
function canonicalIp(text: string): string | null {
  const bytes = parseIpBytes(text);
  if (!bytes) return null;
  return isIPv4Mapped(bytes) ? formatIpBytes(bytes.subarray(12)) : formatIpBytes(bytes);
}

/** 127.0.0.0/8, ::1, and IPv4 loopback as a dual-stack socket reports it. */
export function isLoopback(address: string): boolean {
  const ip = canonicalIp(address);
  return ip !== null && (ip === "::1" || ip.startsWith("127."));
}

const isWildcard = (ip: string) => ip === "0.0.0.0" || ip === "::";

/** Bound names that stand for an address: `localhost`, and no host at all (every address). */
const BOUND_NAMES = new Map([["localhost", "127.0.0.1"], ["", "0.0.0.0"]]);

/**
 * Why a request whose Host header is `header` is not for the endpoint bound at
 * `bound`, or null when it is. Accepted: the bound `IP:PORT` (or the name it was bound
 * by); `localhost:PORT` when bound to loopback; any IP literal or `localhost` with the
 * port when bound to all addresses (0.0.0.0, ::). Other DNS names are refused: they
 * are what a rebinding uses.
 */
export function hostRefusal(header: string | undefined, bound: SocketAddress): string | null {
  const want = formatAddress(bound.hostname, bound.port);
  const refuse = (why: string) => `${why}; the status endpoint answers only to its address, e.g. http://${want}/`;
  if (header === undefined || header === "") return refuse("the request has no Host header");
  const got = splitHost(header);
  if (!got) return refuse(`Host ${q(header)} is not HOST:PORT`);
  const boundIp = canonicalIp(bound.hostname) ?? BOUND_NAMES.get(bound.hostname.toLowerCase()) ?? null;
  const ip = canonicalIp(got.host);
  const named = got.host === bound.hostname.toLowerCase() ||
    (boundIp !== null &&
      (got.host === "localhost"
        ? isWildcard(boundIp) || isLoopback(boundIp)
        : ip !== null && (isWildcard(boundIp) || ip === boundIp)));
  if (!named) return refuse(`Host ${q(header)} does not name this endpoint (${want}), as a DNS rebinding would`);
  if (got.port !== bound.port) return refuse(`Host ${q(header)} names port ${got.port}, not ${bound.port}`);
  return null;
}

/**
 * Why an admin call (any method but GET and HEAD) is refused when no token is set, or
 * null when it may go on: it must come from loopback and carry no Origin, or the
 * endpoint's own (`http://` + its Host).
 */
export function adminRefusal(
  peer: SocketAddress | null,
  origin: string | undefined,
  host: string | undefined,
): string | null {
  if (peer === null || !isLoopback(peer.hostname)) {
    const from = peer === null ? "an unknown address" : peer.hostname;
    return `no admin token is set, so admin calls are taken only from loopback; this one came from ${from} (${TOKEN_HINT})`;
  }
  if (origin !== undefined && !sameOrigin(origin, host)) {
    return `no admin token is set, so admin calls from a web page of another site are refused; got Origin ${
      q(origin)
    } (${TOKEN_HINT})`;
  }
  return null;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    // An Origin is a serialized origin, so the text compares as is; "null" (a sandboxed
    // page, a file) never equals one.
    return new URL(`http://${host}`).origin === origin;
  } catch {
    return false;
  }
}
