import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";
import { printConfig } from "../../src/config/print.ts";
import { loadConfigText } from "../../src/config/yaml-load.ts";
import { udpOnlyPools } from "../../src/config/udp-pools.ts";
import type { Config } from "../../src/config/model.ts";

function cli(...flags: string[]): Config {
  const r = parseCli(flags);
  if (r.kind !== "run") throw new Error("not a run");
  return r.config!;
}

function yaml(text: string): Config {
  const r = loadConfigText(text);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join("\n"));
  return r.config;
}

describe("a pool only udp:// listeners use", () => {
  it("gets check: none from the one-liner, and --print-config says so", () => {
    const c = cli("--listen", "udp://127.0.0.1:53", "--route", "*=10.0.0.1:53");
    expect(c.pools.default.health.check).toBe("none");
    expect(printConfig(c)).toMatch(/default:\n(?:\s+.*\n)*?\s+health:\n\s+check: none\n/);
  });

  it("keeps the check --health names, and its other health flags either way", () => {
    expect(cli("--listen", "udp://:53", "--route", "*=10.0.0.1:53", "--health", "tcp").pools.default.health.check).toBe(
      "tcp",
    );
    const c = cli("--listen", "udp://:53", "--route", "*=10.0.0.1:53", "--health-interval", "5s");
    expect(c.pools.default.health).toMatchObject({ check: "none", intervalMs: 5000 });
  });

  it("keeps the TCP check when a tcp:// listener uses the pool too", () => {
    const c = cli("--listen", "udp://:53", "--listen", ":8053", "--route", "*=10.0.0.1:53");
    expect(c.pools.default.health.check).toBe("tcp");
  });

  it("gets check: none in YAML unless the pool names its check", () => {
    const c = yaml(`listeners:
  - listen: udp://127.0.0.1:53
    flow:
      - when: { conn.ip: { cidr: [10.0.0.0/8] } }
        proxy: named
      - when: { conn.ip: { cidr: [192.0.2.0/24] } }
        proxy: checked
      - when: { conn.ip: { cidr: [198.51.100.0/24] } }
        flow: [{ proxy: [192.0.2.9:53] }]
      - proxy: shared
  - listen: tcp://127.0.0.1:53
    flow: [{ proxy: shared }]
pools:
  named: { targets: [192.0.2.1:53], health: { interval: 5s } }
  checked: { targets: [192.0.2.2:53], health: { check: tcp } }
  shared: { targets: [192.0.2.3:53] }
`);
    expect(c.pools.named.health).toMatchObject({ check: "none", intervalMs: 5000 });
    expect(c.pools.checked.health.check).toBe("tcp");
    expect(c.pools["inline-1"].health.check).toBe("none");
    expect(c.pools.shared.health.check).toBe("tcp");
    expect([...udpOnlyPools(c.listeners)].sort()).toEqual(["checked", "inline-1", "named"]);
    // What is printed loads back the same.
    const again = loadConfigText(printConfig(c));
    expect(again.ok && again.config).toEqual(c);
  });
});
