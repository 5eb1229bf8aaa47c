/**
 * RESP (src/store/redis/resp.ts): commands encode as arrays of bulk strings, byte-exact;
 * the parser yields each reply once it is whole, however TCP splits the bytes (every
 * split point of a pipelined stream is tried), reads RESP2 and RESP3 types, and throws
 * on bytes that are not RESP.
 */
import { describe, expect, it } from "vitest";
import { encodeCommand, RedisErrorReply, RedisPush, type RedisReply, RespParser } from "../../src/store/redis/resp.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

/** Every reply of `wire`, fed as the chunks `cuts` make of it. */
function parseIn(wire: Uint8Array, cuts: number[]): Array<RedisReply | RedisPush> {
  const parser = new RespParser();
  const out: Array<RedisReply | RedisPush> = [];
  let at = 0;
  for (const cut of [...cuts, wire.length]) {
    out.push(...parser.push(wire.subarray(at, cut)));
    at = cut;
  }
  return out;
}

describe("encodeCommand", () => {
  it("writes an array of bulk strings, lengths in bytes", () => {
    expect(text(encodeCommand(["SET", "k", 12]))).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n");
    expect(text(encodeCommand(["GET", "é"]))).toBe("*2\r\n$3\r\nGET\r\n$2\r\né\r\n");
    expect(text(encodeCommand(["ECHO", ""]))).toBe("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
  });
});

describe("RespParser", () => {
  const pipeline =
    "+OK\r\n-NOSCRIPT No matching script\r\n:42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n:1\r\n*1\r\n$2\r\nab\r\n*-1\r\n";
  const expected = ["OK", new RedisErrorReply("NOSCRIPT No matching script"), 42, "he\r\nl", null, [1, ["ab"]], null];

  it("reads a pipeline of RESP2 replies in one chunk, in order", () => {
    const replies = parseIn(bytes(pipeline), []);
    expect(replies).toEqual(expected);
    expect((replies[1] as RedisErrorReply).code).toBe("NOSCRIPT");
  });

  it("reads the same replies split at every byte, and byte by byte", () => {
    const wire = bytes(pipeline);
    for (let cut = 1; cut < wire.length; cut++) expect(parseIn(wire, [cut])).toEqual(expected);
    expect(parseIn(wire, Array.from({ length: wire.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it("holds a partial reply until its last byte, then yields it", () => {
    const parser = new RespParser();
    expect(parser.push(bytes("*2\r\n:1\r\n$3\r\nab"))).toEqual([]);
    expect(parser.pending).toBe(14);
    expect(parser.push(bytes("c\r"))).toEqual([]);
    expect(parser.push(bytes("\n:7"))).toEqual([[1, "abc"]]);
    expect(parser.push(bytes("\r\n"))).toEqual([7]);
    expect(parser.pending).toBe(0);
  });

  it("copies what it keeps: a chunk reused by the runtime does not change a held reply", () => {
    const parser = new RespParser();
    const chunk = bytes("$4\r\nab");
    parser.push(chunk);
    chunk.fill(0x7a);
    expect(parser.push(bytes("cd\r\n"))).toEqual(["abcd"]);
  });

  it("reads the RESP3 types", () => {
    const wire = "_\r\n#t\r\n#f\r\n,3.5\r\n,inf\r\n(12345678901234567890\r\n!3\r\nbad\r\n=7\r\ntxt:hey\r\n" +
      "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n~1\r\n+x\r\n|1\r\n+ttl\r\n:3\r\n:9\r\n>2\r\n+message\r\n+hi\r\n";
    const replies = parseIn(bytes(wire), []);
    expect(replies.slice(0, 8)).toEqual([
      null,
      true,
      false,
      3.5,
      Infinity,
      "12345678901234567890",
      new RedisErrorReply("bad"),
      "hey",
    ]);
    expect(replies[8]).toEqual(new Map<RedisReply, RedisReply>([["a", 1], ["b", 2]]));
    // A set reads as a list; an attribute is skipped, the reply it describes is kept.
    expect(replies.slice(9, 11)).toEqual([["x"], 9]);
    expect(replies[11]).toBeInstanceOf(RedisPush);
    expect((replies[11] as RedisPush).items).toEqual(["message", "hi"]);
  });

  it("throws on bytes that are not RESP", () => {
    expect(() => new RespParser().push(bytes("HTTP/1.1 400 Bad Request\r\n"))).toThrow(/not a RESP reply/);
    expect(() => new RespParser().push(bytes(":12x\r\n"))).toThrow(/not a RESP integer/);
  });
});
