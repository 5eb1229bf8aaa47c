import { describe, expect, it } from "vitest";
import { ResponseReader } from "../../src/http2/response-reader.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const texts = (parts: ReturnType<ResponseReader["push"]>) =>
  parts.map((p) => p.kind === "data" ? { data: new TextDecoder().decode(p.data), end: p.end } : p);

describe("ResponseReader", () => {
  it("turns a head into :status and lower-case fields, leaving out connection-specific ones and those Connection names", () => {
    const r = new ResponseReader(false);
    const parts = r.push(bytes(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nhi",
    ));
    expect(texts(parts)).toEqual([
      {
        kind: "headers",
        fields: [
          { name: ":status", value: "200" },
          { name: "content-type", value: "text/plain" },
          { name: "content-length", value: "2" },
        ],
        interim: false,
        end: false,
      },
      { data: "hi", end: true },
    ]);
    expect(r.done).toBe(true);
  });

  it("decodes a chunked body, and ends with the last chunk", () => {
    const r = new ResponseReader(false);
    const head = r.push(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
    expect(head).toEqual([{
      kind: "headers",
      fields: [{ name: ":status", value: "200" }],
      interim: false,
      end: false,
    }]);
    expect(texts(r.push(bytes("3\r\nabc\r\n")))).toEqual([{ data: "abc", end: false }]);
    expect(texts(r.push(bytes("0\r\n\r\n")))).toEqual([{ data: "", end: true }]);
  });

  it("ends with the head for HEAD, 204, 304 and a zero length", () => {
    expect(new ResponseReader(true).push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"))[0]).toMatchObject({
      end: true,
    });
    for (
      const head of [
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      ]
    ) {
      expect(new ResponseReader(false).push(bytes(head))[0], head).toMatchObject({ end: true });
    }
  });

  it("passes interim answers on before the final one, and a head split across writes", () => {
    const r = new ResponseReader(false);
    expect(r.push(bytes("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-"))).toEqual([
      {
        kind: "headers",
        fields: [{ name: ":status", value: "103" }, { name: "link", value: "</a.css>" }],
        interim: true,
        end: false,
      },
    ]);
    expect(texts(r.push(bytes("Length: 1\r\n\r\nx")))).toEqual([
      {
        kind: "headers",
        fields: [{ name: ":status", value: "200" }, { name: "content-length", value: "1" }],
        interim: false,
        end: false,
      },
      { data: "x", end: true },
    ]);
  });

  it("ends a body without length when the engine closes", () => {
    const r = new ResponseReader(false);
    r.push(bytes("HTTP/1.1 200 OK\r\n\r\nsome"));
    expect(r.done).toBe(false);
    expect(r.end()).toMatchObject({ kind: "data", end: true });
    expect(r.done).toBe(true);
  });
});
