/**
 * vane's /status, read from a test: once, or polled until every process of a
 * `--workers N` vane answers in it.
 */
import { waitFor } from "./wait.ts";

// deno-lint-ignore no-explicit-any
export async function statusOf(port: number): Promise<any> {
  return await (await fetch(`http://127.0.0.1:${port}/status`)).json();
}

/** Waits until /status lists `n` processes that all answered, and returns the status. */
// deno-lint-ignore no-explicit-any
export async function serving(statusPort: number, n: number): Promise<any> {
  // deno-lint-ignore no-explicit-any
  let s: any = null;
  await waitFor(`${n} processes serving`, async () => {
    try {
      s = await statusOf(statusPort);
    } catch {
      return false;
    }
    // deno-lint-ignore no-explicit-any
    return s.workers.length === n && s.workers.every((w: any) => !w.silent && w.pid > 0);
  }, 15_000);
  return s;
}
