import { describe, expect, it } from "vitest";
import {
  encodeProxyV1,
  encodeProxyV2,
  MAX_PROXY_HEADER_BYTES,
  parseProxyHeader,
  type ProxyAddresses,
} from "../../src/detect/proxy-protocol.ts";

const ascii = (text: string) => new TextEncoder().encode(text);
const hex = (text: string) => Uint8Array.from(text.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const SIG = "0d0a0d0a000d0a515549540a";

const tcp4: ProxyAddresses = {
  family: "tcp4",
  source: { address: "192.168.0.1", port: 56324 },
  destination: { address: "10.0.0.1", port: 443 },
};
const tcp6: ProxyAddresses = {
  family: "tcp6",
  source: { address: "2001:db8::1", port: 1111 },
  destination: { address: "::1", port: 2222 },
};

describe("parseProxyHeader v1", () => {
  it("reads TCP4", () => {
    const line = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n";
    expect(parseProxyHeader(ascii(line))).toEqual({
      status: "ok",
      version: 1,
      addresses: {
        family: "tcp4",
        source: { address: "1.2.3.4", port: 1111 },
        destination: { address: "5.6.7.8", port: 2222 },
      },
      length: line.length,
    });
  });

  it("reads TCP6 and writes addresses canonically", () => {
    const r = parseProxyHeader(ascii("PROXY TCP6 2001:DB8:0:0:0:0:0:1 0:0:0:0:0:0:0:1 0 65535\r\n"));
    expect(r).toMatchObject({
      status: "ok",
      addresses: {
        family: "tcp6",
        source: { address: "2001:db8::1", port: 0 },
        destination: { address: "::1", port: 65535 },
      },
    });
  });

  it("reads UNKNOWN, ignoring anything after it", () => {
    expect(parseProxyHeader(ascii("PROXY UNKNOWN\r\n"))).toEqual({
      status: "ok",
      version: 1,
      addresses: null,
      length: 15,
    });
    const long = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
    expect(parseProxyHeader(ascii(long))).toEqual({ status: "ok", version: 1, addresses: null, length: long.length });
  });

  it("counts only the header when payload follows", () => {
    const line = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n";
    const r = parseProxyHeader(ascii(line + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(r).toMatchObject({ status: "ok", length: line.length });
  });

  it("accepts the longest line the spec allows (107 bytes)", () => {
    const ip = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const line = `PROXY TCP6 ${ip} ${ip} 65535 65535\r\n`;
    expect(line.length).toBe(104);
    expect(parseProxyHeader(ascii(line))).toMatchObject({ status: "ok", length: 104 });
    const padded = `PROXY UNKNOWN ${"x".repeat(107 - 16)}\r\n`;
    expect(padded.length).toBe(107);
    expect(parseProxyHeader(ascii(padded))).toMatchObject({ status: "ok", length: 107 });
  });

  it("rejects malformed lines", () => {
    const bad = {
      doubleSpace: "PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",
      trailingSpace: "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",
      badIp: "PROXY TCP4 1.2.3.256 5.6.7.8 1111 2222\r\n",
      hostName: "PROXY TCP4 example.com 5.6.7.8 1111 2222\r\n",
      port65536: "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222\r\n",
      leadingZeroPort: "PROXY TCP4 1.2.3.4 5.6.7.8 01111 2222\r\n",
      signedPort: "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2222\r\n",
      v6InTcp4: "PROXY TCP4 ::1 ::1 1111 2222\r\n",
      v4InTcp6: "PROXY TCP6 1.2.3.4 5.6.7.8 1111 2222\r\n",
      missingCr: "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\n",
      crWithoutLf: "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\rX",
      tooFewFields: "PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",
      lowercase: "PROXY tcp4 1.2.3.4 5.6.7.8 1111 2222\r\n",
      udp: "PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
      nonPrintable: "PROXY TCP4 1.2.3.4\t5.6.7.8 1111 2222\r\n",
      tooLong: "PROXY UNKNOWN " + "x".repeat(200),
      tooLongWithCrlf: `PROXY UNKNOWN ${"x".repeat(107 - 15)}\r\n`,
    };
    for (const [name, line] of Object.entries(bad)) {
      const r = parseProxyHeader(ascii(line));
      expect({ name, status: r.status }).toEqual({ name, status: "error" });
      if (r.status === "error") expect(r.reason).toMatch(/^v1 /);
    }
  });

  it("fails a line over 107 bytes as soon as 107 bytes are in", () => {
    expect(parseProxyHeader(ascii("PROXY UNKNOWN " + "x".repeat(92))).status).toBe("need-more"); // 106 bytes
    expect(parseProxyHeader(ascii("PROXY UNKNOWN " + "x".repeat(93))).status).toBe("error"); // 107 bytes
  });
});

describe("parseProxyHeader v2", () => {
  // Hand-written from proxy-protocol.txt section 2.2:
  //   12-byte signature                    0d0a0d0a 000d0a51 5549540a
  //   ver_cmd: version 2 << 4 | PROXY (1)  21
  //   fam: AF_INET (1) << 4 | STREAM (1)   11
  //   len: 12, the size of ipv4_addr       000c
  //   src_addr 192.168.0.1                 c0a80001
  //   dst_addr 10.0.0.1                    0a000001
  //   src_port 56324 = 0xdc04              dc04
  //   dst_port 443 = 0x01bb                01bb
  const knownTcp4 = hex(`${SIG} 21 11 000c c0a80001 0a000001 dc04 01bb`);

  it("reads a known TCP4 vector", () => {
    expect(parseProxyHeader(knownTcp4)).toEqual({ status: "ok", version: 2, addresses: tcp4, length: 28 });
  });

  it("encodes to the same known bytes", () => {
    expect(encodeProxyV2(tcp4)).toEqual(knownTcp4);
  });

  it("reads TCP6, UDP4 and UDP6", () => {
    // 2001:db8::1 -> ::1, ports 1111 (0x0457) and 2222 (0x08ae); length 36 = 0x24.
    const v6 = hex(
      `${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001 0457 08ae`,
    );
    expect(parseProxyHeader(v6)).toEqual({ status: "ok", version: 2, addresses: tcp6, length: 52 });
    const udp4 = hex(`${SIG} 21 12 000c 01020304 05060708 0001 0002`);
    expect(parseProxyHeader(udp4)).toMatchObject({
      addresses: { family: "udp4", source: { address: "1.2.3.4", port: 1 } },
    });
    const udp6 = hex(`${SIG} 21 22 0024 ${"00".repeat(10)}ffff01020304 ${"00".repeat(15)}01 0001 0002`);
    expect(parseProxyHeader(udp6)).toMatchObject({
      addresses: { family: "udp6", source: { address: "::ffff:1.2.3.4" }, destination: { address: "::1" } },
    });
  });

  it("reads LOCAL as null addresses, skipping whatever block follows", () => {
    expect(parseProxyHeader(hex(`${SIG} 20 00 0000`))).toEqual({
      status: "ok",
      version: 2,
      addresses: null,
      length: 16,
    });
    // LOCAL with a family and addresses: discarded, family included, per the spec.
    expect(parseProxyHeader(hex(`${SIG} 20 11 000c c0a80001 0a000001 dc04 01bb`))).toEqual({
      status: "ok",
      version: 2,
      addresses: null,
      length: 28,
    });
  });

  it("reads UNSPEC and AF_UNIX under PROXY as null addresses", () => {
    expect(parseProxyHeader(hex(`${SIG} 21 00 0000`))).toEqual({
      status: "ok",
      version: 2,
      addresses: null,
      length: 16,
    });
    const unix = concat(hex(`${SIG} 21 31 00d8`), new Uint8Array(216));
    expect(parseProxyHeader(unix)).toEqual({ status: "ok", version: 2, addresses: null, length: 232 });
  });

  it("skips TLVs after the addresses", () => {
    // The known vector plus a PP2_TYPE_NOOP (0x04) TLV of 3 bytes: length 12 + 6 = 18 = 0x12.
    const withTlv = hex(`${SIG} 21 11 0012 c0a80001 0a000001 dc04 01bb 04 0003 000000`);
    expect(parseProxyHeader(withTlv)).toEqual({ status: "ok", version: 2, addresses: tcp4, length: 34 });
  });

  it("counts only the header when payload follows", () => {
    const payload = hex("160301 0005 0100000100"); // the start of a TLS record
    expect(parseProxyHeader(concat(knownTcp4, payload))).toMatchObject({ status: "ok", length: 28 });
  });

  it("rejects bad version, command, family and short lengths", () => {
    const cases = {
      version1: `${SIG} 11 11 000c c0a80001 0a000001 dc04 01bb`,
      version3: `${SIG} 31 11 000c c0a80001 0a000001 dc04 01bb`,
      command2: `${SIG} 22 11 000c c0a80001 0a000001 dc04 01bb`,
      commandF: `${SIG} 2f 11 000c c0a80001 0a000001 dc04 01bb`,
      family4: `${SIG} 21 41 000c c0a80001 0a000001 dc04 01bb`,
      protocol3: `${SIG} 21 13 000c c0a80001 0a000001 dc04 01bb`,
      shortTcp4: `${SIG} 21 11 000b c0a80001 0a000001 dc04 01`,
      shortTcp6: `${SIG} 21 21 000c c0a80001 0a000001 dc04 01bb`,
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const r = parseProxyHeader(hex(bytes));
      expect({ name, status: r.status }).toEqual({ name, status: "error" });
    }
  });

  it("fails a short length without waiting for the body", () => {
    expect(parseProxyHeader(hex(`${SIG} 21 21 000c`)).status).toBe("error");
  });

  it("waits for the whole declared length, TLVs included", () => {
    expect(parseProxyHeader(hex(`${SIG} 21 11 0012 c0a80001 0a000001 dc04 01bb 04 0003 00`)).status).toBe("need-more");
  });

  it("exports the largest header a caller may need to buffer", () => {
    expect(MAX_PROXY_HEADER_BYTES).toBe(16 + 65535);
    const biggest = concat(hex(`${SIG} 21 11 ffff`), new Uint8Array(65535));
    expect(parseProxyHeader(biggest)).toMatchObject({ status: "ok", length: MAX_PROXY_HEADER_BYTES });
  });
});

describe("parseProxyHeader prefixes and non-headers", () => {
  const valid = {
    v1Tcp4: ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n"),
    v1Tcp6: ascii("PROXY TCP6 2001:db8::1 ::1 1111 2222\r\n"),
    v1Unknown: ascii("PROXY UNKNOWN\r\n"),
    v2Tcp4: encodeProxyV2(tcp4),
    v2Tcp6: encodeProxyV2(tcp6),
    v2Local: encodeProxyV2(null),
    v2Tlv: hex(`${SIG} 21 11 0012 c0a80001 0a000001 dc04 01bb 04 0003 000000`),
  };

  for (const [name, header] of Object.entries(valid)) {
    it(`asks for more on every strict prefix of ${name}`, () => {
      for (let n = 0; n < header.length; n++) {
        const r = parseProxyHeader(header.subarray(0, n));
        expect({ n, status: r.status }).toEqual({ n, status: "need-more" });
      }
      expect(parseProxyHeader(header)).toMatchObject({ status: "ok", length: header.length });
    });
  }

  it("says none for other protocols", () => {
    expect(parseProxyHeader(ascii("GET / HTTP/1.1\r\n"))).toEqual({ status: "none" });
    expect(parseProxyHeader(ascii("G"))).toEqual({ status: "none" });
    expect(parseProxyHeader(hex("16030100c8010000c40303"))).toEqual({ status: "none" }); // TLS ClientHello
    expect(parseProxyHeader(ascii("PROXZ TCP4"))).toEqual({ status: "none" });
    expect(parseProxyHeader(ascii("PROXZ"))).toEqual({ status: "none" });
    expect(parseProxyHeader(ascii("PROXYTCP4"))).toEqual({ status: "none" });
    expect(parseProxyHeader(ascii("SSH-2.0-OpenSSH\r\n"))).toEqual({ status: "none" });
    // A mismatch anywhere in the v2 signature, even its last byte.
    expect(parseProxyHeader(hex("0d0a0d0a000d0a515549540b 21 11 000c"))).toEqual({ status: "none" });
    expect(parseProxyHeader(hex("0d0a0d0a01"))).toEqual({ status: "none" });
  });
});

describe("encodeProxyV1 / encodeProxyV2", () => {
  it("writes v1 lines", () => {
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(text(encodeProxyV1(tcp4))).toBe("PROXY TCP4 192.168.0.1 10.0.0.1 56324 443\r\n");
    expect(text(encodeProxyV1(null))).toBe("PROXY UNKNOWN\r\n");
    const upper = { ...tcp6, source: { address: "2001:DB8:0::1", port: 1 } };
    expect(text(encodeProxyV1(upper))).toBe("PROXY TCP6 2001:db8::1 ::1 1 2222\r\n");
  });

  it("writes v2 LOCAL", () => {
    expect(encodeProxyV2(null)).toEqual(hex(`${SIG} 20 00 0000`));
  });

  const roundTrips: ProxyAddresses[] = [
    tcp4,
    tcp6,
    {
      family: "tcp4",
      source: { address: "0.0.0.0", port: 0 },
      destination: { address: "255.255.255.255", port: 65535 },
    },
    {
      family: "tcp6",
      source: { address: "::ffff:1.2.3.4", port: 80 },
      destination: { address: "fe80::1:0:0:1", port: 8080 },
    },
  ];

  for (const a of roundTrips) {
    it(`round-trips ${a.source.address} through v1 and v2`, () => {
      const v1 = encodeProxyV1(a);
      expect(parseProxyHeader(v1)).toEqual({ status: "ok", version: 1, addresses: a, length: v1.length });
      const v2 = encodeProxyV2(a);
      expect(parseProxyHeader(v2)).toEqual({ status: "ok", version: 2, addresses: a, length: v2.length });
    });
  }

  it("round-trips UDP through v2", () => {
    const a: ProxyAddresses = { ...tcp6, family: "udp6" };
    expect(parseProxyHeader(encodeProxyV2(a))).toMatchObject({ status: "ok", addresses: a });
  });

  it("round-trips null through both versions", () => {
    expect(parseProxyHeader(encodeProxyV1(null))).toMatchObject({ status: "ok", version: 1, addresses: null });
    expect(parseProxyHeader(encodeProxyV2(null))).toMatchObject({ status: "ok", version: 2, addresses: null });
  });

  it("throws on invalid input with a clear message", () => {
    const withSource = (address: string, port = 1): ProxyAddresses => ({ ...tcp4, source: { address, port } });
    expect(() => encodeProxyV1(withSource("1.2.3.256"))).toThrow(/source address "1.2.3.256" is not an IPv4 address/);
    expect(() => encodeProxyV2(withSource("::1"))).toThrow(/source address "::1" is not an IPv4 address/);
    expect(() => encodeProxyV2({ ...tcp6, destination: { address: "1.2.3.4", port: 1 } })).toThrow(
      /destination address "1.2.3.4" is not an IPv6 address/,
    );
    expect(() => encodeProxyV1(withSource("1.2.3.4", 65536))).toThrow(/source port 65536 is not an integer 0..65535/);
    expect(() => encodeProxyV2(withSource("1.2.3.4", -1))).toThrow(/port -1/);
    expect(() => encodeProxyV2(withSource("1.2.3.4", 1.5))).toThrow(/port 1.5/);
    expect(() => encodeProxyV1({ ...tcp4, family: "udp4" })).toThrow(/v1 cannot carry family "udp4"/);
    expect(() => encodeProxyV2({ ...tcp4, family: "sctp4" as "tcp4" })).toThrow(/v2 cannot carry family "sctp4"/);
  });
});

describe("parseProxyHeader fuzz", () => {
  // xorshift32: a tiny seeded PRNG, so a failure reproduces with the same seed.
  function xorshift(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    };
  }

  it("never throws and never claims more bytes than it was given", () => {
    const next = xorshift(0x5eed);
    const seeds = [
      encodeProxyV2(tcp4),
      encodeProxyV2(tcp6),
      encodeProxyV2(null),
      encodeProxyV1(tcp4),
      encodeProxyV1(tcp6),
      ascii("PROXY UNKNOWN\r\n"),
    ];
    const statuses = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      let buf: Uint8Array;
      if (i % 3 === 0) {
        // Pure noise, up to 200 bytes.
        buf = new Uint8Array(next() % 200).map(() => next() & 0xff);
      } else {
        // A valid header with a few bytes changed and the end cut or extended,
        // which reaches far deeper into the parser than noise does.
        const base = seeds[next() % seeds.length];
        buf = concat(base, new Uint8Array(next() % 8).map(() => next() & 0xff));
        for (let m = next() % 4; m > 0; m--) buf[next() % buf.length] = next() & 0xff;
        buf = buf.subarray(0, next() % (buf.length + 1));
      }
      const r = parseProxyHeader(buf);
      statuses.add(r.status);
      if (r.status === "ok") {
        expect(r.length).toBeGreaterThan(0);
        expect(r.length).toBeLessThanOrEqual(buf.length);
      }
      if (r.status === "error") expect(typeof r.reason).toBe("string");
    }
    // The mutations are meant to reach every outcome; if not, the fuzz is not doing its job.
    expect([...statuses].sort()).toEqual(["error", "need-more", "none", "ok"]);
  });
});
