/**
 * parseResponseHead (src/detect/http-head.ts). Inputs are status lines (versions,
 * status codes of every width, reasons with odd bytes, the missing-space form) with
 * header lines from the same lists as requests, framing combinations, long lines and
 * the 64 KiB limit, then byte mutations. responseFraming runs on every ok head.
 */
import { MAX_HEAD_BYTES, parseResponseHead } from "../../../src/detect/http-head.ts";
import { keepAlive, responseFraming } from "../../../src/http/framing.ts";
import { hex, latin1, latin1Json } from "../bytes.ts";
import { checkIncremental } from "../incremental.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";
import {
  generateHead,
  headBytes,
  headerLines,
  headLimitLength,
  METHODS,
  ODD_VERSIONS,
  valueFor,
  VERSIONS,
} from "./http-tokens.ts";

const SEEDS = [
  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.0 200 OK\r\n\r\nbody until close",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
  'HTTP/1.1 304\r\nETag: "x"\r\n\r\n',
  "HTTP/1.1 404 \r\nServer: x\r\n\r\n",
  "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
];

const STATUSES = ["200", "204", "304", "100", "101", "103", "301", "404", "500", "599", "999"];
const ODD_STATUSES = ["099", "000", "20", "2000", "2x0", "-20", " 200"];
const REASONS = ["OK", "", "Not Found", "a\tb", "é\x80\xff", "  ", "x".repeat(70)];
const ODD_REASONS = ["a\x00b", "a\x7fb", "a\rb", "a\nb"];

export function buildResponse(rng: Rng): Uint8Array {
  const version = rng.chance(0.95) ? rng.pick(VERSIONS) : rng.pick(ODD_VERSIONS);
  const status = rng.chance(0.95)
    ? rng.pick(STATUSES)
    : rng.chance(0.5)
    ? rng.pick(ODD_STATUSES)
    : String(rng.int(100000));
  const space = rng.chance(0.97) ? " " : rng.pick(["  ", "\t"]);
  const reasonPart = rng.chance(0.1) ? "" : space + (rng.chance(0.97) ? rng.pick(REASONS) : rng.pick(ODD_REASONS));
  const sep = rng.chance(0.98) ? " " : rng.pick(["", "  ", "\t"]);
  const required: Array<[string, string]> = [];
  if (rng.chance(0.4)) {
    const n = rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const name = rng.pick(["Content-Length", "Transfer-Encoding", "Connection"]);
      required.push([name, valueFor(rng, name)]);
    }
  }
  const lines = headerLines(rng, required);
  const padTo = rng.chance(0.01) ? headLimitLength(rng) : undefined;
  const tail = rng.pick(["", "", "body", "2\r\nok\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"]);
  return headBytes(rng, `${version}${sep}${status}${reasonPart}`, lines, tail, padTo);
}

const REQUEST_METHODS = [...METHODS, "HEAD", "CONNECT"];

export const httpResponse: Target<Uint8Array> = {
  name: "http-response",
  ciCount: 100_000,
  corpus: () => SEEDS.map(latin1),
  generate: generateHead(buildResponse),
  check(buf, rng) {
    const r = parseResponseHead(buf);
    tally(r.status === "error" ? `error ${r.code}: ${r.reason}` : r.status);
    switch (r.status) {
      case "need-more":
        if (buf.length >= MAX_HEAD_BYTES) return `need-more for ${buf.length} bytes (over MAX_HEAD_BYTES)`;
        break;
      case "error":
        if (r.code !== 502) return `error code ${r.code} is not 502`;
        if (typeof r.reason !== "string" || r.reason === "") return "error without a reason";
        break;
      case "ok": {
        const { head, length } = r;
        if (!(length > 0 && length <= buf.length && length <= MAX_HEAD_BYTES)) {
          return `ok length ${length} out of range`;
        }
        if (buf[length - 2] !== 13 || buf[length - 1] !== 10) return "ok head does not end in CRLF";
        if (!Number.isInteger(head.status) || head.status < 100 || head.status > 999) return `status ${head.status}`;
        if (head.version !== "1.0" && head.version !== "1.1") return `ok head with version ${head.version}`;
        if (typeof head.reason !== "string") return "reason is not a string";
        const headers = head.headers;
        if (headers.length !== head.fields.count) return "headers and fields disagree on the count";
        const framing = responseFraming(rng.pick(REQUEST_METHODS), head);
        if (!["none", "length", "chunked", "until-close", "error"].includes(framing.kind)) {
          return `response framing ${framing.kind}`;
        }
        keepAlive(head.version, head.fields);
        break;
      }
      default:
        return `unknown status ${JSON.stringify(r)}`;
    }
    return checkIncremental(
      { parse: parseResponseHead, okLength: (x) => (x.status === "ok" ? x.length : 0) },
      buf,
      r,
      rng,
    );
  },
  show: (buf) => `hex ${hex(buf)}\n  latin1 ${latin1Json(buf)}`,
};
