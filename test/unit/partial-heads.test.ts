/** The count of unfinished request heads per client address, and its cap. */
import { describe, expect, it } from "vitest";
import { PARTIAL_HEADS_LOG_MS, PartialHeads } from "../../src/http/partial-heads.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

function counter() {
  const lines: string[] = [];
  let now = 0;
  const heads = new PartialHeads(createLogger("json", (l) => lines.push(l), "debug"), () => now);
  return { heads, lines, at: (t: number) => (now = t) };
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

  it("logs a refused address at most once per period", () => {
    const { heads, lines, at } = counter();
    heads.enter("a", 1);
    for (let i = 0; i < 5; i++) heads.enter("a", 1);
    heads.enter("b", 0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "warn", client: "a", limit: 1 });
    at(PARTIAL_HEADS_LOG_MS - 1);
    heads.enter("a", 1);
    expect(lines).toHaveLength(1);
    at(PARTIAL_HEADS_LOG_MS);
    heads.enter("a", 1);
    expect(lines).toHaveLength(2);
  });
});
