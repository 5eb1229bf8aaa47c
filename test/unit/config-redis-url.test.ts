/**
 * `store: redis://...` (src/config/redis-url.ts): host, port (6379 by default), database,
 * user and password, IPv6 in brackets; a display form without the password; one-line
 * errors for everything else, which never repeat the password.
 */
import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../../src/config/redis-url.ts";

describe("parseRedisUrl", () => {
  it("reads host, port, database, user and password", () => {
    expect(parseRedisUrl("redis://127.0.0.1")).toEqual({
      ok: true,
      url: { host: "127.0.0.1", port: 6379, db: 0, username: null, password: null, display: "redis://127.0.0.1:6379" },
    });
    expect(parseRedisUrl("redis://vane:p%40ss@cache.internal:6380/2")).toEqual({
      ok: true,
      url: {
        host: "cache.internal",
        port: 6380,
        db: 2,
        username: "vane",
        password: "p@ss",
        display: "redis://vane:***@cache.internal:6380/2",
      },
    });
    expect(parseRedisUrl("redis://:pw@[::1]:7000/")).toMatchObject({
      ok: true,
      url: { host: "::1", port: 7000, db: 0, username: null, password: "pw", display: "redis://:***@[::1]:7000" },
    });
  });

  it.each([
    ["cache:6379", "(only redis://; no TLS)"],
    ["rediss://h:6379", "(only redis://; no TLS)"],
    ["redis://", "(a host)"],
    ["redis://h/db1", "(a database number after /)"],
    ["redis://h?timeout=1", "(no query or fragment)"],
    ["redis://h:70000", ""],
  ])("refuses %s", (text, why) => {
    const r = parseRedisUrl(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain("expected a URL like redis://127.0.0.1:6379");
      expect(r.reason).toContain(why);
    }
  });

  it("never repeats the password in an error", () => {
    const r = parseRedisUrl("redis://u:hunter2@h:6379/x");
    expect(r).toEqual({
      ok: false,
      reason:
        'expected a URL like redis://127.0.0.1:6379 or redis://user:pass@host:6379/2 (a database number after /); got "redis://u:***@h:6379/x"',
    });
  });
});
