/** A pool's maxconn, maxqueue and queue-timeout: YAML keys, the flags over every pool, errors, --print-config. */
import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import type { Config } from "../../src/config/model.ts";
import { configToDocument, printConfig } from "../../src/config/print.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";

function fromYaml(text: string): Config {
  const r = loadConfigText(text);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("t.yaml", i)).join("\n"));
  return r.config;
}

function yamlErrors(text: string): string[] {
  const r = loadConfigText(text);
  if (r.ok) throw new Error("expected the config to be refused");
  return r.issues.map((i) => formatIssue("vane.yaml", i));
}

/** Flags alone, or over a file. */
function run(argv: string[], yaml?: string): Config {
  const r = parseCli(yaml === undefined ? argv : ["--config", "t.yaml", ...argv]);
  if (r.kind !== "run") throw new Error("not a run");
  return yaml === undefined ? r.config! : r.apply(fromYaml(yaml));
}

function flagError(argv: string[], yaml?: string): string {
  try {
    run(argv, yaml);
  } catch (err) {
    if (err instanceof CliError) return err.message;
    throw err;
  }
  throw new Error("no error");
}

const FILE = `listeners: [{ listen: ":1", flow: [{ proxy: a }, { proxy: b }] }]
pools:
  a: { targets: [127.0.0.1:1], maxconn: 2, maxqueue: 0, queue-timeout: 250ms }
  b: { targets: [127.0.0.1:2] }
`;

describe("pool maxconn in YAML", () => {
  it("reads maxconn, maxqueue and queue-timeout, and leaves a pool without them unlimited", () => {
    const c = fromYaml(FILE);
    expect(c.pools.a).toMatchObject({ maxconn: 2, maxqueue: 0, queueTimeoutMs: 250 });
    expect("maxconn" in c.pools.b || "maxqueue" in c.pools.b || "queueTimeoutMs" in c.pools.b).toBe(false);
  });

  it("reports bad values and queue keys without maxconn at file:line:column", () => {
    const text = `listeners: [{ listen: ":1", flow: [{ abort: true }] }]
pools:
  a: { targets: [a:1], maxconn: 0 }
  b: { targets: [a:1], maxconn: 10, maxqueue: -1, queue-timeout: soon }
  c: { targets: [a:1], maxqueue: 5, queue-timeout: 1s }
  d: { targets: [a:1], maxconn: many }
  e: { targets: [a:1], max-conn: 3 }
`;
    expect(yamlErrors(text)).toEqual([
      "vane.yaml:3:33: pools.a.maxconn: expected an integer 1..1000000; got a number (0)",
      "vane.yaml:4:47: pools.b.maxqueue: expected an integer 0..1000000; got a number (-1)",
      'vane.yaml:4:66: pools.b.queue-timeout: expected a duration like 500ms, 2s, 1m; got "soon"',
      "vane.yaml:5:24: pools.c.maxqueue: expected maxqueue only alongside maxconn; got no maxconn",
      "vane.yaml:5:37: pools.c.queue-timeout: expected queue-timeout only alongside maxconn; got no maxconn",
      'vane.yaml:6:33: pools.d.maxconn: expected an integer 1..1000000; got "many"',
      'vane.yaml:7:24: pools.e.max-conn: unknown key "max-conn"; did you mean "maxconn"?',
    ]);
  });

  it("prints maxconn with the queue's bounds (defaults written out), and nothing for a pool without", () => {
    const doc = configToDocument(fromYaml(FILE)) as { pools: Record<string, Record<string, unknown>> };
    expect(doc.pools.a).toMatchObject({ maxconn: 2, maxqueue: 0, "queue-timeout": "250ms" });
    expect(Object.keys(doc.pools.b)).not.toContain("maxconn");
    const defaults = configToDocument(run(["--route", "*=127.0.0.1:9", "--maxconn", "3"])) as typeof doc;
    expect(defaults.pools.default).toMatchObject({ maxconn: 3, maxqueue: 1024, "queue-timeout": "5s" });
    // What is printed loads back the same.
    const again = fromYaml(printConfig(fromYaml(FILE)));
    expect(again.pools.a).toMatchObject({ maxconn: 2, maxqueue: 0, queueTimeoutMs: 250 });
  });
});

describe("pool maxconn flags", () => {
  it("sets --maxconn, --maxqueue and --queue-timeout in every pool, the file's included", () => {
    const c = run(["--maxconn", "5", "--maxqueue", "7", "--queue-timeout", "2s"], FILE);
    for (const name of ["a", "b"]) {
      expect(c.pools[name]).toMatchObject({ maxconn: 5, maxqueue: 7, queueTimeoutMs: 2000 });
    }
    const flags = run(["--pool", "p=127.0.0.1:1", "--route", "*=p", "--maxconn", "1"]);
    expect(flags.pools.p.maxconn).toBe(1);
  });

  it("lets --maxqueue alone apply to a file's pool that has maxconn", () => {
    const c = run(
      ["--maxqueue", "9"],
      `listeners: [{ listen: ":1", flow: [{ proxy: a }] }]
pools:
  a: { targets: [127.0.0.1:1], maxconn: 2 }
`,
    );
    expect(c.pools.a).toMatchObject({ maxconn: 2, maxqueue: 9 });
  });

  it("refuses bad values, and a queue flag where no maxconn applies, naming the flag", () => {
    const route = ["--route", "*=127.0.0.1:9"];
    expect(flagError([...route, "--maxconn", "0"])).toBe('--maxconn: expected an integer 1..1000000; got "0"');
    expect(flagError([...route, "--maxconn", "lots"])).toBe('--maxconn: expected an integer 1..1000000; got "lots"');
    expect(flagError([...route, "--maxconn", "1", "--maxqueue=-3"])).toBe(
      '--maxqueue: expected an integer 0..1000000; got "-3"',
    );
    expect(flagError([...route, "--maxconn", "1", "--queue-timeout", "0s"])).toBe(
      '--queue-timeout: expected a duration greater than 0; got "0s"',
    );
    expect(flagError([...route, "--maxqueue", "3"])).toBe(
      '--maxqueue: expected --maxconn N alongside (or maxconn in pool "default"); got none',
    );
    expect(flagError(["--queue-timeout", "1s"], FILE)).toBe(
      '--queue-timeout: expected --maxconn N alongside (or maxconn in pool "b"); got none',
    );
  });
});
