import { describe, expect, it } from "vitest";
import { requestHead } from "../../src/http2/request-head.ts";

const BASE = [
  { name: ":method", value: "GET" },
  { name: ":scheme", value: "https" },
  { name: ":authority", value: "api.test" },
  { name: ":path", value: "/v1/x?q=1" },
];
const text = (r: ReturnType<typeof requestHead>) => r.ok ? new TextDecoder("latin1").decode(r.head) : r.reason;

describe("requestHead", () => {
  it("writes the HTTP/1.1 head with :authority as Host, the path as the target, and no body", () => {
    const r = requestHead([...BASE, { name: "accept", value: "*/*" }], true);
    expect(text(r)).toBe("GET /v1/x?q=1 HTTP/1.1\r\nhost: api.test\r\naccept: */*\r\n\r\n");
    expect(r.ok && r.body).toEqual({ kind: "none" });
  });

  it("frames a body by its content-length, or chunked when none was given", () => {
    const post = [{ name: ":method", value: "POST" }, ...BASE.slice(1)];
    const sized = requestHead([...post, { name: "content-length", value: "5" }], false);
    expect(text(sized)).toContain("content-length: 5\r\n");
    expect(sized.ok && sized.body).toEqual({ kind: "length", length: 5 });
    const open = requestHead(post, false);
    expect(text(open)).toContain("transfer-encoding: chunked\r\n");
    expect(open.ok && open.body).toEqual({ kind: "chunked" });
  });

  it("joins cookie fields into one line (RFC 9113 §8.2.3)", () => {
    const r = requestHead([...BASE, { name: "cookie", value: "a=1" }, { name: "cookie", value: "b=2" }], true);
    expect(text(r)).toContain("cookie: a=1; b=2\r\n");
  });

  it("takes a Host field when there is no :authority, and one that agrees with it", () => {
    const noAuthority = BASE.filter((f) => f.name !== ":authority");
    expect(text(requestHead([...noAuthority, { name: "host", value: "h.test" }], true))).toContain("host: h.test\r\n");
    expect(requestHead([...BASE, { name: "host", value: "api.test" }], true).ok).toBe(true);
  });

  it("refuses each malformed request with the rule it breaks", () => {
    const cases: Array<[Array<{ name: string; value: string }>, string]> = [
      [[...BASE, { name: "X-Up", value: "1" }], 'field name "X-Up" is not a lower-case token'],
      [[...BASE, { name: "x-a", value: "1\r\nx-b: 2" }], "field x-a holds a forbidden character"],
      [[...BASE, { name: "x-a", value: "nul\0" }], "field x-a holds a forbidden character"],
      [[...BASE, { name: "x-a", value: " padded" }], "field x-a holds a forbidden character"],
      [[...BASE, { name: "connection", value: "close" }], "connection-specific field connection"],
      [[...BASE, { name: "transfer-encoding", value: "chunked" }], "connection-specific field transfer-encoding"],
      [[...BASE, { name: "upgrade", value: "h2c" }], "connection-specific field upgrade"],
      [[...BASE, { name: "te", value: "gzip" }], 'te: gzip (only "trailers" may be sent)'],
      [[...BASE, { name: "host", value: "other.test" }], "host differs from :authority"],
      [[{ name: ":status", value: "200" }, ...BASE], "unknown pseudo-header :status"],
      [
        [...BASE, { name: "x-a", value: "1" }, { name: ":path", value: "/" }],
        "pseudo-header :path after a regular field",
      ],
      [[...BASE, { name: ":path", value: "/again" }], ":path given twice"],
      [BASE.slice(1), "no :method"],
      [BASE.filter((f) => f.name !== ":path"), "no :scheme or :path"],
      [[...BASE, { name: "content-length", value: "1e3" }], "content-length: 1e3"],
      [[...BASE, { name: "content-length", value: "3" }, { name: "content-length", value: "4" }], "content-length: 4"],
    ];
    for (const [fields, reason] of cases) expect(text(requestHead(fields, true)), reason).toBe(reason);
  });

  it("refuses a content-length above 0 on a request that ended with its headers", () => {
    expect(text(requestHead([...BASE, { name: "content-length", value: "3" }], true))).toBe(
      "content-length 3 with no body",
    );
    expect(text(requestHead([...BASE, { name: "content-length", value: "0" }], true))).toContain("content-length: 0");
  });
});
