import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS, parseDuration } from "../../src/config/duration.ts";
import { ConfigError } from "../../src/config/errors.ts";

describe("parseDuration", () => {
  it("reads each unit as milliseconds", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("5s")).toBe(5_000);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("0s")).toBe(0);
  });

  it("accepts fractions that come to whole milliseconds, without float noise", () => {
    expect(parseDuration("1.5s")).toBe(1_500);
    expect(parseDuration("1.1s")).toBe(1_100); // 1.1 * 1000 is 1100.0000000000002 in floats
    expect(parseDuration("0.5m")).toBe(30_000);
    expect(parseDuration("0.25h")).toBe(900_000);
  });

  it("refuses text without a unit, with a sign, exponent, spaces or an unknown unit", () => {
    for (
      const bad of [
        "",
        "5",
        "-1s",
        "+1s",
        "5x",
        "1e3s",
        "NaN",
        "Infinitys",
        "5 s",
        " 5s",
        "5s ",
        "s",
        ".5s",
        "5.s",
        "5S",
        "1d",
        "5sec",
      ]
    ) {
      expect(() => parseDuration(bad)).toThrow(ConfigError);
    }
  });

  it("refuses non-string input such as NaN", () => {
    expect(() => parseDuration(NaN as unknown as string)).toThrow(ConfigError);
  });

  it("says what was expected and quotes what it got", () => {
    expect(() => parseDuration("abc")).toThrowError('expected a duration like 500ms, 2s, 1m; got "abc"');
    expect(() => parseDuration("5")).toThrowError(/got "5"/);
  });

  it("refuses sub-millisecond precision", () => {
    expect(() => parseDuration("1.5ms")).toThrowError(/whole milliseconds; got "1.5ms"/);
    expect(() => parseDuration("0.0001s")).toThrow(ConfigError);
  });

  it("refuses durations that timers cannot represent", () => {
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(() => parseDuration(`${MAX_DURATION_MS + 1}ms`)).toThrowError(/at most/);
    expect(() => parseDuration("1000h")).toThrowError(/got "1000h"/);
  });

  it("throws ConfigError with its name set", () => {
    let caught: unknown = null;
    try {
      parseDuration("x");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).name).toBe("ConfigError");
  });
});
