import { describe, expect, it } from "vitest";
import { readAdminToken, tokenFromText } from "../../src/control/token.ts";
import { parseCli } from "../../src/cli/args.ts";
import { printConfig } from "../../src/config/print.ts";
import { formatIssue, issueAt, loadConfigText } from "../../src/config/yaml-load.ts";
import type { ControlConfig } from "../../src/config/model.ts";

const LISTEN = { host: "127.0.0.1", port: 9901 };
const files: Record<string, string> = { "/run/vane/token": "s3cret  \nsecond line\n", "/run/vane/empty": "\n" };
const read = (path: string): Promise<string> =>
  path in files ? Promise.resolve(files[path]) : Promise.reject(
    Object.assign(new Error(`No such file or directory (os error 2): readfile '${path}'`), { code: "ENOENT" }),
  );
const control = (over: Partial<ControlConfig>): ControlConfig => ({ listen: LISTEN, token: null, ...over });

describe("tokenFromText", () => {
  it("takes the first line, trimmed, whatever line ending", () => {
    expect(tokenFromText("abc\n")).toBe("abc");
    expect(tokenFromText("  abc\r\nxyz")).toBe("abc");
    expect(tokenFromText("abc")).toBe("abc");
  });

  it("finds none in an empty file or one whose first line is blank", () => {
    expect(tokenFromText("")).toBe(null);
    expect(tokenFromText("  \nabc\n")).toBe(null);
  });
});

describe("readAdminToken", () => {
  it("takes the config's token first, then its token file, then the fallback (VANE_ADMIN_TOKEN)", async () => {
    expect(await readAdminToken(control({ token: "t" }), read, "env")).toEqual({ ok: true, token: "t" });
    expect(await readAdminToken(control({ tokenFile: "/run/vane/token" }), read, "env")).toEqual({
      ok: true,
      token: "s3cret",
    });
    expect(await readAdminToken(control({}), read, "env")).toEqual({ ok: true, token: "env" });
    expect(await readAdminToken(control({}), read)).toEqual({ ok: true, token: null });
    expect(await readAdminToken(control({}), read, "")).toEqual({ ok: true, token: null });
  });

  it("says which file is missing or empty, and never falls back to the environment then", async () => {
    const missing = await readAdminToken(control({ tokenFile: "/run/vane/nope" }), read, "env");
    expect(missing).toEqual({
      ok: false,
      reason:
        `cannot read the token file "/run/vane/nope": ENOENT: No such file or directory (os error 2): readfile '/run/vane/nope'`,
    });
    const empty = await readAdminToken(control({ tokenFile: "/run/vane/empty" }), read, "env");
    expect(empty).toEqual({
      ok: false,
      reason: `expected a token on the first line of "/run/vane/empty"; got an empty line`,
    });
  });
});

describe("--admin-token-file", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(flags.includes("--config") ? flags : ["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run") throw new Error("not a run");
    return r;
  };

  it("names the token file in the config and reports the flag it came from", () => {
    const r = run("--admin-token-file", "/run/vane/token");
    expect(r.config!.control).toEqual({ listen: LISTEN, token: null, tokenFile: "/run/vane/token" });
    expect(r.adminTokenFile).toBe("/run/vane/token");
    expect(run().adminTokenFile).toBe(null);
  });

  it("refuses an empty path and --admin-token beside it", () => {
    expect(() => run("--admin-token-file", "")).toThrow(
      '--admin-token-file: expected a FILE whose first line is the admin token; got ""',
    );
    expect(() => run("--admin-token-file", "/t", "--admin-token", "x")).toThrow(
      "--admin-token-file: expected either --admin-token or --admin-token-file; got both",
    );
  });

  it("replaces a file's token or token-file, and --admin-token replaces a file's token-file", () => {
    const file = loadConfigText("listeners: [{ listen: :8080, flow: [abort: true] }]\ncontrol: { token-file: /a }\n");
    if (!file.ok) throw new Error("bad fixture");
    expect(run("--config", "x").apply(file.config).control).toEqual({ listen: LISTEN, token: null, tokenFile: "/a" });
    expect(run("--config", "x", "--admin-token-file", "/b").apply(file.config).control.tokenFile).toBe("/b");
    expect(run("--config", "x", "--admin-token", "t").apply(file.config).control).toEqual({
      listen: LISTEN,
      token: "t",
    });
  });
});

describe("control.token-file in YAML", () => {
  const base = "listeners: [{ listen: :8080, flow: [abort: true] }]\n";

  it("is read into the config and printed back as written", () => {
    const loaded = loadConfigText(`${base}control: { listen: 127.0.0.1:9901, token-file: /run/vane/token }\n`);
    if (!loaded.ok) throw new Error(loaded.issues[0].message);
    expect(loaded.config.control).toEqual({ listen: LISTEN, token: null, tokenFile: "/run/vane/token" });
    const printed = printConfig(loaded.config);
    expect(printed).toContain("token-file: /run/vane/token");
    const again = loadConfigText(printed);
    expect(again.ok && again.config).toEqual(loaded.config);
  });

  it("is refused beside token, and when empty, with line and column", () => {
    const both = loadConfigText(`${base}control: { token: a, token-file: /b }\n`);
    expect(!both.ok && formatIssue("vane.yaml", both.issues[0])).toBe(
      "vane.yaml:2:22: control.token-file: expected either token or token-file; got both",
    );
    const empty = loadConfigText(`${base}control: { token-file: "" }\n`);
    expect(!empty.ok && formatIssue("vane.yaml", empty.issues[0])).toMatch(
      /^vane\.yaml:2:24: control\.token-file: expected /,
    );
  });

  it("issueAt points at the value, so a file that cannot be read is reported where it is named", () => {
    const text = `${base}control:\n  listen: 127.0.0.1:9901\n  token-file: /run/vane/nope\n`;
    expect(formatIssue("vane.yaml", issueAt(text, ["control", "token-file"], "cannot read"))).toBe(
      "vane.yaml:4:15: control.token-file: cannot read",
    );
  });
});
