/**
 * Reads and writes on a Deno connection straight from Deno's ops, without `Conn.read`'s
 * and `Conn.write`'s wrappers, where this Deno lets us.
 *
 * Reads. Deno 2's `Conn.read` is an async function that puts the op's promise in a Set
 * of pending reads and takes it out again. The Set is as old as the connection, so when
 * the delete shrinks it, V8 allocates the new table in the old generation: about 120 B
 * of old-space garbage per read (V8's sampling heap profiler, objects collected by
 * major GCs only). Under L7 load that is a mark-compact every 2-3 s, and with vane's
 * 13 MB of live heap each one marks for 15-20 ms in steps of up to 4 ms: the stalls
 * behind vane-on-Deno's p99 (docs/benchmarks.md). The Set serves `unref()`, which vane
 * never calls on a connection.
 *
 * Writes. Deno's write op is polled once when it is called, and when the socket takes
 * the bytes there and then (nearly always, for a head or a small answer) its promise
 * is settled before the call returns. `Conn.write` hides that behind an async wrapper,
 * so every write costs its caller an extra promise and turn of the microtask queue.
 * `writeOnce` is the op without the wrapper; `settledAtOnce` tells a write the socket
 * took there and then, which deno-writes.ts lets go on synchronously, as on Bun
 * (runtime/written.ts).
 *
 * How: Deno's core (`Deno[Deno.internal].core`: `read(rid, buffer)` and
 * `write(rid, buffer)`, the ops the wrappers await; `promiseIdSymbol`, which only an
 * op's pending promise carries; `getPromiseDetails`, V8's state and result of a
 * promise) and the connection's resource id (its own `Symbol(Deno.internal.rid)`
 * property). All are internals: where any is missing (another Deno), reads and writes
 * go through `Conn.read` and `Conn.write` as before, so nothing breaks, it only costs
 * what it did.
 */

/** The read op: resolves to the bytes read, 0 at end of stream (`buffer` is never empty). */
type ReadOp = (rid: number, buffer: Uint8Array) => Promise<number>;
/** The write op: resolves to the bytes the socket took, at least one. */
type WriteOp = (rid: number, buffer: Uint8Array) => Promise<number>;
/** V8's [state, result] of a promise: state 0 pending, 1 fulfilled, 2 rejected. */
type PromiseDetails = (promise: Promise<unknown>) => [number, unknown];

interface DenoCore {
  read?: unknown;
  write?: unknown;
  promiseIdSymbol?: unknown;
  getPromiseDetails?: unknown;
}

function findCore(): DenoCore | null {
  const deno = (globalThis as { Deno?: Record<symbol | string, unknown> }).Deno;
  const key = deno?.internal;
  if (typeof key !== "symbol" && typeof key !== "string") return null;
  return (deno?.[key] as { core?: DenoCore } | undefined)?.core ?? null;
}

const core = findCore();
const readOp = typeof core?.read === "function" ? core.read as ReadOp : null;
const writeOp = typeof core?.write === "function" &&
    typeof core.promiseIdSymbol === "symbol" && typeof core.getPromiseDetails === "function"
  ? core.write as WriteOp
  : null;
const pendingOp = writeOp === null ? Symbol() : core!.promiseIdSymbol as symbol;
const detailsOf = writeOp === null ? null : core!.getPromiseDetails as PromiseDetails;

/** The resource id's property key, learnt from the first connection that has one. */
let ridKey: symbol | null = null;

/**
 * `conn`'s resource id for `readInto` and `writeOnce`, or -1 when its reads and writes
 * must go through `conn.read` and `conn.write`.
 */
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

/**
 * Whether writes may go to the write op itself (`startWrite`), for a connection whose
 * `directRid` is `rid`.
 */
export function writesDirect(rid: number): boolean {
  return rid >= 0 && writeOp !== null;
}

/** The write op on `data` (not empty), for a `rid` that `writesDirect`: its promise, to look at with settledAtOnce. */
export function startWrite(rid: number, data: Uint8Array): Promise<number> {
  return writeOp!(rid, data);
}

/** Whether the op's promise was settled when the op returned (the count is in it, read by `settledCount`). */
export function settledAtOnce(op: Promise<number>): boolean {
  // Only a promise the op left pending carries its id; one settled at once does not.
  return (op as unknown as Record<symbol, unknown>)[pendingOp] === undefined;
}

/** What an op's promise settled at once with: the count, or the error. */
export function settledCount(op: Promise<number>): number | Error {
  const [state, result] = detailsOf!(op);
  return state === 1 ? result as number : result instanceof Error ? result : new Error(String(result));
}

/**
 * Writes `data` (not empty) once, to the op itself when `rid` `writesDirect` (as
 * `conn.write(data)`, without its async wrapper): the promise of how many bytes the
 * socket took, at least one and maybe fewer than all. Awaited, it costs less than reading
 * the count of one settled at once (settledCount): for a loop that awaits anyway.
 */
export function writeOnce(conn: Deno.Conn, rid: number, data: Uint8Array): Promise<number> {
  return writesDirect(rid) ? writeOp!(rid, data) : conn.write(data);
}
