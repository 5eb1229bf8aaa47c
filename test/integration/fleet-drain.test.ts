/**
 * Fleet-wide drains (issue 24 point 2) with two vane processes sharing one real etcd:
 * `vane ctl drain --fleet` on one writes PREFIX/drain/POOL/TARGET and the other stops
 * sending new requests to that target (counted on the backends); undrain --fleet brings
 * it back on both. Without an etcd cluster, --fleet is refused with a clear error.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../src/config/etcd/client.ts";
import { startEtcd, stopAllEtcd, type TestEtcd } from "../helpers/etcd.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { serving } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-fleet-drain-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
  await stopAllEtcd();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backend = () =>
  startBackend((req, res) => {
    req.resume();
    res.end("ok\n");
  });

interface Running {
  port: number;
  status: number;
}

/** A vane whose pool `web` is a and b, with `etcd` as its cluster (none: null). */
async function vane(etcd: TestEtcd | null, a: Backend, b: Backend): Promise<Running> {
  const [port, status] = [await freePort(), await freePort()];
  const file = join(dir, `vane-${port}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow: [{ proxy: web }]
pools:
  web:
    targets: [127.0.0.1:${a.port}, 127.0.0.1:${b.port}]
    health: { check: tcp, interval: 300ms, rise: 1, fall: 1 }
${etcd ? `etcd: { endpoints: [${etcd.url}], prefix: /vane/edge }\n` : ""}control: { listen: 127.0.0.1:${status} }
timeouts: { grace: 0s }
workers: 1
`,
  );
  spawnVane(["run", file]);
  await serving(status, 1);
  return { port, status };
}

async function ctl(v: Running, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnVane(["ctl", "--status", `127.0.0.1:${v.status}`, ...args]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

/** `n` requests to `v`, each on its own connection; how many each backend got. */
async function spread(v: Running, a: Backend, b: Backend, n: number): Promise<{ a: number; b: number }> {
  const [a0, b0] = [a.requests, b.requests];
  const urls = Array.from({ length: n }, () => ["-o", "/dev/null", `http://127.0.0.1:${v.port}/`]).flat();
  await curl(["-H", "Connection: close", ...urls]);
  return { a: a.requests - a0, b: b.requests - b0 };
}

async function draining(v: Running, target: string): Promise<boolean> {
  const pools = await (await fetch(`http://127.0.0.1:${v.status}/pools`)).json();
  return pools.pools.web.targets.find((t: { target: string }) => t.target === target).draining;
}

describe("fleet-wide drains", () => {
  it("a drain --fleet on one vane is applied by another sharing the etcd cluster, and undrain lifts it", {
    timeout: 60_000,
  }, async () => {
    const etcd = await startEtcd();
    const [a, b] = [await backend(), await backend()];
    const [one, two] = [await vane(etcd, a, b), await vane(etcd, a, b)];
    expect(await spread(two, a, b, 10)).toEqual({ a: 5, b: 5 });
    const target = `127.0.0.1:${a.port}`;

    const drained = await ctl(one, "drain", "--fleet", "web", target);
    expect(drained.err).toBe("");
    expect(drained.code).toBe(0);
    expect(drained.out).toContain(`on every vane watching etcd (/vane/edge/drain/web/${target})`);
    const { kv } = await new EtcdClient([etcd.url]).get(`/vane/edge/drain/web/${target}`);
    expect(JSON.parse(kv!.value).by).toMatch(/^127\.0\.0\.1 \(loopback\)$/);
    await waitFor("the other vane drains a", () => draining(two, target), 10_000);
    expect(await spread(two, a, b, 10)).toEqual({ a: 0, b: 10 });
    expect(await spread(one, a, b, 10)).toEqual({ a: 0, b: 10 });
    // A local undrain does not lift the fleet's drain.
    expect((await ctl(two, "undrain", "web", target)).code).toBe(0);
    expect(await spread(two, a, b, 10)).toEqual({ a: 0, b: 10 });

    expect((await ctl(one, "undrain", "--fleet", "web", target)).code).toBe(0);
    await waitFor("the other vane takes a back", async () => !(await draining(two, target)), 10_000);
    expect(await spread(two, a, b, 10)).toEqual({ a: 5, b: 5 });
  });

  it("refuses --fleet without an etcd cluster, saying what to set", { timeout: 30_000 }, async () => {
    const [a, b] = [await backend(), await backend()];
    const v = await vane(null, a, b);
    const r = await ctl(v, "drain", "--fleet", "web", `127.0.0.1:${a.port}`);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      `vane ctl: POST /pools/web/targets/127.0.0.1%3A${a.port}/drain: fleet: no etcd cluster to share the drain through: ` +
        "set the config's etcd: key (or take the config from etcd with --etcd)",
    );
    expect(await spread(v, a, b, 10)).toEqual({ a: 5, b: 5 });
    const bad = await ctl(v, "pools", "--fleet");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("ctl pools: --fleet: only with drain or undrain");
  });
});
