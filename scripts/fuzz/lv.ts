/**
 * Length-prefixed structures (TLS vectors, PROXY v2 TLVs) as trees, so a generator
 * can build a valid message with every length right, and then make exactly one length
 * lie: the field-level mutation that finds missed bounds checks.
 */
import { concat } from "./bytes.ts";
import { INTERESTING_U16 } from "./mutate.ts";
import type { Rng } from "./rng.ts";

export type Part = Uint8Array | Block;

export interface Block {
  /** Bytes of the big-endian length prefix (1, 2 or 3). */
  size: 1 | 2 | 3;
  parts: Part[];
  /** Written instead of the true length when set. */
  lie?: number;
}

export function block(size: 1 | 2 | 3, parts: Part[]): Block {
  return { size, parts };
}

function isBlock(p: Part): p is Block {
  return !(p instanceof Uint8Array);
}

export function serialize(p: Part): Uint8Array {
  if (!isBlock(p)) return p;
  const body = concat(p.parts.map(serialize));
  const n = p.lie ?? body.length;
  const head = new Uint8Array(p.size);
  for (let i = 0; i < p.size; i++) head[i] = (n >>> (8 * (p.size - 1 - i))) & 0xff;
  return concat([head, body]);
}

/** Every block in the tree, the root included. */
export function blocks(p: Part, out: Block[] = []): Block[] {
  if (isBlock(p)) {
    out.push(p);
    for (const c of p.parts) blocks(c, out);
  }
  return out;
}

function trueLength(b: Block): number {
  let n = 0;
  for (const p of b.parts) n += serialize(p).length;
  return n;
}

/** Makes one block of `roots` lie about its length: off by a little, zero, or a boundary value. */
export function lieAboutOneLength(rng: Rng, roots: Part[]): void {
  const all = roots.flatMap((r) => blocks(r));
  if (all.length === 0) return;
  const b = rng.pick(all);
  const real = trueLength(b);
  const max = 2 ** (8 * b.size) - 1;
  const choice = rng.int(4);
  const v = choice === 0 ? real + rng.range(-3, 3) : choice === 1 ? 0 : choice === 2 ? max : rng.pick(INTERESTING_U16);
  b.lie = Math.max(0, Math.min(max, v));
}
