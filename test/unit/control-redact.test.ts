import { describe, expect, it } from "vitest";
import { redactConfig, REDACTED, redactUrl } from "../../src/control/redact.ts";
import { configToDocument } from "../../src/config/print.ts";
import { yamlConfig } from "../helpers/vane.ts";
import { SECRETS, secretsYaml } from "../fixtures/secrets-flow.ts";

const config = yamlConfig(secretsYaml("127.0.0.1:9901", 8081));
// The shown document is read by path below, as the /status JSON would be.
// deno-lint-ignore no-explicit-any
const shown = configToDocument(redactConfig(config)) as { listeners: Array<{ flow: any[] }>; control: unknown };
const text = JSON.stringify(shown);

describe("redactConfig", () => {
  it.each(Object.entries(SECRETS))("leaves no trace of the %s secret", (_, secret) => {
    expect(text).not.toContain(secret);
  });

  it("keeps the flow's shape: conditions, action kinds, header names, pools and templates' keys", () => {
    const flow = shown.listeners[0].flow;
    expect(flow[0]).toEqual({
      "set-headers": {
        request: { Authorization: REDACTED, "X-Client": REDACTED },
        response: { "Set-Cookie": REDACTED },
      },
    });
    expect(flow[1]).toEqual({
      when: { "req.header.x-api-key": REDACTED },
      respond: { status: 200, headers: { "X-Key": REDACTED }, body: REDACTED },
    });
    expect(flow[2].when).toEqual({ "req.query": { regex: REDACTED } });
    expect(flow[2].redirect).toEqual({ location: `https://${REDACTED}@login.example/?${REDACTED}`, status: 302 });
    expect(flow[3].when).toEqual({ "req.path": { prefix: "/auth/" } });
    expect(flow[3].plugin.http).toBe(`http://${REDACTED}@127.0.0.1:9/check?${REDACTED}`);
    expect(flow[3].plugin.branches.deny[1]).toEqual({ respond: { status: 403, headers: {}, body: "" } });
    expect(flow[4].plugin.command).toEqual(["/usr/local/bin/vane-geo", REDACTED, REDACTED]);
    expect(flow[5]).toEqual({ proxy: "web" });
  });

  it("hides the password of a rate limit's Redis store, and keeps where it is", () => {
    const c = yamlConfig(`listeners:
  - listen: http://127.0.0.1:8080
    flow:
      - rate-limit: { rate: 1/s, store: "redis://vane:hunter2@10.0.0.5:6379/1", on-error: closed }
      - proxy: [127.0.0.1:9000]
`);
    // deno-lint-ignore no-explicit-any
    const flow = (configToDocument(redactConfig(c)) as any).listeners[0].flow;
    expect(flow[0]["rate-limit"].store).toBe(`redis://${REDACTED}@10.0.0.5:6379/1`);
    expect(flow[0]["rate-limit"]["on-error"]).toBe("closed");
  });

  it("leaves the config it is given as it was", () => {
    expect(JSON.stringify(configToDocument(config))).toContain(SECRETS.requestHeader);
  });
});

describe("redactUrl", () => {
  it.each([
    ["http://127.0.0.1:9100/auth", "http://127.0.0.1:9100/auth"],
    ["https://u:p@auth.example/x?k=1#f", `https://${REDACTED}@auth.example/x?${REDACTED}`],
    ["https://auth.example#frag", `https://auth.example#${REDACTED}`],
    ["/login?next={{req.path}}", `/login?${REDACTED}`],
    ["https://{{req.host}}{{req.path}}", "https://{{req.host}}{{req.path}}"],
    ["//cdn.example/a@b", "//cdn.example/a@b"],
  ])("%s -> %s", (url, want) => {
    expect(redactUrl(url)).toBe(want);
  });
});
