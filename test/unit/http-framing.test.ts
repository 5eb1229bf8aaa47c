import { describe, expect, it } from "vitest";
import {
  Fields,
  type Header,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "../../src/detect/http-head.ts";
import {
  type BodyFraming,
  ChunkedDecoder,
  connectionTokens,
  keepAlive,
  requestFraming,
  responseFraming,
  upgradeProtocols,
} from "../../src/http/framing.ts";

/**
 * Fields are read two ways: from the bytes they were parsed from ("parsed"), and from
 * strings (a head made by hand, "listed"). Every case runs both.
 */
type Made = "parsed" | "listed";
const MADE: Made[] = ["parsed", "listed"];

function fieldsFrom(headers: Header[], made: Made): Fields {
  if (made === "listed") return Fields.fromList(headers);
  const head = "HTTP/1.1 200 OK\r\n" + headers.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n";
  const r = parseResponseHead(bytes(head));
  if (r.status !== "ok") throw new Error(`test head did not parse: ${JSON.stringify(head)}`);
  return r.head.fields;
}

function request(
  headers: Header[],
  version: "1.0" | "1.1" = "1.1",
  method = "POST",
  made: Made = "parsed",
): RequestHead {
  const fields = fieldsFrom([["Host", "h"], ...headers], made);
  // A getter, as on parsed heads: reading the strings first would hide the bytes' path.
  return {
    method,
    target: "/",
    version,
    host: "h",
    fields,
    get headers() {
      return fields.list;
    },
  };
}

function response(
  status: number,
  headers: Header[],
  version: "1.0" | "1.1" = "1.1",
  made: Made = "parsed",
): ResponseHead {
  const fields = fieldsFrom(headers, made);
  return {
    version,
    status,
    reason: "",
    fields,
    get headers() {
      return fields.list;
    },
  };
}

/** The framing kind, or the error code. */
function summary(f: BodyFraming): string | number {
  if (f.kind === "error") return f.code;
  if (f.kind === "length") return `length ${f.length}`;
  return f.kind;
}

function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function text(parts: Uint8Array[]): string {
  let s = "";
  for (const p of parts) for (const b of p) s += String.fromCharCode(b);
  return s;
}

describe("requestFraming", () => {
  const cases: [string, Header[], string | number, ("1.0" | "1.1")?][] = [
    ["no body headers", [], "none"],
    ["Content-Length", [["Content-Length", "13"]], "length 13"],
    ["Content-Length zero", [["content-length", "0"]], "length 0"],
    ["Content-Length leading zeros", [["Content-Length", "007"]], "length 7"],
    ["Content-Length 2^53-1", [["Content-Length", "9007199254740991"]], "length 9007199254740991"],
    ["Content-Length in 1.0", [["Content-Length", "5"]], "length 5", "1.0"],
    ["identical CL headers collapse", [["Content-Length", "5"], ["Content-Length", "5"]], "length 5"],
    ["identical CL list collapses", [["Content-Length", "5, 5"]], "length 5"],
    ["identical CL list with OWS", [["Content-Length", "5 ,5"], ["content-length", " 5"]], "length 5"],
    ["differing CL headers", [["Content-Length", "5"], ["Content-Length", "6"]], 400],
    ["differing CL list", [["Content-Length", "5, 6"]], 400],
    ["CL with sign", [["Content-Length", "+5"]], 400],
    ["CL negative", [["Content-Length", "-1"]], 400],
    ["CL with inner space", [["Content-Length", "1 2"]], 400],
    ["CL empty", [["Content-Length", ""]], 400],
    ["CL empty list element", [["Content-Length", "5,"]], 400],
    ["CL hex", [["Content-Length", "0x10"]], 400],
    ["CL decimal point", [["Content-Length", "1.0"]], 400],
    ["CL 2^53", [["Content-Length", "9007199254740992"]], 400],
    ["CL huge", [["Content-Length", "99999999999999999999"]], 400],
    ["chunked", [["Transfer-Encoding", "chunked"]], "chunked"],
    ["chunked any case", [["transfer-encoding", "Chunked"]], "chunked"],
    ["chunked with OWS and empty elements", [["Transfer-Encoding", " , chunked "]], "chunked"],
    ["TE and CL", [["Transfer-Encoding", "chunked"], ["Content-Length", "5"]], 400],
    ["CL and TE", [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]], 400],
    ["TE in HTTP/1.0", [["Transfer-Encoding", "chunked"]], 400, "1.0"],
    ["chunked twice in a list", [["Transfer-Encoding", "chunked, chunked"]], 400],
    ["chunked twice in headers", [["Transfer-Encoding", "chunked"], ["Transfer-Encoding", "chunked"]], 400],
    ["final coding not chunked", [["Transfer-Encoding", "chunked, gzip"]], 400],
    ["gzip only", [["Transfer-Encoding", "gzip"]], 400],
    ["identity", [["Transfer-Encoding", "identity"]], 400],
    ["empty TE", [["Transfer-Encoding", ""]], 400],
    ["obfuscated chunked", [["Transfer-Encoding", "xchunked"]], 400],
    ["chunked with params", [["Transfer-Encoding", "chunked;x=1"]], 400],
    ["gzip then chunked", [["Transfer-Encoding", "gzip, chunked"]], 501],
    ["gzip and chunked headers", [["Transfer-Encoding", "gzip"], ["Transfer-Encoding", "chunked"]], 501],
  ];
  for (const [name, headers, want, version] of cases) {
    for (const made of MADE) {
      it(`${name} -> ${want} (${made})`, () => {
        expect(summary(requestFraming(request(headers, version, "POST", made)))).toBe(want);
      });
    }
  }
});

describe("responseFraming", () => {
  const cases: [string, string, number, Header[], string | number, ("1.0" | "1.1")?][] = [
    ["100", "GET", 100, [], "none"],
    ["101", "GET", 101, [["Content-Length", "5"]], "none"],
    ["204 ignores CL", "GET", 204, [["Content-Length", "5"]], "none"],
    ["304 ignores CL", "GET", 304, [["Content-Length", "5"]], "none"],
    ["HEAD ignores CL", "HEAD", 200, [["Content-Length", "5"]], "none"],
    ["HEAD ignores TE", "HEAD", 200, [["Transfer-Encoding", "chunked"]], "none"],
    ["CONNECT 200 is a tunnel", "CONNECT", 200, [], "none"],
    ["CONNECT 407 has a body", "CONNECT", 407, [["Content-Length", "3"]], "length 3"],
    ["CL", "GET", 200, [["Content-Length", "5"]], "length 5"],
    ["CL collapses", "GET", 200, [["Content-Length", "5, 5"]], "length 5"],
    ["differing CL", "GET", 200, [["Content-Length", "5"], ["Content-Length", "6"]], 502],
    ["bad CL", "GET", 200, [["Content-Length", "five"]], 502],
    ["chunked", "GET", 200, [["Transfer-Encoding", "chunked"]], "chunked"],
    ["gzip, chunked", "GET", 200, [["Transfer-Encoding", "gzip, chunked"]], "chunked"],
    ["TE overrides CL", "GET", 200, [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]], "chunked"],
    ["final coding not chunked reads to close", "GET", 200, [["Transfer-Encoding", "gzip"]], "until-close"],
    ["chunked twice", "GET", 200, [["Transfer-Encoding", "chunked, chunked"]], 502],
    ["chunked not last", "GET", 200, [["Transfer-Encoding", "chunked, gzip"]], 502],
    ["TE in 1.0 response", "GET", 200, [["Transfer-Encoding", "chunked"]], 502, "1.0"],
    ["neither", "GET", 200, [], "until-close"],
    ["neither in 1.0", "GET", 200, [], "until-close", "1.0"],
    ["404 with CL", "POST", 404, [["Content-Length", "0"]], "length 0"],
  ];
  for (const [name, method, status, headers, want, version] of cases) {
    for (const made of MADE) {
      it(`${name} -> ${want} (${made})`, () => {
        expect(summary(responseFraming(method, response(status, headers, version, made)))).toBe(want);
      });
    }
  }
});

describe("connectionTokens, keepAlive, upgradeProtocols", () => {
  it("collects lowercased tokens from every Connection header", () => {
    const h: Header[] = [["Connection", "Keep-Alive, Upgrade"], ["connection", " ,X-Foo ,"]];
    for (const made of MADE) {
      expect([...connectionTokens(fieldsFrom(h, made))].sort()).toEqual(["keep-alive", "upgrade", "x-foo"]);
      expect(connectionTokens(fieldsFrom([], made)).size).toBe(0);
      // The usual single values, matched on their bytes, in any case.
      expect([...connectionTokens(fieldsFrom([["Connection", "Keep-ALIVE"]], made))]).toEqual(["keep-alive"]);
      expect([...connectionTokens(fieldsFrom([["Connection", "close"]], made))]).toEqual(["close"]);
      expect([...connectionTokens(fieldsFrom([["Connection", "UPGRADE"]], made))]).toEqual(["upgrade"]);
      expect([...connectionTokens(fieldsFrom([["Connection", "keep-alives"]], made))]).toEqual(["keep-alives"]);
    }
  });

  const ka: ["1.0" | "1.1", Header[], boolean][] = [
    ["1.1", [], true],
    ["1.1", [["Connection", "close"]], false],
    ["1.1", [["Connection", "Keep-Alive, CLOSE"]], false],
    ["1.1", [["Connection", "keep-alive"]], true],
    ["1.0", [], false],
    ["1.0", [["Connection", "Keep-Alive"]], true],
    ["1.0", [["Connection", "keep-alive, close"]], false],
    ["1.0", [["Connection", "keepalive"]], false],
  ];
  for (const [version, headers, want] of ka) {
    for (const made of MADE) {
      it(`keepAlive ${version} ${JSON.stringify(headers)} -> ${want} (${made})`, () => {
        expect(keepAlive(version, fieldsFrom(headers, made))).toBe(want);
      });
    }
  }

  for (const made of MADE) {
    it(`upgradeProtocols needs both the Connection option and an Upgrade header (${made})`, () => {
      const req = (h: Header[]) => request(h, "1.1", "GET", made);
      expect(upgradeProtocols(req([["Connection", "Upgrade"], ["Upgrade", "WebSocket"]]))).toEqual(["websocket"]);
      expect(upgradeProtocols(req([["Connection", "keep-alive, upgrade"], ["Upgrade", "h2c, websocket"]])))
        .toEqual(["h2c", "websocket"]);
      expect(upgradeProtocols(req([["Upgrade", "websocket"]]))).toEqual([]);
      expect(upgradeProtocols(req([["Connection", "upgrade"]]))).toEqual([]);
      expect(upgradeProtocols(req([["Connection", "upgrade"], ["Upgrade", ","]]))).toEqual([]);
      expect(upgradeProtocols(req([["Connection", "upgraded"], ["Upgrade", "websocket"]]))).toEqual([]);
    });
  }
});

/** Feeds chunks in order; returns the decoded body, the decoder, and the rest joined. */
function decode(pieces: Uint8Array[]): { body: string; d: ChunkedDecoder } {
  const d = new ChunkedDecoder();
  let body = "";
  for (const p of pieces) body += text(d.push(p));
  return { body, d };
}

const MESSAGE = '5\r\nhello\r\n1;name=value\r\n \r\n10\r\n0123456789abcdef\r\nA;a;b="q"\r\n0123456789\r\n0\r\n\r\n';
const BODY = "hello 0123456789abcdef0123456789";

describe("ChunkedDecoder", () => {
  it("decodes a whole message in one push", () => {
    const { body, d } = decode([bytes(MESSAGE)]);
    expect(d.error).toBeNull();
    expect(body).toBe(BODY);
    expect(d.done).toBe(true);
    expect(d.rest?.length).toBe(0);
  });

  it("returns views into the input, not copies", () => {
    const input = bytes("3\r\nabc\r\n0\r\n\r\n");
    const out = new ChunkedDecoder().push(input);
    expect(out.length).toBe(1);
    expect(out[0].buffer).toBe(input.buffer);
    expect(out[0].byteOffset).toBe(3);
  });

  it("gives the same body when split at every position", () => {
    const all = bytes(MESSAGE + "NEXT");
    const msgLen = MESSAGE.length;
    for (let i = 0; i <= all.length; i++) {
      const { body, d } = decode([all.subarray(0, i), all.subarray(i)]);
      expect(d.error).toBeNull();
      expect(body).toBe(BODY);
      expect(d.done).toBe(true);
      // rest is the input of the latest push that lies after the message: pushes
      // made after done hand their whole input back.
      expect(text([d.rest!])).toBe(i > msgLen ? "NEXT".slice(i - msgLen) : "NEXT");
    }
  });

  it("gives the same body when split at every pair of positions", () => {
    const all = bytes(MESSAGE);
    for (let i = 0; i <= all.length; i++) {
      for (let j = i; j <= all.length; j += 3) {
        const { body, d } = decode([all.subarray(0, i), all.subarray(i, j), all.subarray(j)]);
        if (body !== BODY || !d.done) throw new Error(`split ${i},${j}: ${JSON.stringify(body)} ${d.error}`);
      }
    }
  });

  it("decodes byte by byte", () => {
    const all = bytes(MESSAGE);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < all.length; i++) pieces.push(all.subarray(i, i + 1));
    const { body, d } = decode(pieces);
    expect(body).toBe(BODY);
    expect(d.done).toBe(true);
    expect(d.error).toBeNull();
  });

  it("is not done before the final CRLF", () => {
    const all = bytes(MESSAGE);
    const d = new ChunkedDecoder();
    d.push(all.subarray(0, all.length - 1));
    expect(d.done).toBe(false);
    expect(d.rest).toBeNull();
    d.push(all.subarray(all.length - 1));
    expect(d.done).toBe(true);
  });

  it("skips trailers, split anywhere", () => {
    const msg = "3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 1234\r\n\r\nGET / HTTP/1.1\r\n";
    const all = bytes(msg);
    for (let i = 0; i <= all.length; i++) {
      const { body, d } = decode([all.subarray(0, i), all.subarray(i)]);
      expect(body).toBe("abc");
      expect(d.done).toBe(true);
      expect(d.error).toBeNull();
    }
    const { d } = decode([all]);
    expect(text([d.rest!])).toBe("GET / HTTP/1.1\r\n");
  });

  it("accepts upper- and lowercase hex and 16 digits with leading zeros", () => {
    expect(decode([bytes("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n")]).body).toBe("01234567890123456789");
    const { body, d } = decode([bytes("0000000000000003\r\nabc\r\n0\r\n\r\n")]);
    expect(body).toBe("abc");
    expect(d.done).toBe(true);
  });

  it("accepts the largest size, 2^53-1, and streams its data", () => {
    const d = new ChunkedDecoder();
    const out = d.push(bytes("1fffffffffffff\r\nabc"));
    expect(d.error).toBeNull();
    expect(text(out)).toBe("abc");
  });

  it("puts input pushed after done into rest", () => {
    const d = new ChunkedDecoder();
    d.push(bytes("0\r\n\r\n"));
    expect(d.done).toBe(true);
    expect(d.push(bytes("more"))).toEqual([]);
    expect(text([d.rest!])).toBe("more");
  });

  const bad: [string, string][] = [
    ["empty size", "\r\n"],
    ["size not hex", "g\r\n"],
    ["size with sign", "+5\r\nhello\r\n0\r\n\r\n"],
    ["size with 0x", "0x5\r\nhello\r\n"],
    ["17 hex digits", "00000000000000005\r\nhello\r\n"],
    ["size above 2^53-1", "20000000000000\r\n"],
    ["size of 16 f", "ffffffffffffffff\r\n"],
    ["space before size", " 5\r\nhello\r\n"],
    ["trailing space after size", "5 \r\nhello\r\n"],
    ["bare LF after size", "5\nhello\r\n0\r\n\r\n"],
    ["bare CR after size", "5\rhello\r\n"],
    ["bare LF after data", "5\r\nhello\n0\r\n\r\n"],
    ["data longer than size", "5\r\nhello!\r\n0\r\n\r\n"],
    ["missing CRLF after data", "5\r\nhelloX"],
    ["chunk-ext too long", "5;" + "e".repeat(1025) + "\r\nhello\r\n"],
    ["bare LF in chunk-ext", "5;ext\nhello\r\n"],
    ["CTL in chunk-ext", "5;e\x00\r\nhello\r\n"],
    ["bare LF after last-chunk", "0\n\r\n"],
    ["bare LF in trailer", "0\r\nX: y\n\r\n"],
    ["bare LF ending the message", "0\r\n\n"],
    ["bare CR ending the message", "0\r\n\rX"],
    ["bare CR in trailer", "0\r\nX: y\rz\r\n\r\n"],
    ["trailers too large", "0\r\nX: " + "y".repeat(8 * 1024) + "\r\n\r\n"],
  ];
  for (const [name, msg] of bad) {
    it(`sets error for ${name}, fed whole and byte by byte`, () => {
      const whole = decode([bytes(msg)]).d;
      expect(whole.error).toBeTypeOf("string");
      expect(whole.done).toBe(false);
      const all = bytes(msg);
      const d = new ChunkedDecoder();
      for (let i = 0; i < all.length; i++) d.push(all.subarray(i, i + 1));
      expect(d.error).toBe(whole.error);
    });
  }

  it("accepts a chunk-ext of exactly 1 KiB and BWS before it", () => {
    const { body, d } = decode([bytes("5 ;" + "e".repeat(1023) + "\r\nhello\r\n0\r\n\r\n")]);
    expect(d.error).toBeNull();
    expect(body).toBe("hello");
  });

  it("stays failed after an error", () => {
    const d = new ChunkedDecoder();
    d.push(bytes("zz"));
    expect(d.error).not.toBeNull();
    expect(d.push(bytes("0\r\n\r\n"))).toEqual([]);
    expect(d.done).toBe(false);
  });

  it("never throws on random input (seeded)", () => {
    let x = 0x1234567;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const alphabet = bytes("0123456789abcdefABCDEFxz;= \t\r\n");
    for (let iter = 0; iter < 2000; iter++) {
      const buf = new Uint8Array(next() % 64);
      for (let i = 0; i < buf.length; i++) {
        buf[i] = next() % 3 === 0 ? next() & 0xff : alphabet[next() % alphabet.length];
      }
      const d = new ChunkedDecoder();
      const cut = buf.length === 0 ? 0 : next() % buf.length;
      d.push(buf.subarray(0, cut));
      d.push(buf.subarray(cut));
      expect(d.done && d.error !== null).toBe(false);
    }
  });
});
