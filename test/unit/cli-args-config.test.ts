/**
 * One model, two ways in: every one-liner prints as YAML that loads back to the same
 * Config, and flags laid over a config file win over what the file says.
 */
import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import type { Config } from "../../src/config/model.ts";
import { printConfig } from "../../src/config/print.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";

function fromFlags(...argv: string[]): Config {
  const r = parseCli(argv);
  if (r.kind !== "run" || !r.config) throw new Error("expected a run without a file");
  return r.config;
}

function fromYaml(text: string): Config {
  const r = loadConfigText(text);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("t.yaml", i)).join("\n"));
  return r.config;
}

/** Flags over a file, as `vane --config FILE ...flags` builds it. */
function overlay(yaml: string, ...argv: string[]): Config {
  const r = parseCli(["--config", "t.yaml", ...argv]);
  if (r.kind !== "run" || r.file !== "t.yaml") throw new Error("expected a run with a file");
  return r.apply(fromYaml(yaml));
}

function overlayError(yaml: string, ...argv: string[]): string {
  try {
    overlay(yaml, ...argv);
  } catch (err) {
    if (err instanceof CliError) return err.message;
    throw err;
  }
  throw new Error("no error");
}

const ONE_LINERS: string[][] = [
  ["--route", "*=127.0.0.1:9000"],
  ["--listen", ":8080", "--route", "api.example.com=10.0.0.1:80,10.0.0.2:80", "--route", "*=127.0.0.1:9000"],
  [
    "--listen",
    "tcp://0.0.0.0:443",
    "--listen",
    "[::1]:8443",
    "--route",
    "*.example.com/v1=10.0.0.1:80@3,db.internal:5432@0",
    "--route",
    "b.example.com/api=web",
    "--pool",
    "web=node:web:443,[::1]:81",
    "--node",
    "web=10.0.0.5,::1",
    "--fallback",
    "backup.internal:9000",
    "--strategy",
    "fastest",
    "--health",
    "http:/healthz",
    "--health-expect",
    "200-204",
    "--health-interval",
    "500ms",
    "--health-timeout",
    "1.5s",
    "--rise",
    "4",
    "--fall",
    "5",
  ],
  [
    "--listen",
    "https://127.0.0.1:8443",
    "--tls",
    "a.pem,a.key",
    "--tls",
    "b.pem,b.key",
    "--route",
    "a.test=127.0.0.1:1",
    "--proxy-protocol",
    "v2",
    "--accept-proxy",
    "10.0.0.0/8,::1",
    "--status",
    "off",
    "--log-format",
    "json",
    "--log-level",
    "debug",
    "--resolver",
    "[::1]:53",
    "--admin-token",
    "s3cret",
    "--connect-timeout",
    "1m",
    "--idle-timeout",
    "1h",
    "--grace",
    "0s",
    "--udp-idle-timeout",
    "45s",
    "--upstream-timeout",
    "250ms",
    "--retry-on",
    "empty-response,conn-failure",
    "--request-head-timeout",
    "2500ms",
    "--keep-alive-timeout",
    "75s",
    "--body-timeout",
    "1s",
    "--max-header-line",
    "4096",
    "--max-partial-heads",
    "0",
    "--encoded-slash",
    "keep",
  ],
  [
    "--listen",
    "udp://127.0.0.1:5353",
    "--listen",
    "127.0.0.1:53",
    "--route",
    "dns.test=127.0.0.1:1",
    "--route",
    "*=127.0.0.1:2",
    "--health",
    "none",
  ],
];

describe("--print-config", () => {
  it.each(ONE_LINERS.map((a) => [a.join(" "), a]))("prints YAML that loads back to the same config: %s", (_, argv) => {
    const config = fromFlags(...(argv as string[]));
    const text = printConfig(config);
    expect(text.startsWith("#")).toBe(true);
    expect(fromYaml(text)).toEqual(config);
  });

  it("is accepted by parseCli with a file or without", () => {
    const r = parseCli(["--route", "*=127.0.0.1:9", "--print-config"]);
    expect(r.kind === "run" && r.printConfig).toBe(true);
  });
});

const FILE = `
listeners:
  - listen: tcp://127.0.0.1:7000
    flow:
      - when: { tls.sni: a.test }
        proxy: web
      - proxy: other
pools:
  web: { targets: [127.0.0.1:1], strategy: fastest, health: { check: none } }
  other: { targets: [127.0.0.1:2] }
nodes: { db: [10.0.0.9] }
timeouts: { connect: 2s }
control: { listen: 127.0.0.1:9000, token: from-file }
log: { format: json, level: warn }
`;

describe("flags over a config file", () => {
  it("keeps the file as it is when no flag is given", () => {
    expect(overlay(FILE)).toEqual(fromYaml(FILE));
  });

  it("replaces each scalar setting a flag gives", () => {
    const c = overlay(
      FILE,
      "--status",
      "127.0.0.1:9100",
      "--admin-token",
      "from-flag",
      "--log-level",
      "debug",
      "--connect-timeout",
      "3s",
    );
    expect(c.control).toEqual({ listen: { host: "127.0.0.1", port: 9100 }, token: "from-flag" });
    expect(c.log).toEqual({ format: "json", level: "debug" });
    expect(c.timeouts.connectMs).toBe(3000);
    expect(c.timeouts.idleMs).toBe(fromYaml(FILE).timeouts.idleMs);
    expect(overlay(FILE, "--status", "off").control.listen).toBeNull();
  });

  it("replaces the HTTP deadlines and http settings given, keeping the file's others", () => {
    const file = `${FILE}http: { max-header-line: 2048, encoded-slash: keep }\ntimeouts: { body: 5s, keep-alive: 5s }\n`
      .replace("timeouts: { connect: 2s }\n", "");
    const c = overlay(file, "--max-partial-heads", "3", "--keep-alive-timeout", "9s");
    expect(c.http).toEqual({ maxHeaderLine: 2048, maxPartialHeads: 3, encodedSlash: "keep" });
    expect(c.timeouts).toMatchObject({ bodyMs: 5_000, keepAliveMs: 9_000, requestHeadMs: 10_000 });
  });

  it("applies pool flags to every pool, and only those given", () => {
    const c = overlay(FILE, "--strategy", "random", "--fall", "7");
    expect(c.pools.web.strategy).toBe("random");
    expect(c.pools.other.strategy).toBe("random");
    expect(c.pools.web.health.check).toBe("none");
    expect(c.pools.web.health.fall).toBe(7);
    expect(c.pools.other.health.fall).toBe(7);
    expect(c.pools.other.health.rise).toBe(fromYaml(FILE).pools.other.health.rise);
    expect(c.pools.web.retryOn).toEqual(fromYaml(FILE).pools.web.retryOn);
    expect(overlay(FILE, "--retry-on", "none").pools.web.retryOn).toEqual([]);
  });

  it("replaces every flow with --route, adding its pools next to the file's", () => {
    const c = overlay(FILE, "--route", "*=127.0.0.1:3");
    expect(c.listeners[0].flow).toEqual([{ when: null, action: { kind: "proxy", pool: "default" } }]);
    expect(Object.keys(c.pools).sort()).toEqual(["default", "other", "web"]);
    expect(overlay(FILE, "--route", "*=web").listeners[0].flow[0].action).toEqual({ kind: "proxy", pool: "web" });
  });

  it("moves a single listener with --listen, keeping its flow", () => {
    const c = overlay(FILE, "--listen", "127.0.0.1:7001");
    expect(c.listeners).toHaveLength(1);
    expect(c.listeners[0].address.port).toBe(7001);
    expect(c.listeners[0].flow).toEqual(fromYaml(FILE).listeners[0].flow);
  });

  it("refuses --listen over a file with several listeners, saying why", () => {
    const two = FILE.replace(
      "listeners:\n",
      "listeners:\n  - listen: udp://127.0.0.1:7002\n    flow: [{ proxy: other }]\n",
    );
    expect(overlayError(two, "--listen", ":1")).toBe(
      "--listen: expected a config file with one listener to override; it has 2 (edit them in the file)",
    );
  });

  it("adds and replaces pools and nodes by name", () => {
    const c = overlay(FILE, "--pool", "web=127.0.0.1:4", "--node", "db=10.0.0.10", "--node", "cache=10.0.0.11");
    expect(c.pools.web.targets.map((t) => t.raw)).toEqual(["127.0.0.1:4"]);
    expect(c.pools.web.strategy).toBe("serial");
    expect(c.nodes).toEqual({ db: ["10.0.0.10"], cache: ["10.0.0.11"] });
  });
});

describe("run and check", () => {
  it("reads `run FILE`, `check FILE` and `--config FILE`", () => {
    const run = parseCli(["run", "vane.yaml", "--log-level", "debug"]);
    expect(run.kind === "run" && run.file).toBe("vane.yaml");
    expect(run.kind === "run" && run.config).toBeNull();
    expect(parseCli(["check", "vane.yaml"]).kind).toBe("check");
    const viaFlag = parseCli(["--config", "vane.yaml"]);
    expect(viaFlag.kind === "run" && viaFlag.file).toBe("vane.yaml");
  });

  it("needs no --route with a file", () => {
    expect(() => parseCli(["run", "vane.yaml"])).not.toThrow();
  });

  it.each([
    [["run"], "run: expected a config FILE; got nothing"],
    [["check"], "check: expected a config FILE; got nothing"],
    [["run", "a.yaml", "b.yaml"], 'unexpected argument "b.yaml": run takes one FILE'],
    [["run", "a.yaml", "--config", "b.yaml"], "--config: expected either --config FILE or run FILE; got both"],
    [
      ["serve", "a.yaml"],
      `unexpected argument "serve": every value must follow a flag, e.g. --route '*=127.0.0.1:9000'`,
    ],
  ])("refuses %j", (argv, message) => {
    expect(() => parseCli(argv as string[])).toThrow(message as string);
  });
});

describe("--route over a file with a udp:// listener", () => {
  it("gives the udp listener only the routes without a host, so the printed file loads", () => {
    const withUdp = FILE.replace(
      "listeners:\n",
      "listeners:\n  - listen: udp://127.0.0.1:7002\n    flow: [{ proxy: other }]\n",
    );
    const c = overlay(withUdp, "--route", "a.test=127.0.0.1:5", "--route", "*=127.0.0.1:6");
    expect(c.listeners[0].flow).toEqual([{ when: null, action: { kind: "proxy", pool: "default" } }]);
    expect(c.listeners[1].flow).toHaveLength(2);
    expect(fromYaml(printConfig(c))).toEqual(c);
  });
});
