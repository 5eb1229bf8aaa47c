/**
 * Fails on any import cycle in src/: between files, and between folders (src/http and
 * src/flow importing each other is a cycle even when no two files do). Type-only
 * imports count: they tie the files together for a reader just the same. Run with
 * `bun scripts/check-cycles.ts [DIR]` (or Deno); exits 1 and names every cycle.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const IMPORT = /^\s*(?:import|export)\s(?:[^"';]*?\sfrom\s)?["'](\.{1,2}\/[^"']+)["']/gm;

/** Every .ts file under `dir` (declaration files included: they are imported too). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** file -> the files of `root` it imports (relative specifiers only). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(root)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1]));
    graph.set(relative(root, file), targets.filter((t) => t.startsWith(root)).map((t) => relative(root, t)));
  }
  return graph;
}

/** The folder a file of `root` belongs to ("." for the top). */
const folderOf = (file: string) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : ".");

/** Tarjan's strongly connected components with more than one node, or a node importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The folder graph: an edge for every import that crosses from one folder to another. */
export function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const from = folderOf(file);
    const set = folders.get(from) ?? new Set<string>();
    folders.set(from, set);
    // The top of src/ (main.ts, version.ts) is the root: imports from it go down only.
    for (const t of targets) if (folderOf(t) !== from && from !== ".") set.add(folderOf(t));
  }
  return new Map([...folders].map(([k, v]) => [k, [...v]]));
}

/** Which files tie folder `a` to folder `b` (for the message). */
function culprits(files: Map<string, string[]>, a: string, b: string): string[] {
  const out: string[] = [];
  for (const [file, targets] of files) {
    if (folderOf(file) !== a) continue;
    for (const t of targets) if (folderOf(t) === b) out.push(`${file} -> ${t}`);
  }
  return out;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? "src");
  const files = importGraph(root);
  const fileCycles = cycles(files);
  const folderCycles = cycles(folderGraph(files));
  for (const c of fileCycles) console.error(`import cycle between files: ${c.join(" <-> ")}`);
  for (const c of folderCycles) {
    console.error(`import cycle between folders: ${c.join(" <-> ")}`);
    for (const a of c) {
      for (const b of c) if (a !== b) { for (const line of culprits(files, a, b)) console.error(`  ${line}`); }
    }
  }
  const n = fileCycles.length + folderCycles.length;
  console.log(
    `check-cycles: ${files.size} files in ${relative(process.cwd(), root) || "."}: ${
      n === 0 ? "no import cycle" : `${n} cycle(s)`
    }`,
  );
  process.exit(n === 0 ? 0 : 1);
}
