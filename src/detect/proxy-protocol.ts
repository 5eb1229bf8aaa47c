/**
 * The PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy's
 * proxy-protocol.txt specifies it. A load balancer in front of vane sends one
 * header before the client's bytes to say who the client really is.
 *
 * parseProxyHeader looks at the first bytes of a connection and says whether more
 * are needed, whether there is no header at all (pass everything through), or how
 * many bytes the header takes. It never throws: the bytes come from the network,
 * and a bad header is a reason to close the connection, not a crash.
 *
 * Addresses come back as text: IPv4 dotted quads and RFC 5952 IPv6
 * ("2001:db8::1"), with IPv4-mapped addresses as "::ffff:1.2.3.4" (see formatIpBytes).
 */
import { formatIpBytes, parseIpBytes } from "../config/cidr.ts";

export interface ProxyAddresses {
  family: "tcp4" | "tcp6" | "udp4" | "udp6";
  source: { address: string; port: number };
  destination: { address: string; port: number };
}

export type ProxyHeaderResult =
  | { status: "need-more" }
  /** Not a PROXY header at all: pass the bytes through unchanged. */
  | { status: "none" }
  /** `addresses` is null for v2 LOCAL, v1 UNKNOWN and families without IP addresses; `length` is the header to strip. */
  | { status: "ok"; version: 1 | 2; addresses: ProxyAddresses | null; length: number }
  | { status: "error"; reason: string };

/** The v2 header is 16 bytes plus a 16-bit length, so this bounds what a caller must buffer. */
export const MAX_PROXY_HEADER_BYTES = 16 + 65535;

/** The spec's limit for a v1 line: "PROXY UNKNOWN" with two full IPv6 addresses and ports, CRLF included. */
const V1_MAX_BYTES = 107;
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** Chosen by the spec to contain bytes that cannot start HTTP, TLS or SSH. */
const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V2_HEADER_BYTES = 16;

const needMore = (): ProxyHeaderResult => ({ status: "need-more" });
const error = (reason: string): ProxyHeaderResult => ({ status: "error", reason });

/** Compares `buf` with the start of `sig`: "match" only once all of `sig` is there. */
function matchPrefix(buf: Uint8Array, sig: Uint8Array): "match" | "partial" | "no" {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return "no";
  return buf.length >= sig.length ? "match" : "partial";
}

export function parseProxyHeader(buf: Uint8Array): ProxyHeaderResult {
  // The two signatures differ in their first byte ("P" vs CR), so at most one applies.
  const v2 = matchPrefix(buf, V2_SIGNATURE);
  if (v2 === "match") return parseV2(buf);
  const v1 = matchPrefix(buf, V1_PREFIX);
  if (v1 === "match") return parseV1(buf);
  if (v1 === "partial" || v2 === "partial") return needMore();
  return { status: "none" };
}

// ---------------------------------------------------------------- version 1

const PORT_RE = /^(0|[1-9]\d{0,4})$/;

function parseV1(buf: Uint8Array): ProxyHeaderResult {
  // Scan for CRLF within the spec's bound. The line is printable ASCII only, so a
  // stray byte fails at once instead of after waiting for 107 bytes.
  let lf = -1;
  const end = Math.min(buf.length, V1_MAX_BYTES);
  for (let i = V1_PREFIX.length; i < end && lf < 0; i++) {
    const b = buf[i];
    if (b === 0x0a) return error("v1 header line ends in LF without CR");
    if (b === 0x0d) {
      if (i + 1 >= buf.length) break; // the LF may still be on its way
      if (buf[i + 1] !== 0x0a) return error("v1 header has CR without LF");
      lf = i + 1;
    } else if (b < 0x20 || b > 0x7e) {
      return error("v1 header contains a non-printable byte");
    }
  }
  // Either the LF fell just past the bound, or the bound is reached with no CRLF.
  const tooLong = lf >= V1_MAX_BYTES || (lf < 0 && buf.length >= V1_MAX_BYTES);
  if (tooLong) return error(`v1 header longer than ${V1_MAX_BYTES} bytes without CRLF`);
  if (lf < 0) return needMore();

  const line = String.fromCharCode(...buf.subarray(0, lf - 1));
  const length = lf + 1;

  // The spec lets a sender put anything after UNKNOWN; the receiver ignores it.
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") return { status: "ok", version: 1, addresses: null, length };
  if (parts[1] !== "TCP4" && parts[1] !== "TCP6") return error(`v1 unknown protocol ${JSON.stringify(parts[1])}`);
  // Splitting on single spaces turns a double space into an empty field, caught here.
  if (parts.length !== 6 || parts.some((p) => p === "")) {
    return error("v1 header must be PROXY, protocol, two addresses and two ports separated by single spaces");
  }

  const [, proto, srcText, dstText, srcPortText, dstPortText] = parts;
  const size = proto === "TCP4" ? 4 : 16;
  const src = parseIpBytes(srcText);
  const dst = parseIpBytes(dstText);
  if (!src || src.length !== size) return error(`v1 source ${JSON.stringify(srcText)} is not an ${proto} address`);
  if (!dst || dst.length !== size) return error(`v1 destination ${JSON.stringify(dstText)} is not an ${proto} address`);
  const srcPort = parseV1Port(srcPortText);
  const dstPort = parseV1Port(dstPortText);
  if (srcPort < 0) return error(`v1 source port ${JSON.stringify(srcPortText)} is not 0..65535`);
  if (dstPort < 0) return error(`v1 destination port ${JSON.stringify(dstPortText)} is not 0..65535`);

  return {
    status: "ok",
    version: 1,
    addresses: {
      family: proto === "TCP4" ? "tcp4" : "tcp6",
      source: { address: formatIpBytes(src), port: srcPort },
      destination: { address: formatIpBytes(dst), port: dstPort },
    },
    length,
  };
}

/** Decimal without leading zeros (the spec forbids them), or -1. */
function parseV1Port(text: string): number {
  const port = PORT_RE.test(text) ? Number(text) : -1;
  return port <= 65535 ? port : -1;
}

// ---------------------------------------------------------------- version 2

/** Family/protocol byte: address family in the high nibble, transport in the low one. */
const V2_FAMILIES: Record<number, { family: ProxyAddresses["family"]; size: number } | null> = {
  0x00: null, // UNSPEC: the sender has no addresses to give
  0x11: { family: "tcp4", size: 4 },
  0x12: { family: "udp4", size: 4 },
  0x21: { family: "tcp6", size: 16 },
  0x22: { family: "udp6", size: 16 },
  0x31: null, // AF_UNIX stream: paths, not IP addresses; nothing vane can use
  0x32: null, // AF_UNIX datagram
};

function parseV2(buf: Uint8Array): ProxyHeaderResult {
  if (buf.length < V2_HEADER_BYTES) return needMore();
  const verCmd = buf[12];
  const famProto = buf[13];
  const bodyLength = (buf[14] << 8) | buf[15];
  const length = V2_HEADER_BYTES + bodyLength;

  if (verCmd >> 4 !== 2) return error(`v2 version ${verCmd >> 4} is not 2`);
  const command = verCmd & 0x0f;
  if (command !== 0 && command !== 1) return error(`v2 command ${command} is neither LOCAL (0) nor PROXY (1)`);

  // LOCAL (health checks from the balancer itself): the spec says to discard the
  // whole block, family included, and use the real connection endpoints.
  if (command === 0) return buf.length < length ? needMore() : { status: "ok", version: 2, addresses: null, length };

  if (!(famProto in V2_FAMILIES)) return error(`v2 address family/protocol 0x${famProto.toString(16)} is unknown`);
  const fam = V2_FAMILIES[famProto];
  // Checked before waiting for the body, so a short length fails at once.
  const addressBlock = fam ? fam.size * 2 + 4 : 0;
  if (bodyLength < addressBlock) {
    return error(`v2 length ${bodyLength} is shorter than the ${addressBlock}-byte address block`);
  }
  if (buf.length < length) return needMore();
  if (!fam) return { status: "ok", version: 2, addresses: null, length };

  // Layout: source address, destination address, source port, destination port;
  // anything after that up to `length` is TLVs, which vane does not use.
  const at = V2_HEADER_BYTES;
  const s = fam.size;
  const port = (i: number) => (buf[i] << 8) | buf[i + 1];
  return {
    status: "ok",
    version: 2,
    addresses: {
      family: fam.family,
      source: { address: formatIpBytes(buf.subarray(at, at + s)), port: port(at + 2 * s) },
      destination: { address: formatIpBytes(buf.subarray(at + s, at + 2 * s)), port: port(at + 2 * s + 2) },
    },
    length,
  };
}

// ---------------------------------------------------------------- encoding

/** Validates one endpoint against the family's address size; throws with a clear message. */
function endpoint(
  which: string,
  e: { address: string; port: number },
  size: number,
): { bytes: Uint8Array; port: number } {
  const bytes = parseIpBytes(e.address);
  if (!bytes || bytes.length !== size) {
    throw new Error(
      `PROXY header ${which} address ${JSON.stringify(e.address)} is not an IPv${size === 4 ? 4 : 6} address`,
    );
  }
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) {
    throw new Error(`PROXY header ${which} port ${e.port} is not an integer 0..65535`);
  }
  return { bytes, port: e.port };
}

const sizeOf = (family: ProxyAddresses["family"]) => (family.endsWith("4") ? 4 : 16);

/** A v1 line. v1 has no UDP, so udp4/udp6 throw; null gives "PROXY UNKNOWN\r\n". */
export function encodeProxyV1(a: ProxyAddresses | null): Uint8Array {
  if (a === null) return new TextEncoder().encode("PROXY UNKNOWN\r\n");
  if (a.family !== "tcp4" && a.family !== "tcp6") {
    throw new Error(`PROXY v1 cannot carry family ${JSON.stringify(a.family)}; only tcp4 and tcp6`);
  }
  const size = sizeOf(a.family);
  const src = endpoint("source", a.source, size);
  const dst = endpoint("destination", a.destination, size);
  // Re-formatted from bytes, so "::FFFF:0:1" and the like go out canonical.
  const line = `PROXY ${a.family.toUpperCase()} ${formatIpBytes(src.bytes)} ${
    formatIpBytes(dst.bytes)
  } ${src.port} ${dst.port}\r\n`;
  return new TextEncoder().encode(line);
}

/** A v2 header without TLVs. null gives a LOCAL command with an UNSPEC family and no addresses. */
export function encodeProxyV2(a: ProxyAddresses | null): Uint8Array {
  if (a === null) {
    const out = new Uint8Array(V2_HEADER_BYTES);
    out.set(V2_SIGNATURE);
    out[12] = 0x20; // version 2, LOCAL
    return out;
  }
  const famByte = { tcp4: 0x11, udp4: 0x12, tcp6: 0x21, udp6: 0x22 }[a.family];
  if (famByte === undefined) throw new Error(`PROXY v2 cannot carry family ${JSON.stringify(a.family)}`);
  const size = sizeOf(a.family);
  const src = endpoint("source", a.source, size);
  const dst = endpoint("destination", a.destination, size);

  const bodyLength = size * 2 + 4;
  const out = new Uint8Array(V2_HEADER_BYTES + bodyLength);
  const view = new DataView(out.buffer);
  out.set(V2_SIGNATURE);
  out[12] = 0x21; // version 2, PROXY
  out[13] = famByte;
  view.setUint16(14, bodyLength); // DataView is big-endian by default, as the spec wants
  out.set(src.bytes, 16);
  out.set(dst.bytes, 16 + size);
  view.setUint16(16 + 2 * size, src.port);
  view.setUint16(18 + 2 * size, dst.port);
  return out;
}
