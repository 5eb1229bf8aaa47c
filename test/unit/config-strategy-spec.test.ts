/**
 * A pool's `strategy` as written (src/config/strategy-spec.ts, yaml-strategy.ts and
 * --strategy in src/cli/build-pools.ts): the one-line forms, the YAML map form, the
 * canonical text both end as, and the one-line errors for what is wrong.
 */
import { describe, expect, it } from "vitest";
import { parseStrategy, strategyText } from "../../src/config/strategy-spec.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { cookieValue, pathOf } from "../../src/http/request-key.ts";

function yamlStrategy(strategy: string): string | string[] {
  const r = loadConfigText(
    `listeners:\n  - listen: :80\n    flow: [{ proxy: web }]\npools:\n  web:\n    targets: [127.0.0.1:1]\n    strategy: ${strategy}\n`,
  );
  return r.ok ? r.config.pools.web.strategy : r.issues.map((i) => formatIssue("vane.yaml", i));
}

function flagStrategy(text: string): string {
  try {
    const r = parseCli(["--route", "*=127.0.0.1:9000", "--strategy", text]);
    return r.kind === "run" ? r.config!.pools.default.strategy : r.kind;
  } catch (err) {
    if (err instanceof CliError) return err.message;
    throw err;
  }
}

describe("parseStrategy", () => {
  it("reads every one-line form, and strategyText writes it back the same", () => {
    const forms = [
      "serial",
      "random",
      "fastest",
      "leastconn",
      "p2c",
      "hash:client",
      "hash:path",
      "hash:header:X-User",
      "hash:cookie:session",
      "hash:client,bound=2",
      "hash:header:X-User,bound=1.5",
      "sticky:cookie:srv",
    ];
    for (const f of forms) expect(strategyText(parseStrategy(f))).toBe(f);
    expect(parseStrategy("hash:header:X-User")).toEqual({ kind: "hash", on: "header", name: "X-User", bound: 1.25 });
    expect(strategyText(parseStrategy("sticky"))).toBe("sticky:cookie:vane_sticky");
    expect(strategyText(parseStrategy("hash:path,bound=1.25"))).toBe("hash:path");
  });

  it("refuses unknown names, bad header names and bounds below 1", () => {
    for (
      const bad of ["round-robin", "hash", "hash:", "hash:header:", "hash:header:a b", "sticky:cookie:", "hash:ip"]
    ) {
      expect(() => parseStrategy(bad)).toThrow(/^expected serial, random, .*; got "/);
    }
    expect(() => parseStrategy("hash:client,bound=0.5")).toThrow(
      'expected ,bound=C with C a number from 1 to 100 after the hash; got "hash:client,bound=0.5"',
    );
  });
});

describe("strategy in YAML and --strategy", () => {
  it("takes the one-line forms in YAML and on the command line alike", () => {
    expect(yamlStrategy("hash:header:X-User")).toBe("hash:header:X-User");
    expect(yamlStrategy("leastconn")).toBe("leastconn");
    expect(flagStrategy("leastconn")).toBe("leastconn");
    expect(flagStrategy("hash:header:X-User")).toBe("hash:header:X-User");
    expect(flagStrategy("sticky")).toBe("sticky:cookie:vane_sticky");
  });

  it("takes the map form in YAML, ending as the same canonical text", () => {
    expect(yamlStrategy("{ hash: { header: X-User }, bound: 1.5 }")).toBe("hash:header:X-User,bound=1.5");
    expect(yamlStrategy("{ hash: client }")).toBe("hash:client");
    expect(yamlStrategy("{ hash: { cookie: sid } }")).toBe("hash:cookie:sid");
    expect(yamlStrategy("{ sticky: { cookie: srv } }")).toBe("sticky:cookie:srv");
  });

  it("reports a bad strategy in one line with its file:line:column or its flag", () => {
    expect(yamlStrategy("hash:ip")).toEqual([
      'vane.yaml:7:15: pools.web.strategy: expected serial, random, fastest, leastconn, p2c, hash:client, hash:path, hash:header:NAME, hash:cookie:NAME (with an optional ,bound=C) or sticky[:cookie:NAME]; got "hash:ip"',
    ]);
    expect(yamlStrategy("{ hash: client, bound: 0.5 }")).toEqual([
      'vane.yaml:7:15: pools.web.strategy: expected ,bound=C with C a number from 1 to 100 after the hash; got "hash:client,bound=0.5"',
    ]);
    expect(yamlStrategy("{ hash: client, sticky: { cookie: a } }")).toEqual([
      "vane.yaml:7:15: pools.web.strategy: expected exactly one of hash or sticky in a strategy map",
    ]);
    expect(yamlStrategy("{ hash: { header: A, cookie: b } }")).toEqual([
      "vane.yaml:7:23: pools.web.strategy.hash: expected one of header or cookie",
    ]);
    expect(flagStrategy("hash:client,bound=x")).toBe(
      '--strategy: expected ,bound=C with C a number from 1 to 100 after the hash; got "hash:client,bound=x"',
    );
  });
});

describe("request keys (src/http/request-key.ts)", () => {
  it("reads the path without its query, in origin or absolute form", () => {
    expect(pathOf("/a/b?x=1")).toBe("/a/b");
    expect(pathOf("/a")).toBe("/a");
    expect(pathOf("http://h.example/p?q")).toBe("/p");
    expect(pathOf("http://h.example")).toBe("/");
  });

  it("finds a cookie by exact name among several fields and pairs", () => {
    expect(cookieValue(["a=1; srv=abc; b=2"], "srv")).toBe("abc");
    expect(cookieValue(["xsrv=no", "srv=yes"], "srv")).toBe("yes");
    expect(cookieValue(["srvx=no; b=2"], "srv")).toBeUndefined();
    expect(cookieValue([], "srv")).toBeUndefined();
  });
});
