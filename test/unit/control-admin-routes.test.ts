import { describe, expect, it } from "vitest";
import { createControlApp } from "../../src/control/app.ts";
import type { AdminActor, AdminChange, AdminOps, AdminOutcome } from "../../src/control/admin-routes.ts";
import { EventHub } from "../../src/control/events.ts";
import type { StatusSnapshot } from "../../src/control/snapshot.ts";

/** Admin ops that record each change and answer `outcome`. */
function recorder(outcome: AdminOutcome = { ok: true }) {
  const changes: Array<{ who: AdminActor; change: AdminChange }> = [];
  const ops: AdminOps = {
    listeners: () => Promise.resolve([]),
    pools: () => Promise.resolve({ web: { strategy: "serial", targets: [] } }),
    change: (who, change) => {
      changes.push({ who, change });
      return Promise.resolve(outcome);
    },
    events: new EventHub(),
  };
  return { ops, changes };
}

const snapshot = () => ({}) as StatusSnapshot;
const LOOPBACK = { remote: { hostname: "127.0.0.1", port: 5000 } };

function app(ops: AdminOps, token: string | null = "t0k") {
  return createControlApp({ snapshot, admin: ops, token: () => token });
}

describe("admin routes", () => {
  it("turns each call into one change, with who made it", async () => {
    const { ops, changes } = recorder();
    const a = app(ops);
    const auth = { Authorization: "Bearer t0k" };
    const calls: Array<[string, string, unknown?]> = [
      ["POST", "/pools/web/targets/10.0.0.1%3A80/drain"],
      ["POST", "/pools/web/targets/10.0.0.1:80/undrain"],
      ["POST", "/pools/web/targets/10.0.0.1:80/drain", { fleet: true }],
      ["POST", "/pools/web/targets/10.0.0.1:80/undrain", { fleet: false }],
      ["PUT", "/pools/web/targets/10.0.0.1:80/weight", { weight: 4 }],
      ["POST", "/pools/web/targets/10.0.0.1:80/mark", { state: "down" }],
      ["POST", "/pools/web/targets", { target: "10.0.0.3:80@2" }],
      ["DELETE", "/pools/web/targets/10.0.0.3:80"],
      ["PUT", "/pools/api", { targets: ["10.0.1.1:80"] }],
      ["PUT", "/routes", { listener: "http://:80", host: "a.test", pool: "api" }],
      ["POST", "/config/save"],
    ];
    for (const [method, path, body] of calls) {
      const res = await a.request(path, {
        method,
        headers: auth,
        body: body === undefined ? undefined : JSON.stringify(body),
      }, LOOPBACK);
      expect(res.status).toBe(200);
    }
    expect(changes.map((c) => c.change)).toEqual([
      { op: "drain", pool: "web", target: "10.0.0.1:80" },
      { op: "undrain", pool: "web", target: "10.0.0.1:80" },
      { op: "drain", pool: "web", target: "10.0.0.1:80", fleet: true },
      { op: "undrain", pool: "web", target: "10.0.0.1:80" },
      { op: "weight", pool: "web", target: "10.0.0.1:80", weight: 4 },
      { op: "mark", pool: "web", target: "10.0.0.1:80", state: "down" },
      { op: "add", pool: "web", target: "10.0.0.3:80@2" },
      { op: "remove", pool: "web", target: "10.0.0.3:80" },
      { op: "put-pool", pool: "api", body: { targets: ["10.0.1.1:80"] } },
      { op: "put-route", listener: "http://:80", host: "a.test", pool: "api" },
      { op: "save" },
    ]);
    expect(changes[0].who).toEqual({ address: "127.0.0.1", auth: "token" });
  });

  it("takes a pool as YAML", async () => {
    const { ops, changes } = recorder();
    const res = await app(ops, null).request("/pools/api", {
      method: "PUT",
      headers: { "Content-Type": "application/yaml" },
      body: "targets: [10.0.1.1:80]\nstrategy: random\n",
    }, LOOPBACK);
    expect(res.status).toBe(200);
    expect(changes[0]).toEqual({
      who: { address: "127.0.0.1", auth: "loopback" },
      change: { op: "put-pool", pool: "api", body: { targets: ["10.0.1.1:80"], strategy: "random" } },
    });
  });

  it("refuses a change without the token (401) and a bad body (400), and changes nothing", async () => {
    const { ops, changes } = recorder();
    const a = app(ops);
    expect((await a.request("/pools/web/targets/x:1/drain", { method: "POST" }, LOOPBACK)).status).toBe(401);
    const auth = { Authorization: "Bearer t0k" };
    for (
      const [path, body, error] of [
        ["/pools/web/targets/x:1/weight", "{}", "weight: expected a whole number 0..256; got null"],
        ["/pools/web/targets/x:1/mark", '{"state":"sideways"}', 'state: expected "up", "down" or "auto"'],
        ["/pools/web/targets", "not json", "expected a JSON body"],
        ["/routes", '{"host":"a"}', 'expected {"listener": LISTEN'],
        ["/pools/web/targets/x:1/drain", '{"fleet":"yes"}', 'fleet: expected true or false; got "yes"'],
        ["/pools/web/targets/x:1/undrain", "fleet", "expected a JSON body"],
      ]
    ) {
      const method = path.endsWith("weight") || path === "/routes" ? "PUT" : "POST";
      const res = await a.request(path, { method, headers: auth, body }, LOOPBACK);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: string[] }).errors[0]).toContain(error);
    }
    expect(changes).toEqual([]);
  });

  it("answers a refused change with its status and errors", async () => {
    const { ops } = recorder({ ok: false, status: 404, errors: ['no pool "nope"; pools: web'] });
    const res = await app(ops).request("/pools/nope/targets/x:1/drain", {
      method: "POST",
      headers: { Authorization: "Bearer t0k" },
    }, LOOPBACK);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, errors: ['no pool "nope"; pools: web'] });
  });

  it("streams published events of the asked types as server-sent events", async () => {
    const { ops } = recorder();
    const res = await app(ops).request("/events?types=admin", {}, LOOPBACK);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    await reader.read(); // the opening comment
    ops.events.publish("health", { target: "x:1", up: false });
    ops.events.publish("admin", { change: "drain" });
    const { value } = await reader.read();
    const text = new TextDecoder().decode(value);
    expect(text).toMatch(/^event: admin\ndata: \{"type":"admin","time":"[^"]+","change":"drain"\}\n\n$/);
    await reader.cancel();
    expect(ops.events.subscribers).toBe(0);
  });
});
