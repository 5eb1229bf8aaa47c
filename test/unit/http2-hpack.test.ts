import { describe, expect, it } from "vitest";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "../../src/http2/hpack.ts";
import { plain, random, randomHeaderList } from "../helpers/hpack-lists.ts";

const hex = (h: string) => Uint8Array.from(h.replace(/\s/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** "name: value" lines (split at the first ": " after the first char, so ":path: /" works). */
function fields(...lines: string[]): HeaderField[] {
  return lines.map((line) => {
    const at = line.indexOf(": ", 1);
    return { name: line.slice(0, at), value: line.slice(at + 2) };
  });
}

function decodeError(decoder: HpackDecoder, block: Uint8Array): HpackError {
  try {
    decoder.decode(block);
  } catch (err) {
    if (err instanceof HpackError) return err;
    throw err;
  }
  throw new Error("decoded without an error");
}

/** One header block of an Appendix C example: its bytes, header list, and the dynamic table after it. */
interface Example {
  name: string;
  block: string;
  list: HeaderField[];
  table: HeaderField[];
  tableSize: number;
}

const C3_LISTS = [
  fields(":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"),
  fields(":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"),
  fields(
    ":method: GET",
    ":scheme: https",
    ":path: /index.html",
    ":authority: www.example.com",
    "custom-key: custom-value",
  ),
];
const C3_TABLES = [
  { table: fields(":authority: www.example.com"), tableSize: 57 },
  { table: fields("cache-control: no-cache", ":authority: www.example.com"), tableSize: 110 },
  {
    table: fields("custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"),
    tableSize: 164,
  },
];

/** C.3 (no Huffman) and C.4 (Huffman): three requests on one connection, 4096-octet table. */
const C3: Example[] = [
  "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
  "8286 84be 5808 6e6f 2d63 6163 6865",
  "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
].map((block, i) => ({ name: `C.3.${i + 1}`, block, list: C3_LISTS[i], ...C3_TABLES[i] }));
const C4: Example[] = [
  "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
  "8286 84be 5886 a8eb 1064 9cbf",
  "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
].map((block, i) => ({ name: `C.4.${i + 1}`, block, list: C3_LISTS[i], ...C3_TABLES[i] }));

const DATE_21 = "date: Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_22 = "date: Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "location: https://www.example.com";
const SET_COOKIE = "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const C5_LISTS = [
  fields(":status: 302", "cache-control: private", DATE_21, LOCATION),
  fields(":status: 307", "cache-control: private", DATE_21, LOCATION),
  fields(":status: 200", "cache-control: private", DATE_22, LOCATION, "content-encoding: gzip", SET_COOKIE),
];
const C5_TABLES = [
  { table: fields(LOCATION, DATE_21, "cache-control: private", ":status: 302"), tableSize: 222 },
  { table: fields(":status: 307", LOCATION, DATE_21, "cache-control: private"), tableSize: 222 },
  { table: fields(SET_COOKIE, "content-encoding: gzip", DATE_22), tableSize: 215 },
];

/** C.5 (no Huffman) and C.6 (Huffman): three responses, 256-octet table, with evictions. */
const C5: Example[] = [
  "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d" +
  "546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
  "4803 3330 37c1 c0bf",
  "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f" +
  "6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b" +
  "2076 6572 7369 6f6e 3d31",
].map((block, i) => ({ name: `C.5.${i + 1}`, block, list: C5_LISTS[i], ...C5_TABLES[i] }));
const C6: Example[] = [
  "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7" +
  "8f0b 97c8 e9ae 82ae 43d3",
  "4883 640e ffc1 c0bf",
  "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335" +
  "dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
].map((block, i) => ({ name: `C.6.${i + 1}`, block, list: C5_LISTS[i], ...C5_TABLES[i] }));

function decodesExamples(examples: Example[], maxTableSize: number): void {
  const decoder = new HpackDecoder({ maxTableSize });
  for (const ex of examples) {
    expect(decoder.decode(hex(ex.block)), ex.name).toEqual(ex.list);
    expect(decoder.tableEntries(), ex.name).toEqual(ex.table);
    expect(decoder.tableSize, ex.name).toBe(ex.tableSize);
  }
}

describe("HpackDecoder on RFC 7541 Appendix C", () => {
  it("decodes C.2.1, a literal with indexing, and adds it to the table", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual(
      fields("custom-key: custom-header"),
    );
    expect(d.tableEntries()).toEqual(fields("custom-key: custom-header"));
    expect(d.tableSize).toBe(55);
  });

  it("decodes C.2.2, a literal without indexing, leaving the table empty", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual(fields(":path: /sample/path"));
    expect(d.tableSize).toBe(0);
  });

  it("decodes C.2.3, a never-indexed literal, marked sensitive and not added", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([
      { name: "password", value: "secret", sensitive: true },
    ]);
    expect(d.tableSize).toBe(0);
  });

  it("decodes C.2.4, an indexed field of the static table", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("82"))).toEqual(fields(":method: GET"));
    expect(d.tableSize).toBe(0);
  });

  it("decodes the C.3 requests with the table after each as listed", () => decodesExamples(C3, 4096));
  it("decodes the Huffman-coded C.4 requests with the table after each as listed", () => decodesExamples(C4, 4096));
  it("decodes the C.5 responses in a 256-octet table, evicting as listed", () => decodesExamples(C5, 256));
  it("decodes the Huffman-coded C.6 responses in a 256-octet table, evicting as listed", () =>
    decodesExamples(C6, 256));

  it("reads C.1.1 and C.1.2's integers (10 and 1337 on a 5-bit prefix) in size updates", () => {
    const d = new HpackDecoder();
    d.decode(hex("2a"));
    expect(d.tableMaxSize).toBe(10);
    d.decode(hex("3f9a 0a"));
    expect(d.tableMaxSize).toBe(1337);
  });
});

describe("HpackEncoder on RFC 7541 Appendix C", () => {
  it("encode with room leaves that many bytes free before the same block", () => {
    const lists: HeaderField[][] = [
      [{ name: ":status", value: "200" }, { name: "server", value: "nginx" }],
      [{ name: ":status", value: "200" }, { name: "server", value: "nginx" }, { name: "x-id", value: "7" }],
    ];
    const plainEncoder = new HpackEncoder();
    const roomy = new HpackEncoder();
    for (const list of lists) {
      const block = plainEncoder.encode(list);
      const framed = roomy.encode(list, 9);
      expect(framed.length).toBe(9 + block.length);
      expect(Array.from(framed.subarray(9))).toEqual(Array.from(block));
    }
  });

  it("encodes the C.4 requests byte for byte (the RFC's choices are ours, Huffman included)", () => {
    const e = new HpackEncoder();
    for (const ex of C4) {
      expect(toHex(e.encode(ex.list)), ex.name).toBe(toHex(hex(ex.block)));
      expect(e.tableEntries(), ex.name).toEqual(ex.table);
    }
  });

  it("encodes the C.6 responses byte for byte after announcing its 256-octet table", () => {
    const e = new HpackEncoder({ maxTableSize: 256 });
    // The first block opens with the size update 256 (001 11111, 225): the RFC takes the table as set.
    // In the second, "307" is 3 octets raw or Huffman-coded; we send it raw, as C.5.2 does.
    const expected = ["3fe101" + C6[0].block, C5[1].block, C6[2].block];
    C6.forEach((ex, i) => {
      expect(toHex(e.encode(ex.list)), ex.name).toBe(toHex(hex(expected[i])));
      expect(e.tableEntries(), ex.name).toEqual(ex.table);
      expect(e.tableSize, ex.name).toBe(ex.tableSize);
    });
  });

  it("encodes C.3 and C.5's lists so they decode back, with the tables as the RFC lists", () => {
    for (const [examples, size] of [[C3, 4096], [C5, 256]] as const) {
      const e = new HpackEncoder({ maxTableSize: size });
      const d = new HpackDecoder({ maxTableSize: size });
      for (const ex of examples) {
        expect(d.decode(e.encode(ex.list)), ex.name).toEqual(ex.list);
        expect(e.tableEntries(), ex.name).toEqual(ex.table);
        expect(d.tableEntries(), ex.name).toEqual(ex.table);
      }
    }
  });

  it("writes C.1.2's 1337 on a 5-bit prefix as 1f 9a 0a", () => {
    const e = new HpackEncoder();
    e.setPeerMaxTableSize(1337);
    expect(toHex(e.encode([]))).toBe("3f9a0a");
  });
});

describe("HpackDecoder errors", () => {
  const compression = (block: string, message: RegExp, decoder = new HpackDecoder()) => {
    const err = decodeError(decoder, hex(block));
    expect(err.kind).toBe("compression");
    expect(err.message).toMatch(message);
  };

  it("rejects index 0", () => compression("80", /index 0/));
  it("rejects an index past the static table when the dynamic table is empty", () => compression("be", /index 62/));
  it("rejects a literal whose name index is past the table", () => compression("7e 0161", /index 62/));

  it("rejects an index past the dynamic table's last entry", () => {
    const d = new HpackDecoder();
    d.decode(hex("4001 6101 62")); // a: b, now index 62
    expect(d.decode(hex("be"))).toEqual(fields("a: b"));
    compression("bf", /index 63 is beyond the table \(61 static, 1 dynamic/, d);
  });

  it("rejects an integer above 2^31-1", () => compression("ff ffff ffff 0f", /over 2\^31-1/));
  it("rejects an integer with more than 5 continuation octets", () =>
    compression("ff 8080 8080 8000", /5 continuation/));
  it("rejects a block that ends inside an integer", () => compression("ff 80", /inside an integer/));

  it("accepts a size update of 2^31-1 in 5 continuation octets when the limit allows it", () => {
    const d = new HpackDecoder({ maxTableSize: 0x7fffffff });
    d.decode(hex("3f e0ff ffff 07"));
    expect(d.tableMaxSize).toBe(0x7fffffff);
  });

  it("rejects a dynamic table size update after a header field", () => compression("82 20", /after a header field/));
  it("rejects a third dynamic table size update in one block", () => compression("20 20 20", /more than two/));
  it("rejects a size update above maxTableSize", () => compression("3f e21f", /4097 is over the limit of 4096/));
  it("rejects a string length that runs past the block", () => compression("40 0561", /runs past the end/));
  it("rejects a block that ends before a literal's value", () => compression("41", /before a string literal/));
  it("rejects a Huffman string holding EOS", () => compression("40 84ff ffff ff 00", /EOS symbol/));
  it("rejects Huffman padding longer than 7 bits", () => compression("40 81ff 00", /longer than 7 bits/));
  it("rejects Huffman padding that is not all ones", () => compression("40 8118 00", /most significant bits of EOS/));
});

describe("dynamic table size updates", () => {
  it("takes two updates at the start of a block, the first evicting everything", () => {
    const d = new HpackDecoder();
    d.decode(hex("4001 6101 62"));
    expect(d.decode(hex("20 3fe1 1f 82"))).toEqual(fields(":method: GET"));
    expect(d.tableSize).toBe(0);
    expect(d.tableMaxSize).toBe(4096);
  });

  it("evicts oldest entries to fit a smaller maximum", () => {
    const d = new HpackDecoder();
    d.decode(hex("4001 6101 62 4001 6301 64")); // a: b (34), then c: d (34)
    d.decode(hex("3f 04")); // 35: only the newest fits
    expect(d.tableEntries()).toEqual(fields("c: d"));
  });

  it("has the encoder signal the smallest size since the last block, then the final one", () => {
    const e = new HpackEncoder();
    e.encode(fields("a: b"));
    e.setPeerMaxTableSize(0);
    e.setPeerMaxTableSize(4096);
    expect(toHex(e.encode([]))).toBe("20" + "3fe11f");
    expect(e.tableSize).toBe(0);
  });

  it("has the encoder send no update when the size does not change", () => {
    const e = new HpackEncoder();
    e.setPeerMaxTableSize(4096);
    expect(toHex(e.encode(fields(":method: GET")))).toBe("82");
  });

  it("has the encoder hold to its own maximum when the peer allows more", () => {
    const e = new HpackEncoder({ maxTableSize: 1024 });
    expect(toHex(e.encode([]))).toBe("3fe107"); // 1024 announced at once: the peer starts at 4096
    e.setPeerMaxTableSize(65536);
    expect(toHex(e.encode([]))).toBe("");
  });

  it("has the encoder stop indexing while the table is 0", () => {
    const e = new HpackEncoder();
    e.setPeerMaxTableSize(0);
    const d = new HpackDecoder();
    expect(d.decode(e.encode(fields("x-a: 1")))).toEqual(fields("x-a: 1"));
    expect(e.tableSize).toBe(0);
    expect(d.tableMaxSize).toBe(0);
  });
});

describe("dynamic table eviction (RFC 7541 §4.4)", () => {
  it("empties the table for an entry larger than it, without an error", () => {
    const d = new HpackDecoder({ maxTableSize: 64 });
    d.decode(hex("4001 6101 62"));
    const big = "x".repeat(40);
    const block = Uint8Array.of(0x40, 0x01, 0x62, big.length, ...Array.from(big, (c) => c.charCodeAt(0)));
    expect(d.decode(block)).toEqual([{ name: "b", value: big }]);
    expect(d.tableSize).toBe(0);
  });

  it("reads a new entry's name from the entry its insertion evicts", () => {
    const d = new HpackDecoder({ maxTableSize: 70 });
    d.decode(hex("4004 6161 6161 0131")); // aaaa: 1 (37 octets)
    expect(d.decode(hex("7e 0232 32"))).toEqual(fields("aaaa: 22")); // name = index 62, which is evicted for it
    expect(d.tableEntries()).toEqual(fields("aaaa: 22"));
  });
});

describe("header list size limit", () => {
  it("throws too-large once the list passes maxHeaderListSize", () => {
    const d = new HpackDecoder({ maxHeaderListSize: 100 });
    const err = decodeError(d, new HpackEncoder().encode(fields(`x-big: ${"v".repeat(80)}`)));
    expect(err.kind).toBe("too-large");
    expect(err.message).toMatch(/over the limit of 100/);
  });

  it("keeps the table in step past the limit, so the next block decodes right", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder({ maxHeaderListSize: 200 });
    const big = fields(`x-a: ${"a".repeat(100)}`, `x-b: ${"b".repeat(100)}`, "x-c: c");
    expect(decodeError(d, e.encode(big)).kind).toBe("too-large");
    expect(d.tableEntries()).toEqual(e.tableEntries());
    // Each of these is sent as an index into the dynamic table.
    const again = fields("x-c: c", `x-b: ${"b".repeat(100)}`);
    const block = e.encode(again);
    expect(block.length).toBe(2);
    expect(d.decode(block)).toEqual(again);
  });

  it("bounds an HPACK bomb: one large entry referenced 10,000 times", () => {
    const d = new HpackDecoder();
    const value = "z".repeat(4000);
    const insert = Uint8Array.of(0x40, 0x01, 0x7a, 0x7f, 0x80 + ((4000 - 127) & 0x7f), (4000 - 127) >> 7);
    const block = new Uint8Array(insert.length + value.length + 10_000);
    block.set(insert);
    for (let i = 0; i < value.length; i++) block[insert.length + i] = 0x7a;
    block.fill(0xbe, insert.length + value.length);
    expect(decodeError(d, block).kind).toBe("too-large");
    expect(d.tableEntries()).toEqual([{ name: "z", value }]);
  });

  it("reports a compression error found after the limit was passed, not too-large", () => {
    const d = new HpackDecoder({ maxHeaderListSize: 40 });
    expect(decodeError(d, hex("82 82 80")).kind).toBe("compression");
  });
});

describe("HpackEncoder choices", () => {
  it("sends authorization as a never-indexed literal naming static index 23", () => {
    const e = new HpackEncoder();
    const block = e.encode(fields("authorization: Bearer abc"));
    expect(block[0]).toBe(0x1f);
    expect(block[1]).toBe(23 - 15);
    expect(e.tableSize).toBe(0);
    expect(new HpackDecoder().decode(block)).toEqual([{ name: "authorization", value: "Bearer abc", sensitive: true }]);
  });

  it("sends a short cookie never-indexed and a long one indexed", () => {
    const e = new HpackEncoder();
    expect(e.encode(fields("cookie: a=1"))[0] & 0xf0).toBe(0x10);
    expect(e.encode(fields(`cookie: session=${"s".repeat(20)}`))[0] & 0xc0).toBe(0x40);
    expect(e.tableEntries().map((f) => f.name)).toEqual(["cookie"]);
  });

  it("re-sends a field that came never-indexed as never-indexed", () => {
    const e = new HpackEncoder();
    const block = e.encode([{ name: "x-secret", value: "1", sensitive: true }]);
    expect(block[0]).toBe(0x10);
    expect(e.tableSize).toBe(0);
  });

  it("sends a value over a quarter of the table without indexing", () => {
    const e = new HpackEncoder();
    const list = fields(`x-long: ${"q".repeat(1025)}`);
    const block = e.encode(list);
    expect(block[0]).toBe(0x00);
    expect(e.tableSize).toBe(0);
    expect(new HpackDecoder().decode(block)).toEqual(list);
  });

  it("names a field by its dynamic index once its name is in the table", () => {
    const e = new HpackEncoder();
    e.encode(fields("x-name: 1"));
    expect(toHex(e.encode(fields("x-name: 2")))).toBe("7e0132");
  });

  it("uses raw octets when Huffman would be longer", () => {
    const e = new HpackEncoder();
    // Bytes 0x80-0xff take 19 to 26 bits each in Huffman; "x" is 7 bits Huffman-coded: one octet either way, so raw; the value is raw too.
    expect(toHex(e.encode([{ name: "x", value: "\xff\xfe" }]))).toBe("40" + "0178" + "02fffe");
  });

  it("refuses a char above 0xff with a RangeError", () => {
    expect(() => new HpackEncoder().encode(fields("x-a: \u20ac"))).toThrow(RangeError);
  });
});

describe("encoder to decoder round trip", () => {
  it("round-trips 2,000 seeded random header lists with table size changes, tables in step", () => {
    const next = random(7541);
    const seen: HeaderField[] = [];
    const e = new HpackEncoder();
    const d = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
    for (let n = 0; n < 2000; n++) {
      if (next() < 0.03) e.setPeerMaxTableSize([0, 64, 256, 1000, 4096, 8192][Math.floor(next() * 6)]);
      const list = randomHeaderList(next, seen);
      const got = d.decode(e.encode(list));
      expect(plain(got), `list ${n}`).toEqual(plain(list));
      for (let i = 0; i < list.length; i++) {
        if (list[i].sensitive) expect(got[i].sensitive, `list ${n} field ${i}`).toBe(true);
      }
      expect(d.tableEntries(), `list ${n}`).toEqual(e.tableEntries());
      expect(d.tableSize).toBe(e.tableSize);
    }
  });
});
