import { describe, expect, it } from "vitest";
import { failure, type Result } from "../../src/errors/mod.ts";

describe("failure", () => {
  it("is the one failed shape: ok false and a reason", () => {
    expect(failure("no target alive")).toEqual({ ok: false, reason: "no target alive" });
  });

  it("narrows a Result by ok", () => {
    const results: Result<{ value: number }>[] = [{ ok: true, value: 1 }, failure("bad")];
    const seen = results.map((r) => (r.ok ? `value ${r.value}` : `reason ${r.reason}`));
    expect(seen).toEqual(["value 1", "reason bad"]);
  });
});
