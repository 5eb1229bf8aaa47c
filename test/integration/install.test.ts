/**
 * The edge-VM path, as an operator walks it: build the release, install it with
 * scripts/install.sh (from a directory, from a URL, as root and not, on a machine
 * with no Node), check the systemd unit with systemd-analyze, and run the installed
 * binary the way the unit does: its own user, only CAP_NET_BIND_SERVICE, a port
 * below 1024, config from /etc/vane and variables from vane.env, reload by SIGHUP,
 * a new binary put in place and taken over by `vane upgrade --pid-file` (the pid file
 * systemd follows), stop by SIGTERM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand, startCommand, stopCommands } from "../helpers/command.ts";
import { closeAll, freePort, nameServer } from "../helpers/net.ts";
import { waitFor } from "../helpers/wait.ts";
import { VERSION } from "../../src/version.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const INSTALL = join(REPO, "scripts/install.sh");
const NATIVE = `linux-${process.arch === "arm64" ? "arm64" : "x64"}`;
const ARTEFACT = `vane-${VERSION}-${NATIVE}`;
/** What install.sh needs, and no node: a machine that never had Node or npm. */
const TOOLS = "sh uname id mktemp cp mv chmod mkdir rm sed sort tail head cut sha256sum curl cat".split(" ");

let work: string;
let release: string;
let releaseOutput: string;

function dir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A bin directory holding only TOOLS (or `shims` in their place), for PATH. */
async function toolDir(name: string, shims: Record<string, string> = {}): Promise<string> {
  const bin = dir(name);
  for (const tool of TOOLS) {
    if (shims[tool] !== undefined) continue;
    const found = await runCommand("sh", ["-c", `command -v ${tool}`]);
    symlinkSync(found.stdout.trim(), join(bin, tool));
  }
  for (const [tool, script] of Object.entries(shims)) {
    writeFileSync(join(bin, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }
  return bin;
}

function install(args: string[], path: string, env: Record<string, string> = {}) {
  return runCommand("/bin/sh", [INSTALL, ...args], {
    cleanEnv: true,
    env: { PATH: path, HOME: dir("home-root"), ...env },
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "vane-install-"));
  chmodSync(work, 0o755);
  release = dir("release");
  const built = await runCommand("bash", ["scripts/release"], {
    cwd: REPO,
    env: { VANE_RELEASE_DIR: release, VANE_RELEASE_TARGETS: NATIVE },
    timeoutMs: 240_000,
  });
  releaseOutput = built.stdout + built.stderr;
  if (built.code !== 0) throw new Error(`scripts/release failed:\n${releaseOutput}`);
}, 300_000);

afterEach(async () => {
  stopCommands();
  await closeAll();
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm run release", () => {
  it("names each artefact vane-VERSION-OS-ARCH, lists it in SHA256SUMS and embeds version, commit and date", async () => {
    expect(existsSync(join(release, ARTEFACT))).toBe(true);
    expect((await runCommand("sha256sum", ["-c", "SHA256SUMS"], { cwd: release })).stdout).toBe(`${ARTEFACT}: OK\n`);
    const commit = (await runCommand("git", ["rev-parse", "--short=12", "HEAD"], { cwd: REPO })).stdout.trim();
    const version = await runCommand(join(release, ARTEFACT), ["--version"]);
    expect(version.stdout.trim()).toMatch(
      new RegExp(
        `^vane ${VERSION} \\(commit ${commit}, built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, bun [\\d.]+\\)$`,
      ),
    );
    // Which compiler built it, and why Deno did not where it could not, in plain words.
    expect(releaseOutput).toMatch(/deno compile is not available here \(.+\)|built with deno compile/);
    expect(releaseOutput).not.toContain("\x1b[");
  });
});

describe("scripts/install.sh", () => {
  it("installs from a local directory on a machine with no Node, and the binary runs", async () => {
    const path = await toolDir("bin-plain");
    expect((await runCommand("/bin/sh", ["-c", "command -v node npm"], { cleanEnv: true, env: { PATH: path } })).code)
      .not.toBe(0);
    const prefix = dir("prefix-local");
    const r = await install(["--from", release, "--prefix", prefix], path);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed vane ${VERSION} (commit`);
    expect(r.stdout).toContain(`to ${prefix}/bin/vane`);
    expect((await runCommand(join(prefix, "bin/vane"), ["--version"])).stdout).toMatch(new RegExp(`^vane ${VERSION} `));
  });

  it("refuses an artefact whose checksum does not match, and installs nothing", async () => {
    const tampered = dir("tampered");
    cpSync(release, tampered, { recursive: true });
    appendFileSync(join(tampered, ARTEFACT), "x");
    const prefix = dir("prefix-tampered");
    const r = await install(["--from", tampered, "--prefix", prefix], await toolDir("bin-tampered"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^vane install: checksum mismatch for ${ARTEFACT}: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was installed\\n$`,
      ),
    );
    expect(existsSync(join(prefix, "bin/vane"))).toBe(false);
  });

  it("downloads from a URL (a local HTTP server serving the release)", async () => {
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      asked.push(req.url!);
      const file = join(release, req.url!.slice(1));
      if (!/^\/[\w.-]+$/.test(req.url!) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const prefix = dir("prefix-url");
      const r = await install(["--url", `http://127.0.0.1:${port}`, "--prefix", prefix], await toolDir("bin-url"));
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(asked).toEqual(["/SHA256SUMS", `/${ARTEFACT}`]);
      expect((await runCommand(join(prefix, "bin/vane"), ["--version"])).code).toBe(0);
      // A URL with nothing there: a clear line, no partial install.
      const missing = await install(
        ["--url", `http://127.0.0.1:${port}/nothing`, "--prefix", dir("prefix-404")],
        await toolDir("bin-404"),
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/404\n/);
      expect(missing.stderr).toContain(
        `vane install: could not download http://127.0.0.1:${port}/nothing/SHA256SUMS\n`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("installs to ~/.local/bin without root, and says when that is not on PATH", async () => {
    const home = dir("home-nobody");
    chmodSync(home, 0o777);
    const path = await toolDir("bin-nobody");
    const r = await runCommand(
      "/usr/bin/setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", INSTALL, "--from", release],
      { cleanEnv: true, env: { PATH: path, HOME: home } },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`to ${home}/.local/bin/vane`);
    expect(r.stdout).toContain(`${home}/.local/bin is not on your PATH`);
    expect(existsSync(join(home, ".local/bin/vane"))).toBe(true);
  });

  it("picks the artefact for the machine's OS and processor, the newest version unless told", async () => {
    const sums = dir("sums-only");
    const line = (name: string) => `${"a".repeat(64)}  ${name}`;
    writeFileSync(
      join(sums, "SHA256SUMS"),
      ["0.9.1", "0.10.0", "0.2.0"].flatMap((v) =>
        ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "windows-x64.exe"].map((t) => line(`vane-${v}-${t}`))
      ).join("\n") + "\n",
    );
    const as = async (system: string, machine: string, extra: string[] = []) => {
      const shim = { uname: `case $1 in -s) echo ${system} ;; -m) echo ${machine} ;; esac` };
      return install(
        ["--from", sums, "--dry-run", ...extra],
        await toolDir(`bin-${system}-${machine}-${extra.length}`, shim),
      );
    };
    expect((await as("Linux", "aarch64")).stdout).toContain("would install vane-0.10.0-linux-arm64 to ");
    expect((await as("Linux", "amd64")).stdout).toContain("would install vane-0.10.0-linux-x64 to ");
    expect((await as("Darwin", "arm64")).stdout).toContain("would install vane-0.10.0-darwin-arm64 to ");
    expect((await as("Darwin", "x86_64", ["--version", "0.9.1"])).stdout).toContain(
      "would install vane-0.9.1-darwin-x64 to ",
    );
    const riscv = await as("Linux", "riscv64");
    expect(riscv.code).toBe(1);
    expect(riscv.stderr).toBe(
      "vane install: no vane build for the riscv64 processor; builds exist for x86_64 and arm64\n",
    );
    const bsd = await as("FreeBSD", "amd64");
    expect(bsd.stderr).toMatch(/^vane install: no vane build for FreeBSD; /);
    const old = await as("Linux", "x86_64", ["--version", "0.0.1"]);
    expect(old.stderr).toBe("vane install: SHA256SUMS lists no vane-0.0.1-linux-x64\n");
  });

  it("asks where the release is when given no --from, --url or VANE_DOWNLOAD_URL", async () => {
    const r = await install([], await toolDir("bin-nowhere"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vane install: say where the release is: --from DIR .* --url URL/);
  });
});

describe("the systemd unit", () => {
  /** A root for systemd-analyze: systemd's own units, the binary where the unit expects it, /bin/kill. */
  function systemRoot(name: string): string {
    const root = dir(name);
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    mkdirSync(join(root, "bin"), { recursive: true });
    try {
      linkSync(join(release, ARTEFACT), join(root, "usr/local/bin/vane"));
    } catch {
      copyFileSync(join(release, ARTEFACT), join(root, "usr/local/bin/vane"));
    }
    copyFileSync("/bin/kill", join(root, "bin/kill"));
    chmodSync(join(root, "bin/kill"), 0o755);
    return root;
  }

  it("vane service install writes packaging/vane.service, and systemd-analyze verify finds nothing to say", async () => {
    const root = systemRoot("root-verify");
    const unitDir = join(root, "etc/systemd/system");
    const wrote = await runCommand(join(release, ARTEFACT), [
      "service",
      "install",
      "--unit-dir",
      unitDir,
      "--binary",
      "/usr/local/bin/vane",
    ]);
    expect(wrote.code).toBe(0);
    expect(wrote.stdout).toContain(`wrote ${unitDir}/vane.service`);
    const unit = readFileSync(join(unitDir, "vane.service"), "utf8");
    expect(unit).toBe(readFileSync(join(REPO, "packaging/vane.service"), "utf8"));
    const verify = await runCommand("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "/etc/systemd/system/vane.service",
    ]);
    expect(verify.stdout + verify.stderr).toBe("");
    expect(verify.code).toBe(0);
    // The same check does speak up: a misspelt key, and a missing binary.
    writeFileSync(join(unitDir, "vane.service"), unit.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"));
    const typo = await runCommand("systemd-analyze", ["verify", `--root=${root}`, "/etc/systemd/system/vane.service"]);
    expect(typo.stdout + typo.stderr).toContain("Unknown key 'NoNewPrivilege'");
    writeFileSync(join(unitDir, "vane.service"), unit.replace("/usr/local/bin/vane", "/usr/local/bin/nowhere"));
    const missing = await runCommand("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "/etc/systemd/system/vane.service",
    ]);
    expect(missing.code).not.toBe(0);
  });

  it("a compiled vane puts its own path in ExecStart", async () => {
    const printed = await runCommand(join(release, ARTEFACT), ["service", "print"]);
    expect(printed.stdout).toContain(
      `\nExecStart=${join(release, ARTEFACT)} --config /etc/vane/vane.yaml --pid-file /run/vane/vane.pid\n`,
    );
  });

  it(
    "runs as the unit runs it: own user, a port below 1024 by CAP_NET_BIND_SERVICE, config and env from /etc/vane, SIGHUP reloads, a new binary takes over by vane upgrade, SIGTERM stops",
    async () => {
      const unit = readFileSync(join(REPO, "packaging/vane.service"), "utf8");
      const execStart = /^ExecStart=(\S+) (.*)$/m.exec(unit)!;
      expect(execStart[2]).toBe("--config /etc/vane/vane.yaml --pid-file /run/vane/vane.pid");
      expect(unit).toContain("\nPIDFile=/run/vane/vane.pid\n");
      const etc = dir("etc-vane");
      // RuntimeDirectory=vane: /run/vane, owned by the service's user.
      const run = dir("run-vane");
      chownSync(run, 65534, 65534);
      const args = execStart[2].replaceAll("/etc/vane", etc).replaceAll("/run/vane", run).split(" ");
      const config = join(etc, "vane.yaml");
      const pidFile = join(run, "vane.pid");
      const [a, b] = [await nameServer("backend-a"), await nameServer("backend-b")];
      const low = 600 + Math.floor(Math.random() * 400);
      const status = await freePort();
      const built = join(release, ARTEFACT);
      // The installed binary, where install.sh puts it.
      const binDir = dir("usr-local-bin");
      const bin = join(binDir, "vane");
      copyFileSync(built, bin);
      chmodSync(bin, 0o755);
      const yaml = (port: number) =>
        runCommand(built, [
          "--listen",
          `127.0.0.1:${low}`,
          "--route",
          `*=127.0.0.1:${port}`,
          "--health",
          "none",
          "--print-config",
        ], {
          cleanEnv: true,
        });
      writeFileSync(config, (await yaml(a.port)).stdout);
      chmodSync(config, 0o644);
      // EnvironmentFile= lines, as systemd would pass them.
      const env = { VANE_STATUS: `127.0.0.1:${status}`, VANE_WORKERS: "1", VANE_GRACE: "1s" };
      writeFileSync(join(etc, "vane.env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
      const fromFile = Object.fromEntries(
        readFileSync(join(etc, "vane.env"), "utf8").trim().split("\n").map((l) => l.split("=", 2) as [string, string]),
      );

      const caps = ["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"];
      const vane = startCommand(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", ...caps, bin, ...args],
        // systemd sets JOURNAL_STREAM for a service that logs to the journal.
        { cleanEnv: true, env: { PATH: "/usr/bin:/bin", JOURNAL_STREAM: "8:12345", ...fromFile } },
      );
      const ask = () => runCommand("curl", ["-sS", "--http0.9", "--max-time", "3", `http://127.0.0.1:${low}/`]);
      await waitFor("the low port answers", async () => (await ask()).stdout.startsWith("backend-a"), 15_000)
        .catch((err) => {
          throw new Error(`${err.message}; vane said:\n${vane.output()}`);
        });
      expect(vane.output()).toContain(`status endpoint listen=127.0.0.1:${status}`);
      // Journal lines: the priority in front, no timestamp of vane's own.
      expect(vane.output()).toMatch(/^<6>INFO {2}listening listen=127\.0\.0\.1:\d+ /m);
      expect(vane.output()).not.toMatch(/^\d{4}-/m);
      await waitFor("the pid file", () => existsSync(pidFile), 5000);
      expect(readFileSync(pidFile, "utf8")).toBe(`${vane.child.pid}\n`);

      writeFileSync(config, (await yaml(b.port)).stdout);
      process.kill(vane.child.pid!, "SIGHUP"); // ExecReload=/bin/kill -HUP $MAINPID
      await waitFor("the reloaded route answers", async () => (await ask()).stdout.startsWith("backend-b"), 15_000);

      // A new version renamed over the installed one (as install.sh does), then taken over.
      const marker = join(run, "new-binary-started");
      writeFileSync(`${bin}.new`, `#!/bin/sh\necho "$$" > ${marker}\nexec ${built} "$@"\n`, { mode: 0o755 });
      renameSync(`${bin}.new`, bin);
      const up = await runCommand(built, ["upgrade", "--pid-file", pidFile], { timeoutMs: 30_000 });
      const successor = Number(readFileSync(pidFile, "utf8"));
      try {
        expect(up.stderr).toBe("");
        expect(up.stdout).toBe(
          `vane upgraded: pid ${vane.child.pid} -> ${successor}; pid ${vane.child.pid} drains its open connections\n`,
        );
        expect(up.code).toBe(0);
        // The process now serving started from the file at the binary's path: the new one.
        expect(readFileSync(marker, "utf8").trim()).toBe(String(successor));
        // The old main process ends well after writing nothing more: systemd reads PIDFile= then.
        expect(await vane.exitCode).toBe(0);
        expect(readFileSync(pidFile, "utf8")).toBe(`${successor}\n`);
        expect((await ask()).stdout).toMatch(/^backend-b/);
        // The new process serves the unit's whole life: SIGHUP still reloads it ($MAINPID is it now).
        writeFileSync(config, (await yaml(a.port)).stdout);
        process.kill(successor, "SIGHUP");
        await waitFor("the new process reloads", async () => (await ask()).stdout.startsWith("backend-a"), 15_000);
      } finally {
        process.kill(successor, "SIGTERM");
      }
      await waitFor("the new process stops and removes its pid file", () => !existsSync(pidFile), 10_000);

      // Without the capability the same start fails in one line that says what is missing.
      const denied = await runCommand("/usr/bin/setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        built,
        "--config",
        config,
      ], {
        cleanEnv: true,
        env: { PATH: "/usr/bin:/bin", ...fromFile },
        timeoutMs: 20_000,
      });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain(
        `cannot listen on 127.0.0.1:${low}: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE`,
      );
    },
    60_000,
  );
});

describe("the compiled binary", () => {
  it("serves HTTP/2 (h2c, nghttp's 10 streams) and passes gRPC through to an h2c pool", async () => {
    const grpc = startCommand("node", [join(REPO, "test/fixtures/grpc/server.cjs")]);
    await waitFor("the gRPC server's port", () => /^\d+\n/.test(grpc.output()), 10_000);
    const target = Number(grpc.output().trim());
    const port = await freePort();
    const vane = startCommand(join(release, ARTEFACT), [
      "--listen",
      `http://127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${target}`,
      "--protocol",
      "h2c",
      "--status",
      "off",
      "--workers",
      "1",
    ]);
    await waitFor("vane listening", () => vane.output().includes("listening"), 15_000);
    const calls = await runCommand("node", [join(REPO, "test/fixtures/grpc/client.cjs"), String(port)], {
      timeoutMs: 30_000,
    });
    expect(JSON.parse(calls.stdout)).toEqual({
      unary: { error: null, reply: "echo:ping", trailer: "kept" },
      chat: { code: 0, replies: ["reply 1: m1", "reply 2: m2", "reply 3: m3"] },
      fail: { code: 5, details: "no such thing" },
    });
    // Plain HTTP/2 requests reach an HTTP/1.1 target through the same binary.
    let served = 0;
    const web = http.createServer((_req, res) => {
      served++;
      res.end("web");
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    const webPort = (web.address() as { port: number }).port;
    const h1 = await freePort();
    const second = startCommand(join(release, ARTEFACT), [
      "--listen",
      `http://127.0.0.1:${h1}`,
      "--route",
      `*=127.0.0.1:${webPort}`,
      "--status",
      "off",
      "--workers",
      "1",
    ]);
    await waitFor("second vane listening", () => second.output().includes("listening"), 15_000);
    const n = await runCommand("nghttp", ["-n", "-s", "-m", "10", `http://127.0.0.1:${h1}/`], { timeoutMs: 20_000 });
    expect(n.code).toBe(0);
    const one = await runCommand("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "-w",
      " %{http_version} %{http_code}",
      `http://127.0.0.1:${h1}/`,
    ]);
    expect(one.stdout).toBe("web 2 200");
    expect(served).toBe(11);
    web.close();
  }, 60_000);
});
