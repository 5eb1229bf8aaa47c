/**
 * The address of a Redis server as a `store:` names it: `redis://[user:pass@]host[:port][/db]`
 * (the form redis-cli and every client library read). Parsed when the config is read, so
 * a bad one is reported by line and column; parsed again where the store connects.
 */

export interface RedisUrl {
  readonly host: string;
  readonly port: number;
  /** SELECTed after connecting; 0 is Redis's default. */
  readonly db: number;
  /** AUTH user (Redis 6 ACLs); null: `AUTH password` alone, or no AUTH. */
  readonly username: string | null;
  readonly password: string | null;
  /** The URL without its password, for logs and /status. */
  readonly display: string;
}

export const REDIS_URL_EXPECTED = "a URL like redis://127.0.0.1:6379 or redis://user:pass@host:6379/2";
const DEFAULT_PORT = 6379;
/** Redis's default `databases` is 16; a server configured with more accepts higher numbers. */
const MAX_DB = 1_000_000;

/** The parts of `text`, or why it is not a Redis URL. */
export function parseRedisUrl(raw: string): { ok: true; url: RedisUrl } | { ok: false; reason: string } {
  // Errors quote the URL: never with its password.
  const text = raw.replace(/^(redis:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: `expected ${REDIS_URL_EXPECTED}; got "${text}"` };
  }
  if (u.protocol !== "redis:") {
    return { ok: false, reason: `expected ${REDIS_URL_EXPECTED} (only redis://; no TLS); got "${text}"` };
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return { ok: false, reason: `expected ${REDIS_URL_EXPECTED} (a host); got "${text}"` };
  if (u.search !== "" || u.hash !== "") {
    return { ok: false, reason: `expected ${REDIS_URL_EXPECTED} (no query or fragment); got "${text}"` };
  }
  const path = u.pathname.replace(/^\//, "");
  const db = path === "" ? 0 : Number(path);
  if (!/^\d*$/.test(path) || db > MAX_DB) {
    return { ok: false, reason: `expected ${REDIS_URL_EXPECTED} (a database number after /); got "${text}"` };
  }
  const port = u.port === "" ? DEFAULT_PORT : Number(u.port);
  const username = u.username === "" ? null : decodeURIComponent(u.username);
  const password = u.password === "" ? null : decodeURIComponent(u.password);
  const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const who = username ?? (password !== null ? "" : null);
  const display = `redis://${who === null ? "" : `${who}:***@`}${hostPort}${db === 0 ? "" : `/${db}`}`;
  return { ok: true, url: { host, port, db, username, password, display } };
}
