/** How operators write the active check and the statuses that count as up. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.ts";
import { parseExpect, parseHealthSpec } from "../../src/config/health-spec.ts";

describe("parseHealthSpec", () => {
  it("accepts tcp, none and http:/PATH", () => {
    expect(parseHealthSpec("tcp")).toEqual({ check: "tcp" });
    expect(parseHealthSpec("none")).toEqual({ check: "none" });
    expect(parseHealthSpec("http:/")).toEqual({ check: "http", path: "/" });
    expect(parseHealthSpec("http:/healthz")).toEqual({ check: "http", path: "/healthz" });
    expect(parseHealthSpec("http:/api/v1/ready?full=1")).toEqual({ check: "http", path: "/api/v1/ready?full=1" });
  });

  it.each([
    "",
    "http",
    "http:",
    "http:healthz",
    "http://host/healthz",
    "http:/a b",
    "http:/a\tb",
    "http:/a\r\nX: y",
    "http:/caf\u00e9",
    "TCP",
    " tcp",
    "udp",
    "https:/healthz",
  ])("refuses %j", (text) => {
    expect(() => parseHealthSpec(text)).toThrow(ConfigError);
    expect(() => parseHealthSpec(text)).toThrow(`expected tcp, none or http:/PATH; got ${JSON.stringify(text)}`);
  });
});

describe("parseExpect", () => {
  it("accepts a status or an inclusive range", () => {
    expect(parseExpect("200")).toEqual([200, 200]);
    expect(parseExpect("200-299")).toEqual([200, 299]);
    expect(parseExpect("100-599")).toEqual([100, 599]);
    expect(parseExpect("503-503")).toEqual([503, 503]);
  });

  it.each(["", "2xx", "99", "600", "0200", "200-", "-299", "299-200", "200 - 299", "200-600", "abc", "200,204"])(
    "refuses %j",
    (text) => {
      expect(() => parseExpect(text)).toThrow(ConfigError);
      expect(() => parseExpect(text)).toThrow(
        `expected a status or range like 200-299; got ${JSON.stringify(text)}`,
      );
    },
  );
});
