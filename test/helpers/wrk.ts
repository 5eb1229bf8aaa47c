/**
 * wrk as a load generator for tests that count failures under load (reloads,
 * upgrades): its output, and what it says about failed requests. Bounded by the
 * duration the caller passes (`-d`).
 */
import { spawn } from "node:child_process";

/** Runs wrk and resolves with its output (stdout and stderr). */
export function wrk(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => resolve(out));
  });
}

/** The requests wrk completed, from its "N requests in" line. */
export function wrkRequests(out: string): number {
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
}
