import { describe, expect, it } from "vitest";
import { cidrContains, formatIpBytes, parseCidr, parseCidrList, parseIpBytes } from "../../src/config/cidr.ts";
import { ConfigError } from "../../src/config/errors.ts";

const message = (text: string) =>
  `expected an IP address or CIDR like 10.0.0.0/8 or fd00::/8; got ${JSON.stringify(text)}`;

describe("parseIpBytes", () => {
  it("reads IPv4 as 4 bytes", () => {
    expect(parseIpBytes("1.2.3.4")).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(parseIpBytes("255.255.255.255")).toEqual(Uint8Array.of(255, 255, 255, 255));
  });

  it("reads IPv6 as 16 bytes, expanding :: and IPv4 tails", () => {
    expect(parseIpBytes("::1")).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    expect(parseIpBytes("::")).toEqual(new Uint8Array(16));
    expect(parseIpBytes("2001:DB8::")).toEqual(Uint8Array.of(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(parseIpBytes("::ffff:1.2.3.4")).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4));
    expect(parseIpBytes("1:2:3:4:5:6:7:8")).toEqual(Uint8Array.of(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8));
    expect(parseIpBytes("1::8")).toEqual(Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8));
  });

  it("returns null for anything else", () => {
    for (
      const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "[::1]", "::1%eth0", "1::2::3", "1:2:3:4:5:6:7:8:9", "host"]
    ) {
      expect(parseIpBytes(bad)).toBeNull();
    }
  });
});

describe("formatIpBytes", () => {
  const fmt = (text: string) => formatIpBytes(parseIpBytes(text)!);

  it("follows RFC 5952", () => {
    expect(fmt("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(fmt("2001:0DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(fmt("::")).toBe("::");
    // A single zero group is not compressed.
    expect(fmt("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    // The longest run wins; on a tie, the first.
    expect(fmt("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(fmt("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(fmt("1:0:0:0:0:0:0:0")).toBe("1::");
  });

  it("writes IPv4-mapped addresses in mixed notation", () => {
    expect(fmt("::ffff:102:304")).toBe("::ffff:1.2.3.4");
    expect(fmt("1.2.3.4")).toBe("1.2.3.4");
  });
});

describe("parseCidr", () => {
  it("reads v4 and v6 ranges and bare addresses", () => {
    expect(parseCidr("10.0.0.0/8")).toEqual({
      family: 4,
      bytes: Uint8Array.of(10, 0, 0, 0),
      prefix: 8,
      raw: "10.0.0.0/8",
    });
    expect(parseCidr("127.0.0.1")).toMatchObject({ family: 4, prefix: 32 });
    expect(parseCidr("::1/128")).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCidr("::1")).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCidr("fd00::/8")).toMatchObject({ family: 6, prefix: 8 });
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ family: 4, prefix: 0 });
  });

  it("clears host bits beyond the prefix, like iptables", () => {
    expect(parseCidr("10.1.2.3/8").bytes).toEqual(Uint8Array.of(10, 0, 0, 0));
    expect(parseCidr("192.168.255.255/23").bytes).toEqual(Uint8Array.of(192, 168, 254, 0));
    expect(formatIpBytes(parseCidr("fdff:ffff::1/7").bytes)).toBe("fc00::");
  });

  it("refuses bad input with one clear message", () => {
    for (
      const bad of [
        "",
        "10.0.0.0/",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/08",
        "10.0.0.0/-1",
        "10.0.0/8",
        "/8",
        "host/8",
        "[::1]/128",
        "10.0.0.0/8/8",
        " 10.0.0.0/8",
      ]
    ) {
      expect(() => parseCidr(bad)).toThrow(ConfigError);
      expect(() => parseCidr(bad)).toThrow(message(bad));
    }
  });
});

describe("parseCidrList", () => {
  it("splits on commas and trims", () => {
    const list = parseCidrList("10.0.0.0/8, ::1 ,192.168.0.0/16");
    expect(list.map((c) => c.raw)).toEqual(["10.0.0.0/8", "::1", "192.168.0.0/16"]);
  });

  it("refuses empty lists and empty items", () => {
    expect(() => parseCidrList("")).toThrow(message(""));
    expect(() => parseCidrList("10.0.0.0/8,")).toThrow(message("10.0.0.0/8,"));
    expect(() => parseCidrList("10.0.0.0/8,nope")).toThrow(message("nope"));
  });
});

describe("cidrContains", () => {
  it("handles /0, /32 and /128", () => {
    expect(cidrContains(parseCidr("0.0.0.0/0"), "255.255.255.255")).toBe(true);
    expect(cidrContains(parseCidr("0.0.0.0/0"), "0.0.0.0")).toBe(true);
    expect(cidrContains(parseCidr("0.0.0.0/0"), "::1")).toBe(false);
    expect(cidrContains(parseCidr("::/0"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(true);
    expect(cidrContains(parseCidr("::/0"), "1.2.3.4")).toBe(false);
    expect(cidrContains(parseCidr("10.0.0.1/32"), "10.0.0.1")).toBe(true);
    expect(cidrContains(parseCidr("10.0.0.1"), "10.0.0.2")).toBe(false);
    expect(cidrContains(parseCidr("::1/128"), "0:0:0:0:0:0:0:1")).toBe(true);
    expect(cidrContains(parseCidr("::1"), "::2")).toBe(false);
  });

  it("handles prefixes that end inside a byte", () => {
    const fc = parseCidr("fc00::/7");
    expect(cidrContains(fc, "fc00::")).toBe(true);
    expect(cidrContains(fc, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(true);
    expect(cidrContains(fc, "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(false);
    expect(cidrContains(fc, "fe00::")).toBe(false);
    const v4 = parseCidr("2.0.0.0/7");
    expect(cidrContains(v4, "2.0.0.0")).toBe(true);
    expect(cidrContains(v4, "3.255.255.255")).toBe(true);
    expect(cidrContains(v4, "1.255.255.255")).toBe(false);
    expect(cidrContains(v4, "4.0.0.0")).toBe(false);
    const s = parseCidr("172.16.0.0/12");
    expect(cidrContains(s, "172.31.255.255")).toBe(true);
    expect(cidrContains(s, "172.32.0.0")).toBe(false);
  });

  it("matches IPv4-mapped IPv6 addresses against IPv4 ranges", () => {
    const ten = parseCidr("10.0.0.0/8");
    expect(cidrContains(ten, "::ffff:10.1.2.3")).toBe(true);
    expect(cidrContains(ten, "::FFFF:a01:203")).toBe(true);
    expect(cidrContains(ten, "::ffff:11.0.0.0")).toBe(false);
    // Not mapped: an IPv4-compatible or other IPv6 address is not IPv4.
    expect(cidrContains(ten, "::10.1.2.3")).toBe(false);
    // The mapped block itself still works as an IPv6 range.
    expect(cidrContains(parseCidr("::ffff:0:0/96"), "::ffff:1.2.3.4")).toBe(true);
  });

  it("returns false for anything that is not an IP literal", () => {
    const all = parseCidr("0.0.0.0/0");
    for (const bad of ["", "localhost", "[::1]", "1.2.3.4:80", "10.0.0.0/8", "::1%lo"]) {
      expect(cidrContains(all, bad)).toBe(false);
      expect(cidrContains(parseCidr("::/0"), bad)).toBe(false);
    }
  });
});
