/**
 * `outlier:` and the retry keys of a pool, in the YAML file and on the command line:
 * what they read as, what `--print-config` writes back, and the errors for bad input.
 */
import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { parseOutlierSpec, parsePercent } from "../../src/config/outlier-spec.ts";
import { DEFAULT_OUTLIER, DEFAULT_RETRY, type PoolConfig } from "../../src/config/model.ts";
import { configToDocument } from "../../src/config/print.ts";

const LISTENER = `listeners: [{ listen: ":1", flow: [{ proxy: web }] }]\n`;

function pool(body: string): PoolConfig {
  const r = loadConfigText(`${LISTENER}pools:\n  web: ${body}\n`);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("vane.yaml", i)).join("\n"));
  return r.config.pools.web;
}

function errors(text: string): string[] {
  const r = loadConfigText(LISTENER + text);
  if (r.ok) throw new Error("expected the config to be refused");
  // The listener's pool "web" is not among the pools of these files: not the point here.
  return r.issues.map((i) => formatIssue("vane.yaml", i)).filter((line) => !line.includes('unknown pool "web"'));
}

function cliFailure(...argv: string[]): string {
  try {
    parseCli(["--route", "*=127.0.0.1:9000", ...argv]);
  } catch (err) {
    if (err instanceof CliError) return err.message;
    throw err;
  }
  throw new Error("expected the flags to be refused");
}

describe("outlier and retry words", () => {
  it("reads a percentage with or without %, 0 to 100", () => {
    expect(parsePercent("20%")).toBe(20);
    expect(parsePercent("12.5")).toBe(12.5);
    expect(parsePercent("0%")).toBe(0);
    expect(() => parsePercent("120%")).toThrowError('expected a percentage from 0 to 100, like 20%; got "120%"');
    expect(() => parsePercent("-1")).toThrowError(/got "-1"/);
  });

  it("reads --outlier on, off, or KEY=VALUE over the defaults", () => {
    expect(parseOutlierSpec("on")).toEqual(DEFAULT_OUTLIER);
    expect(parseOutlierSpec("off")).toBe(null);
    expect(parseOutlierSpec("consecutive-5xx=3,base-ejection=10s,max-ejected=25%")).toEqual({
      ...DEFAULT_OUTLIER,
      consecutive5xx: 3,
      baseEjectionMs: 10_000,
      maxEjectedPercent: 25,
    });
    expect(() => parseOutlierSpec("consecutive=3")).toThrowError(/KEY one of consecutive-5xx, .*; got "consecutive=3"/);
    expect(() => parseOutlierSpec("base-ejection=1m,max-ejection=30s")).toThrowError(
      "expected max-ejection at least base-ejection; got 30s < 1m",
    );
  });
});

describe("outlier and retries in YAML", () => {
  it("leaves outlier off and retries as today's unless told", () => {
    const p = pool("{ targets: [a:1] }");
    expect(p.outlier).toBe(null);
    expect(p.retry).toEqual(DEFAULT_RETRY);
  });

  it("reads outlier: on, a map over the defaults, and the retry keys", () => {
    expect(pool("{ targets: [a:1], outlier: on }").outlier).toEqual(DEFAULT_OUTLIER);
    const p = pool(
      "{ targets: [a:1], outlier: { consecutive-5xx: 2, consecutive-resets: 0, max-ejected: 100% }, retries: 3, " +
        "retry-budget: 50%, retry-budget-min: 0, retry-backoff: 0s, retry-backoff-max: 1s }",
    );
    expect(p.outlier).toEqual({ ...DEFAULT_OUTLIER, consecutive5xx: 2, consecutiveResets: 0, maxEjectedPercent: 100 });
    expect(p.retry).toEqual({ retries: 3, budgetPercent: 50, budgetMin: 0, backoffMs: 0, backoffMaxMs: 1_000 });
  });

  it("writes them back with --print-config, and reads that back the same", () => {
    const p = pool("{ targets: [a:1], outlier: { base-ejection: 5s }, retries: 2, retry-budget: 30% }");
    const doc = configToDocument({ ...loadOk(), pools: { web: p } }) as { pools: { web: Record<string, unknown> } };
    expect(doc.pools.web).toMatchObject({
      retries: 2,
      "retry-budget": "30%",
      outlier: {
        "consecutive-5xx": 5,
        "consecutive-resets": 5,
        "base-ejection": "5s",
        "max-ejection": "5m",
        "max-ejected": "50%",
      },
    });
    const again = pool(JSON.stringify(doc.pools.web));
    expect(again.outlier).toEqual(p.outlier);
    expect(again.retry).toEqual(p.retry);
  });

  it("reports bad values at their line and column", () => {
    expect(errors(`pools:
  a: { targets: [a:1], outlier: sometimes }
  b: { targets: [a:1], outlier: { consecutive-5xx: many, max-ejected: 150% } }
  c: { targets: [a:1], outlier: { base-ejections: 1s } }
  d: { targets: [a:1], outlier: { base-ejection: 1m, max-ejection: 10s } }
  e: { targets: [a:1], retries: 11, retry-budget: lots, retry-backoff: 5 }
`)).toEqual([
      'vane.yaml:3:33: pools.a.outlier: expected on, off or a map with consecutive-5xx, consecutive-resets, base-ejection, max-ejection, max-ejected; got "sometimes"',
      'vane.yaml:4:52: pools.b.outlier.consecutive-5xx: expected consecutive-5xx an integer 0..1000 (0: off); got "many"',
      'vane.yaml:4:71: pools.b.outlier.max-ejected: expected a percentage from 0 to 100, like 20%; got "150%"',
      'vane.yaml:5:35: pools.c.outlier.base-ejections: unknown key "base-ejections"; did you mean "base-ejection"?',
      "vane.yaml:6:33: pools.d.outlier: expected max-ejection at least base-ejection; got 10s < 1m",
      "vane.yaml:7:33: pools.e.retries: expected an integer 0..10; got a number (11)",
      'vane.yaml:7:51: pools.e.retry-budget: expected a percentage from 0 to 100, like 20%; got "lots"',
      "vane.yaml:7:72: pools.e.retry-backoff: expected a duration like 500ms, 2s, 1m; got a number (5)",
    ]);
  });
});

describe("outlier and retries on the command line", () => {
  it("applies --outlier, --retries and --retry-budget to every pool", () => {
    const r = parseCli([
      "--pool",
      "p=127.0.0.1:1",
      "--route",
      "*=127.0.0.1:9000",
      "--outlier",
      "consecutive-5xx=2",
      "--retries",
      "3",
      "--retry-budget",
      "0%",
    ]);
    if (r.kind !== "run") throw new Error("expected a run");
    for (const p of Object.values(r.config!.pools)) {
      expect(p.outlier).toEqual({ ...DEFAULT_OUTLIER, consecutive5xx: 2 });
      expect(p.retry).toMatchObject({ retries: 3, budgetPercent: 0 });
    }
  });

  it("names the flag in its errors", () => {
    expect(cliFailure("--retries", "11")).toBe('--retries: expected an integer 0..10; got "11"');
    expect(cliFailure("--retry-budget", "1/5")).toBe(
      '--retry-budget: expected a percentage from 0 to 100, like 20%; got "1/5"',
    );
    expect(cliFailure("--outlier", "yes")).toMatch(/^--outlier: expected on, off or KEY=VALUE,\.\.\. with KEY one of/);
    expect(cliFailure("--outlier", "max-ejection=0s")).toBe(
      '--outlier: expected max-ejection a duration above 0; got "0s"',
    );
  });
});

/** A whole config to print a pool in. */
function loadOk() {
  const r = loadConfigText(`${LISTENER}pools:\n  web: { targets: [a:1] }\n`);
  if (!r.ok) throw new Error("expected a config");
  return r.config;
}
