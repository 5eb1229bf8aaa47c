/**
 * HPACK micro-benchmark: what decoding (and encoding) a typical request's header block
 * costs, so a change to src/http2/ can be judged in ns per header.
 *
 * "warm" is the steady state of a connection: browser-like requests of 10 fields whose
 * path (and one id) change per request, so each block is mostly indexes into the dynamic
 * table plus a Huffman-coded literal or two. "cold" is the first request of a connection:
 * every field a Huffman-coded literal.
 *
 *   bun scripts/bench/hpack.ts [BLOCKS]
 *   deno run --allow-all scripts/bench/hpack.ts [BLOCKS]
 */
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../src/http2/hpack.ts";

const BLOCKS = Number((globalThis as { process?: { argv: string[] } }).process?.argv[2] ?? 200_000);
const WARMUP = 20_000;

function request(i: number): HeaderField[] {
  return [
    { name: ":method", value: "GET" },
    { name: ":scheme", value: "https" },
    { name: ":authority", value: "shop.example.com" },
    { name: ":path", value: `/api/v1/items?page=${i % 50}&sort=price` },
    { name: "user-agent", value: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" },
    { name: "accept", value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    { name: "accept-encoding", value: "gzip, deflate, br, zstd" },
    { name: "accept-language", value: "en-US,en;q=0.5" },
    { name: "cookie", value: "session=6f1c2b0e9d8a47c3b5e2a1f0c9d8e7b6; theme=dark" },
    { name: "x-request-id", value: `req-${(i * 2654435761) >>> 0}` },
  ];
}

const FIELDS = request(0).length;

function measure(label: string, n: number, run: (i: number) => void): void {
  for (let i = 0; i < Math.min(WARMUP, n); i++) run(i);
  const start = performance.now();
  for (let i = 0; i < n; i++) run(i);
  const ms = performance.now() - start;
  const ops = (n / ms) * 1000;
  const nsPerHeader = (ms * 1e6) / (n * FIELDS);
  console.log(
    `${label.padEnd(40)} ${Math.round(ops).toLocaleString("en-US").padStart(10)} blocks/s  ${
      nsPerHeader.toFixed(1).padStart(7)
    } ns/header`,
  );
}

const runtime = (globalThis as { Bun?: { version: string } }).Bun
  ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
console.log(`hpack bench on ${runtime}: ${BLOCKS} blocks of ${FIELDS} fields`);

// One connection's worth of blocks, made by our encoder, decoded in order by one decoder.
const encoder = new HpackEncoder();
const blocks = Array.from({ length: WARMUP + BLOCKS }, (_, i) => encoder.encode(request(i)));
const sizes = blocks.slice(WARMUP).reduce((n, b) => n + b.length, 0) / BLOCKS;
console.log(`warm block: ${sizes.toFixed(1)} octets on average; cold block: ${blocks[0].length} octets`);

let decoder = new HpackDecoder();
let at = 0;
measure("decode, warm table", BLOCKS, () => decoder.decode(blocks[at++]));

// The same first block again and again: each time a new connection's decoder.
const cold = blocks[0];
measure("decode, cold (new decoder each block)", BLOCKS, () => {
  decoder = new HpackDecoder();
  decoder.decode(cold);
});

const warmEncoder = new HpackEncoder();
measure("encode, warm table", BLOCKS, (i) => warmEncoder.encode(request(i)));
