/**
 * The admin API and `vane ctl` against a real `--workers 2` vane with real backends:
 * a drain lets an in-flight request finish while new ones go elsewhere, and survives a
 * reload; added, removed, reweighted and hand-marked targets change where requests go
 * in every worker; mutating calls need the token; /events reports admin changes and
 * health; POST /config/save writes a file `vane check` accepts.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";
import type { AdminPool } from "../../src/control/admin-routes.ts";

const TOKEN = "admin-test-token";
const dir = mkdtempSync(join(tmpdir(), "vane-admin-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that answers its name; `/slow` after 1.5 s. */
function named(name: string): Promise<Backend> {
  return startBackend((req, res) => {
    if (req.url === "/slow") setTimeout(() => res.end(name), 1500);
    else res.end(name);
  });
}

interface Running {
  port: number;
  status: number;
  file: string;
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<Response>;
  pools(): Promise<Record<string, AdminPool>>;
  ctl(...args: string[]): Promise<{ code: number | null; out: string; err: string }>;
}

/** vane --workers 2 on a config file with pool `web` of `targets`, the token set. */
async function start(targets: Backend[], extra = ""): Promise<Running> {
  const port = await freePort();
  const status = await freePort();
  const file = join(dir, `vane-${port}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - proxy: web
pools:
  web:
    targets: [${targets.map((b) => `127.0.0.1:${b.port}`).join(", ")}]
    health: { check: tcp, interval: 300ms, timeout: 300ms, rise: 1, fall: 1 }
${extra}control:
  listen: 127.0.0.1:${status}
workers: 2
`,
  );
  spawnVane(["run", file], { VANE_ADMIN_TOKEN: TOKEN });
  await serving(status, 2);
  const api = (method: string, path: string, body?: unknown, token: string | null = TOKEN) =>
    fetch(`http://127.0.0.1:${status}${path}`, {
      method,
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    port,
    status,
    file,
    api,
    pools: async () => ((await (await api("GET", "/pools")).json()) as { pools: Record<string, AdminPool> }).pools,
    ctl: async (...args) => {
      const p = spawnVane(["ctl", "--status", `127.0.0.1:${status}`, ...args], { VANE_ADMIN_TOKEN: TOKEN });
      const code = await p.exited;
      return { code, out: p.stdout(), err: p.stderr() };
    },
  };
}

/** `n` requests, each on a new connection (curl), so both workers get some; the names that answered. */
async function names(port: number, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const text = (await curl([`http://127.0.0.1:${port}/`])).stdout.toString();
    out[text] = (out[text] ?? 0) + 1;
  }
  return out;
}

const target = (b: Backend) => `127.0.0.1:${b.port}`;

describe("admin API with --workers 2", () => {
  it(
    "a drain sends new requests elsewhere while one in flight finishes, shows draining then drained, and survives a reload",
    async () => {
      const [a, b] = [await named("a"), await named("b")];
      const v = await start([a, b]);
      // A slow request to a: sent until one lands there (the strategy takes turns).
      let slow: Promise<string> | null = null;
      await waitFor("a slow request in flight to a", async () => {
        const p = fetch(`http://127.0.0.1:${v.port}/slow`, { headers: { Connection: "close" } }).then((r) => r.text());
        await new Promise((r) => setTimeout(r, 200));
        const pools = await v.pools();
        if (pools.web.targets.find((t) => t.target === target(a))!.activeConnections > 0) {
          slow = p;
          return true;
        }
        await p;
        return false;
      }, 15_000);
      const drained = await v.api("POST", `/pools/web/targets/${target(a)}/drain`);
      expect(drained.status).toBe(200);
      expect((await v.pools()).web.targets.find((t) => t.target === target(a))!.state).toBe("draining");
      expect(await names(v.port, 20)).toEqual({ b: 20 });
      expect(await slow!).toBe("a");
      await waitFor("drained once the request finished", async () => {
        return (await v.pools()).web.targets.find((t) => t.target === target(a))!.state === "drained";
      });

      // A reload of the file keeps the drain.
      const reload = await v.api("POST", "/reload");
      expect(reload.status).toBe(200);
      expect(await names(v.port, 10)).toEqual({ b: 10 });
      expect((await v.pools()).web.targets.find((t) => t.target === target(a))!.draining).toBe(true);

      await v.api("POST", `/pools/web/targets/${target(a)}/undrain`);
      const back = await names(v.port, 20);
      expect(back.a).toBeGreaterThan(0);
      expect(back.b).toBeGreaterThan(0);
    },
    60_000,
  );

  it("vane ctl adds, reweights, marks down and up, and removes targets; every worker follows", async () => {
    const [a, b, c] = [await named("a"), await named("b"), await named("c")];
    const v = await start([a, b]);

    const table = await v.ctl("pools");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^POOL\s+TARGET\s+ROLE\s+STATE/);
    expect(table.out).toContain(`web   ${target(a)}`);
    const json = await v.ctl("pools", "--json");
    expect(JSON.parse(json.out).pools.web.targets.map((t: { target: string }) => t.target)).toEqual([
      target(a),
      target(b),
    ]);

    const added = await v.ctl("add", "web", target(c));
    expect(added.code).toBe(0);
    expect(added.out).toContain(`added ${target(c)}`);
    expect((await names(v.port, 30)).c).toBeGreaterThan(0);

    // Weight 8 for c against 1 each for a and b: c takes about 80% (tolerant bound).
    expect((await v.ctl("weight", "web", target(c), "8")).code).toBe(0);
    const weighted = await names(v.port, 40);
    expect(weighted.c).toBeGreaterThanOrEqual(24);

    expect((await v.ctl("mark", "web", target(c), "down")).code).toBe(0);
    const down = await names(v.port, 20);
    expect(down.c).toBeUndefined();
    expect((await v.pools()).web.targets.find((t) => t.target === target(c))!.manual).toBe("down");
    expect((await v.ctl("mark", "web", target(c), "auto")).code).toBe(0);

    const removed = await v.ctl("remove", "web", target(c));
    expect(removed.code).toBe(0);
    const before = c.requests;
    const after = await names(v.port, 20);
    expect(after.c).toBeUndefined();
    expect(c.requests).toBe(before);
    expect((await v.pools()).web.targets.map((t) => t.target)).toEqual([target(a), target(b)]);

    // `vane ctl tail --events` follows the event stream (access-log lines come the same way).
    const tail = spawnVane(["ctl", "--status", `127.0.0.1:${v.status}`, "tail", "--events"]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await v.ctl("weight", "web", target(b), "2")).code).toBe(0);
    await waitFor("the tail shows the change", () => tail.stdout().includes("change=weight"));
    expect(tail.stdout()).toMatch(
      new RegExp(`admin by=127\\.0\\.0\\.1 \\(token\\) change=weight pool=web target=${target(b)} weight=2`),
    );
    tail.child.kill();

    // Drain and undrain through ctl, then the errors: each says why, exit 1.
    expect((await v.ctl("drain", "web", target(a))).out).toContain("draining");
    expect((await names(v.port, 10)).a).toBeUndefined();
    expect((await v.ctl("undrain", "web", target(a))).code).toBe(0);
    const unknownPool = await v.ctl("drain", "nope", target(a));
    expect(unknownPool.code).toBe(1);
    expect(unknownPool.err).toContain('no pool "nope"');
    const unknownTarget = await v.ctl("drain", "web", "10.9.9.9:1");
    expect(unknownTarget.code).toBe(1);
    expect(unknownTarget.err).toContain('no target "10.9.9.9:1" in pool "web"');
    const noToken = spawnVane(["ctl", "--status", `127.0.0.1:${v.status}`, "drain", "web", target(a)], {
      VANE_ADMIN_TOKEN: "",
    });
    expect(await noToken.exited).toBe(1);
    expect(noToken.stderr()).toContain("the admin token is missing or wrong: set VANE_ADMIN_TOKEN");
    // The requests above reached both processes, so each of them followed the changes.
    expect((await statusOf(v.status)).workers.map((w) => w.connections > 0)).toEqual([true, true]);
    const nowhere = spawnVane(["ctl", "--status", `127.0.0.1:${await freePort()}`, "pools"]);
    expect(await nowhere.exited).toBe(1);
    expect(nowhere.stderr()).toContain("nothing answers at 127.0.0.1:");
  }, 90_000);

  it(
    "refuses mutating calls without the token, streams admin and health events, and saves a config vane check accepts",
    async () => {
      const [a, b, c] = [await named("a"), await named("b"), await named("c")];
      const v = await start([a, b]);

      for (const [method, path] of [["POST", `/pools/web/targets/${target(a)}/drain`], ["POST", "/config/save"]]) {
        const res = await v.api(method, path, undefined, null);
        expect(res.status).toBe(401);
      }
      expect((await v.pools()).web.targets.every((t) => !t.draining)).toBe(true);

      // /events, read as a stream.
      const events: Array<Record<string, unknown>> = [];
      const stream = await fetch(`http://127.0.0.1:${v.status}/events`);
      expect(stream.headers.get("content-type")).toContain("text/event-stream");
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          pending += decoder.decode(value, { stream: true });
          for (let nl; (nl = pending.indexOf("\n")) >= 0; pending = pending.slice(nl + 1)) {
            const line = pending.slice(0, nl);
            if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)));
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 200));

      expect((await v.api("PUT", `/pools/web/targets/${target(b)}/weight`, { weight: 3 })).status).toBe(200);
      expect((await v.api("POST", "/pools/web/targets", { target: target(c) })).status).toBe(200);
      await waitFor("the admin events", () => events.filter((e) => e.type === "admin").length >= 2);
      expect(events.find((e) => e.type === "admin" && e.change === "weight")).toMatchObject({
        by: "127.0.0.1 (token)",
        pool: "web",
        target: target(b),
        weight: 3,
      });

      // A backend killed: the health event says so.
      await new Promise<void>((done) => {
        a.server.closeAllConnections();
        a.server.close(() => done());
      });
      await waitFor(
        "a health event for a",
        () => events.some((e) => e.type === "health" && e.target === target(a)),
        10_000,
      );
      expect(events.find((e) => e.type === "health" && e.target === target(a))).toMatchObject({
        pool: "web",
        up: false,
      });
      await reader.cancel();

      // Bad input names the key path; a bad pool changes nothing.
      const bad = await v.api("PUT", "/pools/extra", { targets: [target(c)], strategy: "nope" });
      expect(bad.status).toBe(422);
      expect(((await bad.json()) as { errors: string[] }).errors[0]).toMatch(/^pools\.extra\.strategy: expected/);

      // A pool put as YAML and a host route to it: requests for that host go there, in every worker.
      const put = await fetch(`http://127.0.0.1:${v.status}/pools/extra`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/yaml" },
        body: `targets: [${target(c)}]\nstrategy: random\n`,
      });
      expect(put.status).toBe(200);
      const listen = `http://127.0.0.1:${v.port}`;
      expect((await v.api("PUT", "/routes", { listener: listen, host: "extra.test", pool: "extra" })).status).toBe(200);
      // curl: Deno's fetch does not send a Host header of the caller's.
      for (let i = 0; i < 6; i++) {
        const res = await curl(["-H", "Host: extra.test", `http://127.0.0.1:${v.port}/`]);
        expect(res.stdout.toString()).toBe("c");
      }

      const saved = await v.api("POST", "/config/save");
      expect(saved.status).toBe(200);
      expect(existsSync(`${v.file}.bak`)).toBe(true);
      const text = readFileSync(v.file, "utf8");
      expect(text).toContain(`${target(b)}@3`);
      expect(text).toContain(target(c));
      expect(text).toMatch(/extra:\n\s+targets:\n\s+- 127\.0\.0\.1:\d+\n\s+strategy: random/);
      expect(text).toContain("host: extra.test");
      const check = spawnVane(["check", v.file]);
      expect(await check.exited).toBe(0);
    },
    60_000,
  );
  it("vane ctl tail follows the access log of every worker: each request one line, as in the file", async () => {
    const [a] = [await named("a")];
    const log = join(dir, "access-tail.log");
    const v = await start([a], `access-log: ${log}\n`);
    const tail = spawnVane(["ctl", "--status", `127.0.0.1:${v.status}`, "tail"]);
    // The primary asks its workers to relay once someone follows /events.
    await new Promise((r) => setTimeout(r, 800));
    const paths = Array.from({ length: 30 }, (_, i) => `/tail-${i}`);
    // A new connection per request (curl), so both workers serve some.
    for (const p of paths) expect((await curl([`http://127.0.0.1:${v.port}${p}`])).stdout.toString()).toBe("a");
    const seen = () => tail.stdout().split("\n").filter((l) => l.includes('"path":"/tail-'));
    await waitFor("the tail shows every request", () => seen().length >= paths.length);
    tail.child.kill();
    const tailed = seen().map((l) => (JSON.parse(l) as { path: string }).path).sort();
    expect(tailed).toEqual([...paths].sort());
    // The same lines as the file holds, one per request.
    await waitFor("the file has every request", () => {
      return existsSync(log) && readFileSync(log, "utf8").split("\n").filter((l) => l.includes("/tail-")).length === 30;
    });
    const inFile = readFileSync(log, "utf8").split("\n").filter((l) => l.includes("/tail-")).sort();
    expect(seen().sort()).toEqual(inFile);
  });
});
