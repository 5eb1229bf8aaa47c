/**
 * Issue 24 point 5: how long two vanes take to serve a config changed in etcd. A
 * timing, so it is measured here and not asserted in the tests (which show that both
 * follow every change, and in order).
 *
 *   bun scripts/bench/etcd-converge.ts [CHANGES]            # vane from source on Bun
 *   deno run -A --unstable-net scripts/bench/etcd-converge.ts [CHANGES]
 *
 * Starts a real etcd (test/helpers/etcd.ts) and two vanes on `--etcd`, then puts
 * CHANGES new configs one after another (default 30). For each: the time from etcd's
 * answer to the put until both vanes answer with the new body, polled every 5 ms on
 * each (so a figure is up to 5 ms late). Reports median, 90th percentile and worst.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { EtcdClient } from "../../src/config/etcd/client.ts";
import { startEtcd, stopAllEtcd } from "../../test/helpers/etcd.ts";
import { freePort } from "../../test/helpers/net.ts";
import { killAll, spawnVane } from "../../test/helpers/process.ts";

const PREFIX = "/vane/bench";
const KEY = `${PREFIX}/config`;
const changes = Number(process.argv[2] ?? 30);

const config = (body: string) =>
  `listeners:
  - listen: http://127.0.0.1:1
    flow:
      - respond: { status: 200, body: "${body}" }
control: { listen: off }
timeouts: { grace: 0s }
log: { level: warn }
workers: 1
`;

async function answer(port: number): Promise<string> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/`)).text();
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `port` every 5 ms until it answers `body`: the ms from `t0`, or null after 10 s. */
async function served(port: number, body: string, t0: number): Promise<number | null> {
  while (performance.now() - t0 < 10_000) {
    if ((await answer(port)) === body) return performance.now() - t0;
    await sleep(5);
  }
  return null;
}

const dir = mkdtempSync(join(tmpdir(), "vane-etcd-converge-"));
try {
  const etcd = await startEtcd();
  const client = new EtcdClient([etcd.url]);
  await client.put(KEY, config("v0"));
  const ports = [await freePort(), await freePort()];
  ports.map((port, i) =>
    spawnVane([
      "--etcd",
      etcd.url,
      "--etcd-prefix",
      PREFIX,
      "--state-dir",
      join(dir, `s${i}`),
      "--listen",
      `http://127.0.0.1:${port}`,
    ])
  );
  for (const port of ports) if ((await served(port, "v0", performance.now())) === null) throw new Error("no start");
  const times: number[] = [];
  let missed = 0;
  for (let i = 1; i <= changes; i++) {
    await client.put(KEY, config(`v${i}`));
    const t0 = performance.now();
    const both = await Promise.all(ports.map((p) => served(p, `v${i}`, t0)));
    if (both.some((t) => t === null)) missed++;
    else times.push(Math.max(...(both as number[])));
    await sleep(100);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const runtime = "Deno" in globalThis ? "Deno" : "Bun";
  console.log(
    `etcd → two vanes (${runtime}), ${changes} changes: both serving the new config after ` +
      `median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, worst ${
        times[times.length - 1].toFixed(0)
      } ms; not within 10 s: ${missed}`,
  );
} finally {
  killAll();
  await stopAllEtcd();
  rmSync(dir, { recursive: true, force: true });
}
