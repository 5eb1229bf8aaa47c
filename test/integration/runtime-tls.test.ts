/**
 * The runtime adapter's TLS termination on the runtime under test: the certificate is
 * picked by SNI (exact, wildcard, else the first), the accepted connection carries the
 * decrypted bytes both ways and names the SNI; plus the runtime-independent picking.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import tls from "node:tls";
import { randomBytes } from "node:crypto";
import { readAll } from "../helpers/tcp-conn.ts";
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpListener, TlsConn } from "../../src/runtime/mod.ts";
import { certNames, nameMatches, selectCert } from "../../src/runtime/tls-select.ts";
import { type Cert, makeCert, removeCerts, sClient } from "../helpers/tls.ts";

let alpha: Cert;
let beta: Cert;

beforeAll(() => {
  alpha = makeCert("alpha.test");
  beta = makeCert("beta.test", "*.beta.test");
});
afterAll(removeCerts);

describe("certificate choice by SNI (tls-select)", () => {
  it("reads the DNS names from the certificate", () => {
    expect(certNames(alpha.cert)).toEqual(["alpha.test"]);
    expect(certNames(beta.cert)).toEqual(["beta.test", "*.beta.test"]);
  });

  it("matches a wildcard for exactly one label", () => {
    expect(nameMatches("*.beta.test", "x.beta.test")).toBe(true);
    expect(nameMatches("*.beta.test", "beta.test")).toBe(false);
    expect(nameMatches("*.beta.test", "a.x.beta.test")).toBe(false);
    expect(nameMatches("alpha.test", "alpha.test")).toBe(true);
  });

  it("prefers exact names, then the longest wildcard, else the first", () => {
    const names = [["default.test"], ["*.example.com"], ["*.a.example.com"], ["www.a.example.com"]];
    expect(selectCert(names, "www.a.example.com")).toBe(3);
    expect(selectCert(names, "x.a.example.com")).toBe(2);
    expect(selectCert(names, "b.example.com")).toBe(1);
    expect(selectCert(names, "WWW.A.Example.COM.")).toBe(3);
    expect(selectCert(names, "other.test")).toBe(0);
    expect(selectCert(names, null)).toBe(0);
    expect(selectCert([["*.x.test"], ["*.x.test"]], "a.x.test")).toBe(0);
    expect(selectCert([["*.x.test"], ["a.x.test"]], "a.x.test")).toBe(1);
  });
});

describe("runtime TLS termination", () => {
  let listener: TcpListener;
  const seen: Array<string | null> = [];
  let lastRemote = "";

  beforeAll(async () => {
    listener = await runtime().listenTls(
      { hostname: "127.0.0.1", port: 0 },
      (conn) => void serve(conn),
      { certs: [alpha, beta].map((c) => ({ cert: c.cert, key: c.key })), alpn: ["http/1.1"] },
    );
  });
  afterAll(() => listener.close());

  // "echo:" as the first bytes echoes everything back; otherwise greet and close.
  async function serve(conn: TlsConn): Promise<void> {
    seen.push(conn.sni);
    lastRemote = conn.remote.hostname;
    try {
      if (conn.sni === "slow.beta.test") {
        // Reads nothing for a while, then counts: the client must be held back meanwhile.
        await new Promise((r) => setTimeout(r, 500));
        let n = 0;
        for (let c = await conn.read(); c !== null; c = await conn.read()) n += c.length;
        await conn.write(new TextEncoder().encode(String(n)));
        await conn.closeWrite();
      } else if (conn.sni === "echo.beta.test") {
        for (let c = await conn.read(); c !== null; c = await conn.read()) await conn.write(c);
        await conn.closeWrite();
      } else {
        await conn.write(new TextEncoder().encode("hello-from-terminated\n"));
        await conn.closeWrite();
        await readAll(conn);
      }
    } catch { /* the client went away */ }
    conn.close();
  }

  it("shows the certificate for the exact SNI name and reports the SNI", async () => {
    seen.length = 0;
    const r = await sClient(listener.addr.port, "alpha.test");
    expect(r.peerCN).toBe("alpha.test");
    expect(r.greeting).toBe("terminated");
    expect(seen).toEqual(["alpha.test"]);
    expect(lastRemote).toBe("127.0.0.1");
  });

  it("matches a wildcard name", async () => {
    seen.length = 0;
    const r = await sClient(listener.addr.port, "x.beta.test");
    expect(r.peerCN).toBe("beta.test");
    expect(r.greeting).toBe("terminated");
    expect(seen).toEqual(["x.beta.test"]);
  });

  it("falls back to the first certificate without SNI or without a match", async () => {
    seen.length = 0;
    const none = await sClient(listener.addr.port, null);
    expect(none.peerCN).toBe("alpha.test");
    expect(none.greeting).toBe("terminated");
    const other = await sClient(listener.addr.port, "gamma.test");
    expect(other.peerCN).toBe("alpha.test");
    expect(seen).toEqual([null, "gamma.test"]);
  });

  it("carries 1 MB both ways, decrypted, byte-exact (node:tls client)", async () => {
    const payload = randomBytes(1 << 20);
    const back = await new Promise<{ data: Buffer; cn: string; alpn: string | false }>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = tls.connect({
        host: "127.0.0.1",
        port: listener.addr.port,
        servername: "echo.beta.test",
        rejectUnauthorized: false,
        ALPNProtocols: ["http/1.1"],
      }, () => {
        const cn = String(s.getPeerCertificate().subject?.CN ?? "");
        const alpn = s.alpnProtocol ?? false;
        s.on("end", () => resolve({ data: Buffer.concat(chunks), cn, alpn }));
        s.write(payload);
        s.end();
      });
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("error", reject);
    });
    expect(back.cn).toBe("beta.test");
    expect(back.alpn).toBe("http/1.1");
    expect(back.data.length).toBe(payload.length);
    expect(back.data.equals(payload)).toBe(true);
  });

  it("holds a fast sender back while the reader does not read, and loses nothing", async () => {
    const size = 32 << 20;
    const result = await new Promise<{ heldBack: number; reply: string }>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let heldBack = 0;
      const s = tls.connect({
        host: "127.0.0.1",
        port: listener.addr.port,
        servername: "slow.beta.test",
        rejectUnauthorized: false,
      }, () => {
        s.write(Buffer.alloc(size, 7));
        s.end();
        // The server sleeps 500 ms before reading: by now the kernel and adapter
        // buffers are full and the rest must still sit in the client.
        setTimeout(() => (heldBack = s.writableLength), 300);
      });
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("end", () => resolve({ heldBack, reply: Buffer.concat(chunks).toString() }));
      s.on("error", reject);
    });
    expect(result.heldBack).toBeGreaterThan(8 << 20);
    expect(result.reply).toBe(String(size));
  });
});
