import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServiceArgs, runService } from "../../src/cli/service.ts";
import { SERVICE_UNIT, serviceUnit } from "../../src/cli/service-unit.ts";

const PACKAGED = readFileSync(new URL("../../packaging/vane.service", import.meta.url), "utf8");

describe("the systemd unit", () => {
  it("is packaging/vane.service word for word", () => {
    expect(SERVICE_UNIT).toBe(PACKAGED);
  });

  it("is hardened as the issue asks", () => {
    for (
      const line of [
        "DynamicUser=yes",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=vane",
        "ConfigurationDirectory=vane",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "ExecStart=/usr/local/bin/vane --config /etc/vane/vane.yaml --pid-file /run/vane/vane.pid",
        // vane upgrade: systemd follows the new process by the pid file it writes.
        "PIDFile=/run/vane/vane.pid",
        "RuntimeDirectory=vane",
        "ExecStartPre=-+/bin/sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_migrate_req'",
        "EnvironmentFile=-/etc/vane/vane.env",
      ]
    ) expect(PACKAGED.split("\n"), line).toContain(line);
  });

  it("starts the binary it is given", () => {
    expect(serviceUnit("/opt/vane/bin/vane")).toContain(
      "\nExecStart=/opt/vane/bin/vane --config /etc/vane/vane.yaml --pid-file /run/vane/vane.pid\n",
    );
  });
});

describe("vane service", () => {
  it("defaults the binary to a compiled vane's own path, else /usr/local/bin/vane", () => {
    expect(parseServiceArgs(["install"], "/opt/bin/vane").binary).toBe("/opt/bin/vane");
    expect(parseServiceArgs(["install"], "/home/me/.bun/bin/bun").binary).toBe("/usr/local/bin/vane");
    expect(parseServiceArgs(["install", "--binary", "/x/vane"], "/usr/bin/deno").binary).toBe("/x/vane");
    expect(parseServiceArgs(["install"], "/opt/bin/vane").unitDir).toBe("/etc/systemd/system");
  });

  it("refuses a missing or unknown action with one line", () => {
    expect(() => parseServiceArgs([], "vane")).toThrow(/^service: expected install or print; got nothing$/);
    expect(() => parseServiceArgs(["start"], "vane")).toThrow(/^service: expected install or print; got "start"$/);
    expect(() => parseServiceArgs(["install", "--bogus"], "vane")).toThrow(/^service: .*bogus/);
  });

  it("writes the unit into --unit-dir and says what to do next", () => {
    const dir = mkdtempSync(join(tmpdir(), "vane-unit-"));
    try {
      const lines = runService({ action: "install", unitDir: join(dir, "system"), binary: "/usr/local/bin/vane" });
      expect(readFileSync(join(dir, "system", "vane.service"), "utf8")).toBe(PACKAGED);
      expect(lines.join("\n")).toContain("systemctl daemon-reload && systemctl enable --now vane");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says why it cannot write, with a hint", () => {
    expect(() => runService({ action: "install", unitDir: "/proc/vane-test", binary: "/usr/local/bin/vane" }))
      .toThrow(/^service: cannot write \/proc\/vane-test\/vane.service: /);
  });
});
