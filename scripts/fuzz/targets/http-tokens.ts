/**
 * Building blocks of HTTP/1.x heads for the request and response targets: token
 * lists (valid, borderline and wrong) and a builder that joins a start line and
 * header lines with mostly-CRLF line ends.
 */
import { MAX_HEAD_BYTES } from "../../../src/detect/http-head.ts";
import { latin1 } from "../bytes.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";

export const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "PATCH", "TRACE"];
export const ODD_METHODS = [
  "PRI",
  "M-SEARCH",
  "get",
  "G\x00T",
  "GET\t",
  "",
  "GÉT",
  "!#$%&'*+-.^_`|~",
  "A".repeat(20),
  "A".repeat(21),
  "X".repeat(300),
  "GET:",
  "\x16\x03\x01",
  "SSH-2.0-x",
  "G E T",
  "{}",
  "GET\r",
  "\x80",
];

export const TARGETS = [
  "/",
  "/index.html",
  "/a/b/c?x=1&y=%20",
  "*",
  "http://example.com/path",
  "example.com:443",
  "/%00",
  "/%",
  "//double",
  "/a?b#frag",
  '/?q="<>"',
  "http://[::1]:8080/",
  "/..%2f..%2f",
  "/" + "a".repeat(100),
  "/a/./b/../c",
  "HTTP://EXAMPLE.COM",
  "http://user@host/",
  "/%2F%5c",
  "/\\",
  "https://a:99999/",
];
export const ODD_TARGETS = ["/\x7f", "/\x80\xff", "/a b", "", "/\t", "/ü", "/\x00", "/\r"];

export const VERSIONS = ["HTTP/1.1", "HTTP/1.0"];
export const ODD_VERSIONS = [
  "HTTP/2.0",
  "HTTP/0.9",
  "HTTP/1.2",
  "HTTP/3.0",
  "HTTP/11",
  "HTTP/1.",
  "HTTP/1",
  "http/1.1",
  "HTTP/1.1 ",
  "HTTP /1.1",
  "HTTP/1.1\x00",
  "",
  "HTTP/9.9",
  "HTTP/1.10",
  "HTTPS/1.1",
  "HTTP/a.b",
  "HTTP/1.1\r",
];

export const NAMES = [
  "Host",
  "Content-Length",
  "Transfer-Encoding",
  "Connection",
  "Upgrade",
  "Expect",
  "Keep-Alive",
  "Proxy-Connection",
  "TE",
  "Trailer",
  "X-Forwarded-For",
  "X-Forwarded-Proto",
  "X-Forwarded-Host",
  "User-Agent",
  "Accept",
  "Cookie",
  "Set-Cookie",
  "Content-Type",
  "Date",
  "Server",
  "X-Request-Id",
  "Forwarded",
  "HTTP2-Settings",
];
export const ODD_NAMES = [
  "host",
  "HOST",
  "hOsT",
  "content-length",
  "TRANSFER-ENCODING",
  "Host ",
  " Host",
  "\tHost",
  "",
  "X\x00Y",
  "Content-Length\t",
  "X-Ü",
  "X y",
  "Trans\x80fer-Encoding",
  "X".repeat(1000),
  "!#$%&'*+-.^_`|~",
  "Hos",
  "Hostt",
  "Content-Lengt",
  "X-Forwarded-Forr",
  "te",
  "Te",
  ":authority",
  "Host:",
  "@",
];

const HOSTS = [
  "example.com",
  "EXAMPLE.com",
  "example.com.",
  "example.com:8080",
  "[::1]",
  "[::1]:443",
  "[::1",
  "[]",
  "[v1.x]",
  "1.2.3.4",
  "1.2.3.4:0",
  "a:65535",
  "a:65536",
  "a:",
  ":80",
  "a:+1",
  "a:00080",
  "%41%42",
  "%zz",
  "%",
  "",
  "ex ample",
  "a..b",
  ".",
  "..",
  "a.",
  "-a-",
  "_x_",
  "xn--bcher-kva.example",
  "a\tb",
  "é.example",
  "a,b",
  "a@b",
  "a/b",
  "[::ffff:1.2.3.4]:80",
  "[1:2:3:4:5:6:7:8]",
  "[::1]x",
  "[::1]:",
  "a".repeat(300),
];
const LENGTHS = [
  "0",
  "5",
  "10",
  "5, 5",
  "5,5",
  "5, 6",
  "+5",
  "-1",
  " 5",
  "0x10",
  "1e3",
  "05",
  "",
  ",",
  "5,",
  ", 5",
  "9007199254740991",
  "9007199254740992",
  "99999999999999999",
  "0000000000000005",
  "00000000000000005",
  "5 5",
  "５",
];
const CODINGS = [
  "chunked",
  "Chunked",
  "CHUNKED",
  "gzip, chunked",
  "chunked, chunked",
  "chunked,chunked",
  "gzip",
  "identity",
  "chunked ",
  " chunked",
  ",chunked,",
  "chunked;q=1",
  "gzip,",
  "",
  ",",
  "x-chunked",
  "chunked, gzip",
  "\tchunked",
];
const CONNECTIONS = [
  "keep-alive",
  "close",
  "Upgrade",
  "upgrade, keep-alive",
  "Keep-Alive",
  ",,,",
  "close, close",
  "TE",
  "",
  "keep-alive, close",
  "x, y, z",
  "CLOSE",
];
const UPGRADES = ["websocket", "h2c", "WebSocket, h2c", "", ",", "websocket/13"];
const OTHER_VALUES = [
  "",
  "x",
  "text/html; charset=utf-8",
  "a\tb",
  "\t",
  " padded ",
  "é\x80\xff",
  "100-continue",
  "1.2.3.4, 5.6.7.8",
  "https",
  "trailers",
  '"quoted"',
  "%00",
  "for=1.2.3.4;proto=https",
  "h2c",
];
const BAD_VALUES = ["a\x00b", "a\x7fb", "a\rb", "a\nb", "\x01"];

/** A value for a header of this name: mostly what that field takes, sometimes anything. */
export function valueFor(rng: Rng, name: string): string {
  if (rng.chance(0.01)) return rng.pick(BAD_VALUES);
  if (rng.chance(0.1)) return rng.pick(OTHER_VALUES);
  switch (name.toLowerCase()) {
    case "host":
    case "x-forwarded-host":
      return rng.pick(HOSTS);
    case "content-length":
      return rng.pick(LENGTHS);
    case "transfer-encoding":
    case "te":
      return rng.pick(CODINGS);
    case "connection":
    case "proxy-connection":
      return rng.pick(CONNECTIONS);
    case "upgrade":
      return rng.pick(UPGRADES);
    default:
      return rng.pick(OTHER_VALUES);
  }
}

/** Line ends: nearly always CRLF, else one of the smuggling favourites. */
export function eol(rng: Rng): string {
  return rng.chance(0.97) ? "\r\n" : rng.pick(["\n", "\r", "\r\r\n", "\n\r", "\r\n\r\n", "", " \r\n", "\x00\r\n"]);
}

/** Lengths around the places a head parser changes behaviour (short-line scan, limits). */
export function longLength(rng: Rng): number {
  return rng.pick([62, 63, 64, 65, 66, 127, 128, 1000, 4096, 8190, 8191, 8192, 8193, 20000, 65400]) +
    rng.range(-2, 2);
}

/** A header line, mostly `Name: value`, with the separators varied now and then. */
export function headerLine(rng: Rng, name: string, value: string): string {
  const before = rng.chance(0.98) ? "" : rng.pick([" ", "\t"]);
  const colon = rng.chance(0.98) ? ":" : rng.pick(["", "::", " :", "="]);
  const ows = rng.chance(0.85) ? " " : rng.pick(["", "  ", "\t", " \t "]);
  const after = rng.chance(0.9) ? "" : rng.pick([" ", "\t", "  "]);
  return `${before}${name}${colon}${ows}${value}${after}`;
}

/** Header lines: names and values from the lists, sometimes very many or very long. */
export function headerLines(rng: Rng, required: Array<[string, string]>): string[] {
  const lines = required.map(([n, v]) => headerLine(rng, n, v));
  const count = rng.chance(0.02) ? rng.range(95, 105) : rng.small(10);
  for (let i = 0; i < count; i++) {
    const name = rng.chance(0.95) ? rng.pick(NAMES) : rng.pick(ODD_NAMES);
    let value = valueFor(rng, name);
    if (rng.chance(0.02)) value = "v".repeat(longLength(rng));
    lines.splice(rng.int(lines.length + 1), 0, headerLine(rng, name, value));
  }
  return lines;
}

/**
 * The head as bytes: start line, header lines, the empty line, then `tail`. With
 * `padTo`, X-Pad fields are sized so the head ends right at that byte count.
 */
export function headBytes(rng: Rng, start: string, lines: string[], tail: string, padTo?: number): Uint8Array {
  let text = start + eol(rng);
  for (const l of lines) text += l + eol(rng);
  if (padTo !== undefined) {
    // Lines of up to 8000 bytes, under the 8 KiB header-line limit, so the head limit is what is hit.
    let left = padTo - text.length - 2;
    while (left >= "X-Pad: \r\n".length) {
      const line = Math.min(left, 8000);
      // Never leave a remainder too short for a line of its own.
      const size = left - line > 0 && left - line < 9 ? line - 9 : line;
      text += `X-Pad: ${"p".repeat(size - 9)}\r\n`;
      left -= size;
    }
  }
  text += rng.chance(0.98) ? "\r\n" : eol(rng);
  return latin1(text + tail);
}

/** Boundaries of the 64 KiB head limit, for padTo. */
export function headLimitLength(rng: Rng): number {
  return 64 * 1024 + rng.range(-3, 3);
}

/**
 * A head generator's mix, the same for requests and responses: a seed as it is (5%), a
 * head built from the grammar (55%), a mutated head (35%, mostly built ones), raw noise (5%).
 */
export function generateHead(build: (rng: Rng) => Uint8Array) {
  return (rng: Rng, corpus: Uint8Array[]): Uint8Array => {
    const r = rng.int(100);
    if (r < 5) return rng.pick(corpus);
    if (r < 60) return build(rng);
    if (r < 95) {
      const base = rng.chance(0.8) ? build(rng) : rng.pick(corpus);
      return mutate(rng, base, { corpus, maxLength: MAX_HEAD_BYTES + 1024 });
    }
    return rng.bytes(rng.small(512));
  };
}
