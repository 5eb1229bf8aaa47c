import { describe, expect, it } from "vitest";
import { allocBytes, concatBytes, copyBytes } from "../../src/runtime/byte-arrays.ts";

describe("allocBytes (small arrays: from a shared slab on Deno, fresh on Bun)", () => {
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

  it("copies a range of any length into place, short runs and long ones alike", () => {
    const src = Uint8Array.from({ length: 1200 }, (_, i) => (i * 7) % 251);
    for (const n of [0, 1, 39, 41, 159, 161, 1000]) {
      for (const from of [0, 3]) {
        const out = new Uint8Array(n + 10).fill(0xee);
        expect(copyBytes(out, 5, src, from, from + n)).toBe(5 + n);
        expect([...out.subarray(5, 5 + n)]).toEqual([...src.subarray(from, from + n)]);
        // Nothing around the range is touched.
        expect([...out.subarray(0, 5), ...out.subarray(5 + n)]).toEqual(new Array(10).fill(0xee));
      }
    }
    // The whole of src, the case that needs no view of it.
    const whole = new Uint8Array(1200);
    copyBytes(whole, 0, src, 0, src.length);
    expect(whole).toEqual(src);
  });

  it("concatenates into one new array", () => {
    const out = concatBytes(new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3]));
    expect([...out]).toEqual([1, 2, 3]);
  });
});
