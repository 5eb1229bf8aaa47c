/**
 * The executable with a config file: `vane check`, `vane run`, `--config` with flags,
 * and `--print-config` output run as a file, as an operator would use them.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeAll, freePort } from "../helpers/net.ts";
import { curl, infoBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-config-"));
afterEach(async () => {
  killAll();
  await closeAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function nameVia(port: number): Promise<string | null> {
  const r = await curl(["-H", "Host: app.test", `http://127.0.0.1:${port}/`]);
  try {
    return JSON.parse(r.stdout.toString()).name;
  } catch {
    return null;
  }
}

describe("vane check", () => {
  it("says ok and exits 0 for a valid file", async () => {
    const path = file("good.yaml", "listeners: [{ listen: ':8080', flow: [{ proxy: [127.0.0.1:9000] }] }]\n");
    const p = spawnVane(["check", path]);
    expect(await p.exited).toBe(0);
    expect(p.stdout().trim()).toBe(`${path}: ok (1 listener, 1 pools)`);
  }, 20000);

  it("prints every error with file:line:column and exits 1, without a stack trace", async () => {
    const path = file(
      "broken.yaml",
      `listeners:
  - listen: tcp://127.0.0.1:80
    flow:
      - when: { req.paht: /x }
        proxy: web
pools:
  web:
    targets: [127.0.0.1:80]
    strategi: serial
timeouts: { connect: 5 }
`,
    );
    const p = spawnVane(["check", path]);
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split("\n");
    expect(lines).toEqual([
      `${path}:4:17: listeners[0].flow[0].when.req.paht: unknown key "req.paht"; did you mean "req.path"?`,
      `${path}:9:5: pools.web.strategi: unknown key "strategi"; did you mean "strategy"?`,
      expect.stringMatching(
        new RegExp(`^${path}:10:22: timeouts\\.connect: expected a duration like 500ms, 2s, 1m; got a number \\(5\\)$`),
      ),
      `${path}: 3 errors; nothing was started`,
    ]);
    expect(p.stdout()).toBe("");
  }, 20000);

  it("exits 2 naming the flag when a flag does not fit the file", async () => {
    const path = file(
      "two.yaml",
      "listeners:\n  - { listen: ':8080', flow: [{ abort: true }] }\n  - { listen: ':8081', flow: [{ abort: true }] }\n",
    );
    const p = spawnVane(["run", path, "--listen", ":9"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr().split("\n")[0]).toBe(
      "vane: --listen: expected a config file with one listener to override; it has 2 (edit them in the file)",
    );
  }, 20000);

  it("says plainly when the file cannot be read", async () => {
    const p = spawnVane(["run", join(dir, "missing.yaml")]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/missing\.yaml: cannot read the config file: /);
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  }, 20000);
});

describe("vane run and --print-config", () => {
  it("runs what --print-config printed for a one-liner, and flags given with the file win", async () => {
    const a = await infoBackend("a");
    const b = await infoBackend("b");
    const port = await freePort();
    const printed = spawnVane([
      "--listen",
      `127.0.0.1:${port}`,
      "--route",
      `app.test=127.0.0.1:${a.port}`,
      "--route",
      `*=127.0.0.1:${b.port}`,
      "--status",
      "off",
      "--print-config",
    ]);
    expect(await printed.exited).toBe(0);
    const path = file("printed.yaml", printed.stdout());
    expect(printed.stdout()).toContain(`listen: 127.0.0.1:${port}`);

    const checked = spawnVane(["check", path]);
    expect(await checked.exited).toBe(0);

    const run = spawnVane(["run", path]);
    await waitFor("vane serves the printed config", async () => (await nameVia(port)) === "a", 15000);
    const other = await curl(["-H", "Host: other.test", `http://127.0.0.1:${port}/`]);
    expect(JSON.parse(other.stdout.toString()).name).toBe("b");
    run.child.kill("SIGKILL");
    await run.exited;

    // The same file with --config and a --route of its own: the flag's flow wins.
    const port2 = await freePort();
    const overridden = spawnVane([
      "--config",
      path,
      "--listen",
      `127.0.0.1:${port2}`,
      "--route",
      `*=127.0.0.1:${b.port}`,
    ]);
    await waitFor("vane serves the flags' flow", async () => (await nameVia(port2)) === "b", 15000);
    overridden.child.kill("SIGKILL");
  }, 40000);
});
