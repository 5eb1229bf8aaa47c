import { describe, expect, it } from "vitest";
import { envFlags, envName, parseCliWithEnv, withEnvFlags } from "../../src/cli/env-flags.ts";
import { FLAG_NAMES } from "../../src/cli/args.ts";
import { HELP } from "../../src/cli/help.ts";
import { readFileSync } from "node:fs";

const ROUTE = "*=127.0.0.1:9000";

function run(argv: string[], env: Record<string, string>) {
  const cli = parseCliWithEnv(argv, env);
  if (cli.kind !== "run" || !cli.config) throw new Error(`expected a run with a config; got ${cli.kind}`);
  return cli.config;
}

describe("flags from the environment", () => {
  it("names each variable after its flag", () => {
    expect(envName("connect-timeout")).toBe("VANE_CONNECT_TIMEOUT");
    expect(envName("listen")).toBe("VANE_LISTEN");
  });

  it("mirrors every flag that takes a value, and none that does not", () => {
    const flags = envFlags().map((e) => e.flag.slice(2));
    const valueless = ["help", "version", "print-config", "redirect-http"];
    expect(flags.sort()).toEqual(FLAG_NAMES.filter((f) => !valueless.includes(f) && f !== "admin-token").sort());
  });

  it("builds the same config from variables as from flags", () => {
    const fromEnv = run([], {
      VANE_LISTEN: "127.0.0.1:8081",
      VANE_ROUTE: `api.example.com=127.0.0.1:9001 ${ROUTE}`,
      VANE_CONNECT_TIMEOUT: "2s",
      VANE_STRATEGY: "random",
    });
    const fromFlags = run([
      "--listen",
      "127.0.0.1:8081",
      "--route",
      "api.example.com=127.0.0.1:9001",
      "--route",
      ROUTE,
      "--connect-timeout",
      "2s",
      "--strategy",
      "random",
    ], {});
    expect(fromEnv).toEqual(fromFlags);
  });

  it("lets a flag on the command line win over its variable", () => {
    const config = run(["--listen", "127.0.0.1:8082", "--route", ROUTE], {
      VANE_LISTEN: "127.0.0.1:8081",
      VANE_ROUTE: "*=127.0.0.1:1",
    });
    expect(config.listeners.map((l) => l.address.port)).toEqual([8082]);
    expect(JSON.stringify(config.pools)).toContain("9000");
    expect(JSON.stringify(config.pools)).not.toContain('127.0.0.1:1"');
  });

  it("takes several values of a repeatable flag, split on spaces and newlines", () => {
    const { args } = withEnvFlags([], { VANE_LISTEN: " 127.0.0.1:1 \n 127.0.0.1:2 " });
    expect(args).toEqual(["--listen=127.0.0.1:1", "--listen=127.0.0.1:2"]);
  });

  it("ignores empty variables and the valueless flags", () => {
    const { args } = withEnvFlags(["--route", ROUTE], {
      VANE_LISTEN: "",
      VANE_HELP: "1",
      VANE_VERSION: "1",
      VANE_PRINT_CONFIG: "1",
    });
    expect(args).toEqual(["--route", ROUTE]);
  });

  it("does not add VANE_CONFIG to `run FILE` or `check FILE`", () => {
    expect(withEnvFlags(["run", "a.yaml"], { VANE_CONFIG: "b.yaml" }).args).toEqual(["run", "a.yaml"]);
    expect(withEnvFlags([], { VANE_CONFIG: "b.yaml" }).args).toEqual(["--config=b.yaml"]);
  });

  it("names the variable, not the flag, when its value is bad", () => {
    expect(() => parseCliWithEnv(["--route", ROUTE], { VANE_STRATEGY: "fanciest" })).toThrow(
      /^VANE_STRATEGY \(--strategy\): expected serial, random, fastest, .*; got "fanciest"$/,
    );
    // The example docs/install.md gives, word for word.
    expect(() => parseCliWithEnv(["--route", ROUTE], { VANE_HEALTH: "ping" })).toThrow(
      /^VANE_HEALTH \(--health\): expected tcp, none or http:\/PATH; got "ping"$/,
    );
    // The same value as a flag is blamed on the flag.
    expect(() => parseCliWithEnv(["--route", ROUTE, "--strategy", "fanciest"], {})).toThrow(/^--strategy: /);
  });

  it("is documented in --help and in docs/install.md, every variable", () => {
    expect(HELP).toContain("VANE_");
    const doc = readFileSync(new URL("../../docs/install.md", import.meta.url), "utf8");
    for (const { name } of envFlags()) expect(doc, name).toContain(name);
  });
});
