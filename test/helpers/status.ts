/**
 * vane's /status, read from a test: once, or polled until every process of a
 * `--workers N` vane answers in it.
 */
import type { StatusSnapshot } from "../../src/control/snapshot.ts";
import { waitFor } from "./wait.ts";

export async function statusOf(port: number): Promise<StatusSnapshot> {
  return await (await fetch(`http://127.0.0.1:${port}/status`)).json();
}

/** Waits until /status lists `n` processes that all answered, and returns the status. */
export async function serving(statusPort: number, n: number): Promise<StatusSnapshot> {
  let s: StatusSnapshot | null = null;
  await waitFor(`${n} processes serving`, async () => {
    try {
      s = await statusOf(statusPort);
    } catch {
      return false;
    }
    return s.workers.length === n && s.workers.every((w) => !w.silent && w.pid > 0);
  }, 30_000); // generous: two Deno processes start slowly on a loaded 2-core machine
  return s!;
}
