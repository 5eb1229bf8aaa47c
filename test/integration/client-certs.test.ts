/**
 * Client certificates on an https:// listener (`client-auth`): required (a client
 * without one is refused at the handshake and nothing reaches a target) or requested
 * (the flow decides by the verified subject), and the subject passed to the target
 * in a header, over HTTP/1.1 and HTTP/2 alike.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBackend } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { spawnVane } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand } from "../helpers/command.ts";
import { waitFor } from "../helpers/wait.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(removeCerts);

async function vaneWith(yaml: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vane-mtls-"));
  dirs.push(dir);
  writeFileSync(join(dir, "vane.yaml"), `workers: 1\ncontrol: { listen: off }\n${yaml}`);
  const vane = spawnVane(["--config", join(dir, "vane.yaml")]);
  await waitFor("vane listening", () => vane.stderr().includes("listening"), 15_000);
}

describe("client certificates (client-auth)", () => {
  it("required: a verified client gets through with its subject in a header; one without a certificate is refused at the handshake", async () => {
    const seen: Array<string | undefined> = [];
    const backend = await startBackend((req, res) => {
      seen.push(req.headers["x-client-subject"] as string | undefined);
      res.end("ok");
    });
    const server = makeCert("secure.test");
    const client = makeCert("client.one");
    const port = await freePort();
    await vaneWith(`tls: [{ cert: ${server.certPath}, key: ${server.keyPath} }]
listeners:
  - listen: https://127.0.0.1:${port}
    client-auth: { ca: ${client.certPath}, mode: require }
    flow:
      - set-headers: { request: { X-Client-Subject: "{{tls.client.subject}}" } }
      - proxy: [127.0.0.1:${backend.port}]
`);
    const curl = (args: string[]) =>
      runCommand("curl", ["-sS", "-k", "-w", " %{http_code}", ...args, `https://127.0.0.1:${port}/`]);
    expect((await curl(["--cert", client.certPath, "--key", client.keyPath])).stdout).toBe("ok 200");
    expect((await curl(["--http2", "--cert", client.certPath, "--key", client.keyPath])).stdout).toBe("ok 200");
    const refused = await curl([]);
    expect(refused.code).not.toBe(0);
    expect(seen).toEqual(["client.one", "client.one"]);
  });

  it("requested: the flow matches on the verified subject; a client without a certificate gets the other rule", async () => {
    const backend = await startBackend((_req, res) => res.end("members"));
    const server = makeCert("secure.test");
    const client = makeCert("client.one");
    const stranger = makeCert("client.two");
    const port = await freePort();
    await vaneWith(`tls: [{ cert: ${server.certPath}, key: ${server.keyPath} }]
listeners:
  - listen: https://127.0.0.1:${port}
    client-auth: { ca: ${client.certPath}, mode: request }
    flow:
      - when: { tls.client.subject: client.one }
        proxy: [127.0.0.1:${backend.port}]
      - respond: { status: 403, body: "no certificate we know\\n" }
`);
    const curl = (args: string[]) =>
      runCommand("curl", ["-sS", "-k", "-w", " %{http_code}", ...args, `https://127.0.0.1:${port}/`]);
    expect((await curl(["--cert", client.certPath, "--key", client.keyPath])).stdout).toBe("members 200");
    expect((await curl([])).stdout).toBe("no certificate we know\n 403");
    // A certificate the CA did not sign verifies as none.
    expect((await curl(["--cert", stranger.certPath, "--key", stranger.keyPath])).stdout).toBe(
      "no certificate we know\n 403",
    );
  });
});
