/**
 * `{{ key }}` templates in header values, redirect locations, respond bodies and
 * rate-limit keys. Parsed once into literal and key parts; expanding reads each key
 * (missing -> "", an array -> its elements joined with ",").
 *
 * Header values and locations come out without CR, LF and NUL: a key value is
 * client-controlled (req.path, req.header.*), and a line break in it would let the
 * client add headers of its own. A respond body keeps every character.
 */
import { type KeyReader, keyReader, normalizeKey, type Scope } from "./input.ts";

export interface Template {
  /** The keys it reads, normalised (for needsDetection). */
  readonly keys: readonly string[];
  /** The expansion when the template reads no key, else null. */
  readonly constant: string | null;
  expand(scope: Scope): string;
}

/** `{{`, optional spaces, a key without spaces or braces, optional spaces, `}}`. Anything else stays literal. */
const PLACEHOLDER = /\{\{\s*([^\s{}]+)\s*\}\}/g;
const UNSAFE_IN_HEADER = /[\r\n\0]/g;

export interface TemplateOptions {
  /** Strip CR, LF and NUL from the result (header values, locations). */
  header: boolean;
}

export function compileTemplate(text: string, options: TemplateOptions): Template {
  const literals: string[] = [];
  const readers: KeyReader[] = [];
  const keys: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    literals.push(text.slice(last, m.index));
    readers.push(keyReader(m[1]));
    keys.push(normalizeKey(m[1]));
    last = m.index! + m[0].length;
  }
  const tail = text.slice(last);

  if (readers.length === 0) {
    const constant = options.header ? stripUnsafe(tail) : tail;
    return { keys, constant, expand: () => constant };
  }

  const expand = (scope: Scope): string => {
    let out = "";
    for (let i = 0; i < readers.length; i++) {
      const v = readers[i](scope);
      out += literals[i];
      if (v !== undefined) out += typeof v === "string" ? v : v.join(",");
    }
    return out + tail;
  };
  return { keys, constant: null, expand: options.header ? (scope) => stripUnsafe(expand(scope)) : expand };
}

export function stripUnsafe(text: string): string {
  // replace() on a global regex resets lastIndex itself; search first so clean text is returned as is.
  return text.search(UNSAFE_IN_HEADER) < 0 ? text : text.replace(UNSAFE_IN_HEADER, "");
}
