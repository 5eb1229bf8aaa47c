/**
 * Reads on a Deno connection straight from Deno's read op, without `Conn.read`'s
 * wrapper, where this Deno lets us.
 *
 * Why: Deno 2's `Conn.read` is an async function that puts the op's promise in a Set of
 * pending reads and takes it out again. The Set is as old as the connection, so when
 * the delete shrinks it, V8 allocates the new table in the old generation: about 120 B
 * of old-space garbage per read (V8's sampling heap profiler, objects collected by
 * major GCs only). Under L7 load that is a mark-compact every 2-3 s, and with vane's
 * 13 MB of live heap each one marks for 15-20 ms in steps of up to 4 ms: the stalls
 * behind vane-on-Deno's p99 (docs/benchmarks.md). The Set serves `unref()`, which vane
 * never calls on a connection.
 *
 * How: Deno's core (`Deno[Deno.internal].core.read(rid, buffer)`, the op the wrapper
 * awaits) and the connection's resource id (its own `Symbol(Deno.internal.rid)`
 * property). Both are internals: where either is missing (another Deno), reads go
 * through `Conn.read` as before, so nothing breaks, it only costs what it did.
 */

/** The read op: resolves to the bytes read, 0 at end of stream (`buffer` is never empty). */
type ReadOp = (rid: number, buffer: Uint8Array) => Promise<number>;

interface DenoInternals {
  core?: { read?: unknown };
}

function findReadOp(): ReadOp | null {
  const deno = (globalThis as { Deno?: Record<symbol | string, unknown> }).Deno;
  const key = deno?.internal;
  if (typeof key !== "symbol" && typeof key !== "string") return null;
  const read = (deno?.[key] as DenoInternals | undefined)?.core?.read;
  return typeof read === "function" ? read as ReadOp : null;
}

const readOp: ReadOp | null = findReadOp();
/** The resource id's property key, learnt from the first connection that has one. */
let ridKey: symbol | null = null;

/** `conn`'s resource id for `readDirect`, or -1 when its reads must go through `conn.read`. */
export function directRid(conn: object): number {
  if (readOp === null) return -1;
  ridKey ??= Object.getOwnPropertySymbols(conn).find((s) => s.description === "Deno.internal.rid") ?? null;
  const rid = ridKey === null ? undefined : (conn as Record<symbol, unknown>)[ridKey];
  return typeof rid === "number" ? rid : -1;
}

/**
 * Reads into `buffer` (not empty): what `conn.read(buffer)` gives (bytes read, null at
 * end of stream), except that the end may come as 0. From the op itself when `rid` is
 * one `directRid` gave.
 */
export function readInto(conn: Deno.Conn, rid: number, buffer: Uint8Array): Promise<number | null> {
  return rid >= 0 ? readOp!(rid, buffer) : conn.read(buffer);
}
