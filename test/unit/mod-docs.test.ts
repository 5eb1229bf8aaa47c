/**
 * Everything mod.ts exports carries a JSDoc block with an `@example` at its definition,
 * as Deno std documents `async/deadline.ts`. The sources are read as text: a re-export
 * (`export { X } from`, `export type * from`, `import { X }` then `export { X }`) is
 * followed to the file that declares the name.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const DECLARATION = String.raw`^export (?:declare )?(?:async )?(?:function\*?|class|interface|type|const|let|enum) `;

function read(url: URL): string {
  return readFileSync(url, "utf8");
}

/** The names inside `{ ... }`, without `type ` prefixes (`A as B` counts as B). */
function names(list: string): string[] {
  return list.split(",").map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!).filter(Boolean);
}

/** The `/** ... *\/` block right before `at`, or null. */
function docBefore(text: string, at: number): string | null {
  const before = text.slice(0, at).trimEnd();
  if (!before.endsWith("*/")) return null;
  const start = before.lastIndexOf("/**");
  return start < 0 ? null : before.slice(start);
}

/** The doc block at the declaration of `name`, following re-exports from `url`. */
function docOf(url: URL, name: string, depth = 0): string | null {
  if (depth > 5) return null;
  const text = read(url);
  const declared = new RegExp(DECLARATION + name + String.raw`\b`, "m").exec(text);
  if (declared) return docBefore(text, declared.index);
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/gm)) {
    if (names(m[1]).includes(name)) return docOf(new URL(m[2], url), name, depth + 1);
  }
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*;/gm)) {
    if (!names(m[1]).includes(name)) continue;
    for (const i of text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/gm)) {
      if (names(i[1]).includes(name)) return docOf(new URL(i[2], url), name, depth + 1);
    }
  }
  return null;
}

/** Every name mod.ts exports, with the file to look for it in. */
function modExports(): Array<{ name: string; from: URL }> {
  const mod = new URL("../../mod.ts", import.meta.url);
  const text = read(mod);
  const out: Array<{ name: string; from: URL }> = [];
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/gm)) {
    for (const name of names(m[1])) out.push({ name, from: new URL(m[2], mod) });
  }
  // `export type *` re-exports the file's types; its values become types only, so they are not API.
  for (const m of text.matchAll(/^export\s+type\s+\*\s+from\s*"([^"]+)"/gm)) {
    const from = new URL(m[1], mod);
    for (const d of read(from).matchAll(/^export (?:declare )?(?:async )?(?:function|class|interface|type) (\w+)/gm)) {
      out.push({ name: d[1], from });
    }
  }
  for (const m of text.matchAll(new RegExp(DECLARATION + String.raw`(\w+)`, "gm"))) {
    out.push({ name: m[1], from: mod });
  }
  return out;
}

describe("mod.ts documentation", () => {
  it("finds the exports of mod.ts, types and functions alike", () => {
    const found = modExports().map((e) => e.name);
    for (const name of ["startVane", "createVane", "loadConfigText", "Config", "Vane"]) expect(found).toContain(name);
  });

  it("documents every export of mod.ts with a JSDoc block that has an @example", () => {
    const missing = modExports()
      .filter(({ name, from }) => !docOf(from, name)?.includes("@example"))
      .map(({ name, from }) => `${name} (${from.pathname.replace(/.*\/(src\/|mod\.ts)/, "$1")})`);
    expect(missing).toEqual([]);
  });
});
