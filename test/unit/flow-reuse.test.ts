/**
 * A compiled flow reuses the state of an evaluation that answered at once, and an HTTP
 * decider the keys of one: what one request's evaluation made (edits, keys, plugin
 * keys) must never show in the next one's, and an evaluation still waiting (a shared
 * rate limit's answer) must go on reading its own request while others are decided.
 */
import { describe, expect, it } from "vitest";
import type { Rule } from "../../src/config/model.ts";
import { compileFlow, inputOf } from "../../src/flow/flow.ts";
import type { RateStore } from "../../src/flow/rate-store.ts";
import type { RequestHead } from "../../src/detect/http-head.ts";
import type { RequestTarget } from "../../src/http/request-target.ts";
import type { Decision } from "../../src/http/types.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { connectionDecider, parsedRequest, poolOf } from "../helpers/flow-decider.ts";

const pathIs = (value: string) => ({ kind: "key", key: "req.path", matcher: { op: "equals", value } }) as const;

/** Edits for /a only, then a proxy by path: evaluated again and again by one compiled flow. */
const EDITING: Rule[] = [
  {
    when: pathIs("/a"),
    action: { kind: "set-headers", request: [["x-a", "{{req.path}}"]], response: [["x-r", "1"]] },
  },
  { when: pathIs("/a"), action: { kind: "proxy", pool: "A" } },
  { when: null, action: { kind: "proxy", pool: "B" } },
];

describe("a compiled flow's evaluations", () => {
  it("keep their own edits: the next evaluation starts with none, the last result keeps its own", () => {
    const flow = compileFlow(EDITING, { log: silentLogger });
    const a = flow.runSync(inputOf({ "req.path": "/a" }));
    const b = flow.runSync(inputOf({ "req.path": "/b" }));
    const a2 = flow.runNow(inputOf({ "req.path": "/a" }));
    const b2 = flow.runNow(inputOf({ "req.path": "/b" }));
    expect(b).toEqual({ outcome: { kind: "proxy", pool: "B" }, request: [], response: [] });
    expect(b2).toEqual(b);
    for (const r of [a, a2]) {
      expect(r).toEqual({
        outcome: { kind: "proxy", pool: "A" },
        request: [{ op: "set", name: "x-a", value: "/a" }],
        response: [{ op: "set", name: "x-r", value: "1" }],
      });
    }
  });
});

/** A shared rate limit whose answer for `slow` waits until `release` is called; others answer at once. */
function slowStore(): { store: RateStore; release: () => void } {
  let release = () => {};
  const store: RateStore = {
    take: (key) => key === "slow" ? new Promise<boolean>((resolve) => (release = () => resolve(true))) : true,
    takeNow: () => true,
  };
  return { store, release: () => release() };
}

function request(path: string, host: string, limit: string): { head: RequestHead; target: RequestTarget } {
  // X-Limit is what the rate limit's key reads.
  return parsedRequest(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Limit: ${limit}\r\n\r\n`);
}

describe("an HTTP decider's keys", () => {
  const rules: Rule[] = [
    { when: null, action: { kind: "rate-limit", rate: 1000, burst: 1000, key: "{{req.header.x-limit}}" } },
    {
      when: { kind: "key", key: "host", matcher: { op: "equals", value: "a.test" } },
      action: { kind: "proxy", pool: "A" },
    },
    { when: pathIs("/b"), action: { kind: "proxy", pool: "B" } },
    { when: null, action: { kind: "proxy", pool: "C" } },
  ];

  it("are each request's own, while one waits for its rate limit and others are decided at once", async () => {
    const { store, release } = slowStore();
    const decide = connectionDecider(compileFlow(rules, { log: silentLogger, limits: () => store }));
    const at = (path: string, host: string, limit: string) => {
      const { head, target } = request(path, host, limit);
      return decide(head, target);
    };
    expect(poolOf(await at("/b", "x.test", "fast") as Decision)).toBe("B");
    // The waiting one is for a.test; the ones decided meanwhile go elsewhere and must not
    // become what it reads when its answer comes.
    const waiting = at("/x", "a.test", "slow");
    expect(waiting).toBeInstanceOf(Promise);
    const meanwhile = [at("/b", "x.test", "fast"), at("/c", "y.test", "fast"), at("/b", "z.test", "fast")];
    expect(meanwhile.map((d) => poolOf(d as Decision))).toEqual(["B", "C", "B"]);
    release();
    expect(poolOf(await waiting)).toBe("A");
    expect(poolOf(at("/q", "a.test", "fast") as Decision)).toBe("A");
    expect(poolOf(at("/q", "q.test", "fast") as Decision)).toBe("C");
  });
});
