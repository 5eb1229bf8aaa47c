import { describe, expect, it } from "vitest";
import { parseCtlArgs, poolTable } from "../../src/cli/ctl-command.ts";

describe("vane ctl arguments", () => {
  it("takes the status address from --status, else VANE_STATUS, else the default, and the token from VANE_ADMIN_TOKEN", () => {
    expect(parseCtlArgs(["pools"], {})).toMatchObject({ base: "http://127.0.0.1:9901", token: null, json: false });
    expect(parseCtlArgs(["pools", "--json"], { VANE_STATUS: "0.0.0.0:9902", VANE_ADMIN_TOKEN: "k" })).toMatchObject({
      base: "http://127.0.0.1:9902",
      token: "k",
      json: true,
    });
    expect(parseCtlArgs(["--status", "[::1]:9903", "drain", "web", "10.0.0.1:80"], {})).toMatchObject({
      base: "http://[::1]:9903",
      words: ["drain", "web", "10.0.0.1:80"],
    });
  });

  it("takes --fleet with drain and undrain only", () => {
    expect(parseCtlArgs(["drain", "--fleet", "web", "10.0.0.1:80"], {})).toMatchObject({ fleet: true });
    expect(parseCtlArgs(["undrain", "web", "10.0.0.1:80"], {})).toMatchObject({ fleet: false });
    expect(() => parseCtlArgs(["weight", "--fleet", "web", "x:1", "2"], {})).toThrow(
      "ctl weight: --fleet: only with drain or undrain",
    );
  });

  it("prints the help for --help or no command", () => {
    expect(parseCtlArgs(["--help"], {})).toBeNull();
    expect(parseCtlArgs([], {})).toBeNull();
  });

  it("names the mistake: an unknown command, a wrong number of arguments, a bad address", () => {
    expect(() => parseCtlArgs(["drian", "web", "x:1"], {})).toThrow(
      /ctl: expected a command \(pools, .*\); got "drian"/,
    );
    expect(() => parseCtlArgs(["weight", "web", "x:1"], {})).toThrow("ctl weight: expected 3 arguments; got 2");
    expect(() => parseCtlArgs(["pools", "--status", "nowhere"], {})).toThrow(/ctl: --status: /);
    expect(() => parseCtlArgs(["pools", "--bogus"], {})).toThrow(/ctl: Unknown option '--bogus'/);
  });
});

describe("vane ctl pools table", () => {
  it("has one row per target, columns aligned", () => {
    const base = { role: "primary" as const, address: null, healthy: true, manual: null, draining: false };
    const text = poolTable({
      web: {
        strategy: "serial",
        targets: [
          {
            ...base,
            target: "10.0.0.1:80",
            state: "draining",
            draining: true,
            weight: 1,
            activeConnections: 2,
            totalConnections: 310,
            lastError: null,
          },
          {
            ...base,
            target: "10.0.0.22:8080",
            state: "down",
            manual: "down",
            weight: 3,
            activeConnections: 0,
            totalConnections: 5,
            lastError: "refused",
          },
        ],
      },
    });
    expect(text.split("\n")).toEqual([
      "POOL  TARGET          ROLE     STATE     MANUAL  WEIGHT  ACTIVE  TOTAL  LAST ERROR",
      "web   10.0.0.1:80     primary  draining  -       1       2       310    -",
      "web   10.0.0.22:8080  primary  down      down    3       0       5      refused",
    ]);
  });
});
