/**
 * parseClientHello (src/detect/tls-client-hello.ts). Inputs are ClientHellos built
 * as trees of length-prefixed blocks with every length right (versions, session ids,
 * cipher suites, compression, extensions: server_name, ALPN, supported_versions,
 * key_share, GREASE, padding, unknown and duplicate types), split over 1..4 handshake
 * records, sometimes with bytes after them. Then, a third of the time, one length is
 * made to lie (by a little, zero or a boundary value), or a field is replaced, and
 * byte mutations follow. A hello built valid must give its SNI and ALPN back.
 * An "error" whose reason starts "internal:" is a caught exception: a bug.
 */
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from "../../../src/detect/tls-client-hello.ts";
import { concat, hex, latin1, u16 } from "../bytes.ts";
import { checkIncremental } from "../incremental.ts";
import { type Block, block, lieAboutOneLength, type Part, serialize } from "../lv.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";

export interface HelloInput {
  bytes: Uint8Array;
  expect?: { sni: string | null; alpn: string[]; tls13: boolean; consumed: number };
}

const VALID_HOSTS = ["example.com", "EXAMPLE.com", "example.com.", "a", "x-y_z.example", "1.2.3.4", "a.b.c.d.e"];
const BAD_HOSTS = ["", ".", "..", "a..b", ".a", "a b", "é.example", "a\x00b", "a/b", "a:443", "a".repeat(254), "*.a"];
const ALPNS = ["h2", "http/1.1", "h3", "acme-tls/1", "\x00\xff", "x".repeat(255)];

const bytesOf = (s: string) => latin1(s);

function serverName(rng: Rng, expect: { sni: string | null; valid: boolean }): Block {
  const entries: Part[] = [];
  const n = rng.chance(0.9) ? 1 : rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    const type = rng.chance(0.9) ? 0 : rng.pick([1, 255]);
    const good = rng.chance(0.9);
    const host = good ? rng.pick(VALID_HOSTS) : rng.pick(BAD_HOSTS);
    if (type === 0 && expect.sni === null) {
      if (good) expect.sni = host.toLowerCase().replace(/\.$/, "");
      else expect.valid = false;
    }
    entries.push(Uint8Array.of(type), block(2, [bytesOf(host)]));
  }
  if (n === 0) expect.valid = false;
  return block(2, [block(2, entries)]);
}

function alpn(rng: Rng, expect: { alpn: string[]; valid: boolean }): Block {
  const names: Part[] = [];
  const n = rng.chance(0.95) ? rng.range(1, 3) : 0;
  if (n === 0) expect.valid = false;
  for (let i = 0; i < n; i++) {
    const name = rng.chance(0.97) ? rng.pick(ALPNS) : "";
    if (name === "") expect.valid = false;
    expect.alpn.push(name);
    names.push(block(1, [bytesOf(name)]));
  }
  return block(2, [block(2, names)]);
}

function supportedVersions(rng: Rng, expect: { tls13: boolean; valid: boolean }): Block {
  const versions = Array.from({ length: rng.range(1, 4) }, () => rng.pick([0x0304, 0x0303, 0x0302, 0x7f1c, 0x0a0a]));
  if (versions.includes(0x0304)) expect.tls13 = true;
  return block(2, [block(1, versions.map(u16))]);
}

export function buildHello(rng: Rng): HelloInput {
  const expect = { sni: null as string | null, alpn: [] as string[], tls13: false, valid: true };
  const exts: Part[] = [];
  const types: number[] = [];
  const addExt = (type: number, body: Block) => {
    types.push(type);
    exts.push(u16(type), body);
  };
  if (rng.chance(0.9)) addExt(0, serverName(rng, expect));
  if (rng.chance(0.6)) addExt(16, alpn(rng, expect));
  if (rng.chance(0.6)) addExt(43, supportedVersions(rng, expect));
  const others = rng.small(6);
  for (let i = 0; i < others; i++) {
    const type = rng.pick([10, 11, 13, 23, 35, 45, 51, 0x0a0a, 0xfafa, 21, 41, 65281, 17513, rng.int(65536)]);
    // A duplicate is refused; 0, 16 and 43 with random bodies are malformed.
    if (types.includes(type) || type === 0 || type === 16 || type === 43) expect.valid = false;
    const size = type === 21 ? rng.range(0, 600) : type === 51 ? rng.pick([36, 1200]) : rng.small(64);
    addExt(type, block(2, [rng.bytes(size)]));
  }
  // Reorder the extensions as pairs of (type, body).
  const pairs: Part[][] = [];
  for (let i = 0; i < exts.length; i += 2) pairs.push([exts[i], exts[i + 1]]);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  const legacy = rng.chance(0.9) ? 0x0303 : rng.pick([0x0300, 0x0301, 0x0302, 0x0304, 0x0203, 0xfefd]);
  if (legacy >> 8 !== 3) expect.valid = false;
  const sessionLength = rng.chance(0.97) ? rng.pick([0, 32, 32, 16]) : rng.pick([31, 33, 255]);
  if (sessionLength > 32) expect.valid = false;
  const suites = rng.chance(0.95) ? rng.range(1, 40) * 2 : rng.pick([0, 1, 3]);
  if (suites < 2 || suites % 2) expect.valid = false;
  const compression = rng.chance(0.95) ? [0] : rng.pick([[], [0, 1], [1]]);
  if (compression.length === 0) expect.valid = false;
  const noExtensions = exts.length === 0 && rng.chance(0.5);
  const bodyParts: Part[] = [
    u16(legacy),
    rng.bytes(32),
    block(1, [rng.bytes(sessionLength)]),
    block(2, [rng.bytes(suites)]),
    block(1, [Uint8Array.from(compression)]),
  ];
  if (!noExtensions) bodyParts.push(block(2, pairs.flat()));
  const body = block(3, bodyParts);
  const roots: Part[] = [Uint8Array.of(1), body];

  // Field-level breakage: one length lies, or a field holds a bad value.
  if (rng.chance(0.3)) {
    lieAboutOneLength(rng, roots);
    expect.valid = false;
  }
  let handshake = concat(roots.map(serialize));
  if (rng.chance(0.03)) {
    handshake = handshake.slice();
    handshake[0] = rng.pick([0, 2, 0x16, 0xff]);
    expect.valid = false;
  }
  const { bytes, consumed } = records(rng, handshake, expect);
  if (!expect.valid) return { bytes };
  return { bytes, expect: { sni: expect.sni, alpn: expect.alpn, tls13: expect.tls13, consumed } };
}

/** The handshake bytes in 1..4 records (cut at random places), and maybe bytes after. */
function records(rng: Rng, hs: Uint8Array, expect: { valid: boolean }): { bytes: Uint8Array; consumed: number } {
  const count = rng.chance(0.8) ? 1 : rng.range(2, 4);
  const cuts = Array.from({ length: count - 1 }, () => rng.range(1, Math.max(1, hs.length - 1))).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, hs.length]) {
    if (c <= at) continue;
    pieces.push(hs.subarray(at, c));
    at = c;
  }
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const version = rng.chance(0.9) ? 0x0301 : rng.pick([0x0300, 0x0303, 0x0304, 0x0305, 0x0201]);
    if ((version & 0xff) > 4 || version >> 8 !== 3) expect.valid = false;
    let length = p.length;
    if (length > 16384 + 2048) expect.valid = false;
    if (rng.chance(0.02)) {
      length = rng.pick([0, p.length - 1, p.length + 1, 0xffff, 18432, 18433]);
      expect.valid = false;
    }
    out.push(Uint8Array.of(0x16, version >> 8, version & 0xff, (length >> 8) & 0xff, length & 0xff), p);
  }
  const consumed = out.reduce((n, p) => n + p.length, 0);
  if (rng.chance(0.2)) {
    // What may follow a hello: ChangeCipherSpec, early data, anything.
    out.push(rng.pick([Uint8Array.of(0x14, 3, 3, 0, 1, 1), Uint8Array.of(0x17, 3, 3, 0, 2, 0, 0), rng.bytes(8)]));
  }
  return { bytes: concat(out), consumed };
}

/** A hello with these extensions (type, body) in one record, or split into records at `cuts`. */
function seed(exts: Array<[number, Part[]]>, cuts: number[] = []): HelloInput {
  const extParts: Part[] = exts.flatMap(([type, body]) => [u16(type), block(2, body)]);
  const body: Part[] = [u16(0x0303), new Uint8Array(32).fill(0x11), block(1, [new Uint8Array(32).fill(0x22)])];
  body.push(block(2, [Uint8Array.of(0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f)]), block(1, [Uint8Array.of(0)]));
  if (exts.length > 0) body.push(block(2, extParts));
  const hs = serialize(block(3, body));
  const full = concat([Uint8Array.of(1), hs]);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, full.length]) {
    const p = full.subarray(at, c);
    out.push(Uint8Array.of(0x16, 3, 1, p.length >> 8, p.length & 0xff), p);
    at = c;
  }
  return { bytes: concat(out) };
}

const sni = (host: string): Part[] => [block(2, [Uint8Array.of(0), block(2, [bytesOf(host)])])];
const alpnOf = (...names: string[]): Part[] => [block(2, names.map((n) => block(1, [bytesOf(n)])))];
const versionsOf = (...v: number[]): Part[] => [block(1, v.map(u16))];

const SEEDS: HelloInput[] = [
  // Chrome-like: GREASE, SNI, ALPN, supported_versions with TLS 1.3, key share, signature algorithms, padding.
  seed([
    [0x0a0a, []],
    [0, sni("example.com")],
    [16, alpnOf("h2", "http/1.1")],
    [43, versionsOf(0x0a0a, 0x0304, 0x0303)],
    [10, [Uint8Array.of(0, 4, 0, 0x1d, 0, 0x17)]],
    [51, [block(2, [u16(0x1d), block(2, [new Uint8Array(32).fill(0x33)])])]],
    [13, [block(2, [Uint8Array.of(4, 3, 8, 4, 4, 1)])]],
    [21, [new Uint8Array(40)]],
  ]),
  // TLS 1.2 era: no extensions at all.
  seed([]),
  // SNI only, the hello split over three records.
  seed([[0, sni("Api.Example.COM.")]], [3, 40]),
  // ALPN only, no SNI.
  seed([[16, alpnOf("acme-tls/1")]]),
];

const HOST_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

export const tlsClientHello: Target<HelloInput> = {
  name: "tls-client-hello",
  ciCount: 30_000,
  corpus: () => SEEDS,
  generate(rng, corpus) {
    const r = rng.int(100);
    if (r < 5) return rng.pick(corpus);
    if (r < 60) return buildHello(rng);
    if (r < 97) {
      const base = rng.chance(0.85) ? buildHello(rng).bytes : rng.pick(corpus).bytes;
      const bytes = mutate(rng, base, { corpus: corpus.map((c) => c.bytes), maxLength: MAX_CLIENT_HELLO_BYTES + 1024 });
      return { bytes };
    }
    return { bytes: concat([Uint8Array.of(0x16, 3, rng.int(5)), rng.bytes(rng.small(300))]) };
  },
  check(input, rng) {
    const buf = input.bytes;
    const r = parseClientHello(buf);
    tally(r.status === "error" ? `error: ${r.reason.replace(/0x[0-9a-f]+/g, "0x..").replace(/\d+/g, "N")}` : r.status);
    const e = input.expect;
    switch (r.status) {
      case "ok": {
        if (!(r.consumed > 0 && r.consumed <= buf.length)) return `consumed ${r.consumed} of ${buf.length} bytes`;
        if (r.sni !== null && (r.sni.length > 253 || !HOST_RE.test(r.sni))) return `sni ${JSON.stringify(r.sni)}`;
        if (!Array.isArray(r.alpn) || r.alpn.some((a) => typeof a !== "string" || a === "")) return "bad alpn list";
        if (r.version >> 8 !== 3) return `version 0x${r.version.toString(16)}`;
        if (e) {
          const got = JSON.stringify([r.sni, r.alpn, r.version === 0x0304 || !e.tls13, r.consumed]);
          const want = JSON.stringify([e.sni, e.alpn, true, e.consumed]);
          if (got !== want) return `a valid hello gave [sni, alpn, tls13 ok, consumed] ${got}, built as ${want}`;
        }
        break;
      }
      case "error":
        if (typeof r.reason !== "string" || r.reason === "") return "error without a reason";
        if (r.reason.startsWith("internal:")) return `the parser caught an exception of its own: ${r.reason}`;
        if (e) return `a valid hello was refused: ${r.reason}`;
        break;
      case "not-tls":
        if (buf[0] === 0x16 && (buf.length < 2 || buf[1] === 3)) return "not-tls for a handshake record start";
        break;
      case "need-more":
        if (e) return "need-more for a whole valid hello";
        break;
      default:
        return `unknown status ${JSON.stringify(r)}`;
    }
    return checkIncremental(
      { parse: parseClientHello, okLength: (x) => (x.status === "ok" ? x.consumed : 0), final: ["not-tls"] },
      buf,
      r,
      rng,
    );
  },
  show: (input) => `hex ${hex(input.bytes)}`,
};
