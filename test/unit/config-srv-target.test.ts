/**
 * `srv:_service._proto.name` targets as operators write them: in a target list, on the
 * command line and in YAML, with errors that name the flag or file:line:column.
 */
import { describe, expect, it } from "vitest";
import { parseTarget, parseTargetList } from "../../src/config/target.ts";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { configToDocument } from "../../src/config/print.ts";

/** The CliError message for argv that must fail. */
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

/** A file with one listener proxying to the pool `api`, then `pools`. */
const HEAD = "listeners:\n  - listen: :8080\n    flow: [{ proxy: api }]\n";

/** The formatted issues of a YAML file that must fail. */
function yamlErrors(text: string): string[] {
  const r = loadConfigText(text);
  if (r.ok) throw new Error("expected the config to be refused");
  return r.issues.map((i) => formatIssue("vane.yaml", i));
}

describe("parseTarget srv:", () => {
  it("reads the SRV name, lowercased and without a trailing dot", () => {
    expect(parseTarget("srv:_API._tcp.Example.com.")).toEqual({
      kind: "srv",
      name: "_api._tcp.example.com",
      weight: 1,
      raw: "srv:_api._tcp.example.com",
    });
  });

  it("takes srv: next to other targets in a list, and refuses it twice", () => {
    expect(parseTargetList("10.0.0.1:80, srv:_api._tcp.example.com").map((t) => t.kind)).toEqual(["ip", "srv"]);
    expect(() => parseTargetList("srv:_a._tcp.x.com,srv:_a._tcp.x.com")).toThrowError(/once per list/);
  });

  it("refuses names without _service._proto, ports, weights and bad host names", () => {
    const expected = 'expected srv:_SERVICE._PROTO.NAME like srv:_api._tcp.example.com; got "srv:api.example.com"';
    expect(() => parseTarget("srv:api.example.com")).toThrowError(expected);
    expect(() => parseTarget("srv:_api._tcp")).toThrowError(/expected srv:_SERVICE\._PROTO\.NAME/);
    expect(() => parseTarget("srv:_api._tcp.example.com:80")).toThrowError(
      'expected no port on an srv: target (its records carry the ports); got "srv:_api._tcp.example.com:80"',
    );
    expect(() => parseTarget("srv:_api._tcp.example.com@3")).toThrowError(/no @WEIGHT on an srv: target/);
    expect(() => parseTarget("srv:_api._tcp.exa mple.com")).toThrowError(/\(NAME a host name\)/);
  });
});

describe("srv: in config", () => {
  it("builds a pool with the srv: target from --route, and prints it back", () => {
    const r = parseCli(["--route", "api.example.com=srv:_api._tcp.example.com"]);
    if (r.kind !== "run") throw new Error(r.kind);
    const pool = Object.values(r.config!.pools)[0];
    expect(pool.targets).toEqual([{
      kind: "srv",
      name: "_api._tcp.example.com",
      weight: 1,
      raw: "srv:_api._tcp.example.com",
    }]);
    const doc = configToDocument(r.config!) as { pools: Record<string, { targets: string[] }> };
    expect(Object.values(doc.pools)[0].targets).toEqual(["srv:_api._tcp.example.com"]);
  });

  it("names the flag of a malformed srv: target", () => {
    expect(cliFailure("--route", "*=srv:_api.example.com")).toBe(
      '--route: expected srv:_SERVICE._PROTO.NAME like srv:_api._tcp.example.com; got "srv:_api.example.com"',
    );
    expect(cliFailure("--pool", "api=srv:_api._tcp.example.com:80", "--route", "*=api")).toMatch(
      /^--pool: expected no port on an srv: target/,
    );
  });

  it("loads srv: in YAML and names file:line:column of a malformed one or of a weight on it", () => {
    const ok = loadConfigText(HEAD + `pools:\n  api:\n    targets: [srv:_api._tcp.example.com]\n`);
    if (!ok.ok) throw new Error(JSON.stringify(ok.issues));
    expect(ok.config.pools.api.targets[0]).toMatchObject({ kind: "srv", name: "_api._tcp.example.com" });
    expect(yamlErrors(HEAD + `pools:\n  api:\n    targets: [srv:api.example.com]\n`)).toEqual([
      'vane.yaml:6:15: pools.api.targets[0]: expected srv:_SERVICE._PROTO.NAME like srv:_api._tcp.example.com; got "srv:api.example.com"',
    ]);
    expect(
      yamlErrors(HEAD + `pools:\n  api:\n    targets:\n      - { target: srv:_api._tcp.example.com, weight: 2 }\n`),
    )
      .toEqual([
        "vane.yaml:7:46: pools.api.targets[0].weight: expected no weight: on an srv: target (its records carry the weights)",
      ]);
  });
});
