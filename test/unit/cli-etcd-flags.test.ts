import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";

function run(...argv: string[]) {
  const r = parseCli(argv);
  if (r.kind !== "run") throw new Error("not run");
  return r;
}

describe("--etcd flags", () => {
  it("reads the endpoints, the prefix (default /vane, trailing slash dropped) and the auth files", () => {
    expect(run("--etcd", "http://10.0.0.2:2379").etcd).toEqual({
      endpoints: ["http://10.0.0.2:2379"],
      prefix: "/vane",
    });
    const r = run(
      "--etcd",
      "https://a:2379, https://b:2379",
      "--etcd-prefix",
      "/vane/edge-eu/",
      "--etcd-user",
      "vane",
      "--etcd-password-file",
      "/etc/vane/etcd.pw",
      "--etcd-ca",
      "ca.pem",
      "--etcd-cert",
      "c.pem",
      "--etcd-key",
      "k.pem",
      "--state-dir",
      "/var/lib/vane",
    );
    expect(r.etcd).toEqual({
      endpoints: ["https://a:2379", "https://b:2379"],
      prefix: "/vane/edge-eu",
      user: "vane",
      passwordFile: "/etc/vane/etcd.pw",
      ca: "ca.pem",
      cert: "c.pem",
      key: "k.pem",
    });
    expect(r.stateDir).toBe("/var/lib/vane");
    // The config comes from etcd: none is built from the flags alone.
    expect(r.config).toBeNull();
  });

  it("names the flag and what it expected for each mistake", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--etcd", "10.0.0.2:2379"], /^--etcd: expected http:\/\/ or https:\/\/ URLs .* got "10.0.0.2:2379"$/],
      [["--etcd", "ftp://x"], /^--etcd: expected http/],
      [["--etcd", "http://x:2379/v3"], /^--etcd: expected http/],
      [["--etcd", ","], /^--etcd: expected etcd URLs/],
      [["--etcd", "http://x:2379", "--etcd-prefix", "vane"], /^--etcd-prefix: expected a key prefix starting with \//],
      [
        ["--etcd", "http://x:2379", "--etcd-cert", "c.pem"],
        /^--etcd-cert: expected --etcd-cert and --etcd-key together$/,
      ],
      [["--etcd", "http://x:2379", "--etcd-password-file", "p"], /^--etcd-password-file: only with --etcd-user$/],
      [["--etcd-prefix", "/vane"], /^--etcd-prefix: only with --etcd URL$/],
      [
        ["--etcd", "http://x:2379", "run", "vane.yaml"],
        /^--etcd: the config comes from etcd or from vane.yaml, not both$/,
      ],
    ];
    for (const [argv, message] of cases) expect(() => parseCli(argv), argv.join(" ")).toThrow(message);
  });
});
