import { describe, expect, it } from "vitest";
import { allocBytes, concatBytes } from "../../src/detect/bytes.ts";

describe("allocBytes (small arrays carved from a shared slab)", () => {
  it("hands out zeroed arrays that never overlap, across slabs", () => {
    const got: Uint8Array[] = [];
    // Enough to fill several slabs, with sizes that do not divide them evenly.
    for (let i = 0; i < 400; i++) {
      const a = allocBytes(1 + (i * 37) % 300);
      expect(a.every((b) => b === 0)).toBe(true);
      a.fill((i % 255) + 1);
      got.push(a);
    }
    got.forEach((a, i) => expect(a.every((b) => b === (i % 255) + 1)).toBe(true));
  });

  it("gives a big array a buffer of its own", () => {
    const big = allocBytes(64 * 1024);
    expect(big.length).toBe(64 * 1024);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(64 * 1024);
  });

  it("concatenates into one new array", () => {
    const out = concatBytes(new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3]));
    expect([...out]).toEqual([1, 2, 3]);
  });
});
