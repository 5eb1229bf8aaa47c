/**
 * HpackDecoder (src/http2/hpack.ts). An input is a few header blocks of one connection,
 * decoded in order by a fresh decoder, and also by one long-lived decoder that every
 * input of the run goes through (its table state is whatever the inputs before left).
 * Blocks are: sequences made by HpackEncoder from random header lists (credentials, high
 * bytes, values over a quarter of the table, repeats, table size changes between blocks),
 * kept whole or byte-mutated; blocks hand-made from representations (integers up to and
 * past 2^31-1 and over-long ones, index 0, indexes past the table, size updates at the
 * start, in the middle, thrice, above the limit, string lengths that lie, Huffman strings
 * holding EOS or badly padded, one large entry referenced thousands of times); and random
 * bytes. Checks: only HpackError is thrown; a sequence built valid decodes to exactly its
 * header lists with the decoder's table equal to the encoder's after every block, and a
 * block over the list limit throws "too-large" with the tables still equal; decoded lists
 * stay within the limit; the table stays within its maximum.
 */
import { ENTRY_OVERHEAD } from "../../../src/http2/hpack-table.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "../../../src/http2/hpack.ts";
import { STATIC_TABLE } from "../../../src/http2/hpack-static.ts";
import { huffmanEncode } from "../../../src/http2/huffman.ts";
import { concat, hex, latin1 } from "../bytes.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";

export interface HpackInput {
  blocks: Uint8Array[];
  maxTableSize: number;
  maxHeaderListSize: number;
  /** For a sequence built valid: each block's header list and the encoder's table after it. */
  expect?: { lists: HeaderField[][]; tables: HeaderField[][] };
}

const TABLE_SIZES = [4096, 4096, 4096, 256, 0, 100, 65536];
const LIST_SIZES = [65536, 65536, 65536, 200, 1000, 1 << 20];
const NAMES = [...new Set(STATIC_TABLE.map(([n]) => n)), "x-request-id", "authorization", "cookie", "x-a", ""];
const VALUES = ["", "0", "gzip", "/", "https://www.example.com", "Mon, 21 Oct 2013 20:13:21 GMT", "a=1"];

function text(rng: Rng, length: number): string {
  const high = rng.chance(0.3);
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(high ? rng.int(256) : 0x20 + rng.int(95));
  return s;
}

function headerList(rng: Rng, seen: HeaderField[]): HeaderField[] {
  const list: HeaderField[] = [];
  for (let n = rng.small(24); n > 0; n--) {
    if (seen.length > 0 && rng.chance(0.3)) {
      list.push({ ...rng.pick(seen) });
      continue;
    }
    const name = rng.chance(0.8) ? rng.pick(NAMES) : text(rng, rng.range(1, 16));
    const r = rng.int(100);
    const value = r < 40 ? rng.pick(VALUES) : r < 95 ? text(rng, rng.small(60)) : text(rng, rng.range(500, 5000));
    const field: HeaderField = rng.chance(0.03) ? { name, value, sensitive: true } : { name, value };
    seen.push(field);
    list.push(field);
  }
  return list;
}

/** 1 to 6 blocks from one encoder, with the peer's table size changing now and then. */
function validSequence(rng: Rng, input: HpackInput): HpackInput {
  const encoder = new HpackEncoder({ maxTableSize: rng.pick(TABLE_SIZES) });
  encoder.setPeerMaxTableSize(input.maxTableSize);
  const seen: HeaderField[] = [];
  const lists: HeaderField[][] = [];
  const tables: HeaderField[][] = [];
  const blocks: Uint8Array[] = [];
  for (let n = rng.range(1, 6); n > 0; n--) {
    if (rng.chance(0.15)) encoder.setPeerMaxTableSize(rng.int(input.maxTableSize + 1));
    const list = headerList(rng, seen);
    blocks.push(encoder.encode(list));
    lists.push(list);
    tables.push(encoder.tableEntries());
  }
  return { ...input, blocks, expect: { lists, tables } };
}

/** An integer on an N-bit prefix, now and then over-long (zero continuation octets added). */
function integer(rng: Rng, pattern: number, prefixBits: number, value: number): number[] {
  const all = (1 << prefixBits) - 1;
  if (value < all) return [pattern | value];
  const padding = rng.chance(0.05) ? rng.range(1, 6) : 0;
  const out = [pattern | all];
  let rest = value - all;
  for (let octets = 0; rest >= 0x80 || octets < padding; octets++) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

const BIG_INTEGERS = [126, 127, 128, 4096, 4097, 16384, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 35 - 1];

function anInteger(rng: Rng, tableEntries: number): number {
  const r = rng.int(100);
  if (r < 50) return rng.int(61 + tableEntries + 3);
  if (r < 80) return rng.small(300);
  return rng.pick(BIG_INTEGERS);
}

/** A string literal: raw or Huffman, bad Huffman now and then, its length now and then a lie. */
function stringLiteral(rng: Rng): number[] {
  const plain = latin1(rng.chance(0.8) ? rng.pick(VALUES) : text(rng, rng.small(40)));
  let huffman = rng.chance(0.5);
  let body = huffman ? huffmanEncode(plain) : plain;
  const r = rng.int(100);
  if (r < 4) [huffman, body] = [true, concat([body, Uint8Array.of(0xff, 0xff, 0xff, 0xff)])]; // EOS inside
  else if (r < 8) [huffman, body] = [true, concat([body, Uint8Array.of(0xff)])]; // 8+ bits of padding
  else if (r < 12) [huffman, body] = [true, concat([body, Uint8Array.of(0x00)])]; // zero padding
  let length = body.length;
  if (rng.chance(0.05)) length = rng.chance(0.5) ? Math.max(0, length + rng.range(-3, 3)) : rng.pick(BIG_INTEGERS);
  return [...integer(rng, huffman ? 0x80 : 0, 7, length), ...body];
}

/** One representation (§6) of any kind, indexes and sizes near and past their bounds. */
function representation(rng: Rng, tableEntries: number, maxTableSize: number): number[] {
  const r = rng.int(100);
  if (r < 35) return integer(rng, 0x80, 7, anInteger(rng, tableEntries));
  if (r < 85) {
    const [pattern, prefix] = rng.pick([[0x40, 6], [0x00, 4], [0x10, 4]] as const);
    const name = rng.chance(0.4) ? 0 : anInteger(rng, tableEntries);
    return [...integer(rng, pattern, prefix, name), ...(name === 0 ? stringLiteral(rng) : []), ...stringLiteral(rng)];
  }
  const size = rng.chance(0.7) ? rng.int(maxTableSize + 2) : rng.pick(BIG_INTEGERS);
  return integer(rng, 0x20, 5, size);
}

function handMadeBlock(rng: Rng, maxTableSize: number): Uint8Array {
  const bytes: number[] = [];
  for (let n = rng.small(2); n > 0; n--) bytes.push(...integer(rng, 0x20, 5, rng.int(maxTableSize + 1)));
  for (let n = rng.small(30); n > 0; n--) bytes.push(...representation(rng, rng.small(20), maxTableSize));
  return Uint8Array.from(bytes);
}

/** One large entry, then an index to it thousands of times (bounded by the list limit). */
function bomb(rng: Rng): Uint8Array {
  const value = "b".repeat(rng.range(100, 4000));
  const insert = [0x40, 1, 0x62, ...integer(rng, 0, 7, value.length), ...latin1(value)];
  const refs = new Uint8Array(rng.range(100, 20000)).fill(0xbe);
  return concat([Uint8Array.from(insert), refs]);
}

function generate(rng: Rng, corpus: readonly HpackInput[]): HpackInput {
  const base: HpackInput = { blocks: [], maxTableSize: rng.pick(TABLE_SIZES), maxHeaderListSize: rng.pick(LIST_SIZES) };
  const r = rng.int(100);
  if (r < 5) return rng.pick(corpus);
  if (r < 45) return validSequence(rng, base);
  if (r < 70) {
    const valid = validSequence(rng, base);
    const i = rng.int(valid.blocks.length);
    const blocks = valid.blocks.slice();
    blocks[i] = mutate(rng, blocks[i], { corpus: corpus.flatMap((c) => c.blocks), maxLength: 64 * 1024 });
    return { ...base, blocks };
  }
  if (r < 92) {
    return {
      ...base,
      blocks: Array.from({ length: rng.range(1, 4) }, () => handMadeBlock(rng, base.maxTableSize)),
    };
  }
  if (r < 95) return { ...base, blocks: [bomb(rng)] };
  return { ...base, blocks: [rng.bytes(rng.small(200))] };
}

/** Goes through every input of the run, so its table holds what earlier inputs left. */
const LONG_LIVED_LIMITS: HpackInput = { blocks: [], maxTableSize: 4096, maxHeaderListSize: 1 << 20 };
const longLived = new HpackDecoder(LONG_LIVED_LIMITS);

const listSize = (list: readonly HeaderField[]) =>
  list.reduce((n, f) => n + f.name.length + f.value.length + ENTRY_OVERHEAD, 0);
const same = (a: readonly HeaderField[], b: readonly HeaderField[]) =>
  a.length === b.length && a.every((f, i) => f.name === b[i].name && f.value === b[i].value);

/** Decodes one block; returns the list, or the HpackError (anything else is thrown on). */
function decodeOne(decoder: HpackDecoder, block: Uint8Array): HeaderField[] | HpackError {
  try {
    return decoder.decode(block);
  } catch (err) {
    if (err instanceof HpackError) return err;
    throw err;
  }
}

/** The invariants of any decoded block; null or what broke. */
function checkAny(decoder: HpackDecoder, got: HeaderField[] | HpackError, input: HpackInput): string | null {
  if (decoder.tableSize > decoder.tableMaxSize || decoder.tableMaxSize > input.maxTableSize) {
    return `table of ${decoder.tableSize} octets, maximum ${decoder.tableMaxSize}, limit ${input.maxTableSize}`;
  }
  if (got instanceof HpackError) {
    return got.kind === "compression" || got.kind === "too-large" ? null : `kind ${got.kind}`;
  }
  if (listSize(got) > input.maxHeaderListSize) return `a list of ${listSize(got)} octets came through`;
  return null;
}

function checkValid(input: HpackInput, expect: NonNullable<HpackInput["expect"]>): string | null {
  const decoder = new HpackDecoder({ maxTableSize: input.maxTableSize, maxHeaderListSize: input.maxHeaderListSize });
  let outcome = "built valid: ok";
  for (let i = 0; i < input.blocks.length; i++) {
    const got = decodeOne(decoder, input.blocks[i]);
    const overLimit = listSize(expect.lists[i]) > input.maxHeaderListSize;
    if (got instanceof HpackError) outcome = `built valid: ${got.kind} (then in step)`;
    if (overLimit && !(got instanceof HpackError && got.kind === "too-large")) {
      return `block ${i}: a list over the limit gave ${got instanceof HpackError ? got.message : "no error"}`;
    }
    if (!overLimit && (got instanceof HpackError || !same(got, expect.lists[i]))) {
      return `block ${i} built valid decoded as ${got instanceof HpackError ? got.message : JSON.stringify(got)}`;
    }
    // A decoder allowed more than the encoder uses may keep entries the encoder evicted;
    // what matters is that every entry the encoder can name is the same at the same index.
    if (!same(decoder.tableEntries().slice(0, expect.tables[i].length), expect.tables[i])) {
      return `block ${i}: the decoder's table differs from the encoder's`;
    }
  }
  tally(outcome);
  return null;
}

export const hpack: Target<HpackInput> = {
  name: "hpack",
  ciCount: 20_000,
  corpus: () => [
    { blocks: [Uint8Array.of(0x82, 0x86, 0x84)], maxTableSize: 4096, maxHeaderListSize: 65536 },
    { blocks: [Uint8Array.of(0x20, 0x3f, 0xe1, 0x1f, 0x82)], maxTableSize: 4096, maxHeaderListSize: 65536 },
    {
      blocks: [Uint8Array.of(0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f, 0x01, 0x31, 0xbe)],
      maxTableSize: 256,
      maxHeaderListSize: 65536,
    },
  ],
  generate,
  check(input) {
    const limits = { maxTableSize: input.maxTableSize, maxHeaderListSize: input.maxHeaderListSize };
    // A sequence built valid goes through a fresh decoder in checkValid; anything else here.
    const runs: [string, HpackDecoder, HpackInput][] = [["long-lived", longLived, LONG_LIVED_LIMITS]];
    if (input.expect) {
      const broke = checkValid(input, input.expect);
      if (broke) return broke;
    } else runs.push(["fresh", new HpackDecoder(limits), input]);
    for (const [name, decoder, bounds] of runs) {
      let outcome = "ok";
      for (let i = 0; i < input.blocks.length; i++) {
        const got = decodeOne(decoder, input.blocks[i]);
        if (got instanceof HpackError && outcome === "ok") outcome = got.message.replace(/\d+/g, "N");
        const broke = checkAny(decoder, got, bounds);
        if (broke) return `${name} decoder, block ${i}: ${broke}`;
      }
      // The first error of each input (what later blocks meet depends on it).
      if (name === "fresh") tally(outcome);
    }
    return null;
  },
  show: (input) =>
    `maxTableSize ${input.maxTableSize}, maxHeaderListSize ${input.maxHeaderListSize}` +
    (input.expect ? ", built valid" : "") +
    input.blocks.map((b, i) => `\n  block ${i}: hex ${hex(b)}`).join("") +
    "\n  (the long-lived decoder's table depends on the inputs before this one)",
};
