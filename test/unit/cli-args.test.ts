import { describe, expect, it } from "vitest";
import { FLAG_NAMES, parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { HELP } from "../../src/cli/help.ts";
import {
  type Config,
  DEFAULT_HEALTH,
  DEFAULT_HTTP,
  DEFAULT_TIMEOUTS,
  type ListenerConfig,
} from "../../src/config/model.ts";

/** The pools a listener's flow proxies to, in rule order. */
const poolsOf = (l: ListenerConfig) => l.flow.map((r) => (r.action.kind === "proxy" ? r.action.pool : r.action.kind));

const ROUTE = ["--route", "*=127.0.0.1:9000"];

/** Parses argv that must succeed and returns its Config. */
function config(...argv: string[]): Config {
  const result = parseCli(argv);
  if (result.kind !== "run") throw new Error(`expected a run result, got ${result.kind}`);
  return result.config!;
}

/** The CliError message for argv that must fail. */
function failure(...argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    expect(err.name).toBe("CliError");
    expect(err.message).not.toContain("\n");
    return err.message;
  }
  throw new Error(`parseCli(${JSON.stringify(argv)}) did not throw`);
}

describe("parseCli: defaults", () => {
  it("fills every default from one route", () => {
    const c = config(...ROUTE);
    expect(c.listeners).toHaveLength(1);
    expect(c.listeners[0].address).toEqual({ protocol: "tcp", host: "0.0.0.0", port: 8080, raw: "0.0.0.0:8080" });
    expect(c.timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(c.timeouts).toEqual({
      connectMs: 5_000,
      idleMs: 600_000,
      graceMs: 10_000,
      udpIdleMs: 30_000,
      upstreamMs: 60_000,
      requestHeadMs: 10_000,
      keepAliveMs: 60_000,
      bodyMs: 60_000,
    });
    expect(c.http).toEqual(DEFAULT_HTTP);
    expect(c.http).toEqual({ maxHeaderLine: 8192, maxPartialHeads: 32, encodedSlash: "reject" });
    expect(c.control).toEqual({ listen: { host: "127.0.0.1", port: 9901 }, token: null });
    expect(c.log).toEqual({ format: "text", level: "info" });
    expect(c.resolver).toBeNull();
    expect(c.nodes).toEqual({});
    expect(c.pools.default).toEqual({
      name: "default",
      strategy: "serial",
      targets: [{ kind: "ip", host: "127.0.0.1", port: 9000, weight: 1, raw: "127.0.0.1:9000" }],
      fallback: [],
      health: { check: "tcp", intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3 },
      sendProxy: null,
      protocol: "http1",
      tls: null,
      passive: { failures: 1, on: ["connect", "timeout", "reset"] },
      retryOn: ["conn-failure"],
      retry: { retries: 1, budgetPercent: 20, budgetMin: 3, backoffMs: 25, backoffMaxMs: 250 },
      outlier: null,
    });
    expect(c.pools.default.health).toEqual(DEFAULT_HEALTH);
    expect(c.listeners[0].acceptProxy).toEqual([]);
    expect(c.listeners[0].tls).toEqual([]);
    expect(c.listeners[0].flow).toEqual([{ when: null, action: { kind: "proxy", pool: "default" } }]);
  });

  it("requires at least one route", () => {
    expect(failure()).toBe("--route: at least one route is required, e.g. --route '*=127.0.0.1:9000'");
    expect(failure("--listen", ":1")).toMatch(/^--route: at least one route/);
  });
});

describe("parseCli: help and version", () => {
  it("returns help for --help and -h, with no route needed", () => {
    expect(parseCli(["--help"])).toEqual({ kind: "help" });
    expect(parseCli(["-h"])).toEqual({ kind: "help" });
  });

  it("returns version for --version", () => {
    expect(parseCli(["--version"])).toEqual({ kind: "version" });
  });

  it("lets help and version win over bad flags and values", () => {
    expect(parseCli(["--foo", "--help"])).toEqual({ kind: "help" });
    expect(parseCli(["--listen", "udp://:1", "--version"])).toEqual({ kind: "version" });
    expect(parseCli(["--version", "--help"])).toEqual({ kind: "help" });
  });

  it("does not read --help after -- as a flag", () => {
    expect(failure("--", "--help")).toMatch(/unexpected argument "--help"/);
  });

  it("HELP lists every flag, the grammar and examples", () => {
    for (const name of FLAG_NAMES) expect(HELP).toContain(`--${name}`);
    expect(HELP).toContain("-h, --help");
    for (
      const word of ["MATCH", "TARGETS", "target", "@WEIGHT", "node:NAME:PORT", "[IPv6]:PORT", "*.SUFFIX", "Examples:"]
    ) {
      expect(HELP).toContain(word);
    }
    for (
      const dflt of [
        "0.0.0.0:8080",
        "127.0.0.1:9901",
        "Default: serial",
        "Default: tcp",
        "Default: 2s",
        "Default: 1s",
        "Default: 2",
        "Default: 3",
        "Default: 5s",
        "Default: 10m",
        "Default: 10s",
        "Default: text",
      ]
    ) {
      expect(HELP).toContain(dflt);
    }
  });
});

describe("parseCli: --listen", () => {
  it("accepts every form, repeatable, in order", () => {
    const c = config(...ROUTE, "--listen", "tcp://127.0.0.1:1", "--listen", ":0", "--listen", "[::1]:8443");
    expect(c.listeners.map((l) => l.address)).toEqual([
      { protocol: "tcp", host: "127.0.0.1", port: 1, raw: "tcp://127.0.0.1:1" },
      { protocol: "tcp", host: "0.0.0.0", port: 0, raw: ":0" },
      { protocol: "tcp", host: "::1", port: 8443, raw: "[::1]:8443" },
    ]);
  });

  it("refuses other schemes and bad addresses, naming the flag and value", () => {
    expect(failure(...ROUTE, "--listen", "ftp://:21")).toBe(
      '--listen: expected a tcp://, http://, https:// or udp:// listener; got scheme "ftp://" in "ftp://:21"',
    );
    expect(failure(...ROUTE, "--listen", "8080")).toBe('--listen: expected HOST:PORT; got "8080" (no port)');
    expect(failure(...ROUTE, "--listen", ":99999")).toMatch(/^--listen: expected a port 0\.\.65535; got "99999"/);
  });

  it("refuses a missing value", () => {
    expect(failure(...ROUTE, "--listen")).toBe(
      "--listen: expected [tcp://|http://|https://|udp://]HOST:PORT, :PORT or [IPv6]:PORT; got nothing",
    );
    expect(failure("--listen", ...ROUTE)).toMatch(/^--listen: expected .*; got the flag "--route"/);
  });
});

describe("parseCli: --route", () => {
  it("reads each MATCH form and names inline pools after it", () => {
    const c = config(
      "--route",
      "*=10.0.0.1:80",
      "--route",
      "API.example.com=10.0.0.2:80",
      "--route",
      "*.Example.com/v1=10.0.0.3:80",
      "--route",
      "b.example.com/api/x=10.0.0.4:80",
    );
    // Most specific first, so the flow's first match is the route's most specific match.
    const host = (value: string) => ({ kind: "key", key: "host", matcher: { op: "equals", value } });
    const prefix = (value: string) => ({ kind: "key", key: "req.path", matcher: { op: "prefix", value } });
    expect(c.listeners[0].flow).toEqual([
      {
        when: { kind: "all", of: [host("b.example.com"), prefix("/api/x")] },
        action: { kind: "proxy", pool: "b.example.com/api/x" },
      },
      { when: host("api.example.com"), action: { kind: "proxy", pool: "API.example.com" } },
      {
        when: {
          kind: "all",
          of: [{ kind: "key", key: "host", matcher: { op: "glob", pattern: "*.example.com" } }, prefix("/v1")],
        },
        action: { kind: "proxy", pool: "*.Example.com/v1" },
      },
      { when: null, action: { kind: "proxy", pool: "default" } },
    ]);
    expect(Object.keys(c.pools)).toEqual(["default", "API.example.com", "*.Example.com/v1", "b.example.com/api/x"]);
    expect(c.pools["*.Example.com/v1"].targets[0]).toEqual({
      kind: "ip",
      host: "10.0.0.3",
      port: 80,
      weight: 1,
      raw: "10.0.0.3:80",
    });
  });

  it("splits at the first = only", () => {
    const c = config("--route", "a.com=b.com:1");
    expect(c.pools["a.com"].targets[0]).toEqual({ kind: "dns", host: "b.com", port: 1, weight: 1, raw: "b.com:1" });
    expect(failure("--route", "*=a:1=b")).toMatch(/^--route: .*got "1=b"/);
  });

  it("reads inline target lists with weights, IPv6 and DNS names", () => {
    const c = config("--route", "*=10.0.0.1:80@3,[::1]:81,Db.Internal.:5432@0");
    expect(c.pools.default.targets).toEqual([
      { kind: "ip", host: "10.0.0.1", port: 80, weight: 3, raw: "10.0.0.1:80" },
      { kind: "ip", host: "::1", port: 81, weight: 1, raw: "[::1]:81" },
      { kind: "dns", host: "db.internal", port: 5432, weight: 0, raw: "Db.Internal.:5432" },
    ]);
  });

  it("numbers colliding inline pool names", () => {
    const c = config("--pool", "default=a:1", "--route", "*=b:2", "--route", "*=c:3");
    expect(Object.keys(c.pools)).toEqual(["default", "default#2", "default#3"]);
    expect(poolsOf(c.listeners[0])).toEqual(["default#2", "default#3"]);
    expect(c.pools["default#3"].name).toBe("default#3");
  });

  it("uses a --pool by name, wherever --pool appears", () => {
    const c = config("--route", "*=web", "--pool", "web=10.0.0.1:80,10.0.0.2:80");
    expect(c.listeners[0].flow).toEqual([{ when: null, action: { kind: "proxy", pool: "web" } }]);
    expect(Object.keys(c.pools)).toEqual(["web"]);
  });

  it("gives every listener all routes in order", () => {
    const c = config("--listen", ":1", "--listen", ":2", "--route", "a.com=a:1", "--route", "*=b:2");
    expect(c.listeners).toHaveLength(2);
    expect(c.listeners[0].flow).toEqual(c.listeners[1].flow);
    expect(poolsOf(c.listeners[1])).toEqual(["a.com", "default"]);
  });

  it("refuses a bare word that is not a pool", () => {
    expect(failure("--route", "*=web")).toBe('--route: "web" is neither a --pool name nor a target list');
  });

  it("refuses text without MATCH=TARGETS", () => {
    expect(failure("--route", "web")).toBe(
      `--route: expected MATCH=TARGETS, e.g. --route '*=127.0.0.1:9000'; got "web"`,
    );
    expect(failure("--route", "=a:1")).toMatch(/^--route: expected MATCH=TARGETS.*got "=a:1"$/);
    expect(failure("--route", "*=")).toMatch(/got "\*="$/);
  });

  it("refuses bad matches and targets, naming the bad part", () => {
    expect(failure("--route", "a_b.com=a:1")).toMatch(/^--route: expected a host name.*got "a_b.com"$/);
    expect(failure("--route", "*/v1=a:1")).toMatch(/^--route: expected "\*" alone/);
    expect(failure("--route", "*=1.2.3:80")).toBe(
      '--route: expected an IPv4 address (four numbers 0-255); got "1.2.3" in "1.2.3:80"',
    );
    expect(failure("--route", "*=999.1.1.1:80")).toMatch(/got "999.1.1.1"/);
    expect(failure("--route", "*=a:0")).toMatch(/^--route: expected a port 1\.\.65535; got "0"/);
    expect(failure("--route", "*=a:1@300")).toMatch(/^--route: expected a weight 0\.\.256.*got "300"/);
    expect(failure("--route", "*=::1:80")).toMatch(/^--route: .*brackets/);
  });
});

describe("parseCli: --pool, --node, --fallback", () => {
  it("builds pools with the CLI-wide strategy, health and fallback", () => {
    const c = config(
      "--pool",
      "web=a:1",
      "--route",
      "*=web",
      "--route",
      "x.com=b:2",
      "--strategy",
      "fastest",
      "--health",
      "none",
      "--rise",
      "1",
      "--fall",
      "100",
      "--fallback",
      "backup:9,[::2]:9",
    );
    for (const name of ["web", "x.com"]) {
      const pool = c.pools[name];
      expect(pool.strategy).toBe("fastest");
      expect(pool.health).toEqual({ check: "none", intervalMs: 2_000, timeoutMs: 1_000, rise: 1, fall: 100 });
      expect(pool.fallback.map((t) => t.raw)).toEqual(["backup:9", "[::2]:9"]);
    }
  });

  it("refuses bad and duplicate pool names", () => {
    expect(failure(...ROUTE, "--pool", "we b=a:1")).toMatch(/^--pool: expected a pool NAME.*got "we b"$/);
    expect(failure(...ROUTE, "--pool", "a=a:1", "--pool", "a=b:2")).toBe(
      '--pool: expected each pool name once; got "a" twice',
    );
    expect(failure(...ROUTE, "--pool", "web")).toBe('--pool: expected NAME=TARGETS; got "web"');
    expect(failure(...ROUTE, "--pool", "web=x")).toMatch(/^--pool: expected HOST:PORT; got "x"/);
  });

  it("reads nodes, with or without IPv6 brackets, and resolves node targets", () => {
    const c = config("--node", "web=10.0.0.1,[::1],FE80::2", "--node", "db=10.0.0.9", "--route", "*=node:web:443@2");
    expect(c.nodes).toEqual({ web: ["10.0.0.1", "::1", "fe80::2"], db: ["10.0.0.9"] });
    expect(c.pools.default.targets).toEqual([{ kind: "node", node: "web", port: 443, weight: 2, raw: "node:web:443" }]);
  });

  it("refuses undefined nodes wherever targets appear", () => {
    expect(failure("--route", "*=node:web:443")).toBe('--route: node "web" is not defined; add --node web=IP[,IP...]');
    expect(failure(...ROUTE, "--pool", "p=node:db:1")).toBe(
      '--pool: node "db" is not defined; add --node db=IP[,IP...]',
    );
    expect(failure(...ROUTE, "--fallback", "node:x:1")).toMatch(/^--fallback: node "x" is not defined/);
  });

  it("refuses bad nodes", () => {
    expect(failure(...ROUTE, "--node", "web=example.com")).toBe(
      '--node: expected an IP address like 10.0.0.1 or ::1; got "example.com"',
    );
    expect(failure(...ROUTE, "--node", "web=1.1.1.1", "--node", "web=2.2.2.2")).toBe(
      '--node: expected each node name once; got "web" twice',
    );
    expect(failure(...ROUTE, "--node", "web=1.1.1.1,1.1.1.1")).toMatch(/^--node: expected each IP once.*"1.1.1.1"/);
    expect(failure(...ROUTE, "--node", "web")).toBe('--node: expected NAME=IP[,IP...]; got "web"');
    expect(failure(...ROUTE, "--node", "w:b=1.1.1.1")).toMatch(/^--node: expected a node NAME.*got "w:b"$/);
  });

  it("refuses --fallback twice and bad fallback lists", () => {
    expect(failure(...ROUTE, "--fallback", "a:1", "--fallback", "b:2")).toBe(
      "--fallback: expected to be given once; got it 2 times",
    );
    expect(failure(...ROUTE, "--fallback", "a")).toMatch(/^--fallback: expected HOST:PORT; got "a"/);
  });
});

describe("parseCli: scalar flags", () => {
  it("reads every value flag", () => {
    const c = config(
      ...ROUTE,
      "--strategy",
      "random",
      "--health-interval",
      "500ms",
      "--health-timeout",
      "1.5s",
      "--connect-timeout",
      "1m",
      "--idle-timeout",
      "1h",
      "--grace",
      "0s",
      "--status",
      "[::1]:0",
      "--log-format",
      "json",
      "--resolver",
      "[::1]:53",
    );
    expect(c.pools.default.strategy).toBe("random");
    expect(c.pools.default.health.intervalMs).toBe(500);
    expect(c.pools.default.health.timeoutMs).toBe(1_500);
    expect(c.timeouts).toEqual({ ...DEFAULT_TIMEOUTS, connectMs: 60_000, idleMs: 3_600_000, graceMs: 0 });
    expect(c.control.listen).toEqual({ host: "::1", port: 0 });
    expect(c.log.format).toBe("json");
    expect(c.resolver).toEqual({ host: "::1", port: 53 });
  });

  it("reads the HTTP deadlines and the http flags", () => {
    const c = config(
      ...ROUTE,
      "--request-head-timeout",
      "1s",
      "--keep-alive-timeout",
      "75s",
      "--body-timeout",
      "250ms",
      "--max-header-line",
      "16384",
      "--max-partial-heads",
      "0",
      "--encoded-slash",
      "keep",
    );
    expect(c.timeouts).toEqual({ ...DEFAULT_TIMEOUTS, requestHeadMs: 1_000, keepAliveMs: 75_000, bodyMs: 250 });
    expect(c.http).toEqual({ maxHeaderLine: 16384, maxPartialHeads: 0, encodedSlash: "keep" });
    expect(config(...ROUTE, "--max-header-line=1024", "--max-partial-heads=5").http).toEqual({
      ...DEFAULT_HTTP,
      maxHeaderLine: 1024,
      maxPartialHeads: 5,
    });
    expect(config(...ROUTE, "--max-header-line", "65536").http.maxHeaderLine).toBe(65536);
  });

  it("refuses bad http flags in one line", () => {
    for (const bad of ["1023", "65537", "8k", "", "-1", "1e4"]) {
      expect(failure(...ROUTE, `--max-header-line=${bad}`)).toBe(
        `--max-header-line: expected an integer 1024..65536 (bytes); got ${JSON.stringify(bad)}`,
      );
    }
    for (const bad of ["-1", "1.5", "x", ""]) {
      expect(failure(...ROUTE, `--max-partial-heads=${bad}`)).toBe(
        `--max-partial-heads: expected an integer 0 or more (0: no limit); got ${JSON.stringify(bad)}`,
      );
    }
    expect(failure(...ROUTE, "--encoded-slash", "decode")).toBe(
      '--encoded-slash: expected reject or keep; got "decode"',
    );
    expect(failure(...ROUTE, "--max-header-line")).toBe(
      "--max-header-line: expected an integer 1024..65536 (bytes); got nothing",
    );
  });

  it("lets the last of a repeated flag win", () => {
    expect(config(...ROUTE, "--strategy", "random", "--strategy", "serial").pools.default.strategy).toBe("serial");
  });

  it("reads --status off and :PORT", () => {
    expect(config(...ROUTE, "--status", "off").control.listen).toBeNull();
    expect(config(...ROUTE, "--status", ":9999").control.listen).toEqual({ host: "0.0.0.0", port: 9999 });
  });

  it("refuses bad enumerations", () => {
    expect(failure(...ROUTE, "--strategy", "fast")).toBe(
      "--strategy: expected serial, random, fastest, leastconn, p2c, hash:client, hash:path, hash:header:NAME, " +
        'hash:cookie:NAME (with an optional ,bound=C) or sticky[:cookie:NAME]; got "fast"',
    );
    expect(failure(...ROUTE, "--health", "http")).toBe('--health: expected tcp, none or http:/PATH; got "http"');
    expect(failure(...ROUTE, "--log-format", "yaml")).toBe('--log-format: expected text or json; got "yaml"');
  });

  it("refuses bad durations, naming the flag", () => {
    expect(failure(...ROUTE, "--health-interval", "abc")).toBe(
      '--health-interval: expected a duration like 500ms, 2s, 1m; got "abc"',
    );
    const durations = ["--health-interval", "--health-timeout", "--connect-timeout", "--idle-timeout", "--grace"];
    for (const flag of [...durations, "--request-head-timeout", "--keep-alive-timeout", "--body-timeout"]) {
      expect(failure(...ROUTE, flag, "5")).toBe(`${flag}: expected a duration like 500ms, 2s, 1m; got "5"`);
    }
  });

  it("refuses zero durations except --grace", () => {
    const flags = ["--health-interval", "--health-timeout", "--connect-timeout", "--idle-timeout"];
    for (const flag of [...flags, "--request-head-timeout", "--keep-alive-timeout", "--body-timeout"]) {
      expect(failure(...ROUTE, flag, "0s")).toBe(`${flag}: expected a duration greater than 0; got "0s"`);
    }
    expect(config(...ROUTE, "--grace", "0ms").timeouts.graceMs).toBe(0);
  });

  it("refuses rise and fall outside 1..100", () => {
    for (const bad of ["0", "101", "x", "1.5", "-1", ""]) {
      expect(failure(...ROUTE, `--rise=${bad}`)).toBe(`--rise: expected an integer 1..100; got ${JSON.stringify(bad)}`);
    }
    expect(failure(...ROUTE, "--fall", "0")).toBe('--fall: expected an integer 1..100; got "0"');
  });

  it("refuses bad --status and --resolver values", () => {
    expect(failure(...ROUTE, "--status", "tcp://:1")).toMatch(
      /^--status: expected HOST:PORT.*without a scheme; got "tcp:\/\/:1"$/,
    );
    expect(failure(...ROUTE, "--status", "on")).toBe('--status: expected HOST:PORT; got "on" (no port)');
    expect(failure(...ROUTE, "--resolver", "dns.google:53")).toMatch(
      /^--resolver: expected an IP address, not a host name; got "dns.google"/,
    );
    expect(failure(...ROUTE, "--resolver", "8.8.8.8")).toBe('--resolver: expected HOST:PORT; got "8.8.8.8" (no port)');
    expect(failure(...ROUTE, "--resolver", "8.8.8.8:0")).toMatch(/port 1\.\.65535/);
  });
});

describe("parseCli: flag syntax errors are one line", () => {
  it("names unknown flags", () => {
    expect(failure(...ROUTE, "--foo")).toBe("unknown flag --foo (see --help)");
    expect(failure(...ROUTE, "--foo=1")).toBe("unknown flag --foo (see --help)");
    expect(failure(...ROUTE, "-x")).toBe("unknown flag -x (see --help)");
    expect(failure(...ROUTE, "--constructor")).toBe("unknown flag --constructor (see --help)");
  });

  it("names positional arguments", () => {
    expect(failure(...ROUTE, "extra")).toBe(
      `unexpected argument "extra": every value must follow a flag, e.g. --route '*=127.0.0.1:9000'`,
    );
  });

  it("refuses values on boolean flags", () => {
    expect(failure("--version=1")).toBe('--version: expected no value; got "1"');
  });

  it("refuses a missing value, naming the flag and what it expects", () => {
    expect(failure("--route")).toBe("--route: expected MATCH=TARGETS, e.g. --route '*=127.0.0.1:9000'; got nothing");
    expect(failure(...ROUTE, "--grace")).toBe("--grace: expected a duration like 500ms, 2s, 1m; got nothing");
    expect(failure(...ROUTE, "--strategy", "--rise", "2")).toMatch(
      /^--strategy: expected serial, random, fastest, leastconn, p2c, hash:client, .*; got the flag "--rise"/,
    );
  });

  it("keeps messages on one line even for values with newlines", () => {
    expect(failure(...ROUTE, "--strategy", "a\nb")).toMatch(/^--strategy: expected serial, .*; got "a\\nb"$/);
  });
});

describe("parseCli: PROXY protocol", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run" || r.config === null) throw new Error("not a run with a config");
    return r.config;
  };

  it("sets the header version sent to every pool", () => {
    const c = run("--pool", "p=127.0.0.1:1", "--proxy-protocol", "v2");
    expect(c.pools.default.sendProxy).toBe("v2");
    expect(c.pools.p.sendProxy).toBe("v2");
    expect(run("--proxy-protocol", "v1").pools.default.sendProxy).toBe("v1");
  });

  it("refuses other versions, naming the flag", () => {
    expect(() => run("--proxy-protocol", "v3")).toThrowError('--proxy-protocol: expected v1 or v2; got "v3"');
  });
});

describe("parseCli: --protocol", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run" || r.config === null) throw new Error("not a run with a config");
    return r.config;
  };

  it("sets how every pool's targets are spoken to; http1 unless given", () => {
    expect(run().pools.default.protocol).toBe("http1");
    const c = run("--pool", "p=127.0.0.1:1", "--protocol", "h2c");
    expect([c.pools.default.protocol, c.pools.p.protocol]).toEqual(["h2c", "h2c"]);
  });

  it("takes h2 (over TLS to the targets) and refuses anything else, naming the flag", () => {
    expect(run("--protocol", "h2").pools.default.protocol).toBe("h2");
    expect(() => run("--protocol", "http3")).toThrowError('--protocol: expected http1, h2c or h2; got "http3"');
  });
});

describe("parseCli: --redirect-http", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run" || r.config === null) throw new Error("not a run with a config");
    return r.config;
  };
  const tls = ["--tls", "/c.pem,/k.pem"];

  it("adds an http://:80 listener that sends every request to the https:// listener's port with 308", () => {
    const c = run("--listen", "https://:8443", ...tls, "--redirect-http");
    const redirect = c.listeners[1];
    expect(redirect.address.raw).toBe("http://:80");
    expect(redirect.flow).toEqual([
      {
        when: { kind: "key", key: "req.query", matcher: { op: "equals", value: "" } },
        action: { kind: "redirect", status: 308, location: "https://{{req.host}}:8443{{req.path}}" },
      },
      {
        when: null,
        action: { kind: "redirect", status: 308, location: "https://{{req.host}}:8443{{req.path}}?{{req.query}}" },
      },
    ]);
    const standard = run("--listen", "https://:443", ...tls, "--redirect-http").listeners[1].flow[1].action;
    expect(standard).toEqual({
      kind: "redirect",
      status: 308,
      location: "https://{{req.host}}{{req.path}}?{{req.query}}",
    });
  });

  it("refuses without an https:// listener, or with port 80 taken, naming the flag", () => {
    expect(() => run("--listen", ":8080", "--redirect-http")).toThrowError(
      "--redirect-http: expected an https:// listener to send requests to; got none",
    );
    expect(() => run("--listen", "https://:443", "--listen", "http://:80", ...tls, "--redirect-http")).toThrowError(
      "--redirect-http: port 80 is taken by another listener already",
    );
  });
});

describe("parseCli: --retry-on", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run") throw new Error("not a run");
    return r.config!;
  };

  it("keeps HAProxy's default, conn-failure alone, when not given", () => {
    expect(run().pools.default.retryOn).toEqual(["conn-failure"]);
  });

  it("sets every pool's retry-on from a comma-separated list, in one order, or none", () => {
    const c = run("--pool", "p=127.0.0.1:1", "--retry-on", "response-timeout,conn-failure,empty-response");
    expect(c.pools.default.retryOn).toEqual(["conn-failure", "empty-response", "response-timeout"]);
    expect(c.pools.p.retryOn).toEqual(["conn-failure", "empty-response", "response-timeout"]);
    expect(run("--retry-on", "none").pools.default.retryOn).toEqual([]);
  });

  it("refuses a keyword vane does not know, naming it", () => {
    expect(() => run("--retry-on", "conn-failure,503")).toThrowError(
      '--retry-on: expected conn-failure, empty-response, response-timeout (comma-separated) or none; got "503"',
    );
  });

  it("collects trusted peers from every --accept-proxy, as written, on every listener", () => {
    const c = run(
      "--listen",
      ":1",
      "--listen",
      ":2",
      "--accept-proxy",
      "10.0.0.0/8,::1",
      "--accept-proxy",
      "127.0.0.1",
    );
    for (const l of c.listeners) expect(l.acceptProxy).toEqual(["10.0.0.0/8", "::1", "127.0.0.1"]);
  });

  it("refuses a bad CIDR, naming the flag and the value", () => {
    expect(() => run("--accept-proxy", "10.0.0.0/33")).toThrowError(/^--accept-proxy: .*"10\.0\.0\.0\/33"/);
  });

  it("puts every --allow and --deny range on every listener, as written", () => {
    const c = run("--listen", ":1", "--listen", "udp://:2", "--allow", "10.0.0.0/8,::1", "--deny", "10.9.0.0/16");
    for (const l of c.listeners) {
      expect(l.allow).toEqual(["10.0.0.0/8", "::1"]);
      expect(l.deny).toEqual(["10.9.0.0/16"]);
    }
    expect(run("--listen", ":1").listeners[0].allow).toBeUndefined();
    expect(() => run("--deny", "10.0.0.0/33")).toThrowError(/^--deny: .*"10\.0\.0\.0\/33"/);
    expect(() => run("--allow", "example.com")).toThrowError(/^--allow: /);
  });

  it("puts --max-conns-per-client on every listener, and refuses what is not a count", () => {
    const c = run("--listen", ":1", "--listen", ":2", "--max-conns-per-client", "20");
    for (const l of c.listeners) expect(l.maxConnsPerClient).toBe(20);
    expect(() => run("--max-conns-per-client", "0")).toThrowError(/^--max-conns-per-client: /);
  });
});

describe("parseCli: HTTP health checks", () => {
  const run = (...flags: string[]) => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", ...flags]);
    if (r.kind !== "run" || r.config === null) throw new Error("not a run with a config");
    return r.config;
  };

  it("takes http:/PATH with the default range 200-399", () => {
    expect(run("--health", "http:/healthz").pools.default.health).toMatchObject({
      check: "http",
      path: "/healthz",
      expect: [200, 399],
    });
  });

  it("takes --health-expect with an http check", () => {
    expect(run("--health", "http:/", "--health-expect", "200-299").pools.default.health.expect).toEqual([200, 299]);
    expect(run("--health", "http:/", "--health-expect", "204").pools.default.health.expect).toEqual([204, 204]);
  });

  it("refuses --health-expect without an http check, and bad ranges, naming the flag", () => {
    expect(() => run("--health-expect", "200-299")).toThrowError(/^--health-expect: expected --health http:\/PATH/);
    expect(() => run("--health", "http:/", "--health-expect", "2xx")).toThrowError(/^--health-expect: .*"2xx"/);
  });
});

describe("parseCli: TLS termination", () => {
  it("takes --tls CERT,KEY pairs in order", () => {
    const r = parseCli([
      "--listen",
      "https://:443",
      "--tls",
      "a.crt,a.key",
      "--tls",
      "b.crt,b.key",
      "--route",
      "*=127.0.0.1:1",
    ]);
    if (r.kind !== "run") throw new Error("not a run");
    expect(r.config!.tls).toEqual([{ certPath: "a.crt", keyPath: "a.key" }, { certPath: "b.crt", keyPath: "b.key" }]);
    expect(r.config!.listeners[0].address.protocol).toBe("https");
  });

  it("requires --tls for an https:// listener and a CERT,KEY pair in each", () => {
    expect(() => parseCli(["--listen", "https://:443", "--route", "*=127.0.0.1:1"])).toThrowError(
      '--tls: expected at least one CERT.pem,KEY.pem (or --acme EMAIL) for "https://:443"; got none',
    );
    expect(() => parseCli(["--tls", "only.crt", "--route", "*=127.0.0.1:1"])).toThrowError(
      '--tls: expected CERT.pem,KEY.pem; got "only.crt"',
    );
  });
});
