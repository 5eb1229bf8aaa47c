import { afterAll, describe, expect, it } from "vitest";
import { CertStore } from "../../src/tls/cert-store.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

afterAll(removeCerts);

describe("CertStore", () => {
  it("answers null for a name it does not manage, so the listener's own certificates decide", () => {
    const store = new CertStore();
    store.expect(["app.example.com"]);
    expect(store.certFor("other.example.com")).toBeNull();
    expect(store.certFor(null)).toBeNull();
  });

  it("holds a handshake for a pending name until its certificate is installed", async () => {
    const store = new CertStore({ holdMs: 5_000 });
    store.expect(["app.example.com"]);
    const waiting = store.certFor("APP.example.com.");
    expect(waiting).toBeInstanceOf(Promise);
    const c = makeCert("app.example.com");
    store.install("app.example.com", c);
    expect((await waiting)?.cert).toBe(c.cert);
    expect(store.certFor("app.example.com")).toEqual({ cert: c.cert, key: c.key });
  });

  it("gives up on a pending name after the hold, with null", async () => {
    const store = new CertStore({ holdMs: 50 });
    store.expect(["app.example.com"]);
    const started = Date.now();
    expect(await store.certFor("app.example.com")).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("shows pending, failed and valid, keeping a renewal failure beside a certificate still served", () => {
    const store = new CertStore();
    store.expect(["a.example.com", "b.example.com"]);
    expect(store.status().map((s) => s.state)).toEqual(["pending", "pending"]);
    store.fail("a.example.com", "http-01: connection refused");
    store.install("b.example.com", makeCert("b.example.com"));
    store.fail("b.example.com", "http-01: timeout");
    const [a, b] = store.status();
    expect(a).toEqual({
      name: "a.example.com",
      state: "failed",
      notAfter: null,
      expiresInSeconds: null,
      lastError: "http-01: connection refused",
    });
    expect(b.state).toBe("valid");
    expect(b.lastError).toBe("http-01: timeout");
    expect(b.expiresInSeconds).toBeGreaterThan(86_400);
  });

  it("drops names no longer expected", () => {
    const store = new CertStore();
    store.expect(["a.example.com", "b.example.com"]);
    store.expect(["b.example.com"]);
    expect(store.names()).toEqual(["b.example.com"]);
  });
});
