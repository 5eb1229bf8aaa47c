/**
 * IP literals as bytes, and CIDR ranges over them, for `--accept-proxy CIDR[,CIDR]`:
 * only peers inside one of the ranges may send a PROXY protocol header. Validation
 * of the text reuses isIPv4/isIPv6 from target.ts so every flag agrees on what an
 * IP address looks like (no leading zeros in IPv4, no zone ids in IPv6).
 */
import { ConfigError } from "./errors.ts";
import { isIPv4, isIPv6, q } from "./target.ts";

export interface Cidr {
  family: 4 | 6;
  /** The network address with host bits cleared: 4 or 16 bytes. */
  bytes: Uint8Array;
  prefix: number;
  /** The text as the operator wrote it, for messages and status output. */
  raw: string;
}

const expected = (text: string) =>
  new ConfigError(`expected an IP address or CIDR like 10.0.0.0/8 or fd00::/8; got ${q(text)}`);

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

/** An IP literal (IPv4, or IPv6 without brackets) as 4 or 16 bytes; null if it is not one. */
export function parseIpBytes(address: string): Uint8Array | null {
  if (isIPv4(address)) return ipv4Bytes(address);
  if (!isIPv6(address)) return null;

  // isIPv6 has checked the shape, so from here on the text is well formed.
  let text = address;
  let tail: Uint8Array | null = null;
  if (text.includes(".")) {
    // An IPv4 tail ("::ffff:1.2.3.4") fills the last two groups.
    const lastColon = text.lastIndexOf(":");
    tail = ipv4Bytes(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const [head, rest] = text.split("::");
  const groupsOf = (h: string | undefined) => (h ? h.split(":").map((g) => parseInt(g, 16)) : []);
  const left = groupsOf(head);
  const right = groupsOf(rest);
  // "::" stands for however many zero groups bring the total to eight.
  const groups = rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];

  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** True for ::ffff:a.b.c.d, the form dual-stack sockets give IPv4 peers. */
export function isIPv4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
}

/**
 * Formats 4 or 16 bytes as text. IPv6 follows RFC 5952: lowercase, no leading zeros,
 * the longest run of two or more zero groups (the first on a tie) becomes "::".
 * IPv4-mapped addresses use the mixed notation RFC 5952 section 5 recommends,
 * "::ffff:1.2.3.4", which is also what Node, Deno and Bun report for such peers.
 */
export function formatIpBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (isIPv4Mapped(bytes)) return "::ffff:" + bytes.subarray(12).join(".");

  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);

  // Find the longest run of zero groups; a strict ">" keeps the first on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }

  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  // A lone zero group stays "0": RFC 5952 forbids "::" for a single group.
  if (bestLen < 2) return hex(groups);
  return hex(groups.slice(0, bestStart)) + "::" + hex(groups.slice(bestStart + bestLen));
}

/**
 * One range: `ADDRESS/PREFIX` or a bare address (a single host, /32 or /128).
 * Host bits beyond the prefix are allowed and cleared, as iptables does, so
 * "10.1.2.3/8" means 10.0.0.0/8 rather than being an error.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIpBytes(addressText);
  if (!bytes) throw expected(text);

  const maxPrefix = bytes.length * 8;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    // Decimal without leading zeros: "/08" is more likely a typo than a prefix.
    prefix = /^(0|[1-9]\d{0,2})$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix <= maxPrefix)) throw expected(text);
  }

  return { family: bytes.length === 4 ? 4 : 6, bytes: mask(bytes, prefix), prefix, raw: text };
}

/** Clears every bit after the first `prefix` bits. */
function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] &= (0xff00 >> keep) & 0xff;
  }
  return out;
}

/** A comma-separated list of ranges; spaces around items are ignored, empty items are not. */
export function parseCidrList(text: string): Cidr[] {
  if (text.trim() === "") throw expected(text);
  return text.split(",").map((item) => {
    const t = item.trim();
    if (t === "") throw expected(text);
    return parseCidr(t);
  });
}

/**
 * Whether the IP literal `address` falls inside `c`. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, what a dual-stack listener reports for IPv4 peers) is matched
 * against IPv4 ranges as a.b.c.d, so "10.0.0.0/8" works whichever way the socket is
 * bound. A plain IPv4 address never matches an IPv6 range. Never throws: text that
 * is not an IP literal is simply not inside any range.
 */
export function cidrContains(c: Cidr, address: string): boolean {
  let bytes = parseIpBytes(address);
  if (!bytes) return false;
  if (c.family === 4 && isIPv4Mapped(bytes)) bytes = bytes.subarray(12);
  if (bytes.length !== c.bytes.length) return false;
  return mask(bytes, c.prefix).every((b, i) => b === c.bytes[i]);
}
