/**
 * Random header lists for the HPACK round-trip and interop tests: names from the static
 * table, common custom names and random latin1 bytes (0x80-0xff included), values that
 * repeat (so the dynamic table gets hits) or not, now and then a credential or a value
 * large enough to go without indexing. Seeded, so a failing list can be replayed.
 */
import type { HeaderField } from "../../src/http2/hpack.ts";
import { STATIC_TABLE } from "../../src/http2/hpack-static.ts";

/** A small seeded generator (mulberry32). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CUSTOM_NAMES = ["x-request-id", "x-forwarded-for", "x-custom", "authorization", "cookie", "te", "grpc-status"];
const COMMON_VALUES = ["", "0", "gzip", "text/html; charset=utf-8", "no-cache", "Mon, 21 Oct 2013 20:13:21 GMT"];

function randomBytes(next: () => number, length: number, high: boolean): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    s += String.fromCharCode(high ? Math.floor(next() * 256) : 0x20 + Math.floor(next() * 95));
  }
  return s;
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)];
}

function randomName(next: () => number): string {
  const r = next();
  if (r < 0.45) return pick(next, STATIC_TABLE)[0];
  if (r < 0.8) return pick(next, CUSTOM_NAMES);
  // Lowercase ASCII or any latin1 byte: HPACK itself takes any octets as a name.
  return next() < 0.5
    ? randomBytes(next, 1 + Math.floor(next() * 12), false).toLowerCase()
    : randomBytes(next, 1 + Math.floor(next() * 12), true);
}

function randomValue(next: () => number): string {
  const r = next();
  if (r < 0.3) return pick(next, COMMON_VALUES);
  if (r < 0.9) return randomBytes(next, Math.floor(next() * 40), next() < 0.3);
  return randomBytes(next, 100 + Math.floor(next() * 1500), next() < 0.5);
}

/** One header list of 0 to 20 fields; about one field in ten repeats an earlier one. */
export function randomHeaderList(next: () => number, seen: HeaderField[]): HeaderField[] {
  const list: HeaderField[] = [];
  const n = Math.floor(next() * 21);
  for (let i = 0; i < n; i++) {
    if (seen.length > 0 && next() < 0.35) {
      list.push({ ...pick(next, seen) });
      continue;
    }
    const field: HeaderField = { name: randomName(next), value: randomValue(next) };
    if (next() < 0.03) field.sensitive = true;
    if (seen.length < 200) seen.push(field);
    list.push(field);
  }
  return list;
}

/** name: value pairs, without the sensitive mark (compared separately where it matters). */
export function plain(fields: readonly HeaderField[]): [string, string][] {
  return fields.map((f) => [f.name, f.value]);
}
