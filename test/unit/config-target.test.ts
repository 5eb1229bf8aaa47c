import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.ts";
import {
  isIPv4,
  isIPv6,
  parseBindAddress,
  parseEndpoint,
  parseHostname,
  parseHostPort,
  parseIp,
  parseListen,
  parseRouteMatch,
  parseTarget,
  parseTargetList,
} from "../../src/config/target.ts";

describe("parseTarget", () => {
  it("reads IPv4 targets as kind ip with weight 1", () => {
    expect(parseTarget("10.0.0.1:80")).toEqual({
      kind: "ip",
      host: "10.0.0.1",
      port: 80,
      weight: 1,
      raw: "10.0.0.1:80",
    });
  });

  it("reads bracketed IPv6 targets, storing the host without brackets", () => {
    expect(parseTarget("[::1]:80")).toEqual({ kind: "ip", host: "::1", port: 80, weight: 1, raw: "[::1]:80" });
    expect(parseTarget("[2001:DB8::1]:443@3")).toEqual({
      kind: "ip",
      host: "2001:db8::1",
      port: 443,
      weight: 3,
      raw: "[2001:DB8::1]:443",
    });
    expect(parseTarget("[::ffff:10.0.0.1]:80")).toMatchObject({ kind: "ip", host: "::ffff:10.0.0.1" });
  });

  it("reads DNS names, lowercased and without a trailing dot, raw as written", () => {
    expect(parseTarget("API.Example.com.:8080")).toEqual({
      kind: "dns",
      host: "api.example.com",
      port: 8080,
      weight: 1,
      raw: "API.Example.com.:8080",
    });
    expect(parseTarget("localhost:1")).toMatchObject({ kind: "dns", host: "localhost" });
    expect(parseTarget("node:80")).toEqual({ kind: "dns", host: "node", port: 80, weight: 1, raw: "node:80" });
  });

  it("reads node targets", () => {
    expect(parseTarget("node:web:443")).toEqual({
      kind: "node",
      node: "web",
      port: 443,
      weight: 1,
      raw: "node:web:443",
    });
    expect(parseTarget("node:web-1.a_b:443@0")).toEqual({
      kind: "node",
      node: "web-1.a_b",
      port: 443,
      weight: 0,
      raw: "node:web-1.a_b:443",
    });
  });

  it("reads weights 0..256 and keeps them out of raw", () => {
    expect(parseTarget("10.0.0.1:80@0").weight).toBe(0);
    expect(parseTarget("10.0.0.1:80@256").weight).toBe(256);
    expect(parseTarget("10.0.0.1:80@7").raw).toBe("10.0.0.1:80");
  });

  it("refuses bad weights, naming the weight", () => {
    expect(() => parseTarget("10.0.0.1:80@257")).toThrowError(
      'expected a weight 0..256 after "@"; got "257" in "10.0.0.1:80@257"',
    );
    for (const bad of ["a:1@", "a:1@-1", "a:1@x", "a:1@1.5", "a:1@1000"]) {
      expect(() => parseTarget(bad)).toThrowError(/weight 0\.\.256/);
    }
  });

  it("refuses ports outside 1..65535", () => {
    expect(() => parseTarget("10.0.0.1:0")).toThrowError('expected a port 1..65535; got "0" in "10.0.0.1:0"');
    expect(() => parseTarget("a:65536")).toThrowError(/port 1\.\.65535; got "65536"/);
    expect(() => parseTarget("a:http")).toThrowError(/got "http"/);
    expect(() => parseTarget("a:")).toThrowError(/got ""/);
    expect(() => parseTarget("node:web:0")).toThrowError(/port 1\.\.65535/);
    expect(parseEndpoint("a:65535").port).toBe(65535);
  });

  it("refuses a missing port", () => {
    expect(() => parseTarget("10.0.0.1")).toThrowError('expected HOST:PORT; got "10.0.0.1" (no port)');
    expect(() => parseTarget("example.com")).toThrowError(/no port/);
  });

  it("treats digits-and-dots as IPv4 and refuses bad ones instead of calling them DNS names", () => {
    expect(() => parseTarget("1.2.3:80")).toThrowError(
      'expected an IPv4 address (four numbers 0-255); got "1.2.3" in "1.2.3:80"',
    );
    expect(() => parseTarget("999.1.1.1:80")).toThrowError(/got "999.1.1.1"/);
    expect(() => parseTarget("1.2.3.4.5:80")).toThrowError(/IPv4/);
    expect(() => parseTarget("80:80")).toThrowError(/IPv4/);
    expect(() => parseTarget("01.2.3.4:80")).toThrowError(/IPv4/);
  });

  it("refuses IPv6 without brackets or with bad contents", () => {
    expect(() => parseTarget("::1:80")).toThrowError(/IPv6 in brackets, e.g. \[::1\]:80; got "::1:80"/);
    expect(() => parseTarget("[::1]")).toThrowError(/expected \[IPv6\]:PORT; got "\[::1\]"/);
    expect(() => parseTarget("[::1:80")).toThrowError(/\[IPv6\]:PORT/);
    expect(() => parseTarget("[::g]:80")).toThrowError(/IPv6 address inside \[ \]; got "::g"/);
    expect(() => parseTarget("[10.0.0.1]:80")).toThrowError(/IPv6/);
  });

  it("refuses bad host names", () => {
    for (
      const bad of ["a_b:80", "-a:80", "a-:80", "a..b:80", `${"a".repeat(64)}:80`, "ex ample:80", "*.a:80", "é.com:80"]
    ) {
      expect(() => parseTarget(bad)).toThrowError(/expected a host name/);
    }
    expect(parseTarget(`${"a".repeat(63)}:80`).kind).toBe("dns");
  });

  it("refuses bad node targets", () => {
    expect(() => parseTarget("node:web")).toThrowError(
      'expected node:NAME:PORT (NAME of letters, digits, "-", "_", "."); got "node:web"',
    );
    expect(() => parseTarget("node::80")).toThrowError(/node:NAME:PORT/);
    expect(() => parseTarget("node:w b:80")).toThrowError(/node:NAME:PORT/);
  });

  it("refuses empty text", () => {
    expect(() => parseTarget("")).toThrow(ConfigError);
    expect(() => parseTarget("@3")).toThrowError(/expected a target like/);
  });
});

describe("parseTargetList", () => {
  it("reads a comma-separated list in order, ignoring spaces around items", () => {
    const list = parseTargetList("a:1, b:2@3 ,[::1]:4");
    expect(list.map((t) => t.raw)).toEqual(["a:1", "b:2", "[::1]:4"]);
    expect(list.map((t) => t.weight)).toEqual([1, 3, 1]);
  });

  it("refuses empty lists and empty items", () => {
    expect(() => parseTargetList("")).toThrowError('expected a comma-separated list of targets; got ""');
    expect(() => parseTargetList("a:1,,b:2")).toThrowError(/empty item in "a:1,,b:2"/);
    expect(() => parseTargetList("a:1,")).toThrowError(/empty item/);
  });

  it("reports the bad item", () => {
    expect(() => parseTargetList("a:1,b")).toThrowError(/got "b"/);
  });
});

describe("parseListen", () => {
  it("reads HOST:PORT, :PORT, tcp:// and bracketed IPv6", () => {
    expect(parseListen("127.0.0.1:8080")).toEqual({
      protocol: "tcp",
      host: "127.0.0.1",
      port: 8080,
      raw: "127.0.0.1:8080",
    });
    expect(parseListen(":8080")).toEqual({ protocol: "tcp", host: "0.0.0.0", port: 8080, raw: ":8080" });
    expect(parseListen("tcp://[::1]:0")).toEqual({ protocol: "tcp", host: "::1", port: 0, raw: "tcp://[::1]:0" });
    expect(parseListen("TCP://:1").port).toBe(1);
    expect(parseListen("Localhost:65535").host).toBe("localhost");
  });

  it("refuses other schemes, naming the scheme", () => {
    expect(() => parseListen("ftp://:21")).toThrowError(
      'expected a tcp://, http://, https:// or udp:// listener; got scheme "ftp://" in "ftp://:21"',
    );
    expect(parseListen("udp://127.0.0.1:53")).toEqual({
      protocol: "udp",
      host: "127.0.0.1",
      port: 53,
      raw: "udp://127.0.0.1:53",
    });
    expect(parseListen("https://a:443").protocol).toBe("https");
    expect(parseListen("http://127.0.0.1:80").protocol).toBe("http");
  });

  it("refuses bad ports and hosts", () => {
    expect(() => parseListen(":65536")).toThrowError(/port 0\.\.65535; got "65536"/);
    expect(() => parseListen("8080")).toThrowError(/no port/);
    expect(() => parseListen("1.2.3:80")).toThrowError(/IPv4/);
    expect(() => parseListen("tcp://tcp://:80")).toThrow(ConfigError);
  });
});

describe("parseBindAddress", () => {
  it("reads the listen forms without a scheme", () => {
    expect(parseBindAddress("127.0.0.1:9901")).toEqual({ host: "127.0.0.1", port: 9901 });
    expect(parseBindAddress(":0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseBindAddress("[::]:1")).toEqual({ host: "::", port: 1 });
  });

  it("refuses a scheme", () => {
    expect(() => parseBindAddress("tcp://:1")).toThrowError(/without a scheme; got "tcp:\/\/:1"/);
  });
});

describe("parseHostPort", () => {
  it("tells ip from dns and can refuse names", () => {
    expect(parseHostPort("8.8.8.8:53", { ipOnly: true })).toEqual({ host: "8.8.8.8", port: 53, kind: "ip" });
    expect(parseHostPort("dns.google:53")).toEqual({ host: "dns.google", port: 53, kind: "dns" });
    expect(() => parseHostPort("dns.google:53", { ipOnly: true })).toThrowError(
      /IP address, not a host name; got "dns.google"/,
    );
  });

  it("refuses an empty host unless asked", () => {
    expect(() => parseHostPort(":53")).toThrowError(/host before the port; got ":53"/);
  });
});

describe("IP literals", () => {
  it("validates IPv4", () => {
    for (const ok of ["0.0.0.0", "255.255.255.255", "10.0.0.1"]) expect(isIPv4(ok)).toBe(true);
    for (const bad of ["1.2.3", "256.0.0.1", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "1..2.3"]) {
      expect(isIPv4(bad)).toBe(false);
    }
  });

  it("validates IPv6", () => {
    for (const ok of ["::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "FE80::A"]) {
      expect(isIPv6(ok)).toBe(true);
    }
    for (
      const bad of [
        "",
        "1",
        ":::",
        "1::2::3",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::8",
        "12345::",
        "::g",
        "::1.2.3",
        "fe80::1%eth0",
        ":1:2:3:4:5:6:7",
      ]
    ) {
      expect(isIPv6(bad)).toBe(false);
    }
  });

  it("parseIp normalises and strips brackets", () => {
    expect(parseIp("10.0.0.1")).toBe("10.0.0.1");
    expect(parseIp("[::1]")).toBe("::1");
    expect(parseIp("FE80::1")).toBe("fe80::1");
    expect(() => parseIp("example.com")).toThrowError('expected an IP address like 10.0.0.1 or ::1; got "example.com"');
    expect(() => parseIp("[10.0.0.1]")).toThrow(ConfigError);
  });
});

describe("parseHostname", () => {
  it("lowercases and drops one trailing dot", () => {
    expect(parseHostname("Example.COM.")).toBe("example.com");
  });

  it("refuses empty, over-long and malformed names", () => {
    for (const bad of ["", ".", "a..b", "a.b..", `${"a".repeat(60)}.`.repeat(5)]) {
      expect(() => parseHostname(bad)).toThrowError(/expected a host name/);
    }
  });
});

describe("parseRouteMatch", () => {
  it("reads *, host, *.suffix and path prefixes", () => {
    expect(parseRouteMatch("*")).toEqual({ kind: "any" });
    expect(parseRouteMatch("API.Example.com.")).toEqual({ kind: "host", host: "api.example.com" });
    expect(parseRouteMatch("*.Example.com")).toEqual({ kind: "wildcard", suffix: "example.com" });
    expect(parseRouteMatch("api.example.com/v1")).toEqual({ kind: "host", host: "api.example.com", pathPrefix: "/v1" });
    expect(parseRouteMatch("*.example.com/v1/x")).toEqual({
      kind: "wildcard",
      suffix: "example.com",
      pathPrefix: "/v1/x",
    });
  });

  it("leaves pathPrefix out when there is no path", () => {
    expect("pathPrefix" in parseRouteMatch("a.com")).toBe(false);
  });

  it("refuses stray wildcards, a path after * and bad paths", () => {
    expect(() => parseRouteMatch("*/v1")).toThrowError(/"\*" alone/);
    expect(() => parseRouteMatch("a.*.com")).toThrowError(/got "a.\*.com"/);
    expect(() => parseRouteMatch("**")).toThrow(ConfigError);
    expect(() => parseRouteMatch("*.")).toThrowError(/host name/);
    expect(() => parseRouteMatch("/v1")).toThrowError(/host name/);
    expect(() => parseRouteMatch("a.com/v 1")).toThrowError(/path prefix/);
    expect(() => parseRouteMatch("a_b.com")).toThrowError(/host name; .*got "a_b.com"|got "a_b.com"/);
  });
});

describe("parseTargetList duplicates", () => {
  it("refuses the same target twice in one list, pointing at @WEIGHT", () => {
    expect(() => parseTargetList("127.0.0.1:80,127.0.0.1:80@3")).toThrow(/"127\.0\.0\.1:80" twice.*|@WEIGHT/);
    expect(() => parseTargetList("a.example:80,b.example:80,a.example:80")).toThrow(/"a\.example:80" twice/);
  });
});
