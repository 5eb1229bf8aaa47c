/**
 * Evaluation order and actions: terminal and continuing actions, sub-flows that fall
 * through, header edits in order, terminate steps, runSync and plugins, a throwing
 * input, and needsDetection.
 */
import { describe, expect, it } from "vitest";
import type { Action, Condition, Rule } from "../../src/config/model.ts";
import { compileFlow, type FlowInput, inputOf, type KeyValue } from "../../src/flow/flow.ts";
import { type Logger, silentLogger } from "../../src/telemetry/logger.ts";
import { limited } from "../../src/telemetry/log-limit.ts";

const deps = { log: silentLogger };
const always = (action: Action): Rule => ({ when: null, action });
const on = (cond: Condition, action: Action): Rule => ({ when: cond, action });
const pathIs = (value: string): Condition => ({ kind: "key", key: "req.path", matcher: { op: "equals", value } });
const proxy = (pool: string): Action => ({ kind: "proxy", pool });
const setReq = (...request: Array<[string, string]>): Action => ({ kind: "set-headers", request, response: [] });
const setRes = (...response: Array<[string, string]>): Action => ({ kind: "set-headers", request: [], response });
const plugin = (name: string, more: Partial<Extract<Action, { kind: "plugin" }>> = {}): Action => ({
  kind: "plugin",
  plugin: { kind: "function", name },
  timeoutMs: 1000,
  failures: 3,
  quietMs: 1000,
  branches: {},
  failure: null,
  ...more,
});

const run = (rules: Rule[], values: Record<string, KeyValue> = {}) => compileFlow(rules, deps).runSync(inputOf(values));

describe("rule order and terminal actions", () => {
  it("lets the first matching terminal action win", () => {
    const rules = [on(pathIs("/a"), proxy("A")), on(pathIs("/b"), proxy("B")), always(proxy("default"))];
    expect(run(rules, { "req.path": "/a" }).outcome).toEqual({ kind: "proxy", pool: "A" });
    expect(run(rules, { "req.path": "/b" }).outcome).toEqual({ kind: "proxy", pool: "B" });
    expect(run(rules, { "req.path": "/c" }).outcome).toEqual({ kind: "proxy", pool: "default" });
    expect(run(rules, {}).outcome).toEqual({ kind: "proxy", pool: "default" });
  });

  it("stops at a terminal action: later rules do not run", () => {
    const r = run([always({ kind: "abort" }), always(setReq(["x-late", "1"])), always(proxy("B"))]);
    expect(r).toEqual({ outcome: { kind: "abort" }, request: [], response: [] });
  });

  it("ends with none, edits included, when no terminal action matched", () => {
    const r = run([always(setReq(["x-a", "1"])), on(pathIs("/nope"), proxy("A"))], { "req.path": "/x" });
    expect(r).toEqual({ outcome: { kind: "none" }, request: [{ op: "set", name: "x-a", value: "1" }], response: [] });
    expect(run([]).outcome).toEqual({ kind: "none" });
  });

  it("answers respond with its status, expanded headers in order (names lowercased) and body", () => {
    const r = run([
      always({
        kind: "respond",
        status: 403,
        headers: [["Content-Type", "text/plain"], ["X-Path", "{{req.path}}"], ["x-b", "2"]],
        body: "no access to {{ req.path }}\r\n",
      }),
    ], { "req.path": "/secret" });
    expect(r.outcome).toEqual({
      kind: "respond",
      status: 403,
      headers: [["content-type", "text/plain"], ["x-path", "/secret"], ["x-b", "2"]],
      body: "no access to /secret\r\n",
    });
  });

  it("answers redirect as respond with a location and an empty body", () => {
    const r = run([always({ kind: "redirect", status: 308, location: "https://{{host}}{{req.path}}" })], {
      host: "example.com",
      "req.path": "/a?b",
    });
    expect(r.outcome).toEqual({
      kind: "respond",
      status: 308,
      headers: [["location", "https://example.com/a?b"]],
      body: "",
    });
  });

  it("compiles a terminate step once, with its own flow", () => {
    const tls = [{ certPath: "/c.pem", keyPath: "/k.pem" }];
    const flow = compileFlow([always({ kind: "terminate", tls, flow: [on(pathIs("/x"), proxy("inner"))] })], deps);
    const a = flow.runSync(inputOf({})).outcome;
    const b = flow.runSync(inputOf({})).outcome;
    if (a.kind !== "terminate" || b.kind !== "terminate") throw new Error("expected terminate");
    expect(a.step).toBe(b.step);
    expect(a.step.tls).toEqual(tls);
    expect(a.step.flow.runSync(inputOf({ "req.path": "/x" })).outcome).toEqual({ kind: "proxy", pool: "inner" });
    expect(a.step.flow.runSync(inputOf({ "req.path": "/y" })).outcome).toEqual({ kind: "none" });
  });
});

describe("header edits", () => {
  it("accumulate in rule order, request and response apart, and evaluation goes on", () => {
    const r = run([
      always(setReq(["X-One", "1"], ["x-two", "2"])),
      always({ kind: "remove-headers", request: ["Cookie"], response: ["Server"] }),
      on(pathIs("/nope"), setReq(["x-skipped", "1"])),
      always({ kind: "set-headers", request: [["x-three", "3"]], response: [["X-Served-By", "vane"]] }),
      always(proxy("P")),
      always(setReq(["x-after", "1"])),
    ], { "req.path": "/" });
    expect(r.outcome).toEqual({ kind: "proxy", pool: "P" });
    expect(r.request).toEqual([
      { op: "set", name: "x-one", value: "1" },
      { op: "set", name: "x-two", value: "2" },
      { op: "remove", name: "cookie" },
      { op: "set", name: "x-three", value: "3" },
    ]);
    expect(r.response).toEqual([{ op: "remove", name: "server" }, { op: "set", name: "x-served-by", value: "vane" }]);
  });

  it("expand templates when the rule runs, from that evaluation's keys", () => {
    const flow = compileFlow([always(setReq(["x-client", "{{conn.ip}}:{{conn.port}}"])), always(proxy("P"))], deps);
    expect(flow.runSync(inputOf({ "conn.ip": "10.0.0.1", "conn.port": "5000" })).request)
      .toEqual([{ op: "set", name: "x-client", value: "10.0.0.1:5000" }]);
    expect(flow.runSync(inputOf({ "conn.ip": "10.0.0.2" })).request)
      .toEqual([{ op: "set", name: "x-client", value: "10.0.0.2:" }]);
  });

  it("give each evaluation its own edit lists", () => {
    const flow = compileFlow([always(setRes(["x-a", "1"]))], deps);
    const first = flow.runSync(inputOf({}));
    first.response.push({ op: "remove", name: "y" });
    expect(flow.runSync(inputOf({})).response).toEqual([{ op: "set", name: "x-a", value: "1" }]);
  });

  it("are returned with a terminal outcome reached later", () => {
    const r = run([always(setRes(["x-a", "1"])), always({ kind: "redirect", status: 302, location: "/login" })]);
    expect(r.outcome.kind).toBe("respond");
    expect(r.response).toEqual([{ op: "set", name: "x-a", value: "1" }]);
  });
});

describe("sub-flows", () => {
  it("end the evaluation when they reach a terminal action", () => {
    const r = run([
      always({ kind: "flow", rules: [always(setReq(["x-in", "1"])), on(pathIs("/a"), proxy("inner"))] }),
      always(proxy("outer")),
    ], { "req.path": "/a" });
    expect(r.outcome).toEqual({ kind: "proxy", pool: "inner" });
    expect(r.request).toEqual([{ op: "set", name: "x-in", value: "1" }]);
  });

  it("fall through to the next rule otherwise, keeping their edits in order", () => {
    const r = run([
      always(setReq(["x-0", "0"])),
      always({ kind: "flow", rules: [always(setReq(["x-1", "1"])), on(pathIs("/a"), proxy("inner"))] }),
      always(setReq(["x-2", "2"])),
      always(proxy("outer")),
    ], { "req.path": "/b" });
    expect(r.outcome).toEqual({ kind: "proxy", pool: "outer" });
    expect(r.request.map((e) => e.name)).toEqual(["x-0", "x-1", "x-2"]);
  });

  it("run only when their own condition holds, and nest", () => {
    const rules = [
      on(pathIs("/deep"), {
        kind: "flow",
        rules: [always({ kind: "flow", rules: [always({ kind: "flow", rules: [always(proxy("deep"))] })] })],
      }),
      always(proxy("flat")),
    ];
    expect(run(rules, { "req.path": "/deep" }).outcome).toEqual({ kind: "proxy", pool: "deep" });
    expect(run(rules, { "req.path": "/" }).outcome).toEqual({ kind: "proxy", pool: "flat" });
  });

  it("an empty sub-flow just goes on", () => {
    expect(run([always({ kind: "flow", rules: [] }), always(proxy("after"))]).outcome)
      .toEqual({ kind: "proxy", pool: "after" });
  });
});

describe("run and runSync", () => {
  it("give the same result without plugins", async () => {
    const flow = compileFlow([always(setReq(["x", "{{req.path}}"])), on(pathIs("/a"), proxy("A"))], deps);
    const input = inputOf({ "req.path": "/a" });
    expect(await flow.run(input)).toEqual(flow.runSync(input));
  });

  it("runSync throws when it reaches a plugin, but not when the plugin rule is skipped", () => {
    const flow = compileFlow([on(pathIs("/p"), plugin("f")), always(proxy("A"))], deps);
    expect(flow.runSync(inputOf({ "req.path": "/x" })).outcome).toEqual({ kind: "proxy", pool: "A" });
    expect(() => flow.runSync(inputOf({ "req.path": "/p" }))).toThrow(/plugin/);
    const nested = compileFlow([always({ kind: "flow", rules: [always(plugin("f"))] })], deps);
    expect(() => nested.runSync(inputOf({}))).toThrow(/plugin/);
  });

  it("run never rejects: an input that throws ends in abort, logged as an error", async () => {
    const errors: string[] = [];
    const log: Logger = { ...silentLogger, error: (msg) => errors.push(msg) };
    const bad: FlowInput = {
      get: () => {
        throw new Error("broken input");
      },
      all: () => ({}),
    };
    for (const rules of [[on(pathIs("/"), proxy("A"))], [on(pathIs("/"), plugin("f"))]]) {
      const r = await compileFlow(rules, { log }).run(bad);
      expect(r).toEqual({ outcome: { kind: "abort" }, request: [], response: [] });
    }
    // The second failure is counted, not written (telemetry/log-limit.ts), and summed up.
    expect(errors).toEqual(["flow evaluation failed; aborting"]);
    limited(log).flush();
    expect(errors).toEqual(["flow evaluation failed; aborting", "1 more like this in the last 10s"]);
  });

  it("runs a flow with plugins through run (function plugins answering a branch)", async () => {
    const functions = new Map([["pick", () => ({ branch: "b", keys: { who: "x" } })]]);
    const flow = compileFlow([
      always(plugin("pick", { branches: { b: [always(setReq(["x-who", "{{plugin.who}}"]))] } })),
      always(proxy("A")),
    ], { log: silentLogger, functions });
    const r = await flow.run(inputOf({}));
    expect(r.outcome).toEqual({ kind: "proxy", pool: "A" });
    expect(r.request).toEqual([{ op: "set", name: "x-who", value: "x" }]);
  });
});

describe("needsDetection", () => {
  const nd = (rules: Rule[]) => compileFlow(rules, deps).needsDetection;
  const key = (k: string): Condition => ({ kind: "key", key: k, matcher: { op: "equals", value: "x" } });

  it("is false for flows on connection keys only", () => {
    expect(nd([])).toBe(false);
    expect(nd([always(proxy("A"))])).toBe(false);
    expect(nd([on(key("conn.ip"), proxy("A")), on(key("conn.port"), { kind: "abort" })])).toBe(false);
    expect(nd([on({ kind: "not", of: key("listener.port") }, proxy("A"))])).toBe(false);
    expect(nd([always({ kind: "rate-limit", rate: 1, burst: 1, key: "{{conn.ip}}" })])).toBe(false);
  });

  it("is true when a rule reads a key known only after peeking", () => {
    for (const k of ["tls.sni", "tls.alpn", "host", "protocol", "req.path", "req.header.x"]) {
      expect(nd([on(key(k), proxy("A"))])).toBe(true);
    }
    expect(nd([on({ kind: "any", of: [key("conn.ip"), { kind: "all", of: [key("tls.sni")] }] }, proxy("A"))]))
      .toBe(true);
    expect(nd([always({ kind: "rate-limit", rate: 1, burst: 1, key: "{{req.header.x-user}}" })])).toBe(true);
  });

  it("is true for HTTP-only actions", () => {
    expect(nd([always({ kind: "respond", status: 200, headers: [], body: "" })])).toBe(true);
    expect(nd([always({ kind: "redirect", status: 301, location: "/" })])).toBe(true);
    expect(nd([always(setReq())])).toBe(true);
    expect(nd([always({ kind: "remove-headers", request: [], response: [] })])).toBe(true);
  });

  it("looks into sub-flows and plugin branches; a terminate needs the ClientHello itself", () => {
    expect(nd([always({ kind: "flow", rules: [on(key("tls.sni"), proxy("A"))] })])).toBe(true);
    expect(nd([always(plugin("f", { branches: { b: [always({ kind: "abort" })] } }))])).toBe(false);
    expect(nd([always(plugin("f", { branches: { b: [on(key("host"), proxy("A"))] } }))])).toBe(true);
    expect(nd([always(plugin("f", { failure: [always({ kind: "redirect", status: 302, location: "/" })] }))]))
      .toBe(true);
    expect(nd([always({ kind: "terminate", tls: [], flow: [on(key("req.path"), proxy("A"))] })])).toBe(true);
  });

  it("does not count plugin keys, which come from plugins rather than bytes", () => {
    expect(nd([always(plugin("f")), on(key("plugin.user"), proxy("A"))])).toBe(false);
  });
});

describe("set-headers with a repeated name", () => {
  it("sets the first value and adds the rest, so two Set-Cookie fields both go out", async () => {
    const { compileFlow, inputOf } = await import("../../src/flow/flow.ts");
    const { applyEdits } = await import("../../src/http/headers.ts");
    const { silentLogger } = await import("../../src/telemetry/logger.ts");
    const flow = compileFlow([
      {
        when: null,
        action: { kind: "set-headers", request: [], response: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"]] },
      },
      { when: null, action: { kind: "abort" } },
    ], { log: silentLogger });
    const r = flow.runSync(inputOf({}));
    expect(r.response.map((e) => e.op)).toEqual(["set", "add"]);
    expect(applyEdits([["Set-Cookie", "old=0"], ["X", "y"]], r.response)).toEqual([
      ["X", "y"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
  });
});
