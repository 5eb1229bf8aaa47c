/**
 * Sending plain HTTP to HTTPS: a listener with `redirect: https` (and `--redirect-http`,
 * which makes one on port 80) answers every request with 308 to the same host, path
 * and query over HTTPS, on the https:// listener's port; the method and body are kept
 * by 308, and no request reaches a target.
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

describe("redirect: https", () => {
  it("answers 308 to the same host, path and query over HTTPS, for any method, and forwards nothing", async () => {
    const backend = await startBackend((_req, res) => res.end("target"));
    const cert = makeCert("shop.test");
    const [plain, secure] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), "vane-redir-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "vane.yaml"),
      `workers: 1
control: { listen: off }
tls: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }]
listeners:
  - listen: http://127.0.0.1:${plain}
    redirect: https
  - listen: https://127.0.0.1:${secure}
    flow: [{ proxy: [127.0.0.1:${backend.port}] }]
`,
    );
    const vane = spawnVane(["--config", join(dir, "vane.yaml")]);
    await waitFor("vane listening", () => (vane.stderr().match(/listening/g) ?? []).length === 2, 15_000);
    const ask = (args: string[]) =>
      runCommand("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", ...args]);
    expect((await ask(["-H", "Host: shop.test", `http://127.0.0.1:${plain}/cart?item=3&x=y`])).stdout).toBe(
      `308 https://shop.test:${secure}/cart?item=3&x=y`,
    );
    expect((await ask(["-H", "Host: shop.test", `http://127.0.0.1:${plain}/`])).stdout).toBe(
      `308 https://shop.test:${secure}/`,
    );
    expect((await ask(["-X", "POST", "-d", "a=1", "-H", "Host: shop.test", `http://127.0.0.1:${plain}/pay`])).stdout)
      .toBe(`308 https://shop.test:${secure}/pay`);
    // curl following the redirect ends at the target over HTTPS, the POST still a POST.
    const followed = await runCommand("curl", [
      "-sS",
      "-L",
      "-k",
      "--resolve",
      `shop.test:${plain}:127.0.0.1`,
      "--resolve",
      `shop.test:${secure}:127.0.0.1`,
      "-d",
      "a=1",
      `http://shop.test:${plain}/pay`,
    ]);
    expect(followed.stdout).toBe("target");
    expect(backend.requests).toBe(1);
  });
});
