/**
 * A pool's `strategy:` in the YAML file: the one-liner's text (`leastconn`,
 * `hash:header:X-User`, `sticky:cookie:srv`) or a map spelling the same:
 * `{ hash: client | path | { header: NAME } | { cookie: NAME }, bound: 1.5 }` or
 * `{ sticky: { cookie: NAME } }`. Both end as the canonical text parseStrategy reads.
 */
import { isMap, isScalar, type Node } from "yaml";
import type { StrategyName } from "./model.ts";
import { parseStrategy, strategyText } from "./strategy-spec.ts";
import type { Reader } from "./yaml-reader.ts";

const STRATEGY_MAP_KEYS = ["hash", "sticky", "bound"];
const HASH_ON_KEYS = ["header", "cookie"];
const EXPECTED = "a strategy (serial, leastconn, hash:header:NAME, ...) or a map with hash or sticky";

/** The canonical strategy text `node` spells, or undefined after reporting where it is wrong. */
export function readStrategy(r: Reader, node: Node, path: string): StrategyName | undefined {
  if (isScalar(node)) {
    const spec = r.parse(node, path, EXPECTED, parseStrategy);
    return spec === undefined ? undefined : strategyText(spec) as StrategyName;
  }
  if (!isMap(node)) return r.fail(node, path, EXPECTED);
  const e = r.entries(node, path, EXPECTED, STRATEGY_MAP_KEYS);
  if (!e) return undefined;
  const hash = e.get("hash");
  const sticky = e.get("sticky");
  const bound = e.get("bound");
  if ((hash === undefined) === (sticky === undefined)) {
    return r.error(node, path, "expected exactly one of hash or sticky in a strategy map");
  }
  let text: string | undefined;
  if (sticky !== undefined) {
    if (bound !== undefined) return r.error(bound.keyNode, bound.path, "bound applies to hash only");
    const name = namedBy(r, sticky.value, sticky.path, ["cookie"]);
    text = name === undefined ? undefined : `sticky:cookie:${name[1]}`;
  } else {
    const on = isMap(hash!.value) ? namedBy(r, hash!.value, hash!.path, HASH_ON_KEYS) : r.string(
      hash!.value,
      hash!.path,
      "client, path, header:NAME, cookie:NAME or a map { header: NAME }",
    );
    const onText = Array.isArray(on) ? on.join(":") : on;
    const c = bound === undefined ? "" : r.text(bound.value, bound.path, "a number from 1 to 100");
    if (onText === undefined || c === undefined) return undefined;
    text = `hash:${onText}${c === "" ? "" : `,bound=${c}`}`;
  }
  if (text === undefined) return undefined;
  const spec = r.attempt(node, path, () => parseStrategy(text));
  return spec === undefined ? undefined : strategyText(spec) as StrategyName;
}

/** `{ header: NAME }` and the like: one key of `keys`, and its name. */
function namedBy(r: Reader, node: Node, path: string, keys: readonly string[]): [string, string] | undefined {
  const e = r.entries(node, path, `a map with one of ${keys.join(", ")}`, keys);
  if (!e) return undefined;
  if (e.size !== 1) return r.error(node, path, `expected one of ${keys.join(" or ")}`);
  const [entry] = e.values();
  const name = r.nonEmpty(entry.value, entry.path, "a name");
  return name === undefined ? undefined : [entry.key, name];
}
