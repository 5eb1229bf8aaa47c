/**
 * `etcd:/PREFIX` targets and the top-level `etcd:` key as operators write them: the
 * one-liner, YAML (`targets: {etcd: ...}` or inside a list), errors that name the flag
 * or file:line:column, the values services register, and printing back.
 */
import { describe, expect, it } from "vitest";
import { parseTarget, parseTargetList } from "../../src/config/target.ts";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { printConfig } from "../../src/config/print.ts";
import { etcdTargetWithoutCluster, noClusterIssue, withEtcdCluster } from "../../src/config/etcd-targets.ts";
import { expandEtcd, parseServiceValue } from "../../src/resolve/etcd-expand.ts";

function cliFailure(...argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    expect(err.message).not.toContain("\n");
    return err.message;
  }
  throw new Error("expected the command line to be refused");
}

const HEAD = "listeners:\n  - listen: :8080\n    flow: [{ proxy: api }]\n";
const ETCD = "etcd:\n  endpoints: [http://127.0.0.1:2379]\n";

function yamlErrors(text: string): string[] {
  const r = loadConfigText(text);
  if (r.ok) throw new Error("expected the config to be refused");
  return r.issues.map((i) => formatIssue("vane.yaml", i));
}

function loaded(text: string) {
  const r = loadConfigText(text);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("vane.yaml", i)).join("\n"));
  return r.config;
}

describe("parseTarget etcd:", () => {
  it("reads the prefix as written, ending it with a slash", () => {
    const want = { kind: "etcd", prefix: "/services/api/", weight: 1, raw: "etcd:/services/api/" };
    expect(parseTarget("etcd:/services/api")).toEqual(want);
    expect(parseTarget("etcd:/services/api/")).toEqual(want);
    expect(parseTarget("etcd:/Services/API").raw).toBe("etcd:/Services/API/");
  });

  it("takes etcd: beside other targets, and refuses it twice", () => {
    expect(parseTargetList("10.0.0.1:80, etcd:/services/api").map((t) => t.kind)).toEqual(["ip", "etcd"]);
    expect(() => parseTargetList("etcd:/a,etcd:/a/")).toThrowError(/once per list/);
  });

  it("refuses a weight, a relative prefix and an empty one", () => {
    expect(() => parseTarget("etcd:/services/api@3")).toThrowError(
      'expected no @WEIGHT on an etcd: target (each registered value carries one); got "etcd:/services/api@3"',
    );
    expect(() => parseTarget("etcd:services/api")).toThrowError(
      'expected etcd:/PREFIX like etcd:/services/api; got "etcd:services/api"',
    );
    expect(() => parseTarget("etcd:/")).toThrowError(/expected etcd:\/PREFIX/);
    expect(() => parseTarget("etcd:/a b")).toThrowError(/expected etcd:\/PREFIX/);
  });
});

describe("etcd: in config", () => {
  it("reads targets: {etcd: ...} and {etcd: ...} in a list, with the cluster", () => {
    const one = loaded(HEAD + ETCD + "pools:\n  api:\n    targets: { etcd: /services/api }\n");
    expect(one.pools.api.targets).toEqual([
      { kind: "etcd", prefix: "/services/api/", weight: 1, raw: "etcd:/services/api/" },
    ]);
    expect(one.etcd).toEqual({ endpoints: ["http://127.0.0.1:2379"], prefix: "/vane" });
    const list = loaded(HEAD + ETCD + "pools:\n  api:\n    targets: [10.0.0.1:80, { etcd: /services/api }]\n");
    expect(list.pools.api.targets.map((t) => t.raw)).toEqual(["10.0.0.1:80", "etcd:/services/api/"]);
    const text = loaded(HEAD + ETCD + "pools:\n  api:\n    targets: etcd:/services/api\n");
    expect(text.pools.api.targets[0].kind).toBe("etcd");
  });

  it("names file:line:column of a weight on an etcd target, a bad prefix and a bad etcd: key", () => {
    expect(yamlErrors(HEAD + ETCD + "pools:\n  api:\n    targets: [{ etcd: /services/api, weight: 2 }]\n")).toEqual([
      "vane.yaml:8:38: pools.api.targets[0].weight: expected no weight: on an etcd: target (each registered value carries its own)",
    ]);
    expect(yamlErrors(HEAD + ETCD + "pools:\n  api:\n    targets: [{ target: etcd:/x, weight: 2 }]\n")).toEqual([
      "vane.yaml:8:34: pools.api.targets[0].weight: expected no weight: on an etcd: target (each registered value carries its own)",
    ]);
    expect(yamlErrors(HEAD + ETCD + "pools:\n  api:\n    targets: { etcd: services }\n")).toEqual([
      'vane.yaml:8:22: pools.api.targets.etcd: expected etcd:/PREFIX like etcd:/services/api; got "etcd:services"',
    ]);
    expect(yamlErrors(HEAD + "etcd:\n  endpoints: [ftp://x]\npools:\n  api:\n    targets: 10.0.0.1:80\n")).toEqual([
      "vane.yaml:5:14: etcd.endpoints: expected etcd URLs (a list, or one comma-separated string), like http://10.0.0.2:2379; got a list",
    ]);
  });

  it("finds an etcd target without a cluster, and says where it is written", () => {
    const text = HEAD + "pools:\n  api:\n    targets:\n      - 10.0.0.1:80\n      - { etcd: /services/api }\n";
    const c = loaded(text);
    const found = etcdTargetWithoutCluster(c);
    expect(found).toEqual({ pool: "api", raw: "etcd:/services/api/" });
    expect(formatIssue("vane.yaml", noClusterIssue(text, found!))).toBe(
      "vane.yaml:8:17: pools.api: etcd:/services/api/: expected an etcd cluster for etcd: targets: " +
        "add a top-level etcd: {endpoints: [...]} key, or take the config from etcd (--etcd)",
    );
    const cluster = { endpoints: ["http://10.0.0.2:2379"], prefix: "/vane/edge" };
    expect(etcdTargetWithoutCluster(withEtcdCluster(c, cluster))).toBeNull();
    // A config's own cluster wins over the one it was read from.
    const own = loaded(HEAD + ETCD + "pools:\n  api:\n    targets: etcd:/s\n");
    expect(withEtcdCluster(own, cluster).etcd).toEqual(own.etcd);
  });

  it("builds a pool from --route host=etcd:/PREFIX only with a cluster, naming the flag", () => {
    expect(cliFailure("--route", "api.example.com=etcd:/services/api")).toBe(
      "--route: etcd:/services/api/ (pool api.example.com) needs an etcd cluster, which flags alone do not give: " +
        "take the config from etcd (--etcd) or write it in a file with a top-level etcd: key",
    );
    const r = parseCli(["--etcd", "http://127.0.0.1:2379", "--route", "api.example.com=etcd:/services/api"]);
    if (r.kind !== "run") throw new Error(r.kind);
    expect(cliFailure("--route", "*=etcd:/a@2")).toMatch(/^--route: expected no @WEIGHT on an etcd: target/);
  });

  it("prints the etcd key and etcd targets back to an equal config", () => {
    const text = HEAD +
      "etcd:\n  endpoints: http://127.0.0.1:2379,http://127.0.0.2:2379\n  prefix: /vane/eu\n  user: vane\n" +
      "  password-file: /etc/vane/pw\n  ca: /ca.pem\n  cert: /c.pem\n  key: /k.pem\n" +
      "pools:\n  api:\n    targets: [10.0.0.1:80, { etcd: /services/api }]\n";
    const c = loaded(text);
    const printed = printConfig(c);
    expect(printed).toContain("etcd:/services/api/");
    expect(loaded(printed)).toEqual(c);
  });
});

describe("registered values", () => {
  const P = "/services/api/";
  it("reads HOST:PORT, @WEIGHT and JSON with weight and zone, tagged with the key", () => {
    expect(parseServiceValue(P, `${P}a`, "127.0.0.1:8080")).toEqual({
      ok: true,
      spec: {
        kind: "ip",
        host: "127.0.0.1",
        port: 8080,
        weight: 1,
        raw: "127.0.0.1:8080",
        etcd: { prefix: P, key: `${P}a` },
      },
    });
    const w = parseServiceValue(P, `${P}b`, "api-1.internal:80@5\n");
    expect(w.ok && w.spec).toMatchObject({ kind: "dns", host: "api-1.internal", weight: 5 });
    const j = parseServiceValue(P, `${P}c`, `{"address": "[::1]:81", "weight": 0, "zone": "eu-1"}`);
    expect(j.ok && j.spec).toMatchObject({ kind: "ip", host: "::1", port: 81, weight: 0, etcd: { zone: "eu-1" } });
  });

  it("refuses what is not a target, saying what was expected", () => {
    for (
      const bad of [
        "",
        "garbage",
        "node:db:80",
        "127.0.0.1:99999",
        `{"address": 5}`,
        `{"address": "a:1", "weight": 1000}`,
        "{oops",
      ]
    ) {
      const got = parseServiceValue(P, `${P}x`, bad);
      expect(got.ok, bad).toBe(false);
      if (!got.ok) expect(got.reason).toMatch(/^expected HOST:PORT, HOST:PORT@WEIGHT or JSON/);
    }
  });

  it("expands in key order, one target per address, naming each bad key", () => {
    const bad: string[] = [];
    const values = new Map([[`${P}b`, "10.0.0.1:80"], [`${P}a`, "10.0.0.1:80@3"], [`${P}c`, "nope"], [
      `${P}d`,
      "10.0.0.2:80",
    ]]);
    const specs = expandEtcd(P, values, (key) => bad.push(key));
    expect(specs.map((s) => [s.raw, s.weight])).toEqual([["10.0.0.1:80", 3], ["10.0.0.2:80", 1]]);
    expect(bad).toEqual([`${P}c`]);
  });
});
