import { describe, expect, it } from "vitest";
import { errorText, errorTextWithCode, toError } from "../../src/errors/mod.ts";

describe("errorText", () => {
  it("gives an Error's message", () => {
    expect(errorText(new Error("connection refused"))).toBe("connection refused");
  });

  it("gives a thrown string as it is", () => {
    expect(errorText("gone")).toBe("gone");
  });

  it("turns any other thrown value into its string", () => {
    expect(errorText(42)).toBe("42");
    expect(errorText(null)).toBe("null");
    expect(errorText(undefined)).toBe("undefined");
    expect(errorText({ toString: () => "custom" })).toBe("custom");
  });

  it("leaves out the code of an Error that has one", () => {
    expect(errorText(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe("refused");
  });
});

describe("errorTextWithCode", () => {
  it("puts the code in front of a message that does not name it", () => {
    const err = Object.assign(new Error("Connection refused (os error 111)"), { code: "ECONNREFUSED" });
    expect(errorTextWithCode(err)).toBe("ECONNREFUSED: Connection refused (os error 111)");
  });

  it("keeps a message that already names its code as it is", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(errorTextWithCode(err)).toBe("connect ECONNREFUSED 127.0.0.1:1");
  });

  it("gives the message of an Error without a code", () => {
    expect(errorTextWithCode(new Error("timed out"))).toBe("timed out");
  });

  it("turns a value that is not an Error into its string", () => {
    expect(errorTextWithCode("gone")).toBe("gone");
    expect(errorTextWithCode(7)).toBe("7");
  });
});

describe("toError", () => {
  it("gives an Error back as the same object", () => {
    const err = new Error("x");
    expect(toError(err)).toBe(err);
  });

  it("wraps any other value in an Error with its string as the message", () => {
    const err = toError("aborted");
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("aborted");
  });
});
