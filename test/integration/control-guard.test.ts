/**
 * The status endpoint of a running vane, over real sockets: /status and /metrics show
 * no secret of the flow; a Host that does not name the endpoint (DNS rebinding) is
 * refused; without a token, a POST carrying another site's Origin is refused; the token
 * comes from a file or VANE_ADMIN_TOKEN, and a token file that gives none stops vane
 * with one line naming the flag or the file's line and column.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeAll, freePort } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { infoBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { startVane, startYaml, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";
import { SECRETS, secretsYaml } from "../fixtures/secrets-flow.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-control-"));
afterEach(async () => {
  killAll();
  await stopAllVanes();
  await closeAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One raw HTTP/1.1 request on its own connection (fetch would not send this Host), and the status code. */
async function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ code: number; text: string }> {
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const res =
    (await exchange(port, `${method} ${path} HTTP/1.1\r\n${head}Content-Length: 0\r\nConnection: close\r\n\r\n`, {
      end: false,
    })).toString();
  return { code: Number(res.slice(9, 12)), text: res.slice(res.indexOf("\r\n\r\n") + 4) };
}

/** Waits until a spawned vane answers on its status port. */
async function serving(p: VaneProcess, status: number): Promise<void> {
  await waitFor("vane serves its status", async () => {
    if (p.child.exitCode !== null) throw new Error(`vane exited: ${p.stderr()}`);
    try {
      return (await fetch(`http://127.0.0.1:${status}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 15000);
}

const post = (status: number, token?: string) =>
  fetch(`http://127.0.0.1:${status}/reload`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });

describe("the status endpoint of a running vane", () => {
  it("shows no secret of the flow in /status or /metrics", async () => {
    const web = await infoBackend("web");
    const v = await startYaml(secretsYaml("127.0.0.1:0", web.port));
    // Traffic first, so /metrics has request counters too.
    expect((await fetch(`http://127.0.0.1:${v.port}/`)).status).toBe(200);
    const got = await fetch(`http://127.0.0.1:${v.port}/`, { headers: { "x-api-key": SECRETS.matchedHeader } });
    expect(await got.text()).toBe(SECRETS.respondBody);
    const status = await (await fetch(`${v.statusUrl}/status`)).text();
    const metrics = await (await fetch(`${v.statusUrl}/metrics`)).text();
    for (const secret of Object.values(SECRETS)) {
      expect(status).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
    expect(status).toContain('"Authorization":"<redacted>"');
    expect(metrics).toContain('vane_requests_total{route="web",pool="web",code="200"} 1');
  });

  it("refuses a Host that is not its address with 421, on a raw socket", async () => {
    const v = await startVane(["--route", "*=127.0.0.1:9"]);
    const port = Number(new URL(v.statusUrl).port);
    const evil = await raw(port, "GET", "/status", { Host: `evil.example:${port}` });
    expect(evil.code).toBe(421);
    expect(evil.text).toBe(
      `Host "evil.example:${port}" does not name this endpoint (127.0.0.1:${port}), as a DNS rebinding would; ` +
        `the status endpoint answers only to its address, e.g. http://127.0.0.1:${port}/\n`,
    );
    expect((await raw(port, "GET", "/status", { Host: `127.0.0.1:${port}` })).code).toBe(200);
    expect((await raw(port, "GET", "/metrics", { Host: `localhost:${port}` })).code).toBe(200);
  });

  it("without a token, takes a POST from loopback but not one with another site's Origin", async () => {
    const v = await startVane(["--route", "*=127.0.0.1:9"]);
    const port = Number(new URL(v.statusUrl).port);
    const host = `127.0.0.1:${port}`;
    const cross = await raw(port, "POST", "/reload", { Host: host, Origin: "http://evil.example" });
    expect(cross.code).toBe(403);
    expect(JSON.parse(cross.text).errors[0]).toMatch(
      /another site are refused; got Origin "http:\/\/evil\.example" \(set --admin-token-file/,
    );
    // No Origin (curl, scripts), or the endpoint's own page: on to the reload (none here: no config file).
    expect((await raw(port, "POST", "/reload", { Host: host })).code).toBe(409);
    expect((await raw(port, "POST", "/reload", { Host: host, Origin: `http://${host}` })).code).toBe(409);
  });
});

describe("the admin token of the executable", () => {
  const ONE_LINER = ["--listen", "127.0.0.1:0", "--route", "*=127.0.0.1:9"];

  it("comes from --admin-token-file, and stays out of the command line", async () => {
    const file = join(dir, "token");
    writeFileSync(file, "from-a-file\n");
    const status = await freePort();
    const p = spawnVane([...ONE_LINER, "--status", `127.0.0.1:${status}`, "--admin-token-file", file]);
    await serving(p, status);
    expect((await post(status)).status).toBe(401);
    expect((await post(status, "wrong")).status).toBe(401);
    expect((await post(status, "from-a-file")).status).toBe(409);
    expect(readFileSync(`/proc/${p.child.pid}/cmdline`, "utf8")).not.toContain("from-a-file");
  });

  it("comes from VANE_ADMIN_TOKEN when the flags and the file name none", async () => {
    const status = await freePort();
    const p = spawnVane([...ONE_LINER, "--status", `127.0.0.1:${status}`], { VANE_ADMIN_TOKEN: "from-the-env" });
    await serving(p, status);
    expect((await post(status)).status).toBe(401);
    expect((await post(status, "from-the-env")).status).toBe(409);
  });

  it("comes from control.token-file, read again at each reload", async () => {
    const token = join(dir, "yaml-token");
    writeFileSync(token, "first\n");
    const status = await freePort();
    const yaml = join(dir, "vane.yaml");
    writeFileSync(
      yaml,
      `listeners: [{ listen: 127.0.0.1:0, flow: [abort: true] }]
control: { listen: 127.0.0.1:${status}, token-file: ${token} }
`,
    );
    const p = spawnVane(["run", yaml]);
    await serving(p, status);
    expect((await post(status)).status).toBe(401);
    writeFileSync(token, "second\n");
    expect((await post(status, "first")).status).toBe(200);
    expect((await post(status, "first")).status).toBe(401);
    expect((await post(status, "second")).status).toBe(200);
  });

  it("stops vane with one line naming the flag when the file is missing or empty (exit 2)", async () => {
    const missing = join(dir, "no-such-token");
    const p = spawnVane([...ONE_LINER, "--status", "127.0.0.1:0", "--admin-token-file", missing]);
    expect(await p.exited).toBe(2);
    const [first] = p.stderr().split("\n");
    expect(first).toMatch(new RegExp(`^vane: --admin-token-file: cannot read the token file "${missing}": `));
    const empty = join(dir, "empty-token");
    writeFileSync(empty, "\n");
    const q = spawnVane([...ONE_LINER, "--status", "127.0.0.1:0", "--admin-token-file", empty]);
    expect(await q.exited).toBe(2);
    expect(q.stderr()).toContain(
      `vane: --admin-token-file: expected a token on the first line of "${empty}"; got an empty line\n`,
    );
  });

  it("stops vane with the file, line and column of token-file when that file is missing (exit 1)", async () => {
    const yaml = join(dir, "missing-token.yaml");
    const missing = join(dir, "no-such-token");
    writeFileSync(
      yaml,
      `listeners: [{ listen: 127.0.0.1:0, flow: [abort: true] }]
control:
  listen: 127.0.0.1:0
  token-file: ${missing}
`,
    );
    const p = spawnVane(["run", yaml]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(
      new RegExp(`^${yaml}:4:15: control\\.token-file: cannot read the token file "${missing}": .+\n`),
    );
  });
});
