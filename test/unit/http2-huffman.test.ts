import { describe, expect, it } from "vitest";
import { HpackError } from "../../src/http2/hpack.ts";
import { EOS, HUFFMAN_CODES, huffmanDecode, huffmanEncode, huffmanEncodedLength } from "../../src/http2/huffman.ts";
import { random } from "../helpers/hpack-lists.ts";

const hex = (h: string) => Uint8Array.from(h.replace(/\s/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);

/** Rows of RFC 7541 Appendix B: symbol, code as hex (aligned to the LSB). */
const APPENDIX_B_ROWS: [number, number][] = [
  [0, 0x1ff8],
  [1, 0x7fffd8],
  [10, 0x3ffffffc],
  [22, 0x3ffffffe],
  [32, 0x14],
  [47, 0x18],
  [48, 0x0],
  [92, 0x7fff0],
  [97, 0x3],
  [126, 0x1ffd],
  [127, 0xffffffc],
  [128, 0xfffe6],
  [195, 0x7fff1],
  [199, 0x1ffffec],
  [220, 0xffffffd],
  [249, 0xffffffe],
  [255, 0x3ffffee],
  [EOS, 0x3fffffff],
];

/** Every Huffman-coded string of RFC 7541 Appendix C.4 and C.6. */
const APPENDIX_C_STRINGS: [string, string][] = [
  ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
  ["no-cache", "a8eb 1064 9cbf"],
  ["custom-key", "25a8 49e9 5ba9 7d7f"],
  ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
  ["302", "6402"],
  ["307", "640e ff"],
  ["private", "aec3 771a 4b"],
  ["Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
  ["Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"],
  ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
  ["gzip", "9bd9 ab"],
  [
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
  ],
];

function decodeError(bytes: Uint8Array): HpackError {
  try {
    huffmanDecode(bytes);
  } catch (err) {
    if (err instanceof HpackError) return err;
    throw err;
  }
  throw new Error("decoded without an error");
}

describe("Huffman code table", () => {
  it("derives the codes Appendix B lists", () => {
    for (const [sym, code] of APPENDIX_B_ROWS) expect(HUFFMAN_CODES[sym], `symbol ${sym}`).toBe(code);
  });
});

describe("huffmanEncode", () => {
  it("codes every string of Appendix C.4 and C.6 byte for byte", () => {
    for (const [plain, coded] of APPENDIX_C_STRINGS) expect(huffmanEncode(latin1(plain)), plain).toEqual(hex(coded));
  });

  it("gives an empty string no octets", () => {
    expect(huffmanEncode(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it("agrees with huffmanEncodedLength on random byte strings", () => {
    const next = random(7);
    for (let n = 0; n < 500; n++) {
      const bytes = Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256));
      expect(huffmanEncodedLength(bytes)).toBe(huffmanEncode(bytes).length);
    }
  });
});

describe("huffmanDecode", () => {
  it("decodes every string of Appendix C.4 and C.6", () => {
    for (const [plain, coded] of APPENDIX_C_STRINGS) expect(text(huffmanDecode(hex(coded))), plain).toBe(plain);
  });

  it("round-trips each of the 256 byte values alone and all together", () => {
    for (let b = 0; b < 256; b++) expect(huffmanDecode(huffmanEncode(Uint8Array.of(b)))).toEqual(Uint8Array.of(b));
    const all = Uint8Array.from({ length: 256 }, (_, b) => b);
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
  });

  it("round-trips 2,000 seeded random byte strings up to 300 bytes", () => {
    const next = random(2024);
    for (let n = 0; n < 2000; n++) {
      const bytes = Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256));
      expect(huffmanDecode(huffmanEncode(bytes))).toEqual(bytes);
    }
  });

  it("round-trips strings past the decoder's 64 KiB kept buffer, then short ones again", () => {
    const next = random(11);
    for (const length of [70_000, 5, 200_000, 17]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(next() * 256));
      expect(huffmanDecode(huffmanEncode(bytes))).toEqual(bytes);
    }
  });

  it("rejects data holding the EOS symbol (30 one bits)", () => {
    const err = decodeError(hex("ffff ffff"));
    expect(err.kind).toBe("compression");
    expect(err.message).toMatch(/EOS symbol/);
  });

  it("rejects EOS after a valid symbol", () => {
    // 'a' (00011) then 30 ones, then padding: EOS sits inside the data.
    expect(decodeError(hex("1fff ffff ff")).message).toMatch(/EOS symbol/);
  });

  it("rejects padding longer than 7 bits", () => {
    expect(decodeError(hex("ff")).message).toMatch(/longer than 7 bits/);
    // 'a' with its 3 padding bits, then a whole octet of ones.
    expect(decodeError(hex("1fff")).message).toMatch(/longer than 7 bits/);
  });

  it("rejects padding that is not the most significant bits of EOS", () => {
    // 'a' (00011) padded with zeros.
    const err = decodeError(hex("18"));
    expect(err.kind).toBe("compression");
    expect(err.message).toMatch(/not the most significant bits of EOS/);
  });

  it("accepts padding of each length from 1 to 7 bits", () => {
    // 'a' is 5 bits and ' ' 6, so a 'a's and b ' 's leave 8 - (5a + 6b) % 8 bits of padding.
    const padded = new Set<number>();
    for (let a = 0; a < 8; a++) {
      for (let b = 0; b < 8; b++) {
        const plain = "a".repeat(a) + " ".repeat(b);
        padded.add((8 - ((5 * a + 6 * b) % 8)) % 8);
        expect(text(huffmanDecode(huffmanEncode(latin1(plain))))).toBe(plain);
      }
    }
    expect([...padded].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
