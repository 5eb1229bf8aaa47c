import { describe, expect, it } from "vitest";
import { type Member, Members } from "../../src/forward/members.ts";

interface Item extends Member {
  name: string;
}

const item = (name: string): Item => ({ name, slot: -1 });
const names = (m: Members<Item>) => m.list().map((i) => i.name).sort();

describe("Members (open connections, running relays)", () => {
  it("holds what was added until it leaves, in any order", () => {
    const m = new Members<Item>();
    const [a, b, c, d] = ["a", "b", "c", "d"].map(item);
    for (const i of [a, b, c, d]) m.add(i);
    expect(m.size).toBe(4);
    m.delete(b);
    expect(names(m)).toEqual(["a", "c", "d"]);
    m.delete(d);
    m.delete(a);
    expect(names(m)).toEqual(["c"]);
    m.add(b);
    expect(names(m)).toEqual(["b", "c"]);
    expect(m.size).toBe(2);
  });

  it("ignores a member deleted twice, or never added, and keeps the others", () => {
    const m = new Members<Item>();
    const [a, b, c] = ["a", "b", "c"].map(item);
    m.add(a);
    m.add(b);
    m.delete(a);
    m.delete(a);
    m.delete(c);
    expect(names(m)).toEqual(["b"]);
    // c claims b's place without being in: still not taken for b.
    c.slot = b.slot;
    m.delete(c);
    expect(names(m)).toEqual(["b"]);
  });

  it("lists a copy that stays whole while members leave, and clears", () => {
    const m = new Members<Item>();
    const all = ["a", "b", "c", "d", "e"].map(item);
    for (const i of all) m.add(i);
    const seen: string[] = [];
    for (const i of m.list()) {
      seen.push(i.name);
      m.delete(i);
    }
    expect(seen.sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(m.size).toBe(0);
    for (const i of all) m.add(i);
    m.clear();
    expect(m.size).toBe(0);
    m.delete(all[0]);
    m.add(all[0]);
    expect(names(m)).toEqual(["a"]);
  });
});
