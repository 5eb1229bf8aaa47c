/**
 * The HTTP/1.1 head scanning of the bench's minimal proxies (deno-min-http.ts and
 * bun-min-http.ts), kept in one place so both floors do exactly the same work: find a
 * head's end, the Host that picks the backend, and a response's content-length. No
 * strings, no parsing beyond that: the floor is the least an HTTP proxy can do.
 */
const CR = 13, LF = 10;
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const HOST = ascii("host:");
const CONTENT_LENGTH = ascii("content-length:");
const BENCH = ascii("bench.local");
const OTHER = ascii("other.local");
export const NOT_FOUND = ascii("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");

/** Index just past the CRLFCRLF ending a head in buf[0, len), or -1. */
export function headEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** Where the value of header `name` (lowercase, with its colon) starts in head buf[0, end), or -1. */
function headerValue(buf: Uint8Array, end: number, name: Uint8Array): number {
  for (let i = 0; i < end - name.length; i++) {
    if (buf[i] !== LF) continue;
    let k = 0;
    while (k < name.length && (buf[i + 1 + k] | 0x20) === name[k]) k++;
    if (k < name.length) continue;
    let v = i + 1 + k;
    while (buf[v] === 32) v++;
    return v;
  }
  return -1;
}

function startsWith(buf: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if ((buf[at + k] | 0x20) !== word[k]) return false;
  return true;
}

/** Which of the bench's two hosts the request head in buf[0, end) names, or null. */
export function hostOf(buf: Uint8Array, end: number): "bench" | "other" | null {
  const v = headerValue(buf, end, HOST);
  if (v < 0) return null;
  return startsWith(buf, v, BENCH) ? "bench" : startsWith(buf, v, OTHER) ? "other" : null;
}

/** The content-length of the response head in buf[0, end), or -1 without one. */
export function contentLength(buf: Uint8Array, end: number): number {
  let v = headerValue(buf, end, CONTENT_LENGTH);
  if (v < 0) return -1;
  let n = 0;
  while (buf[v] >= 48 && buf[v] <= 57) n = n * 10 + buf[v++] - 48;
  return n;
}
