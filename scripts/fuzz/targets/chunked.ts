/**
 * ChunkedDecoder (src/http/framing.ts). Inputs are chunked bodies built chunk by
 * chunk (sizes in either case with leading zeros up to and past 16 digits, chunk
 * extensions with and without BWS, up to and past the 1 KiB bound, data holding CRLF,
 * trailers up to and past 8 KiB, odd line ends, a pipelined request after the end),
 * then byte mutations. Each input is decoded whole and again split into random pieces
 * (empty ones included): done, error, data bytes and rest must agree. A body built
 * valid must decode to exactly the data it was built from.
 */
import { ChunkedDecoder } from "../../../src/http/framing.ts";
import { concat, equalBytes, hex, latin1, latin1Json, randomSplit } from "../bytes.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";

/** An input with, when it was built valid, what it must decode to. */
export interface ChunkedInput {
  bytes: Uint8Array;
  expect?: { data: Uint8Array; rest: Uint8Array };
}

const SEEDS = [
  "0\r\n\r\n",
  "5\r\nhello\r\n0\r\n\r\n",
  "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  "A\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1\r\n",
  "0000000000000005\r\nhello\r\n0\r\n\r\n",
  "5 ;ext\r\nhello\r\n0;last\r\nX: 1\r\nY: 2\r\n\r\n",
  "ffffffffffffffff\r\n",
  "5\r\nhello\n0\r\n\r\n",
];

const EXTENSIONS = [";a=b", ";name", ';q="quoted; \\" value"', ";a=b;c=d", ";", ";\t", ";é\x80"];
const ODD_EXTENSIONS = [" ;x", "\t;x", " ", "x", ";a\x00", ";a\nb", ";a\x7f", "  \t ;x", " x"];
const TRAILERS = ["Trailer: x", "X-Checksum: abc", "Expires: 0", "a:b", ":", "x", "\tfolded", "é\x80"];

function sizeText(rng: Rng, size: number): { text: string; valid: boolean } {
  let text = size.toString(16);
  if (rng.chance(0.3)) text = text.toUpperCase();
  let valid = true;
  if (rng.chance(0.05)) {
    const total = rng.pick([15, 16, 16, 17, 18]);
    if (total > text.length) text = "0".repeat(total - text.length) + text;
    valid = text.length <= 16;
  }
  return { text, valid };
}

function extension(rng: Rng): { text: string; valid: boolean } {
  const r = rng.int(100);
  if (r < 80) return { text: "", valid: true };
  if (r < 93) return { text: rng.pick(EXTENSIONS), valid: true };
  if (r < 96) {
    const n = rng.pick([1020, 1022, 1023, 1024, 1025, 1026]);
    return { text: ";" + "e".repeat(n - 1), valid: n <= 1024 };
  }
  return { text: rng.pick(ODD_EXTENSIONS), valid: false };
}

function chunkSize(rng: Rng): number {
  const r = rng.int(100);
  if (r < 60) return rng.range(1, 16);
  if (r < 85) return rng.range(17, 300);
  if (r < 98) return rng.range(300, 5000);
  return rng.range(5000, 70000);
}

function crlf(rng: Rng): { text: string; valid: boolean } {
  if (rng.chance(0.98)) return { text: "\r\n", valid: true };
  return { text: rng.pick(["\n", "\r", "", "\r\r\n", "\n\r", " \r\n"]), valid: false };
}

export function buildChunked(rng: Rng): ChunkedInput {
  const parts: string[] = [];
  const data: string[] = [];
  let valid = true;
  const add = (piece: { text: string; valid: boolean }) => {
    parts.push(piece.text);
    valid &&= piece.valid;
  };
  const chunks = rng.small(8);
  for (let c = 0; c < chunks; c++) {
    const size = chunkSize(rng);
    add(sizeText(rng, size));
    add(extension(rng));
    add(crlf(rng));
    let body = "";
    for (let i = 0; i < size; i++) body += rng.chance(0.05) ? rng.pick(["\r", "\n", "0", "\x00"]) : "d";
    // A chunk whose data is a byte short or long shifts every line after it.
    if (rng.chance(0.01)) {
      body = rng.chance(0.5) ? body.slice(1) : body + "x";
      valid = false;
    }
    parts.push(body);
    data.push(body);
    add(crlf(rng));
  }
  add(sizeText(rng, 0));
  add(extension(rng));
  add(crlf(rng));
  let trailerBytes = 0;
  const trailers = rng.chance(0.8) ? 0 : rng.small(5);
  for (let t = 0; t < trailers; t++) {
    const line = rng.chance(0.97) ? rng.pick(TRAILERS) : "T: " + "t".repeat(rng.pick([4000, 8100, 8200]));
    trailerBytes += line.length + 1; // the decoder counts the CR too
    parts.push(line);
    add(crlf(rng));
  }
  if (trailerBytes > 8192) valid = false;
  add(crlf(rng));
  const rest = rng.chance(0.7) ? "" : rng.pick(["GET /next HTTP/1.1\r\nHost: a\r\n\r\n", "x", "\r\n", "0\r\n\r\n"]);
  parts.push(rest);
  const bytes = latin1(parts.join(""));
  return { bytes, expect: valid ? { data: latin1(data.join("")), rest: latin1(rest) } : undefined };
}

interface Decoded {
  done: boolean;
  error: string | null;
  data: Uint8Array;
  rest: Uint8Array;
}

function decode(pieces: Uint8Array[]): Decoded {
  const d = new ChunkedDecoder();
  const data: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  for (const p of pieces) {
    for (const out of d.push(p)) data.push(out);
    // After the end, every push hands its bytes (or the rest of them) back as `rest`.
    if (d.done && d.rest !== null) rest.push(d.rest);
  }
  return { done: d.done, error: d.error, data: concat(data), rest: concat(rest) };
}

/** `buf` in random pieces (byte by byte sometimes, up to 64 bytes long). */
function split(rng: Rng, buf: Uint8Array): Uint8Array[] {
  return randomSplit(rng, buf, 64);
}

function describe(d: Decoded): string {
  return `done ${d.done}, error ${JSON.stringify(d.error)}, ${d.data.length} data bytes, ${d.rest.length} rest bytes`;
}

export const chunked: Target<ChunkedInput> = {
  name: "chunked",
  ciCount: 30_000,
  corpus: () => SEEDS.map((s) => ({ bytes: latin1(s) })),
  generate(rng, corpus) {
    const r = rng.int(100);
    if (r < 5) return rng.pick(corpus);
    if (r < 55) return buildChunked(rng);
    if (r < 97) {
      const base = rng.chance(0.85) ? buildChunked(rng).bytes : rng.pick(corpus).bytes;
      return { bytes: mutate(rng, base, { corpus: corpus.map((c) => c.bytes), maxLength: 160 * 1024 }) };
    }
    return { bytes: rng.bytes(rng.small(256)) };
  },
  check(input, rng) {
    const whole = decode([input.bytes]);
    tally(
      whole.error !== null
        ? `error: ${whole.error}`
        : whole.done
        ? (input.expect ? "done (built valid)" : "done")
        : "need-more",
    );
    if (whole.done && whole.error !== null) return `done and error at once: ${describe(whole)}`;
    if (whole.data.length + whole.rest.length > input.bytes.length) return `more bytes out than in: ${describe(whole)}`;
    const pieces = split(rng, input.bytes);
    const parts = decode(pieces);
    if (
      parts.done !== whole.done || parts.error !== whole.error || !equalBytes(parts.data, whole.data) ||
      !equalBytes(parts.rest, whole.rest)
    ) {
      return `split into ${pieces.map((p) => p.length).join("+")} bytes: ${describe(parts)}; whole: ${describe(whole)}`;
    }
    const e = input.expect;
    if (e && (!whole.done || !equalBytes(whole.data, e.data) || !equalBytes(whole.rest, e.rest))) {
      return `a valid body decoded as ${
        describe(whole)
      }; built with ${e.data.length} data and ${e.rest.length} rest bytes`;
    }
    return null;
  },
  show: (input) =>
    `hex ${hex(input.bytes)}\n  latin1 ${latin1Json(input.bytes)}` +
    (input.expect ? `\n  built valid: ${input.expect.data.length} data bytes` : ""),
};
