/**
 * The encoder's memo (hpack-memo.ts) sends a block the same as the last one that left
 * the table as it was: checked by decoding every block of long runs of repeated,
 * changed and cut-short answers, with size updates and never-indexed fields among them.
 */
import { describe, expect, it } from "vitest";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../src/http2/hpack.ts";

describe("HpackEncoder's memo", () => {
  it("repeats a block byte for byte while the table is unchanged", () => {
    const encoder = new HpackEncoder();
    const answer = [
      { name: ":status", value: "200" },
      { name: "server", value: "nginx" },
      { name: "content-length", value: "3" },
    ];
    encoder.encode(answer); // adds server and content-length to the table
    const second = encoder.encode(answer);
    expect(encoder.encode(answer)).toEqual(second);
    expect(encoder.encode(answer, 9).subarray(9)).toEqual(second);
  });

  it("gives the whole block when the memo's bytes, written at the end, outgrow the encoder's buffer", () => {
    const encoder = new HpackEncoder();
    // Never indexed: the table stays as it was, so the next block follows the memo.
    const big = [{ name: "x-big", value: "v".repeat(1000), sensitive: true }];
    const first = encoder.encode(big);
    expect(first.length).toBeGreaterThan(800); // Huffman-coded
    // 300 bytes of room first, then the memo's 800-odd: past the encoder's 1 KiB buffer.
    const second = encoder.encode(big, 300);
    expect(second.length).toBe(300 + first.length);
    expect(second.subarray(300)).toEqual(first);
    expect(new HpackDecoder().decode(second.subarray(300))).toEqual([
      { name: "x-big", value: "v".repeat(1000), sensitive: true },
    ]);
  });

  it("encodes what decodes back, over many blocks like and unlike the last", () => {
    let seed = 5;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const pool: HeaderField[] = [
      { name: ":status", value: "200" },
      { name: ":status", value: "404" },
      { name: "server", value: "nginx/1.22.1" },
      { name: "date", value: "Mon, 23 Nov 2026 14:50:00 GMT" },
      { name: "date", value: "Mon, 23 Nov 2026 14:50:01 GMT" },
      { name: "content-type", value: "text/plain" },
      { name: "content-length", value: "3" },
      { name: "x-long", value: "v".repeat(1500) },
      { name: "authorization", value: "secret" },
      { name: "x-marked", value: "m", sensitive: true },
      { name: "x-marked", value: "m" },
    ];
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    let last: HeaderField[] = [pool[0]];
    for (let n = 0; n < 5000; n++) {
      let fields: HeaderField[];
      const how = random(6);
      if (how < 3) fields = last; // the same again
      else if (how === 3) fields = last.slice(0, random(last.length + 1)); // cut short
      else if (how === 4) fields = [...last.slice(0, random(last.length + 1)), pool[random(pool.length)]];
      else fields = Array.from({ length: random(6) }, () => pool[random(pool.length)]);
      if (random(50) === 0) {
        const size = [0, 64, 256, 4096][random(4)];
        encoder.setPeerMaxTableSize(size); // the decoder follows the block's size updates
      }
      const room = random(2) * 9;
      const decoded = decoder.decode(encoder.encode(fields, room).subarray(room));
      const block = decoded.map((f) => ({ name: f.name, value: f.value }));
      expect(block).toEqual(fields.map((f) => ({ name: f.name, value: f.value })));
      expect(decoder.tableEntries()).toEqual(encoder.tableEntries());
      last = fields;
    }
  });
});
