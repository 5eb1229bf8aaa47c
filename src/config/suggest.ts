/**
 * "Did you mean" for config keys and names. A typo in a key would otherwise be read
 * as "key absent, use the default" and fail much later (or never), so every unknown
 * key is an error, and the error should point at the intended word.
 */

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of two
 * neighbours as one edit (optimal string alignment): "wbe" is one typo from "web".
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word`: a case-insensitive match first, else the nearest
 * within distance 2 (the first listed on a tie). Undefined when nothing is close:
 * a far-fetched suggestion misleads more than none, so a short word must keep at
 * least half of itself ("foo" is not a typo of "not").
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    if (c === word) continue;
    if (c.toLowerCase() === lower) return c;
    const d = editDistance(word, c);
    if (d < bestDistance && d * 2 <= word.length) [best, bestDistance] = [c, d];
  }
  return best;
}

/** `a`, `a or b`, `a, b or c` (with `and` when asked). */
export function wordList(words: readonly string[], conjunction: "or" | "and" = "or"): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} ${conjunction} ${words[words.length - 1]}`;
}

/**
 * `unknown WHAT "x"; did you mean "y"?`, or the valid words when none is close, so
 * the message always says what would have been accepted.
 */
export function unknownMessage(what: string, word: string, candidates: readonly string[]): string {
  const near = suggest(word, candidates);
  const head = `unknown ${what} ${JSON.stringify(word)}`;
  if (near !== undefined) return `${head}; did you mean ${JSON.stringify(near)}?`;
  if (candidates.length === 0) return head;
  return `${head}; expected ${candidates.length === 1 ? "" : "one of "}${wordList(candidates)}`;
}

/**
 * For a reference to something defined elsewhere in the file (a pool, a node):
 * the nearest defined name, else the defined names, else how to define one.
 */
export function undefinedMessage(what: string, name: string, defined: readonly string[], howToDefine: string): string {
  const head = `unknown ${what} ${JSON.stringify(name)}`;
  const near = suggest(name, defined);
  if (near !== undefined) return `${head}; did you mean ${JSON.stringify(near)}?`;
  if (defined.length > 0) return `${head}; expected ${defined.length === 1 ? "" : "one of "}${wordList(defined)}`;
  return `${head}; none is defined (${howToDefine})`;
}
