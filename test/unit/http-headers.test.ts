/**
 * How heads go on through the proxy: which fields are dropped and added (the plans),
 * and the two ways of writing a head out (lines copied as received, or written anew),
 * which must carry the same fields.
 */
import { describe, expect, it } from "vitest";
import { type HeadResult, parseRequestHead, parseResponseHead } from "../../src/detect/http-head.ts";
import {
  dropsAny,
  headBytes,
  plannedHeaders,
  plannedLowerHeaders,
  requestPlan,
  responsePlan,
} from "../../src/http/headers.ts";
import { requestFraming } from "../../src/http/framing.ts";

function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function text(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

function ok<T>(r: HeadResult<T>): T {
  if (r.status !== "ok") throw new Error(`expected a head, got ${JSON.stringify(r)}`);
  return r.head;
}

const forward = {
  clientAddress: "192.0.2.7",
  proto: "http" as const,
  upgrade: false,
  dropExpect: false,
  authority: null,
};

/** A head whose lines go on as they came. */
const AS_RECEIVED = { startLine: "", asReceived: true, edits: [] } as const;

/** The upstream request as vane sends it: copied as received, or written anew. */
function upstream(raw: string, asReceived: boolean, info = forward): string {
  const head = ok(parseRequestHead(bytes(raw)));
  const plan = requestPlan(head, info);
  return text(
    headBytes(head.fields, plan, { startLine: `${head.method} ${head.target} HTTP/1.1`, asReceived, edits: [] }),
  );
}

describe("requestPlan with headBytes", () => {
  it("passes the lines on as received, without hop-by-hop fields, with vane's X-Forwarded-* last", () => {
    const raw = "GET /a?b=1 HTTP/1.1\r\nHost:Bench.Local  \r\nConnection: keep-alive, X-Secret\r\n" +
      "X-Secret: s\r\nKeep-Alive: timeout=5\r\nUser-Agent: t/1\r\nX-Forwarded-For: 10.0.0.1\r\n" +
      "X-Forwarded-Proto: https\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.2\r\nAccept: */*\r\n\r\n";
    expect(upstream(raw, true)).toBe(
      "GET /a?b=1 HTTP/1.1\r\nHost:Bench.Local  \r\nUser-Agent: t/1\r\nAccept: */*\r\n" +
        "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 192.0.2.7\r\nX-Forwarded-Proto: http\r\n" +
        "X-Forwarded-Host: Bench.Local\r\n\r\n",
    );
  });

  it("writes the same fields either way, for every kind of head", () => {
    const heads = [
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nhost: a\r\nCONNECTION: close\r\nX-Forwarded-Host: evil\r\n\r\n",
      "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 \x80\xff\r\nProxy-Connection: x\r\nTrailer: y\r\n\r\n",
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    ];
    for (const raw of heads) {
      for (const info of [forward, { ...forward, upgrade: true, dropExpect: true }]) {
        const copied = ok(parseRequestHead(bytes(upstream(raw, true, info))));
        const written = ok(parseRequestHead(bytes(upstream(raw, false, info))));
        expect(copied.headers, raw).toEqual(written.headers);
      }
    }
  });

  it("keeps Upgrade and says Connection: upgrade for a protocol switch, and drops Expect when vane answers it", () => {
    const raw =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n";
    const out = upstream(raw, true, { ...forward, upgrade: true, dropExpect: true });
    expect(out).toBe(
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" +
        "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n",
    );
  });

  it("writes an HTTP/1.0 request line anew as HTTP/1.1", () => {
    expect(upstream("GET /x HTTP/1.0\r\nUser-Agent: old\r\n\r\n", false)).toBe(
      "GET /x HTTP/1.1\r\nUser-Agent: old\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n\r\n",
    );
  });
});

describe("fields Connection may not name", () => {
  it("keeps Host, Content-Length, Transfer-Encoding, X-Forwarded-For and Forwarded that Connection names", () => {
    const raw =
      "POST /u HTTP/1.1\r\nHost: a\r\nConnection: host, content-length, forwarded, x-forwarded-for, x-other\r\n" +
      "Content-Length: 3\r\nForwarded: for=1.2.3.4\r\nX-Forwarded-For: 1.2.3.4\r\nX-Other: 1\r\n\r\n";
    for (const asReceived of [true, false]) {
      expect(upstream(raw, asReceived)).toBe(
        "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nForwarded: for=1.2.3.4\r\n" +
          "X-Forwarded-For: 1.2.3.4, 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n",
      );
    }
    const te = "POST /u HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect(upstream(te, true)).toContain("\r\nTransfer-Encoding: chunked\r\n");
  });

  it("keeps a response's Content-Length and Transfer-Encoding that its Connection names", () => {
    const head = ok(parseResponseHead(bytes(
      "HTTP/1.1 200 OK\r\nConnection: Content-Length, Transfer-Encoding, X-Hop\r\nContent-Length: 5\r\nX-Hop: 1\r\n\r\n",
    )));
    const out = text(headBytes(head.fields, responsePlan(head), { startLine: "", asReceived: true, edits: [] }));
    expect(out).toBe("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  });
});

describe("Content-Length folding and the authority of an absolute target", () => {
  it("folds agreeing Content-Length fields and lists into one", () => {
    const raw = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: 1\r\nContent-Length: 5, 5\r\n\r\n";
    const head = ok(parseRequestHead(bytes(raw)));
    for (const asReceived of [true, false]) {
      const out = text(
        headBytes(head.fields, requestPlan(head, forward, 5), { startLine: "POST /u HTTP/1.1", asReceived, edits: [] }),
      );
      expect(out.match(/content-length/gi)).toHaveLength(1);
      expect(out).toContain("\r\nContent-Length: 5\r\n");
    }
    // The framing says when a length came listed, and only then is it folded.
    expect(requestFraming(head)).toEqual({ kind: "length", length: 5, listed: true });
    const one = ok(parseRequestHead(bytes("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")));
    expect(requestFraming(one)).toEqual({ kind: "length", length: 5 });
    expect(dropsAny(requestPlan(one, forward))).toBe(false);
  });

  it("drops the fields a Connection header names wherever they stand among many, both ways of writing", () => {
    // Host, then 60 fields: those named at 1, 28, 29, 30 and 58 (fields 2 to 59 of the
    // head), either side of where the plan's bits end (30), and Connection at field 46.
    const names = Array.from({ length: 60 }, (_, i) => `X-F${i}`);
    const named = [1, 28, 29, 30, 58].map((i) => names[i]);
    const lines = names.map((n, i) => i === 45 ? `Connection: ${named.join(", ")}` : `${n}: v${i}`);
    const raw = `GET / HTTP/1.1\r\nHost: a\r\n${lines.join("\r\n")}\r\n\r\n`;
    for (const asReceived of [true, false]) {
      const out = upstream(raw, asReceived);
      for (let i = 0; i < 60; i++) {
        const gone = i === 45 || named.includes(names[i]);
        expect(out.includes(`\r\n${names[i]}: v${i}\r\n`), `${names[i]}, asReceived ${asReceived}`).toBe(!gone);
      }
      expect(out).not.toMatch(/\r\nConnection:/i);
    }
    const head = ok(parseRequestHead(bytes(raw)));
    const kept = plannedHeaders(head.headers, requestPlan(head, forward)).map(([n]) => n);
    expect(kept.filter((n) => /^X-F\d+$/.test(n))).toHaveLength(54);
    expect(kept).toContain("X-F27");
    expect(kept).not.toContain("X-F30");
    expect(kept).toContain("X-F31");
  });

  it("folds a response's agreeing Content-Length fields into one", () => {
    const head = ok(parseResponseHead(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n")));
    const out = text(
      headBytes(head.fields, responsePlan(head, { foldTo: 2 }), { startLine: "", asReceived: true, edits: [] }),
    );
    expect(out).toBe("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  });

  it("replaces every Host field with an absolute target's authority", () => {
    const raw = "GET http://b.test:81/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n";
    const head = ok(parseRequestHead(bytes(raw)));
    const out = text(
      headBytes(head.fields, requestPlan(head, { ...forward, authority: "b.test:81" }), {
        startLine: "GET /x HTTP/1.1",
        asReceived: false,
        edits: [],
      }),
    );
    expect(out).toBe(
      "GET /x HTTP/1.1\r\nX-A: 1\r\nHost: b.test:81\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n" +
        "X-Forwarded-Host: b.test:81\r\n\r\n",
    );
  });
});

describe("responsePlan with headBytes", () => {
  const raw =
    "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok\n";

  it("drops hop-by-hop fields and puts the body in the same buffer", () => {
    const res = ok(parseResponseHead(bytes(raw)));
    const out = headBytes(res.fields, responsePlan(res), {
      startLine: "",
      asReceived: true,
      edits: [],
      body: bytes("ok\n"),
    });
    expect(text(out)).toBe("HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\n\r\nok\n");
  });

  it("takes the body as a range of the buffer it was read in, as received and written anew", () => {
    const read = bytes(raw + "GARBAGE");
    const res = ok(parseResponseHead(read));
    const at = raw.length - 3;
    const plan = responsePlan(res);
    // A short range (copied byte by byte) and a long one (copied as a view) read alike.
    expect(text(headBytes(res.fields, plan, { ...AS_RECEIVED, body: read, bodyFrom: at, bodyTo: at + 3 }))).toBe(
      "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\n\r\nok\n",
    );
    const long = bytes(raw.replace("ok\n", "") + "x".repeat(100) + "GARBAGE");
    const longRes = ok(parseResponseHead(long));
    const longAt = raw.length - 3;
    expect(
      text(
        headBytes(longRes.fields, responsePlan(longRes), {
          ...AS_RECEIVED,
          body: long,
          bodyFrom: longAt,
          bodyTo: longAt + 100,
        }),
      ),
    )
      .toBe("HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\n\r\n" + "x".repeat(100));
    // An empty range sends the head alone; a flow's edit writes the head anew, the range after it.
    expect(text(headBytes(res.fields, plan, { ...AS_RECEIVED, body: read, bodyFrom: at, bodyTo: at }))).toBe(
      "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\n\r\n",
    );
    expect(
      text(headBytes(res.fields, plan, {
        startLine: "HTTP/1.1 200 OK",
        asReceived: true,
        edits: [{ op: "remove", name: "server" }],
        body: read,
        bodyFrom: at,
        bodyTo: at + 3,
      })),
    )
      .toBe("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
  });

  it("says Connection: close when vane closes, and drops Transfer-Encoding for a body it decodes", () => {
    const res = ok(parseResponseHead(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n")));
    const out = headBytes(res.fields, responsePlan(res, { connection: "close", dropFraming: true }), AS_RECEIVED);
    expect(text(out)).toBe("HTTP/1.1 200 OK\r\nX: 1\r\nConnection: close\r\n\r\n");
  });

  it("hands an HTTP/2 stream the same fields as the bytes would carry, names in lower case", () => {
    const res = ok(parseResponseHead(bytes(
      "HTTP/1.1 200 OK\r\nServer: s\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n",
    )));
    const plan = responsePlan(res, { connection: "close" });
    const asBytes = plannedHeaders(res.headers, plan).map(([n, v]) => [n.toLowerCase(), v]);
    expect(plannedLowerHeaders(res.fields, plan)).toEqual(asBytes);
    expect(plannedLowerHeaders(res.fields, plan)).toEqual([
      ["server", "s"],
      ["content-type", "text/plain"],
      ["content-length", "3"],
      ["connection", "close"],
    ]);
  });

  it("applies a flow's edits by writing the head anew", () => {
    const res = ok(parseResponseHead(bytes(raw)));
    const plan = responsePlan(res);
    expect(plannedHeaders(res.headers, plan)).toEqual([["Server", "s"], ["Content-Length", "3"]]);
    const out = headBytes(res.fields, plan, {
      startLine: "HTTP/1.1 200 OK",
      asReceived: true,
      edits: [
        { op: "set", name: "server", value: "vane" },
        { op: "add", name: "x-cache", value: "miss" },
      ],
    });
    expect(text(out)).toBe("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nserver: vane\r\nx-cache: miss\r\n\r\n");
  });
});
