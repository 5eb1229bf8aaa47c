import { describe, expect, it } from "vitest";
import { TrafficCounters } from "../../src/telemetry/counters.ts";

describe("TrafficCounters.requests", () => {
  it("counts responses by route, pool and code, read between them and at the end", () => {
    const c = new TrafficCounters();
    const key = (route: string | null, pool: string | null, code: number) =>
      `${route ?? ""}\u0000${pool ?? ""}\u0000${code}`;
    c.countResponse("api", "a", 200);
    c.countResponse("api", "a", 200);
    // Read while responses are counted under the last key: they are all in.
    expect(Object.fromEntries(c.requests)).toEqual({ [key("api", "a", 200)]: 2 });
    c.countResponse("api", "a", 200);
    c.countResponse("api", "a", 404);
    c.countResponse(null, null, 400);
    c.countResponse("api", "a", 200);
    c.countResponse("api", "a", 200);
    expect(Object.fromEntries(c.requests)).toEqual({
      [key("api", "a", 200)]: 5,
      [key("api", "a", 404)]: 1,
      [key(null, null, 400)]: 1,
    });
    // Reading twice counts nothing twice.
    expect(c.requests.get(key("api", "a", 200))).toBe(5);
  });
});
