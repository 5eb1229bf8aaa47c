import { describe, expect, it } from "vitest";
import { readSourceFile } from "../../src/config/yaml-source.ts";
import { formatIssue } from "../../src/config/yaml-load.ts";

const errors = (text: string) => {
  const got = readSourceFile(text);
  return got.kind === "error" ? got.issues.map((i) => formatIssue("boot.yaml", i)) : got.kind;
};

describe("bootstrap file (source: etcd)", () => {
  it("reads the etcd source beside state-dir; every other file is a config", () => {
    expect(readSourceFile("listeners: []\n")).toEqual({ kind: "config" });
    expect(readSourceFile("not: [yaml")).toEqual({ kind: "config" });
    expect(readSourceFile(`source:
  etcd:
    endpoints: [https://10.0.0.2:2379, https://10.0.0.3:2379]
    prefix: /vane/edge-eu/
    user: vane
    password-file: /etc/vane/etcd.pw
    ca: ca.pem
    cert: c.pem
    key: k.pem
state-dir: /var/lib/vane
`)).toEqual({
      kind: "etcd",
      spec: {
        endpoints: ["https://10.0.0.2:2379", "https://10.0.0.3:2379"],
        prefix: "/vane/edge-eu",
        user: "vane",
        passwordFile: "/etc/vane/etcd.pw",
        ca: "ca.pem",
        cert: "c.pem",
        key: "k.pem",
      },
      stateDir: "/var/lib/vane",
    });
    expect(readSourceFile("source: { etcd: { endpoints: 'http://a:2379,http://b:2379' } }\n")).toEqual({
      kind: "etcd",
      spec: { endpoints: ["http://a:2379", "http://b:2379"], prefix: "/vane" },
    });
  });

  it("names the line, column and key of each mistake", () => {
    expect(errors("source: { etcd: { endpoints: [10.0.0.2:2379] } }\n")).toEqual([
      expect.stringMatching(/^boot\.yaml:1:30: source\.etcd\.endpoints: expected etcd URLs/),
    ]);
    expect(errors("source: { etcd: { endpoints: http://a:2379, prefix: vane } }\n")).toEqual([
      expect.stringMatching(/^boot\.yaml:1:53: source\.etcd\.prefix: expected a key prefix starting with \//),
    ]);
    expect(errors("source: { etcd: { endpoints: http://a:2379, cert: c.pem } }\n")).toEqual([
      expect.stringMatching(/^boot\.yaml:1:\d+: source\.etcd\.cert: expected cert and key together/),
    ]);
    expect(errors("source: { etcd: {} }\n")[0]).toMatch(/^boot\.yaml:1:\d+: source\.etcd: .*endpoints/);
    expect(errors("source: { consul: {} }\n")[0]).toMatch(/^boot\.yaml:1:\d+: .*consul/);
    // The config's own keys belong in etcd.
    expect(errors("source: { etcd: { endpoints: http://a:2379 } }\nlisteners: []\n")[0]).toMatch(
      /^boot\.yaml:2:1: .*listeners/,
    );
  });
});
