/**
 * How a pool's `strategy` is written (`--strategy`, YAML `strategy:`), parsed here in
 * config/ so the balancer never reaches up into the readers. One string form serves the
 * flag and YAML alike: `serial`, `random`, `fastest`, `leastconn`, `p2c`,
 * `hash:client`, `hash:path`, `hash:header:NAME`, `hash:cookie:NAME` (each hash with an
 * optional `,bound=C`, HAProxy's `hash-balance-factor` as a ratio), and
 * `sticky:cookie:NAME` (or `sticky`, cookie `vane_sticky`). The pool keeps the
 * canonical text (status and `--print-config` show it); `parseStrategy` reads it back.
 */
import { ConfigError } from "./errors.ts";
import { q } from "./target.ts";

/** The strategies that take no argument. */
export type PlainStrategy = "random" | "serial" | "fastest" | "leastconn" | "p2c";
export const PLAIN_STRATEGIES: readonly PlainStrategy[] = ["random", "serial", "fastest", "leastconn", "p2c"];

/** What a keyed strategy reads of a request: its client's address, its path, a header or a cookie. */
export type HashOn = "client" | "path" | "header" | "cookie";

export type StrategySpec =
  | { kind: PlainStrategy }
  /** Rendezvous hashing on `on` (`name`: the header or cookie), a target's load bounded to `bound` × average. */
  | { kind: "hash"; on: HashOn; name: string | null; bound: number }
  /** The target the cookie `cookie` names; a new client (or a gone target) is given the least loaded. */
  | { kind: "sticky"; cookie: string };

/** Google's "consistent hashing with bounded loads" factor: a target takes at most 1.25 × the average. */
export const DEFAULT_HASH_BOUND = 1.25;
/** The cookie `sticky` alone names. */
export const DEFAULT_STICKY_COOKIE = "vane_sticky";

const EXPECTED = "serial, random, fastest, leastconn, p2c, hash:client, hash:path, hash:header:NAME, " +
  "hash:cookie:NAME (with an optional ,bound=C) or sticky[:cookie:NAME]";
// An HTTP token (RFC 9110 §5.6.2): what a header or cookie name may be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The strategy `text` names.
 * @throws ConfigError `expected ...; got "TEXT"` (the caller prefixes the flag or YAML place).
 * @example parseStrategy("hash:header:X-User"); // { kind: "hash", on: "header", name: "X-User", bound: 1.25 }
 */
export function parseStrategy(text: string): StrategySpec {
  if ((PLAIN_STRATEGIES as readonly string[]).includes(text)) return { kind: text as PlainStrategy };
  if (text === "sticky") return { kind: "sticky", cookie: DEFAULT_STICKY_COOKIE };
  if (text.startsWith("sticky:cookie:")) {
    const cookie = text.slice(14);
    if (TOKEN.test(cookie)) return { kind: "sticky", cookie };
  }
  if (text.startsWith("hash:")) {
    const comma = text.indexOf(",");
    const body = comma < 0 ? text.slice(5) : text.slice(5, comma);
    const bound = comma < 0 ? DEFAULT_HASH_BOUND : boundOf(text.slice(comma + 1), text);
    if (body === "client" || body === "path") return { kind: "hash", on: body, name: null, bound };
    const m = /^(header|cookie):(.+)$/.exec(body);
    if (m && TOKEN.test(m[2])) return { kind: "hash", on: m[1] as HashOn, name: m[2], bound };
  }
  throw new ConfigError(`expected ${EXPECTED}; got ${q(text)}`);
}

/** `bound=C`, C a number of at least 1 (1: no target above the average). */
function boundOf(option: string, text: string): number {
  const m = /^bound=(\d+(?:\.\d+)?)$/.exec(option);
  const c = m ? Number(m[1]) : NaN;
  if (c >= 1 && c <= 100) return c;
  throw new ConfigError(`expected ,bound=C with C a number from 1 to 100 after the hash; got ${q(text)}`);
}

/** The canonical text of `spec`, which `parseStrategy` reads back as the same spec. */
export function strategyText(spec: StrategySpec): string {
  if (spec.kind === "sticky") return `sticky:cookie:${spec.cookie}`;
  if (spec.kind !== "hash") return spec.kind;
  const on = spec.name === null ? spec.on : `${spec.on}:${spec.name}`;
  return spec.bound === DEFAULT_HASH_BOUND ? `hash:${on}` : `hash:${on},bound=${spec.bound}`;
}

/** Whether the strategy reads what only an HTTP request has (a header, a cookie, the path). */
export function needsHttp(spec: StrategySpec): boolean {
  return spec.kind === "sticky" || (spec.kind === "hash" && spec.on !== "client");
}
