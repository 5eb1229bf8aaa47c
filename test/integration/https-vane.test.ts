/**
 * https:// listeners: vane terminates TLS with the certificate the client's SNI asks
 * for (wildcards included, the first as default), then routes HTTP per request.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { curl, infoBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { makeCert, removeCerts, sClient } from "../helpers/tls.ts";
import { startVane, stopAllVanes } from "../helpers/vane.ts";

afterEach(async () => {
  await stopAllVanes();
  await stopAllHttp();
});
afterAll(removeCerts);

const alpha = makeCert("alpha.test");
const beta = makeCert("beta.test", "*.beta.test");

async function httpsVane(...extra: string[]) {
  const a = await infoBackend("alpha");
  const b = await infoBackend("beta");
  const v = await startVane([
    "--listen",
    "https://127.0.0.1:0",
    "--tls",
    `${alpha.certPath},${alpha.keyPath}`,
    "--tls",
    `${beta.certPath},${beta.keyPath}`,
    "--route",
    `alpha.test=127.0.0.1:${a.port}`,
    "--route",
    `*.beta.test=127.0.0.1:${b.port}`,
    ...extra,
  ]);
  return { v, port: v.vane.listeners[1].addr.port };
}

const get = (port: number, host: string, path = "/") =>
  curl(["-k", "--resolve", `${host}:${port}:127.0.0.1`, "-w", "\n%{http_code}", `https://${host}:${port}${path}`]);

describe("TLS termination", () => {
  it("routes HTTPS requests by host, telling targets the scheme was https", async () => {
    const { port } = await httpsVane();
    const r = await get(port, "alpha.test", "/a");
    const [body, code] = r.stdout.toString().split("\n");
    expect(code).toBe("200");
    const info = JSON.parse(body);
    expect(info.name).toBe("alpha");
    expect(info.headers["x-forwarded-proto"]).toBe("https");
    expect(info.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(JSON.parse((await get(port, "www.beta.test")).stdout.toString().split("\n")[0]).name).toBe("beta");
  }, 20000);

  it("presents the certificate the SNI names, wildcards included, and the first by default", async () => {
    // s_client waits for the server to close: a short deadline for the first head ends each connection.
    const { port } = await httpsVane("--request-head-timeout", "500ms");
    expect((await sClient(port, "alpha.test")).peerCN).toBe("alpha.test");
    expect((await sClient(port, "www.beta.test")).peerCN).toBe("beta.test");
    expect((await sClient(port, null)).peerCN).toBe("alpha.test");
  }, 20000);

  it("answers 421 for a host it has no route for", async () => {
    const { port } = await httpsVane();
    const r = await get(port, "other.test");
    expect(r.stdout.toString().split("\n").pop()).toBe("421");
  }, 20000);

  it("refuses to start when a certificate file cannot be read, naming it", async () => {
    await expect(startVane([
      "--listen",
      "https://127.0.0.1:0",
      "--tls",
      "/nonexistent/vane.crt,/nonexistent/vane.key",
      "--route",
      "*=127.0.0.1:9",
      "--health",
      "none",
    ])).rejects.toThrow("cannot read the TLS certificate /nonexistent/vane.crt");
  });
});

describe("TLS termination and --accept-proxy", () => {
  it("does not look for a PROXY header inside TLS, and says so at start", async () => {
    const a = await infoBackend("alpha");
    const v = await startVane([
      "--listen",
      "https://127.0.0.1:0",
      "--tls",
      `${alpha.certPath},${alpha.keyPath}`,
      "--route",
      `*=127.0.0.1:${a.port}`,
      "--accept-proxy",
      "127.0.0.1",
    ]);
    const port = v.vane.listeners[1].addr.port;
    const r = await get(port, "alpha.test");
    expect(r.stdout.toString().split("\n").pop()).toBe("200");
    expect(v.logs.some((l) => l.msg === "accept-proxy is not applied to https:// listeners")).toBe(true);
  }, 20000);
});
