/**
 * etcd's v3 JSON gateway (grpc-gateway: `POST /v3/kv/range` and friends, JSON bodies
 * with base64 keys and values) over node:http and node:https, which both runtimes and
 * the compiled binary have and which take a CA bundle and a client certificate per
 * request (etcd's TLS with client certificates), as src/tls/acme/http.ts does for the
 * ACME directory. No etcd npm client runs on both Deno and Bun without gRPC's native
 * parts; the gateway needs none.
 */
import http from "node:http";
import https from "node:https";

/** How to reach one etcd member: its URL and, for https, the TLS material (PEM text). */
export interface GatewayOptions {
  /** PEM CA bundle that signed the members' certificates (else the system's). */
  ca?: string;
  /** PEM client certificate and key, for members that require client certificates. */
  cert?: string;
  key?: string;
  /** Bounds one unary call; a watch is bounded by its caller. */
  timeoutMs?: number;
}

/** An error the member answered (HTTP status and etcd's message), as opposed to one reaching it. */
export class EtcdAnswerError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 5000;

function requestOptions(url: URL, o: GatewayOptions, token: string | null, body: string): https.RequestOptions {
  return {
    method: "POST",
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.cert ? { cert: o.cert } : {}),
    ...(o.key ? { key: o.key } : {}),
    headers: {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      ...(token ? { authorization: token } : {}),
    },
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port || (url.protocol === "https:" ? 443 : 80),
    path: url.pathname,
  };
}

function moduleFor(url: URL): typeof http | typeof https {
  return url.protocol === "https:" ? https : http;
}

/** What etcd's gateway says in an error body: `{"error": ..., "message": ...}` (or plain text). */
function errorText(status: number, text: string): string {
  try {
    const j = JSON.parse(text) as { message?: string; error?: string | { message?: string } };
    const msg = j.message ?? (typeof j.error === "string" ? j.error : j.error?.message);
    if (msg) return msg;
  } catch {
    // not JSON: the text itself
  }
  return text.trim() || `HTTP ${status}`;
}

/** One unary call: POST `path` with `body` as JSON; the answer's JSON. */
export function post<T>(
  base: string,
  path: string,
  body: unknown,
  o: GatewayOptions,
  token: string | null,
): Promise<T> {
  const url = new URL(path, base);
  const text = JSON.stringify(body);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = moduleFor(url).request(requestOptions(url, o, token, text), (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const answer = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status !== 200) return reject(new EtcdAnswerError(status, errorText(status, answer)));
        try {
          resolve(JSON.parse(answer) as T);
        } catch {
          reject(new Error(`${url.host}${path}: not JSON: ${answer.slice(0, 80)}`));
        }
      });
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(text);
  });
}

/** A stream being read; `close()` ends it (its `done` then resolves). */
export interface OpenStream {
  close(): void;
  /** Settles when the stream ends: resolved when closed or ended by the member, rejected on an error. */
  done: Promise<void>;
}

/**
 * A streaming call (`/v3/watch`): POST `body`, then each newline-delimited JSON message
 * of the answer to `onMessage` as it arrives. The gateway writes one message per line.
 */
export function stream(
  base: string,
  path: string,
  body: unknown,
  o: GatewayOptions,
  token: string | null,
  onMessage: (m: unknown) => void,
): OpenStream {
  const url = new URL(path, base);
  const text = JSON.stringify(body);
  let req: http.ClientRequest | null = null;
  let closed = false;
  const done = new Promise<void>((resolve, reject) => {
    req = moduleFor(url).request(requestOptions(url, o, token, text), (res) => {
      const status = res.statusCode ?? 0;
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        pending += chunk;
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line === "") continue;
          if (status !== 200) return reject(new EtcdAnswerError(status, errorText(status, line)));
          try {
            onMessage(JSON.parse(line));
          } catch (err) {
            return reject(err);
          }
        }
      });
      res.on("end", () => {
        if (status !== 200 && !closed) reject(new EtcdAnswerError(status, errorText(status, pending)));
        else resolve();
      });
      res.on("error", (err) => (closed ? resolve() : reject(err)));
      res.on("close", () => resolve());
    });
    req.on("error", (err) => (closed ? resolve() : reject(err)));
    req.end(text);
  });
  return {
    close() {
      closed = true;
      (req as http.ClientRequest | null)?.destroy();
    },
    done,
  };
}
