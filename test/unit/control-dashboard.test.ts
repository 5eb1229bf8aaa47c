/**
 * `GET /` on the status endpoint (src/control/dashboard.ts): one HTML page that loads
 * nothing from elsewhere, under a CSP whose nonce is the one its script and style carry.
 * The page's behaviour in a browser is test/integration/dashboard.test.ts's.
 */
import { describe, expect, it } from "vitest";
import { createControlApp } from "../../src/control/app.ts";
import type { AdminOps } from "../../src/control/admin-routes.ts";
import { DASHBOARD_SCRIPT } from "../../src/control/dashboard-script.ts";
import { EventHub } from "../../src/control/events.ts";
import type { StatusSnapshot } from "../../src/control/snapshot.ts";

const snapshot = (): StatusSnapshot => ({
  version: "0.1.0",
  runtime: "bun",
  uptimeSeconds: 1,
  config: { generation: 1, loadedAt: "2026-12-06T10:00:00.000Z" },
  listeners: [],
  pools: {},
  bytes: { upstream: 0, downstream: 0 },
  detections: {},
  requests: [],
  workers: [{ worker: 0, pid: 1, connections: 0, open: 0 }],
});

const admin: AdminOps = {
  listeners: () => Promise.resolve([]),
  pools: () => Promise.resolve({}),
  change: () => Promise.resolve({ ok: true }),
  events: new EventHub(),
};

const app = createControlApp({ snapshot, admin });

describe("GET / (the dashboard)", () => {
  it("serves one HTML page that does not let caches keep it", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8/i);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const page = await res.text();
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<div id="pools">');
  });

  it("names no other origin: no external src or href, no URL but the SVG namespace", async () => {
    const page = await (await app.request("/")).text();
    const refs = [...page.matchAll(/\b(?:src|href|action)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]);
    expect(refs).toEqual(["data:,"]); // the favicon, inline: no request for /favicon.ico
    expect(page).not.toMatch(/\/\/cdn|@import|url\(/i);
    const urls = [...page.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]*/gi)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg"]));
  });

  it("sends a CSP whose fresh nonce is the one on the inline script and style", async () => {
    const [a, b] = [await app.request("/"), await app.request("/")];
    const csp = a.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)![1];
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);
    const page = await a.text();
    expect(page).toContain(`<script nonce="${nonce}">`);
    expect(page).toContain(`<style nonce="${nonce}">`);
    expect(b.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("carries a script that parses and never writes markup from data", () => {
    expect(() => new Function(DASHBOARD_SCRIPT)).not.toThrow();
    expect(DASHBOARD_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    // The token goes in a header only, never in a URL.
    expect(DASHBOARD_SCRIPT).toContain('headers.Authorization = "Bearer " + token()');
    expect(DASHBOARD_SCRIPT).not.toMatch(/[?&]token=/);
  });

  it("answers HEAD, refuses other methods with 405, and is absent without the admin API", async () => {
    expect((await app.request("/", { method: "HEAD" })).status).toBe(200);
    const put = await app.request("/", { method: "PUT" }, { remote: { hostname: "127.0.0.1", port: 1 } });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    expect((await createControlApp(snapshot).request("/")).status).toBe(404);
  });
});
