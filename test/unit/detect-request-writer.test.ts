/**
 * RequestWriter makes the RequestHead that parseRequestHead would make of the bytes it
 * writes, or none where the parser might judge otherwise: checked here against the
 * parser itself, on chosen heads and on many random ones.
 */
import { describe, expect, it } from "vitest";
import { parseRequestHead, type RequestHead } from "../../src/detect/http-head.ts";
import { RequestWriter } from "../../src/detect/request-writer.ts";

type Line = [string, string];

function write(method: string, target: string, lines: Line[], maxLine = 8192): RequestWriter {
  const w = new RequestWriter();
  w.begin(method, target, maxLine);
  for (const [name, value] of lines) w.field(name, value);
  w.end();
  return w;
}

/** Everything a reader of a RequestHead can see. */
function seen(head: RequestHead) {
  const f = head.fields;
  const lines = [];
  for (let i = 0; i <= f.count; i++) {
    lines.push(
      i < f.count ? [f.start(i), f.kind(i), f.name(i), f.value(i), f.nameLength(i), f.valueLength(i)] : [f.start(i)],
    );
  }
  return {
    method: head.method,
    target: head.target,
    version: head.version,
    host: head.host,
    count: f.count,
    present: f.present,
    lines,
    list: head.headers,
  };
}

/** The writer's head is the parser's, or the writer left it to the parser. */
function agrees(w: RequestWriter, maxLine = 8192): "same" | "left to the parser" {
  const parsed = parseRequestHead(w.bytes, maxLine);
  if (w.head === null) return "left to the parser";
  expect(parsed.status).toBe("ok");
  if (parsed.status !== "ok") throw new Error("unreachable");
  expect(parsed.length).toBe(w.bytes.length);
  expect(seen(w.head)).toEqual(seen(parsed.head));
  return "same";
}

describe("RequestWriter", () => {
  it("lays out the usual head as the parser reads it", () => {
    const w = write("GET", "/a?b=1", [["host", "Bench.Local:8080"], ["accept", "*/*"], ["content-length", "0"]]);
    expect(new TextDecoder().decode(w.bytes)).toBe(
      "GET /a?b=1 HTTP/1.1\r\nhost: Bench.Local:8080\r\naccept: */*\r\ncontent-length: 0\r\n\r\n",
    );
    expect(agrees(w)).toBe("same");
    expect(w.head!.host).toBe("bench.local");
  });

  it("leaves to the parser every head it would refuse, with the same bytes", () => {
    const refused: Array<[string, string, Line[], number?]> = [
      ["GET", "/", []], // no Host
      ["GET", "/", [["host", "a"], ["host", "b"]]],
      ["GET", "/", [["host", "bad host"]]],
      ["GET", "/", [["host", "a"], ["x", "a\x01b"]]],
      ["GET", "/", [["host", "a"], ["x", "del\x7f"]]],
      ["GET", "/", [["host", "a"], ["bad name", "1"]]],
      ["GET", "/", [["host", "a"], ["", "1"]]],
      ["GET", "/", [["host", "a"], ["x", "y".repeat(100)]], 50],
      ["GET", "/", [["host", "a"], ...Array.from({ length: 100 }, (_, i): Line => [`x-${i}`, "1"])]],
      ["G T", "/", [["host", "a"]]],
      ["GET", "/a b", [["host", "a"]]],
      ["GET", "/\x80", [["host", "a"]]],
      ["GET", "/" + "a".repeat(9000), [["host", "a"]]],
    ];
    for (const [method, target, lines, maxLine] of refused) {
      const w = write(method, target, lines, maxLine);
      expect(w.head, JSON.stringify([method, target, lines.slice(0, 3)])).toBeNull();
      expect(parseRequestHead(w.bytes, maxLine).status).toBe("error");
    }
  });

  it("leaves to the parser a value with whitespace at its ends, which the parser trims", () => {
    const w = write("GET", "/", [["host", "a"], ["x", " padded\t"]]);
    expect(w.head).toBeNull();
    expect(parseRequestHead(w.bytes).status).toBe("ok");
  });

  it("agrees with the parser on random heads, and lays out most of them", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const chars = "abcXYZ09-_.:/ \t\x01\x7f\xe9;=,%[]";
    const str = (max: number) => Array.from({ length: random(max) }, () => chars[random(chars.length)]).join("");
    const names = ["content-length", "accept", "x-a", "connection", "x-forwarded-for", "host", "Host", "x y", ""];
    let same = 0;
    for (let n = 0; n < 3000; n++) {
      const lines: Line[] = [];
      const count = random(6);
      for (let i = 0; i < count; i++) {
        const name = random(8) === 0 ? str(6) : names[random(names.length)];
        lines.push([name, random(8) === 0 ? str(12) : ["a.test", "1", "", "x:80", "é"][random(5)]]);
      }
      if (random(8) !== 0) lines.unshift(["host", random(4) !== 0 ? "a.test" : str(8)]);
      const maxLine = random(8) === 0 ? 12 : 8192;
      const w = write(random(8) === 0 ? str(4) : "GET", random(8) === 0 ? str(5) : "/p", lines, maxLine);
      if (agrees(w, maxLine) === "same") same++;
    }
    expect(same).toBeGreaterThan(300);
  });
});
