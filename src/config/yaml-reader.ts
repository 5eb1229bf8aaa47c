/**
 * Typed access to a parsed YAML document that never throws: every problem becomes a
 * ConfigIssue with the node's line and column and the key path, and the caller gets
 * `undefined` and goes on with the next sibling. That is how one run reports every
 * error in a file instead of the first.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, Scalar } from "yaml";
import { ConfigError } from "./errors.ts";
import { DURATION_EXPECTED, parseDuration } from "./duration.ts";
import { unknownMessage, wordList } from "./suggest.ts";
import { q } from "./target.ts";

/**
 * One problem in a config file. line and col are 1-based.
 *
 * @example
 * ```ts
 * import type { ConfigIssue } from "./mod.ts";
 * const issue: ConfigIssue = { line: 4, col: 15, path: "listeners[0].listen", message: "expected a listen address" };
 * ```
 */
export interface ConfigIssue {
  line: number;
  col: number;
  /** Key path like `listeners[0].flow[2].when.req.path`; empty for YAML syntax errors. */
  path: string;
  message: string;
}

/** One `key: value` of a map, with the nodes to point at. */
export interface Entry {
  key: string;
  keyNode: Node;
  value: Node;
  path: string;
}

export const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);
export const index = (path: string, i: number): string => `${path}[${i}]`;

/** Far more than any real config needs; far fewer than an alias bomb expands to. */
const MAX_ALIASES = 1_000;

export class Reader {
  readonly issues: ConfigIssue[] = [];
  #aliases = 0;
  /** Stand-ins for aliases already reported: any further complaint about them would be noise. */
  readonly #reported = new WeakSet<Node>();

  readonly #doc: Document;
  readonly #lines: LineCounter;
  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /** Follows an alias to its anchor; null/undefined (`{abort}` has no value node) stays null. */
  resolve(node: unknown): Node | null {
    if (node == null) return null;
    if (isAlias(node)) return (node.resolve(this.#doc) as Node | undefined) ?? null;
    return node as Node;
  }

  /**
   * Like resolve, but reports the aliases the walk cannot follow. One naming no anchor
   * is nearly always a glob like `*.example.com` left unquoted: it reads on as that
   * text, so nothing else cascades. One inside its own anchor would be walked forever,
   * and nested aliases can multiply a small file into billions of nodes: both stop here.
   */
  #resolveReported(raw: unknown, path: string): Node | null {
    const node = this.resolve(raw);
    if (!isAlias(raw)) return node;
    const at = raw as Node;
    const name = `*${raw.source}`;
    const stand = (value: string | null) => {
      const s = new Scalar(value);
      s.range = at.range;
      this.#reported.add(s);
      return s;
    };
    if (node === null) {
      this.error(at, path, `unknown YAML alias ${name}; a value starting with "*" must be quoted: ${q(name)}`);
      return stand(name);
    }
    const [start, , end] = node.range ?? [0, 0, 0];
    if (this.offset(at) >= start && this.offset(at) < end) {
      this.error(at, path, `expected an alias to a node it is not part of; got ${name} inside its own anchor`);
      return stand(null);
    }
    if (++this.#aliases > MAX_ALIASES) {
      if (this.#aliases === MAX_ALIASES + 1) {
        this.error(at, path, `expected at most ${MAX_ALIASES} alias expansions in a file; got more`);
      }
      return stand(null);
    }
    return node;
  }

  /** Byte offset of a node, for ordering things as they appear in the file. */
  offset(node: Node): number {
    return node.range?.[0] ?? 0;
  }

  error(node: Node, path: string, message: string): undefined {
    if (this.#reported.has(node)) return undefined;
    const { line, col } = this.#lines.linePos(this.offset(node));
    this.issues.push({ line, col, path, message });
    return undefined;
  }

  /** How a node reads in "got ..." : strings quoted, other scalars by type and as written. */
  describe(node: Node): string {
    if (isScalar(node)) {
      const v = node.value;
      if (v === null || v === undefined) return "an empty value";
      if (typeof v === "string") return q(v);
      if (typeof v === "number" || typeof v === "bigint") return `a number (${node.source ?? String(v)})`;
      if (typeof v === "boolean") return `a boolean (${node.source ?? String(v)})`;
      return q(String(v));
    }
    if (isMap(node)) return node.items.length === 0 ? "an empty map" : "a map";
    if (isSeq(node)) return node.items.length === 0 ? "an empty list" : "a list";
    return "an unsupported value";
  }

  fail(node: Node, path: string, expected: string): undefined {
    return this.error(node, path, `expected ${expected}; got ${this.describe(node)}`);
  }

  /** Runs a ConfigError-throwing parser, turning its error into an issue at `node`. */
  attempt<T>(node: Node, path: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) return this.error(node, path, err.message);
      throw err;
    }
  }

  /**
   * The pairs of a map, in document order. Keys must be scalars and appear once; with
   * `allowed`, any other key is reported with a suggestion. Bad pairs are left out.
   */
  entries(node: Node, path: string, expected: string, allowed?: readonly string[]): Map<string, Entry> | undefined {
    if (!isMap(node)) return this.fail(node, path, expected);
    const out = new Map<string, Entry>();
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (keyNode === null) {
        // A key that is an alias naming no anchor (`{rate: 1, *a}`) is no key at all, and the
        // pair would go unreported while the map counts as incomplete; `? ` with nothing is
        // reported by the parser.
        if (isAlias(pair.key)) {
          const name = `*${pair.key.source}`;
          this.error(
            pair.key as unknown as Node,
            path,
            `unknown YAML alias ${name}; a key starting with "*" must be quoted: ${q(name)}`,
          );
        }
        continue;
      }
      const key = this.scalarText(keyNode);
      if (key === undefined) {
        this.error(keyNode, path, `expected a plain key; got ${this.describe(keyNode)}`);
        continue;
      }
      const keyPath = join(path, key);
      if (out.has(key)) {
        this.error(keyNode, keyPath, `duplicate key ${q(key)}; each key may appear once per map`);
        continue;
      }
      if (allowed && !allowed.includes(key)) {
        this.error(keyNode, keyPath, unknownMessage("key", key, allowed));
        continue;
      }
      out.set(key, { key, keyNode, value: this.#valueOf(pair.value, keyNode, keyPath), path: keyPath });
    }
    return out;
  }

  /** Whether `entries` kept every pair of `node` (false: some were reported and left out). */
  complete(node: Node, entries: Map<string, Entry>): boolean {
    return !isMap(node) || node.items.length === entries.size;
  }

  /**
   * `key:` with nothing after it parses as a zero-width null just past the colon (or
   * no node at all in `{key}`): point at the key instead, where the reader looks.
   */
  #valueOf(raw: unknown, keyNode: Node, path: string): Node {
    const node = this.#resolveReported(raw, path);
    if (node !== null && !(isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1])) {
      return node;
    }
    const empty = new Scalar(null);
    empty.range = keyNode.range;
    return empty;
  }

  /** The entry for a required key, or an issue at the map that lacks it. */
  required(map: Map<string, Entry>, key: string, mapNode: Node, path: string, why = ""): Entry | undefined {
    const e = map.get(key);
    if (!e) this.error(mapNode, path, `missing required key ${q(key)}${why && ` (${why})`}`);
    return e;
  }

  /** The items of a list (aliases followed). */
  list(node: Node, path: string, expected: string): Node[] | undefined {
    if (!isSeq(node)) return this.fail(node, path, expected);
    return node.items.map((item, i) => {
      const n = this.#resolveReported(item, index(path, i));
      if (n !== null) return n;
      const empty = new Scalar(null);
      empty.range = node.range;
      return empty;
    });
  }

  /**
   * Any non-empty scalar as text: strings as they are, numbers and booleans as written
   * (`0x1F` stays "0x1F"). For free text like header values, where `X-Count: 5` plainly
   * means "5". Undefined for anything else.
   */
  scalarText(node: Node): string | undefined {
    if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
    const v = node.value;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return node.source ?? String(v);
    return undefined;
  }

  text(node: Node, path: string, expected: string): string | undefined {
    const t = this.scalarText(node);
    return t === undefined ? this.fail(node, path, expected) : t;
  }

  /** Free text that must not be empty (paths, names, tokens). */
  nonEmpty(node: Node, path: string, expected: string): string | undefined {
    const t = this.scalarText(node);
    return t === undefined || t === "" ? this.fail(node, path, expected) : t;
  }

  /** A string and only a string: for keywords and addresses, where `5` or `true` is a mistake. */
  string(node: Node, path: string, expected: string): string | undefined {
    if (isScalar(node) && typeof node.value === "string") return node.value;
    return this.fail(node, path, expected);
  }

  /** A string parsed by one of the shared parsers (target.ts, cidr.ts, ...). */
  parse<T>(node: Node, path: string, expected: string, fn: (text: string) => T): T | undefined {
    const s = this.string(node, path, expected);
    return s === undefined ? undefined : this.attempt(node, path, () => fn(s));
  }

  keyword<T extends string>(node: Node, path: string, options: readonly T[]): T | undefined {
    if (isScalar(node) && typeof node.value === "string" && (options as readonly string[]).includes(node.value)) {
      return node.value as T;
    }
    return this.fail(node, path, wordList(options));
  }

  int(node: Node, path: string, min: number, max: number): number | undefined {
    if (isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value)) {
      if (node.value >= min && node.value <= max) return node.value;
    }
    return this.fail(node, path, `an integer ${min}..${max}`);
  }

  /** A duration in ms; above zero unless `allowZero`. */
  duration(node: Node, path: string, allowZero = false): number | undefined {
    const ms = this.parse(node, path, DURATION_EXPECTED, parseDuration);
    if (ms === 0 && !allowZero) return this.fail(node, path, "a duration above 0");
    return ms;
  }
}

/** For a list reader's `allowEmpty`: `[]` is a valid value here. */
export const ALLOW_EMPTY = true;
/** For a list reader's `allowEmpty`: at least one item is needed. */
export const NON_EMPTY = false;
