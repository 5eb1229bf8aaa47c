/**
 * `vane upgrade` as an operator runs it: a vane serving under wrk is replaced by a new
 * process started from the same path, and what the clients saw is counted (wrk's
 * failed requests, the backend's requests), along with which process serves after,
 * how the old one ended, and the pid file. Also what must not happen: a new process
 * that cannot start takes the old one down, or a second vane shares a port by mistake.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBackend } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { adopt, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { waitFor } from "../helpers/wait.ts";
import { wrk, wrkRequests } from "../helpers/wrk.ts";
import { bindUdp } from "../helpers/udp.ts";
import { runtime } from "../../src/runtime/mod.ts";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";
const dirs: string[] = [];
let migrateWas: string | null = null;

afterEach(async () => {
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (migrateWas !== null) writeFileSync(MIGRATE_REQ, migrateWas);
  migrateWas = null;
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vane-upgrade-"));
  dirs.push(d);
  return d;
}

/** Sets net.ipv4.tcp_migrate_req for one test (the machine's value comes back after it). */
function setMigrateReq(value: "0" | "1"): void {
  migrateWas ??= readFileSync(MIGRATE_REQ, "utf8").trim();
  writeFileSync(MIGRATE_REQ, value);
}

function readPid(file: string): number | null {
  try {
    return Number(readFileSync(file, "utf8").trim()) || null;
  } catch {
    return null;
  }
}

/** Every process an upgrade started, from the old one's log, so that cleanup stops them all. */
function adoptStarted(p: VaneProcess): number[] {
  const pids = [...p.stderr().matchAll(/starting a new vane pid=(\d+)/g)].map((m) => Number(m[1]));
  for (const pid of pids) adopt(pid);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface StatusBody {
  version: string;
  workers: Array<{ worker: number; pid: number }>;
}

async function statusOf(port: number): Promise<StatusBody> {
  return await (await fetch(`http://127.0.0.1:${port}/status`)).json() as StatusBody;
}

/** `vane upgrade ARGS` on the runtime under test: its exit code and output. */
async function upgrade(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnVane(["upgrade", ...args]);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("vane upgrade", () => {
  it(
    "under wrk (keep-alive, 2 workers): no failed request; the new process and its workers serve, the old ones exit 0",
    async () => {
      // Keep-alive clients are told `Connection: close` and reconnect: no help from the kernel needed.
      setMigrateReq("0");
      const backend = await startBackend((_req, res) => res.end("ok"));
      const [port, status] = [await freePort(), await freePort()];
      const pidFile = join(tempDir(), "vane.pid");
      const old = spawnVane([
        "--listen",
        `http://127.0.0.1:${port}`,
        "--route",
        `*=127.0.0.1:${backend.port}`,
        "--status",
        `127.0.0.1:${status}`,
        "--pid-file",
        pidFile,
        "--workers",
        "2",
        "--grace",
        "5s",
      ]);
      // The pid file is written once vane serves, its workers included (after "workers serving").
      await waitFor("vane serving with its workers", () => old.stderr().includes("workers serving"), 20_000);
      await waitFor("the pid file naming it", () => readPid(pidFile) === old.child.pid, 5000);
      const before = (await statusOf(status)).workers.map((w) => w.pid);
      expect(before).toHaveLength(2);

      const load = wrk(["-t", "2", "-c", "16", "-d", "4s", `http://127.0.0.1:${port}/`]);
      await sleep(1000);
      const up = await upgrade(["--status", `127.0.0.1:${status}`]);
      const [successor] = adoptStarted(old);
      expect(up.stderr).toBe("");
      expect(up.stdout).toMatch(new RegExp(`^vane upgraded: pid ${old.child.pid} -> ${successor} \\(vane `));
      expect(up.code).toBe(0);

      const out = await load;
      // wrk prints these lines only when a request failed (socket errors) or was refused.
      expect(out).not.toMatch(/Socket errors/);
      expect(out).not.toMatch(/Non-2xx/);
      const requests = wrkRequests(out);
      expect(requests).toBeGreaterThan(1000);
      expect(backend.requests).toBeGreaterThanOrEqual(requests);

      expect(await old.exitCode).toBe(0);
      const after = await statusOf(status);
      expect(after.workers.find((w) => w.worker === 0)?.pid).toBe(successor);
      expect(after.workers).toHaveLength(2);
      // Every process of the old vane is gone: its primary and its worker.
      await waitFor("the old worker exits", () => before.every((pid) => !alive(pid)), 10_000);
      expect(after.workers.map((w) => w.pid).some((pid) => before.includes(pid))).toBe(false);
      expect(readPid(pidFile)).toBe(successor);
      // Both said what happened, and the old one what the kernel setting risks.
      expect(old.stderr()).toContain(`upgrade: serving; the old vane drains old=${old.child.pid}`);
      expect(old.stderr()).toContain(`shutting down signal=SIGTERM graceMs=5000 successor=${successor}`);
      expect(old.stderr()).toContain("net.ipv4.tcp_migrate_req is 0");
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe("ok");
    },
    60_000,
  );

  it(
    "under wrk with a new connection per request (tcp:// relay, net.ipv4.tcp_migrate_req=1): no failed request",
    async () => {
      // Connections the kernel queued on the old sockets move to the new ones as those close.
      setMigrateReq("1");
      const backend = await startBackend((_req, res) => res.end("ok"));
      const [port, status] = [await freePort(), await freePort()];
      const old = spawnVane([
        "--listen",
        `127.0.0.1:${port}`,
        "--route",
        `*=127.0.0.1:${backend.port}`,
        "--status",
        `127.0.0.1:${status}`,
        "--workers",
        "1",
      ]);
      await waitFor("vane listening", () => old.stderr().includes("status endpoint"), 15_000);
      const load = wrk(["-t", "2", "-c", "16", "-d", "4s", "-H", "Connection: close", `http://127.0.0.1:${port}/`]);
      await sleep(1500);
      const up = await upgrade(["--status", `127.0.0.1:${status}`]);
      const [successor] = adoptStarted(old);
      expect(up.code).toBe(0);
      const out = await load;
      expect(out).not.toMatch(/Socket errors/);
      expect(out).not.toMatch(/Non-2xx/);
      const requests = wrkRequests(out);
      expect(requests).toBeGreaterThan(1000);
      expect(backend.requests).toBeGreaterThanOrEqual(requests);
      expect(await old.exitCode).toBe(0);
      expect((await statusOf(status)).workers[0].pid).toBe(successor);
      expect(old.stderr()).not.toContain("tcp_migrate_req is 0");
    },
    60_000,
  );

  it("a new process that cannot start leaves the old one serving, and says why", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const [port, status] = [await freePort(), await freePort()];
    const dir = tempDir();
    const file = join(dir, "vane.yaml");
    const yaml = `workers: 1
control: { listen: "127.0.0.1:${status}" }
listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - proxy: app
pools:
  app:
    targets: ["127.0.0.1:${backend.port}"]
`;
    writeFileSync(file, yaml);
    const old = spawnVane(["--config", file, "--pid-file", join(dir, "vane.pid")]);
    await waitFor("vane listening", () => old.stderr().includes("status endpoint"), 15_000);
    // The file breaks after the start (the watcher refuses it): the new process reads it and stops.
    writeFileSync(file, yaml.replace("proxy: app", "proxy: nowhere"));
    await waitFor("the reload refused", () => old.stderr().includes("reload refused"), 10_000);

    const up = await upgrade(["--status", `127.0.0.1:${status}`]);
    adoptStarted(old);
    expect(up.code).toBe(1);
    expect(up.stderr).toBe(
      "vane upgrade: the new vane exited (code 1) before it served; the running vane serves on\n",
    );
    // The new process's own error is in the same log, with its place in the file.
    expect(old.stderr()).toMatch(new RegExp(`${file.replace(/[.]/g, "\\.")}:\\d+:\\d+: .*nowhere`));
    expect(old.stderr()).toContain("upgrade failed; this vane serves on");
    expect((await statusOf(status)).workers[0].pid).toBe(old.child.pid);
    expect(readPid(join(dir, "vane.pid"))).toBe(old.child.pid);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
    // A second try after the fix goes through.
    writeFileSync(file, yaml);
    const again = await upgrade(["--status", `127.0.0.1:${status}`]);
    adoptStarted(old);
    expect(again.code).toBe(0);
    expect(await old.exitCode).toBe(0);
  }, 60_000);

  it(
    "with the status endpoint off: --pid-file sends SIGUSR2 and follows the file to the new process, twice",
    async () => {
      const backend = await startBackend((_req, res) => res.end("ok"));
      const port = await freePort();
      const pidFile = join(tempDir(), "vane.pid");
      const old = spawnVane([
        "--listen",
        `http://127.0.0.1:${port}`,
        "--route",
        `*=127.0.0.1:${backend.port}`,
        "--status",
        "off",
        "--pid-file",
        pidFile,
        "--workers",
        "1",
      ]);
      await waitFor("the pid file", () => readPid(pidFile) === old.child.pid, 15_000);
      const first = await upgrade(["--pid-file", pidFile]);
      const [second] = adoptStarted(old);
      expect(first.stdout).toBe(
        `vane upgraded: pid ${old.child.pid} -> ${second}; pid ${old.child.pid} drains its open connections\n`,
      );
      expect(first.code).toBe(0);
      expect(await old.exitCode).toBe(0);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
      // The new process upgrades in turn (its successor's output also goes to the first one's).
      const next = await upgrade(["--pid-file", pidFile]);
      const [, third] = adoptStarted(old);
      expect(next.code).toBe(0);
      expect(next.stdout).toContain(`pid ${second} -> ${third}`);
      await waitFor("the second process exits", () => !alive(second), 10_000);
      expect(readPid(pidFile)).toBe(third);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
      // Stopped normally, the last one removes its pid file.
      process.kill(third, "SIGTERM");
      await waitFor("the pid file removed", () => readPid(pidFile) === null, 10_000);
    },
    60_000,
  );

  it("says what it cannot do: nothing at the status address, a pid file that names nobody, bad flags", async () => {
    const port = await freePort();
    const none = await upgrade(["--status", `127.0.0.1:${port}`]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      new RegExp(`^vane upgrade: nothing answers at 127\\.0\\.0\\.1:${port} \\(.*\\): is vane running`),
    );
    const file = join(tempDir(), "missing.pid");
    const noPid = await upgrade(["--pid-file", file]);
    expect(noPid.code).toBe(1);
    expect(noPid.stderr).toBe(`vane upgrade: ${file}: no pid there; is vane running with --pid-file ${file}?\n`);
    const both = await upgrade(["--pid-file", file, "--status", ":1"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("upgrade: expected either --status ADDR or --pid-file FILE; got both");
  }, 30_000);
});

/** One datagram through vane from a new client socket: the echo's answer, or null after a second. */
async function echoThrough(port: number, text: string): Promise<string | null> {
  let answer!: (s: string) => void;
  const got = new Promise<string>((r) => (answer = r));
  const client = await bindUdp((msg) => answer(msg.toString()));
  client.send(text, port, "127.0.0.1");
  return await Promise.race([got, sleep(1000).then(() => null)]);
}

// One test on each runtime, asserting what that runtime can do (none skipped).
const sharesUdp = runtime().udpReusePort;
describe("vane upgrade with a udp:// listener", () => {
  it(
    sharesUdp
      ? "hands the UDP port over too: new clients are relayed by the new process"
      : "is refused where the runtime cannot share a UDP port, and the running vane serves on",
    async () => {
      const echo = await bindUdp((msg, from, s) => s.send(msg, from.port, from.address));
      const [port, status] = [await freePort(), await freePort()];
      const old = spawnVane([
        "--listen",
        `udp://127.0.0.1:${port}`,
        "--route",
        `*=127.0.0.1:${echo.address().port}`,
        "--status",
        `127.0.0.1:${status}`,
        "--workers",
        "1",
      ]);
      await waitFor("vane listening", () => old.stderr().includes("status endpoint"), 15_000);
      expect(await echoThrough(port, "before")).toBe("before");
      const up = await upgrade(["--status", `127.0.0.1:${status}`]);
      adoptStarted(old);
      if (sharesUdp) {
        expect(up.code).toBe(0);
        expect(await old.exitCode).toBe(0);
      } else {
        expect(up.code).toBe(1);
        expect(up.stderr).toBe(
          `vane upgrade: ${runtime().name} cannot share a UDP port between processes; restart vane instead (or run the compiled vane); the running vane serves on\n`,
        );
        expect((await statusOf(status)).workers[0].pid).toBe(old.child.pid);
      }
      for (let i = 0; i < 5; i++) expect(await echoThrough(port, `after ${i}`)).toBe(`after ${i}`);
    },
    30_000,
  );
});

describe("ports shared for upgrades are not shared by mistake", () => {
  it("a second vane on the same port is refused, as without SO_REUSEPORT; the first serves on", async () => {
    const backend = await startBackend((_req, res) => res.end("first"));
    const port = await freePort();
    const args = ["--listen", `http://127.0.0.1:${port}`, "--route", `*=127.0.0.1:${backend.port}`, "--status", "off"];
    const first = spawnVane(args);
    await waitFor("the first vane listening", () => first.stderr().includes("listening"), 15_000);
    const second = spawnVane(args);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`);
    const wildcard = spawnVane(["--listen", `:${port}`, "--route", `*=127.0.0.1:${backend.port}`, "--status", "off"]);
    expect(await wildcard.exited).toBe(1);
    expect(wildcard.stderr()).toContain(`cannot listen on 0.0.0.0:${port}: address already in use`);
    for (let i = 0; i < 20; i++) expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("first");
  }, 30_000);
});
