/**
 * A DNS-named target end to end: vane asks a loopback DNS server (--resolver), sends
 * traffic to what it answers, and follows the record when it changes after its TTL.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { closeAll, nameServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { startDnsServer } from "../helpers/dns-server.ts";
import { startVane, status, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

const dns = await startDnsServer({});

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});
afterAll(() => dns.close());

describe("DNS targets", () => {
  it("connects to the address the name resolves to, and follows a change after the TTL", async () => {
    const a = await nameServer("a");
    // Same port on another loopback address: only DNS tells the two apart.
    const b = await nameServer("b", a.port, "127.0.0.2");
    dns.set("backend.vane.test", { A: ["127.0.0.1"], ttl: 1 });
    const v = await startVane([
      "--resolver",
      `127.0.0.1:${dns.port}`,
      "--route",
      `*=backend.vane.test:${a.port}`,
      "--health-interval",
      "200ms",
    ]);
    expect((await exchange(v.port, "?")).toString()).toBe("a");
    const before = (await status(v)).pools.default.targets[0];
    expect(before).toMatchObject({
      target: `backend.vane.test:${a.port}`,
      address: `127.0.0.1:${a.port}`,
      healthy: true,
    });

    dns.set("backend.vane.test", { A: ["127.0.0.2"], ttl: 1 });
    await waitFor("traffic follows the new record", async () => (await exchange(v.port, "?")).toString() === "b");
    expect((await status(v)).pools.default.targets[0].address).toBe(`127.0.0.2:${b.port}`);
  }, 20000);

  it("treats a name that does not resolve as unavailable, not fatal, and serves it once it appears", async () => {
    const a = await nameServer("a");
    const fb = await nameServer("fallback");
    const v = await startVane([
      "--resolver",
      `127.0.0.1:${dns.port}`,
      "--route",
      `*=later.vane.test:${a.port}`,
      "--fallback",
      `127.0.0.1:${fb.port}`,
      "--health-interval",
      "200ms",
      "--rise",
      "1",
    ]);
    const t = (await status(v)).pools.default.targets[0];
    expect(t.healthy).toBe(false);
    expect(t.lastError).toMatch(/later\.vane\.test/);
    expect((await exchange(v.port, "?")).toString()).toBe("fallback");

    dns.set("later.vane.test", { A: ["127.0.0.1"], ttl: 60 });
    // The failed lookup is asked again after the negative TTL (5 s).
    await waitFor(
      "the name resolves and the target comes up",
      async () => (await status(v)).pools.default.targets[0].healthy === true,
      12000,
    );
    expect((await exchange(v.port, "?")).toString()).toBe("a");
  }, 20000);
});
