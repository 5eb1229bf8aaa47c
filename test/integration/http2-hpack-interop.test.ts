/**
 * vane's HPACK against another implementation: Debian's python3-hpack (python3-h2's
 * codec). Python decodes the blocks vane's encoder made, and encodes header lists that
 * vane's decoder must read, a few hundred random lists each way on one connection-long
 * table, with table size changes; both sides' dynamic tables are compared after each block.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../src/http2/hpack.ts";
import { runCommand } from "../helpers/command.ts";
import { plain, random, randomHeaderList } from "../helpers/hpack-lists.ts";

const LISTS = 300;
const SEED = 9113;
const TABLE_SIZES = [0, 100, 256, 1024, 4096, 8192];

/**
 * Reads {decode: [{maxTable, block}], encode: [{tableSize, huffman, headers}]} from the
 * file named in argv[1]; prints {decoded: [{headers, table} | {error}], encoded: [{block, table}]}.
 * Strings are latin1 both ways; a header is [name, value, sensitive].
 */
const PYTHON = `
import json, sys
from hpack import Decoder, Encoder, HeaderTuple, NeverIndexedHeaderTuple
job = json.load(open(sys.argv[1]))
b = lambda s: s.encode("latin-1")
s = lambda x: bytes(x).decode("latin-1")  # the decoder keeps memoryviews
table = lambda t: [[s(n), s(v)] for n, v in t.header_table.dynamic_entries]
dec = Decoder(max_header_list_size=1 << 24)
decoded = []
for step in job["decode"]:
    if step["maxTable"] is not None:
        dec.max_allowed_table_size = step["maxTable"]
    try:
        hs = dec.decode(bytes.fromhex(step["block"]), raw=True)
        decoded.append({"headers": [[s(h[0]), s(h[1]), not h.indexable] for h in hs], "table": table(dec)})
    except Exception as e:
        decoded.append({"error": type(e).__name__ + ": " + str(e)})
enc = Encoder()
encoded = []
for step in job["encode"]:
    if step["tableSize"] is not None:
        enc.header_table_size = step["tableSize"]
    hs = [(NeverIndexedHeaderTuple if x[2] else HeaderTuple)(b(x[0]), b(x[1])) for x in step["headers"]]
    encoded.append({"block": enc.encode(hs, huffman=step["huffman"]).hex(), "table": table(enc)})
json.dump({"decoded": decoded, "encoded": encoded}, sys.stdout)
`;

type Wire = [name: string, value: string, sensitive: boolean];
interface PythonAnswer {
  decoded: ({ headers: Wire[]; table: [string, string][] } | { error: string })[];
  encoded: { block: string; table: [string, string][] }[];
}

const dir = mkdtempSync(join(tmpdir(), "vane-hpack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Debian's python3 (the one python3-hpack installs into); pyenv's or another may lack it. */
async function pythonWithHpack(): Promise<string> {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    const r = await runCommand(candidate, ["-c", "import hpack"]).catch(() => null);
    if (r?.code === 0) return candidate;
  }
  throw new Error("no python3 with the hpack module: apt-get install -y python3-h2");
}

async function runPython(job: unknown): Promise<PythonAnswer> {
  const file = join(dir, "job.json");
  writeFileSync(file, JSON.stringify(job));
  const r = await runCommand(await pythonWithHpack(), ["-c", PYTHON, file]);
  if (r.code !== 0) throw new Error(`python exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const pairs = (t: HeaderField[]) => t.map((f) => [f.name, f.value]);

describe("HPACK interop with python3-hpack", () => {
  it("has python decode 300 random header blocks vane encoded, tables in step", async () => {
    const next = random(SEED);
    const seen: HeaderField[] = [];
    const encoder = new HpackEncoder();
    const steps: { maxTable: number | null; block: string }[] = [];
    const expected: { list: HeaderField[]; table: HeaderField[] }[] = [];
    for (let i = 0; i < LISTS; i++) {
      let maxTable: number | null = null;
      if (next() < 0.05) encoder.setPeerMaxTableSize(maxTable = TABLE_SIZES[Math.floor(next() * TABLE_SIZES.length)]);
      const list = randomHeaderList(next, seen);
      steps.push({ maxTable, block: hex(encoder.encode(list)) });
      expected.push({ list, table: encoder.tableEntries() });
    }
    const answer = await runPython({ decode: steps, encode: [] });
    expect(answer.decoded.length).toBe(LISTS);
    answer.decoded.forEach((got, i) => {
      if ("error" in got) throw new Error(`python could not decode block ${i} (${steps[i].block}): ${got.error}`);
      expect(got.headers.map(([n, v]) => [n, v]), `block ${i}`).toEqual(plain(expected[i].list));
      expected[i].list.forEach((f, k) => {
        if (f.sensitive) expect(got.headers[k][2], `block ${i} field ${k} never indexed`).toBe(true);
      });
      expect(got.table, `table after block ${i}`).toEqual(pairs(expected[i].table));
    });
  });

  it("decodes 300 random header blocks python encoded, tables in step", async () => {
    const next = random(SEED + 1);
    const seen: HeaderField[] = [];
    const steps: { tableSize: number | null; huffman: boolean; headers: Wire[] }[] = [];
    for (let i = 0; i < LISTS; i++) {
      const tableSize = next() < 0.05 ? TABLE_SIZES[Math.floor(next() * 5)] : null; // at most our 4096
      const headers = randomHeaderList(next, seen).map((f): Wire => [f.name, f.value, f.sensitive === true]);
      steps.push({ tableSize, huffman: next() < 0.7, headers });
    }
    const answer = await runPython({ decode: [], encode: steps });
    expect(answer.encoded.length).toBe(LISTS);
    const decoder = new HpackDecoder({ maxHeaderListSize: 1 << 24 });
    answer.encoded.forEach((got, i) => {
      const list = decoder.decode(bytes(got.block));
      expect(list.map((f): Wire => [f.name, f.value, f.sensitive === true]), `block ${i}`).toEqual(steps[i].headers);
      expect(pairs(decoder.tableEntries()), `table after block ${i}`).toEqual(got.table);
    });
  });
});
