/**
 * An HTTP decider keeps its connection's last proxy decision with the values of the
 * keys that made it (a flow's decidingKeys), and gives it again for a request with the
 * same values instead of running the rules. What it must never do: give a request a
 * decision its own keys would not have made, or skip a rule whose answer depends on
 * more than keys (a rate limit, a plugin).
 */
import { describe, expect, it } from "vitest";
import type { Condition, Rule } from "../../src/config/model.ts";
import { compileFlow } from "../../src/flow/flow.ts";
import { decidingKeys } from "../../src/flow/deciding-keys.ts";
import type { Decision } from "../../src/http/types.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { connectionDecider, parsedRequest, poolOf } from "../helpers/flow-decider.ts";

const is = (key: string, value: string): Condition => ({ kind: "key", key, matcher: { op: "equals", value } });
const proxy = (pool: string): Rule["action"] => ({ kind: "proxy", pool });

const HOSTS: Rule[] = [
  { when: is("req.header.x-canary", "1"), action: proxy("C") },
  { when: is("host", "a.test"), action: proxy("A") },
  { when: is("host", "b.test"), action: proxy("B") },
];

describe("decidingKeys", () => {
  it("lists the keys of conditions and templates, sub-flows included", () => {
    expect(decidingKeys(HOSTS)?.sort()).toEqual(["host", "req.header.x-canary"]);
    const templated: Rule[] = [
      { when: null, action: { kind: "set-headers", request: [["x-p", "{{req.path}}"]], response: [["x-q", "1"]] } },
      {
        when: is("conn.ip", "192.0.2.1"),
        action: { kind: "flow", rules: [{ when: is("req.method", "GET"), action: proxy("A") }] },
      },
      { when: null, action: { kind: "redirect", status: 301, location: "https://{{req.host}}/" } },
    ];
    expect(decidingKeys(templated)?.sort()).toEqual(["conn.ip", "req.host", "req.method", "req.path"]);
    expect(decidingKeys([{ when: null, action: proxy("A") }])).toEqual([]);
  });

  it("is null where a rate limit or a plugin may answer differently for the same keys", () => {
    const limit: Rule = { when: null, action: { kind: "rate-limit", rate: 1, burst: 1, key: "x" } };
    expect(decidingKeys([limit, ...HOSTS])).toBeNull();
    expect(decidingKeys([{ when: null, action: { kind: "flow", rules: [limit] } }, ...HOSTS])).toBeNull();
    const plugin: Rule = {
      when: null,
      action: {
        kind: "plugin",
        plugin: { kind: "function", name: "f" },
        timeoutMs: 100,
        failures: 1,
        quietMs: 100,
        branches: {},
        failure: null,
      },
    };
    expect(decidingKeys([...HOSTS, plugin])).toBeNull();
  });
});

/** One connection's decider for `rules`, and a way to ask it about a request. */
function connection(rules: Rule[]) {
  const decide = connectionDecider(compileFlow(rules, { log: silentLogger }));
  return (host: string, path = "/", extra = ""): Decision => {
    const { head, target } = parsedRequest(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`);
    const d = decide(head, target);
    if (d instanceof Promise) throw new Error("expected a decision at once");
    return d;
  };
}

describe("a decider's kept decision", () => {
  it("goes to a request with the same keys only: hosts and a header in turns on one connection", () => {
    const ask = connection(HOSTS);
    const first = ask("a.test");
    expect(ask("a.test")).toBe(first);
    const asked = [
      ask("b.test"),
      ask("a.test", "/", "X-Canary: 1\r\n"),
      ask("a.test"),
      ask("b.test"),
      ask("b.test", "/x"),
      ask("c.test"),
      ask("b.test"),
    ];
    expect(asked.map(poolOf)).toEqual(["B", "C", "A", "B", "B", "respond 404", "B"]);
  });

  it("carries the edits its keys made, and no other request's", () => {
    const ask = connection([
      { when: null, action: { kind: "set-headers", request: [["x-p", "{{req.path}}"]], response: [] } },
      { when: null, action: proxy("A") },
    ]);
    const edits = (
      d: Decision,
    ) => (d.kind === "proxy" ? d.request.map((e) => `${e.name}=${"value" in e ? e.value : "(removed)"}`) : []);
    expect(["/1", "/1", "/2", "/1", "/3?q"].map((p) => edits(ask("a.test", p)))).toEqual([
      ["x-p=/1"],
      ["x-p=/1"],
      ["x-p=/2"],
      ["x-p=/1"],
      ["x-p=/3"],
    ]);
  });

  it("is not kept where a rate limit decides: its tokens run out on one connection", () => {
    const ask = connection([
      { when: null, action: { kind: "rate-limit", rate: 1 / 3600, burst: 2, key: "{{host}}" } },
      { when: null, action: proxy("A") },
    ]);
    expect([ask("a.test"), ask("a.test"), ask("a.test"), ask("b.test")].map(poolOf)).toEqual([
      "A",
      "A",
      "respond 429",
      "A",
    ]);
  });
});
