import { describe, expect, it } from "vitest";
import { statusFor } from "../../src/http/failure-status.ts";

describe("statusFor", () => {
  it("answers 502 when no target took the connection", () => {
    expect(statusFor("unavailable")).toBe(502);
  });

  it("answers 502 when the target closed or failed before its answer was complete", () => {
    expect(statusFor("upstream-reset")).toBe(502);
  });

  it("answers 504 when the target sent no response head in time", () => {
    expect(statusFor("upstream-timeout")).toBe(504);
  });

  it("answers 502 when the target's answer is not HTTP vane can pass on", () => {
    expect(statusFor("bad-upstream")).toBe(502);
  });

  it("answers 502 when the flow names a pool that has no route", () => {
    expect(statusFor("no-pool")).toBe(502);
  });

  it("answers 408 when the client did not finish its request in time", () => {
    expect(statusFor("request-timeout")).toBe(408);
  });
});
