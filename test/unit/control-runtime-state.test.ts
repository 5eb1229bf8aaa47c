import { describe, expect, it } from "vitest";
import {
  applyOverrides,
  applyToDocument,
  emptyRuntimeState,
  hasStructure,
  type OverridableEntry,
  targetState,
  weightsToDocument,
} from "../../src/control/runtime-state.ts";

function doc(): Record<string, unknown> {
  return {
    listeners: [{ listen: "http://127.0.0.1:8080", flow: [{ proxy: "web" }] }],
    pools: { web: { targets: ["10.0.0.1:80", "10.0.0.2:80@2"] } },
  };
}

function entry(pool: string, key: string, weight = 1): OverridableEntry {
  return { pool, key, spec: { weight }, weight, draining: false, forced: null };
}

describe("runtime state", () => {
  it("applies added and removed targets, put pools and host routes to a config document", () => {
    const s = emptyRuntimeState();
    expect(hasStructure(s)).toBe(false);
    s.added.web = ["10.0.0.3:80@4", "10.0.0.1:80"];
    s.removed.web = ["10.0.0.2:80"];
    s.pools.api = { targets: ["10.0.1.1:80"] };
    s.routes.push({ listener: "http://127.0.0.1:8080", host: "api.test", pool: "api" });
    expect(hasStructure(s)).toBe(true);
    const d = doc();
    applyToDocument(d, s);
    expect(d.pools).toEqual({ web: { targets: ["10.0.0.1:80", "10.0.0.3:80@4"] }, api: { targets: ["10.0.1.1:80"] } });
    expect((d.listeners as Array<{ flow: unknown[] }>)[0].flow).toEqual([
      { when: { host: "api.test" }, proxy: "api" },
      { proxy: "web" },
    ]);
  });

  it("is idempotent, so a saved config read back with the same state stays the same", () => {
    const s = emptyRuntimeState();
    s.added.web = ["10.0.0.3:80"];
    s.routes.push({ listener: "http://127.0.0.1:8080", host: "x.test", pool: "web" });
    const once = doc();
    applyToDocument(once, s);
    const twice = structuredClone(once);
    applyToDocument(twice, s);
    expect(twice).toEqual(once);
  });

  it("leaves out changes whose pool or listener is gone", () => {
    const s = emptyRuntimeState();
    s.added.gone = ["10.0.0.3:80"];
    s.routes.push({ listener: "http://127.0.0.1:9999", host: "x.test", pool: "web" });
    s.routes.push({ listener: "http://127.0.0.1:8080", host: "y.test", pool: "gone" });
    const d = doc();
    applyToDocument(d, s);
    expect(d).toEqual(doc());
  });

  it("sets drain, weight and manual marks on entries and clears them when the override goes", () => {
    const [a, b] = [entry("web", "10.0.0.1:80"), entry("web", "10.0.0.2:80", 2)];
    applyOverrides([a, b], { web: { "10.0.0.1:80": { drain: true, weight: 5 }, "10.0.0.2:80": { manual: "down" } } });
    expect(a).toMatchObject({ draining: true, weight: 0, forced: null });
    expect(b).toMatchObject({ draining: false, weight: 2, forced: false });
    applyOverrides([a, b], { web: { "10.0.0.1:80": { weight: 5 } } });
    expect(a).toMatchObject({ draining: false, weight: 5, forced: null });
    expect(b).toMatchObject({ draining: false, weight: 2, forced: null });
  });

  it("writes weight overrides into the target lists for a save", () => {
    const d = doc();
    weightsToDocument(d, { web: { "10.0.0.1:80": { weight: 3 }, "10.0.0.2:80": { weight: 1 } } });
    expect((d.pools as { web: { targets: string[] } }).web.targets).toEqual(["10.0.0.1:80@3", "10.0.0.2:80"]);
  });

  it("says draining while requests are open and drained after", () => {
    expect(targetState(true, true, 2)).toBe("draining");
    expect(targetState(false, true, 0)).toBe("drained");
    expect(targetState(true, false, 0)).toBe("up");
    expect(targetState(false, false, 3)).toBe("down");
  });
});
