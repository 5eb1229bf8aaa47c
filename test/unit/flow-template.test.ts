/**
 * `{{ key }}` templates: parsing, missing keys, arrays, plugin keys, and the CR/LF/NUL
 * stripping that keeps client-controlled values from adding header lines.
 */
import { describe, expect, it } from "vitest";
import type { Rule } from "../../src/config/model.ts";
import { compileFlow, inputOf, type KeyValue } from "../../src/flow/flow.ts";
import type { Scope } from "../../src/flow/input.ts";
import { compileTemplate } from "../../src/flow/template.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

const scope = (values: Record<string, KeyValue>, plugin?: Record<string, string>): Scope => ({
  input: inputOf(values),
  plugin: plugin ? new Map(Object.entries(plugin)) : null,
});
const body = (text: string, values: Record<string, KeyValue> = {}) =>
  compileTemplate(text, { header: false }).expand(scope(values));
const header = (text: string, values: Record<string, KeyValue> = {}) =>
  compileTemplate(text, { header: true }).expand(scope(values));

describe("compileTemplate", () => {
  it("replaces keys, with or without spaces inside the braces", () => {
    const v = { "req.path": "/a", "conn.ip": "10.0.0.1" };
    expect(body("{{req.path}}|{{ conn.ip }}|{{  req.path  }}", v)).toBe("/a|10.0.0.1|/a");
    expect(body("start {{req.path}} middle {{conn.ip}} end", v)).toBe("start /a middle 10.0.0.1 end");
  });

  it("leaves text without a placeholder as it is, and reports no keys", () => {
    const t = compileTemplate("plain { text } {{ not closed", { header: false });
    expect(t.keys).toEqual([]);
    expect(t.constant).toBe("plain { text } {{ not closed");
    expect(body("{{}} {{ two words }} {{a{b}}", { a: "x" })).toBe("{{}} {{ two words }} {{a{b}}");
  });

  it("expands a missing key to the empty string", () => {
    expect(body("[{{tls.sni}}]")).toBe("[]");
    expect(body("{{a}}{{b}}", { b: "B" })).toBe("B");
  });

  it("joins arrays with commas", () => {
    expect(body("alpn={{tls.alpn}}", { "tls.alpn": ["h2", "http/1.1"] })).toBe("alpn=h2,http/1.1");
    expect(body("alpn={{tls.alpn}}", { "tls.alpn": [] })).toBe("alpn=");
  });

  it("lists the keys it reads, header names lowercased", () => {
    expect(compileTemplate("{{req.header.X-User}} {{Req.Path}} {{req.header.x-user}}", { header: false }).keys)
      .toEqual(["req.header.x-user", "Req.Path", "req.header.x-user"]);
  });

  it("reads header keys whatever case the template wrote the name in", () => {
    expect(body("{{req.header.X-User}}", { "req.header.x-user": "ann" })).toBe("ann");
  });

  it("reads plugin keys from the evaluation's plugin answers before the input", () => {
    const t = compileTemplate("{{plugin.user}}/{{plugin.role}}", { header: false });
    expect(t.expand(scope({ "plugin.role": "outer" }, { "plugin.user": "ann" }))).toBe("ann/outer");
    expect(t.expand(scope({}, { "plugin.user": "ann", "plugin.role": "admin" }))).toBe("ann/admin");
  });

  it("strips CR, LF and NUL from header values, from keys and literals alike", () => {
    const evil = "/x\r\nSet-Cookie: a=b\0";
    expect(header("{{req.path}}", { "req.path": evil })).toBe("/xSet-Cookie: a=b");
    expect(header("a\r\nb")).toBe("ab");
    expect(header("clean {{req.path}}", { "req.path": "/ok" })).toBe("clean /ok");
  });

  it("keeps every character in a body", () => {
    expect(body("line1\r\n{{req.path}}\0", { "req.path": "a\nb" })).toBe("line1\r\na\nb\0");
  });
});

describe("templates in actions", () => {
  const run = (rules: Rule[], values: Record<string, KeyValue>) =>
    compileFlow(rules, { log: silentLogger }).runSync(inputOf(values));

  it("strip line breaks from set-headers values, respond headers and redirect locations, not respond bodies", () => {
    const values = { "req.path": "/a\r\nx-evil: 1" };
    const set = run([{
      when: null,
      action: { kind: "set-headers", request: [["x-p", "{{req.path}}"]], response: [["x-p", "{{ req.path }}"]] },
    }], values);
    expect(set.request).toEqual([{ op: "set", name: "x-p", value: "/ax-evil: 1" }]);
    expect(set.response).toEqual([{ op: "set", name: "x-p", value: "/ax-evil: 1" }]);

    const redirect = run(
      [{ when: null, action: { kind: "redirect", status: 302, location: "https://a{{req.path}}" } }],
      values,
    );
    expect(redirect.outcome).toEqual({
      kind: "respond",
      status: 302,
      headers: [["location", "https://a/ax-evil: 1"]],
      body: "",
    });

    const respond = run([{
      when: null,
      action: { kind: "respond", status: 200, headers: [["x-p", "{{req.path}}"]], body: "{{req.path}}" },
    }], values);
    expect(respond.outcome).toEqual({
      kind: "respond",
      status: 200,
      headers: [["x-p", "/ax-evil: 1"]],
      body: "/a\r\nx-evil: 1",
    });
  });
});
