/**
 * A small etcd v3 client over the JSON gateway (gateway.ts): range reads of a prefix,
 * puts, deletes, leases, and watches that resume from the last revision seen, so an
 * outage or a switch to another member misses no change and re-reads nothing. Several
 * endpoints (`--etcd URL,URL`) are tried in turn; with a user and password the client
 * authenticates and does so again when etcd says the token expired.
 */
import { EtcdAnswerError, type GatewayOptions, post, stream } from "./gateway.ts";

export interface EtcdOptions extends GatewayOptions {
  user?: string;
  password?: string;
}

/** A key and its value as etcd holds them, decoded. */
export interface EtcdKv {
  key: string;
  value: string;
  modRevision: number;
  /** The lease it is attached to, "0" for none (an int64: kept as text, beyond a double's precision). */
  lease: string;
}

export interface EtcdEvent {
  type: "put" | "delete";
  kv: EtcdKv;
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
  lease?: string;
}
interface RawHeader {
  revision?: string;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string | undefined) => (text === undefined ? "" : Buffer.from(text, "base64").toString("utf8"));

/** The key just past every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] += 1;
      return end.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64"); // every key
}

function decodeKv(raw: RawKv): EtcdKv {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    modRevision: Number(raw.mod_revision ?? 0),
    lease: raw.lease ?? "0",
  };
}

/** Whether etcd refused the token (expired or from before a restart): authenticate again. */
function tokenRefused(err: unknown): boolean {
  return err instanceof EtcdAnswerError &&
    /invalid auth token|auth token is expired|user name is empty/i.test(err.message);
}

export class EtcdClient {
  #token: string | null = null;
  /** The endpoint that last answered: tried first next time. */
  #current = 0;

  constructor(readonly endpoints: readonly string[], readonly options: EtcdOptions = {}) {
    if (endpoints.length === 0) throw new Error("no etcd endpoint");
  }

  /** The endpoint in use now (for logs). */
  get endpoint(): string {
    return this.endpoints[this.#current];
  }

  /** Every key under `prefix` and the store's revision they were read at. */
  async range(prefix: string): Promise<{ kvs: EtcdKv[]; revision: number }> {
    const r = await this.#call<{ header?: RawHeader; kvs?: RawKv[] }>("/v3/kv/range", {
      key: b64(prefix),
      range_end: prefixEnd(prefix),
    });
    return { kvs: (r.kvs ?? []).map(decodeKv), revision: Number(r.header?.revision ?? 0) };
  }

  /** One key, or null when absent, and the revision it was read at. */
  async get(key: string): Promise<{ kv: EtcdKv | null; revision: number }> {
    const r = await this.#call<{ header?: RawHeader; kvs?: RawKv[] }>("/v3/kv/range", { key: b64(key) });
    return { kv: r.kvs?.[0] ? decodeKv(r.kvs[0]) : null, revision: Number(r.header?.revision ?? 0) };
  }

  /** Writes `key`; with a lease it vanishes when the lease expires. Returns the new revision. */
  async put(key: string, value: string, lease = "0"): Promise<number> {
    const body = { key: b64(key), value: b64(value), ...(lease !== "0" ? { lease } : {}) };
    const r = await this.#call<{ header?: RawHeader }>("/v3/kv/put", body);
    return Number(r.header?.revision ?? 0);
  }

  async delete(key: string): Promise<number> {
    const r = await this.#call<{ header?: RawHeader }>("/v3/kv/deleterange", { key: b64(key) });
    return Number(r.header?.revision ?? 0);
  }

  /** A lease of `ttlSeconds`; its id (an int64, as text). */
  async grantLease(ttlSeconds: number): Promise<string> {
    const r = await this.#call<{ ID?: string }>("/v3/lease/grant", { TTL: String(ttlSeconds) });
    if (!r.ID) throw new Error("etcd granted no lease");
    return r.ID;
  }

  /** Renews a lease once (a service that registers itself calls this every TTL/3). */
  async keepAlive(lease: string): Promise<void> {
    await this.#call("/v3/lease/keepalive", { ID: lease });
  }

  /**
   * Follows every change under `prefix` from `fromRevision` on, in order, until
   * `close()`. The stream itself fails on an outage; `watch.ts` resumes it.
   */
  watchOnce(
    prefix: string,
    fromRevision: number,
    onEvents: (events: EtcdEvent[], revision: number) => void,
    onCompacted: (compactRevision: number) => void,
    onOpen?: () => void,
  ) {
    let opened = false;
    const body = {
      create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(fromRevision) },
    };
    return stream(this.endpoint, "/v3/watch", body, this.options, this.#token, (m) => {
      const result = (m as { result?: WatchResult; error?: { message?: string } }).result;
      if (!result) throw new Error((m as { error?: { message?: string } }).error?.message ?? "watch: no result");
      // etcd answers a watch it created at once ("created": true): the stream is open.
      if (!opened) {
        opened = true;
        onOpen?.();
      }
      if (result.compact_revision && result.compact_revision !== "0") {
        return onCompacted(Number(result.compact_revision));
      }
      if (result.canceled) throw new Error(`watch canceled: ${result.cancel_reason ?? "no reason given"}`);
      const events = (result.events ?? []).map((e): EtcdEvent => ({
        type: e.type === "DELETE" ? "delete" : "put",
        kv: decodeKv(e.kv ?? {}),
      }));
      if (events.length > 0) onEvents(events, Number(result.header?.revision ?? 0));
    });
  }

  /** Makes sure a token is held when a user is configured (before a watch, which cannot re-authenticate mid-stream). */
  async authenticate(): Promise<void> {
    if (this.options.user === undefined) return;
    const r = await this.#callAt<{ token?: string }>(this.endpoint, "/v3/auth/authenticate", {
      name: this.options.user,
      password: this.options.password ?? "",
    }, null);
    this.#token = r.token ?? null;
  }

  /** A unary call on the current endpoint, then the others in turn; authenticates when needed. */
  async #call<T>(path: string, body: unknown): Promise<T> {
    if (this.options.user !== undefined && this.#token === null) await this.authenticate();
    let last: unknown = null;
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.#current + i) % this.endpoints.length;
      try {
        const r = await this.#callAt<T>(this.endpoints[at], path, body, this.#token);
        this.#current = at;
        return r;
      } catch (err) {
        if (tokenRefused(err) && this.options.user !== undefined) {
          this.#current = at;
          await this.authenticate();
          return await this.#callAt<T>(this.endpoints[at], path, body, this.#token);
        }
        // etcd answered: another member would answer the same.
        if (err instanceof EtcdAnswerError) throw err;
        last = err;
      }
    }
    throw last;
  }

  #callAt<T>(endpoint: string, path: string, body: unknown, token: string | null): Promise<T> {
    return post<T>(endpoint, path, body, this.options, token);
  }

  /** Moves to the next endpoint (after the current one failed a watch). */
  rotate(): void {
    this.#current = (this.#current + 1) % this.endpoints.length;
  }

  /** Forgets the token (a watch was refused for it): the next call authenticates. */
  dropToken(): void {
    this.#token = null;
  }
}

interface WatchResult {
  header?: RawHeader;
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: Array<{ type?: string; kv?: RawKv }>;
}
