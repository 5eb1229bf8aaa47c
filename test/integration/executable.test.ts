/**
 * The executable as a process: what the operator sees on the terminal, the exit
 * codes, and a graceful stop on SIGTERM.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, echoServer, freePort } from "../helpers/net.ts";
import { connect, readBytes } from "../helpers/raw-client.ts";
import { killAll, signal, spawnVane } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";
import { VERSION } from "../../src/version.ts";

afterEach(async () => {
  killAll();
  await closeAll();
});

const runtimeName = "Deno" in globalThis ? "deno" : "bun";

describe("the vane executable", () => {
  it("prints its version and runtime", async () => {
    const p = spawnVane(["--version"]);
    expect(await p.exited).toBe(0);
    expect(p.stdout().trim()).toMatch(
      new RegExp(
        `^vane ${VERSION.replace(/\./g, "\\.")} \\(commit source, built source, ${runtimeName} \\d+\\.\\d+\\.\\d+\\)$`,
      ),
    );
  }, 20000);

  it("prints help listing the flags", async () => {
    const p = spawnVane(["--help"]);
    expect(await p.exited).toBe(0);
    for (const flag of ["--listen", "--route", "--pool", "--strategy", "--health", "--status", "--grace"]) {
      expect(p.stdout()).toContain(flag);
    }
  }, 20000);

  it("exits 2 with one line naming the flag on a bad value, no stack trace", async () => {
    const p = spawnVane(["--route", "*=127.0.0.1:9", "--strategy", "fanciest"]);
    expect(await p.exited).toBe(2);
    const first = p.stderr().split("\n")[0];
    expect(first).toMatch(/^vane: --strategy: .*fanciest/);
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  }, 20000);

  it("exits 1 with a clear message when the listen port is taken", async () => {
    const taken = await echoServer();
    const p = spawnVane([
      "--listen",
      `127.0.0.1:${taken.port}`,
      "--route",
      "*=127.0.0.1:9",
      "--status",
      "off",
      "--health",
      "none",
    ]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain(`cannot listen on 127.0.0.1:${taken.port}: address already in use`);
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  }, 20000);

  it("on SIGTERM stops accepting, lets an open connection finish, and exits 0", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const p = spawnVane([
      "--listen",
      `127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${echo.port}`,
      "--status",
      "off",
      "--grace",
      "10s",
    ]);
    await waitFor("vane listens", () => p.stderr().includes("listening"), 15000);
    const client = await connect(port);
    client.write("before");
    expect((await readBytes(client, 6)).toString()).toBe("before");

    signal(p, "SIGTERM");
    await waitFor("vane drains", () => p.stderr().includes("draining"), 5000);
    // New connections are refused while draining...
    await expect(connect(port)).rejects.toThrow();
    // ...and the open one keeps working until the client is done.
    client.write("during");
    expect((await readBytes(client, 6)).toString()).toBe("during");
    client.end();
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain("stopped");
  }, 30000);

  it("on SIGTERM closes connections still open when the grace runs out", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const p = spawnVane([
      "--listen",
      `127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${echo.port}`,
      "--status",
      "off",
      "--grace",
      "300ms",
    ]);
    await waitFor("vane listens", () => p.stderr().includes("listening"), 15000);
    const client = await connect(port);
    client.on("error", () => {});
    client.write("x");
    await readBytes(client, 1);
    signal(p, "SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain("closing connections still open after grace");
  }, 30000);
});
