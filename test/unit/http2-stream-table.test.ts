import { describe, expect, it } from "vitest";
import { StreamTable } from "../../src/http2/stream-table.ts";

interface S {
  readonly id: number;
  tag: string;
}

/** Table and a Map given the same operations agree on everything the table answers. */
function same(table: StreamTable<S>, map: Map<number, S>, ids: number[]): void {
  expect(table.size).toBe(map.size);
  for (const id of ids) expect(table.get(id)).toBe(map.get(id));
  expect(table.values().map((s) => s.id).sort((a, b) => a - b)).toEqual([...map.keys()].sort((a, b) => a - b));
}

describe("StreamTable", () => {
  it("keeps, replaces and forgets streams by id", () => {
    const table = new StreamTable<S>();
    const a = { id: 1, tag: "a" };
    table.set(a);
    table.set({ id: 3, tag: "b" });
    expect(table.get(1)).toBe(a);
    expect(table.has(3)).toBe(true);
    expect(table.has(5)).toBe(false);
    const parked = { id: 3, tag: "started" };
    table.set(parked);
    expect(table.size).toBe(2);
    expect(table.get(3)).toBe(parked);
    expect(table.delete(3)).toBe(true);
    expect(table.delete(3)).toBe(false);
    expect(table.size).toBe(1);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(1)).toBeUndefined();
  });

  it("agrees with a Map over random adds and deletes, with ids that collide and runs that wrap", () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    // Ids 128 apart share a slot of the first table (64 slots); 2^31-1 is the largest stream id.
    const ids = [
      ...Array.from({ length: 40 }, (_, i) => 2 * i + 1),
      ...Array.from({ length: 40 }, (_, i) => 128 * i + 127),
      2 ** 31 - 1,
      2 ** 31 - 129,
    ];
    const table = new StreamTable<S>();
    const map = new Map<number, S>();
    for (let n = 0; n < 20000; n++) {
      const id = ids[random(ids.length)];
      if (random(3) === 0) {
        expect(table.delete(id)).toBe(map.delete(id));
      } else {
        const s = { id, tag: String(n) };
        table.set(s);
        map.set(id, s);
      }
      if (n % 97 === 0) same(table, map, ids);
    }
    same(table, map, ids);
  });
});
