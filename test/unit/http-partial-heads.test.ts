/** The count of unfinished request heads per client address, and its cap. */
import { describe, expect, it } from "vitest";
import { PartialHeads } from "../../src/http/partial-heads.ts";
import { limited } from "../../src/telemetry/log-limit.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

function counter() {
  const lines: string[] = [];
  const log = createLogger("json", { sink: (l) => lines.push(l), level: "debug" });
  const heads = new PartialHeads(log);
  return { heads, lines, flush: () => limited(log).flush() };
}

describe("PartialHeads", () => {
  it("counts heads per address, up to the limit, and refuses one more", () => {
    const { heads } = counter();
    expect(heads.enter("10.0.0.1", 2)).toBe(true);
    expect(heads.enter("10.0.0.1", 2)).toBe(true);
    expect(heads.enter("10.0.0.1", 2)).toBe(false);
    expect(heads.enter("10.0.0.2", 2)).toBe(true);
    expect(heads.count("10.0.0.1")).toBe(2);
    heads.leave("10.0.0.1");
    expect(heads.enter("10.0.0.1", 2)).toBe(true);
  });

  it("forgets an address whose heads all ended, and ignores a leave it never counted", () => {
    const { heads } = counter();
    heads.enter("a", 1);
    heads.leave("a");
    heads.leave("a");
    heads.leave("b");
    expect(heads.count("a")).toBe(0);
    expect(heads.enter("a", 1)).toBe(true);
  });

  it("has no limit at 0", () => {
    const { heads } = counter();
    for (let i = 0; i < 1000; i++) expect(heads.enter("a", 0)).toBe(true);
    expect(heads.count("a")).toBe(1000);
  });

  it("logs a refused address once, and counts its further refusals into one summary", () => {
    const { heads, lines, flush } = counter();
    heads.enter("a", 1);
    for (let i = 0; i < 5; i++) heads.enter("a", 1);
    heads.enter("b", 0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "warn", client: "a", limit: 1 });
    heads.enter("c", 1);
    heads.enter("c", 1);
    expect(lines).toHaveLength(2);
    flush();
    expect(lines.slice(2).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ msg: "4 more like this in the last 10s", client: "a", suppressed: 4 }),
    ]);
  });
});
