import { describe, expect, it } from "vitest";
import {
  type ClientHelloResult,
  looksLikeTls,
  MAX_CLIENT_HELLO_BYTES,
  parseClientHello,
} from "../../src/detect/tls-client-hello.ts";

// Captured once, by hand, from OpenSSL 3.0.19: a node:net server listening on
// 127.0.0.1 wrote the hex of the first bytes it received from
//   openssl s_client -connect 127.0.0.1:PORT -servername example.test -alpn h2,http/1.1
// (TLS 1.3 hello: supported_versions offers 0x0304), and again with -tls1_2 added.
const OPENSSL_TLS13_HELLO =
  "160301014b010001470303b3ca708abc31eef82ba1787242ff943b4c130d2dfe463b7bba3ab92b341e341920163bc3e0af7b02dbab" +
  "ca354d98c33f93850c814ec9b96ce98f47a3a332a779a4003e130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028" +
  "006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c000000011000f00000c6578616d706c" +
  "652e74657374000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c026832" +
  "08687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303" +
  "010302040205020602002b0009080304030303020301002d00020101003300260024001d0020dd3856de84827027a737f0c572b52141" +
  "7fec1800656fce58fc76920b9da2f86a";
const OPENSSL_TLS12_HELLO =
  "16030100de010000da0303539a63e20e11f8fc7ba7b942381d59f55c4f915b2a66fec534ea02653ac2258e000038c02cc030009fcc" +
  "a9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000079" +
  "00000011000f00000c6578616d706c652e74657374000b000403000102000a000c000a001d0017001e001900180023000000100" +
  "00e000c02683208687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b0804080508060401" +
  "05010601030303010302040205020602";

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const withU8Length = (b: ArrayLike<number>) => [b.length, ...Array.from(b)];
const withU16Length = (b: ArrayLike<number>) => [...u16(b.length), ...Array.from(b)];

type Extension = [type: number, data: number[]];

interface HelloFields {
  sni?: string | Uint8Array; // host_name bytes as sent
  alpn?: string[];
  extensions?: Extension[]; // appended after sni/alpn, in order
  sessionId?: number[];
  cipherSuites?: number[]; // raw bytes of the cipher_suites vector
  version?: number;
  noExtensions?: boolean; // omit the extensions block entirely (old hellos)
}

const sniExtension = (host: string | Uint8Array): Extension => {
  const name = typeof host === "string" ? ascii(host) : host;
  return [0, withU16Length([0, ...withU16Length(name)])];
};
const alpnExtension = (names: string[]): Extension => [16, withU16Length(names.flatMap((n) => withU8Length(ascii(n))))];

/** The handshake message (type, length, body) of a ClientHello built from fields. */
function encodeHandshake(f: HelloFields = {}): number[] {
  const body = [
    ...u16(f.version ?? 0x0303),
    ...new Array(32).fill(0xab), // random
    ...withU8Length(f.sessionId ?? new Array(32).fill(0x11)),
    ...withU16Length(f.cipherSuites ?? [0x13, 0x01, 0xc0, 0x2f]),
    ...withU8Length([0]), // compression: null only
  ];
  if (!f.noExtensions) {
    const exts: Extension[] = [];
    if (f.sni !== undefined) exts.push(sniExtension(f.sni));
    if (f.alpn) exts.push(alpnExtension(f.alpn));
    exts.push(...(f.extensions ?? []));
    body.push(...withU16Length(exts.flatMap(([type, data]) => [...u16(type), ...withU16Length(data)])));
  }
  return [1, ...u24(body.length), ...body];
}

/** Frames handshake bytes into records, cutting at the given handshake offsets. */
function toRecords(handshake: number[], cuts: number[] = []): Uint8Array {
  const out: number[] = [];
  const bounds = [0, ...cuts, handshake.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = handshake.slice(bounds[i], bounds[i + 1]);
    out.push(0x16, 0x03, 0x01, ...u16(part.length), ...part);
  }
  return Uint8Array.from(out);
}

const hello = (f: HelloFields = {}, cuts: number[] = []) => toRecords(encodeHandshake(f), cuts);

function expectError(r: ClientHelloResult, reason?: RegExp): void {
  expect(r.status).toBe("error");
  if (reason && r.status === "error") expect(r.reason).toMatch(reason);
}

describe("looksLikeTls", () => {
  it("wants a handshake byte and, once it has arrived, major version 3", () => {
    expect(looksLikeTls(Uint8Array.of(0x16))).toBe(true);
    expect(looksLikeTls(Uint8Array.of(0x16, 0x03))).toBe(true);
    expect(looksLikeTls(Uint8Array.of(0x16, 0x03, 0x01, 0x00))).toBe(true);
    expect(looksLikeTls(Uint8Array.of(0x16, 0x01))).toBe(false);
    expect(looksLikeTls(ascii("GET /"))).toBe(false);
    expect(looksLikeTls(new Uint8Array(0))).toBe(false);
  });
});

describe("parseClientHello on real OpenSSL hellos", () => {
  it("reads SNI, ALPN and TLS 1.3 from a TLS 1.3 hello", () => {
    const buf = fromHex(OPENSSL_TLS13_HELLO);
    expect(parseClientHello(buf)).toEqual({
      status: "ok",
      sni: "example.test",
      alpn: ["h2", "http/1.1"],
      version: 0x0304,
      consumed: buf.length,
    });
  });

  it("reads SNI, ALPN and TLS 1.2 from a -tls1_2 hello", () => {
    const buf = fromHex(OPENSSL_TLS12_HELLO);
    expect(parseClientHello(buf)).toEqual({
      status: "ok",
      sni: "example.test",
      alpn: ["h2", "http/1.1"],
      version: 0x0303,
      consumed: buf.length,
    });
  });

  it("gives need-more for every proper prefix, then ok", () => {
    for (const hex of [OPENSSL_TLS13_HELLO, OPENSSL_TLS12_HELLO]) {
      const buf = fromHex(hex);
      for (let n = 0; n < buf.length; n++) {
        expect(parseClientHello(buf.subarray(0, n)), `prefix ${n}`).toEqual({ status: "need-more" });
      }
      expect(parseClientHello(buf).status).toBe("ok");
    }
  });

  it("ignores bytes after the hello but reports only the hello's records as consumed", () => {
    const buf = fromHex(OPENSSL_TLS13_HELLO);
    const more = new Uint8Array(buf.length + 7);
    more.set(buf);
    more.set([0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb], buf.length); // early application data
    const r = parseClientHello(more);
    expect(r.status).toBe("ok");
    if (r.status === "ok") expect(r.consumed).toBe(buf.length);
  });
});

describe("parseClientHello on built hellos", () => {
  it("reads SNI and ALPN in order", () => {
    const buf = hello({ sni: "api.example.com", alpn: ["h2", "http/1.1", "acme-tls/1"] });
    expect(parseClientHello(buf)).toEqual({
      status: "ok",
      sni: "api.example.com",
      alpn: ["h2", "http/1.1", "acme-tls/1"],
      version: 0x0303,
      consumed: buf.length,
    });
  });

  it("gives null SNI and empty ALPN when the client sent neither", () => {
    const r = parseClientHello(hello({ extensions: [[10, [0, 2, 0, 0x1d]]] }));
    expect(r).toMatchObject({ status: "ok", sni: null, alpn: [] });
  });

  it("accepts an old hello without any extensions block", () => {
    const buf = hello({ noExtensions: true, version: 0x0301, sessionId: [] });
    expect(parseClientHello(buf)).toEqual({ status: "ok", sni: null, alpn: [], version: 0x0301, consumed: buf.length });
  });

  it("reports TLS 1.3 only when supported_versions offers 0x0304", () => {
    const tls13 = hello({ sni: "a.test", extensions: [[43, [4, 0x03, 0x04, 0x03, 0x03]]] });
    const tls12 = hello({ sni: "a.test", extensions: [[43, [2, 0x03, 0x03]]] });
    expect(parseClientHello(tls13)).toMatchObject({ status: "ok", version: 0x0304 });
    expect(parseClientHello(tls12)).toMatchObject({ status: "ok", version: 0x0303 });
  });

  it("lowercases the host name and drops a trailing dot", () => {
    expect(parseClientHello(hello({ sni: "WWW.Example.COM." }))).toMatchObject({
      status: "ok",
      sni: "www.example.com",
    });
    expect(parseClientHello(hello({ sni: "_acme.x-y.test" }))).toMatchObject({ status: "ok", sni: "_acme.x-y.test" });
  });

  it("takes the first host_name entry of the server_name list", () => {
    const list = [
      ...[7, ...withU16Length(ascii("ignored"))], // unknown name type, skipped
      ...[0, ...withU16Length(ascii("first.test"))],
      ...[0, ...withU16Length(ascii("second.test"))],
    ];
    const r = parseClientHello(hello({ extensions: [[0, withU16Length(list)]] }));
    expect(r).toMatchObject({ status: "ok", sni: "first.test" });
  });

  it("gives need-more for every proper prefix, then ok", () => {
    const buf = hello({ sni: "prefix.test", alpn: ["h2"] });
    for (let n = 0; n < buf.length; n++) {
      expect(parseClientHello(buf.subarray(0, n)), `prefix ${n}`).toEqual({ status: "need-more" });
    }
    expect(parseClientHello(buf).status).toBe("ok");
  });

  it("reassembles a hello split across 2 and 3 records, even inside the handshake header", () => {
    const hs = encodeHandshake({ sni: "split.test", alpn: ["h2", "http/1.1"] });
    const one = parseClientHello(toRecords(hs));
    expect(one.status).toBe("ok");
    for (const cuts of [[60], [2], [1, 3], [40, 90], [hs.length - 1]]) {
      const buf = toRecords(hs, cuts);
      expect(parseClientHello(buf), `cuts ${cuts}`).toEqual({ ...one, consumed: buf.length });
      // Every prefix of the multi-record form is a valid prefix too.
      for (let n = 0; n < buf.length; n++) expect(parseClientHello(buf.subarray(0, n)).status).toBe("need-more");
    }
  });

  it("reassembles the real OpenSSL hello split across 3 records", () => {
    const hs = Array.from(fromHex(OPENSSL_TLS13_HELLO).subarray(5));
    expect(parseClientHello(toRecords(hs, [100, 200]))).toMatchObject({
      status: "ok",
      sni: "example.test",
      alpn: ["h2", "http/1.1"],
      version: 0x0304,
    });
  });
});

describe("parseClientHello refusals", () => {
  it("says not-tls for other protocols", () => {
    expect(parseClientHello(ascii("GET / HTTP/1.1\r\n"))).toEqual({ status: "not-tls" });
    expect(parseClientHello(ascii("SSH-2.0-OpenSSH_9.6\r\n"))).toEqual({ status: "not-tls" });
    expect(parseClientHello(Uint8Array.of(0x16, 0x01, 0x00, 0x05))).toEqual({ status: "not-tls" });
    expect(parseClientHello(new Uint8Array(0))).toEqual({ status: "need-more" });
  });

  it("refuses an oversized or empty record", () => {
    expectError(parseClientHello(Uint8Array.of(0x16, 0x03, 0x01, 0x48, 0x01)), /record: length/);
    expectError(parseClientHello(Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x00)), /empty/);
    // Largest allowed record length is still just a prefix.
    expect(parseClientHello(Uint8Array.of(0x16, 0x03, 0x01, 0x48, 0x00, 0x01)).status).toBe("need-more");
  });

  it("refuses a handshake that is not a client_hello, as soon as its type byte arrives", () => {
    const buf = hello({ sni: "a.test" });
    buf[5] = 2; // server_hello
    expectError(parseClientHello(buf), /client_hello/);
    expectError(parseClientHello(buf.subarray(0, 6)), /client_hello/);
  });

  it("refuses a handshake longer than the buffering bound", () => {
    const buf = Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x04, 0x01, ...u24(MAX_CLIENT_HELLO_BYTES));
    expectError(parseClientHello(buf), /exceeds/);
  });

  it("refuses records that would take the total past the bound", () => {
    // The claimed length fits the bound, but four full 16 KiB records of it (with their
    // headers) do not: the fourth record would end past MAX_CLIENT_HELLO_BYTES.
    const hsLength = MAX_CLIENT_HELLO_BYTES - 200;
    expect(hsLength + 4 + 5).toBeLessThan(MAX_CLIENT_HELLO_BYTES);
    const bytes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const body = new Array(16384).fill(0);
      if (i === 0) body.splice(0, 4, 1, ...u24(hsLength));
      bytes.push(0x16, 0x03, 0x03, ...u16(body.length), ...body);
    }
    const buf = Uint8Array.from(bytes);
    expectError(parseClientHello(buf), /ClientHello exceeds/);
    // Three of them are still a valid prefix.
    expect(parseClientHello(buf.subarray(0, 3 * (16384 + 5)))).toEqual({ status: "need-more" });
  });

  it("refuses a session id longer than 32", () => {
    expectError(parseClientHello(hello({ sessionId: new Array(40).fill(1) })), /session_id/);
  });

  it("refuses an odd or empty cipher suite list", () => {
    expectError(parseClientHello(hello({ cipherSuites: [0x13, 0x01, 0xc0] })), /cipher_suites/);
    expectError(parseClientHello(hello({ cipherSuites: [] })), /cipher_suites/);
  });

  it("refuses an extension whose length overruns the extensions block", () => {
    const hs = encodeHandshake({ sni: "a.test", alpn: ["h2"] });
    // The last extension is ALPN; its length field sits just before its data. Grow it by one.
    const alpnData = alpnExtension(["h2"])[1];
    const at = hs.length - alpnData.length - 2;
    expect([hs[at], hs[at + 1]]).toEqual(u16(alpnData.length));
    hs[at + 1] += 1;
    expectError(parseClientHello(toRecords(hs)), /extension 16: length overruns/);
  });

  it("refuses a malformed host name", () => {
    expectError(parseClientHello(hello({ sni: "bad host.test" })), /server_name/);
    expectError(parseClientHello(hello({ sni: "caf\u00e9.test" })), /server_name/);
    expectError(parseClientHello(hello({ sni: Uint8Array.of(0x61, 0x00, 0x62) })), /server_name/);
    expectError(parseClientHello(hello({ sni: "a".repeat(254) })), /server_name: host name length/);
    expectError(parseClientHello(hello({ sni: "" })), /server_name/);
    expectError(parseClientHello(hello({ sni: "." })), /server_name/);
    expectError(parseClientHello(hello({ sni: "a..b" })), /server_name/);
    // Two trailing dots: one is dropped, the other ends an empty label (found by npm run fuzz,
    // which saw sni "1.2.3." come back for "1.2.3..").
    expectError(parseClientHello(hello({ sni: "1.2.3.." })), /server_name: empty label/);
    expectError(parseClientHello(hello({ sni: "example.com.." })), /server_name: empty label/);
    // 253 characters is the longest accepted, with or without the trailing dot.
    const long = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
    expect(long.length).toBe(253);
    expect(parseClientHello(hello({ sni: long }))).toMatchObject({ status: "ok", sni: long });
    expect(parseClientHello(hello({ sni: long + "." }))).toMatchObject({ status: "ok", sni: long });
  });

  it("refuses an empty ALPN protocol name", () => {
    expectError(parseClientHello(hello({ extensions: [[16, withU16Length([2, 0x68, 0x32, 0])]] })), /alpn/);
  });

  it("refuses a duplicated extension", () => {
    expectError(parseClientHello(hello({ sni: "a.test", extensions: [sniExtension("b.test")] })), /duplicate/);
    expectError(parseClientHello(hello({ extensions: [[21, [0]], [21, [0]]] })), /extension 21: duplicate/);
  });

  it("refuses another record type before the hello is complete", () => {
    const hs = encodeHandshake({ sni: "a.test" });
    const first = toRecords(hs.slice(0, 30));
    const alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    const rest = toRecords(hs.slice(30));
    const buf = Uint8Array.from([...first, ...alert, ...rest]);
    expectError(parseClientHello(buf), /content type 21/);
    // Refused as soon as the alert's type byte arrives.
    expectError(parseClientHello(buf.subarray(0, first.length + 1)), /content type 21/);
  });
});

/** xorshift32: small, seeded, the same sequence on every runtime. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

describe("parseClientHello fuzz", () => {
  it("never throws and returns a known status on 5000 mutated and random inputs", () => {
    const next = xorshift(0x5eed1234);
    const pick = (n: number) => next() % n;
    const seeds = [
      fromHex(OPENSSL_TLS13_HELLO),
      fromHex(OPENSSL_TLS12_HELLO),
      hello({ sni: "fuzz.test", alpn: ["h2", "http/1.1"], extensions: [[43, [2, 3, 4]]] }),
      hello({ sni: "split.test", alpn: ["h2"] }, [3, 50]),
      hello({ noExtensions: true }),
    ];
    const statuses = new Set(["need-more", "not-tls", "error", "ok"]);
    const seen: Record<string, number> = {};

    for (let iter = 0; iter < 5000; iter++) {
      let buf: Uint8Array;
      if (iter % 10 === 0) {
        // Pure noise, sometimes dressed with a plausible record header.
        buf = Uint8Array.from({ length: pick(300) }, () => pick(256));
        if (buf.length >= 3 && pick(2) === 0) buf.set([0x16, 0x03, pick(5)]);
      } else {
        let bytes = Array.from(seeds[pick(seeds.length)]);
        const mutations = 1 + pick(4);
        for (let m = 0; m < mutations; m++) {
          const at = pick(bytes.length + 1);
          switch (pick(4)) {
            case 0: // bit flip
              if (at < bytes.length) bytes[at] ^= 1 << pick(8);
              break;
            case 1: // truncate
              bytes = bytes.slice(0, at);
              break;
            case 2: // insert random bytes
              bytes.splice(at, 0, ...Array.from({ length: 1 + pick(8) }, () => pick(256)));
              break;
            case 3: // overwrite a byte with a boundary value
              if (at < bytes.length) bytes[at] = [0, 1, 0x7f, 0x80, 0xff][pick(5)];
              break;
          }
        }
        buf = Uint8Array.from(bytes);
      }

      let r: ClientHelloResult;
      try {
        r = parseClientHello(buf);
      } catch (e) {
        throw new Error(`threw on iteration ${iter}: ${e}`);
      }
      expect(statuses.has(r.status)).toBe(true);
      seen[r.status] = (seen[r.status] ?? 0) + 1;
      if (r.status === "ok") {
        if (r.sni !== null) expect(r.sni).toMatch(/^[a-z0-9._-]+$/);
        expect(Array.isArray(r.alpn)).toBe(true);
        expect(r.consumed).toBeLessThanOrEqual(buf.length);
      }
      if (r.status === "error") expect(typeof r.reason).toBe("string");
    }
    // The mix must exercise both the accepting and refusing paths.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.error).toBeGreaterThan(0);
    expect(seen["need-more"]).toBeGreaterThan(0);
  });
});
