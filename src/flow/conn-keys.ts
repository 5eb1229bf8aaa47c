/**
 * The keys a flow reads, as vane fills them: `ConnKeys` per connection (the client,
 * the listener, and what its first bytes were), `RequestKeys` per HTTP request on
 * top of them. Values are computed on demand: most rules read one or two keys, and
 * this runs per request on the hot path.
 */
import type { RequestHead } from "../detect/http-head.ts";
import type { RequestTarget } from "../http/types.ts";
import type { FlowInput, KeyValue } from "./input.ts";
import type { ClientCert, SocketAddress, TcpConn } from "../runtime/types.ts";
import { formatAddress } from "../config/address.ts";

export interface ConnFacts {
  ip: string;
  port: number;
  listenerPort: number;
  /** What the first bytes were (null: not looked at). */
  protocol: "tls" | "http" | "other" | null;
  /** Lowercased, without a trailing dot. */
  sni: string | null;
  alpn: readonly string[] | null;
  /** The client certificate an https:// listener verified (`client-auth`), or null. */
  clientCert?: ClientCert | null;
}

/**
 * The facts of an accepted connection, with its addresses read when first asked for:
 * Bun asks the kernel for each, and a plain L4 flow asks for neither. A trusted PROXY
 * header replaces the client (`useSource`). One object, no closures: it lives as long
 * as the connection, idle ones included.
 */
export class AcceptedFacts implements ConnFacts {
  #client: SocketAddress | null = null;
  #local: SocketAddress | null = null;
  alpn: readonly string[] | null = null;
  clientCert: ClientCert | null = null;

  readonly #conn: TcpConn;
  constructor(
    conn: TcpConn,
    public protocol: ConnFacts["protocol"],
    public sni: string | null,
  ) {
    this.#conn = conn;
  }

  get ip(): string {
    return this.client().hostname;
  }

  get port(): number {
    return this.client().port;
  }

  get listenerPort(): number {
    return this.local().port;
  }

  /** The client as vane sees it. */
  client(): SocketAddress {
    return this.#client ??= { hostname: this.#conn.remote.hostname, port: this.#conn.remote.port };
  }

  /** The address the client connected to. */
  local(): SocketAddress {
    return this.#local ??= { hostname: this.#conn.local.hostname, port: this.#conn.local.port };
  }

  useSource(source: SocketAddress): void {
    this.#client = source;
  }

  /** The client as logs show it; a socket closed before anyone asked (Bun) can no longer tell. */
  peer(): string {
    const c = this.client();
    return c.hostname === undefined ? "(gone)" : formatAddress(c.hostname, c.port);
  }
}

const CONN_ORDER = [
  "conn.ip",
  "conn.port",
  "listener.port",
  "protocol",
  "host",
  "tls.sni",
  "tls.alpn",
  "tls.client.subject",
  "tls.client.san",
];

export class ConnKeys implements FlowInput {
  constructor(readonly facts: ConnFacts) {}

  get(key: string): KeyValue {
    const f = this.facts;
    switch (key) {
      case "conn.ip":
        return f.ip;
      case "conn.port":
        return String(f.port);
      case "listener.port":
        return String(f.listenerPort);
      case "protocol":
        return f.protocol ?? undefined;
      // Without a request, the host a connection names is its SNI.
      case "host":
      case "tls.sni":
        return f.sni ?? undefined;
      case "tls.alpn":
        return f.alpn ?? undefined;
      case "tls.client.subject":
        return f.clientCert?.subject ?? undefined;
      case "tls.client.san":
        return f.clientCert?.san ?? undefined;
    }
    return undefined;
  }

  all(): Record<string, string | readonly string[]> {
    const out: Record<string, string | readonly string[]> = {};
    for (const k of CONN_ORDER) {
      const v = this.get(k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
}

const HEADER_PREFIX = "req.header.";

export class RequestKeys implements FlowInput {
  readonly #conn: ConnKeys;
  #head: RequestHead;
  #target: RequestTarget;
  constructor(
    conn: ConnKeys,
    head: RequestHead,
    target: RequestTarget,
  ) {
    this.#conn = conn;
    this.#head = head;
    this.#target = target;
  }

  /** The same connection's keys for another request (a spare reused: see http-decide.ts). */
  of(head: RequestHead, target: RequestTarget): this {
    this.#head = head;
    this.#target = target;
    return this;
  }

  get(key: string): KeyValue {
    return requestKey(this.#conn, this.#head, this.#target, key);
  }

  all(): Record<string, string | readonly string[]> {
    const out = this.#conn.all();
    for (const k of ["host", "req.method", "req.host", "req.path", "req.query"]) {
      const v = this.get(k);
      if (v !== undefined) out[k] = v;
    }
    for (const [n] of this.#head.headers) {
      const key = HEADER_PREFIX + n.toLowerCase();
      if (!(key in out)) out[key] = headerKey(this.#head, n.toLowerCase())!;
    }
    return out;
  }
}

/**
 * What RequestKeys.get reads, without an object: for a caller that only compares a few
 * keys (http-decide.ts's memo), so that a request it answers stores nothing in the
 * connection's RequestKeys (an old object on V8: a young value stored in one takes the
 * write barrier's slow path).
 */
export function requestKey(conn: ConnKeys, head: RequestHead, target: RequestTarget, key: string): KeyValue {
  switch (key) {
    case "req.method":
      return head.method;
    case "host":
    case "req.host":
      return target.host ?? undefined;
    case "req.path":
      return target.path;
    case "req.query":
      return target.query;
  }
  if (key.startsWith(HEADER_PREFIX)) return headerKey(head, key.slice(HEADER_PREFIX.length));
  return conn.get(key);
}

/** Several fields of one name read as one list, as RFC 9110 §5.3 folds them. */
function headerKey(head: RequestHead, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of head.headers) {
    if (n.length === name.length && n.toLowerCase() === name) out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}
