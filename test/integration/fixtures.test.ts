/**
 * The fixture helpers as test/README.md shows them: a ten-line test of vane in front of
 * a recording backend over a raw client, and what the helpers promise of themselves
 * (the recording backend's framing and Host, the raw client's splitting and timeout).
 */
import { afterEach, describe, expect, it } from "vitest";
import { stopAll } from "../helpers/cleanup.ts";
import { startServer } from "../helpers/net.ts";
import { exchange, splitResponses, statuses } from "../helpers/raw-client.ts";
import { recordingBackend } from "../helpers/recording-backend.ts";
import { proxyVane } from "../helpers/vane.ts";

afterEach(stopAll);

it("forwards a request with the client's Host (the README's example)", async () => {
  const backend = await recordingBackend();
  const v = await proxyVane(backend.port);
  const reply = await exchange(v.port, "GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
  expect(statuses(reply)).toEqual([200]);
  expect(backend.requests.map((r) => [r.method, r.target, r.host])).toEqual([["GET", "/x", "a.test"]]);
});

describe("recordingBackend", () => {
  it("records each request's Host, body and framing, on its connection", async () => {
    const backend = await recordingBackend();
    await exchange(
      backend.port,
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
        "POST /b HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n" +
        "GET /c HTTP/1.1\r\n\r\n",
    );
    expect(backend.requests.map((r) => [r.target, r.host, r.body, r.framing, r.conn])).toEqual([
      ["/a", "x", "abc", "content-length", 0],
      ["/b", "y", "de", "chunked", 0],
      ["/c", null, "", "none", 0],
    ]);
  });
});

describe("raw client", () => {
  it("splits responses framed by length, by chunks, without a body, and to the end", () => {
    const replies = splitResponses(
      "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnew\r\n0\r\n\r\n" +
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n" +
        "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\nthe rest",
    );
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [100, ""],
      [200, "ok"],
      [201, "new"],
      [304, ""],
      [502, "the rest"],
    ]);
    expect(replies[4].fields).toEqual([["connection", "close"]]);
  });

  it("leaves out a response that is not whole", () => {
    const replies = splitResponses(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
    );
    expect(replies.map((r) => r.status)).toEqual([200]);
  });

  it("stops waiting at timeoutMs and gives what arrived", async () => {
    const silent = await startServer((s) => s.write("hello"));
    const started = performance.now();
    const got = await exchange(silent.port, "", { end: false, timeoutMs: 300 });
    expect(got.toString()).toBe("hello");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});
