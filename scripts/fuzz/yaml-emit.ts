/**
 * A small YAML writer for generated configs that varies the style as it goes: block or
 * flow collections, plain, single- or double-quoted scalars, so the loader sees the
 * spellings operators use, not one printer's.
 */
import type { Rng } from "./rng.ts";

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

const PLAIN_RE = /^[A-Za-z0-9_/][A-Za-z0-9_./@+=-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|[-+]?[0-9].*|\.inf|\.nan)$/i;

function scalar(rng: Rng, v: string | number | boolean | null): string {
  if (v === null) return rng.pick(["", "~", "null"]);
  if (typeof v !== "string") return String(v);
  const plainOk = PLAIN_RE.test(v) && !RESERVED.test(v);
  const r = rng.int(10);
  if (plainOk && r < 7) return v;
  // Control characters and lone surrogates only survive in double quotes.
  // deno-lint-ignore no-control-regex
  if (r < 9 || /[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]/.test(v)) return JSON.stringify(v);
  return `'${v.replace(/'/g, "''")}'`;
}

function isCollection(v: Value): v is Value[] | { [key: string]: Value } {
  return v !== null && typeof v === "object";
}

function key(k: string): string {
  return PLAIN_RE.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

/** Flow style: `{a: 1, b: [x, y]}`. */
export function emitFlow(rng: Rng, v: Value): string {
  if (Array.isArray(v)) return `[${v.map((x) => emitFlow(rng, x)).join(", ")}]`;
  if (isCollection(v)) {
    return `{ ${Object.entries(v).map(([k, x]) => `${key(k)}: ${emitFlow(rng, x)}`).join(", ")} }`;
  }
  return scalar(rng, v);
}

/** Block style lines at `indent`, collections switching to flow style now and then. */
export function emitBlock(rng: Rng, v: Value, indent: number): string[] {
  const pad = " ".repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${pad}[]`];
    const lines: string[] = [];
    for (const item of v) {
      if (isCollection(item) && !rng.chance(0.15) && Object.keys(item).length > 0) {
        const inner = emitBlock(rng, item, indent + 2);
        inner[0] = `${pad}- ${inner[0].slice(indent + 2)}`;
        lines.push(...inner);
      } else lines.push(`${pad}- ${emitFlow(rng, item)}`);
    }
    return lines;
  }
  if (isCollection(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return [`${pad}{}`];
    const lines: string[] = [];
    for (const [k, x] of entries) {
      if (isCollection(x) && !rng.chance(0.3) && (Array.isArray(x) ? x.length : Object.keys(x).length) > 0) {
        lines.push(`${pad}${key(k)}:`);
        // Lists under a key may sit at the key's own indent, as many files have them.
        lines.push(...emitBlock(rng, x, Array.isArray(x) && rng.chance(0.3) ? indent : indent + 2));
      } else {
        const s = emitFlow(rng, x);
        lines.push(s === "" ? `${pad}${key(k)}:` : `${pad}${key(k)}: ${s}`);
      }
    }
    return lines;
  }
  return [pad + scalar(rng, v)];
}

export function emitDocument(rng: Rng, v: Value): string {
  const lines = emitBlock(rng, v, 0);
  if (rng.chance(0.1)) lines.unshift(rng.pick(["# generated", "---", "%YAML 1.2\n---"]));
  return lines.join("\n") + (rng.chance(0.9) ? "\n" : "");
}
