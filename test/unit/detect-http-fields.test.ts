/**
 * Fields as the parser leaves them: offsets into the bytes and a number for each known
 * name. Whatever is read from them (one value, every value of a field, the whole list,
 * a Content-Length) must be what the strings say, in any order of asking.
 */
import { describe, expect, it } from "vitest";
import {
  bit,
  F_CONNECTION,
  F_CONTENT_LENGTH,
  F_HOST,
  F_X_FORWARDED_FOR,
  Fields,
  headerValues,
  kindAt,
  kindOf,
  KNOWN_NAMES,
} from "../../src/detect/http-fields.ts";
import { parseResponseHead } from "../../src/detect/http-head.ts";

function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function parsed(lines: string): Fields {
  const r = parseResponseHead(bytes(`HTTP/1.1 200 OK\r\n${lines}\r\n`));
  if (r.status !== "ok") throw new Error(`did not parse: ${JSON.stringify(r)}`);
  return r.head.fields;
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCase(name: string, next: () => number): string {
  let s = "";
  for (const c of name) s += next() < 0.5 ? c.toUpperCase() : c;
  return s;
}

describe("field numbers", () => {
  it("knows every planned name in any case, from bytes and from strings", () => {
    const next = random(1);
    for (let k = 1; k < KNOWN_NAMES.length; k++) {
      for (let n = 0; n < 8; n++) {
        const name = randomCase(KNOWN_NAMES[k], next);
        expect(kindAt(bytes(`:${name}:`), 1, 1 + name.length), name).toBe(k);
        expect(kindOf(name), name).toBe(k);
      }
    }
  });

  it("knows no near miss", () => {
    for (let k = 1; k < KNOWN_NAMES.length; k++) {
      const name = KNOWN_NAMES[k];
      const misses = [name.slice(1), name + "s", "x" + name.slice(1), name.slice(0, -1) + "_", name.replace("-", "_")];
      for (const miss of misses) {
        if (KNOWN_NAMES.includes(miss)) continue;
        expect(kindAt(bytes(miss), 0, miss.length), miss).toBe(0);
        expect(kindOf(miss), miss).toBe(0);
      }
    }
    // "^" is "~" with 0x20 set: only letters may match letters.
    expect(kindAt(bytes("^e"), 0, 2)).toBe(0);
    expect(kindAt(bytes("TE"), 0, 2)).toBe(9);
  });
});

describe("Fields from bytes", () => {
  it("reads single values before the list and the same strings after", () => {
    const f = parsed("Server: nginx\r\nContent-Length: 42\r\nconnection: Keep-Alive\r\nX-Cafe: a\xe9\r\n");
    expect(f.present).toBe(bit(F_CONTENT_LENGTH) | bit(F_CONNECTION));
    expect([0, 1, 2, 3].map((i) => f.kind(i))).toEqual([0, F_CONTENT_LENGTH, F_CONNECTION, 0]);
    expect(f.value(0)).toBe("nginx");
    expect(f.name(2)).toBe("connection");
    expect(f.value(3)).toBe("a\xe9");
    expect(f.digits(1)).toBe(42);
    expect(f.digits(0)).toBe(-1);
    expect(f.valueIs(2, "keep-alive")).toBe(true);
    expect(f.valueIs(2, "close")).toBe(false);
    expect(f.values(F_HOST)).toEqual([]);
    expect(f.first(F_HOST)).toBe(-1);
    expect(f.countOf(F_CONTENT_LENGTH)).toBe(1);
    const list = f.list;
    expect(list).toEqual([["Server", "nginx"], ["Content-Length", "42"], ["connection", "Keep-Alive"], [
      "X-Cafe",
      "a\xe9",
    ]]);
    // Made once, then the same strings whichever way they are asked for.
    expect(f.list).toBe(list);
    expect(f.value(3)).toBe("a\xe9");
  });

  it("reads digits only when the value is plain digits that fit", () => {
    const f = parsed(
      "Content-Length: 0\r\nContent-Length: 007\r\nContent-Length: 5, 5\r\nContent-Length: +5\r\n" +
        "Content-Length: 999999999999999\r\nContent-Length: 9999999999999999\r\nContent-Length:\r\n",
    );
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => f.digits(i))).toEqual([0, 7, -1, -1, 999999999999999, -1, -1]);
  });

  it("agrees with the strings on 500 random heads", () => {
    const next = random(42);
    const others = ["Server", "Date", "Accept", "X-Id", "Cookie", "A", "Hostname", "Xx-Forwarded-For"];
    for (let n = 0; n < 500; n++) {
      const lines: [string, string][] = [];
      const count = Math.floor(next() * 12);
      for (let i = 0; i < count; i++) {
        const known = next() < 0.5;
        const name = known
          ? randomCase(KNOWN_NAMES[1 + Math.floor(next() * (KNOWN_NAMES.length - 1))], next)
          : others[Math.floor(next() * others.length)];
        let value = "";
        const len = Math.floor(next() * 24);
        for (let k = 0; k < len; k++) {
          const r = next();
          value += r < 0.3
            ? String(Math.floor(next() * 10))
            : r < 0.9
            ? String.fromCharCode(0x61 + Math.floor(next() * 26))
            : r < 0.95
            ? " "
            : "\xe9";
        }
        lines.push([name, value.trim()]);
      }
      const f = parsed(lines.map(([k, v]) => `${k}: ${v}\r\n`).join(""));
      const listed = Fields.fromList(lines);
      // Asked before the list is made: single values, then every value by number.
      for (let i = 0; i < count; i++) expect(f.value(i)).toBe(lines[i][1]);
      for (let k = 1; k < KNOWN_NAMES.length; k++) {
        const want = headerValues(lines, KNOWN_NAMES[k]);
        expect(f.values(k)).toEqual(want);
        expect(listed.values(k)).toEqual(want);
        expect(f.countOf(k)).toBe(want.length);
        // sole: the one field's line, none (-1) or several (-2), as first and countOf say.
        const sole = want.length === 0 ? -1 : want.length > 1 ? -2 : f.first(k);
        expect(f.sole(k)).toBe(sole);
        expect(listed.sole(k)).toBe(sole);
        expect((f.present & bit(k)) !== 0).toBe(want.length > 0);
      }
      expect(f.count).toBe(count);
      for (let i = 0; i < count; i++) expect(f.kind(i)).toBe(listed.kind(i));
      expect(f.present).toBe(listed.present);
      expect(f.list).toEqual(lines);
    }
  });

  it("counts a repeated field each time", () => {
    const f = parsed("X-Forwarded-For: a\r\nx-forwarded-for: b\r\n");
    expect(f.values(F_X_FORWARDED_FOR)).toEqual(["a", "b"]);
    expect(f.countOf(F_X_FORWARDED_FOR)).toBe(2);
    expect(f.sole(F_X_FORWARDED_FOR)).toBe(-2);
  });
});
