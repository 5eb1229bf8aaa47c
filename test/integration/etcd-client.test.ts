/**
 * vane's etcd client (src/config/etcd/) against a real etcd 3.4 over its JSON gateway:
 * prefix reads, a watch that resumes from its revision after etcd is killed and
 * started again (no change missed, none twice), a compaction that makes the owner
 * re-read, leases that expire, and user/password auth.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EtcdClient, type EtcdEvent } from "../../src/config/etcd/client.ts";
import { PrefixWatch } from "../../src/config/etcd/watch.ts";
import { startEtcd, stopAllEtcd } from "../helpers/etcd.ts";
import { waitFor } from "../helpers/wait.ts";

const watches: PrefixWatch[] = [];
afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  await stopAllEtcd();
});

/** A watch of `prefix` from `from` that records each event as "put KEY=VALUE" or "delete KEY". */
function record(client: EtcdClient, prefix: string, from: number, backoff = { first: 250, max: 1000 }) {
  const seen: string[] = [];
  const states: Array<string | null> = [];
  let resets = 0;
  const w = new PrefixWatch(client, prefix, {
    fromRevision: from,
    onEvents: (events: EtcdEvent[]) => {
      for (const e of events) seen.push(e.type === "put" ? `put ${e.kv.key}=${e.kv.value}` : `delete ${e.kv.key}`);
    },
    onReset: async () => {
      const r = await client.range(prefix);
      for (const kv of r.kvs) seen.push(`read ${kv.key}=${kv.value}`);
      resets++;
      return r.revision;
    },
    onState: (e) => states.push(e),
    backoffMs: backoff,
  });
  watches.push(w);
  return { seen, states, resets: () => resets, watch: w };
}

describe("etcd client (real etcd 3.4, JSON gateway)", () => {
  it("reads a prefix and nothing beside it; gets, puts and deletes keys", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient([etcd.url]);
    await c.put("/vane/edge/config", "listeners: []\n");
    await c.put("/vane/edge/pools/web", "a");
    await c.put("/vane/edge-other/config", "not mine");
    await c.put("/vane/edgf", "past the prefix");
    const r = await c.range("/vane/edge/");
    expect(r.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ["/vane/edge/config", "listeners: []\n"],
      ["/vane/edge/pools/web", "a"],
    ]);
    expect(r.revision).toBeGreaterThanOrEqual(5);
    expect((await c.get("/vane/edge/config")).kv?.value).toBe("listeners: []\n");
    await c.delete("/vane/edge/pools/web");
    expect((await c.get("/vane/edge/pools/web")).kv).toBeNull();
  }, 30_000);

  it(
    "watches changes in order, and after etcd is killed and back resumes at its revision: none missed, none twice",
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const start = await c.put("/p/a", "1");
      // A long first backoff, so the changes below land while the watch is still away.
      const r = record(c, "/p/", start + 1, { first: 1500, max: 3000 });
      await c.put("/p/a", "2");
      await c.put("/x/ignored", "outside the prefix");
      await c.delete("/p/a");
      await waitFor("two events", () => r.seen.length === 2);
      expect(r.seen).toEqual(["put /p/a=2", "delete /p/a"]);

      await etcd.kill();
      await waitFor("the watch notices the outage", () => r.states.length === 1);
      expect(r.states[0]).not.toBeNull();
      await etcd.start();
      const c2 = new EtcdClient([etcd.url]);
      await c2.put("/p/b", "3");
      await c2.put("/p/b", "4");
      await waitFor("the changes made while it was away", () => r.seen.length === 4, 15_000);
      await c2.put("/p/c", "5");
      await waitFor("and the next", () => r.seen.length === 5);
      expect(r.seen).toEqual(["put /p/a=2", "delete /p/a", "put /p/b=3", "put /p/b=4", "put /p/c=5"]);
      expect(r.states.at(-1)).toBeNull();
      expect(r.resets()).toBe(0);
    },
    30_000,
  );

  it("re-reads the prefix when etcd compacted past the watch's revision, then follows on", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient([etcd.url]);
    const first = await c.put("/q/k", "1");
    await c.put("/q/k", "2");
    const last = await c.put("/q/k", "3");
    await etcd.ctl("compact", String(last), "--physical");
    const r = record(c, "/q/", first + 1);
    await waitFor("the re-read", () => r.resets() === 1);
    expect(r.seen).toEqual(["read /q/k=3"]);
    await c.put("/q/k", "4");
    await waitFor("the next change", () => r.seen.length === 2);
    expect(r.seen).toEqual(["read /q/k=3", "put /q/k=4"]);
  }, 30_000);

  it("drops a key when its lease expires, which the watch sees as a delete", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient([etcd.url]);
    const lease = await c.grantLease(1);
    const rev = await c.put("/svc/api/10.0.0.1:80", "{}", lease);
    const r = record(c, "/svc/", rev + 1);
    expect((await c.range("/svc/")).kvs.map((kv) => kv.lease)).toEqual([lease]);
    await waitFor("the lease expires", () => r.seen.length === 1, 10_000);
    expect(r.seen).toEqual(["delete /svc/api/10.0.0.1:80"]);
    expect((await c.range("/svc/")).kvs).toEqual([]);
  }, 30_000);

  it("authenticates with a user and password, and says why when they are wrong", async () => {
    const etcd = await startEtcd();
    await etcd.ctl("user", "add", "root:rootpw");
    await etcd.ctl("user", "add", "vane:s3cret");
    await etcd.ctl("role", "add", "edge");
    await etcd.ctl("role", "grant-permission", "edge", "--prefix=true", "readwrite", "/vane/");
    await etcd.ctl("user", "grant-role", "vane", "edge");
    await etcd.ctl("auth", "enable");

    const anon = new EtcdClient([etcd.url]);
    await expect(anon.range("/vane/")).rejects.toThrow(/user name is empty|permission denied|auth/i);
    const good = new EtcdClient([etcd.url], { user: "vane", password: "s3cret" });
    const rev = await good.put("/vane/config", "x: 1");
    const r = record(good, "/vane/", rev + 1);
    await good.put("/vane/config", "x: 2");
    await waitFor("the watch with a token", () => r.seen.length === 1);
    expect(r.seen).toEqual(["put /vane/config=x: 2"]);
    await expect(good.range("/other/")).rejects.toThrow(/permission denied/);
    const bad = new EtcdClient([etcd.url], { user: "vane", password: "wrong" });
    await expect(bad.range("/vane/")).rejects.toThrow(/authentication failed/);
  }, 30_000);

  it("moves on to the next endpoint when the first does not answer", async () => {
    const etcd = await startEtcd();
    const c = new EtcdClient(["http://127.0.0.1:1", etcd.url]);
    await c.put("/e/k", "v");
    expect((await c.get("/e/k")).kv?.value).toBe("v");
    expect(c.endpoint).toBe(etcd.url);
  }, 30_000);

  it("speaks TLS with a client certificate to a member that requires one, and says so when it is missing", async () => {
    const etcd = await startEtcd({ tls: true });
    const pki = etcd.pki!;
    const c = new EtcdClient([etcd.url], { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    const rev = await c.put("/t/k", "1");
    const r = record(c, "/t/", rev + 1);
    await c.put("/t/k", "2");
    await waitFor("the watch over TLS", () => r.seen.length === 1);
    expect(r.seen).toEqual(["put /t/k=2"]);
    // No client certificate: the member refuses the handshake; no CA: ours is not trusted.
    await expect(new EtcdClient([etcd.url], { ca: pki.ca }).range("/t/")).rejects.toThrow();
    await expect(new EtcdClient([etcd.url]).range("/t/")).rejects.toThrow(/certificate|self.signed|verify/i);
  }, 30_000);
});
