import { describe, expect, it } from "vitest";
import { adminRefusal, hostRefusal, isLoopback } from "../../src/control/guard.ts";

const at = (hostname: string) => ({ hostname, port: 9901 });

describe("hostRefusal", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1:9901"],
    ["127.0.0.1", "localhost:9901"],
    ["::1", "[::1]:9901"],
    ["::1", "localhost:9901"],
    ["0.0.0.0", "192.0.2.7:9901"],
    ["0.0.0.0", "[2001:db8::7]:9901"],
    ["::", "localhost:9901"],
    ["192.0.2.5", "192.0.2.5:9901"],
    ["localhost", "localhost:9901"],
    ["localhost", "127.0.0.1:9901"],
    ["", "192.0.2.7:9901"],
  ])("bound to %j, serves Host %s", (bound, host) => {
    expect(hostRefusal(host, at(bound))).toBe(null);
  });

  it.each([
    ["127.0.0.1", "evil.example:9901"],
    ["127.0.0.1", "localhost.:9901"],
    ["127.0.0.1", "127.0.0.2:9901"],
    ["127.0.0.1", "127.0.0.1:80"],
    ["127.0.0.1", "127.0.0.1"],
    ["127.0.0.1", "127.0.0.1:99999"],
    ["127.0.0.1", "user@127.0.0.1:9901"],
    ["0.0.0.0", "vane.example.com:9901"],
    ["::", "rebind.127.0.0.1.nip.io:9901"],
    ["192.0.2.5", "localhost:9901"],
    ["192.0.2.5", "192.0.2.6:9901"],
  ])("bound to %j, refuses Host %s", (bound, host) => {
    const why = hostRefusal(host, at(bound));
    expect(why).toMatch(/^Host ".*"[^\n]+, e\.g\. http:\/\/\S+\/$/);
  });

  it("refuses a request without Host", () => {
    expect(hostRefusal(undefined, at("127.0.0.1"))).toBe(
      "the request has no Host header; the status endpoint answers only to its address, e.g. http://127.0.0.1:9901/",
    );
  });
});

describe("isLoopback", () => {
  it("knows 127.0.0.0/8, ::1 and IPv4 loopback in IPv6 form, and nothing else", () => {
    for (const ip of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
      expect(isLoopback(ip)).toBe(true);
    }
    for (const ip of ["10.0.0.1", "::", "0.0.0.0", "::ffff:10.0.0.1", "localhost", "fe80::1"]) {
      expect(isLoopback(ip)).toBe(false);
    }
  });
});

describe("adminRefusal", () => {
  const LOCAL = { hostname: "127.0.0.1", port: 50000 };

  it("lets a loopback call through without an Origin, or with the endpoint's own", () => {
    expect(adminRefusal(LOCAL, undefined, "127.0.0.1:9901")).toBe(null);
    expect(adminRefusal(LOCAL, "http://127.0.0.1:9901", "127.0.0.1:9901")).toBe(null);
    expect(adminRefusal(LOCAL, "http://localhost", "localhost:80")).toBe(null);
  });

  it("refuses another address and another site's page, with a hint to set a token", () => {
    expect(adminRefusal({ hostname: "192.0.2.7", port: 1 }, undefined, "192.0.2.5:9901")).toBe(
      "no admin token is set, so admin calls are taken only from loopback; this one came from 192.0.2.7 " +
        "(set --admin-token-file FILE, VANE_ADMIN_TOKEN or control.token-file)",
    );
    expect(adminRefusal(null, undefined, "127.0.0.1:9901")).toContain("came from an unknown address");
    for (const origin of ["null", "http://evil.example", "http://127.0.0.1:9901/x", "HTTP://127.0.0.1:9901"]) {
      expect(adminRefusal(LOCAL, origin, "127.0.0.1:9901")).toContain("another site");
    }
    expect(adminRefusal(LOCAL, "http://127.0.0.1:9901", undefined)).toContain("another site");
  });
});
