/**
 * parseRequestHead (src/detect/http-head.ts). Inputs are request heads built from
 * token lists (methods, targets, versions, header names and values, framing field
 * combinations, line ends, long lines, heads at the 64 KiB and 8 KiB target limits),
 * often followed by a body or a pipelined request, then byte-mutated a third of the
 * time. The framing helpers (requestFraming, keepAlive, upgradeProtocols) run on every ok head.
 */
import { MAX_HEAD_BYTES, parseRequestHead } from "../../../src/detect/http-head.ts";
import * as framing from "../../../src/http/framing.ts";
import { hex, latin1, latin1Json } from "../bytes.ts";
import { checkIncremental } from "../incremental.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";
import {
  generateHead,
  headBytes,
  headerLines,
  headLimitLength,
  longLength,
  METHODS,
  ODD_METHODS,
  ODD_TARGETS,
  ODD_VERSIONS,
  TARGETS,
  valueFor,
  VERSIONS,
} from "./http-tokens.ts";

const SEEDS = [
  "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
  "GET /index.html HTTP/1.0\r\n\r\n",
  "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
  "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nCookie: a=b; c=d\r\n\r\nGET /2 HTTP/1.1\r\n",
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
  "GET / HTTP/1.1\nHost: a\n\n",
];

const METHOD_SEPS = [" ", "  ", "\t", "", " \t"];

function requestStart(rng: Rng): { start: string; version: string } {
  const method = rng.chance(0.95) ? rng.pick(METHODS) : rng.pick(ODD_METHODS);
  const r = rng.int(100);
  let target = r < 90 ? rng.pick(TARGETS) : r < 95 ? rng.pick(ODD_TARGETS) : "/" + "t".repeat(longLength(rng));
  if (rng.chance(0.01)) target = "/" + "t".repeat(8192 + rng.range(-3, 1)); // MAX_TARGET_BYTES
  const version = rng.chance(0.95) ? rng.pick(VERSIONS) : rng.pick(ODD_VERSIONS);
  const sep = () => (rng.chance(0.98) ? " " : rng.pick(METHOD_SEPS));
  return { start: `${method}${sep()}${target}${sep()}${version}`, version };
}

function framingFields(rng: Rng): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (rng.chance(0.7)) return out;
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(["Content-Length", "Transfer-Encoding", "content-length", "TRANSFER-ENCODING"]);
    out.push([name, valueFor(rng, name)]);
  }
  return out;
}

function tail(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return "hello";
    case 1:
      return "5\r\nhello\r\n0\r\n\r\n";
    case 2:
      return "GET /next HTTP/1.1\r\nHost: b\r\n\r\n";
    case 3:
      return String.fromCharCode(...Array.from({ length: rng.int(32) }, () => rng.int(256)));
    default:
      return "";
  }
}

/** A request head built from the token lists. */
export function buildRequest(rng: Rng): Uint8Array {
  const lead = rng.chance(0.05) ? "\r\n".repeat(rng.range(1, 6)) : "";
  const { start, version } = requestStart(rng);
  const required: Array<[string, string]> = [];
  if (version === "HTTP/1.1" ? rng.chance(0.95) : rng.chance(0.5)) required.push(["Host", valueFor(rng, "host")]);
  if (rng.chance(0.03)) required.push(["Host", valueFor(rng, "host")]);
  required.push(...framingFields(rng));
  const lines = headerLines(rng, required);
  const padTo = rng.chance(0.01) ? headLimitLength(rng) : undefined;
  return headBytes(rng, lead + start, lines, tail(rng), padTo);
}

const ERROR_CODES = [400, 414, 431, 505];

export const httpRequest: Target<Uint8Array> = {
  name: "http-request",
  ciCount: 100_000,
  corpus: () => SEEDS.map(latin1),
  generate: generateHead(buildRequest),
  check(buf, rng) {
    const r = parseRequestHead(buf);
    tally(r.status === "error" ? `error ${r.code}: ${r.reason}` : r.status);
    switch (r.status) {
      case "need-more":
        if (buf.length >= MAX_HEAD_BYTES) return `need-more for ${buf.length} bytes (over MAX_HEAD_BYTES)`;
        break;
      case "error":
        if (!ERROR_CODES.includes(r.code)) return `error code ${r.code} is not one of ${ERROR_CODES}`;
        if (typeof r.reason !== "string" || r.reason === "") return "error without a reason";
        break;
      case "ok": {
        const { head, length } = r;
        if (!(length > 0 && length <= buf.length && length <= MAX_HEAD_BYTES)) {
          return `ok length ${length} out of range`;
        }
        if (buf[length - 2] !== 13 || buf[length - 1] !== 10) return "ok head does not end in CRLF";
        if (head.method === "" || head.target === "") return "ok head with an empty method or target";
        if (head.version !== "1.0" && head.version !== "1.1") return `ok head with version ${head.version}`;
        if (head.version === "1.1" && head.host === null) return "HTTP/1.1 head without a Host accepted";
        const headers = head.headers;
        if (headers.length !== head.fields.count) return "headers and fields disagree on the count";
        for (const [n, v] of headers) {
          if (typeof n !== "string" || n === "" || typeof v !== "string") return "a header is not a name and value";
        }
        const body = framing.requestFraming(head);
        if (!["none", "length", "chunked", "error"].includes(body.kind)) return `request framing ${body.kind}`;
        framing.keepAlive(head.version, head.fields);
        // Named by what it is called now; framing.ts is being changed by others as this is written.
        const upgrade = (framing as Record<string, unknown>).upgradeProtocols;
        if (typeof upgrade === "function") upgrade(head);
        break;
      }
      default:
        return `unknown status ${JSON.stringify(r)}`;
    }
    return checkIncremental(
      { parse: parseRequestHead, okLength: (x) => (x.status === "ok" ? x.length : 0) },
      buf,
      r,
      rng,
    );
  },
  show: (buf) => `hex ${hex(buf)}\n  latin1 ${latin1Json(buf)}`,
};
