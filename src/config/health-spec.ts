/**
 * How a pool's health check is written in the config: `--health tcp|none|http:/PATH`
 * and `health.check`, and the statuses an http check accepts (`--health-expect`,
 * `health.expect`). Parsed here, in config/, so config never reaches up into health/.
 */
import { ConfigError } from "./errors.ts";
import { q } from "./target.ts";

/** Anything that could end a line or split the request line must not reach the wire: CTLs, space, DEL, non-ASCII. */
export function unsafeInRequestLine(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

/** `tcp`, `none` or `http:/PATH`. */
export function parseHealthSpec(
  text: string,
): { check: "tcp" } | { check: "none" } | { check: "http"; path: string } {
  if (text === "tcp" || text === "none") return { check: text };
  if (text.startsWith("http:")) {
    const path = text.slice(5);
    // "//..." is refused: it is almost always a URL written where a path belongs (http://host/x).
    if (path.startsWith("/") && !path.startsWith("//") && !unsafeInRequestLine(path)) return { check: "http", path };
  }
  throw new ConfigError(`expected tcp, none or http:/PATH; got ${q(text)}`);
}

/** `N` or `N-M`: three-digit statuses within 100..599, low <= high. */
export function parseExpect(text: string): [number, number] {
  const m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(text);
  if (m) {
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    if (low <= high) return [low, high];
  }
  throw new ConfigError(`expected a status or range like 200-299; got ${q(text)}`);
}
