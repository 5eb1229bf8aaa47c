/**
 * TLS passthrough by SNI on one port, next to raw TCP: vane reads the ClientHello,
 * routes by its server name, and forwards the bytes untouched, so the client sees
 * the backend's own certificate (checked with openssl s_client).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import tls from "node:tls";
import { closeAll, echoServer, nameServer, startServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { makeCert, removeCerts, sClient, tlsNameServer } from "../helpers/tls.ts";
import { metrics, startVane, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

const alphaCert = makeCert("alpha.test");
const betaCert = makeCert("beta.test", "*.beta.test");
const extra: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
  await Promise.all(extra.splice(0).map((s) => s.close()));
});
afterAll(removeCerts);

/** Captures the ClientHello a real TLS client (node:tls) sends for `servername`. */
async function captureClientHello(servername: string): Promise<Buffer> {
  let resolveHello!: (b: Buffer) => void;
  const hello = new Promise<Buffer>((r) => (resolveHello = r));
  const capture = await startServer((s) => {
    s.once("data", (d) => {
      resolveHello(d);
      s.destroy();
    });
  });
  const client = tls.connect({ host: "127.0.0.1", port: capture.port, servername, rejectUnauthorized: false });
  client.on("error", () => {});
  const bytes = await hello;
  client.destroy();
  return bytes;
}

async function startMixedPort() {
  const alpha = await tlsNameServer("alpha", alphaCert);
  const beta = await tlsNameServer("beta", betaCert);
  extra.push(alpha, beta);
  const echo = await echoServer();
  const v = await startVane([
    "--route",
    `alpha.test=127.0.0.1:${alpha.port}`,
    "--route",
    `*.beta.test=127.0.0.1:${beta.port}`,
    "--route",
    `*=127.0.0.1:${echo.port}`,
  ]);
  return { v, alpha, beta, echo };
}

describe("TLS passthrough by SNI", () => {
  it("routes by SNI to backends with different certificates, which the client sees untouched", async () => {
    const { v } = await startMixedPort();
    const a = await sClient(v.port, "alpha.test");
    expect(a.peerCN).toBe("alpha.test");
    expect(a.greeting).toBe("alpha");
    const b = await sClient(v.port, "www.beta.test");
    expect(b.peerCN).toBe("beta.test");
    expect(b.greeting).toBe("beta");
    const text = await metrics(v);
    expect(text).toContain('vane_detect_total{protocol="tls"} 2');
  }, 30000);

  it("serves raw TCP on the same port through the catch-all route", async () => {
    const { v } = await startMixedPort();
    expect((await exchange(v.port, "plain bytes")).toString()).toBe("plain bytes");
    expect(await metrics(v)).toContain('vane_detect_total{protocol="other"} 1');
  }, 30000);

  it("routes a ClientHello that arrives split across segments", async () => {
    const hello = await captureClientHello("alpha.test");
    const alphaPlain = await nameServer("alpha-backend");
    const v = await startVane(["--route", `alpha.test=127.0.0.1:${alphaPlain.port}`]);
    const s = net.connect({ host: "127.0.0.1", port: v.port });
    const got: Buffer[] = [];
    s.on("data", (d) => got.push(d));
    const ended = new Promise<void>((r) => s.on("close", () => r()));
    await new Promise<void>((r) => s.once("connect", () => r()));
    const cuts = [3, 40, hello.length];
    let from = 0;
    for (const to of cuts) {
      s.write(hello.subarray(from, to));
      from = to;
      await new Promise((r) => setTimeout(r, 40));
    }
    await ended;
    expect(Buffer.concat(got).toString()).toBe("alpha-backend");
  }, 30000);

  it("closes a connection whose ClientHello is garbage, and only that one", async () => {
    const { v } = await startMixedPort();
    // A handshake record header, then a body that is no ClientHello.
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]), Buffer.alloc(16, 0xee)]);
    const reply = await exchange(v.port, garbage).catch((err) => err.code);
    expect(reply === "ECONNRESET" || (Buffer.isBuffer(reply) && reply.length === 0)).toBe(true);
    await waitFor(
      "the log names the malformed hello",
      () => v.logs.some((l) => l.msg === "connection closed: malformed first bytes" && /tls/.test(String(l.reason))),
    );
    expect(await metrics(v)).toContain('vane_detect_total{protocol="invalid"} 1');
    // Others on the same port are unaffected.
    expect((await sClient(v.port, "alpha.test")).greeting).toBe("alpha");
    expect((await exchange(v.port, "still fine")).toString()).toBe("still fine");
  }, 30000);

  it("closes TLS for an unknown name when there is no catch-all", async () => {
    const alpha = await tlsNameServer("alpha", alphaCert);
    extra.push(alpha);
    const v = await startVane(["--route", `alpha.test=127.0.0.1:${alpha.port}`]);
    const r = await sClient(v.port, "nobody.test");
    expect(r.peerCN).toBeNull();
    expect(r.greeting).toBeNull();
    await waitFor(
      "the log says no route for the SNI",
      () => v.logs.some((l) => l.msg === "connection closed: no route" && l.for === "tls sni=nobody.test"),
    );
    expect((await sClient(v.port, "alpha.test")).peerCN).toBe("alpha.test");
  }, 30000);
});

describe("status of a multi-route listener", () => {
  it("lists the listener's flow, most specific route first", async () => {
    const { v, alpha, beta, echo } = await startMixedPort();
    const s = await (await fetch(`${v.statusUrl}/status`)).json();
    expect(s.config.generation).toBe(1);
    expect(s.listeners).toEqual([{
      listen: "127.0.0.1:0",
      protocol: "tcp",
      address: `127.0.0.1:${v.port}`,
      flow: [
        { when: { host: "alpha.test" }, proxy: "alpha.test" },
        { when: { host: "*.beta.test" }, proxy: "*.beta.test" },
        { proxy: "default" },
      ],
    }]);
    expect(s.pools["alpha.test"].targets[0].target).toBe(`127.0.0.1:${alpha.port}`);
    expect(s.pools["*.beta.test"].targets[0].target).toBe(`127.0.0.1:${beta.port}`);
    expect(s.pools.default.targets[0].target).toBe(`127.0.0.1:${echo.port}`);
  });
});
