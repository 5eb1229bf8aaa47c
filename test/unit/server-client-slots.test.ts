/**
 * The connection limit: the default max-conns the open-file limit gives, the gate the
 * listeners ask, the lines it writes; the open-file limit's raise and the probe that
 * tells a local failure from a remote one; --max-conns and `max-conns:` as config.
 */
import { describe, expect, it } from "vitest";
import { ClientSlots, defaultMaxConns, fdReserve } from "../../src/server/client-slots.ts";
import { limited } from "../../src/telemetry/log-limit.ts";
import { localCause, parseProcLimits, raiseFileLimit, type RlimitCalls } from "../../src/runtime/fd-limit.ts";
import { localErrorCode } from "../../src/health/local-error.ts";
import { parseCli } from "../../src/cli/args.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { printConfig } from "../../src/config/print.ts";
import type { Logger } from "../../src/telemetry/logger.ts";

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debugging: false, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("defaultMaxConns", () => {
  it("keeps two descriptors per connection and a reserve of a tenth of the limit, 64..1024", () => {
    expect(fdReserve(256)).toBe(64);
    expect(defaultMaxConns(256)).toBe(96);
    expect(fdReserve(4096)).toBe(409);
    expect(defaultMaxConns(4096)).toBe(1843);
    expect(fdReserve(1_048_576)).toBe(1024);
    expect(defaultMaxConns(1_048_576)).toBe(523_776);
  });

  it("never goes below one, and takes 2^20 for a limit that is unknown or infinite", () => {
    expect(defaultMaxConns(16)).toBe(1);
    expect(defaultMaxConns(null)).toBe(defaultMaxConns(1 << 20));
    expect(defaultMaxConns(Infinity)).toBe(defaultMaxConns(1 << 20));
  });
});

describe("ClientSlots", () => {
  const member = () => ({ slot: -1 });

  it("is open below max and wakes a waiting listener when a connection leaves", async () => {
    const slots = new ClientSlots(() => 2, recordingLog());
    const a = member();
    slots.add(a);
    slots.add(member());
    expect(slots.open()).toBe(false);
    let woke = false;
    const waiting = slots.opened().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    slots.delete(a);
    await waiting;
    expect(woke).toBe(true);
    expect(slots.open()).toBe(true);
  });

  it("wakes waiting listeners when cleared (stop)", async () => {
    const slots = new ClientSlots(() => 1, recordingLog());
    slots.add(member());
    const waiting = slots.opened();
    slots.clear();
    await waiting;
  });

  it("says max-conns reached at once, then counts the repeats into one summary", () => {
    const log = recordingLog();
    const slots = new ClientSlots(() => 1, log);
    slots.add(member());
    for (let i = 0; i < 1000; i++) slots.refused();
    for (let i = 0; i < 100; i++) slots.failed(new Error("EMFILE"));
    expect(log.lines).toEqual([
      "warn max-conns reached: new connections are closed unread",
      "error cannot accept: out of file descriptors; backing off (lower max-conns or raise the limit)",
    ]);
    limited(log).flush();
    expect(log.lines.slice(2).sort()).toEqual([
      "error 99 more like this in the last 10s",
      "warn 999 more like this in the last 10s",
    ]);
  });
});

describe("raiseFileLimit", () => {
  function fakeLimit(soft: number, hard: number, allow = Infinity): RlimitCalls & { soft: number } {
    const calls = {
      soft,
      get: (): [number, number] => [calls.soft, hard],
      set(n: number) {
        if (n > hard || n > allow) return false;
        calls.soft = n;
        return true;
      },
    };
    return calls;
  }

  it("raises the soft limit to the hard one and says from where", () => {
    expect(raiseFileLimit(fakeLimit(256, 4096))).toEqual({ soft: 4096, hard: 4096, raisedFrom: 256 });
  });

  it("leaves a soft limit at the hard one alone", () => {
    expect(raiseFileLimit(fakeLimit(4096, 4096))).toEqual({ soft: 4096, hard: 4096, raisedFrom: null });
  });

  it("tries OPEN_MAX (macOS) when an unlimited hard limit refuses 2^20", () => {
    expect(raiseFileLimit(fakeLimit(256, 2 ** 64 - 1, 10240))).toEqual({
      soft: 10240,
      hard: Infinity,
      raisedFrom: 256,
    });
  });

  it("reads /proc/PID/limits text", () => {
    const text =
      "Max processes  100  100  processes\nMax open files            256                  4096                 files\n";
    expect(parseProcLimits(text)).toEqual({ soft: 256, hard: 4096, raisedFrom: null });
    expect(parseProcLimits("Max open files  unlimited  unlimited  files")?.hard).toBe(Infinity);
  });
});

describe("local errors", () => {
  const refused = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });

  it("turns a refused connect into EMFILE when the process is out of descriptors", () => {
    const err = localCause(refused, () => "EMFILE") as Error & { code: string };
    expect(err.code).toBe("EMFILE");
    expect(err.message).toMatch(/^EMFILE: too many open files in this process/);
    expect(localErrorCode(err)).toBe("EMFILE");
  });

  it("leaves a refused connect alone when descriptors are free", () => {
    expect(localCause(refused, () => null)).toBe(refused);
    expect(localErrorCode(refused)).toBe(null);
  });

  it("knows EMFILE, ENFILE, EADDRNOTAVAIL and ENOBUFS by code or in the text", () => {
    expect(localErrorCode(Object.assign(new Error("x"), { code: "EADDRNOTAVAIL" }))).toBe("EADDRNOTAVAIL");
    expect(localErrorCode("ENOBUFS: No buffer space available")).toBe("ENOBUFS");
    expect(localErrorCode("ENFILE: file table overflow")).toBe("ENFILE");
    expect(localErrorCode("connect timed out after 1000ms")).toBe(null);
  });
});

describe("max-conns as config", () => {
  const ROUTE = ["--route", "*=127.0.0.1:9000"];
  const config = (argv: string[]) => {
    const r = parseCli(argv);
    if (r.kind !== "run") throw new Error(`not a run: ${r.kind}`);
    return r.config!;
  };

  it("takes --max-conns N and auto", () => {
    expect(config([...ROUTE, "--max-conns", "5000"]).maxConns).toBe(5000);
    expect(config([...ROUTE, "--max-conns", "auto"]).maxConns).toBe(null);
    expect(config(ROUTE).maxConns).toBe(null);
  });

  it("names the flag for a value that is not a count", () => {
    for (const bad of ["abc", "0", "1.5"]) {
      expect(() => parseCli([...ROUTE, "--max-conns", bad])).toThrow(
        `--max-conns: expected auto or an integer 1 or more (client connections per process); got "${bad}"`,
      );
    }
  });

  const yaml = (value: string) =>
    `listeners:\n  - listen: :8080\n    flow:\n      - proxy: [127.0.0.1:9000]\nmax-conns: ${value}\n`;

  it("reads max-conns: N and auto from YAML, and prints it back", () => {
    const loaded = loadConfigText(yaml("2000"));
    expect(loaded.ok && loaded.config.maxConns).toBe(2000);
    const auto = loadConfigText(yaml("auto"));
    expect(auto.ok && auto.config.maxConns).toBe(null);
    if (!loaded.ok) throw new Error("not loaded");
    const again = loadConfigText(printConfig(loaded.config));
    expect(again.ok && again.config.maxConns).toBe(2000);
  });

  it("says file:line:column for a max-conns that is not a count", () => {
    const loaded = loadConfigText(yaml("-1"));
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.issues.map((i) => formatIssue("vane.yaml", i))).toEqual([
      "vane.yaml:5:12: max-conns: expected auto or an integer 1 or more (client connections per process); got a number (-1)",
    ]);
  });
});
