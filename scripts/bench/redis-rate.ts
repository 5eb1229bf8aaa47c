/**
 * What a rate limit counted in Redis adds to each request, against one counted in
 * memory: the latency of one `take` (what the flow waits for) over a real
 * redis-server on loopback, p50 and p99, for the cases that matter:
 * - memory: the in-process token bucket (no store);
 * - redis, batched: a high rate (batch of rate/10), most takes served from the lease;
 * - redis, a round trip each: a low rate (batch of 1), every take asks Redis;
 * - the same, 64 requests at once: the round trips pipelined on one connection;
 * - redis, 10k keys: a new key's first take asks Redis, later ones use its batch.
 * Numbers for docs/fleet.md, not for tests (timing is this machine's).
 *
 *   bun scripts/bench/redis-rate.ts [TAKES]
 *   deno run --allow-all --unstable-net scripts/bench/redis-rate.ts [TAKES]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtime } from "../../src/runtime/mod.ts";
import { SYSTEM_CLOCK } from "../../src/runtime/clock.ts";
import { TokenBuckets } from "../../src/flow/rate-limit.ts";
import type { RateStore } from "../../src/flow/rate-store.ts";
import { RedisRates } from "../../src/store/redis/rates.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

const rt = runtime();
const takes = Number(rt.args[0] ?? 20_000);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "vane-bench-redis-"));
const port = await freePort();
const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir], {
  stdio: "ignore",
});
await new Promise((r) => setTimeout(r, 300));

const stores = new RedisRates((addr, ms) => rt.connectTcp(addr, ms), silentLogger, { clock: SYSTEM_CLOCK });
let place = 0;
const open = (rate: number, burst: number): RateStore =>
  stores.open({ rate, burst, store: { url: `redis://127.0.0.1:${port}`, onError: "open" } }, {
    generation: 1,
    config: {},
    where: `bench${place++}`,
  });

/** p50 and p99 of `n` takes, `parallel` at a time, in µs; and how many were admitted. */
async function measure(store: RateStore, n: number, parallel: number, key: (i: number) => string) {
  const lat: number[] = [];
  let admitted = 0;
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      const ok = store.take(key(i));
      if (typeof ok === "boolean" ? ok : await ok) admitted++;
      lat.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(1);
  return `p50 ${q(0.5)} µs, p99 ${q(0.99)} µs (${admitted}/${n} admitted)`;
}

const BIG = 1e9;
const cases: Array<[string, () => RateStore, number, (i: number) => string]> = [
  ["memory", () => new TokenBuckets(BIG, BIG, () => performance.now()), 1, () => "k"],
  ["redis, batched (rate 100000/s: batch 10000)", () => open(100_000, BIG), 1, () => "k"],
  ["redis, a round trip each (rate 5/s: batch 1)", () => open(5, BIG), 1, () => "k"],
  ["redis, a round trip each, 64 at once", () => open(5, BIG), 64, () => "k"],
  ["redis, 10k keys (rate 1000/s: batch 100)", () => open(1000, BIG), 1, (i) => `k${i % 10_000}`],
];
console.log(`redis-rate: ${rt.name} ${rt.version}, ${takes} takes per case, redis-server on loopback`);
for (const [name, make, parallel, key] of cases) {
  const store = make();
  await measure(store, 2_000, parallel, key); // warm-up: connection, script cache, JIT
  console.log(`  ${name}: ${await measure(store, takes, parallel, key)}`);
}
stores.close();
redis.kill("SIGKILL");
rmSync(dir, { recursive: true, force: true });
rt.exit(0);
