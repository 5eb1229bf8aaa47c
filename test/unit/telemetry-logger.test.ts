import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/telemetry/logger.ts";
import { underJournal } from "../../src/telemetry/journal.ts";

function lines(journal: boolean, format: "text" | "json" = "text"): string[] {
  const out: string[] = [];
  const log = createLogger(format, { sink: (l) => out.push(l), level: "debug", journal });
  log.debug("d", { a: 1 });
  log.info("listening", { port: 8080 });
  log.warn("target down", { target: "10.0.0.1:80" });
  log.error("cannot start", { error: "x y" });
  return out;
}

describe("logging to the systemd journal", () => {
  it("maps levels to syslog priorities and leaves the timestamp to the journal", () => {
    expect(lines(true)).toEqual([
      "<7>DEBUG d a=1",
      "<6>INFO  listening port=8080",
      "<4>WARN  target down target=10.0.0.1:80",
      '<3>ERROR cannot start error="x y"',
    ]);
  });

  it("keeps the timestamp and writes no escape codes on a terminal", () => {
    for (const line of lines(false)) {
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) /);
      expect(line).not.toContain("\x1b");
    }
  });

  it("leaves JSON lines as they are", () => {
    expect(lines(true, "json").map((l) => JSON.parse(l).level)).toEqual(["debug", "info", "warn", "error"]);
  });

  it("knows the journal by JOURNAL_STREAM", () => {
    expect(underJournal({ JOURNAL_STREAM: "8:12345" })).toBe(true);
    expect(underJournal({})).toBe(false);
    expect(underJournal({ JOURNAL_STREAM: "" })).toBe(false);
  });
});
