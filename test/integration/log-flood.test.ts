/**
 * A dead target under load must not flood the log (issue 18, point 2): vane runs as a
 * real process with two routes whose only targets are dead ports, keep-alive clients
 * send a few thousand requests, and the lines on stderr are counted. The first failure
 * of each route is written at once; the rest are counted into one summary per window,
 * whose N must add up to the requests that failed. The window is shortened through
 * VANE_LOG_WINDOW_MS (an internal knob) so the test need not wait 10 s.
 */
import { afterEach, describe, expect, it } from "vitest";
import { keepAliveLoop } from "../helpers/keep-alive-client.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";

const WINDOW_MS = 1500;
const CLIENTS = 4;
const PER_CLIENT = 500;

afterEach(() => killAll());

/** Sends `count` GETs for `host` one after another on one keep-alive connection; resolves with each answer's status. */
async function burst(port: number, host: string, count: number): Promise<number[]> {
  // A server that closes (it should not here) ends the burst early: counted by the caller.
  return (await keepAliveLoop(port, { limit: count, host, path: "/x" }).done).statuses;
}

function jsonLines(p: VaneProcess): Array<Record<string, unknown>> {
  return p.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

describe("log floods", () => {
  it("a dead target under a burst of requests writes one line per route, then one summary whose N adds up", async () => {
    const [port, deadA, deadB] = [await freePort(), await freePort(), await freePort()];
    const vane = spawnVane([
      "--listen",
      `http://127.0.0.1:${port}`,
      "--route",
      `a.test=127.0.0.1:${deadA}`,
      "--route",
      `*=127.0.0.1:${deadB}`,
      "--workers",
      "1",
      "--status",
      "off",
      "--log-format",
      "json",
    ], { VANE_LOG_WINDOW_MS: String(WINDOW_MS) });
    await waitFor("vane listening", () => jsonLines(vane).some((l) => l.msg === "listening"), 15_000);

    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => burst(port, i % 2 === 0 ? "a.test" : "b.test", PER_CLIENT)),
    );
    const elapsed = performance.now() - started;
    const failed = results.flat().filter((s) => s === 502).length;
    expect(failed).toBe(CLIENTS * PER_CLIENT);

    const about = () =>
      jsonLines(vane).filter((l) => l.msg === "upstream unavailable" || l.kind === "upstream unavailable");
    const routes = [...new Set(about().map((l) => String(l.route)))].sort();
    expect(routes).toHaveLength(2);
    // Lines while the burst ran: the first of each route, plus at most one summary per
    // window it spanned (how long it took is measured, not assumed).
    const windows = Math.ceil(elapsed / WINDOW_MS) + 1;
    for (const route of routes) {
      expect(about().filter((l) => l.route === route).length).toBeLessThanOrEqual(1 + windows);
    }

    // When the window ends, the summaries account for every failed request.
    const accounted = (route: string) =>
      about().filter((l) => l.route === route).reduce((n, l) => n + (l.kind ? Number(l.suppressed) : 1), 0);
    await waitFor(
      "summaries adding up",
      () => routes.every((r) => accounted(r) === PER_CLIENT * CLIENTS / 2),
      WINDOW_MS * 4 + 5000,
    );
    for (const route of routes) {
      const lines = about().filter((l) => l.route === route);
      expect(lines.filter((l) => l.msg === "upstream unavailable")).toHaveLength(1);
      const summaries = lines.filter((l) => l.kind === "upstream unavailable");
      expect(summaries.length).toBeGreaterThanOrEqual(1);
      for (const s of summaries) {
        expect(s).toMatchObject({ level: "warn", msg: `${s.suppressed} more like this in the last 1.5s` });
        expect(Number(s.suppressed)).toBeGreaterThan(0);
      }
    }
    // A few lines for thousands of requests.
    expect(about().length).toBeLessThanOrEqual(2 * (1 + windows));
  });
});
