/**
 * Lists the functions in src/ longer than a bound (80 lines unless told), longest
 * first, as `file:line  lines  name`. Issue 19 asks that none be over ~80 lines unless
 * its note says why. It reads the layout `deno fmt` gives the code rather than parsing
 * it: a function starts on a line that declares one and ends at the next `}` at the
 * same indent. Nested functions are listed on their own and within their parent.
 * Run with `deno run -A scripts/long-functions.ts [DIR] [MAX]` (or Bun). It exits 1
 * when a function not in `ALLOWED` is over the bound, so the gate (scripts/lint) fails
 * on a new long function.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/** Long functions the gate lets pass, as `file name`. Keep it empty. */
export const ALLOWED: ReadonlySet<string> = new Set<string>([
  // "src/FILE.ts NAME" of a function allowed over the bound; none today.
]);

export interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

const KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "return", "function", "await", "new", "typeof"]);
/** `function f(`, `export async function* f<T>(`. */
const DECLARATION = /^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s*([\w$]*)\s*[<(]/;
/** `const f = (…) => {`, `const f = async function (`, `name: (…) => {`, `#field = (x) => {`. */
const ASSIGNED =
  /^(?:export\s+)?(?:(?:const|let|var)\s+)?(#?[\w$]+)\s*(?::[^=]*)?[:=]\s*(?:async\s+)?(?:function\b|\(|[\w$]+\s*=>)/;
/** A method or an object literal's method: `async get(key) {`, `static build<T>(`. */
const METHOD = /^(?:(?:static|async|get|set|private|public|protected|readonly|override)\s+)*\*?(#?[\w$]+)\s*[<(]/;

const indentOf = (line: string) => line.length - line.trimStart().length;

/** The name a line starts a function with, or null. */
function functionStart(text: string): string | null {
  const declared = DECLARATION.exec(text);
  if (declared) return declared[1] || "(anonymous)";
  const assigned = ASSIGNED.exec(text);
  if (assigned) return assigned[1];
  const method = METHOD.exec(text);
  if (method && !KEYWORDS.has(method[1])) return method[1];
  return null;
}

/** The functions of one file's text longer than `max` lines. */
export function longFunctions(file: string, source: string, max: number): LongFunction[] {
  const lines = source.split("\n");
  const out: LongFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    const name = functionStart(text);
    if (name === null) continue;
    const indent = indentOf(lines[i]);
    // The body opens where the signature ends: on this line, or on the `) {` line that
    // closes a signature spread over several lines at this indent.
    let open = i;
    if (!text.endsWith("{")) {
      open = i + 1;
      while (open < lines.length && lines[open].trim() !== "" && indentOf(lines[open]) > indent) open++;
      if (open >= lines.length || indentOf(lines[open]) !== indent || !lines[open].trimStart().startsWith(")")) {
        continue;
      }
    }
    const opener = lines[open].trimEnd();
    if (!opener.endsWith("{")) continue;
    // A method's signature ends in `) {` or `): Type {`; a call ending in `, {` is no function.
    if (!DECLARATION.test(text) && !ASSIGNED.test(text) && !/\)(?:\s*:\s*.+)?\s*\{$/.test(opener)) continue;
    if (
      ASSIGNED.test(text) && !DECLARATION.test(text) && !/(=>|\bfunction\b.*\)|\))(?:\s*:\s*.+)?\s*\{$/.test(opener)
    ) continue;
    let end = open + 1;
    while (end < lines.length && !(indentOf(lines[end]) === indent && lines[end].trimStart().startsWith("}"))) end++;
    if (end >= lines.length) continue;
    const length = end - i + 1;
    if (length > max) out.push({ file, line: i + 1, name, lines: length });
  }
  return out;
}

/** Whether `ALLOWED` lets this one pass. */
export function isAllowed(f: LongFunction): boolean {
  return ALLOWED.has(`${f.file.replaceAll("\\", "/")} ${f.name}`);
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? "src");
  const max = Number(process.argv[3] ?? 80);
  const found = sources(root)
    .flatMap((path) => longFunctions(relative(process.cwd(), path), readFileSync(path, "utf8"), max))
    .sort((a, b) => b.lines - a.lines);
  for (const f of found) {
    const note = isAllowed(f) ? "  (allowed)" : "";
    console.log(`${`${f.file}:${f.line}`.padEnd(36)} ${String(f.lines).padStart(4)}  ${f.name}${note}`);
  }
  const failing = found.filter((f) => !isAllowed(f)).length;
  console.log(
    `long-functions: ${found.length} function(s) over ${max} lines in ${relative(process.cwd(), root) || "."}` +
      `, ${failing} not allowed`,
  );
  if (failing > 0) process.exit(1);
}
