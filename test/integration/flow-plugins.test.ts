/**
 * Plugins for real: HTTP plugins on node:http servers on 127.0.0.1, command plugins
 * run through `sh -c`, and function plugins. Branches, keys in later templates,
 * timeouts, failures, the breaker, the rate-limited log, and no process left behind.
 * Time bounds are upper bounds far above the timeouts under test.
 */
import { afterAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action, PluginSpec, Rule } from "../../src/config/model.ts";
import { compileFlow, type FlowDeps, type FlowFunction, inputOf, type KeyValue } from "../../src/flow/flow.ts";
import type { LogFields, Logger } from "../../src/telemetry/logger.ts";
import { limited } from "../../src/telemetry/log-limit.ts";
import { waitFor } from "../helpers/wait.ts";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const servers: http.Server[] = [];
const pendingTimers = new Set<ReturnType<typeof setTimeout>>();
const tmp = mkdtempSync(join(tmpdir(), "vane-flow-plugins-"));

afterAll(async () => {
  for (const t of pendingTimers) clearTimeout(t);
  await Promise.all(servers.map((s) => {
    s.closeAllConnections?.();
    return new Promise<void>((done) => s.close(() => done()));
  }));
  rmSync(tmp, { recursive: true, force: true });
});

interface Seen {
  method: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** An HTTP plugin server: `answer` decides each reply; every request is recorded. */
async function pluginServer(
  answer: (seen: Seen, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    req.on("end", () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch { /* recorded as {} */ }
      const s = { method: req.method ?? "", contentType: req.headers["content-type"], body };
      seen.push(s);
      answer(s, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/decide`, seen };
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

interface Line {
  level: string;
  msg: string;
  fields?: LogFields;
}

function capture(): { log: Logger; lines: Line[]; warnings: () => Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => lines.push({ level, msg, fields });
  return {
    log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    lines,
    warnings: () => lines.filter((l) => l.level === "warn"),
  };
}

function clock(start = 10_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

type PluginAction = Extract<Action, { kind: "plugin" }>;

function pluginRule(plugin: PluginSpec, more: Partial<PluginAction> = {}): Rule {
  return {
    when: null,
    action: {
      kind: "plugin",
      plugin,
      timeoutMs: 2000,
      failures: 100,
      quietMs: 1000,
      branches: {},
      failure: [{ when: null, action: { kind: "respond", status: 503, headers: [], body: "plugin failed" } }],
      ...more,
    },
  };
}

const proxy = (pool: string): Rule => ({ when: null, action: { kind: "proxy", pool } });
const FAILED = { kind: "respond", status: 503, headers: [], body: "plugin failed" };

const request: Record<string, KeyValue> = {
  "conn.ip": "127.0.0.1",
  "conn.port": "50000",
  "req.method": "GET",
  "req.path": "/admin/users",
  "req.header.x-token": "t0k",
  "tls.alpn": ["h2", "http/1.1"],
};

/** Alive means signalable and not a zombie (a reaped-by-nobody zombie holds no resources). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true;
  }
}

// ---------------------------------------------------------------------------
// HTTP plugins
// ---------------------------------------------------------------------------

describe("http plugins", () => {
  it("POSTs the keys as flat JSON; the branch runs and the answered keys feed later rules and templates", async () => {
    const { url, seen } = await pluginServer((s, res) =>
      json(res, 200, { branch: s.body["req.path"] === "/admin/users" ? "admin" : "user", keys: { user: "ann" } })
    );
    const flow = compileFlow([
      pluginRule({ kind: "http", url }, {
        branches: {
          admin: [{
            when: null,
            action: { kind: "set-headers", request: [["x-user", "{{plugin.user}}"]], response: [] },
          }],
          user: [proxy("users")],
        },
      }),
      {
        when: { kind: "key", key: "plugin.user", matcher: { op: "equals", value: "ann" } },
        action: { kind: "redirect", status: 302, location: "/home/{{ plugin.user }}" },
      },
      proxy("fallthrough"),
    ], { log: capture().log });

    const r = await flow.run(inputOf(request));
    expect(r.request).toEqual([{ op: "set", name: "x-user", value: "ann" }]);
    expect(r.outcome).toEqual({ kind: "respond", status: 302, headers: [["location", "/home/ann"]], body: "" });
    expect(seen).toEqual([{ method: "POST", contentType: "application/json", body: request }]);

    const other = await flow.run(inputOf({ ...request, "req.path": "/" }));
    expect(other.outcome).toEqual({ kind: "proxy", pool: "users" });
  });

  it("sends a later plugin the keys answered by an earlier one", async () => {
    const { url, seen } = await pluginServer((_s, res) => json(res, 200, { keys: { step: String(seen.length) } }));
    const flow = compileFlow([
      pluginRule({ kind: "http", url }),
      pluginRule({ kind: "http", url }),
      { when: null, action: { kind: "respond", status: 200, headers: [], body: "{{plugin.step}}" } },
    ], { log: capture().log });
    const r = await flow.run(inputOf({ "conn.ip": "127.0.0.1" }));
    expect(seen.map((s) => s.body)).toEqual([{ "conn.ip": "127.0.0.1" }, {
      "conn.ip": "127.0.0.1",
      "plugin.step": "1",
    }]);
    expect(r.outcome).toMatchObject({ kind: "respond", body: "2" });
  });

  it("goes on with the next rule on an unknown or absent branch", async () => {
    const { url } = await pluginServer((s, res) =>
      json(res, 200, s.body["req.path"] === "/a" ? { branch: "nope" } : {})
    );
    const flow = compileFlow(
      [pluginRule({ kind: "http", url }, { branches: { yes: [proxy("yes")] } }), proxy("next")],
      {
        log: capture().log,
      },
    );
    expect((await flow.run(inputOf({ "req.path": "/a" }))).outcome).toEqual({ kind: "proxy", pool: "next" });
    expect((await flow.run(inputOf({ "req.path": "/b" }))).outcome).toEqual({ kind: "proxy", pool: "next" });
  });

  it("takes the failure branch on a timeout, well before the slow answer", async () => {
    const { url, seen } = await pluginServer((_s, res) => {
      const t = setTimeout(() => {
        pendingTimers.delete(t);
        if (!res.destroyed) json(res, 200, { branch: "late" });
      }, 5000);
      pendingTimers.add(t);
    });
    const cap = capture();
    const flow = compileFlow([pluginRule({ kind: "http", url }, { timeoutMs: 200 }), proxy("next")], { log: cap.log });
    const started = performance.now();
    const r = await flow.run(inputOf(request));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(seen.length).toBe(1);
    expect(r.outcome).toEqual(FAILED);
    expect(cap.warnings()).toHaveLength(1);
    expect(cap.warnings()[0].fields).toMatchObject({ plugin: url, reason: "timed out after 200ms" });
  });

  it("without failure rules, goes on with the next rule after a failure", async () => {
    const { url } = await pluginServer((_s, res) => json(res, 500, { branch: "x" }));
    const flow = compileFlow([pluginRule({ kind: "http", url }, { failure: null }), proxy("next")], {
      log: capture().log,
    });
    expect((await flow.run(inputOf(request))).outcome).toEqual({ kind: "proxy", pool: "next" });
  });

  it("fails on a non-2xx status, invalid JSON, a non-object answer, a bad field and an oversized body", async () => {
    const cases: Array<[string, (res: http.ServerResponse) => void, RegExp]> = [
      ["500", (res) => json(res, 500, { branch: "admin" }), /HTTP 500/],
      ["garbage", (res) => json(res, 200, "<html>"), /invalid JSON/],
      ["array", (res) => json(res, 200, [1, 2]), /an array, expected a JSON object/],
      ["string", (res) => json(res, 200, '"admin"'), /a string, expected a JSON object/],
      ["bad branch", (res) => json(res, 200, { branch: 7 }), /branch that is a number/],
      ["bad keys", (res) => json(res, 200, { keys: { a: { b: 1 } } }), /key "a" as an object/],
      ["huge", (res) => json(res, 200, JSON.stringify({ keys: { a: "x".repeat(70_000) } })), /larger than 65536/],
    ];
    for (const [name, answer, reason] of cases) {
      const { url } = await pluginServer((_s, res) => answer(res));
      const cap = capture();
      const flow = compileFlow([pluginRule({ kind: "http", url }, { branches: { admin: [proxy("admin")] } })], {
        log: cap.log,
      });
      expect((await flow.run(inputOf(request))).outcome, name).toEqual(FAILED);
      expect(String(cap.warnings()[0]?.fields?.reason), name).toMatch(reason);
    }
  });

  it("takes the failure branch when nothing listens", async () => {
    const { url } = await pluginServer((_s, res) => json(res, 200, {}));
    const server = servers.pop()!;
    await new Promise<void>((done) => server.close(() => done()));
    const flow = compileFlow([pluginRule({ kind: "http", url })], { log: capture().log });
    expect((await flow.run(inputOf(request))).outcome).toEqual(FAILED);
  });

  it("breaker: after N failures in a row the plugin is not called for the quiet period, then tried again", async () => {
    let status = 500;
    const { url, seen } = await pluginServer((_s, res) => json(res, status, { branch: "ok" }));
    const c = clock();
    const cap = capture();
    const flow = compileFlow([
      pluginRule({ kind: "http", url }, { failures: 2, quietMs: 5000, branches: { ok: [proxy("ok")] } }),
    ], { log: cap.log, now: c.now });
    const outcome = async () => (await flow.run(inputOf(request))).outcome;

    expect(await outcome()).toEqual(FAILED);
    expect(await outcome()).toEqual(FAILED);
    expect(seen.length).toBe(2);
    expect(cap.warnings().some((l) => /2 times in a row: skipped for 5000ms/.test(l.msg))).toBe(true);

    // Open: failing at once, without a request.
    for (let i = 0; i < 5; i++) expect(await outcome()).toEqual(FAILED);
    c.advance(4999);
    expect(await outcome()).toEqual(FAILED);
    expect(seen.length).toBe(2);

    // The trial fails: open again for another quiet period.
    c.advance(1);
    expect(await outcome()).toEqual(FAILED);
    expect(seen.length).toBe(3);
    expect(await outcome()).toEqual(FAILED);
    expect(seen.length).toBe(3);

    // The next trial succeeds: closed, and every evaluation asks again.
    status = 200;
    c.advance(5000);
    expect(await outcome()).toEqual({ kind: "proxy", pool: "ok" });
    expect(await outcome()).toEqual({ kind: "proxy", pool: "ok" });
    expect(seen.length).toBe(5);
    expect(cap.lines.filter((l) => l.level === "info" && /answers again/.test(l.msg))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// Command plugins
// ---------------------------------------------------------------------------

const sh = (script: string): PluginSpec => ({ kind: "command", argv: ["sh", "-c", script] });

describe("command plugins", () => {
  it("reads the keys on stdin and answers a branch derived from them, with keys for later templates", async () => {
    const script = `input=$(cat)
case "$input" in
  *'"req.path":"/admin/'*) echo '{"branch":"admin","keys":{"seen":"admin path"}}' ;;
  *) echo '{"branch":"user"}' ;;
esac`;
    const flow = compileFlow([
      pluginRule(sh(script), {
        branches: {
          admin: [{
            when: null,
            action: { kind: "respond", status: 200, headers: [["x-seen", "{{plugin.seen}}"]], body: "" },
          }],
          user: [proxy("user")],
        },
      }),
    ], { log: capture().log });
    expect((await flow.run(inputOf(request))).outcome)
      .toEqual({ kind: "respond", status: 200, headers: [["x-seen", "admin path"]], body: "" });
    expect((await flow.run(inputOf({ ...request, "req.path": "/" }))).outcome).toEqual({ kind: "proxy", pool: "user" });
  });

  it("kills a command that runs past the timeout, its background jobs included", async () => {
    const shellPid = join(tmp, "shell.pid");
    const jobPid = join(tmp, "job.pid");
    const cap = capture();
    const flow = compileFlow([
      pluginRule(sh(`echo $$ > ${shellPid}; sleep 10 & echo $! > ${jobPid}; wait`), { timeoutMs: 1000 }),
    ], { log: cap.log });
    const started = performance.now();
    const r = await flow.run(inputOf(request));
    expect(performance.now() - started).toBeLessThan(8000);
    expect(r.outcome).toEqual(FAILED);
    expect(cap.warnings()[0].fields?.reason).toBe("timed out after 1000ms");
    expect(existsSync(shellPid) && existsSync(jobPid)).toBe(true);
    const pids = [shellPid, jobPid].map((f) => Number(readFileSync(f, "utf8").trim()));
    // The shell has been reaped by the time the call returns; the job dies with its group.
    expect(alive(pids[0])).toBe(false);
    await waitFor("the background job to be gone", () => !alive(pids[1]), 2000);
  });

  it("leaves no background job behind after a clean exit", async () => {
    const jobPid = join(tmp, "clean-job.pid");
    const flow = compileFlow([
      pluginRule(sh(`sleep 10 >/dev/null 2>&1 & echo $! > ${jobPid}; echo '{"branch":"ok"}'`), {
        branches: { ok: [proxy("ok")] },
      }),
    ], { log: capture().log });
    expect((await flow.run(inputOf(request))).outcome).toEqual({ kind: "proxy", pool: "ok" });
    const pid = Number(readFileSync(jobPid, "utf8").trim());
    await waitFor("the background job to be gone", () => !alive(pid), 2000);
  });

  it("fails on a non-zero exit, naming the code and the last line of stderr", async () => {
    const cap = capture();
    const flow = compileFlow([pluginRule(sh(`echo '{"branch":"x"}'; echo first >&2; echo 'bad input' >&2; exit 3`))], {
      log: cap.log,
    });
    expect((await flow.run(inputOf(request))).outcome).toEqual(FAILED);
    expect(cap.warnings()[0].fields?.reason).toBe("exited with code 3: bad input");
  });

  it("fails on output that is not JSON, or too large", async () => {
    const cap = capture();
    const flow = compileFlow([pluginRule(sh("echo garbage here"))], { log: cap.log });
    expect((await flow.run(inputOf(request))).outcome).toEqual(FAILED);
    expect(cap.warnings()[0].fields?.reason).toMatch(/^answered invalid JSON: "garbage here/);

    const big = compileFlow([pluginRule(sh("head -c 200000 /dev/zero | tr '\\0' a"))], { log: cap.log });
    expect((await big.run(inputOf(request))).outcome).toEqual(FAILED);
  });

  it("fails when the command does not exist", async () => {
    const cap = capture();
    const flow = compileFlow([pluginRule({ kind: "command", argv: [join(tmp, "no-such-plugin")] })], {
      log: cap.log,
    });
    expect((await flow.run(inputOf(request))).outcome).toEqual(FAILED);
    expect(cap.warnings()[0].fields?.reason).toMatch(/^could not run /);
  });

  it("does not mind a command that ignores stdin", async () => {
    const flow = compileFlow([pluginRule(sh(`echo '{"branch":"ok"}'`), { branches: { ok: [proxy("ok")] } })], {
      log: capture().log,
    });
    const big = { ...request, "req.header.x-big": "x".repeat(1 << 20) };
    expect((await flow.run(inputOf(big))).outcome).toEqual({ kind: "proxy", pool: "ok" });
  });
});

// ---------------------------------------------------------------------------
// Function plugins
// ---------------------------------------------------------------------------

describe("function plugins", () => {
  const withFns = (fns: Record<string, FlowFunction>, more: Partial<FlowDeps> = {}): FlowDeps => ({
    log: capture().log,
    functions: new Map(Object.entries(fns)),
    ...more,
  });

  it("are called with the keys and a signal; sync and async answers both work", async () => {
    const calls: Array<Record<string, string | readonly string[]>> = [];
    const deps = withFns({
      sync: (keys) => {
        calls.push(keys);
        return { keys: { a: "1", n: 2 as unknown as string } };
      },
      async: async (keys, signal) => {
        calls.push(keys);
        expect(signal.aborted).toBe(false);
        await new Promise((r) => setTimeout(r, 5));
        return { branch: "go" };
      },
    });
    const flow = compileFlow([
      pluginRule({ kind: "function", name: "sync" }),
      pluginRule({ kind: "function", name: "async" }, {
        branches: {
          go: [{ when: null, action: { kind: "respond", status: 200, headers: [], body: "{{plugin.a}}{{plugin.n}}" } }],
        },
      }),
    ], deps);
    expect((await flow.run(inputOf(request))).outcome).toMatchObject({ kind: "respond", body: "12" });
    expect(calls[0]).toEqual(request);
    expect(calls[1]).toEqual({ ...request, "plugin.a": "1", "plugin.n": "2" });
  });

  it("take the failure branch when they throw or reject, and when missing", async () => {
    const cap = capture();
    const deps = withFns({
      throws: () => {
        throw new Error("boom");
      },
      rejects: () => Promise.reject(new Error("async boom")),
      garbage: () => 42 as unknown as { branch: string },
    }, { log: cap.log });
    for (const name of ["throws", "rejects", "garbage", "missing"]) {
      const flow = compileFlow([pluginRule({ kind: "function", name })], deps);
      expect((await flow.run(inputOf(request))).outcome, name).toEqual(FAILED);
    }
    expect(cap.warnings().map((l) => l.fields?.reason)).toEqual([
      "boom",
      "async boom",
      "answered a number, expected a JSON object",
      'no function named "missing" is registered',
    ]);
  });

  it("time out even when they ignore the signal, and the signal is aborted", async () => {
    let seenSignal: AbortSignal | null = null;
    const deps = withFns({
      hangs: (_keys, signal) => {
        seenSignal = signal;
        return new Promise(() => {});
      },
    });
    const flow = compileFlow([pluginRule({ kind: "function", name: "hangs" }, { timeoutMs: 100 })], deps);
    const started = performance.now();
    expect((await flow.run(inputOf(request))).outcome).toEqual(FAILED);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(seenSignal!.aborted).toBe(true);
  });

  it("breaker: while a trial is out, other evaluations are not let through", async () => {
    let calls = 0;
    let release!: () => void;
    let fail = true;
    const c = clock();
    const deps = withFns({
      f: () => {
        calls++;
        if (fail) throw new Error("down");
        return new Promise((r) => (release = () => r({ branch: "ok" })));
      },
    }, { now: c.now });
    const flow = compileFlow([pluginRule({ kind: "function", name: "f" }, {
      failures: 1,
      quietMs: 1000,
      branches: { ok: [proxy("ok")] },
    })], deps);
    expect((await flow.run(inputOf({}))).outcome).toEqual(FAILED);
    expect(calls).toBe(1);
    fail = false;
    c.advance(1000);
    const trial = flow.run(inputOf({}));
    const meanwhile = await flow.run(inputOf({}));
    expect(meanwhile.outcome).toEqual(FAILED);
    expect(calls).toBe(2);
    release();
    expect((await trial).outcome).toEqual({ kind: "proxy", pool: "ok" });
    const after = flow.run(inputOf({}));
    release();
    expect((await after).outcome).toEqual({ kind: "proxy", pool: "ok" });
    expect(calls).toBe(3);
  });

  it("log one failure line per plugin, counting the ones left out into a summary", async () => {
    const c = clock();
    const cap = capture();
    const flow = compileFlow([pluginRule({ kind: "function", name: "nope" }, { failures: 0 })], {
      log: cap.log,
      now: c.now,
    });
    for (let i = 0; i < 20; i++) await flow.run(inputOf({}));
    expect(cap.warnings()).toHaveLength(1);
    // The window's end, brought forward.
    limited(cap.log).flush();
    expect(cap.warnings()).toHaveLength(2);
    expect(cap.warnings()[1]).toMatchObject({
      msg: "19 more like this in the last 10s",
      fields: { kind: "plugin failed", plugin: "function:nope", suppressed: 19 },
    });
  });
});
