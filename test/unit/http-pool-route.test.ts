/** The Host a target gets for an HTTP/1.0 request without one (nginx's $proxy_host). */
import { describe, expect, it } from "vitest";
import { hostField } from "../../src/http/pool-route.ts";
import type { EndpointSpec } from "../../src/config/model.ts";

const ip = (host: string, port: number): EndpointSpec => ({
  kind: "ip",
  host,
  port,
  weight: 1,
  raw: `${host}:${port}`,
});
const dns = (host: string, port: number): EndpointSpec => ({
  kind: "dns",
  host,
  port,
  weight: 1,
  raw: `${host}:${port}`,
});
const node = (name: string): EndpointSpec => ({ kind: "node", node: name, port: 80, weight: 1, raw: name });

describe("hostField", () => {
  it("names an IP or DNS target with its port, leaving out :80", () => {
    expect(hostField(ip("10.0.0.1", 8080), null)).toBe("10.0.0.1:8080");
    expect(hostField(ip("10.0.0.1", 80), null)).toBe("10.0.0.1");
    // A name stays a name, whatever address it resolved to.
    expect(hostField(dns("api.internal", 8443), "10.0.0.9:8443")).toBe("api.internal:8443");
    expect(hostField(dns("api.internal", 80), null)).toBe("api.internal");
  });

  it("puts an IPv6 target in brackets", () => {
    expect(hostField(ip("::1", 8080), null)).toBe("[::1]:8080");
    expect(hostField(ip("::1", 80), null)).toBe("[::1]");
  });

  it("names a registry node by the address connected to", () => {
    expect(hostField(node("web-1"), "10.0.0.7:80")).toBe("10.0.0.7:80");
    expect(hostField(node("web-1"), null)).toBe("web-1");
  });
});
