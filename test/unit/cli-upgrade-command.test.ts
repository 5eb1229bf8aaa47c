import { describe, expect, it } from "vitest";
import { parseUpgradeArgs, UPGRADE_USAGE } from "../../src/cli/upgrade-command.ts";
import { HELP } from "../../src/cli/help.ts";

describe("vane upgrade's arguments", () => {
  it("asks the default status endpoint, or $VANE_STATUS, with the token from $VANE_ADMIN_TOKEN", () => {
    expect(parseUpgradeArgs([], {})).toEqual({ via: { status: "127.0.0.1:9901" }, timeoutMs: 60_000, token: null });
    expect(parseUpgradeArgs([], { VANE_STATUS: "127.0.0.1:9902", VANE_ADMIN_TOKEN: "s3cret" })).toEqual({
      via: { status: "127.0.0.1:9902" },
      timeoutMs: 60_000,
      token: "s3cret",
    });
    expect(parseUpgradeArgs(["--status", "127.0.0.1:9903"], { VANE_STATUS: "127.0.0.1:9902" })?.via).toEqual({
      status: "127.0.0.1:9903",
    });
  });

  it("reaches an endpoint bound to every address on loopback", () => {
    expect(parseUpgradeArgs(["--status", ":9901"], {})?.via).toEqual({ status: "127.0.0.1:9901" });
    expect(parseUpgradeArgs(["--status", "[::]:9901"], {})?.via).toEqual({ status: "[::1]:9901" });
  });

  it("takes a pid file instead, and a timeout", () => {
    expect(parseUpgradeArgs(["--pid-file", "/run/vane/vane.pid", "--timeout", "90s"], {})).toEqual({
      via: { pidFile: "/run/vane/vane.pid" },
      timeoutMs: 90_000,
      token: null,
    });
  });

  it("refuses what it cannot use, in one line naming the flag", () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [
        ["--status", ":1", "--pid-file", "f"],
        {},
        "upgrade: expected either --status ADDR or --pid-file FILE; got both",
      ],
      [["--timeout", "soon"], {}, 'upgrade: --timeout: expected a duration like 500ms, 2s, 1m; got "soon"'],
      [[], { VANE_STATUS: "off" }, "upgrade: the status endpoint is off; use --pid-file FILE"],
      [["extra"], {}, "upgrade: "],
      [["--nope"], {}, "upgrade: "],
    ];
    for (const [argv, env, message] of cases) {
      expect(() => parseUpgradeArgs(argv, env), argv.join(" ")).toThrow(message);
    }
  });

  it("has --help, and vane --help points to it", () => {
    expect(parseUpgradeArgs(["--help"], {})).toBe(null);
    expect(UPGRADE_USAGE).toMatch(/^Usage: vane upgrade /);
    expect(HELP).toContain("vane upgrade");
  });
});
