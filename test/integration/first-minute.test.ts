/**
 * The first minute with vane, as a new user lives it: flags from the environment,
 * a second vane on the same machine, and `npm run vane` stopped by a signal to npm.
 */
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand, startCommand, stopCommands } from "../helpers/command.ts";
import { freePort } from "../helpers/net.ts";
import { spawnVane } from "../helpers/process.ts";
import { recordingBackend } from "../helpers/recording-backend.ts";
import { waitFor } from "../helpers/wait.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const onDeno = "Deno" in globalThis;

afterEach(async () => {
  stopCommands();
  await stopAll();
});

/** Whether something accepts on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

describe("the first minute", () => {
  it("runs from variables alone: VANE_LISTEN, VANE_ROUTE, VANE_STATUS", async () => {
    const backend = await recordingBackend();
    const port = await freePort();
    spawnVane([], {
      VANE_LISTEN: `127.0.0.1:${port}`,
      VANE_ROUTE: `*=127.0.0.1:${backend.port}`,
      VANE_STATUS: "off",
      VANE_WORKERS: "1",
    });
    await waitFor("vane listens", () => accepts(port), 15_000);
    const r = await runCommand("curl", [
      "-sS",
      "--max-time",
      "5",
      "-H",
      "Host: env.test",
      `http://127.0.0.1:${port}/x`,
    ]);
    expect(r.code).toBe(0);
    expect(backend.requests.map((q) => [q.target, q.host])).toEqual([["/x", "env.test"]]);
  }, 30_000);

  it("a second vane on the same status port exits 1 with a hint to use --status off or another port", async () => {
    const status = await freePort();
    const [first, second] = [await freePort(), await freePort()];
    const args = (
      port: number,
    ) => ["--listen", `127.0.0.1:${port}`, "--route", "*=127.0.0.1:9", "--status", `127.0.0.1:${status}`];
    const one = spawnVane(args(first));
    await waitFor("the first vane's status endpoint", () => accepts(status), 15_000);
    const two = spawnVane(args(second));
    expect(await two.exited).toBe(1);
    expect(two.stderr()).toContain(
      `status endpoint: cannot listen on 127.0.0.1:${status}: address already in use (is another vane running? give this one --status off, or another address such as --status 127.0.0.1:9902`,
    );
    expect(two.stderr()).not.toMatch(/\n\s+at /);
    // The first one is untouched.
    expect(await accepts(first)).toBe(true);
    expect(one.child.exitCode).toBe(null);
  }, 30_000);

  it("npm run vane passes npm's SIGTERM on: vane stops and nothing keeps the port", async () => {
    const port = await freePort();
    const npm = startCommand(
      "npm",
      [
        "run",
        onDeno ? "vane" : "vane:bun",
        "--",
        "--listen",
        `127.0.0.1:${port}`,
        "--route",
        "*=127.0.0.1:9",
        "--status",
        "off",
        "--workers",
        "1",
      ],
      { cwd: REPO },
    );
    await waitFor("vane listens", () => accepts(port), 30_000);
    npm.child.kill("SIGTERM");
    await npm.exited;
    await waitFor("the port is free", async () => !(await accepts(port)), 15_000);
    const left = await runCommand("pgrep", ["-f", `--listen 127.0.0.1:${port}`]);
    expect(left.stdout).toBe("");
    expect(npm.output()).toContain("shutting down signal=SIGTERM");
  }, 60_000);
});
