/**
 * The config in etcd (`--etcd URL --etcd-prefix P`, key `P/config`) with real vane
 * processes and a real etcd 3.4: two vanes follow one change; a bad value is refused
 * with the key and line:column while the last good config serves; an etcd outage loses
 * no request and, once etcd is back, no change; a vane that starts while etcd is down
 * serves its cached copy (`--state-dir`) and follows etcd when it returns.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../src/config/etcd/client.ts";
import { startEtcd, stopAllEtcd, type TestEtcd } from "../helpers/etcd.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-etcd-config-"));
afterEach(async () => {
  killAll();
  await stopAllEtcd();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PREFIX = "/vane/edge-eu";

/** A config that answers every request with `status` and `body` (each vane gets its port by --listen). */
function config(status: number, body: string): string {
  return `listeners:
  - listen: http://127.0.0.1:1
    flow:
      - respond: { status: ${status}, body: "${body}" }
control: { listen: off }
timeouts: { grace: 0s }
workers: 1
`;
}

async function answer(port: number): Promise<string> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    return `${r.status} ${await r.text()}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

/** A vane on `port` whose config is etcd's PREFIX/config. */
function vaneOn(etcd: TestEtcd, port: number, stateDir: string): VaneProcess {
  return spawnVane([
    "--etcd",
    etcd.url,
    "--etcd-prefix",
    PREFIX,
    "--state-dir",
    stateDir,
    "--listen",
    `http://127.0.0.1:${port}`,
  ]);
}

const KEY = `${PREFIX}/config`;

describe("config from etcd", () => {
  it(
    "two vanes serve the key's config and both follow a change; a bad value is refused by key, line and column",
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      await c.put(KEY, config(200, "one"));
      const [p1, p2] = [await freePort(), await freePort()];
      const a = vaneOn(etcd, p1, join(dir, "a"));
      const b = vaneOn(etcd, p2, join(dir, "b"));
      await waitFor(
        "both serve",
        async () => (await answer(p1)) === "200 one" && (await answer(p2)) === "200 one",
        20_000,
      );
      expect(a.stderr()).toMatch(new RegExp(`config from etcd key=${KEY} revision=\\d+`));

      await c.put(KEY, config(201, "two"));
      await waitFor("both follow", async () => (await answer(p1)) === "201 two" && (await answer(p2)) === "201 two");

      // A value with an error: refused by both, named by key, line and column; "two" serves on.
      await c.put(KEY, config(201, "three").replace("respond:", "respnd:"));
      await waitFor("both refuse it", () => [a, b].every((v) => v.stderr().includes("reload refused")));
      for (const v of [a, b]) expect(v.stderr()).toMatch(new RegExp(`etcd:${KEY}:4:9: .*respnd`));
      expect([await answer(p1), await answer(p2)]).toEqual(["201 two", "201 two"]);

      // The cached copy is the last good value, 0600.
      const cached = join(dir, "a", "etcd", "_vane_edge-eu_config.yaml");
      expect(statSync(cached).mode & 0o777).toBe(0o600);
    },
    40_000,
  );

  it("an etcd outage loses no request; when etcd is back the watch resumes and the next change applies", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient([etcd.url]);
    await c.put(KEY, config(200, "before"));
    const port = await freePort();
    const v = vaneOn(etcd, port, join(dir, "outage"));
    await waitFor("serving", async () => (await answer(port)) === "200 before", 20_000);

    await etcd.kill();
    const during: string[] = [];
    for (let i = 0; i < 50; i++) during.push(await answer(port));
    expect(during.filter((x) => x !== "200 before")).toEqual([]);
    await waitFor("the broken watch is logged", () => v.stderr().includes("etcd watch broken"));

    await etcd.start();
    await new EtcdClient([etcd.url]).put(KEY, config(202, "after"));
    await waitFor("the change made after the outage", async () => (await answer(port)) === "202 after", 20_000);
    expect(v.stderr()).toContain("etcd watch resumed");
    // One line when the watch broke, however many retries it took.
    expect(v.stderr().split("etcd watch broken").length - 1).toBe(1);
    // And one when etcd answered the watch again: a socket that connects is not yet a watch.
    expect(v.stderr().split("etcd watch resumed").length - 1).toBe(1);
  }, 40_000);

  it("starts while etcd is down from the cached copy, then follows etcd once it is back", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient([etcd.url]);
    await c.put(KEY, config(200, "cached"));
    const port = await freePort();
    const state = join(dir, "cache");
    const first = vaneOn(etcd, port, state);
    await waitFor("serving", async () => (await answer(port)) === "200 cached", 20_000);
    first.child.kill("SIGTERM");
    await first.exited;

    await etcd.kill();
    const second = vaneOn(etcd, port, state);
    await waitFor("serving the cached copy", async () => (await answer(port)) === "200 cached", 20_000);
    expect(second.stderr()).toContain("etcd cannot be reached; serving the cached copy");

    await etcd.start();
    await new EtcdClient([etcd.url]).put(KEY, config(203, "fresh"));
    await waitFor("following etcd", async () => (await answer(port)) === "203 fresh", 20_000);
  }, 40_000);

  it("exits 1 naming the key when etcd is down and nothing is cached, or the key is missing", async () => {
    const etcd = await startEtcd();
    const port = await freePort();
    const missing = vaneOn(etcd, port, join(dir, "none"));
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toContain(`etcd:${KEY}: no such key in etcd`);
    await etcd.kill();
    const down = vaneOn(etcd, port, join(dir, "none"));
    expect(await down.exited).toBe(1);
    expect(down.stderr()).toMatch(new RegExp(`etcd:${KEY}: cannot read from etcd .*; and no cached copy`));
    expect(down.stderr()).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  }, 40_000);

  it(
    "vane run BOOT.yaml whose `source: etcd` names the key serves and follows it; vane check accepts the file",
    async () => {
      const etcd = await startEtcd();
      await new EtcdClient([etcd.url]).put(KEY, config(200, "booted"));
      const port = await freePort();
      const boot = join(dir, "boot.yaml");
      writeFileSync(
        boot,
        `source:\n  etcd:\n    endpoints: [${etcd.url}]\n    prefix: ${PREFIX}\nstate-dir: ${
          join(dir, "boot-state")
        }\n`,
      );
      const check = spawnVane(["check", boot]);
      expect(await check.exited).toBe(0);
      expect(check.stdout()).toContain(`${boot}: ok (the config is in etcd: ${KEY} at ${etcd.url})`);
      const v = spawnVane(["run", boot, "--listen", `http://127.0.0.1:${port}`]);
      await waitFor("serving from etcd", async () => (await answer(port)) === "200 booted", 20_000);
      await new EtcdClient([etcd.url]).put(KEY, config(204, ""));
      await waitFor("following etcd", async () => (await answer(port)).startsWith("204"), 20_000);
      expect(v.stderr()).toContain(`config from etcd key=${KEY}`);
      // The bootstrap file was not taken for the config: not rewritten, not reloaded from.
      expect(readFileSync(boot, "utf8")).toContain("source:");
    },
    40_000,
  );
});
