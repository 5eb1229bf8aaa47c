import { describe, expect, it } from "vitest";
import { ALLOWED, isAllowed, longFunctions } from "../../scripts/long-functions.ts";

/** A function of `lines` lines, from its declaration to its closing brace. */
function fn(header: string, lines: number, indent = ""): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `${indent}  const x${i} = ${i};`);
  return [`${indent}${header}`, ...body, `${indent}}`].join("\n");
}

const FIXTURE = [
  fn("export function tooLong(a: number): number {", 81),
  "",
  fn("function justShort(): void {", 79),
  "",
  "class Box {",
  fn("async #method(x: string): Promise<void> {", 81, "  "),
  fn("short(): void {", 80, "  "),
  "}",
  "",
  fn("const arrow = (a: number) => {", 81),
].join("\n");

describe("longFunctions", () => {
  it("lists a function of 81 lines and not one of 79 or 80", () => {
    const found = longFunctions("fixture.ts", FIXTURE, 80);
    expect(found.map((f) => [f.name, f.lines])).toEqual([["tooLong", 81], ["#method", 81], ["arrow", 81]]);
  });

  it("gives the line the function starts on", () => {
    const found = longFunctions("fixture.ts", FIXTURE, 80);
    expect(found[0]).toEqual({ file: "fixture.ts", line: 1, name: "tooLong", lines: 81 });
    expect(FIXTURE.split("\n")[found[1].line - 1]).toContain("async #method(");
  });

  it("takes the bound it is given", () => {
    expect(longFunctions("fixture.ts", FIXTURE, 78).map((f) => f.name)).toEqual([
      "tooLong",
      "justShort",
      "#method",
      "short",
      "arrow",
    ]);
  });

  it("lets only the allow-listed names pass, and lists none but the two being split", () => {
    for (const entry of ALLOWED) {
      expect(["src/http/framing.ts push", "src/http/exchange.ts copyBody"]).toContain(entry);
      const [file, name] = entry.split(" ");
      expect(isAllowed({ file, line: 1, name, lines: 90 })).toBe(true);
    }
    expect(isAllowed({ file: "src/http/framing.ts", line: 1, name: "pull", lines: 90 })).toBe(false);
    expect(isAllowed({ file: "src/main.ts", line: 1, name: "push", lines: 90 })).toBe(false);
  });
});
