/**
 * TLS to targets (a pool's `tls`), against a real TLS target (node:http2 with HTTP/1.1
 * allowed, started by the test): verified against a CA file, refused when it cannot be
 * verified, not verified when told (with a warning), the SNI sent, a client
 * certificate for a target that asks for one, and `protocol: h2` choosing HTTP/2 by
 * ALPN. What the target saw is in its answer: the version, the Host and the SNI.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import { spawnVane, type VaneProcess } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand } from "../helpers/command.ts";
import { waitFor } from "../helpers/wait.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

const TARGET = fileURLToPath(new URL("../fixtures/tls-target.cjs", import.meta.url));
const dirs: string[] = [];

afterEach(async () => {
  stopNodeServers();
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(removeCerts);

function tlsTarget(args: string[]): Promise<number> {
  return nodeServer({ file: TARGET, args }).then((s) => s.port);
}

/** vane with one http:// listener in front of pool `app`, whose YAML is `pool`. */
async function vaneWithPool(pool: string): Promise<{ vane: VaneProcess; port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "vane-utls-"));
  dirs.push(dir);
  writeFileSync(
    join(dir, "vane.yaml"),
    `workers: 1
control: { listen: off }
listeners:
  - listen: http://127.0.0.1:${port}
    flow: [{ proxy: app }]
pools:
  app: ${pool}
`,
  );
  const vane = spawnVane(["--config", join(dir, "vane.yaml")]);
  await waitFor("vane listening", () => vane.stderr().includes("listening") || vane.stderr().includes("error"), 15_000);
  return { vane, port };
}

const get = (port: number, extra: string[] = []) =>
  runCommand("curl", ["-sS", "-w", " %{http_code}", ...extra, `http://127.0.0.1:${port}/path`]);

describe("TLS to targets", () => {
  it("verifies the target against the pool's CA and sends the name by SNI; HTTP/1.1 inside", async () => {
    const cert = makeCert("app.internal");
    const target = await tlsTarget([cert.certPath, cert.keyPath]);
    const { port } = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, tls: { ca: ${cert.certPath}, server-name: app.internal } }`,
    );
    const r = await get(port, ["-H", "Host: shop.test"]);
    expect(r.stdout).toBe("1.1 GET /path host=shop.test sni=app.internal\n 200");
  });

  it("refuses a target its CAs cannot vouch for (the system store, or the wrong name), with the reason in the log", async () => {
    const cert = makeCert("app.internal");
    const target = await tlsTarget([cert.certPath, cert.keyPath]);
    const system = await vaneWithPool(`{ targets: [127.0.0.1:${target}], health: { check: none }, tls: on }`);
    expect((await get(system.port)).stdout).toMatch(/ 502$/);
    await waitFor("the reason", () => /self.signed certificate/.test(system.vane.stderr()), 5000);
    const wrongName = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, tls: { ca: ${cert.certPath}, server-name: other.internal } }`,
    );
    expect((await get(wrongName.port)).stdout).toMatch(/ 502$/);
    await waitFor(
      "the name mismatch",
      () => /ERR_TLS_CERT_ALTNAME_INVALID|does not match/i.test(wrongName.vane.stderr()),
      5000,
    );
  });

  it("skips verification only when told (verify: false), and says so at load", async () => {
    const cert = makeCert("app.internal");
    const target = await tlsTarget([cert.certPath, cert.keyPath]);
    const { vane, port } = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, tls: { verify: false } }`,
    );
    expect((await get(port)).stdout).toMatch(/^1\.1 GET \/path [^\n]*\n 200$/);
    expect(vane.stderr()).toContain("TLS to this pool's targets is not verified (tls.verify: false) pool=app");
  });

  it("presents a client certificate to a target that requires one (mTLS), and fails without", async () => {
    const server = makeCert("app.internal");
    const client = makeCert("vane.client");
    const target = await tlsTarget([server.certPath, server.keyPath, client.certPath]);
    const withCert = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, tls: { ca: ${server.certPath}, server-name: app.internal, cert: ${client.certPath}, key: ${client.keyPath} } }`,
    );
    expect((await get(withCert.port)).stdout).toMatch(/^1\.1 GET \/path [^\n]*\n 200$/);
    const without = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, tls: { ca: ${server.certPath}, server-name: app.internal } }`,
    );
    expect((await get(without.port)).stdout).toMatch(/ 502$/);
  });

  it("protocol: h2 speaks HTTP/2 over TLS, chosen by ALPN, to HTTP/2 and HTTP/1.1 clients alike", async () => {
    const cert = makeCert("app.internal");
    const target = await tlsTarget([cert.certPath, cert.keyPath]);
    const { port } = await vaneWithPool(
      `{ targets: [127.0.0.1:${target}], health: { check: none }, protocol: h2, tls: { ca: ${cert.certPath}, server-name: app.internal } }`,
    );
    const h2 = await get(port, ["--http2-prior-knowledge", "-H", "Host: shop.test"]);
    expect(h2.stdout).toBe("2.0 GET /path host=shop.test sni=app.internal\n 200");
    const h1 = await get(port, ["--http1.1", "-H", "Host: shop.test"]);
    expect(h1.stdout).toBe("2.0 GET /path host=shop.test sni=app.internal\n 200");
  });
});
