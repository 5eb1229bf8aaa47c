/**
 * parseProxyHeader (src/detect/proxy-protocol.ts). Inputs are v1 lines (TCP4, TCP6,
 * UNKNOWN and wrong protocols; good, mapped and malformed addresses; ports with
 * leading zeros, signs and out of range; doubled and trailing spaces; lines padded to
 * the 107-byte bound and past it) and v2 binary headers (LOCAL and PROXY, every known
 * family and unknown ones, address blocks with TLVs whose lengths can lie, AF_UNIX
 * paths, body lengths too short or long), both followed by client bytes, then byte
 * mutations. A header built valid must be accepted with its exact length and ports.
 */
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader } from "../../../src/detect/proxy-protocol.ts";
import { concat, hex, latin1, latin1Json, u16 } from "../bytes.ts";
import { checkIncremental } from "../incremental.ts";
import { block, lieAboutOneLength, type Part, serialize } from "../lv.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";

export interface ProxyInput {
  bytes: Uint8Array;
  expect?: { version: 1 | 2; length: number; ports: [number, number] | null };
}

const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);

const V4 = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "192.168.0.1", "10.0.0.1"];
const V6 = ["::1", "::", "2001:db8::1", "fe80::1:2:3:4", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "2001:DB8::A"];
const BAD_ADDRESSES = [
  "1.2.3.256",
  "01.2.3.4",
  "1.2.3",
  "1.2.3.4.5",
  "1..3.4",
  "",
  "[::1]",
  "1::2::3",
  ":::",
  "::ffff:1.2.3.256",
  "1:2:3:4:5:6:7:8:9",
  "g::1",
  "localhost",
  "1.2.3.4 ",
  "-1.2.3.4",
  "0x1.2.3.4",
  "::1%eth0",
  "a".repeat(50),
];
const PORTS = ["0", "1", "80", "443", "65535"];
const BAD_PORTS = ["65536", "01", "-1", "", "+80", "99999", "8080a", "1e3", " 80", "0x50", "000"];
const CLIENT_BYTES = ["", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\x16\x03\x01\x00\x05", "SSH-2.0-x\r\n", "PROXY "];

function v1(rng: Rng): ProxyInput {
  const proto = rng.chance(0.9)
    ? rng.pick(["TCP4", "TCP6", "UNKNOWN"])
    : rng.pick(["UDP4", "tcp4", "TCP", "", "TCP64"]);
  let valid = ["TCP4", "TCP6", "UNKNOWN"].includes(proto);
  const family = proto === "TCP6" ? V6 : V4;
  const addr = () => {
    if (rng.chance(0.93)) return rng.pick(rng.chance(0.9) ? family : family === V4 ? V6 : V4);
    return rng.pick(BAD_ADDRESSES);
  };
  const port = () => (rng.chance(0.95) ? rng.pick(PORTS) : rng.pick(BAD_PORTS));
  const fields = [addr(), addr(), port(), port()];
  if (proto !== "UNKNOWN") {
    for (const a of fields.slice(0, 2)) if (!family.includes(a)) valid = false;
    for (const p of fields.slice(2)) if (!PORTS.includes(p)) valid = false;
  }
  const sep = () => (rng.chance(0.97) ? " " : rng.pick(["  ", "\t", "", " \x00"]));
  let line = "PROXY " + proto;
  if (proto !== "UNKNOWN" || rng.chance(0.5)) {
    const n = rng.chance(0.95) ? 4 : rng.range(0, 6);
    if (n !== 4 && proto !== "UNKNOWN") valid = false;
    for (let i = 0; i < n; i++) {
      const s = sep();
      // After UNKNOWN anything printable may follow, but only after a space.
      if (s !== " " && (proto !== "UNKNOWN" || i === 0)) valid = false;
      if (/[^\x20-\x7e]/.test(s)) valid = false;
      line += s + (fields[i] ?? "x");
    }
  }
  if (rng.chance(0.03)) {
    line += " ";
    if (proto !== "UNKNOWN") valid = false;
  }
  if (rng.chance(0.03)) {
    // Pad to the 107-byte bound (CRLF included) and around it.
    const target = rng.range(103, 110) - 2;
    if (line.length + 1 < target) line += " " + "z".repeat(target - line.length - 1);
    if (proto !== "UNKNOWN") valid = false;
  }
  const end = rng.chance(0.97) ? "\r\n" : rng.pick(["\n", "\r", "", "\r\r\n"]);
  if (end !== "\r\n") valid = false;
  const header = line + end;
  if (header.length > 107) valid = false;
  const bytes = latin1(header + rng.pick(CLIENT_BYTES));
  const ports: [number, number] | null = proto === "UNKNOWN" ? null : [Number(fields[2]), Number(fields[3])];
  return { bytes, expect: valid ? { version: 1, length: header.length, ports } : undefined };
}

const FAMILIES = [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32];
const ODD_FAMILIES = [0x01, 0x10, 0x13, 0x20, 0x23, 0x30, 0x33, 0x41, 0xff];

function addressBytes(family: number): number {
  const f = family >> 4;
  return f === 1 ? 4 : f === 2 ? 16 : f === 3 ? 108 : 0;
}

function tlvs(rng: Rng): Part[] {
  const out: Part[] = [];
  const n = rng.small(4);
  for (let i = 0; i < n; i++) {
    const type = rng.pick([0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x21, 0x22, 0x30, 0xe0, rng.int(256)]);
    const value: Part[] = type === 0x20
      ? [Uint8Array.of(rng.int(8)), rng.bytes(4), ...tlvs(rng)] // PP2_TYPE_SSL: client, verify, sub-TLVs
      : [rng.bytes(rng.pick([0, 1, 4, 16, 100, 255]))];
    out.push(Uint8Array.of(type), block(2, value));
  }
  return out;
}

function v2(rng: Rng): ProxyInput {
  const command = rng.chance(0.95) ? rng.pick([0, 1, 1, 1]) : rng.range(2, 15);
  const version = rng.chance(0.97) ? 2 : rng.pick([0, 1, 3, 15]);
  const family = rng.chance(0.93) ? rng.pick(FAMILIES) : rng.pick(ODD_FAMILIES);
  let valid = version === 2 && command <= 1 && (command === 0 || FAMILIES.includes(family));
  const size = addressBytes(family);
  const sport = rng.int(65536);
  const dport = rng.int(65536);
  const inner: Part[] = [];
  if (size > 0) inner.push(rng.bytes(size), rng.bytes(size), u16(sport), u16(dport));
  if (rng.chance(0.02)) {
    inner.length = 0; // no address block at all (TLVs may then be read as addresses)
    if (size > 0) valid = false;
  }
  if (rng.chance(0.4)) inner.push(...tlvs(rng));
  const body = block(2, inner);
  if (rng.chance(0.3)) {
    lieAboutOneLength(rng, [body]);
    // A TLV's lie is not read; the body's own length is.
    if (body.lie !== undefined) valid = false;
  }
  const headBody = serialize(body);
  const bodyLength = (headBody[0] << 8) | headBody[1];
  const header = concat([V2_SIGNATURE, Uint8Array.of((version << 4) | command, family), headBody]);
  const length = 16 + bodyLength;
  // The address block is only required (and read) for the IP families; AF_UNIX is not read.
  if (command === 1 && size > 0 && size !== 108 && bodyLength < 2 * size + 4) valid = false;
  if (length > header.length) valid = false;
  const bytes = concat([header, latin1(rng.pick(CLIENT_BYTES))]);
  const withPorts = command === 1 && (family === 0x11 || family === 0x12 || family === 0x21 || family === 0x22);
  return {
    bytes,
    expect: valid ? { version: 2, length, ports: withPorts ? [sport, dport] : null } : undefined,
  };
}

export function buildProxy(rng: Rng): ProxyInput {
  return rng.chance(0.5) ? v1(rng) : v2(rng);
}

const SEEDS = [
  "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n\r\n",
  "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n",
  "PROXY UNKNOWN\r\n",
  "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
  "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x0a\x00\x00\x01\x00\x50\x01\xbb",
  "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00",
  "\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x27" + "\x00".repeat(15) + "\x01" + "\x00".repeat(15) + "\x02" +
  "\x00\x50\x00\x51\x04\x00\x03abc",
];

const ADDRESS_FAMILIES = ["tcp4", "tcp6", "udp4", "udp6"];

export const proxyProtocol: Target<ProxyInput> = {
  name: "proxy-protocol",
  ciCount: 100_000,
  corpus: () => SEEDS.map((s) => ({ bytes: latin1(s) })),
  generate(rng, corpus) {
    const r = rng.int(100);
    if (r < 5) return rng.pick(corpus);
    if (r < 60) return buildProxy(rng);
    if (r < 97) {
      const base = rng.chance(0.85) ? buildProxy(rng).bytes : rng.pick(corpus).bytes;
      return {
        bytes: mutate(rng, base, { corpus: corpus.map((c) => c.bytes), maxLength: MAX_PROXY_HEADER_BYTES + 64 }),
      };
    }
    const start = rng.chance(0.5) ? latin1("PROXY ") : V2_SIGNATURE;
    return { bytes: concat([start, rng.bytes(rng.small(128))]) };
  },
  check(input, rng) {
    const buf = input.bytes;
    const r = parseProxyHeader(buf);
    tally(
      r.status === "error"
        ? `error: ${r.reason.replace(/".*"/, '"..."').replace(/0x[0-9a-f]+/g, "0x..").replace(/\d+/g, "N")}`
        : r.status === "ok"
        ? `ok v${r.version}`
        : r.status,
    );
    const e = input.expect;
    switch (r.status) {
      case "ok": {
        if (!(r.length > 0 && r.length <= buf.length)) return `length ${r.length} of ${buf.length} bytes`;
        if (r.version === 1 && r.length > 107) return `v1 header of ${r.length} bytes`;
        if (r.version === 2 && r.length !== 16 + ((buf[14] << 8) | buf[15])) return `v2 length ${r.length}`;
        if (r.version !== 1 && r.version !== 2) return `version ${r.version}`;
        const a = r.addresses;
        if (a !== null) {
          if (!ADDRESS_FAMILIES.includes(a.family)) return `family ${a.family}`;
          for (const end of [a.source, a.destination]) {
            if (typeof end.address !== "string" || end.address === "") return "empty address";
            if (!Number.isInteger(end.port) || end.port < 0 || end.port > 65535) return `port ${end.port}`;
          }
        }
        if (e) {
          const ports = a === null ? null : [a.source.port, a.destination.port];
          const got = JSON.stringify([r.version, r.length, ports]);
          const want = JSON.stringify([e.version, e.length, e.ports]);
          if (got !== want) return `a valid header gave [version, length, ports] ${got}, built as ${want}`;
        }
        break;
      }
      case "error":
        if (typeof r.reason !== "string" || r.reason === "") return "error without a reason";
        if (e) return `a valid header was refused: ${r.reason}`;
        break;
      case "need-more":
        if (buf.length >= MAX_PROXY_HEADER_BYTES) return `need-more with ${buf.length} bytes`;
        if (e) return "need-more for a whole valid header";
        break;
      case "none":
        if (e) return "none for a valid header";
        break;
      default:
        return `unknown status ${JSON.stringify(r)}`;
    }
    return checkIncremental(
      { parse: parseProxyHeader, okLength: (x) => (x.status === "ok" ? x.length : 0), final: ["none"] },
      buf,
      r,
      rng,
    );
  },
  show: (input) => `hex ${hex(input.bytes)}\n  latin1 ${latin1Json(input.bytes)}`,
};
