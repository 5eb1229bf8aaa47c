/**
 * The names a flow can look at, as written in conditions (`when: { req.path: ... }`)
 * and in `{{key}}` templates, and HTTP header names. Like target.ts these know
 * nothing about YAML: they throw ConfigError and the caller adds the position.
 */
import { ConfigError } from "./errors.ts";
import { CONN_KEYS, FLOW_KEYS, HEADER_KEY_PREFIX, PLUGIN_KEY_PREFIX } from "./model.ts";
import { suggest, wordList } from "./suggest.ts";
import { q } from "./target.ts";

/** RFC 9110 token: what a header name may consist of. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Plugin answers are JSON keys, but they end up in templates and logs: keep them plain. */
const PLUGIN_NAME_RE = /^[A-Za-z0-9_-]+$/;

export const TOKEN_EXPECTED = "an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)";

export function isHttpToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

/** The keys a udp:// listener knows: there is no protocol, TLS or HTTP in a datagram to look at. */
export const UDP_KEYS: readonly string[] = CONN_KEYS;

/**
 * "req.headers.host" or "Plugin.user" are near misses of the two prefix families; the
 * plain edit distance over FLOW_KEYS cannot see them, so try the part before each dot.
 */
function suggestPrefixed(text: string): string | undefined {
  for (let i = text.indexOf("."); i > 0; i = text.indexOf(".", i + 1)) {
    const head = text.slice(0, i);
    const rest = text.slice(i + 1);
    if (rest === "") break;
    for (const prefix of [HEADER_KEY_PREFIX, PLUGIN_KEY_PREFIX]) {
      const family = prefix.slice(0, -1);
      if (suggest(head, [family]) !== undefined) {
        return prefix + (prefix === HEADER_KEY_PREFIX ? rest.toLowerCase() : rest);
      }
    }
  }
  return undefined;
}

/**
 * Validates a flow key and returns it as the model stores it: header names lowercased
 * (headers are case-insensitive), everything else as written. `others` are extra words
 * valid where the key was found (the condition combinators), offered as suggestions;
 * `what` names the key in messages ("key", "template key").
 */
export function parseFlowKey(text: string, others: readonly string[] = [], what = "key"): string {
  if (FLOW_KEYS.includes(text)) return text;
  if (text.startsWith(HEADER_KEY_PREFIX)) {
    const name = text.slice(HEADER_KEY_PREFIX.length);
    if (!isHttpToken(name)) {
      throw new ConfigError(`expected ${TOKEN_EXPECTED} after ${q(HEADER_KEY_PREFIX)}; got ${q(name)}`);
    }
    return HEADER_KEY_PREFIX + name.toLowerCase();
  }
  if (text.startsWith(PLUGIN_KEY_PREFIX)) {
    const name = text.slice(PLUGIN_KEY_PREFIX.length);
    if (!PLUGIN_NAME_RE.test(name)) {
      throw new ConfigError(
        `expected a plugin key name (letters, digits, "_" and "-") after ${q(PLUGIN_KEY_PREFIX)}; got ${q(name)}`,
      );
    }
    return text;
  }
  const candidates = [...FLOW_KEYS, ...others];
  const near = suggest(text, candidates) ?? suggestPrefixed(text);
  if (near !== undefined) throw new ConfigError(`unknown ${what} ${q(text)}; did you mean ${q(near)}?`);
  const valid = [...candidates, `${HEADER_KEY_PREFIX}NAME`, `${PLUGIN_KEY_PREFIX}NAME`];
  throw new ConfigError(`unknown ${what} ${q(text)}; expected one of ${wordList(valid)}`);
}

/**
 * The keys named by `{{ key }}` placeholders in a template, trimmed, in order. The
 * text itself is stored as written; this only finds what to validate. An unclosed
 * `{{` is an error: it is far more likely a typo than a literal "{{".
 */
export function templateKeys(text: string): string[] {
  const keys: string[] = [];
  for (let open = text.indexOf("{{"); open >= 0; open = text.indexOf("{{", open)) {
    const close = text.indexOf("}}", open + 2);
    if (close < 0) throw new ConfigError(`expected "}}" to close the "{{" at character ${open + 1}; got ${q(text)}`);
    const key = text.slice(open + 2, close).trim();
    if (key === "") throw new ConfigError(`expected a key inside "{{ }}", like {{conn.ip}}; got ${q(text)}`);
    keys.push(key);
    open = close + 2;
  }
  return keys;
}
