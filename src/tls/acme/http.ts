/**
 * HTTPS requests to the ACME directory on node:https, which both runtimes and the
 * compiled binary have: it takes a CA bundle per request (`--acme-ca-root`, a private
 * CA or a test CA such as pebble's) without touching the process's trust store, where
 * `fetch` would need Deno.createHttpClient on one runtime and Bun's `tls` option on
 * the other.
 */
import https from "node:https";
import http from "node:http";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Bounds one request to the CA, as Certbot does (its default is 45 s). */
const REQUEST_TIMEOUT_MS = 30_000;

export function httpRequest(
  url: string,
  { method = "GET", body, ca, contentType }: { method?: string; body?: string; ca?: string; contentType?: string } = {},
): Promise<HttpAnswer> {
  const u = new URL(url);
  const mod = u.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {
      method,
      ...(ca ? { ca } : {}),
      headers: {
        "user-agent": "vane-acme",
        ...(body !== undefined ? { "content-type": contentType ?? "application/jose+json" } : {}),
      },
      timeout: REQUEST_TIMEOUT_MS,
      // A connection of its own per request: requests to the CA come seconds (polling)
      // to months (renewal) apart, so a kept-alive socket saves nothing, and one the CA
      // closed while it sat idle is a race (Deno's node:http retries a stale one itself,
      // and that retry path has lost request bodies and hung before).
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const text = new TextDecoder().decode(concatChunks(chunks));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${u.host} within ${REQUEST_TIMEOUT_MS / 1000}s`)));
    req.on("error", reject);
    req.end(body);
  });
}

function concatChunks(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export function header(a: HttpAnswer, name: string): string | null {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] ?? null : v ?? null;
}
